/* keys.c: loading the PEM key and the JWKS key set, choosing by kid. */
#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "validate.h"

/* No real PEM key or JWKS is anywhere near these; they bound a wrong file. */
#define KEYS_PEM_MAX (64 * 1024)
#define KEYS_JWKS_MAX (256 * 1024)
/* An RSA modulus of 16384 bits is 2 KiB; anything longer is not a key. */
#define KEYS_B64_MAX 4096

/* The whole file, NUL-terminated, at most max bytes. */
static char *
keys_read_file(const char *var, const char *path, size_t max, size_t *len,
    char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s %s: %s", var, path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		snprintf(err, errlen, "%s %s: %s", var, path, ferror(f) ? "read error"
		    : "too large to be a key file");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *
keys_unescape(const char *value, size_t *len)
{
	size_t n = strlen(value), i, o = 0;
	char *buf;

	if (n > KEYS_PEM_MAX || (buf = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (value[i] == '\\' && value[i + 1] == 'n') {
			buf[o++] = '\n';
			i++;
		} else
			buf[o++] = value[i];
	}
	buf[o] = '\0';
	*len = o;
	return buf;
}

/* NULL when the key is what a token may be verified with, else why not.
 * An exponent of 1 (anyone could forge a signature), 0 or an even one,
 * or an even modulus, is no RSA key; the bounds on e and n keep one
 * verification cheap, since strangers choose how many we make. These are
 * the parts of OpenSSL's public-key check that matter here, without its
 * primality test of n (3 ms a key, at every start and reload). */
static const char *
keys_check_rsa(EVP_PKEY *pk)
{
	BIGNUM *n = NULL, *e = NULL;
	int ok, ebits;

	if (pk == NULL)
		return "not an RSA public key";
	if (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA)
		return "not an RSA key";
	if (EVP_PKEY_get_bits(pk) < KEYS_RSA_MIN_BITS)
		return "RSA key shorter than 2048 bits";
	if (EVP_PKEY_get_bits(pk) > KEYS_RSA_MAX_BITS)
		return "RSA key longer than 8192 bits";
	if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
		BN_free(n);
		return "RSA key without a modulus or exponent";
	}
	ebits = BN_num_bits(e);
	ok = BN_is_odd(n) && BN_is_odd(e) && !BN_is_one(e);
	BN_free(n);
	BN_free(e);
	if (ebits > 32)
		return "RSA exponent larger than 32 bits";
	return ok ? NULL : "not a valid RSA public key (it needs an odd modulus, "
	    "an odd exponent above 1)";
}

