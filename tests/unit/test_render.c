/* test_render.c: floats, timestamps, the error table and the exact bytes
 * of every response (fcgi/render.h, SPEC.md "200 response" and "Errors"). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "unit.h"

#define RID "a3f47b9e-8c2d-4f1a-9b7e-2d3f5c6a7b8d"
#define TS "2024-01-15T09:30:00Z"
#define META "\"meta\":{\"request_id\":\"" RID "\",\"timestamp\":\"" TS "\"}"

static const render_meta meta = { RID, TS };

/* ---- floats -------------------------------------------------------- */

/* render_double(v) is want, and returns its length. */
static void
dbl_is(double v, const char *want)
{
	char buf[64];
	size_t n = render_double(v, buf, sizeof(buf));

	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_str_eq(buf, want);
}

START_TEST(test_double_shortest_round_trip)
{
	dbl_is(0.75, "0.75");
	dbl_is(245.6, "245.6");
	dbl_is(2.0 / 3.0, "0.6666666666666666");
	dbl_is(0.1, "0.1");
	dbl_is(0.1 + 0.2, "0.30000000000000004");
	dbl_is(1.0 / 3.0, "0.3333333333333333");
}
END_TEST

START_TEST(test_double_integral_values_keep_point_zero)
{
	dbl_is(1.0, "1.0");
	dbl_is(0.0, "0.0");
	dbl_is(100.0, "100.0");
	dbl_is(123456789.0, "123456789.0");
	dbl_is(1e15, "1000000000000000.0");
	dbl_is(9007199254740992.0 / 2, "4503599627370496.0");
}
END_TEST

START_TEST(test_double_exponent_from_1e16)
{
	dbl_is(1e16, "1e+16");
	dbl_is(1.5e16, "1.5e+16");
	dbl_is(1e100, "1e+100");
	dbl_is(9999999999999998.0, "9999999999999998.0");
}
END_TEST

START_TEST(test_double_exponent_below_1e_minus_4)
{
	dbl_is(0.0001, "0.0001");
	dbl_is(0.00012, "0.00012");
	dbl_is(1e-05, "1e-05");
	dbl_is(1.5e-05, "1.5e-05");
	dbl_is(1e-100, "1e-100");
}
END_TEST

START_TEST(test_double_negative_values)
{
	dbl_is(-0.75, "-0.75");
	dbl_is(-1.0, "-1.0");
	dbl_is(-245.6, "-245.6");
	dbl_is(-1e-05, "-1e-05");
	dbl_is(-1e16, "-1e+16");
	dbl_is(-0.0, "-0.0");
}
END_TEST

/* The fewest significant digits that read back as v, found the slow way. */
static int
shortest_digits(double v)
{
	char e[40];
	int prec;

	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	return prec + 1;
}

START_TEST(test_double_is_shortest_for_random_bit_patterns)
{
	unsigned long long x = 0x9e3779b97f4a7c15ULL;
	int i;

	for (i = 0; i < 20000; i++) {
		char buf[48], sig[48];
		size_t n = 0, j;
		double v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* one in four a subnormal: fewer bits, the case apart */
		memcpy(&v, &(unsigned long long){ i % 4 ? x : x & ~0x7ff0000000000000ULL },
		    sizeof(v));
		if (!isfinite(v))
			continue;
		render_double(v, buf, sizeof(buf));
		ck_assert_msg(strtod(buf, NULL) == v, "%s does not read back", buf);
		/* its significant digits: no sign, point, exponent, nor the
		 * leading and trailing zeros of the layout (0.000x, 1.0) */
		for (j = 0; buf[j] != '\0' && buf[j] != 'e'; j++)
			if (buf[j] >= '0' && buf[j] <= '9' && (n > 0 || buf[j] != '0'))
				sig[n++] = buf[j];
		while (n > 1 && sig[n - 1] == '0')
			n--;
		if (v != 0)
			ck_assert_msg((int)n == shortest_digits(v), "%s: %zu digits, %d needed",
			    buf, n, shortest_digits(v));
	}
}
END_TEST

/* render_double(v) has the digits of the nearest decimal with as few
 * significant digits as read back as v: the printf-and-strtod search,
 * digit for digit. */
