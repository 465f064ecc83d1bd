/* fuzz_handler: the whole request, CGI params in and response bytes out,
 * through handler_run with the database stubbed (db_stub.c), the keys,
 * policy and token cache of a configured worker.
 *
 * Input: two bytes of plan, then the CGI params of fuzz.h (fuzz_cgi_read).
 *  byte 0, bits 0-1: Authorization as given (0, 3); a token this harness
 *          signed (1); that token with the given value appended (2)
 *          bit 2: the verified-token cache off (on, as in production, by
 *          default: an uncached verification costs ~1 ms here, libjwt
 *          parsing the PEM key each time, some 50 times a whole request)
 *          bit 3: the strict policy (issuer and azp lists)
 *          bits 4-5: the clock: the token's now, an hour later (expired),
 *          an hour earlier (nbf and iat in the future), 1970
 *          bits 6-7: the signed token's kid: none, the JWKS's, an unknown
 *          one (the single PEM then), none
 *  byte 1, bits 0-2: the database's answer: a summary (0-2), 404, 403,
 *          401 (unknown key), 503, 500 (a row that does not decode)
 *          bit 3: /healthz's ping fails
 *          bits 4-7: which canned summary
 *
 * Properties: the response is one well-formed head (Status matching the
 * outcome's HTTP status, no stray CR or LF, the X-Request-Id of a valid
 * id, a Content-Length that is the body's) and, unless HEAD, a JSON body
 * with the envelope SPEC.md fixes; checks run in SPEC.md's order (405
 * before anything; the database only after route, credentials and
 * inputs passed); the signed token verifies whenever its times allow. */
#include <math.h>

#include <json.h>

#include "db_stub.h"
#include "fuzz_keys.h"
#include "handler.h"

#define NOW 1700000000LL
#define SUB "user_fuzz"
#define FRESH_ID "fuzz-fresh-id"

static app_ctx app;
static cache_table *cache;
static char *tokens[4];	/* by kid variant */
static const char *const issuers[] = { "https://clerk.fuzz.test" };
static const char *const parties[] = { "https://app.fuzz.test" };

/* Rows the statement could return (db_decode_row reads any non-negative
 * bigint and any strtod text, "nan" and "inf" included); one answered by
 * a standby 250 ms behind. */
static const db_summary summaries[16] = {
	{ 0, 0, 0, 0, 0, 0, 0, 0, 0, "", -1 },
	{ 1000, 83, 83, 585, 83, 83, 83, 1, 258.36752136752136, "", 250 },
	{ 150, 5, 5, 120, 20, 10, 0, 1, 245.6, "", -1 },
	{ 7, 3, 4, 0, 0, 0, 0, 0, 0, "", -1 },
	{ 3, 0, 0, 1, 2, 0, 0, 1, 1e-7, "", -1 },
	{ 3000000000000, 0, 0, 1000000000000, 1000000000000, 1000000000000, 0,
	    1, 1e300, "", -1 },
	{ 9007199254740994, 0, 0, 9007199254740993, 1, 0, 0, 1, 5e-324, "", -1 },
	{ 2, 0, 0, 1, 1, 0, 0, 1, NAN, "", -1 },
	{ 2, 0, 0, 1, 0, 1, 0, 1, INFINITY, "", -1 },
	{ 1, 0, 0, 1, 0, 0, 0, 1, -0.0, "", -1 },
	{ 1, 0, 0, 1, 0, 0, 0, 1, -1.5, "", -1 },
	{ 3, 0, 0, 2, 0, 0, 1, 1, 0.1 + 0.2, "", -1 },
	{ 1, 0, 0, 1, 0, 0, 0, 1, 1e16, "", -1 },
	{ 1, 0, 0, 1, 0, 0, 0, 1, 123456789012345.67, "", -1 },
	{ 1, 0, 0, 1, 0, 0, 0, 1, 1.7976931348623157e308, "", -1 },
	{ 6, 1, 1, 1, 1, 1, 1, 1, 0.0001, "", -1 },
};
static const st_status answers[8] = { ST_OK, ST_OK, ST_OK, ST_NOT_FOUND,
    ST_FORBIDDEN, ST_INVALID_API_KEY, ST_SERVICE_UNAVAILABLE, ST_INTERNAL_ERROR };
