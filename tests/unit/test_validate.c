/* test_validate.c: UUIDs, ISO 8601 date-times, percent-decoding and the
 * query-string rules of SPEC.md "Inputs" (fcgi/validate.h). */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "validate.h"

#define WF "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define WS "8d2f1c4e-0000-4a1b-b2c3-d4e5f6a7b8c9"
#define S(x) ((int64_t)(x) * INT64_C(1000000))

static int
uuid(const char *s, vd_uuid *u)
{
	return vd_parse_uuid(s, strlen(s), u);
}

static int
dt(const char *s, int64_t *us)
{
	return vd_parse_datetime(s, strlen(s), us);
}

static size_t
build(const char *query, vd_query *q)
{
	return vd_query_build(WF, strlen(WF), NULL, query, q);
}

/* ---- UUID ---------------------------------------------------------- */

/* s is a UUID with the same 16 bytes as WF. */
static void
uuid_same_as_wf(const char *s)
{
	vd_uuid a, c;

	ck_assert_msg(uuid(s, &a) == 0, "refused UUID \"%s\"", s);
	ck_assert_int_eq(uuid(WF, &c), 0);
	ck_assert_mem_eq(a.b, c.b, 16);
}

static void
uuid_refused(const char *s)
{
	vd_uuid u;

	ck_assert_msg(uuid(s, &u) == -1, "accepted UUID \"%s\"", s);
}

START_TEST(test_uuid_accepts_36_hyphenated_lower)
{
	static const unsigned char want[16] = { 0x3f, 0x25, 0x04, 0xe0, 0x4f,
	    0x89, 0x41, 0xd3, 0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01 };
	vd_uuid u;

	ck_assert_int_eq(uuid(WF, &u), 0);
	ck_assert_mem_eq(u.b, want, 16);
}
END_TEST

START_TEST(test_uuid_accepts_36_hyphenated_upper_and_mixed)
{
	uuid_same_as_wf("3F2504E0-4F89-41D3-9A0C-0305E82C3301");
	uuid_same_as_wf("3f2504E0-4f89-41D3-9a0C-0305e82C3301");
}
END_TEST

START_TEST(test_uuid_accepts_32_hex_lower)
{
	uuid_same_as_wf("3f2504e04f8941d39a0c0305e82c3301");
}
END_TEST

START_TEST(test_uuid_accepts_32_hex_upper)
{
	uuid_same_as_wf("3F2504E04F8941D39A0C0305E82C3301");
}
END_TEST

START_TEST(test_uuid_rejects_other_lengths)
{
	uuid_refused("");
	uuid_refused("3f2504e0-4f89-41d3-9a0c-0305e82c330");
	uuid_refused("3f2504e0-4f89-41d3-9a0c-0305e82c33011");
	uuid_refused("3f2504e04f8941d39a0c0305e82c330");
	uuid_refused("3f2504e04f8941d39a0c0305e82c33011");
	uuid_refused("3f2504e04f8941d39a0c0305e82c330101");
}
END_TEST

START_TEST(test_uuid_rejects_misplaced_hyphens)
{
	uuid_refused("3f2504e04-f89-41d3-9a0c-0305e82c3301");
	uuid_refused("3f2504e0-4f8941d3-9a0c0-305e82c3301-");
	uuid_refused("3f2504e0:4f89:41d3:9a0c:0305e82c3301");
}
END_TEST

START_TEST(test_uuid_rejects_36_hex_without_hyphens)
{
	uuid_refused("3f2504e04f8941d39a0c0305e82c33013f25");
}
END_TEST

START_TEST(test_uuid_rejects_non_hex)
{
	uuid_refused("3f2504e0-4f89-41d3-9a0c-0305e82c330g");
	uuid_refused("gf2504e04f8941d39a0c0305e82c3301");
	uuid_refused(" f2504e0-4f89-41d3-9a0c-0305e82c3301");
	uuid_refused("+f2504e0-4f89-41d3-9a0c-0305e82c3301");
}
END_TEST

START_TEST(test_uuid_rejects_braces_and_urn)
{
	uuid_refused("{3f2504e0-4f89-41d3-9a0c-0305e82c3301}");
	uuid_refused("{3f2504e04f8941d39a0c0305e82c3301}");
	uuid_refused("urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301");
}
END_TEST

START_TEST(test_uuid_rejects_nul_inside)
{
	vd_uuid u;

	ck_assert_int_eq(vd_parse_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c33\0" "1",
	    36, &u), -1);
}
END_TEST

START_TEST(test_uuid_reads_only_n_bytes)
{
	vd_uuid u;

	ck_assert_int_eq(vd_parse_uuid(WF "/runs", 36, &u), 0);
	ck_assert_int_eq(vd_parse_uuid(WF, 35, &u), -1);
}
END_TEST

START_TEST(test_uuid_format_is_canonical_lower_hyphenated)
{
	vd_uuid u;
	char out[37];

	ck_assert_int_eq(uuid("3F2504E04F8941D39A0C0305E82C3301", &u), 0);
	memset(out, 'x', sizeof(out));
	vd_format_uuid(&u, out);
	ck_assert_str_eq(out, WF);
}
END_TEST