static void
dbl_is_nearest_shortest(double v)
{
	char buf[48], want[40], got[24];
	size_t n = 0, w = 0, j;
	int prec = shortest_digits(v) - 1;

	snprintf(want, sizeof(want), "%.*e", prec, v);
	render_double(v, buf, sizeof(buf));
	for (j = 0; want[j] != 'e'; j++)
		if (want[j] >= '0' && want[j] <= '9')
			want[w++] = want[j];
	while (w > 1 && want[w - 1] == '0')
		w--;
	for (j = 0; buf[j] != '\0' && buf[j] != 'e'; j++)
		if (buf[j] >= '0' && buf[j] <= '9' && (n > 0 || buf[j] != '0'))
			got[n++] = buf[j];
	while (n > 1 && got[n - 1] == '0')
		n--;
	ck_assert_msg(n == w && memcmp(got, want, n) == 0 && strtod(buf, NULL) == v,
	    "%.17g: rendered %s, want the digits %.*s", v, buf, (int)w, want);
}

/* The range render_double works out with integers (2^-10 to 1e15): pass
 * rates a/b, means, random mantissas at every exponent, and the values
 * next to powers of ten and of two, where the exponent and the half ulp
 * below are the cases apart. */
START_TEST(test_double_integer_path_matches_the_search)
{
	unsigned long long x = 0x2545f4914f6cdd1dULL;
	int i, p;

	for (i = 0; i < 60000; i++) {
		double v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (i % 3) {
		case 0:		/* a pass rate */
			v = (double)(x % 1000000 + 1) / (double)(x % 1000000 + 1 + (x >> 40) % 1000000);
			break;
		case 1:		/* a mean of durations in microseconds */
			v = (double)(x >> 20) / 1e6 / (double)((x & 0xfffff) + 1);
			break;
		default:	/* any mantissa, exponent -10..49 */
			v = ldexp((double)((x >> 11) | (1ULL << 52)), (int)(x % 60) - 62);
		}
		if (v >= 0x1p-10 && v < 1e15)
			dbl_is_nearest_shortest(v);
	}
	for (p = -3; p <= 15; p++) {
		double t = pow(10, p);

		dbl_is_nearest_shortest(nextafter(t, 0));
		if (p < 15)
			dbl_is_nearest_shortest(t);
		dbl_is_nearest_shortest(nextafter(t, INFINITY));
	}
	for (p = -10; p < 49; p++) {
		double t = ldexp(1, p);

		dbl_is_nearest_shortest(t);
		dbl_is_nearest_shortest(nextafter(t, 0));
		dbl_is_nearest_shortest(nextafter(t, INFINITY));
	}
	dbl_is_nearest_shortest(0.7789613848202397);
	dbl_is_nearest_shortest(258.36752136752136);
}
END_TEST

START_TEST(test_double_extremes)
{
	dbl_is(5e-324, "5e-324");
	dbl_is(2.2250738585072014e-308, "2.2250738585072014e-308");
	dbl_is(1.7976931348623157e+308, "1.7976931348623157e+308");
	dbl_is(-1.7976931348623157e+308, "-1.7976931348623157e+308");
}
END_TEST

START_TEST(test_double_non_finite_is_null)
{
	dbl_is(NAN, "null");
	dbl_is(INFINITY, "null");
	dbl_is(-INFINITY, "null");
}
END_TEST

START_TEST(test_double_returns_full_length_like_snprintf)
{
	char small[4];

	ck_assert_uint_eq(render_double(0.6666666666666666, small, sizeof(small)), 18);
	ck_assert_str_eq(small, "0.6");
}
END_TEST

/* ---- timestamps ---------------------------------------------------- */

