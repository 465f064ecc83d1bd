/* fuzz_auth: the Authorization header and every token check of auth.c,
 * with a key set like production's (a single PEM and a JWKS of one key).
 *
 * Input: one byte of flags, then
 *  - bit 0 clear: the Authorization value itself;
 *  - bit 0 set: header JSON, claims JSON and signature text, NUL-separated,
 *    sent as "Bearer " b64url(header) "." b64url(claims) "." signature, so
 *    that mutations work on the JSON rather than on its base64;
 *  - bit 1: the strict policy (issuer and azp lists) instead of the open one.
 *
 * Properties:
 *  - auth_bearer sorts the header as SPEC.md does (checked against a plain
 *    reading): no credential, API key (with its SHA-256), malformed API
 *    key, or a JWT that is the rest of the header;
 *  - auth_token_shape_ok is SPEC.md's rule: at most 8 KiB of base64url in
 *    three non-empty dot-separated segments;
 *  - a segment that decodes re-encodes to its own length and decodes the same;
 *  - the pure header and claims checks hold their contracts (a kid of 1 to
 *    KEYS_KID_MAX bytes; an accepted claim set has a sub of text and times
 *    within the leeway);
 *  - auth_jwt never accepts a token the harness did not sign (the key is
 *    made at start-up, so no input can carry its signature). */
#include <strings.h>

#include <json.h>
#include <openssl/sha.h>

#include "auth.h"
#include "fuzz_keys.h"
#include "validate.h"

#define NOW 1700000000LL

static const char *const issuers[] = { "https://clerk.fuzz.test" };
static const char *const parties[] = { "https://app.fuzz.test" };
static auth_verifier verifier;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *pk = fuzz_key_new();
	char *pem = fuzz_key_pem(pk), *jwks = fuzz_key_jwks(pk, "kid-1"), err[256];
	keys_sources src = { pem, NULL, NULL };

	(void)argc;
	(void)argv;
	FUZZ_CHECK(keys_load(&src, &verifier.keys, NULL, err, sizeof(err)) == 0);
	FUZZ_CHECK(keys_parse_jwks(jwks, strlen(jwks), &verifier.keys, NULL, err,
	    sizeof(err)) == 0);
	verifier.policy.leeway = 5;
	free(pem);
	free(jwks);
	EVP_PKEY_free(pk);
	return 0;
}

static int
ref_api_key_ok(const char *k)
{
	size_t i;

	if (strlen(k) != AUTH_KEY_LEN || strncmp(k, "op_live_", 8) != 0)
		return 0;
	for (i = 8; i < AUTH_KEY_LEN; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'z') ||
		    (k[i] >= 'A' && k[i] <= 'Z')))
			return 0;
	return 1;
}

static int
ref_shape_ok(const char *t, size_t n)
{
	size_t i, dots = 0, seg = 0;

	if (n > AUTH_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (t[i] == '.') {
			if (seg == 0 || ++dots > 2)
				return 0;
			seg = 0;
		} else if ((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= 'A' && t[i] <= 'Z') || t[i] == '-' || t[i] == '_') {
			seg++;
		} else
			return 0;
	}
	return dots == 2 && seg > 0;
}

