/* keys.c: loading and checking the PEM public key. */
#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

/* No real PEM key is anywhere near this; it bounds a wrong file. */
#define KEYS_PEM_MAX (64 * 1024)

static unsigned char *
keys_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "CLERK_JWT_KEY_FILE %s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(KEYS_PEM_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, KEYS_PEM_MAX + 1, f);
	if (ferror(f) || n > KEYS_PEM_MAX) {
		snprintf(err, errlen, "CLERK_JWT_KEY_FILE %s: %s", path,
		    ferror(f) ? "read error" : "larger than 64 KiB, not a PEM key");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static unsigned char *
keys_unescape(const char *value, size_t *len)
{
	size_t n = strlen(value), i, o = 0;
	unsigned char *buf;

	if (n > KEYS_PEM_MAX || (buf = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (value[i] == '\\' && value[i + 1] == 'n') {
			buf[o++] = '\n';
			i++;
		} else
			buf[o++] = (unsigned char)value[i];
	}
	buf[o] = '\0';
	*len = o;
	return buf;
}

static int
keys_check_rsa(const unsigned char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	int ok = pk != NULL && EVP_PKEY_base_id(pk) == EVP_PKEY_RSA;

	EVP_PKEY_free(pk);
	BIO_free(bio);
	return ok ? 0 : -1;
}

int
keys_load(const char *pem_value, const char *pem_file, keys_set *k,
    char *err, size_t errlen)
{
	int has_value = pem_value != NULL && pem_value[0] != '\0';
	int has_file = pem_file != NULL && pem_file[0] != '\0';
	const char *source = has_value ? "CLERK_JWT_KEY" : "CLERK_JWT_KEY_FILE";

	memset(k, 0, sizeof(*k));
	if (!has_value && !has_file) {
		snprintf(err, errlen, "no key to verify session tokens: set "
		    "CLERK_JWT_KEY (the PEM public key) or CLERK_JWT_KEY_FILE "
		    "(a path to it)");
		return -1;
	}
	if (has_value && has_file) {
		snprintf(err, errlen, "both CLERK_JWT_KEY and CLERK_JWT_KEY_FILE "
		    "are set: set only one");
		return -1;
	}
	k->pem = has_value ? keys_unescape(pem_value, &k->pem_len)
	    : keys_read_file(pem_file, &k->pem_len, err, errlen);
	if (k->pem == NULL) {
		if (has_value)
			snprintf(err, errlen, "CLERK_JWT_KEY: too large or out of memory");
		return -1;
	}
	if (keys_check_rsa(k->pem, k->pem_len) != 0) {
		snprintf(err, errlen, "%s: not a PEM RSA public key "
		    "(expected -----BEGIN PUBLIC KEY-----)", source);
		keys_free(k);
		return -1;
	}
	return 0;
}

void
keys_free(keys_set *k)
{
	free(k->pem);
	k->pem = NULL;
	k->pem_len = 0;
}