START_TEST(test_timestamp_is_utc_seconds_with_z)
{
	char out[sizeof("YYYY-MM-DDTHH:MM:SSZ")];

	render_timestamp(1705311000, out);
	ck_assert_str_eq(out, "2024-01-15T09:30:00Z");
	render_timestamp(0, out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
	render_timestamp(951825599, out);
	ck_assert_str_eq(out, "2000-02-29T11:59:59Z");
	render_timestamp(-1, out);
	ck_assert_str_eq(out, "1969-12-31T23:59:59Z");
	render_timestamp(INT64_C(253402300799), out);
	ck_assert_str_eq(out, "9999-12-31T23:59:59Z");
	render_timestamp(INT64_C(-62135596800), out);
	ck_assert_str_eq(out, "0001-01-01T00:00:00Z");
	/* a year of five digits, or before year 1, does not fit the layout */
	render_timestamp(INT64_C(253402300800), out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
	render_timestamp(INT64_C(-62135596801), out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00Z");
}
END_TEST

/* ---- the error table ----------------------------------------------- */

/* Every row of the error table: the status, its HTTP status and code. */
static const struct {
	st_status st;
	int http;
	const char *code;
} table[] = {
	{ ST_OK, 200, NULL },
	{ ST_UNAUTHORIZED, 401, "UNAUTHORIZED" },
	{ ST_INVALID_TOKEN, 401, "INVALID_TOKEN" },
	{ ST_INVALID_API_KEY, 401, "INVALID_API_KEY" },
	{ ST_FORBIDDEN, 403, "FORBIDDEN" },
	{ ST_NOT_FOUND, 404, "NOT_FOUND" },
	{ ST_METHOD_NOT_ALLOWED, 405, "METHOD_NOT_ALLOWED" },
	{ ST_VALIDATION_ERROR, 422, "VALIDATION_ERROR" },
	{ ST_INTERNAL_ERROR, 500, "INTERNAL_ERROR" },
	{ ST_SERVICE_UNAVAILABLE, 503, "SERVICE_UNAVAILABLE" },
};

START_TEST(test_error_table_http_status_of_every_row)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_msg(render_http_status(table[i].st) == table[i].http,
		    "status %d: HTTP %d, want %d", (int)table[i].st,
		    render_http_status(table[i].st), table[i].http);
}
END_TEST

START_TEST(test_error_table_code_of_every_row)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == NULL)
			ck_assert_ptr_null(render_error_code(table[i].st));
		else
			ck_assert_str_eq(render_error_code(table[i].st), table[i].code);
}
END_TEST

START_TEST(test_error_table_unknown_status_is_internal_error)
{
	ck_assert_int_eq(render_http_status(ST_COUNT), 500);
	ck_assert_str_eq(render_error_code(ST_COUNT), "INTERNAL_ERROR");
	ck_assert_int_eq(render_http_status((st_status)-1), 500);
	ck_assert_str_eq(render_error_code((st_status)1000), "INTERNAL_ERROR");
}
END_TEST

/* ---- exact responses ----------------------------------------------- */

/* The expected response: head (status line, the fixed headers, the
 * row's extra header, Content-Length of body) then, unless head_only,
 * the body. */
static void
expect(const render_out *out, int http, const char *status_line,
    const char *extra, const char *body, int head_only)
{
	char want[RENDER_MAX + 1];
	int n = snprintf(want, sizeof(want),
	    "%s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: " RID "\r\n"
	    "%s"
	    "Content-Length: %zu\r\n"
	    "\r\n"
	    "%s", status_line, extra, strlen(body), head_only ? "" : body);

	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (int)sizeof(want));
	ck_assert_int_eq(out->http_status, http);
	ck_assert_uint_eq(out->len, (size_t)n);
	ck_assert_msg(memcmp(out->data, want, (size_t)n) == 0,
	    "got:\n%.*s\nwant:\n%s", (int)out->len, out->data, want);
}

static void
expect_error(st_status st, int http, const char *status_line, const char *extra,
    const char *code, const char *message)
{
	char body[1024];
	render_out out;
	int head;

	snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\","
	    "\"details\":null}," META "}", code, message);
	for (head = 0; head <= 1; head++) {
		memset(&out, 0, sizeof(out));
		ck_assert_int_eq(render_error(st, NULL, 0, &meta, head, &out), 0);
		expect(&out, http, status_line, extra, body, head);
	}
}

/* render_summary of s for GET is the 200 response with body. */
static void
summary_is(const db_summary *s, const char *body)
{
	render_out out;

	ck_assert_int_eq(render_summary(s, &meta, 0, &out), 0);
	expect(&out, 200, "Status: 200 OK", "", body, 0);
}

