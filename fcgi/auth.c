/* auth.c: bearer parsing and every check libjwt does not make. */
#include "auth.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include <jwt.h>
#include <openssl/sha.h>

#include "validate.h"

void
auth_sha256_hex(const char *s, size_t len, char out[AUTH_HASH_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)s, len, md);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[AUTH_HASH_HEX] = '\0';
}

static int
auth_api_key_shape_ok(const char *key, size_t len)
{
	size_t i, plen = sizeof(AUTH_KEY_PREFIX) - 1;

	if (len != AUTH_KEY_LEN || memcmp(key, AUTH_KEY_PREFIX, plen) != 0)
		return 0;
	for (i = plen; i < len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z')))
			return 0;
	}
	return 1;
}

st_status
auth_bearer(const char *authorization, auth_caller *out, const char **token,
    size_t *len, const char **reason)
{
	if (authorization == NULL || authorization[0] == '\0') {
		*reason = "no Authorization header";
		return ST_UNAUTHORIZED;
	}
	if (strncasecmp(authorization, "Bearer ", 7) != 0 || authorization[7] == '\0') {
		*reason = "Authorization is not a Bearer credential";
		return ST_UNAUTHORIZED;
	}
	*token = authorization + 7;
	*len = strlen(*token);
	if (strncmp(*token, "op_", 3) != 0) {
		out->kind = AUTH_JWT;
		return ST_OK;
	}
	if (!auth_api_key_shape_ok(*token, *len)) {
		*reason = "malformed API key";
		return ST_INVALID_API_KEY;
	}
	out->kind = AUTH_API_KEY;
	auth_sha256_hex(*token, *len, out->key_hash);
	return ST_OK;
}

/* 1 when every byte of s[0..n) is of base64url's alphabet: a table
 * lookup per byte and no early exit, since it is on the path of every
 * request, cache hits included. */