static const long long clocks[4] = { NOW, NOW + 3600, NOW - 3600, 0 };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const headers[4] = {
		"{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"RS256\",\"kid\":\"kid-1\",\"typ\":\"JWT\"}",
		"{\"alg\":\"RS256\",\"kid\":\"kid-unknown\",\"typ\":\"JWT\"}",
		"{\"alg\":\"RS256\"}",
	};
	EVP_PKEY *pk = fuzz_key_new();
	char *pem = fuzz_key_pem(pk), *jwks = fuzz_key_jwks(pk, "kid-1"), err[256];
	char claims[512];
	keys_sources src = { pem, NULL, NULL };
	size_t i;

	(void)argc;
	(void)argv;
	/* As app_init builds it from CLERK_JWT_KEY and CLERK_JWKS_FILE. */
	FUZZ_CHECK(keys_load(&src, &app.auth.keys, NULL, err, sizeof(err)) == 0);
	FUZZ_CHECK(keys_parse_jwks(jwks, strlen(jwks), &app.auth.keys, NULL, err,
	    sizeof(err)) == 0);
	app.auth.policy.leeway = 5;
	FUZZ_CHECK((cache = cache_new(64, sizeof(auth_claims))) != NULL);
	FUZZ_CHECK((app.auth.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) != NULL);
	FUZZ_CHECK((app.db = db_new(NULL, 2, 3000, 0, err, sizeof(err))) != NULL);
	snprintf(claims, sizeof(claims), "{\"azp\":\"%s\",\"exp\":%lld,\"iat\":%lld,"
	    "\"iss\":\"%s\",\"nbf\":%lld,\"sid\":\"sess_fuzz\",\"sub\":\"" SUB "\"}",
	    parties[0], NOW + 60, NOW - 5, issuers[0], NOW - 5);
	for (i = 0; i < 4; i++)
		tokens[i] = fuzz_key_sign(pk, headers[i], claims);
	db_stub.jwt_sub = SUB;
	free(pem);
	free(jwks);
	EVP_PKEY_free(pk);
	return 0;
}

/* The head: lines of "Name: value" ending in CRLF, no other CR or LF;
 * returns where the body starts. */
static const char *
check_head(const handler_result *h)
{
	const char *d = h->out.data, *end = d + h->out.len, *body, *p;
	char want[REQ_ID_MAX + 32];
	unsigned long clen;
	int code = 0;

	FUZZ_CHECK(h->out.len > 0 && h->out.len < RENDER_MAX);
	FUZZ_CHECK(sscanf(d, "Status: %3d ", &code) == 1 && code == h->out.http_status);
	FUZZ_CHECK(code == render_http_status(h->status));
	body = memmem(d, h->out.len, "\r\n\r\n", 4);
	FUZZ_CHECK(body != NULL);
	body += 4;
	for (p = d; p < body; p++)
		if (*p == '\r' || *p == '\n')
			FUZZ_CHECK(p[*p == '\r' ? 1 : -1] == (*p == '\r' ? '\n' : '\r'));
	snprintf(want, sizeof(want), "\r\nX-Request-Id: %s\r\n", h->meta.request_id);
	FUZZ_CHECK(memmem(d, (size_t)(body - d), want, strlen(want)) != NULL);
	p = memmem(d, (size_t)(body - d), "\r\nContent-Length: ", 18);
	FUZZ_CHECK(p != NULL && sscanf(p + 18, "%lu", &clen) == 1);
	if (h->req.method == REQ_HEAD)
		FUZZ_CHECK(body == end);
	else
		FUZZ_CHECK(clen == (size_t)(end - body));
	return body;
}