/* render_summary of s for GET holds part. */
static void
summary_has(const db_summary *s, const char *part)
{
	render_out out;

	ck_assert_int_eq(render_summary(s, &meta, 0, &out), 0);
	ck_assert_msg(strstr(out.data, part) != NULL, "no %s in:\n%.*s", part,
	    (int)out.len, out.data);
}

/* The response to HEAD is that to GET up to and with its blank line. */
static void
head_is_head_of(const render_out *head, const render_out *get, int http)
{
	const char *end = strstr(get->data, "\r\n\r\n");

	ck_assert_ptr_nonnull(end);
	ck_assert_uint_eq(head->len, (size_t)(end + 4 - get->data));
	ck_assert_mem_eq(head->data, get->data, head->len);
	ck_assert_int_eq(head->http_status, http);
}

START_TEST(test_summary_golden)
{
	const db_summary s = { .total = 170, .pending = 5, .running = 5,
	    .completed = 120, .failed = 30, .cancelled = 10, .paused = 0,
	    .has_average = 1, .average_seconds = 245.6 };

	summary_is(&s, "{\"data\":{\"total_runs\":170,\"completed\":120,\"failed\":30,"
	    "\"cancelled\":10,\"pending\":5,\"running\":5,\"paused\":0,"
	    "\"pass_rate\":0.75,\"average_duration_seconds\":245.6}," META "}");
}
END_TEST

START_TEST(test_summary_golden_literal_bytes)
{
	const db_summary s = { .total = 3, .pending = 0, .running = 0,
	    .completed = 2, .failed = 1, .cancelled = 0, .paused = 0,
	    .has_average = 1, .average_seconds = 1.0 };
	static const char want[] =
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: r-1\r\n"
	    "Content-Length: 224\r\n"
	    "\r\n"
	    "{\"data\":{\"total_runs\":3,\"completed\":2,\"failed\":1,\"cancelled\":0,"
	    "\"pending\":0,\"running\":0,\"paused\":0,\"pass_rate\":0.6666666666666666,"
	    "\"average_duration_seconds\":1.0},\"meta\":{\"request_id\":\"r-1\","
	    "\"timestamp\":\"1970-01-01T00:00:00Z\"}}";
	const render_meta m = { "r-1", "1970-01-01T00:00:00Z" };
	render_out out;

	ck_assert_int_eq(render_summary(&s, &m, 0, &out), 0);
	ck_assert_uint_eq(out.len, sizeof(want) - 1);
	ck_assert_mem_eq(out.data, want, sizeof(want) - 1);
}
END_TEST

START_TEST(test_summary_head_has_same_head_and_no_body)
{
	const db_summary s = { .total = 170, .pending = 5, .running = 5,
	    .completed = 120, .failed = 30, .cancelled = 10, .paused = 0,
	    .has_average = 1, .average_seconds = 245.6 };
	render_out get, head;

	ck_assert_int_eq(render_summary(&s, &meta, 0, &get), 0);
	ck_assert_int_eq(render_summary(&s, &meta, 1, &head), 0);
	head_is_head_of(&head, &get, 200);
}
END_TEST

START_TEST(test_summary_content_length_is_body_length)
{
	const db_summary s = { .total = 1234567, .completed = 1234567,
	    .has_average = 1, .average_seconds = 0.1 };
	render_out out;
	const char *end, *cl;
	unsigned long want;

	ck_assert_int_eq(render_summary(&s, &meta, 0, &out), 0);
	end = strstr(out.data, "\r\n\r\n");
	cl = strstr(out.data, "\r\nContent-Length: ");
	ck_assert_ptr_nonnull(end);
	ck_assert_ptr_nonnull(cl);
	ck_assert_int_eq(sscanf(cl, "\r\nContent-Length: %lu\r\n", &want), 1);
	ck_assert_uint_eq(want, out.len - (size_t)(end + 4 - out.data));
}
END_TEST

START_TEST(test_summary_pass_rate_null_without_terminal_runs)
{
	const db_summary s = { .total = 6, .pending = 2, .running = 3, .paused = 1,
	    .has_average = 0 };

	summary_is(&s, "{\"data\":{\"total_runs\":6,\"completed\":0,\"failed\":0,"
	    "\"cancelled\":0,\"pending\":2,\"running\":3,\"paused\":1,"
	    "\"pass_rate\":null,\"average_duration_seconds\":null}," META "}");
}
END_TEST

