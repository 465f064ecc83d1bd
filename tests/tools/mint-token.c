/* mint-token: RS256 session tokens like Clerk's, for the demo and tests.
 *
 *   mint-token --genkey PRIVATE.pem PUBLIC.pem
 *   mint-token --jwk PUBLIC.pem KID      the key as a JWK, as in Clerk's JWKS
 *   mint-token --key PRIVATE.pem [--sub user_x] [--iss URL] [--azp URL]
 *              [--ttl SECONDS] [--kid KID] [--count N]
 *              [--sign RS256|RS384|HS256|none] [--header JSON] [--claims JSON]
 *
 * --header and --claims replace the generated JSON verbatim, so tests can
 * mint exactly the malformed tokens they mean to refuse. HS256 signs with
 * the bytes of the --key file as the HMAC secret (the key-confusion attack
 * uses the public PEM there). Prints the token and a newline; --count N
 * prints N distinct tokens (a "jti" claim tells them apart). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

static void
die(const char *msg)
{
	fprintf(stderr, "mint-token: %s\n", msg);
	exit(2);
}

/* base64url without padding, NUL-terminated, caller frees. */
static char *
b64url(const unsigned char *in, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	int len, i, o = 0;

	if (out == NULL)
		die("out of memory");
	len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	for (i = 0; i < len; i++) {
		if (out[i] == '=')
			break;
		out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[o] = '\0';
	return out;
}

static unsigned char *
read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(65537);

	if (f == NULL || buf == NULL)
		die("cannot read the key file");
	*n = fread(buf, 1, 65536, f);
	fclose(f);
	buf[*n] = '\0';
	return buf;
}

static int
genkey(const char *priv, const char *pub)
{
	EVP_PKEY *pk = EVP_RSA_gen(2048);
	FILE *f;

	if (pk == NULL)
		die("RSA key generation failed");
	if ((f = fopen(priv, "w")) == NULL || !PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL))
		die("cannot write the private key");
	fclose(f);
	if ((f = fopen(pub, "w")) == NULL || !PEM_write_PUBKEY(f, pk))
		die("cannot write the public key");
	fclose(f);
	EVP_PKEY_free(pk);
	return 0;
}

/* base64url of a public key's RSA parameter, caller frees. */
static char *
rsa_param(EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1 || (n = BN_num_bytes(bn)) >
	    (int)sizeof(buf) || BN_bn2bin(bn, buf) != n)
		die("cannot read the RSA key's parameters");
	BN_free(bn);
	return b64url(buf, (size_t)n);
}

static int
jwk(const char *pub, const char *kid)
{
	FILE *f = fopen(pub, "r");
	EVP_PKEY *pk = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
	char *n, *e;

	if (pk == NULL)
		die("--jwk takes a public RSA PEM file");
	fclose(f);
	n = rsa_param(pk, OSSL_PKEY_PARAM_RSA_N);
	e = rsa_param(pk, OSSL_PKEY_PARAM_RSA_E);
	printf("{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\","
	    "\"n\":\"%s\",\"e\":\"%s\"}\n", kid, n, e);
	free(n);
	free(e);
	EVP_PKEY_free(pk);
	return 0;
}

static char *
sign(const char *alg, const char *input, const unsigned char *key, size_t keylen)
{
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);

	if (strcmp(alg, "none") == 0)
		return b64url(sig, 0);
	if (strcmp(alg, "HS256") == 0) {
		unsigned int hl = 0;

		if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)input,
		    strlen(input), sig, &hl) == NULL)
			die("HMAC failed");
		return b64url(sig, hl);
	}
	if (strcmp(alg, "RS256") == 0 || strcmp(alg, "RS384") == 0) {
		BIO *bio = BIO_new_mem_buf(key, (int)keylen);
		EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		const EVP_MD *h = strcmp(alg, "RS256") == 0 ? EVP_sha256() : EVP_sha384();

		if (pk == NULL || md == NULL || EVP_DigestSignInit(md, NULL, h, NULL, pk) != 1 ||
		    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input,
		    strlen(input)) != 1)
			die("RSA signing failed (is --key a private PEM?)");
		EVP_MD_CTX_free(md);
		EVP_PKEY_free(pk);
		BIO_free(bio);
		return b64url(sig, siglen);
	}
	die("--sign must be RS256, RS384, HS256 or none");
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *keyfile = NULL, *sub = "user_demo", *iss = NULL, *azp = NULL;
	const char *alg = "RS256", *header = NULL, *claims = NULL, *kid = NULL;
	long ttl = 60, count = 1, c;
	char hbuf[512], cbuf[2048], *input, *h64, *c64, *s64;
	unsigned char *key;
	size_t keylen, n;
	long long now = (long long)time(NULL);
	int i;

	if (argc == 4 && strcmp(argv[1], "--genkey") == 0)
		return genkey(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "--jwk") == 0)
		return jwk(argv[2], argv[3]);
	for (i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--key") == 0) keyfile = v;
		else if (strcmp(a, "--sub") == 0) sub = v;
		else if (strcmp(a, "--iss") == 0) iss = v;
		else if (strcmp(a, "--azp") == 0) azp = v;
		else if (strcmp(a, "--kid") == 0) kid = v;
		else if (strcmp(a, "--ttl") == 0) ttl = strtol(v, NULL, 10);
		else if (strcmp(a, "--sign") == 0) alg = v;
		else if (strcmp(a, "--header") == 0) header = v;
		else if (strcmp(a, "--claims") == 0) claims = v;
		else if (strcmp(a, "--count") == 0) count = strtol(v, NULL, 10);
		else die("unknown option (see the comment at the top of mint-token.c)");
	}
	if (i != argc || keyfile == NULL)
		die("usage: mint-token --key PRIVATE.pem [options] | --genkey PRIVATE.pem PUBLIC.pem");
	if (header == NULL) {
		snprintf(hbuf, sizeof(hbuf), "{\"alg\":\"%s\",\"typ\":\"JWT\"%s%s%s}", alg,
		    kid ? ",\"kid\":\"" : "", kid ? kid : "", kid ? "\"" : "");
		header = hbuf;
	}
	key = read_file(keyfile, &keylen);
	h64 = b64url((const unsigned char *)header, strlen(header));
	for (c = 0; c < count; c++) {
		const char *body = claims;
		char jti[32] = "";

		if (count > 1)
			snprintf(jti, sizeof(jti), ",\"jti\":\"%ld\"", c);
		if (body == NULL) {
			if (snprintf(cbuf, sizeof(cbuf),
			    "{\"azp\":\"%s\",\"exp\":%lld,\"iat\":%lld,\"iss\":\"%s\","
			    "\"nbf\":%lld,\"sid\":\"sess_demo\",\"sub\":\"%s\"%s}",
			    azp ? azp : "http://localhost:3000", now + ttl, now,
			    iss ? iss : "https://clerk.example.test", now - 5, sub, jti) >=
			    (int)sizeof(cbuf))
				die("claims too long");
			body = cbuf;
		}
		c64 = b64url((const unsigned char *)body, strlen(body));
		n = strlen(h64) + strlen(c64) + 2;
		if ((input = malloc(n)) == NULL)
			die("out of memory");
		snprintf(input, n, "%s.%s", h64, c64);
		s64 = sign(alg, input, key, keylen);
		printf("%s.%s\n", input, s64);
		free(c64);
		free(s64);
		free(input);
	}
	free(h64);
	free(key);
	return 0;
}