static int
auth_b64url_only(const char *s, size_t n)
{
	static const unsigned char b64url[256] = {
		['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1,
		['-'] = 1, ['_'] = 1,
	};
	unsigned ok = 1;
	size_t i;

	for (i = 0; i < n; i++)
		ok &= b64url[(unsigned char)s[i]];
	return (int)ok;
}

int
auth_token_shape_ok(const char *tok, size_t len)
{
	const char *d1, *d2, *end = tok + len;

	if (len > AUTH_TOKEN_MAX || (d1 = memchr(tok, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL ||
	    memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL)
		return 0;
	return d1 > tok && d2 > d1 + 1 && end > d2 + 1 &&
	    auth_b64url_only(tok, (size_t)(d1 - tok)) &&
	    auth_b64url_only(d1 + 1, (size_t)(d2 - d1 - 1)) &&
	    auth_b64url_only(d2 + 1, (size_t)(end - d2 - 1));
}

/* One segment of the token as a JSON object, or NULL. */
static json_object *
auth_segment_json(const char *seg, size_t len)
{
	unsigned char buf[AUTH_TOKEN_MAX * 3 / 4 + 1];
	long n = vd_b64url_decode(seg, len, buf);
	json_tokener *tk;
	json_object *o;

	if (n < 0 || (tk = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tk, (const char *)buf, (int)n);
	if (o != NULL && (json_tokener_get_error(tk) != json_tokener_success ||
	    tk->char_offset != (int)n || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tk);
	return o;
}

st_status
auth_check_header(json_object *hdr, const char **reason)
{
	json_object *v;

	if (!json_object_object_get_ex(hdr, "alg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "RS256") != 0 ||
	    json_object_get_string_len(v) != 5) {
		*reason = "header alg is not exactly RS256";
		return ST_INVALID_TOKEN;
	}
	if (json_object_object_get_ex(hdr, "typ", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "JWT") != 0 ||
	    json_object_get_string_len(v) != 3)) {
		*reason = "header typ is not JWT";
		return ST_INVALID_TOKEN;
	}
	if (json_object_object_get_ex(hdr, "crit", NULL)) {
		*reason = "header has crit";
		return ST_INVALID_TOKEN;
	}
	return ST_OK;
}

const char *
auth_header_kid(json_object *hdr, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(hdr, "kid", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) <= 0 ||
	    json_object_get_string_len(v) > KEYS_KID_MAX)
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

static int
auth_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k, need;
		unsigned long cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (i + need >= n)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

/* An optional integer claim; -1 when present with another type. */
static int
auth_int_claim(json_object *claims, const char *name, long long *v)
{
	json_object *o;

	if (!json_object_object_get_ex(claims, name, &o))
		return 0;
	if (!json_object_is_type(o, json_type_int))
		return -1;
	*v = (long long)json_object_get_int64(o);
	return 1;
}

static int
auth_in_list(json_object *o, const char *const *list, size_t n)
{
	const char *s;
	size_t i, len;

	if (o == NULL || !json_object_is_type(o, json_type_string))
		return 0;
	s = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return 1;
	return 0;
}

/* The three time claims against the clock. now >= exp + leeway and
 * t > now + leeway are written on the side of now and leeway (the clock
 * and the configuration, both bounded) so no claim's value can make them
 * overflow. */
st_status
auth_check_times(const auth_claims *c, const auth_policy *p, long long now,
    const char **reason)
{
	if (now - p->leeway >= c->exp) {
		*reason = "token expired";
		return ST_INVALID_TOKEN;
	}
	if (c->has_nbf && c->nbf > now + p->leeway) {
		*reason = "nbf in the future";
		return ST_INVALID_TOKEN;
	}
	if (c->has_iat && c->iat > now + p->leeway) {
		*reason = "iat in the future";
		return ST_INVALID_TOKEN;
	}
	return ST_OK;
}

st_status
auth_check_claims(json_object *claims, const auth_policy *p, long long now,
    auth_claims *out, const char **reason)
{
	json_object *v = NULL;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if (auth_int_claim(claims, "exp", &out->exp) != 1) {
		*reason = "exp missing or not an integer";
		return ST_INVALID_TOKEN;
	}
	if ((r = auth_int_claim(claims, "nbf", &out->nbf)) < 0) {
		*reason = "nbf not an integer";
		return ST_INVALID_TOKEN;
	}
	out->has_nbf = r == 1;
	if ((r = auth_int_claim(claims, "iat", &out->iat)) < 0) {
		*reason = "iat not an integer";
		return ST_INVALID_TOKEN;
	}
	out->has_iat = r == 1;
	if (auth_check_times(out, p, now, reason) != ST_OK)
		return ST_INVALID_TOKEN;
	if (p->nissuers > 0 && (!json_object_object_get_ex(claims, "iss", &v) ||
	    !auth_in_list(v, p->issuers, p->nissuers))) {
		*reason = "iss not allowed";
		return ST_INVALID_TOKEN;
	}
	if (p->nparties > 0 && (!json_object_object_get_ex(claims, "azp", &v) ||
	    !auth_in_list(v, p->parties, p->nparties))) {
		*reason = "azp missing or not allowed";
		return ST_INVALID_TOKEN;
	}
	if (json_object_object_get_ex(claims, "sts", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), "pending") == 0) {
		*reason = "session status is pending";
		return ST_INVALID_TOKEN;
	}
	if (!json_object_object_get_ex(claims, "sub", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    (len = (size_t)json_object_get_string_len(v)) == 0) {
		*reason = "sub missing, empty or not a string";
		return ST_INVALID_TOKEN;
	}
	if (len > AUTH_SUB_MAX ||
	    !auth_utf8_ok((const unsigned char *)json_object_get_string(v), len)) {
		*reason = "sub too long, or not UTF-8 text";
		return ST_INVALID_TOKEN;
	}
	memcpy(out->sub, json_object_get_string(v), len);
	out->sub[len] = '\0';
	return ST_OK;
}

/* Every check of a well-shaped token not seen before; *out has its
 * claims on ST_OK. */
static st_status
auth_verify(const auth_verifier *v, const char *tok, size_t len, long long now,
    auth_claims *out, const char **reason)
{
	const char *dot1, *dot2, *kid;
	size_t kid_len = 0;
	const keys_key *key;
	json_object *json;
	jwt_t *jwt = NULL;
	st_status st;
	int ok;

	dot1 = memchr(tok, '.', len);
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok));
	if ((json = auth_segment_json(tok, (size_t)(dot1 - tok))) == NULL) {
		*reason = "header is not a base64url JSON object";
		return ST_INVALID_TOKEN;
	}
	st = auth_check_header(json, reason);
	kid = auth_header_kid(json, &kid_len);
	key = st == ST_OK ? keys_pick(&v->keys, kid, kid_len, reason) : NULL;
	json_object_put(json);
	if (st != ST_OK)
		return st;
	if (key == NULL)
		return ST_INVALID_TOKEN;
	/* The key and its length are never NULL/0 here: that would make
	 * jwt_decode succeed without verifying anything. */
	if (key->pem == NULL || key->pem_len == 0) {
		*reason = "no key loaded";
		return ST_INTERNAL_ERROR;
	}
	ok = jwt_decode(&jwt, tok, key->pem, (int)key->pem_len) == 0 &&
	    jwt_get_alg(jwt) == JWT_ALG_RS256;
	jwt_free(jwt);
	if (!ok) {
		*reason = "signature does not verify";
		return ST_INVALID_TOKEN;
	}
	json = auth_segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (json == NULL) {
		*reason = "payload is not a base64url JSON object";
		return ST_INVALID_TOKEN;
	}
	st = auth_check_claims(json, &v->policy, now, out, reason);
	json_object_put(json);
	return st;
}

st_status
auth_jwt(auth_verifier *v, const char *tok, size_t len, long long now,
    auth_caller *out, const char **reason)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	auth_claims claims, *hit;
	st_status st;

	if (!auth_token_shape_ok(tok, len)) {
		*reason = len > AUTH_TOKEN_MAX ? "token longer than 8 KiB"
		    : "token is not three base64url segments";
		return ST_INVALID_TOKEN;
	}
	if (v->cache != NULL) {
		if (!EVP_Digest(tok, len, digest, NULL, v->sha256, NULL)) {
			*reason = "SHA-256 failed";
			return ST_INTERNAL_ERROR;
		}
		hit = cache_get(v->cache, digest);
		out->cache = hit ? AUTH_CACHE_HIT : AUTH_CACHE_MISS;
		/* Verified before, with the keys and policy in force now (a
		 * reload empties the cache): only the clock has moved. */
		if (hit != NULL) {
			if ((st = auth_check_times(hit, &v->policy, now, reason)) != ST_OK) {
				cache_remove(v->cache, digest);
				return st;
			}
			memcpy(out->sub, hit->sub, sizeof(out->sub));
			return ST_OK;
		}
	}
	if ((st = auth_verify(v, tok, len, now, &claims, reason)) != ST_OK)
		return st;
	/* Only a token that passed every check is kept, until the moment
	 * auth_check_times would refuse it. */
	if (v->cache != NULL)
		cache_put(v->cache, digest, &claims, claims.exp > LLONG_MAX - v->policy.leeway
		    ? LLONG_MAX : claims.exp + v->policy.leeway, now);
	memcpy(out->sub, claims.sub, sizeof(out->sub));
	return ST_OK;
}