START_TEST(test_uuid_format_all_bytes)
{
	vd_uuid u;
	char out[37];
	int i;

	for (i = 0; i < 16; i++)
		u.b[i] = (unsigned char)(0xf0 + i);
	vd_format_uuid(&u, out);
	ck_assert_str_eq(out, "f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff");
	memset(u.b, 0, sizeof(u.b));
	vd_format_uuid(&u, out);
	ck_assert_str_eq(out, "00000000-0000-0000-0000-000000000000");
}
END_TEST

/* ---- date-time ----------------------------------------------------- */

/* s is accepted as the instant want, in microseconds since the epoch. */
static void
dt_at(const char *s, int64_t want)
{
	int64_t us = 0;

	ck_assert_msg(dt(s, &us) == 0, "refused \"%s\"", s);
	ck_assert_msg(us == want, "\"%s\" read as %" PRId64 ", want %" PRId64,
	    s, us, want);
}

/* s is accepted (whatever the instant). */
static void
dt_accepted(const char *s)
{
	int64_t us;

	ck_assert_msg(dt(s, &us) == 0, "refused \"%s\"", s);
}

static void
dt_refused(const char *s)
{
	int64_t us;

	ck_assert_msg(dt(s, &us) == -1, "accepted \"%s\"", s);
}

START_TEST(test_datetime_accepts_z)
{
	dt_at("2024-01-15T09:30:00Z", S(1705311000));
}
END_TEST

START_TEST(test_datetime_accepts_lowercase_t_and_z)
{
	dt_at("2024-01-15t09:30:00z", S(1705311000));
}
END_TEST

START_TEST(test_datetime_accepts_space_for_t)
{
	dt_at("2024-01-15 09:30:00Z", S(1705311000));
}
END_TEST

START_TEST(test_datetime_accepts_without_seconds)
{
	dt_at("2024-01-15T09:30Z", S(1705311000));
	dt_at("2024-01-15T09:30+05:30", S(1705291200));
}
END_TEST

START_TEST(test_datetime_accepts_fraction_of_1_to_6_digits)
{
	dt_at("2024-01-15T09:30:00.5Z", S(1705311000) + 500000);
	dt_at("2024-01-15T09:30:00.000001Z", S(1705311000) + 1);
	dt_at("2024-01-15T09:30:00.123456+00:00", S(1705311000) + 123456);
	dt_at("2024-01-15T09:30:00.120Z", S(1705311000) + 120000);
}
END_TEST

START_TEST(test_datetime_rejects_fraction_of_7_digits)
{
	dt_refused("2024-01-15T09:30:00.1234567Z");
}
END_TEST

START_TEST(test_datetime_rejects_empty_fraction)
{
	dt_refused("2024-01-15T09:30:00.Z");
	dt_refused("2024-01-15T09:30:00.");
}
END_TEST

START_TEST(test_datetime_rejects_fraction_without_seconds)
{
	dt_refused("2024-01-15T09:30.5Z");
}
END_TEST

START_TEST(test_datetime_accepts_offset_hh_colon_mm)
{
	dt_at("2024-01-15T09:30:00+05:30", S(1705291200));
	dt_at("2024-01-15T09:30:00+00:00", S(1705311000));
}
END_TEST

START_TEST(test_datetime_accepts_offset_hhmm)
{
	dt_at("2024-01-15T09:30:00+0530", S(1705291200));
}
END_TEST

START_TEST(test_datetime_accepts_offset_with_seconds)
{
	dt_at("2024-01-15T09:30:00+05:30:45", S(1705291155));
}
END_TEST

START_TEST(test_datetime_accepts_negative_offset)
{
	dt_at("2024-01-15T09:30:00-08:00", S(1705339800));
	dt_at("2024-01-15T09:30:00-0800", S(1705339800));
	dt_at("2024-01-15T09:30:00-00:00", S(1705311000));
}
END_TEST

START_TEST(test_datetime_reads_space_before_offset_as_plus)
{
	dt_at("2024-01-15T09:30:00 05:30", S(1705291200));
	dt_at("2024-01-15 09:30 0530", S(1705291200));
}
END_TEST

START_TEST(test_datetime_rejects_naive)
{
	dt_refused("2024-01-15T09:30:00");
	dt_refused("2024-01-15T09:30:00.123456");
}
END_TEST

START_TEST(test_datetime_rejects_naive_without_seconds)
{
	dt_refused("2024-01-15T09:30");
	dt_refused("2024-01-15 09:30");
}
END_TEST

START_TEST(test_datetime_rejects_date_only)
{
	dt_refused("2024-01-15");
	dt_refused("2024-01-15Z");
	dt_refused("2024-01-15T");
}
END_TEST

START_TEST(test_datetime_rejects_time_only)
{
	dt_refused("09:30:00Z");
	dt_refused("T09:30:00+00:00");
}
END_TEST

START_TEST(test_datetime_rejects_empty)
{
	dt_refused("");
}
END_TEST

START_TEST(test_datetime_rejects_feb_30)
{
	dt_refused("2024-02-30T00:00:00Z");
}
END_TEST