/* auth_bearer against SPEC.md; the token (JWT) or NULL. */
static const char *
check_bearer(const char *authz, size_t *len)
{
	auth_caller c;
	const char *tok = NULL, *reason = NULL;
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[AUTH_HASH_HEX + 1];
	size_t i;
	st_status st;

	memset(&c, 0, sizeof(c));
	st = auth_bearer(authz, &c, &tok, len, &reason);
	if (strncasecmp(authz, "Bearer ", 7) != 0 || authz[7] == '\0') {
		FUZZ_CHECK(st == ST_UNAUTHORIZED && reason != NULL);
		return NULL;
	}
	if (strncmp(authz + 7, "op_", 3) == 0) {
		FUZZ_CHECK(st == (ref_api_key_ok(authz + 7) ? ST_OK : ST_INVALID_API_KEY));
		if (st != ST_OK)
			return NULL;
		FUZZ_CHECK(c.kind == AUTH_API_KEY);
		SHA256((const unsigned char *)authz + 7, AUTH_KEY_LEN, md);
		for (i = 0; i < sizeof(md); i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		FUZZ_CHECK(strcmp(c.key_hash, hex) == 0);
		return NULL;
	}
	FUZZ_CHECK(st == ST_OK && c.kind == AUTH_JWT);
	FUZZ_CHECK(tok == authz + 7 && *len == strlen(tok));
	return tok;
}

/* One segment decoded to JSON (NULL if it is not an object), checking the
 * decoder on the way. */
static json_object *
segment_json(const char *seg, size_t n)
{
	unsigned char *bin = malloc(n * 3 / 4 + 1), *again = malloc(n * 3 / 4 + 1);
	char *enc = malloc(n + 4);
	long len = vd_b64url_decode(seg, n, bin);
	json_object *o = NULL;
	json_tokener *tk;

	FUZZ_CHECK(bin != NULL && again != NULL && enc != NULL);
	if (len >= 0) {
		FUZZ_CHECK((size_t)len == n * 6 / 8);
		FUZZ_CHECK(fuzz_b64url(bin, (size_t)len, enc) == n);
		FUZZ_CHECK(vd_b64url_decode(enc, n, again) == len);
		FUZZ_CHECK(memcmp(bin, again, (size_t)len) == 0);
		tk = json_tokener_new();
		FUZZ_CHECK(tk != NULL);
		o = json_tokener_parse_ex(tk, (const char *)bin, (int)len);
		if (o != NULL && (json_tokener_get_error(tk) != json_tokener_success ||
		    !json_object_is_type(o, json_type_object))) {
			json_object_put(o);
			o = NULL;
		}
		json_tokener_free(tk);
	}
	free(bin);
	free(again);
	free(enc);
	return o;
}

/* The pure checks of a well-shaped token's decoded header and claims. */
static void
check_parts(const char *tok, size_t len)
{
	const char *d1 = memchr(tok, '.', len), *d2, *kid, *reason = NULL;
	json_object *hdr, *claims, *sig;
	auth_claims cl;
	size_t kid_len = 0;

	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
	if ((hdr = segment_json(tok, (size_t)(d1 - tok))) != NULL) {
		if (auth_check_header(hdr, &reason) != ST_OK)
			FUZZ_CHECK(reason != NULL);
		if ((kid = auth_header_kid(hdr, &kid_len)) != NULL)
			FUZZ_CHECK(kid_len >= 1 && kid_len <= KEYS_KID_MAX);
		/* Any kid, or none, finds a key: the single PEM backs the set. */
		FUZZ_CHECK(keys_pick(&verifier.keys, kid, kid_len, &reason) != NULL);
		json_object_put(hdr);
	}
	if ((claims = segment_json(d1 + 1, (size_t)(d2 - d1 - 1))) != NULL) {
		reason = NULL;
		if (auth_check_claims(claims, &verifier.policy, NOW, &cl, &reason) == ST_OK) {
			FUZZ_CHECK(cl.sub[0] != '\0' && strlen(cl.sub) <= AUTH_SUB_MAX);
			FUZZ_CHECK(auth_check_times(&cl, &verifier.policy, NOW, &reason) == ST_OK);
			FUZZ_CHECK(cl.exp > NOW - verifier.policy.leeway);
		} else {
			FUZZ_CHECK(reason != NULL);
		}
		json_object_put(claims);
	}
	/* The signature is binary, not JSON: only the decoder is exercised. */
	if ((sig = segment_json(d2 + 1, (size_t)(tok + len - d2 - 1))) != NULL)
		json_object_put(sig);
}

/* "Bearer " b64url(header) "." b64url(claims) "." signature. */
static char *
structured(const fuzz_fields *f)
{
	const char *h = f->f[0], *c = f->n > 1 ? f->f[1] : "", *s = f->n > 2 ? f->f[2] : "";
	size_t hl = f->len[0], cl = f->n > 1 ? f->len[1] : 0, o = 7;
	char *authz = malloc(7 + 4 * (hl + cl) / 3 + strlen(s) + 16);

	FUZZ_CHECK(authz != NULL);
	memcpy(authz, "Bearer ", 7);
	o += fuzz_b64url((const unsigned char *)h, hl, authz + o);
	authz[o++] = '.';
	o += fuzz_b64url((const unsigned char *)c, cl, authz + o);
	authz[o++] = '.';
	strcpy(authz + o, s);
	return authz;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_fields f;
	const char *tok, *reason = NULL;
	char *authz;
	size_t len = 0;
	auth_caller c;
	st_status st;
	int shape;

	if (size < 1)
		return 0;
	fuzz_split(data + 1, size - 1, &f);
	authz = data[0] & 1 ? structured(&f) : strdup(f.f[0]);
	FUZZ_CHECK(authz != NULL);
	if (data[0] & 2) {
		verifier.policy.issuers = issuers;
		verifier.policy.nissuers = 1;
		verifier.policy.parties = parties;
		verifier.policy.nparties = 1;
	} else {
		verifier.policy.nissuers = verifier.policy.nparties = 0;
	}
	if ((tok = check_bearer(authz, &len)) != NULL) {
		shape = auth_token_shape_ok(tok, len);
		FUZZ_CHECK(shape == ref_shape_ok(tok, len));
		memset(&c, 0, sizeof(c));
		st = auth_jwt(&verifier, tok, len, NOW, &c, &reason);
		FUZZ_CHECK(st == ST_INVALID_TOKEN && reason != NULL);
		if (shape)
			check_parts(tok, len);
	}
	free(authz);
	fuzz_fields_free(&f);
	return 0;
}
