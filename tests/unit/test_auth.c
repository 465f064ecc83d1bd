/* test_auth.c: the Bearer header, the token's shape, the JWT header and
 * claims checks (fcgi/auth.h), and auth_jwt() end to end with keys made
 * here, including the attacks libjwt 1.10 lets through by itself
 * (NOTES-libjwt.md). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth.h"
#include "keys.h"
#include "unit.h"

#define NOW 1700000000LL

static const auth_policy open_policy = { NULL, 0, NULL, 0, 5 };

static const char *const issuers[] = { "https://clerk.example.com",
    "https://accounts.example.org" };
static const char *const parties[] = { "https://app.example.com",
    "http://localhost:3000" };

/* ---- Authorization: Bearer ----------------------------------------- */

static st_status
bearer_caller(const char *h, auth_caller *c, const char **tok, size_t *len)
{
	const char *reason = NULL;
	st_status st;

	memset(c, 0, sizeof(*c));
	st = auth_bearer(h, c, tok, len, &reason);
	if (st != ST_OK)
		ck_assert_ptr_nonnull(reason);
	return st;
}

static st_status
bearer(const char *h, const char **tok, size_t *len)
{
	auth_caller c;

	return bearer_caller(h, &c, tok, len);
}

/* The header h (NULL: none) gives status want; the token is not looked at. */
static void
bearer_is(const char *h, st_status want)
{
	const char *tok;
	size_t len;
	st_status st = bearer(h, &tok, &len);

	ck_assert_msg(st == want, "Authorization \"%s\": status %d, want %d",
	    h ? h : "(none)", (int)st, (int)want);
}

START_TEST(test_bearer_missing_header_is_unauthorized)
{
	bearer_is(NULL, ST_UNAUTHORIZED);
	bearer_is("", ST_UNAUTHORIZED);
}
END_TEST

START_TEST(test_bearer_basic_is_unauthorized)
{
	bearer_is("Basic dXNlcjpwYXNz", ST_UNAUTHORIZED);
	bearer_is("Token abc.def.ghi", ST_UNAUTHORIZED);
	bearer_is("Bearerabc.def.ghi", ST_UNAUTHORIZED);
	bearer_is("Bearer\tabc.def.ghi", ST_UNAUTHORIZED);
	bearer_is(" Bearer abc.def.ghi", ST_UNAUTHORIZED);
}
END_TEST

START_TEST(test_bearer_without_token_is_unauthorized)
{
	bearer_is("Bearer", ST_UNAUTHORIZED);
	bearer_is("Bearer ", ST_UNAUTHORIZED);
}
END_TEST

START_TEST(test_bearer_scheme_is_case_insensitive)
{
	static const char *const forms[] = { "Bearer abc.def.ghi",
	    "bearer abc.def.ghi", "BEARER abc.def.ghi", "bEaReR abc.def.ghi" };
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		const char *tok = NULL;
		size_t len = 0;

		ck_assert_int_eq(bearer(forms[i], &tok, &len), ST_OK);
		ck_assert_ptr_eq(tok, forms[i] + 7);
		ck_assert_uint_eq(len, 11);
		ck_assert_str_eq(tok, "abc.def.ghi");
	}
}
END_TEST

START_TEST(test_bearer_second_space_belongs_to_token)
{
	const char *tok = NULL;
	size_t len = 0;

	ck_assert_int_eq(bearer("Bearer  abc.def.ghi", &tok, &len), ST_OK);
	ck_assert_uint_eq(len, 12);
	ck_assert_int_eq(auth_token_shape_ok(tok, len), 0);
}
END_TEST

/* auth_bearer of h gives status want; the caller it made is in *c. */
static void
bearer_gives(const char *h, st_status want, auth_caller *c)
{
	const char *tok;
	size_t len;

	ck_assert_msg(bearer_caller(h, c, &tok, &len) == want,
	    "Authorization \"%s\": not status %d", h, (int)want);
}

START_TEST(test_bearer_jwt_is_a_jwt_caller)
{
	auth_caller c;

	bearer_gives("Bearer abc.def.ghi", ST_OK, &c);
	ck_assert_int_eq(c.kind, AUTH_JWT);
	ck_assert_str_eq(c.key_hash, "");
}
END_TEST

START_TEST(test_api_key_is_hashed_for_the_query)
{
	auth_caller c;

	/* printf %s op_live_0123456789abcdefABCDEF0123456789 | sha256sum */
	bearer_gives("Bearer op_live_0123456789abcdefABCDEF0123456789", ST_OK, &c);
	ck_assert_int_eq(c.kind, AUTH_API_KEY);
	ck_assert_str_eq(c.key_hash,
	    "92f55dfd9c5fdaacffa44ecd24b21fe819d669a41f0263e761dcaf0df1b3a830");
	ck_assert_str_eq(c.sub, "");
}
END_TEST

START_TEST(test_api_key_malformed_is_invalid_api_key)
{
	static const char *const bad[] = {
	    "Bearer op_",
	    "Bearer op_live_",
	    "Bearer op_test_0123456789abcdefABCDEF0123456789",
	    "Bearer op_live_0123456789abcdefABCDEF012345678",	/* 31 */
	    "Bearer op_live_0123456789abcdefABCDEF01234567890",	/* 33 */
	    "Bearer op_live_0123456789abcdef-BCDEF0123456789",
	    "Bearer op_live_0123456789abcdef_BCDEF0123456789",
	    "Bearer op_live_0123456789abcdef.BCDEF0123456789",
	    "Bearer op_live_0123456789abcdef BCDEF0123456789",
	    "Bearer op_live_0123456789abcdef\xc3\xa9" "CDEF012345678",
	    "Bearer op_LIVE_0123456789abcdefABCDEF0123456789",
	    "Bearer op_live_0123456789abcdefABCDEF0123456789 ",
	    "Bearer op_x.y.z",
	};
	auth_caller c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bearer_gives(bad[i], ST_INVALID_API_KEY, &c);
}
END_TEST