START_TEST(test_datetime_rejects_day_31_of_30_day_month)
{
	dt_refused("2024-04-31T00:00:00Z");
	dt_accepted("2024-04-30T00:00:00Z");
	dt_accepted("2024-12-31T00:00:00Z");
}
END_TEST

START_TEST(test_datetime_accepts_feb_29_in_leap_year)
{
	dt_at("2024-02-29T00:00:00Z", S(1709164800));
	dt_at("2000-02-29T12:00Z", S(951825600));
}
END_TEST

START_TEST(test_datetime_rejects_feb_29_in_common_year)
{
	dt_refused("2023-02-29T00:00:00Z");
	dt_refused("1900-02-29T00:00:00Z");
}
END_TEST

START_TEST(test_datetime_rejects_hour_24)
{
	dt_refused("2024-01-15T24:00:00Z");
	dt_accepted("2024-01-15T23:59:59Z");
}
END_TEST

START_TEST(test_datetime_rejects_minute_60)
{
	dt_refused("2024-01-15T09:60:00Z");
	dt_refused("2024-01-15T09:60Z");
}
END_TEST

START_TEST(test_datetime_rejects_second_60)
{
	dt_refused("2024-01-15T09:30:60Z");
}
END_TEST

START_TEST(test_datetime_rejects_month_0_and_13)
{
	dt_refused("2024-00-15T09:30:00Z");
	dt_refused("2024-13-15T09:30:00Z");
}
END_TEST

START_TEST(test_datetime_rejects_day_0)
{
	dt_refused("2024-01-00T09:30:00Z");
}
END_TEST