START_TEST(test_summary_pass_rate_zero_when_nothing_completed)
{
	const db_summary s = { .total = 2, .failed = 1, .cancelled = 1 };

	summary_has(&s, "\"pass_rate\":0.0,");
}
END_TEST

START_TEST(test_summary_pass_rate_one_when_all_completed)
{
	const db_summary s = { .total = 4, .completed = 3, .paused = 1,
	    .has_average = 1, .average_seconds = 0.5 };

	summary_has(&s, "\"pass_rate\":1.0,\"average_duration_seconds\":0.5}");
}
END_TEST

START_TEST(test_summary_average_null_without_has_average)
{
	const db_summary s = { .total = 1, .completed = 1, .has_average = 0,
	    .average_seconds = 12.5 };

	summary_has(&s, "\"pass_rate\":1.0,\"average_duration_seconds\":null}");
}
END_TEST

START_TEST(test_summary_average_zero_is_not_null)
{
	const db_summary s = { .total = 1, .completed = 1, .has_average = 1,
	    .average_seconds = 0.0 };

	summary_has(&s, "\"average_duration_seconds\":0.0}");
}
END_TEST

START_TEST(test_summary_average_uses_shortest_float)
{
	const db_summary s = { .total = 3, .completed = 3, .has_average = 1,
	    .average_seconds = 1e-05 };

	summary_has(&s, "\"average_duration_seconds\":1e-05}");
}
END_TEST

START_TEST(test_summary_large_counts)
{
	const db_summary s = { .total = INT64_C(9007199254740993),
	    .completed = INT64_C(9007199254740993) };

	summary_has(&s, "{\"total_runs\":9007199254740993,\"completed\":9007199254740993,");
}
END_TEST

START_TEST(test_error_unauthorized_golden)
{
	expect_error(ST_UNAUTHORIZED, 401, "Status: 401 Unauthorized",
	    "WWW-Authenticate: Bearer realm=\"api\"\r\n", "UNAUTHORIZED",
	    "Authentication required");
}
END_TEST

START_TEST(test_error_invalid_token_golden)
{
	expect_error(ST_INVALID_TOKEN, 401, "Status: 401 Unauthorized",
	    "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n", "INVALID_TOKEN",
	    "The session token is invalid or expired");
}
END_TEST

START_TEST(test_error_invalid_api_key_golden)
{
	expect_error(ST_INVALID_API_KEY, 401, "Status: 401 Unauthorized",
	    "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n", "INVALID_API_KEY",
	    "The API key is invalid, revoked or expired");
}
END_TEST

START_TEST(test_error_forbidden_golden)
{
	expect_error(ST_FORBIDDEN, 403, "Status: 403 Forbidden", "", "FORBIDDEN",
	    "Access to this resource is not allowed");
}
END_TEST

START_TEST(test_error_not_found_golden)
{
	expect_error(ST_NOT_FOUND, 404, "Status: 404 Not Found", "", "NOT_FOUND",
	    "Resource not found");
}
END_TEST

START_TEST(test_error_method_not_allowed_golden)
{
	expect_error(ST_METHOD_NOT_ALLOWED, 405, "Status: 405 Method Not Allowed",
	    "Allow: GET, HEAD\r\n", "METHOD_NOT_ALLOWED", "Method not allowed");
}
END_TEST

START_TEST(test_error_internal_error_golden)
{
	expect_error(ST_INTERNAL_ERROR, 500, "Status: 500 Internal Server Error", "",
	    "INTERNAL_ERROR", "Internal server error");
}
END_TEST

START_TEST(test_error_service_unavailable_golden)
{
	expect_error(ST_SERVICE_UNAVAILABLE, 503, "Status: 503 Service Unavailable",
	    "Retry-After: 1\r\n", "SERVICE_UNAVAILABLE", "Service temporarily unavailable");
}
END_TEST