START_TEST(test_api_key_prefix_is_case_sensitive)
{
	auth_caller c;

	/* not an API key, so a JWT, which auth_jwt then refuses by its shape */
	bearer_gives("Bearer OP_LIVE_0123456789abcdefABCDEF0123456789", ST_OK, &c);
	ck_assert_int_eq(c.kind, AUTH_JWT);
}
END_TEST

/* ---- the token's bytes --------------------------------------------- */

/* auth_token_shape_ok(t) is want. */
static void
shape_is(const char *t, int want)
{
	ck_assert_msg(auth_token_shape_ok(t, strlen(t)) == want,
	    "shape of \"%s\" is not %d", t, want);
}

/* auth_token_shape_ok of n bytes: 'A's with dots at 10 and 20. */
static int
shape_of_n_bytes(size_t n)
{
	char *t = malloc(AUTH_TOKEN_MAX + 1);
	int ok;

	ck_assert_ptr_nonnull(t);
	memset(t, 'A', n);
	t[10] = '.';
	t[20] = '.';
	ok = auth_token_shape_ok(t, n);
	free(t);
	return ok;
}

START_TEST(test_shape_accepts_three_base64url_segments)
{
	shape_is("a.b.c", 1);
	shape_is("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.AZaz09-_", 1);
}
END_TEST

START_TEST(test_shape_refuses_other_dot_counts)
{
	shape_is("", 0);
	shape_is("abc", 0);
	shape_is("a.b", 0);
	shape_is("a.b.c.d", 0);
	shape_is("a.b.c.d.e", 0);
}
END_TEST

START_TEST(test_shape_refuses_empty_segment)
{
	shape_is(".b.c", 0);
	shape_is("a..c", 0);
	shape_is("a.b.", 0);
	shape_is("..", 0);
}
END_TEST

START_TEST(test_shape_refuses_padding)
{
	shape_is("a.b.c==", 0);
	shape_is("a.b.c=", 0);
	shape_is("a==.b.c", 0);
}
END_TEST

