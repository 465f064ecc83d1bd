/* fuzz_keys.h: an RSA key made when a harness starts, in the forms the
 * service loads (public PEM, a JWKS of it), and tokens signed with it.
 *
 * Made fresh at start-up rather than kept in the tree: no private key is
 * committed, and no fuzzed input can carry a signature for it, so a
 * token that verifies can only be one the harness signed itself. */
#ifndef RS_FUZZ_KEYS_H
#define RS_FUZZ_KEYS_H

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fuzz.h"

static inline EVP_PKEY *
fuzz_key_new(void)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);

	FUZZ_CHECK(pk != NULL);
	return pk;
}

/* The public half as PEM text, NUL-terminated; caller frees. */
static inline char *
fuzz_key_pem(EVP_PKEY *pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p, *pem;
	long n;

	FUZZ_CHECK(bio != NULL && PEM_write_bio_PUBKEY(bio, pk) == 1);
	n = BIO_get_mem_data(bio, &p);
	FUZZ_CHECK(n > 0 && (pem = malloc((size_t)n + 1)) != NULL);
	memcpy(pem, p, (size_t)n);
	pem[n] = '\0';
	BIO_free(bio);
	return pem;
}

/* base64url of one RSA parameter into out (room for 1400 bytes). */
static inline void
fuzz_key_param(EVP_PKEY *pk, const char *name, char *out)
{
	unsigned char bin[1024];
	BIGNUM *bn = NULL;
	int n;

	FUZZ_CHECK(EVP_PKEY_get_bn_param(pk, name, &bn) == 1);
	n = BN_bn2bin(bn, bin);
	FUZZ_CHECK(n > 0 && (size_t)n <= sizeof(bin));
	fuzz_b64url(bin, (size_t)n, out);
	BN_free(bn);
}

/* {"keys":[the key as a JWK with this kid]}; caller frees. */
static inline char *
fuzz_key_jwks(EVP_PKEY *pk, const char *kid)
{
	char n[1400], e[16], *doc = malloc(2048);

	FUZZ_CHECK(doc != NULL);
	fuzz_key_param(pk, OSSL_PKEY_PARAM_RSA_N, n);
	fuzz_key_param(pk, OSSL_PKEY_PARAM_RSA_E, e);
	snprintf(doc, 2048, "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\","
	    "\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}]}", kid, n, e);
	return doc;
}

/* header.claims.signature, RS256 with pk; caller frees. */
static inline char *
fuzz_key_sign(EVP_PKEY *pk, const char *header, const char *claims)
{
	size_t hl = strlen(header), cl = strlen(claims), o, sl = 256;
	char *tok = malloc(4 * (hl + cl + sl) / 3 + 16);
	unsigned char sig[256];
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	FUZZ_CHECK(tok != NULL && md != NULL);
	o = fuzz_b64url((const unsigned char *)header, hl, tok);
	tok[o++] = '.';
	o += fuzz_b64url((const unsigned char *)claims, cl, tok + o);
	FUZZ_CHECK(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestSign(md, sig, &sl, (unsigned char *)tok, o) == 1);
	EVP_MD_CTX_free(md);
	tok[o++] = '.';
	fuzz_b64url(sig, sl, tok + o);
	return tok;
}

#endif