START_TEST(test_error_unauthorized_golden_literal_bytes)
{
	static const char want[] =
	    "Status: 401 Unauthorized\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: " RID "\r\n"
	    "WWW-Authenticate: Bearer realm=\"api\"\r\n"
	    "Content-Length: 180\r\n"
	    "\r\n"
	    "{\"error\":{\"code\":\"UNAUTHORIZED\",\"message\":\"Authentication required\","
	    "\"details\":null},\"meta\":{\"request_id\":\"" RID "\","
	    "\"timestamp\":\"" TS "\"}}";
	render_out out;

	ck_assert_int_eq(render_error(ST_UNAUTHORIZED, NULL, 0, &meta, 0, &out), 0);
	ck_assert_uint_eq(out.len, sizeof(want) - 1);
	ck_assert_mem_eq(out.data, want, sizeof(want) - 1);
	ck_assert_int_eq(out.http_status, 401);
}
END_TEST

START_TEST(test_error_validation_golden_lists_details)
{
	const vd_error d[] = {
		{ VD_FIELD_WORKFLOW_ID, "must be a UUID" },
		{ VD_FIELD_WORKSPACE_ID, "must be a UUID" },
		{ VD_FIELD_QUERY, "is not a valid percent-encoded query string" },
		{ VD_FIELD_FROM, "must not be later than to" },
		{ VD_FIELD_TO, "must be given at most once" },
	};
	const char *body =
	    "{\"error\":{\"code\":\"VALIDATION_ERROR\","
	    "\"message\":\"Invalid request parameters\",\"details\":["
	    "{\"field\":\"workflow_id\",\"message\":\"must be a UUID\"},"
	    "{\"field\":\"X-Workspace-Id\",\"message\":\"must be a UUID\"},"
	    "{\"field\":\"query\",\"message\":\"is not a valid percent-encoded query string\"},"
	    "{\"field\":\"from\",\"message\":\"must not be later than to\"},"
	    "{\"field\":\"to\",\"message\":\"must be given at most once\"}]},"
	    META "}";
	render_out out;

	ck_assert_int_eq(render_error(ST_VALIDATION_ERROR, d, 5, &meta, 0, &out), 0);
	expect(&out, 422, "Status: 422 Unprocessable Entity", "", body, 0);
	ck_assert_int_eq(render_error(ST_VALIDATION_ERROR, d, 5, &meta, 1, &out), 0);
	expect(&out, 422, "Status: 422 Unprocessable Entity", "", body, 1);
}
END_TEST

START_TEST(test_error_validation_message_is_json_escaped)
{
	const vd_error d[] = {
		{ VD_FIELD_FROM, "must be an ISO 8601 date-time with a UTC offset, "
		    "e.g. 2024-01-15T09:30:00Z" },
	};
	render_out out;

	ck_assert_int_eq(render_error(ST_VALIDATION_ERROR, d, 1, &meta, 0, &out), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\"details\":[{\"field\":\"from\","
	    "\"message\":\"must be an ISO 8601 date-time with a UTC offset, "
	    "e.g. 2024-01-15T09:30:00Z\"}]}"));
}
END_TEST

START_TEST(test_error_details_null_except_on_422)
{
	const vd_error d[] = { { VD_FIELD_FROM, "must be a UUID" } };
	render_out out;

	ck_assert_int_eq(render_error(ST_NOT_FOUND, d, 1, &meta, 0, &out), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\"details\":null}"));
	ck_assert_ptr_null(strstr(out.data, "\"field\""));
	ck_assert_int_eq(render_error(ST_FORBIDDEN, d, 1, &meta, 0, &out), 0);
	ck_assert_ptr_nonnull(strstr(out.data, "\"details\":null}"));
}
END_TEST

START_TEST(test_error_of_ok_status_is_internal_error)
{
	render_out out;

	ck_assert_int_eq(render_error(ST_OK, NULL, 0, &meta, 0, &out), 0);
	ck_assert_int_eq(out.http_status, 500);
	ck_assert_ptr_nonnull(strstr(out.data, "Status: 500 Internal Server Error\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "\"code\":\"INTERNAL_ERROR\""));
}
END_TEST

START_TEST(test_error_head_has_same_head_and_no_body)
{
	render_out get, head;

	ck_assert_int_eq(render_error(ST_SERVICE_UNAVAILABLE, NULL, 0, &meta, 0, &get), 0);
	ck_assert_int_eq(render_error(ST_SERVICE_UNAVAILABLE, NULL, 0, &meta, 1, &head), 0);
	head_is_head_of(&head, &get, 503);
}
END_TEST