/* The body is one JSON object with SPEC.md's envelope. */
static void
check_body(const handler_result *h, const char *body)
{
	size_t n = (size_t)(h->out.data + h->out.len - body);
	json_tokener *tk = json_tokener_new();
	json_object *o, *v, *w;

	FUZZ_CHECK(tk != NULL);
	o = json_tokener_parse_ex(tk, body, (int)n);
	FUZZ_CHECK(o != NULL && json_tokener_get_error(tk) == json_tokener_success);
	FUZZ_CHECK(tk->char_offset == (int)n && json_object_is_type(o, json_type_object));
	if (h->health) {
		FUZZ_CHECK(json_object_object_get_ex(o, "status", NULL));
	} else {
		FUZZ_CHECK(json_object_object_get_ex(o, "meta", &v));
		FUZZ_CHECK(json_object_object_get_ex(v, "request_id", &w));
		FUZZ_CHECK(strcmp(json_object_get_string(w), h->meta.request_id) == 0);
		if (h->status == ST_OK) {
			FUZZ_CHECK(json_object_object_get_ex(o, "data", &v));
			FUZZ_CHECK(json_object_object_get_ex(v, "total_runs", &w));
			FUZZ_CHECK(json_object_get_int64(w) == db_stub.summary.total);
		} else {
			FUZZ_CHECK(json_object_object_get_ex(o, "error", &v));
			FUZZ_CHECK(json_object_object_get_ex(v, "code", &w));
			FUZZ_CHECK(strcmp(json_object_get_string(w),
			    render_error_code(h->status)) == 0);
		}
	}
	json_object_put(o);
	json_tokener_free(tk);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned plan, db;
	fuzz_cgi c;
	handler_result h;
	char *authz = NULL;
	const char *tok, *given, *body;
	long long now;

	if (size < 2 || fuzz_cgi_read(data + 2, size - 2, &c) != 0)
		return 0;
	plan = data[0];
	db = data[1];
	tok = tokens[plan >> 6];
	given = c.value[6] ? c.value[6] : "";
	if ((plan & 3) == 1 || (plan & 3) == 2) {
		authz = malloc(7 + strlen(tok) + strlen(given) + 1);
		FUZZ_CHECK(authz != NULL);
		sprintf(authz, "Bearer %s%s", tok, (plan & 3) == 2 ? given : "");
		c.value[6] = authz;
	}
	app.auth.cache = plan & 4 ? NULL : cache;
	app.auth.policy.issuers = issuers;
	app.auth.policy.nissuers = plan & 8 ? 1 : 0;
	app.auth.policy.parties = parties;
	app.auth.policy.nparties = plan & 8 ? 1 : 0;
	now = clocks[plan >> 4 & 3];
	db_stub.summary = summaries[db >> 4];
	db_stub.summary_st = answers[db & 7];
	db_stub.ping_st = db & 8 ? ST_SERVICE_UNAVAILABLE : ST_OK;
	db_stub.summary_calls = db_stub.ping_calls = 0;

	handler_run(&app, fuzz_cgi_get, &c, now, FRESH_ID, &h);

	FUZZ_CHECK(req_request_id_ok(h.meta.request_id));
	FUZZ_CHECK(h.status == ST_OK || h.reason != NULL);
	body = check_head(&h);
	if (h.req.method != REQ_HEAD)
		check_body(&h, body);
	if (h.req.method == REQ_OTHER)
		FUZZ_CHECK(h.status == ST_METHOD_NOT_ALLOWED && !db_stub.summary_calls);
	FUZZ_CHECK(db_stub.summary_calls + db_stub.ping_calls <= 1);
	if (db_stub.summary_calls)
		FUZZ_CHECK(h.status == db_stub.summary_st);
	else if (h.status == ST_OK)
		FUZZ_CHECK(h.health && db_stub.ping_calls);
	/* The token signed here passes every check while its times hold. */
	if ((plan & 3) == 1 && now == NOW && h.req.method != REQ_OTHER &&
	    !h.health && req_route(&h.req) == ST_OK)
		FUZZ_CHECK(h.status != ST_UNAUTHORIZED && h.status != ST_INVALID_TOKEN);
	free(authz);
	fuzz_cgi_free(&c);
	return 0;
}
