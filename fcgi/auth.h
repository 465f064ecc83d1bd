/* auth.h: the Authorization header -> a verified caller.
 *
 * libjwt 1.10 checks the signature only, with whatever algorithm the
 * token names, so everything else is checked here, before and after it
 * (see NOTES-libjwt.md): the token's bytes and length, the header's alg,
 * typ and crit, and every claim. The checks on decoded JSON are pure and
 * exported for the tests; auth_jwt() runs them all in order.
 * Every refusal comes with a static reason for the log. */
#ifndef RS_AUTH_H
#define RS_AUTH_H

#include <stddef.h>

#include <json.h>

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

typedef struct {
	char sub[AUTH_SUB_MAX + 1];
} auth_caller;

/* "Bearer <token>", the scheme word in any case, one space. ST_OK with
 * the token, ST_UNAUTHORIZED without credentials, ST_INVALID_API_KEY for
 * an op_ API key (checked against the database in a later change). */
st_status auth_bearer(const char *authorization, const char **token,
    size_t *len, const char **reason);

/* At most AUTH_TOKEN_MAX bytes of [A-Za-z0-9_-] in three non-empty
 * segments separated by exactly two dots. */
int auth_token_shape_ok(const char *tok, size_t len);

st_status auth_check_header(json_object *hdr, const char **reason);
st_status auth_check_claims(json_object *claims, const auth_policy *p,
    long long now, auth_caller *out, const char **reason);

/* The whole check of one token; now is read by the caller per request. */
st_status auth_jwt(const keys_set *k, const auth_policy *p, const char *tok,
    size_t len, long long now, auth_caller *out, const char **reason);

#endif