START_TEST(test_every_response_carries_meta_and_request_id)
{
	const render_meta m = { "trace:1.2_3-x", "2030-12-31T23:59:59Z" };
	st_status st;

	for (st = ST_UNAUTHORIZED; st < ST_COUNT; st++) {
		render_out out;

		ck_assert_int_eq(render_error(st, NULL, 0, &m, 0, &out), 0);
		ck_assert_ptr_nonnull(strstr(out.data, "\r\nX-Request-Id: trace:1.2_3-x\r\n"));
		ck_assert_ptr_nonnull(strstr(out.data, ",\"meta\":{\"request_id\":"
		    "\"trace:1.2_3-x\",\"timestamp\":\"2030-12-31T23:59:59Z\"}}"));
		ck_assert_ptr_nonnull(strstr(out.data, "\r\nContent-Type: application/json\r\n"));
		ck_assert_ptr_nonnull(strstr(out.data, "\r\nCache-Control: no-store\r\n"));
	}
}
END_TEST

Suite *
render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *f = tcase_create("double");
	TCase *t = tcase_create("table");
	TCase *r = tcase_create("responses");

	tcase_add_test(f, test_double_shortest_round_trip);
	tcase_add_test(f, test_double_integral_values_keep_point_zero);
	tcase_add_test(f, test_double_exponent_from_1e16);
	tcase_add_test(f, test_double_exponent_below_1e_minus_4);
	tcase_add_test(f, test_double_negative_values);
	tcase_add_test(f, test_double_integer_path_matches_the_search);
	tcase_add_test(f, test_double_extremes);
	tcase_add_test(f, test_double_is_shortest_for_random_bit_patterns);
	tcase_add_test(f, test_double_non_finite_is_null);
	tcase_add_test(f, test_double_returns_full_length_like_snprintf);
	tcase_add_test(f, test_timestamp_is_utc_seconds_with_z);
	suite_add_tcase(s, f);

	tcase_add_test(t, test_error_table_http_status_of_every_row);
	tcase_add_test(t, test_error_table_code_of_every_row);
	tcase_add_test(t, test_error_table_unknown_status_is_internal_error);
	suite_add_tcase(s, t);

	tcase_add_test(r, test_summary_golden);
	tcase_add_test(r, test_summary_golden_literal_bytes);
	tcase_add_test(r, test_summary_head_has_same_head_and_no_body);
	tcase_add_test(r, test_summary_content_length_is_body_length);
	tcase_add_test(r, test_summary_pass_rate_null_without_terminal_runs);
	tcase_add_test(r, test_summary_pass_rate_zero_when_nothing_completed);
	tcase_add_test(r, test_summary_pass_rate_one_when_all_completed);
	tcase_add_test(r, test_summary_average_null_without_has_average);
	tcase_add_test(r, test_summary_average_zero_is_not_null);
	tcase_add_test(r, test_summary_average_uses_shortest_float);
	tcase_add_test(r, test_summary_large_counts);
	tcase_add_test(r, test_error_unauthorized_golden);
	tcase_add_test(r, test_error_invalid_token_golden);
	tcase_add_test(r, test_error_invalid_api_key_golden);
	tcase_add_test(r, test_error_forbidden_golden);
	tcase_add_test(r, test_error_not_found_golden);
	tcase_add_test(r, test_error_method_not_allowed_golden);
	tcase_add_test(r, test_error_internal_error_golden);
	tcase_add_test(r, test_error_service_unavailable_golden);
	tcase_add_test(r, test_error_unauthorized_golden_literal_bytes);
	tcase_add_test(r, test_error_validation_golden_lists_details);
	tcase_add_test(r, test_error_validation_message_is_json_escaped);
	tcase_add_test(r, test_error_details_null_except_on_422);
	tcase_add_test(r, test_error_of_ok_status_is_internal_error);
	tcase_add_test(r, test_error_head_has_same_head_and_no_body);
	tcase_add_test(r, test_every_response_carries_meta_and_request_id);
	suite_add_tcase(s, r);
	return s;
}