START_TEST(test_shape_refuses_non_base64url_characters)
{
	static const char *const bad[] = { "a+.b.c", "a/.b.c", "a.b c.d",
	    "a.b.c ", " a.b.c", "a.b.c\n", "a.b.\xc3\xa9", "a.b.c%3D", "a.b.c\\" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		shape_is(bad[i], 0);
}
END_TEST

START_TEST(test_shape_refuses_nul_inside)
{
	ck_assert_int_eq(auth_token_shape_ok("a.b\0.c", 6), 0);
}
END_TEST

START_TEST(test_shape_accepts_8192_bytes)
{
	ck_assert_int_eq(shape_of_n_bytes(AUTH_TOKEN_MAX), 1);
}
END_TEST

START_TEST(test_shape_refuses_more_than_8192_bytes)
{
	ck_assert_int_eq(shape_of_n_bytes(AUTH_TOKEN_MAX + 1), 0);
}
END_TEST

/* ---- the JOSE header ----------------------------------------------- */

/* auth_check_header of the JSON gives status want (and a reason if not OK). */
static void
header_is(const char *json, st_status want)
{
	json_object *o = json_tokener_parse(json);
	const char *reason = NULL;
	st_status st;

	ck_assert_msg(o != NULL, "test JSON does not parse: %s", json);
	st = auth_check_header(o, &reason);
	json_object_put(o);
	if (st != ST_OK)
		ck_assert_ptr_nonnull(reason);
	ck_assert_msg(st == want, "header %s: status %d, want %d", json, (int)st,
	    (int)want);
}

START_TEST(test_jwt_header_accepts_rs256)
{
	header_is("{\"alg\":\"RS256\"}", ST_OK);
	header_is("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"ins_2abc\"}", ST_OK);
}
END_TEST

START_TEST(test_jwt_header_refuses_none)
{
	header_is("{\"alg\":\"none\"}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"None\",\"typ\":\"JWT\"}", ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_jwt_header_refuses_hs256)
{
	header_is("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_jwt_header_refuses_lowercase_rs256)
{
	header_is("{\"alg\":\"rs256\"}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"Rs256\"}", ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_jwt_header_refuses_rs384_and_others)
{
	static const char *const algs[] = { "RS384", "RS512", "PS256", "ES256",
	    "HS384", "EdDSA", "RS256 ", " RS256", "RS2560", "RS25", "" };
	char json[64];
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(json, sizeof(json), "{\"alg\":\"%s\"}", algs[i]);
		header_is(json, ST_INVALID_TOKEN);
	}
}
END_TEST

START_TEST(test_jwt_header_refuses_rs256_with_nul_suffix)
{
	header_is("{\"alg\":\"RS256\\u0000\"}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\\u0000HS256\"}", ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_jwt_header_refuses_missing_alg)
{
	header_is("{}", ST_INVALID_TOKEN);
	header_is("{\"typ\":\"JWT\"}", ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_jwt_header_refuses_non_string_alg)
{
	header_is("{\"alg\":null}", ST_INVALID_TOKEN);
	header_is("{\"alg\":256}", ST_INVALID_TOKEN);
	header_is("{\"alg\":[\"RS256\"]}", ST_INVALID_TOKEN);
	header_is("{\"alg\":{\"RS256\":1}}", ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_jwt_header_typ_when_present_is_jwt)
{
	header_is("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", ST_OK);
	header_is("{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\",\"typ\":\"JWS\"}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\",\"typ\":\"jwt\"}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\",\"typ\":\"JWT\\u0000\"}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\",\"typ\":null}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\",\"typ\":1}", ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_jwt_header_refuses_any_crit)
{
	header_is("{\"alg\":\"RS256\",\"crit\":[\"exp\"]}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\",\"crit\":[]}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\",\"crit\":null}", ST_INVALID_TOKEN);
	header_is("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"crit\":\"b64\"}", ST_INVALID_TOKEN);
}
END_TEST

/* ---- claims -------------------------------------------------------- */

static st_status
claims_p(const auth_policy *p, long long now, auth_claims *out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static st_status
claims_p(const auth_policy *p, long long now, auth_claims *out, const char *fmt, ...)
{
	char json[2048];
	json_object *o;
	const char *reason = NULL;
	auth_claims scratch;
	st_status st;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	ck_assert_msg(n > 0 && (size_t)n < sizeof(json), "test JSON too long");
	o = json_tokener_parse(json);
	ck_assert_msg(o != NULL, "test JSON does not parse: %s", json);
	st = auth_check_claims(o, p, now, out ? out : &scratch, &reason);
	json_object_put(o);
	if (st != ST_OK)
		ck_assert_ptr_nonnull(reason);
	return st;
}

/* Claims with the default policy at NOW: */
#define claims(...) claims_p(&open_policy, NOW, NULL, __VA_ARGS__)

/* {"sub":"u","exp":exp} under p at NOW. */
static st_status
claims_exp(const auth_policy *p, long long exp)
{
	return claims_p(p, NOW, NULL, "{\"sub\":\"u\",\"exp\":%lld}", exp);
}

/* {"sub":"u","exp":NOW+60} with the members more (",\"k\":v...") under p. */
static st_status
claims_with(const auth_policy *p, const char *more)
{
	return claims_p(p, NOW, NULL, "{\"sub\":\"u\",\"exp\":%lld%s}", NOW + 60, more);
}

/* {"sub":"u","exp":NOW+60,"<name>":v} with the default policy. */
static st_status
claims_time(const char *name, long long v)
{
	return claims("{\"sub\":\"u\",\"exp\":%lld,\"%s\":%lld}", NOW + 60, name, v);
}

/* Neither end of int64 overflows the time claim name: INT64_MIN is long
 * past, INT64_MAX far in the future. */
static void
time_claim_extremes(const char *name)
{
	ck_assert_int_eq(claims_time(name, (long long)INT64_MIN), ST_OK);
	ck_assert_int_eq(claims_time(name, (long long)INT64_MAX), ST_INVALID_TOKEN);
}

START_TEST(test_claims_accept_clerk_session)
{
	auth_claims c;

	memset(&c, 'x', sizeof(c));
	ck_assert_int_eq(claims_p(&open_policy, NOW, &c,
	    "{\"azp\":\"https://app.example.com\",\"exp\":%lld,\"iat\":%lld,"
	    "\"iss\":\"https://clerk.example.com\",\"nbf\":%lld,"
	    "\"sid\":\"sess_2abc\",\"sub\":\"user_2abcDEF\",\"v\":2,"
	    "\"fva\":[0,-1],\"sts\":\"active\"}", NOW + 60, NOW, NOW - 5), ST_OK);
	ck_assert_str_eq(c.sub, "user_2abcDEF");
}
END_TEST

START_TEST(test_claims_exp_is_required)
{
	ck_assert_int_eq(claims("{\"sub\":\"u\"}"), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_exp_must_be_integer)
{
	ck_assert_int_eq(claims("{\"sub\":\"u\",\"exp\":1.7e9}"), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":\"u\",\"exp\":1700000060.0}"), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":\"u\",\"exp\":\"123\"}"), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":\"u\",\"exp\":\"%lld\"}", NOW + 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":\"u\",\"exp\":true}"), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":\"u\",\"exp\":null}"), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":\"u\",\"exp\":[%lld]}", NOW + 60), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_exp_refused_at_exp_plus_leeway)
{
	/* now >= exp + leeway: exp = now - 5 with leeway 5. */
	ck_assert_int_eq(claims_exp(&open_policy, NOW - 5), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_exp(&open_policy, NOW - 3600), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_exp_accepted_one_second_before_exp_plus_leeway)
{
	ck_assert_int_eq(claims_exp(&open_policy, NOW - 4), ST_OK);
	ck_assert_int_eq(claims_exp(&open_policy, NOW), ST_OK);
}
END_TEST

START_TEST(test_claims_exp_with_zero_leeway)
{
	const auth_policy p = { NULL, 0, NULL, 0, 0 };

	ck_assert_int_eq(claims_exp(&p, NOW), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_exp(&p, NOW + 1), ST_OK);
}
END_TEST

START_TEST(test_claims_exp_extremes_do_not_overflow)
{
	ck_assert_int_eq(claims_exp(&open_policy, (long long)INT64_MIN), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_exp(&open_policy, (long long)INT64_MAX), ST_OK);
}
END_TEST

START_TEST(test_claims_nbf_later_than_now_plus_leeway_refused)
{
	ck_assert_int_eq(claims_time("nbf", NOW + 6), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_nbf_at_now_plus_leeway_accepted)
{
	ck_assert_int_eq(claims_time("nbf", NOW + 5), ST_OK);
}
END_TEST

START_TEST(test_claims_nbf_must_be_integer)
{
	ck_assert_int_eq(claims_with(&open_policy, ",\"nbf\":\"0\""), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&open_policy, ",\"nbf\":1.5"), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&open_policy, ",\"nbf\":null"), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_nbf_extremes_do_not_overflow)
{
	time_claim_extremes("nbf");
}
END_TEST

START_TEST(test_claims_iat_later_than_now_plus_leeway_refused)
{
	ck_assert_int_eq(claims_time("iat", NOW + 6), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_iat_at_now_plus_leeway_accepted)
{
	ck_assert_int_eq(claims_time("iat", NOW + 5), ST_OK);
}
END_TEST

START_TEST(test_claims_iat_must_be_integer)
{
	ck_assert_int_eq(claims("{\"sub\":\"u\",\"exp\":%lld,\"iat\":\"%lld\"}",
	    NOW + 60, NOW), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&open_policy, ",\"iat\":1.7e9"), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_iat_extremes_do_not_overflow)
{
	time_claim_extremes("iat");
}
END_TEST

START_TEST(test_claims_leeway_is_the_policys)
{
	const auth_policy p = { NULL, 0, NULL, 0, 60 };

	ck_assert_int_eq(claims_p(&p, NOW, NULL,
	    "{\"sub\":\"u\",\"exp\":%lld,\"nbf\":%lld}", NOW - 59, NOW + 60), ST_OK);
	ck_assert_int_eq(claims_exp(&p, NOW - 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_p(&p, NOW, NULL,
	    "{\"sub\":\"u\",\"exp\":%lld,\"iat\":%lld}", NOW + 600, NOW + 61),
	    ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_iss_any_when_no_list)
{
	ck_assert_int_eq(claims_exp(&open_policy, NOW + 60), ST_OK);
	ck_assert_int_eq(claims_with(&open_policy, ",\"iss\":\"https://evil\""), ST_OK);
}
END_TEST

START_TEST(test_claims_iss_must_be_in_list)
{
	const auth_policy p = { issuers, 2, NULL, 0, 5 };

	ck_assert_int_eq(claims_with(&p, ",\"iss\":\"https://clerk.example.com\""), ST_OK);
	ck_assert_int_eq(claims_with(&p, ",\"iss\":\"https://accounts.example.org\""), ST_OK);
	ck_assert_int_eq(claims_with(&p, ",\"iss\":\"https://evil.example.com\""),
	    ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_iss_match_is_exact)
{
	const auth_policy p = { issuers, 2, NULL, 0, 5 };
	static const char *const near[] = { "https://clerk.example.com/",
	    "https://clerk.example.co", "https://clerk.example.com.evil",
	    "HTTPS://CLERK.EXAMPLE.COM", "", "https://clerk.example.com\\u0000x" };
	size_t i;

	for (i = 0; i < sizeof(near) / sizeof(near[0]); i++)
		ck_assert_msg(claims_p(&p, NOW, NULL, "{\"sub\":\"u\",\"exp\":%lld,"
		    "\"iss\":\"%s\"}", NOW + 60, near[i]) == ST_INVALID_TOKEN,
		    "accepted iss %s", near[i]);
}
END_TEST

START_TEST(test_claims_iss_required_when_list)
{
	const auth_policy p = { issuers, 2, NULL, 0, 5 };

	ck_assert_int_eq(claims_exp(&p, NOW + 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&p, ",\"iss\":null"), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&p, ",\"iss\":[\"https://clerk.example.com\"]"),
	    ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_azp_optional_when_no_list)
{
	ck_assert_int_eq(claims_exp(&open_policy, NOW + 60), ST_OK);
	ck_assert_int_eq(claims_with(&open_policy, ",\"azp\":\"https://x\""), ST_OK);
}
END_TEST

START_TEST(test_claims_azp_required_and_in_list_when_list)
{
	const auth_policy p = { NULL, 0, parties, 2, 5 };

	ck_assert_int_eq(claims_exp(&p, NOW + 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&p, ",\"azp\":\"https://evil.example.com\""),
	    ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&p, ",\"azp\":\"https://app.example.com/\""),
	    ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&p, ",\"azp\":1"), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims_with(&p, ",\"azp\":\"http://localhost:3000\""), ST_OK);
	ck_assert_int_eq(claims_with(&p, ",\"azp\":\"https://app.example.com\""), ST_OK);
}
END_TEST

START_TEST(test_claims_sub_is_copied)
{
	auth_claims c;

	ck_assert_int_eq(claims_p(&open_policy, NOW, &c,
	    "{\"sub\":\"user_2NNEqL2nrIRdJ194ndJqAHwEfxC\",\"exp\":%lld}", NOW + 60), ST_OK);
	ck_assert_str_eq(c.sub, "user_2NNEqL2nrIRdJ194ndJqAHwEfxC");
}
END_TEST

START_TEST(test_claims_sub_is_required)
{
	ck_assert_int_eq(claims("{\"exp\":%lld}", NOW + 60), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_sub_must_be_non_empty_string)
{
	ck_assert_int_eq(claims("{\"sub\":\"\",\"exp\":%lld}", NOW + 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":null,\"exp\":%lld}", NOW + 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":42,\"exp\":%lld}", NOW + 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":[\"u\"],\"exp\":%lld}", NOW + 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":{},\"exp\":%lld}", NOW + 60), ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":true,\"exp\":%lld}", NOW + 60), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_sub_refuses_nul_inside)
{
	ck_assert_int_eq(claims("{\"sub\":\"user_1\\u0000admin\",\"exp\":%lld}", NOW + 60),
	    ST_INVALID_TOKEN);
	ck_assert_int_eq(claims("{\"sub\":\"\\u0000\",\"exp\":%lld}", NOW + 60),
	    ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_sub_refuses_invalid_utf8)
{
	static const char *const bad[] = {
		"user_\xff", "user_\xc3", "user_\xc3(", "\xc0\xaf", "\xe0\x80\xaf",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
		"\xe2\x82", "\x80", "\xf0\x9f\x98",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(claims("{\"sub\":\"%s\",\"exp\":%lld}", bad[i], NOW + 60)
		    == ST_INVALID_TOKEN, "accepted bad UTF-8 #%zu", i);
}
END_TEST

START_TEST(test_claims_sub_accepts_utf8)
{
	auth_claims c;

	ck_assert_int_eq(claims_p(&open_policy, NOW, &c,
	    "{\"sub\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\u00e9\",\"exp\":%lld}",
	    NOW + 60), ST_OK);
	ck_assert_str_eq(c.sub, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc3\xa9");
}
END_TEST

START_TEST(test_claims_sub_of_256_bytes_accepted)
{
	char sub[AUTH_SUB_MAX + 1];
	auth_claims c;

	memset(sub, 's', AUTH_SUB_MAX);
	sub[AUTH_SUB_MAX] = '\0';
	ck_assert_int_eq(claims_p(&open_policy, NOW, &c,
	    "{\"sub\":\"%s\",\"exp\":%lld}", sub, NOW + 60), ST_OK);
	ck_assert_str_eq(c.sub, sub);
}
END_TEST

START_TEST(test_claims_sub_longer_than_256_bytes_refused)
{
	char sub[AUTH_SUB_MAX + 2];

	memset(sub, 's', AUTH_SUB_MAX + 1);
	sub[AUTH_SUB_MAX + 1] = '\0';
	ck_assert_int_eq(claims("{\"sub\":\"%s\",\"exp\":%lld}", sub, NOW + 60),
	    ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_sts_pending_refused)
{
	ck_assert_int_eq(claims_with(&open_policy, ",\"sts\":\"pending\""), ST_INVALID_TOKEN);
}
END_TEST

START_TEST(test_claims_other_sts_accepted)
{
	ck_assert_int_eq(claims_with(&open_policy, ",\"sts\":\"active\""), ST_OK);
	ck_assert_int_eq(claims_with(&open_policy, ",\"sts\":\"\""), ST_OK);
	ck_assert_int_eq(claims_with(&open_policy, ",\"sts\":null"), ST_OK);
}
END_TEST

/* ---- auth_jwt end to end ------------------------------------------- */

static EVP_PKEY *key_a, *key_b;	/* key_a's public half is the loaded key */
static keys_set keys;
static char *pub_pem;		/* key_a's public PEM, the HMAC secret of the attack */
static size_t pub_pem_len;

static void
jwt_setup(void)
{
	char err[256];
	BIO *bio;
	char *p;
	long n;

	key_a = EVP_RSA_gen(2048);
	key_b = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(key_a);
	ck_assert_ptr_nonnull(key_b);
	bio = BIO_new(BIO_s_mem());
	ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, key_a), 1);
	n = BIO_get_mem_data(bio, &p);
	ck_assert_int_gt(n, 0);
	pub_pem = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(pub_pem);
	memcpy(pub_pem, p, (size_t)n);
	pub_pem[n] = '\0';
	pub_pem_len = (size_t)n;
	BIO_free(bio);
	ck_assert_msg(keys_load(&(keys_sources){ pub_pem, NULL, NULL }, &keys, NULL,
	    err, sizeof(err)) == 0, "%s", err);
}

static void
jwt_teardown(void)
{
	keys_free(&keys);
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	free(pub_pem);
	key_a = key_b = NULL;
	pub_pem = NULL;
}

/* base64url without padding, appended at out[*o]. */
static void
b64url_append(char *out, size_t cap, size_t *o, const void *in, size_t n)
{
	unsigned char *tmp = malloc(4 * ((n + 2) / 3) + 1);
	int len, i;

	ck_assert_ptr_nonnull(tmp);
	len = EVP_EncodeBlock(tmp, in, (int)n);
	for (i = 0; i < len && tmp[i] != '='; i++) {
		ck_assert_uint_lt(*o + 1, cap);
		out[(*o)++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
	}
	out[*o] = '\0';
	free(tmp);
}

enum sign_kind { SIGN_RS256, SIGN_RS384, SIGN_HS256_PEM, SIGN_JUNK };

/* header.payload.signature into a malloc'd string. */
static char *
mint(const char *hdr, const char *payload, enum sign_kind kind, EVP_PKEY *key)
{
	size_t cap = 4 * (strlen(hdr) + strlen(payload)) / 3 + 1024, o = 0, sl = 0;
	char *tok = malloc(cap);
	unsigned char sig[1024];

	ck_assert_ptr_nonnull(tok);
	b64url_append(tok, cap, &o, hdr, strlen(hdr));
	tok[o++] = '.';
	b64url_append(tok, cap, &o, payload, strlen(payload));
	if (kind == SIGN_RS256 || kind == SIGN_RS384) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();

		sl = sizeof(sig);
		ck_assert_ptr_nonnull(ctx);
		ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, kind == SIGN_RS256 ?
		    EVP_sha256() : EVP_sha384(), NULL, key), 1);
		ck_assert_int_eq(EVP_DigestSign(ctx, sig, &sl,
		    (const unsigned char *)tok, o), 1);
		EVP_MD_CTX_free(ctx);
	} else if (kind == SIGN_HS256_PEM) {
		unsigned int hl = 0;

		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), pub_pem, (int)pub_pem_len,
		    (const unsigned char *)tok, o, sig, &hl));
		sl = hl;
	} else {
		memset(sig, 0x5a, 64);
		sl = 64;
	}
	tok[o++] = '.';
	b64url_append(tok, cap, &o, sig, sl);
	return tok;
}

static char *
valid_claims(char *buf, size_t cap)
{
	snprintf(buf, cap, "{\"azp\":\"https://app.example.com\",\"exp\":%lld,"
	    "\"iat\":%lld,\"iss\":\"https://clerk.example.com\",\"nbf\":%lld,"
	    "\"sid\":\"sess_1\",\"sub\":\"user_2abc\"}", NOW + 60, NOW - 5, NOW - 5);
	return buf;
}

/* mint() of hdr over the valid claims. */
static char *
mint_valid(const char *hdr, enum sign_kind kind, EVP_PKEY *key)
{
	char cl[512];

	return mint(hdr, valid_claims(cl, sizeof(cl)), kind, key);
}

#define RS256_HDR "{\"alg\":\"RS256\",\"kid\":\"ins_2abc\",\"typ\":\"JWT\"}"

static st_status
jwt_check(const keys_set *k, const char *tok, const char **reason, auth_caller *c)
{
	auth_verifier v = { *k, { issuers, 2, parties, 2, 5 }, NULL, NULL };

	*reason = NULL;
	return auth_jwt(&v, tok, strlen(tok), NOW, c, reason);
}

/* jwt_check of tok against k gives status want, and reason unless NULL. */
static void
jwt_is(const keys_set *k, const char *tok, st_status want, const char *reason)
{
	const char *got;
	auth_caller c;
	st_status st = jwt_check(k, tok, &got, &c);

	ck_assert_msg(st == want, "status %d (%s), want %d", (int)st,
	    got ? got : "no reason", (int)want);
	if (reason != NULL)
		ck_assert_str_eq(got, reason);
}

/* A token of hdr and payload (NULL: the valid claims), signed as kind with
 * key, is refused by the loaded key as invalid, for reason unless NULL. */
static void
minted_refused(const char *hdr, const char *payload, enum sign_kind kind,
    EVP_PKEY *key, const char *reason)
{
	char cl[512];
	char *tok = mint(hdr, payload ? payload : valid_claims(cl, sizeof(cl)), kind, key);
	const char *got;
	auth_caller c;
	st_status st = jwt_check(&keys, tok, &got, &c);

	ck_assert_msg(st == ST_INVALID_TOKEN, "header %s, payload %s: status %d",
	    hdr, payload ? payload : "(the valid claims)", (int)st);
	if (reason != NULL)
		ck_assert_str_eq(got, reason);
	free(tok);
}

START_TEST(test_jwt_accepts_valid_rs256_token)
{
	char *tok = mint_valid(RS256_HDR, SIGN_RS256, key_a);
	const char *reason;
	auth_caller c;

	ck_assert_int_eq(jwt_check(&keys, tok, &reason, &c), ST_OK);
	ck_assert_str_eq(c.sub, "user_2abc");
	free(tok);
}
END_TEST

START_TEST(test_jwt_accepts_header_without_kid_or_typ)
{
	char *tok = mint_valid("{\"alg\":\"RS256\"}", SIGN_RS256, key_a);

	jwt_is(&keys, tok, ST_OK, NULL);
	free(tok);
}
END_TEST

START_TEST(test_jwt_single_pem_ignores_kid_of_any_shape)
{
	static const char *const hdrs[] = {
	    "{\"alg\":\"RS256\",\"kid\":\"\"}",
	    "{\"alg\":\"RS256\",\"kid\":42}",
	    "{\"alg\":\"RS256\",\"kid\":null}",
	    "{\"alg\":\"RS256\",\"kid\":[\"ins_2abc\"]}",
	    "{\"alg\":\"RS256\",\"kid\":\"ins_not_ours\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		char *tok = mint_valid(hdrs[i], SIGN_RS256, key_a);

		jwt_is(&keys, tok, ST_OK, NULL);
		free(tok);
	}
}
END_TEST

START_TEST(test_header_kid_only_as_a_string_of_1_to_256_bytes)
{
	static const struct {
		const char *json;
		const char *kid;
	} cases[] = {
		{ "{\"kid\":\"ins_2abc\"}", "ins_2abc" },
		{ "{}", NULL },
		{ "{\"kid\":\"\"}", NULL },
		{ "{\"kid\":7}", NULL },
		{ "{\"kid\":{\"a\":1}}", NULL },
	};
	char big[300];
	json_object *o;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kid;

		o = json_tokener_parse(cases[i].json);
		ck_assert_ptr_nonnull(o);
		len = 0;
		kid = auth_header_kid(o, &len);
		if (cases[i].kid == NULL)
			ck_assert_msg(kid == NULL, "kid from %s", cases[i].json);
		else {
			ck_assert_str_eq(kid, cases[i].kid);
			ck_assert_uint_eq(len, strlen(cases[i].kid));
		}
		json_object_put(o);
	}
	snprintf(big, sizeof(big), "{\"kid\":\"%0257d\"}", 0);
	o = json_tokener_parse(big);
	ck_assert_ptr_null(auth_header_kid(o, &len));
	json_object_put(o);
}
END_TEST

START_TEST(test_jwt_refuses_tampered_signature)
{
	char *tok = mint_valid(RS256_HDR, SIGN_RS256, key_a);
	size_t n = strlen(tok);

	tok[n - 5] = tok[n - 5] == 'A' ? 'B' : 'A';
	jwt_is(&keys, tok, ST_INVALID_TOKEN, "signature does not verify");
	free(tok);
}
END_TEST

START_TEST(test_jwt_refuses_tampered_payload)
{
	char cl[512];
	char *good = mint(RS256_HDR, valid_claims(cl, sizeof(cl)), SIGN_RS256, key_a);
	char *evil, *tok;
	const char *sig = strrchr(good, '.');
	size_t n;

	/* the same claims for another sub, with the first token's signature */
	valid_claims(cl, sizeof(cl));
	memcpy(strstr(cl, "user_2abc"), "user_2abd", 9);
	evil = mint(RS256_HDR, cl, SIGN_RS256, key_a);
	n = (size_t)(strrchr(evil, '.') - evil);
	tok = malloc(n + strlen(sig) + 1);
	ck_assert_ptr_nonnull(tok);
	memcpy(tok, evil, n);
	memcpy(tok + n, sig, strlen(sig) + 1);
	jwt_is(&keys, tok, ST_INVALID_TOKEN, "signature does not verify");
	free(good);
	free(evil);
	free(tok);
}
END_TEST

START_TEST(test_jwt_refuses_token_signed_by_another_key)
{
	minted_refused(RS256_HDR, NULL, SIGN_RS256, key_b, "signature does not verify");
}
END_TEST

START_TEST(test_jwt_refuses_hs256_signed_with_public_pem)
{
	minted_refused("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", NULL, SIGN_HS256_PEM, NULL,
	    "header alg is not exactly RS256");
}
END_TEST

START_TEST(test_jwt_refuses_rs384_signed_token)
{
	minted_refused("{\"alg\":\"RS384\",\"typ\":\"JWT\"}", NULL, SIGN_RS384, key_a,
	    "header alg is not exactly RS256");
}
END_TEST

START_TEST(test_jwt_refuses_lowercase_rs256_header)
{
	minted_refused("{\"alg\":\"rs256\"}", NULL, SIGN_RS256, key_a,
	    "header alg is not exactly RS256");
}
END_TEST

START_TEST(test_jwt_refuses_alg_none)
{
	char *tok = mint_valid("{\"alg\":\"none\"}", SIGN_JUNK, NULL);

	jwt_is(&keys, tok, ST_INVALID_TOKEN, "header alg is not exactly RS256");
	*strrchr(tok, '.') = '\0';
	jwt_is(&keys, tok, ST_INVALID_TOKEN, NULL);
	free(tok);
}
END_TEST

START_TEST(test_jwt_refuses_alg_none_with_empty_signature)
{
	char *tok = mint_valid("{\"alg\":\"none\"}", SIGN_JUNK, NULL);

	strrchr(tok, '.')[1] = '\0';	/* "header.payload." */
	jwt_is(&keys, tok, ST_INVALID_TOKEN, "token is not three base64url segments");
	free(tok);
}
END_TEST

START_TEST(test_jwt_refuses_padded_signature)
{
	char *tok = mint_valid(RS256_HDR, SIGN_RS256, key_a);
	size_t n = strlen(tok);
	char *padded = malloc(n + 3);

	ck_assert_ptr_nonnull(padded);
	memcpy(padded, tok, n);
	memcpy(padded + n, "==", 3);
	jwt_is(&keys, tok, ST_OK, NULL);
	jwt_is(&keys, padded, ST_INVALID_TOKEN, "token is not three base64url segments");
	free(tok);
	free(padded);
}
END_TEST

START_TEST(test_jwt_refuses_token_longer_than_8k)
{
	char *cl = malloc(9000), *tok;
	int n;

	ck_assert_ptr_nonnull(cl);
	n = snprintf(cl, 9000, "{\"sub\":\"u\",\"exp\":%lld,\"iss\":"
	    "\"https://clerk.example.com\",\"azp\":\"https://app.example.com\","
	    "\"pad\":\"", NOW + 60);
	memset(cl + n, 'p', 7000);
	memcpy(cl + n + 7000, "\"}", 3);
	tok = mint(RS256_HDR, cl, SIGN_RS256, key_a);
	ck_assert_uint_gt(strlen(tok), AUTH_TOKEN_MAX);
	jwt_is(&keys, tok, ST_INVALID_TOKEN, "token longer than 8 KiB");
	free(cl);
	free(tok);
}
END_TEST

START_TEST(test_jwt_refuses_header_not_json_object)
{
	static const char *const hdrs[] = { "{\"alg\":\"RS256\"}x",
	    "[\"RS256\"]", "\"RS256\"", "{\"alg\":\"RS256\"", "not json" };
	size_t i;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		minted_refused(hdrs[i], NULL, SIGN_RS256, key_a,
		    "header is not a base64url JSON object");
}
END_TEST

START_TEST(test_jwt_refuses_payload_not_json_object)
{
	static const char *const payloads[] = { "[1]", "\"user\"", "{\"sub\":\"u\"",
	    "{\"sub\":\"u\",\"exp\":1800000000}garbage" };
	size_t i;

	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
		minted_refused(RS256_HDR, payloads[i], SIGN_RS256, key_a, NULL);
}
END_TEST

START_TEST(test_jwt_refuses_crit_header_even_when_signed)
{
	minted_refused("{\"alg\":\"RS256\",\"crit\":[\"x\"],\"x\":1}", NULL,
	    SIGN_RS256, key_a, "header has crit");
}
END_TEST

START_TEST(test_jwt_checks_claims_after_signature)
{
	char cl[512];

	snprintf(cl, sizeof(cl), "{\"azp\":\"https://app.example.com\",\"exp\":%lld,"
	    "\"iss\":\"https://clerk.example.com\",\"sub\":\"user_2abc\"}", NOW - 5);
	minted_refused(RS256_HDR, cl, SIGN_RS256, key_a, "token expired");
	snprintf(cl, sizeof(cl), "{\"azp\":\"https://app.example.com\",\"exp\":%lld,"
	    "\"iss\":\"https://evil.example.com\",\"sub\":\"user_2abc\"}", NOW + 60);
	minted_refused(RS256_HDR, cl, SIGN_RS256, key_a, "iss not allowed");
}
END_TEST

START_TEST(test_jwt_without_key_never_accepts)
{
	const keys_set none = { { NULL, NULL, 0 }, NULL, 0 };
	char *tok = mint_valid(RS256_HDR, SIGN_RS256, key_a);

	jwt_is(&none, tok, ST_INVALID_TOKEN, "token's kid is not in the key set");
	free(tok);
}
END_TEST

Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *b = tcase_create("bearer");
	TCase *t = tcase_create("shape");
	TCase *h = tcase_create("header");
	TCase *c = tcase_create("claims");
	TCase *j = tcase_create("jwt");

	tcase_add_test(b, test_bearer_missing_header_is_unauthorized);
	tcase_add_test(b, test_bearer_basic_is_unauthorized);
	tcase_add_test(b, test_bearer_without_token_is_unauthorized);
	tcase_add_test(b, test_bearer_scheme_is_case_insensitive);
	tcase_add_test(b, test_bearer_second_space_belongs_to_token);
	tcase_add_test(b, test_bearer_jwt_is_a_jwt_caller);
	tcase_add_test(b, test_api_key_is_hashed_for_the_query);
	tcase_add_test(b, test_api_key_malformed_is_invalid_api_key);
	tcase_add_test(b, test_api_key_prefix_is_case_sensitive);
	suite_add_tcase(s, b);

	tcase_add_test(t, test_shape_accepts_three_base64url_segments);
	tcase_add_test(t, test_shape_refuses_other_dot_counts);
	tcase_add_test(t, test_shape_refuses_empty_segment);
	tcase_add_test(t, test_shape_refuses_padding);
	tcase_add_test(t, test_shape_refuses_non_base64url_characters);
	tcase_add_test(t, test_shape_refuses_nul_inside);
	tcase_add_test(t, test_shape_accepts_8192_bytes);
	tcase_add_test(t, test_shape_refuses_more_than_8192_bytes);
	suite_add_tcase(s, t);

	tcase_add_test(h, test_jwt_header_accepts_rs256);
	tcase_add_test(h, test_jwt_header_refuses_none);
	tcase_add_test(h, test_jwt_header_refuses_hs256);
	tcase_add_test(h, test_jwt_header_refuses_lowercase_rs256);
	tcase_add_test(h, test_jwt_header_refuses_rs384_and_others);
	tcase_add_test(h, test_jwt_header_refuses_rs256_with_nul_suffix);
	tcase_add_test(h, test_jwt_header_refuses_missing_alg);
	tcase_add_test(h, test_jwt_header_refuses_non_string_alg);
	tcase_add_test(h, test_jwt_header_typ_when_present_is_jwt);
	tcase_add_test(h, test_jwt_header_refuses_any_crit);
	suite_add_tcase(s, h);

	tcase_add_test(c, test_claims_accept_clerk_session);
	tcase_add_test(c, test_claims_exp_is_required);
	tcase_add_test(c, test_claims_exp_must_be_integer);
	tcase_add_test(c, test_claims_exp_refused_at_exp_plus_leeway);
	tcase_add_test(c, test_claims_exp_accepted_one_second_before_exp_plus_leeway);
	tcase_add_test(c, test_claims_exp_with_zero_leeway);
	tcase_add_test(c, test_claims_exp_extremes_do_not_overflow);
	tcase_add_test(c, test_claims_nbf_later_than_now_plus_leeway_refused);
	tcase_add_test(c, test_claims_nbf_at_now_plus_leeway_accepted);
	tcase_add_test(c, test_claims_nbf_must_be_integer);
	tcase_add_test(c, test_claims_nbf_extremes_do_not_overflow);
	tcase_add_test(c, test_claims_iat_later_than_now_plus_leeway_refused);
	tcase_add_test(c, test_claims_iat_at_now_plus_leeway_accepted);
	tcase_add_test(c, test_claims_iat_must_be_integer);
	tcase_add_test(c, test_claims_iat_extremes_do_not_overflow);
	tcase_add_test(c, test_claims_leeway_is_the_policys);
	tcase_add_test(c, test_claims_iss_any_when_no_list);
	tcase_add_test(c, test_claims_iss_must_be_in_list);
	tcase_add_test(c, test_claims_iss_match_is_exact);
	tcase_add_test(c, test_claims_iss_required_when_list);
	tcase_add_test(c, test_claims_azp_optional_when_no_list);
	tcase_add_test(c, test_claims_azp_required_and_in_list_when_list);
	tcase_add_test(c, test_claims_sub_is_copied);
	tcase_add_test(c, test_claims_sub_is_required);
	tcase_add_test(c, test_claims_sub_must_be_non_empty_string);
	tcase_add_test(c, test_claims_sub_refuses_nul_inside);
	tcase_add_test(c, test_claims_sub_refuses_invalid_utf8);
	tcase_add_test(c, test_claims_sub_accepts_utf8);
	tcase_add_test(c, test_claims_sub_of_256_bytes_accepted);
	tcase_add_test(c, test_claims_sub_longer_than_256_bytes_refused);
	tcase_add_test(c, test_claims_sts_pending_refused);
	tcase_add_test(c, test_claims_other_sts_accepted);
	suite_add_tcase(s, c);

	/* Two RSA keys made once for the whole case, before its tests fork. */
	tcase_add_unchecked_fixture(j, jwt_setup, jwt_teardown);
	tcase_set_timeout(j, 30);
	tcase_add_test(j, test_jwt_accepts_valid_rs256_token);
	tcase_add_test(j, test_jwt_accepts_header_without_kid_or_typ);
	tcase_add_test(j, test_jwt_single_pem_ignores_kid_of_any_shape);
	tcase_add_test(h, test_header_kid_only_as_a_string_of_1_to_256_bytes);
	tcase_add_test(j, test_jwt_refuses_tampered_signature);
	tcase_add_test(j, test_jwt_refuses_tampered_payload);
	tcase_add_test(j, test_jwt_refuses_token_signed_by_another_key);
	tcase_add_test(j, test_jwt_refuses_hs256_signed_with_public_pem);
	tcase_add_test(j, test_jwt_refuses_rs384_signed_token);
	tcase_add_test(j, test_jwt_refuses_lowercase_rs256_header);
	tcase_add_test(j, test_jwt_refuses_alg_none);
	tcase_add_test(j, test_jwt_refuses_alg_none_with_empty_signature);
	tcase_add_test(j, test_jwt_refuses_padded_signature);
	tcase_add_test(j, test_jwt_refuses_token_longer_than_8k);
	tcase_add_test(j, test_jwt_refuses_header_not_json_object);
	tcase_add_test(j, test_jwt_refuses_payload_not_json_object);
	tcase_add_test(j, test_jwt_refuses_crit_header_even_when_signed);
	tcase_add_test(j, test_jwt_checks_claims_after_signature);
	tcase_add_test(j, test_jwt_without_key_never_accepts);
	suite_add_tcase(s, j);
	return s;
}