START_TEST(test_datetime_rejects_year_0)
{
	dt_refused("0000-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_datetime_accepts_year_1_and_9999)
{
	dt_at("0001-01-01T00:00:00Z", S(INT64_C(-62135596800)));
	dt_at("9999-12-31T23:59:59.999999Z", S(INT64_C(253402300799)) + 999999);
}
END_TEST

START_TEST(test_datetime_rejects_short_fields)
{
	dt_refused("2024-1-15T09:30:00Z");
	dt_refused("2024-01-5T09:30:00Z");
	dt_refused("2024-01-15T9:30:00Z");
	dt_refused("2024-01-15T09:3:00Z");
	dt_refused("2024-01-15T09:30:0Z");
	dt_refused("24-01-15T09:30:00Z");
}
END_TEST

START_TEST(test_datetime_rejects_wrong_separators)
{
	dt_refused("2024/01/15T09:30:00Z");
	dt_refused("20240115T093000Z");
	dt_refused("2024-01-15X09:30:00Z");
	dt_refused("2024-01-15T09.30.00Z");
	dt_refused("2024-01-15_09:30:00Z");
}
END_TEST

START_TEST(test_datetime_rejects_signs_in_fields)
{
	dt_refused("+024-01-15T09:30:00Z");
	dt_refused("2024--1-15T09:30:00Z");
	dt_refused("2024-01-15T-9:30:00Z");
}
END_TEST

START_TEST(test_datetime_rejects_bad_offsets)
{
	dt_refused("2024-01-15T09:30:00+05");
	dt_refused("2024-01-15T09:30:00+5:00");
	dt_refused("2024-01-15T09:30:00+05:0");
	dt_refused("2024-01-15T09:30:00+05:300");
	dt_refused("2024-01-15T09:30:00+05-30");
	dt_refused("2024-01-15T09:30:00+05:30:4");
	dt_refused("2024-01-15T09:30:00+0530:45");
	dt_refused("2024-01-15T09:30:00UTC");
	dt_refused("2024-01-15T09:30:00 Z");
	dt_refused("2024-01-15T09:30:00*05:00");
}
END_TEST

START_TEST(test_datetime_rejects_offset_hour_24_or_minute_60)
{
	dt_refused("2024-01-15T09:30:00+24:00");
	dt_refused("2024-01-15T09:30:00+05:60");
	dt_refused("2024-01-15T09:30:00+05:30:60");
	dt_accepted("2024-01-15T09:30:00+23:59");
}
END_TEST

START_TEST(test_datetime_rejects_trailing_text)
{
	dt_refused("2024-01-15T09:30:00ZZ");
	dt_refused("2024-01-15T09:30:00Z ");
	dt_refused("2024-01-15T09:30:00+05:30x");
	dt_refused(" 2024-01-15T09:30:00Z");
}
END_TEST

START_TEST(test_datetime_reads_only_n_bytes)
{
	int64_t us = 0;

	ck_assert_int_eq(vd_parse_datetime("2024-01-15T09:30:00Z&to=x", 20, &us), 0);
	ck_assert_int_eq(us, S(1705311000));
	ck_assert_int_eq(vd_parse_datetime("2024-01-15T09:30:00Z", 19, &us), -1);
	ck_assert_int_eq(vd_parse_datetime("2024-01-15T09:30:00+05:30", 24, &us), -1);
}
END_TEST

START_TEST(test_datetime_rejects_nul_inside)
{
	int64_t us;

	ck_assert_int_eq(vd_parse_datetime("2024-01-15T09:30:00\0Z", 21, &us), -1);
	ck_assert_int_eq(vd_parse_datetime("2024-01-15T09:30\0:00Z", 21, &us), -1);
}
END_TEST

/* ---- timestamptz text for PostgreSQL ------------------------------- */

static void
utc_is(int64_t us, const char *want)
{
	char out[VD_UTC_TEXT_MAX];

	vd_format_utc(us, out);
	ck_assert_str_eq(out, want);
}

/* The date-time s, parsed, is formatted as want. */
static void
dt_utc_is(const char *s, const char *want)
{
	int64_t us = 0;

	ck_assert_msg(dt(s, &us) == 0, "refused \"%s\"", s);
	utc_is(us, want);
}

START_TEST(test_format_utc_epoch)
{
	utc_is(0, "1970-01-01 00:00:00.000000+00");
}
END_TEST

START_TEST(test_format_utc_keeps_microseconds)
{
	utc_is(S(1705311000) + 123456, "2024-01-15 09:30:00.123456+00");
	utc_is(S(1705311000) + 1, "2024-01-15 09:30:00.000001+00");
}
END_TEST

START_TEST(test_format_utc_before_epoch)
{
	utc_is(-1, "1969-12-31 23:59:59.999999+00");
	utc_is(-S(86400), "1969-12-31 00:00:00.000000+00");
}
END_TEST

START_TEST(test_format_utc_year_1)
{
	utc_is(S(INT64_C(-62135596800)), "0001-01-01 00:00:00.000000+00");
}
END_TEST

START_TEST(test_format_utc_year_before_1_is_bc)
{
	/* 0001-01-01T00:00+01:00 is 1 BC, December 31st, 23:00 UTC. */
	dt_utc_is("0001-01-01T00:00:00+01:00", "0001-12-31 23:00:00.000000+00 BC");
}
END_TEST

START_TEST(test_format_utc_applies_offset)
{
	dt_utc_is("2024-03-01T01:15:00.5+05:30", "2024-02-29 19:45:00.500000+00");
	dt_utc_is("9999-12-31T23:59:59.999999-01:00", "10000-01-01 00:59:59.999999+00");
}
END_TEST

/* ---- percent-decoding ---------------------------------------------- */

static long
pd(const char *in, char *out, size_t cap, int form)
{
	return vd_percent_decode(in, strlen(in), out, cap, form);
}

/* in decodes (into 16 bytes) to the n bytes of want. */
static void
pd_is(const char *in, int form, const char *want, long n)
{
	char out[16];

	ck_assert_msg(pd(in, out, sizeof(out), form) == n, "\"%s\": not %ld bytes", in, n);
	ck_assert_mem_eq(out, want, (size_t)n);
}

/* in is refused, read as a form. */
static void
pd_refused(const char *in)
{
	char out[16];

	ck_assert_msg(pd(in, out, sizeof(out), 1) == -1, "accepted \"%s\"", in);
}

START_TEST(test_percent_decode_hex_of_any_case)
{
	pd_is("%2b%2B%41a%7e", 0, "++Aa~", 5);
}
END_TEST

START_TEST(test_percent_decode_plus_is_space_only_in_forms)
{
	pd_is("a+b%2B", 1, "a b+", 4);
	pd_is("a+b%2B", 0, "a+b+", 4);
}
END_TEST

START_TEST(test_percent_decode_rejects_truncated_escape)
{
	char out[16];

	pd_refused("%");
	pd_refused("a%4");
	pd_refused("abc%");
	ck_assert_int_eq(vd_percent_decode("%41", 2, out, sizeof(out), 1), -1);
}
END_TEST

START_TEST(test_percent_decode_rejects_non_hex_escape)
{
	pd_refused("%zz");
	pd_refused("%4g");
	pd_refused("%g4");
	pd_refused("%+1");
	pd_refused("%%41");
}
END_TEST

START_TEST(test_percent_decode_returns_full_length_beyond_cap)
{
	char out[4] = { 'x', 'x', 'x', 'x' };

	ck_assert_int_eq(pd("ab%63de", out, 2, 0), 5);
	ck_assert_mem_eq(out, "abxx", 4);
	ck_assert_int_eq(pd("abcdef", NULL, 0, 0), 6);
}
END_TEST

START_TEST(test_percent_decode_keeps_nul_as_a_byte)
{
	char out[8];

	ck_assert_int_eq(pd("a%00b", out, sizeof(out), 0), 3);
	ck_assert_mem_eq(out, "a\0b", 3);
}
END_TEST

START_TEST(test_percent_decode_empty_is_zero)
{
	char out[1];

	ck_assert_int_eq(pd("", out, sizeof(out), 1), 0);
}
END_TEST

/* ---- the query string and the whole input -------------------------- */

/* The query (NULL: none) is accepted, with from and to present or not. */
static void
query_ok(const char *query, vd_query *q, int has_from, int has_to)
{
	ck_assert_msg(build(query, q) == 0, "refused \"%s\"", query ? query : "(null)");
	ck_assert_int_eq(q->has_from, has_from);
	ck_assert_int_eq(q->has_to, has_to);
}

/* The query gives one error, on field, with message unless that is NULL. */
static void
query_error(const char *query, vd_query *q, vd_field field, const char *message)
{
	ck_assert_msg(build(query, q) == 1, "\"%s\": not one error", query);
	ck_assert_int_eq(q->errors[0].field, field);
	if (message != NULL)
		ck_assert_str_eq(q->errors[0].message, message);
}

START_TEST(test_query_accepts_valid_inputs)
{
	vd_query q;

	ck_assert_int_eq(vd_query_build(WF, strlen(WF), WS,
	    "from=2024-01-01T00:00:00Z&to=2024-01-15T09:30:00Z", &q), 0);
	ck_assert_int_eq(q.nerrors, 0);
	ck_assert_int_eq(q.has_workspace, 1);
	ck_assert_int_eq(q.has_from, 1);
	ck_assert_int_eq(q.has_to, 1);
	ck_assert_int_eq(q.from_us, S(1704067200));
	ck_assert_int_eq(q.to_us, S(1705311000));
	ck_assert_int_eq(q.workflow_id.b[0], 0x3f);
	ck_assert_int_eq(q.workflow_id.b[15], 0x01);
	ck_assert_int_eq(q.workspace_id.b[0], 0x8d);
	ck_assert_int_eq(q.workspace_id.b[15], 0xc9);
}
END_TEST

START_TEST(test_query_null_or_empty_means_no_bounds)
{
	vd_query q;

	query_ok(NULL, &q, 0, 0);
	ck_assert_int_eq(q.has_workspace, 0);
	query_ok("", &q, 0, 0);
}
END_TEST

START_TEST(test_query_empty_value_is_absent)
{
	vd_query q;

	query_ok("from=&to=", &q, 0, 0);
	query_ok("from=&to=2024-01-15T09:30:00Z", &q, 0, 1);
}
END_TEST

START_TEST(test_query_name_without_value_is_absent)
{
	vd_query q;

	query_ok("from&to", &q, 0, 0);
}
END_TEST

START_TEST(test_query_repeated_from_is_error_on_from)
{
	vd_query q;

	query_error("from=2024-01-01T00:00:00Z&from=2024-01-01T00:00:00Z", &q,
	    VD_FIELD_FROM, "must be given at most once");
	ck_assert_int_eq(q.has_from, 0);
}
END_TEST

START_TEST(test_query_repeated_to_is_error_on_to)
{
	vd_query q;

	query_error("to=2024-01-01T00:00:00Z&x=1&to=2024-02-01T00:00:00Z", &q,
	    VD_FIELD_TO, "must be given at most once");
	ck_assert_int_eq(q.has_to, 0);
}
END_TEST

START_TEST(test_query_repeated_is_error_even_when_empty)
{
	vd_query q;

	query_error("from=&from=", &q, VD_FIELD_FROM, NULL);
	query_error("to&to=2024-01-01T00:00:00Z", &q, VD_FIELD_TO, NULL);
}
END_TEST

START_TEST(test_query_bad_percent_encoding_is_error_on_query)
{
	vd_query q;

	query_error("from=2024-01-01T00:00:00%zz", &q, VD_FIELD_QUERY,
	    "is not a valid percent-encoded query string");
}
END_TEST

START_TEST(test_query_bad_percent_encoding_in_unknown_param_is_error_on_query)
{
	vd_query q;

	query_error("utm=%E2%8&from=2024-01-01T00:00:00Z", &q, VD_FIELD_QUERY, NULL);
	ck_assert_int_eq(q.has_from, 1);
}
END_TEST

START_TEST(test_query_bad_percent_encoding_in_name_is_error_on_query)
{
	vd_query q;

	query_error("%zzfrom=1", &q, VD_FIELD_QUERY, NULL);
	query_error("from%=1", &q, VD_FIELD_QUERY, NULL);
}
END_TEST

START_TEST(test_query_unknown_params_ignored)
{
	vd_query q;

	query_ok("page=2&limit=x&&=&fromx=1&xto=2&FROM=bad&To=bad", &q, 0, 0);
}
END_TEST

START_TEST(test_query_percent_encoded_name_is_decoded)
{
	vd_query q;

	query_ok("fr%6Fm=2024-01-01T00:00:00Z&%74o=2024-01-02T00:00:00Z", &q, 1, 1);
	ck_assert_int_eq(q.from_us, S(1704067200));
	ck_assert_int_eq(q.to_us, S(1704153600));
}
END_TEST

START_TEST(test_query_invalid_from_is_error_on_from)
{
	vd_query q;

	query_error("from=2024-01-15T09:30:00", &q, VD_FIELD_FROM,
	    "must be an ISO 8601 date-time with a UTC offset, e.g. 2024-01-15T09:30:00Z");
	ck_assert_int_eq(q.has_from, 0);
}
END_TEST

START_TEST(test_query_invalid_to_is_error_on_to)
{
	vd_query q;

	query_error("to=2024-02-30T00:00:00Z", &q, VD_FIELD_TO, NULL);
	ck_assert_int_eq(q.has_to, 0);
}
END_TEST

START_TEST(test_query_from_later_than_to_is_error_on_from)
{
	vd_query q;

	query_error("from=2024-01-15T09:30:00.000001Z&to=2024-01-15T09:30:00Z", &q,
	    VD_FIELD_FROM, "must not be later than to");
}
END_TEST

START_TEST(test_query_from_later_than_to_compares_instants_not_text)
{
	vd_query q;

	/* 10:00+02:00 is 08:00Z: earlier than 09:00Z although its text is later. */
	ck_assert_int_eq(build("from=2024-01-15T10:00:00%2B02:00&to=2024-01-15T09:00:00Z", &q), 0);
	query_error("from=2024-01-15T08:00:00Z&to=2024-01-15T09:00:00%2B02:00", &q,
	    VD_FIELD_FROM, NULL);
}
END_TEST

START_TEST(test_query_from_equal_to_is_accepted)
{
	vd_query q;

	ck_assert_int_eq(build("from=2024-01-15T09:30:00Z&to=2024-01-15T10:30:00%2B01:00", &q), 0);
	ck_assert_int_eq(q.from_us, q.to_us);
}
END_TEST

START_TEST(test_query_unencoded_plus_in_offset_is_read_as_plus)
{
	vd_query q;

	ck_assert_int_eq(build("from=2024-01-15T09:30:00+05:30", &q), 0);
	ck_assert_int_eq(q.has_from, 1);
	ck_assert_int_eq(q.from_us, S(1705291200));
}
END_TEST

START_TEST(test_query_encoded_plus_in_offset)
{
	vd_query q;

	ck_assert_int_eq(build("to=2024-01-15T09:30:00%2B05:30", &q), 0);
	ck_assert_int_eq(q.has_to, 1);
	ck_assert_int_eq(q.to_us, S(1705291200));
}
END_TEST

START_TEST(test_query_plus_or_encoded_space_for_t)
{
	vd_query q;

	ck_assert_int_eq(build("from=2024-01-15+09:30:00Z&to=2024-01-15%2009:30:00%2B00:00", &q), 0);
	ck_assert_int_eq(q.from_us, S(1705311000));
	ck_assert_int_eq(q.to_us, S(1705311000));
}
END_TEST

START_TEST(test_query_percent_encoded_colons)
{
	vd_query q;

	ck_assert_int_eq(build("from=2024-01-15T09%3A30%3A00Z", &q), 0);
	ck_assert_int_eq(q.from_us, S(1705311000));
}
END_TEST

START_TEST(test_query_overlong_value_is_error)
{
	char query[256];
	vd_query q;

	memcpy(query, "from=2024-01-15T09:30:00.", 25);
	memset(query + 25, '0', 200);
	memcpy(query + 225, "Z", 2);
	query_error(query, &q, VD_FIELD_FROM, NULL);
}
END_TEST

START_TEST(test_query_nul_in_value_is_error)
{
	vd_query q;

	query_error("from=2024-01-15T09:30:00Z%00", &q, VD_FIELD_FROM, NULL);
}
END_TEST

START_TEST(test_query_invalid_workflow_id_is_error)
{
	vd_query q;

	ck_assert_int_eq(vd_query_build("not-a-uuid", 10, NULL, NULL, &q), 1);
	ck_assert_int_eq(q.errors[0].field, VD_FIELD_WORKFLOW_ID);
	ck_assert_str_eq(q.errors[0].message, "must be a UUID");
}
END_TEST

START_TEST(test_query_workflow_id_bounded_by_length)
{
	vd_query q;

	ck_assert_int_eq(vd_query_build(WF "/runs/summary", 36, NULL, NULL, &q), 0);
	ck_assert_int_eq(vd_query_build(WF, 0, NULL, NULL, &q), 1);
	ck_assert_int_eq(q.errors[0].field, VD_FIELD_WORKFLOW_ID);
}
END_TEST

START_TEST(test_query_empty_workspace_is_absent)
{
	vd_query q;

	ck_assert_int_eq(vd_query_build(WF, strlen(WF), "", NULL, &q), 0);
	ck_assert_int_eq(q.has_workspace, 0);
}
END_TEST

START_TEST(test_query_invalid_workspace_is_error)
{
	vd_query q;

	ck_assert_int_eq(vd_query_build(WF, strlen(WF), "acme", NULL, &q), 1);
	ck_assert_int_eq(q.errors[0].field, VD_FIELD_WORKSPACE_ID);
	ck_assert_str_eq(q.errors[0].message, "must be a UUID");
	ck_assert_int_eq(q.has_workspace, 0);
}
END_TEST

START_TEST(test_query_longer_than_max_is_refused_unread)
{
	char query[VD_QUERY_MAX + 2];
	vd_query q;

	/* exactly the limit: read (and its one bad escape found) */
	memset(query, 'a', VD_QUERY_MAX);
	memcpy(query, "from=%zz&", 9);
	query[VD_QUERY_MAX] = '\0';
	ck_assert_int_eq(vd_query_build(WF, strlen(WF), NULL, query, &q), 1);
	ck_assert_str_eq(q.errors[0].message, "is not a valid percent-encoded query string");
	/* one byte more: refused for its length alone */
	query[VD_QUERY_MAX] = 'a';
	query[VD_QUERY_MAX + 1] = '\0';
	ck_assert_int_eq(vd_query_build(WF, strlen(WF), NULL, query, &q), 1);
	ck_assert_int_eq(q.errors[0].field, VD_FIELD_QUERY);
	ck_assert_str_eq(q.errors[0].message, "is longer than 2048 bytes");
}
END_TEST

START_TEST(test_query_lists_every_invalid_field_in_field_order)
{
	vd_query q;

	ck_assert_int_eq(vd_query_build("x", 1, "y",
	    "to=nope&from=nope&junk=%", &q), 5);
	ck_assert_int_eq(q.errors[0].field, VD_FIELD_WORKFLOW_ID);
	ck_assert_int_eq(q.errors[1].field, VD_FIELD_WORKSPACE_ID);
	ck_assert_int_eq(q.errors[2].field, VD_FIELD_QUERY);
	ck_assert_int_eq(q.errors[3].field, VD_FIELD_FROM);
	ck_assert_int_eq(q.errors[4].field, VD_FIELD_TO);
}
END_TEST

START_TEST(test_query_lists_from_and_to_both)
{
	vd_query q;

	ck_assert_int_eq(build("to=2024-01-15&from=2024-01-15&from=x", &q), 2);
	ck_assert_int_eq(q.errors[0].field, VD_FIELD_FROM);
	ck_assert_str_eq(q.errors[0].message, "must be given at most once");
	ck_assert_int_eq(q.errors[1].field, VD_FIELD_TO);
}
END_TEST

START_TEST(test_query_messages_never_echo_input)
{
	vd_query q;
	size_t i;

	ck_assert_int_eq(vd_query_build("<script>", 8, "<script>",
	    "from=<script>&to=<script>", &q), 4);
	for (i = 0; i < q.nerrors; i++)
		ck_assert_ptr_null(strstr(q.errors[i].message, "script"));
}
END_TEST

START_TEST(test_field_names_match_spec)
{
	ck_assert_str_eq(vd_field_name(VD_FIELD_WORKFLOW_ID), "workflow_id");
	ck_assert_str_eq(vd_field_name(VD_FIELD_WORKSPACE_ID), "X-Workspace-Id");
	ck_assert_str_eq(vd_field_name(VD_FIELD_QUERY), "query");
	ck_assert_str_eq(vd_field_name(VD_FIELD_FROM), "from");
	ck_assert_str_eq(vd_field_name(VD_FIELD_TO), "to");
	ck_assert_str_eq(vd_field_name(VD_FIELD_COUNT), "query");
}
END_TEST

Suite *
validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *u = tcase_create("uuid");
	TCase *d = tcase_create("datetime");
	TCase *f = tcase_create("format_utc");
	TCase *p = tcase_create("percent_decode");
	TCase *q = tcase_create("query");

	tcase_add_test(u, test_uuid_accepts_36_hyphenated_lower);
	tcase_add_test(u, test_uuid_accepts_36_hyphenated_upper_and_mixed);
	tcase_add_test(u, test_uuid_accepts_32_hex_lower);
	tcase_add_test(u, test_uuid_accepts_32_hex_upper);
	tcase_add_test(u, test_uuid_rejects_other_lengths);
	tcase_add_test(u, test_uuid_rejects_misplaced_hyphens);
	tcase_add_test(u, test_uuid_rejects_36_hex_without_hyphens);
	tcase_add_test(u, test_uuid_rejects_non_hex);
	tcase_add_test(u, test_uuid_rejects_braces_and_urn);
	tcase_add_test(u, test_uuid_rejects_nul_inside);
	tcase_add_test(u, test_uuid_reads_only_n_bytes);
	tcase_add_test(u, test_uuid_format_is_canonical_lower_hyphenated);
	tcase_add_test(u, test_uuid_format_all_bytes);
	suite_add_tcase(s, u);

	tcase_add_test(d, test_datetime_accepts_z);
	tcase_add_test(d, test_datetime_accepts_lowercase_t_and_z);
	tcase_add_test(d, test_datetime_accepts_space_for_t);
	tcase_add_test(d, test_datetime_accepts_without_seconds);
	tcase_add_test(d, test_datetime_accepts_fraction_of_1_to_6_digits);
	tcase_add_test(d, test_datetime_rejects_fraction_of_7_digits);
	tcase_add_test(d, test_datetime_rejects_empty_fraction);
	tcase_add_test(d, test_datetime_rejects_fraction_without_seconds);
	tcase_add_test(d, test_datetime_accepts_offset_hh_colon_mm);
	tcase_add_test(d, test_datetime_accepts_offset_hhmm);
	tcase_add_test(d, test_datetime_accepts_offset_with_seconds);
	tcase_add_test(d, test_datetime_accepts_negative_offset);
	tcase_add_test(d, test_datetime_reads_space_before_offset_as_plus);
	tcase_add_test(d, test_datetime_rejects_naive);
	tcase_add_test(d, test_datetime_rejects_naive_without_seconds);
	tcase_add_test(d, test_datetime_rejects_date_only);
	tcase_add_test(d, test_datetime_rejects_time_only);
	tcase_add_test(d, test_datetime_rejects_empty);
	tcase_add_test(d, test_datetime_rejects_feb_30);
	tcase_add_test(d, test_datetime_rejects_day_31_of_30_day_month);
	tcase_add_test(d, test_datetime_accepts_feb_29_in_leap_year);
	tcase_add_test(d, test_datetime_rejects_feb_29_in_common_year);
	tcase_add_test(d, test_datetime_rejects_hour_24);
	tcase_add_test(d, test_datetime_rejects_minute_60);
	tcase_add_test(d, test_datetime_rejects_second_60);
	tcase_add_test(d, test_datetime_rejects_month_0_and_13);
	tcase_add_test(d, test_datetime_rejects_day_0);
	tcase_add_test(d, test_datetime_rejects_year_0);
	tcase_add_test(d, test_datetime_accepts_year_1_and_9999);
	tcase_add_test(d, test_datetime_rejects_short_fields);
	tcase_add_test(d, test_datetime_rejects_wrong_separators);
	tcase_add_test(d, test_datetime_rejects_signs_in_fields);
	tcase_add_test(d, test_datetime_rejects_bad_offsets);
	tcase_add_test(d, test_datetime_rejects_offset_hour_24_or_minute_60);
	tcase_add_test(d, test_datetime_rejects_trailing_text);
	tcase_add_test(d, test_datetime_reads_only_n_bytes);
	tcase_add_test(d, test_datetime_rejects_nul_inside);
	suite_add_tcase(s, d);

	tcase_add_test(f, test_format_utc_epoch);
	tcase_add_test(f, test_format_utc_keeps_microseconds);
	tcase_add_test(f, test_format_utc_before_epoch);
	tcase_add_test(f, test_format_utc_year_1);
	tcase_add_test(f, test_format_utc_year_before_1_is_bc);
	tcase_add_test(f, test_format_utc_applies_offset);
	suite_add_tcase(s, f);

	tcase_add_test(p, test_percent_decode_hex_of_any_case);
	tcase_add_test(p, test_percent_decode_plus_is_space_only_in_forms);
	tcase_add_test(p, test_percent_decode_rejects_truncated_escape);
	tcase_add_test(p, test_percent_decode_rejects_non_hex_escape);
	tcase_add_test(p, test_percent_decode_returns_full_length_beyond_cap);
	tcase_add_test(p, test_percent_decode_keeps_nul_as_a_byte);
	tcase_add_test(p, test_percent_decode_empty_is_zero);
	suite_add_tcase(s, p);

	tcase_add_test(q, test_query_accepts_valid_inputs);
	tcase_add_test(q, test_query_null_or_empty_means_no_bounds);
	tcase_add_test(q, test_query_empty_value_is_absent);
	tcase_add_test(q, test_query_name_without_value_is_absent);
	tcase_add_test(q, test_query_repeated_from_is_error_on_from);
	tcase_add_test(q, test_query_repeated_to_is_error_on_to);
	tcase_add_test(q, test_query_repeated_is_error_even_when_empty);
	tcase_add_test(q, test_query_bad_percent_encoding_is_error_on_query);
	tcase_add_test(q, test_query_bad_percent_encoding_in_unknown_param_is_error_on_query);
	tcase_add_test(q, test_query_bad_percent_encoding_in_name_is_error_on_query);
	tcase_add_test(q, test_query_unknown_params_ignored);
	tcase_add_test(q, test_query_percent_encoded_name_is_decoded);
	tcase_add_test(q, test_query_invalid_from_is_error_on_from);
	tcase_add_test(q, test_query_invalid_to_is_error_on_to);
	tcase_add_test(q, test_query_from_later_than_to_is_error_on_from);
	tcase_add_test(q, test_query_from_later_than_to_compares_instants_not_text);
	tcase_add_test(q, test_query_from_equal_to_is_accepted);
	tcase_add_test(q, test_query_unencoded_plus_in_offset_is_read_as_plus);
	tcase_add_test(q, test_query_encoded_plus_in_offset);
	tcase_add_test(q, test_query_plus_or_encoded_space_for_t);
	tcase_add_test(q, test_query_percent_encoded_colons);
	tcase_add_test(q, test_query_overlong_value_is_error);
	tcase_add_test(q, test_query_nul_in_value_is_error);
	tcase_add_test(q, test_query_invalid_workflow_id_is_error);
	tcase_add_test(q, test_query_workflow_id_bounded_by_length);
	tcase_add_test(q, test_query_empty_workspace_is_absent);
	tcase_add_test(q, test_query_invalid_workspace_is_error);
	tcase_add_test(q, test_query_longer_than_max_is_refused_unread);
	tcase_add_test(q, test_query_lists_every_invalid_field_in_field_order);
	tcase_add_test(q, test_query_lists_from_and_to_both);
	tcase_add_test(q, test_query_messages_never_echo_input);
	tcase_add_test(q, test_field_names_match_spec);
	suite_add_tcase(s, q);
	return s;
}