/* The PEM text libjwt wants for a parsed key; NULL on failure. */
static unsigned char *
keys_to_pem(EVP_PKEY *pk, size_t *len)
{
	BIO *mem = BIO_new(BIO_s_mem());
	unsigned char *pem = NULL;
	char *data;
	long n;

	if (mem != NULL && PEM_write_bio_PUBKEY(mem, pk) == 1 &&
	    (n = BIO_get_mem_data(mem, &data)) > 0 &&
	    (pem = malloc((size_t)n + 1)) != NULL) {
		memcpy(pem, data, (size_t)n);
		pem[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(mem);
	return pem;
}

static int
keys_load_pem(const keys_sources *src, keys_key *key, char *err, size_t errlen)
{
	int has_value = src->pem_value != NULL && src->pem_value[0] != '\0';
	const char *var = has_value ? "CLERK_JWT_KEY" : "CLERK_JWT_KEY_FILE", *why;
	char *text;
	size_t len = 0;
	BIO *bio;
	EVP_PKEY *pk;

	text = has_value ? keys_unescape(src->pem_value, &len)
	    : keys_read_file(var, src->pem_file, KEYS_PEM_MAX, &len, err, errlen);
	if (text == NULL) {
		if (has_value)
			snprintf(err, errlen, "CLERK_JWT_KEY: too large or out of memory");
		return -1;
	}
	bio = BIO_new_mem_buf(text, (int)len);
	pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if ((why = keys_check_rsa(pk)) != NULL) {
		snprintf(err, errlen, "%s%s%s: %s (expected -----BEGIN PUBLIC KEY----- "
		    "of an RSA key)", var, has_value ? "" : " ",
		    has_value ? "" : src->pem_file, why);
		EVP_PKEY_free(pk);
		free(text);
		return -1;
	}
	/* libjwt gets the key as OpenSSL writes it back, so it reads exactly
	 * the key that was checked, whatever else the file held. */
	key->pem = keys_to_pem(pk, &key->pem_len);
	EVP_PKEY_free(pk);
	free(text);
	if (key->pem == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A JWK member that must be a non-empty string; NULL if it is not one. */
static const char *
keys_jwk_string(json_object *jwk, const char *name, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(jwk, name, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) <= 0)
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* A base64url unsigned integer of a JWK (RFC 7518 6.3.1), padding
 * tolerated since some publishers write it. */
static BIGNUM *
keys_jwk_bn(json_object *jwk, const char *name)
{
	unsigned char buf[KEYS_B64_MAX * 3 / 4 + 1];
	const char *s;
	size_t len = 0;
	long n;

	if ((s = keys_jwk_string(jwk, name, &len)) == NULL)
		return NULL;
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len == 0 || len > KEYS_B64_MAX || (n = vd_b64url_decode(s, len, buf)) <= 0)
		return NULL;
	return BN_bin2bn(buf, (int)n, NULL);
}

/* The RSA public key of a JWK's n and e, or NULL. */
static EVP_PKEY *
keys_jwk_rsa(json_object *jwk)
{
	BIGNUM *n = keys_jwk_bn(jwk, "n"), *e = keys_jwk_bn(jwk, "e");
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;

	if (n != NULL && e != NULL && (bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pk;
}

/* Why a JWK is not an RSA signing key for RS256, or NULL if it is one. */
static const char *
keys_jwk_skip(json_object *jwk)
{
	json_object *v;

	if (!json_object_object_get_ex(jwk, "kty", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "RSA") != 0)
		return "kty is not RSA";
	if (json_object_object_get_ex(jwk, "use", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "sig") != 0))
		return "use is not sig";
	if (json_object_object_get_ex(jwk, "alg", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "RS256") != 0))
		return "alg is not RS256";
	return NULL;
}

/* One entry of "keys": 1 added, 0 skipped, -1 with err. */
static int
keys_add_jwk(json_object *jwk, size_t i, keys_set *k, keys_skip_fn skip,
    char *err, size_t errlen)
{
	const char *kid, *why;
	size_t kid_len = 0, j;
	keys_key *key;
	EVP_PKEY *pk;

	if (!json_object_is_type(jwk, json_type_object)) {
		snprintf(err, errlen, "keys[%zu] is not an object", i);
		return -1;
	}
	kid = keys_jwk_string(jwk, "kid", &kid_len);
	if ((why = keys_jwk_skip(jwk)) != NULL) {
		if (skip != NULL)
			skip(kid, why);
		return 0;
	}
	if (kid == NULL || kid_len > KEYS_KID_MAX || strlen(kid) != kid_len) {
		snprintf(err, errlen, "keys[%zu]: an RSA key needs a kid, a string "
		    "of 1 to %d bytes", i, KEYS_KID_MAX);
		return -1;
	}
	for (j = 0; j < k->nset; j++)
		if (strcmp(k->set[j].kid, kid) == 0) {
			snprintf(err, errlen, "keys[%zu]: kid \"%.64s\" appears twice", i, kid);
			return -1;
		}
	pk = keys_jwk_rsa(jwk);
	if ((why = keys_check_rsa(pk)) != NULL) {
		snprintf(err, errlen, "keys[%zu] (kid \"%.64s\"): %s", i, kid,
		    pk ? why : "n and e are not a valid base64url RSA public key");
		EVP_PKEY_free(pk);
		return -1;
	}
	key = &k->set[k->nset];
	key->pem = keys_to_pem(pk, &key->pem_len);
	key->kid = strdup(kid);
	EVP_PKEY_free(pk);
	if (key->pem == NULL || key->kid == NULL) {
		free(key->pem);
		free(key->kid);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	k->nset++;
	return 1;
}

int
keys_parse_jwks(const char *json, size_t len, keys_set *k, keys_skip_fn skip,
    char *err, size_t errlen)
{
	json_tokener *tk = json_tokener_new();
	json_object *doc = NULL, *keys = NULL;
	size_t i, n = 0;
	int rc = -1;

	if (tk == NULL || len > KEYS_JWKS_MAX) {
		snprintf(err, errlen, tk ? "larger than 256 KiB" : "out of memory");
		goto out;
	}
	doc = json_tokener_parse_ex(tk, json, (int)len);
	if (doc == NULL || json_tokener_get_error(tk) != json_tokener_success ||
	    tk->char_offset != (int)len) {
		enum json_tokener_error je = json_tokener_get_error(tk);

		snprintf(err, errlen, "not a JSON document (%s)", doc != NULL ?
		    "text after the document" : je == json_tokener_continue ?
		    "unexpected end of file" : json_tokener_error_desc(je));
		goto out;
	}
	if (!json_object_is_type(doc, json_type_object) ||
	    !json_object_object_get_ex(doc, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		snprintf(err, errlen, "not a JWKS: expected {\"keys\": [...]}");
		goto out;
	}
	n = json_object_array_length(keys);
	if (n > KEYS_SET_MAX) {
		snprintf(err, errlen, "more than %d keys", KEYS_SET_MAX);
		goto out;
	}
	if ((k->set = calloc(n ? n : 1, sizeof(*k->set))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (keys_add_jwk(json_object_array_get_idx(keys, i), i, k, skip,
		    err, errlen) < 0)
			goto out;
	if (k->nset == 0) {
		snprintf(err, errlen, "no RSA signing key in it");
		goto out;
	}
	rc = 0;
out:
	json_object_put(doc);
	json_tokener_free(tk);
	return rc;
}

int
keys_load(const keys_sources *src, keys_set *k, keys_skip_fn skip, char *err,
    size_t errlen)
{
	int has_value = src->pem_value != NULL && src->pem_value[0] != '\0';
	int has_file = src->pem_file != NULL && src->pem_file[0] != '\0';
	int has_jwks = src->jwks_file != NULL && src->jwks_file[0] != '\0';
	char msg[256];
	char *text;
	size_t len = 0;
	int rc;

	memset(k, 0, sizeof(*k));
	if (!has_value && !has_file && !has_jwks) {
		snprintf(err, errlen, "no key to verify session tokens: set "
		    "CLERK_JWT_KEY (the PEM public key), CLERK_JWT_KEY_FILE (a path "
		    "to it) or CLERK_JWKS_FILE (a path to a JWKS document)");
		return -1;
	}
	if (has_value && has_file) {
		snprintf(err, errlen, "both CLERK_JWT_KEY and CLERK_JWT_KEY_FILE "
		    "are set: set only one");
		return -1;
	}
	if ((has_value || has_file) && keys_load_pem(src, &k->single, err, errlen) != 0)
		return -1;
	if (!has_jwks)
		return 0;
	text = keys_read_file("CLERK_JWKS_FILE", src->jwks_file, KEYS_JWKS_MAX, &len,
	    err, errlen);
	if (text == NULL) {
		keys_free(k);
		return -1;
	}
	rc = keys_parse_jwks(text, len, k, skip, msg, sizeof(msg));
	free(text);
	if (rc != 0) {
		snprintf(err, errlen, "CLERK_JWKS_FILE %s: %s", src->jwks_file, msg);
		keys_free(k);
	}
	return rc;
}

const keys_key *
keys_pick(const keys_set *k, const char *kid, size_t kid_len, const char **reason)
{
	size_t i;

	if (kid != NULL)
		for (i = 0; i < k->nset; i++)
			if (strlen(k->set[i].kid) == kid_len &&
			    memcmp(k->set[i].kid, kid, kid_len) == 0)
				return &k->set[i];
	if (k->single.pem != NULL)
		return &k->single;
	*reason = kid == NULL ? "token has no usable kid, and there is no single "
	    "PEM key" : "token's kid is not in the key set";
	return NULL;
}

void
keys_free(keys_set *k)
{
	size_t i;

	free(k->single.pem);
	for (i = 0; i < k->nset; i++) {
		free(k->set[i].kid);
		free(k->set[i].pem);
	}
	free(k->set);
	memset(k, 0, sizeof(*k));
}
