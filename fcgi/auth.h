/* auth.h: the Authorization header -> a verified caller.
 *
 * libjwt 1.10 checks the signature only, with whatever algorithm the
 * token names, so everything else is checked here, before and after it
 * (see NOTES-libjwt.md): the token's bytes and length, the header's alg,
 * typ, crit and kid (which picks the key), and every claim. The checks on
 * decoded JSON are pure and exported for the tests; auth_jwt() runs them
 * all in order.
 *
 * A token that passed every check is kept in the verifier's cache under
 * the SHA-256 of the whole token, until its exp + leeway; a later request
 * with the same token re-checks only the time claims against its own
 * clock. Refusals are never cached. Every refusal comes with a static
 * reason for the log. */
#ifndef RS_AUTH_H
#define RS_AUTH_H

#include <stddef.h>

#include <json.h>

#include <openssl/evp.h>

#include "cache.h"
#include "keys.h"
#include "status.h"

#define AUTH_TOKEN_MAX 8192
#define AUTH_SUB_MAX 256

typedef struct {
	const char *const *issuers;	/* allowed iss; none configured: any */
	size_t nissuers;
	const char *const *parties;	/* allowed azp; none configured: any */
	size_t nparties;
	long long leeway;		/* seconds */
} auth_policy;

/* An API key: "op_live_" and 32 [0-9A-Za-z]. Only its SHA-256 leaves
 * auth, for the query to look up; the key itself is never kept. */
#define AUTH_KEY_PREFIX "op_live_"
#define AUTH_KEY_LEN 40
#define AUTH_HASH_HEX 64

typedef enum { AUTH_NONE = 0, AUTH_JWT, AUTH_API_KEY } auth_kind;

/* Whether a JWT was found in the cache of verified tokens, for the log. */
typedef enum { AUTH_CACHE_OFF = 0, AUTH_CACHE_HIT, AUTH_CACHE_MISS } auth_cache_use;

typedef struct {
	auth_kind kind;
	auth_cache_use cache;			/* JWT, when a cache is on */
	char sub[AUTH_SUB_MAX + 1];		/* JWT: the verified sub */
	char key_hash[AUTH_HASH_HEX + 1];	/* API key: lower-case hex SHA-256 */
	char key_id[37];			/* API key: its id, once the query found it */
} auth_caller;

/* "Bearer <credential>", the scheme word in any case, one space.
 * ST_OK with out->kind AUTH_JWT and the token in *token, *len (still to be
 * checked by auth_jwt), or AUTH_API_KEY with out->key_hash set (to be
 * checked by the query). ST_UNAUTHORIZED without credentials;
 * ST_INVALID_API_KEY for anything else that starts with "op_". */
st_status auth_bearer(const char *authorization, auth_caller *out,
    const char **token, size_t *len, const char **reason);

/* Lower-case hex SHA-256 of len bytes. */
void auth_sha256_hex(const char *s, size_t len, char out[AUTH_HASH_HEX + 1]);

/* At most AUTH_TOKEN_MAX bytes of [A-Za-z0-9_-] in three non-empty
 * segments separated by exactly two dots. */
int auth_token_shape_ok(const char *tok, size_t len);

/* The claims a verified token keeps; its times are checked again on
 * every use. */
typedef struct {
	long long exp, nbf, iat;
	int has_nbf, has_iat;
	char sub[AUTH_SUB_MAX + 1];
} auth_claims;

/* What verifies tokens in one worker; keys and cache are replaced
 * together on a reload. */
typedef struct {
	keys_set keys;
	auth_policy policy;
	cache_table *cache;	/* verified tokens, or NULL for none */
	/* SHA-256, fetched once (each SHA256() call fetches it again, a
	 * third of the cost of a cache hit): the cache's key; needed with
	 * a cache. */
	EVP_MD *sha256;
} auth_verifier;

st_status auth_check_header(json_object *hdr, const char **reason);
/* The header's kid when it is a string of 1 to KEYS_KID_MAX bytes, else
 * NULL: a kid of another shape names no key of a set, so it is treated
 * as absent (and ignored with a single PEM, as Clerk's SDK does). */
const char *auth_header_kid(json_object *hdr, size_t *len);
st_status auth_check_claims(json_object *claims, const auth_policy *p,
    long long now, auth_claims *out, const char **reason);
st_status auth_check_times(const auth_claims *c, const auth_policy *p,
    long long now, const char **reason);

/* The whole check of one token, tok[0..len) with tok[len] == '\0' (libjwt
 * reads to the NUL); now is read by the caller per request. */
st_status auth_jwt(auth_verifier *v, const char *tok, size_t len,
    long long now, auth_caller *out, const char **reason);

#endif
