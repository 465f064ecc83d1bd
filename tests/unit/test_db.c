/* test_db.c: decoding the statement's one result row (fcgi/db.h,
 * fcgi/summary.sql): denied, the key's id, visible, seven counts, the
 * average or NULL. */
#include <string.h>

#include "db.h"
#include "unit.h"

#define KEY_ID "b48d26fb-000d-4334-9d54-9e3e5f9cfc54"

static st_status
decode(const char *const cols[DB_NCOLS], db_summary *s)
{
	const char *reason = NULL;
	st_status st;

	memset(s, 0x5a, sizeof(*s));
	st = db_decode_row(cols, s, &reason);
	if (st != ST_OK)
		ck_assert_ptr_nonnull(reason);
	return st;
}

static st_status
row(const char *visible, const char *avg, db_summary *s)
{
	const char *cols[DB_NCOLS] = { NULL, NULL, visible, "150", "5", "4",
	    "120", "20", "10", "1", avg };

	return decode(cols, s);
}

/* A row for an API-key caller: denied, the key's id, not visible. */
static st_status
key_row(const char *denied, const char *key_id, db_summary *s)
{
	const char *cols[DB_NCOLS] = { denied, key_id, "f", "0", "0", "0", "0",
	    "0", "0", "0", NULL };

	return decode(cols, s);
}

START_TEST(test_row_visible_decodes_counts_in_statement_order)
{
	db_summary s;

	ck_assert_int_eq(row("t", "245.6", &s), ST_OK);
	ck_assert_int_eq(s.total, 150);
	ck_assert_int_eq(s.pending, 5);
	ck_assert_int_eq(s.running, 4);
	ck_assert_int_eq(s.completed, 120);
	ck_assert_int_eq(s.failed, 20);
	ck_assert_int_eq(s.cancelled, 10);
	ck_assert_int_eq(s.paused, 1);
	ck_assert_int_eq(s.has_average, 1);
	ck_assert_double_eq(s.average_seconds, 245.6);
}
END_TEST

START_TEST(test_row_not_visible_is_not_found)
{
	const char *cols[DB_NCOLS] = { NULL, NULL, "f", NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL };
	db_summary s;

	ck_assert_int_eq(decode(cols, &s), ST_NOT_FOUND);
	ck_assert_int_eq(row("f", "1", &s), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_row_null_average_has_no_average)
{
	db_summary s;

	ck_assert_int_eq(row("t", NULL, &s), ST_OK);
	ck_assert_int_eq(s.has_average, 0);
	ck_assert_int_eq(s.total, 150);
}
END_TEST

START_TEST(test_row_average_reads_numeric_text_exactly)
{
	db_summary s;

	ck_assert_int_eq(row("t",
	    "245.6000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000000", &s), ST_OK);
	ck_assert_double_eq(s.average_seconds, 245.6);
	ck_assert_int_eq(row("t", "0.66666666666666666666666666666666666666666666667",
	    &s), ST_OK);
	ck_assert_double_eq(s.average_seconds, 2.0 / 3.0);
	ck_assert_int_eq(row("t", "0", &s), ST_OK);
	ck_assert_int_eq(s.has_average, 1);
	ck_assert_double_eq(s.average_seconds, 0.0);
}
END_TEST

START_TEST(test_row_average_may_be_negative)
{
	db_summary s;

	/* completed_at before started_at: bad data, but a number all the same */
	ck_assert_int_eq(row("t", "-1.5", &s), ST_OK);
	ck_assert_double_eq(s.average_seconds, -1.5);
}
END_TEST

START_TEST(test_row_bad_visible_is_internal_error)
{
	static const char *const bad[] = { "", "true", "false", "T", "1", "tt" };
	db_summary s;
	size_t i;

	ck_assert_int_eq(row(NULL, "1", &s), ST_INTERNAL_ERROR);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(row(bad[i], "1", &s) == ST_INTERNAL_ERROR,
		    "accepted visible \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_row_bad_count_is_internal_error)
{
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "1x",
	    "1.0", "0x10", "99999999999999999999" };
	size_t i, col;

	for (col = 3; col <= 9; col++)
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *cols[DB_NCOLS] = { NULL, NULL, "t", "1", "1", "1",
			    "1", "1", "1", "1", "1" };
			db_summary s;

			cols[col] = bad[i];
			ck_assert_msg(decode(cols, &s) == ST_INTERNAL_ERROR,
			    "accepted column %zu \"%s\"", col, bad[i]);
		}
}
END_TEST

START_TEST(test_row_null_count_is_internal_error)
{
	size_t col;

	for (col = 3; col <= 9; col++) {
		const char *cols[DB_NCOLS] = { NULL, NULL, "t", "1", "1", "1", "1",
		    "1", "1", "1", NULL };
		db_summary s;

		cols[col] = NULL;
		ck_assert_msg(decode(cols, &s) == ST_INTERNAL_ERROR,
		    "accepted NULL column %zu", col);
	}
}
END_TEST

START_TEST(test_row_bad_average_is_internal_error)
{
	static const char *const bad[] = { "", "abc", "1.5x", "1.5 ", "1e999" };
	db_summary s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(row("t", bad[i], &s) == ST_INTERNAL_ERROR,
		    "accepted average \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_row_largest_count)
{
	const char *cols[DB_NCOLS] = { NULL, NULL, "t", "9223372036854775807",
	    "0", "0", "0", "0", "0", "0", NULL };
	db_summary s;

	ck_assert_int_eq(decode(cols, &s), ST_OK);
	ck_assert_int_eq(s.total, INT64_MAX);
}
END_TEST

START_TEST(test_row_unknown_revoked_expired_key_is_invalid_api_key)
{
	db_summary s;

	ck_assert_int_eq(key_row("unknown", NULL, &s), ST_INVALID_API_KEY);
	ck_assert_str_eq(s.key_id, "");
	ck_assert_int_eq(key_row("revoked", KEY_ID, &s), ST_INVALID_API_KEY);
	ck_assert_str_eq(s.key_id, KEY_ID);
	ck_assert_int_eq(key_row("expired", KEY_ID, &s), ST_INVALID_API_KEY);
}
END_TEST

START_TEST(test_row_key_of_other_workspace_or_scope_is_forbidden)
{
	db_summary s;

	ck_assert_int_eq(key_row("workspace", KEY_ID, &s), ST_FORBIDDEN);
	ck_assert_int_eq(key_row("scope", KEY_ID, &s), ST_FORBIDDEN);
	ck_assert_str_eq(s.key_id, KEY_ID);
}
END_TEST

START_TEST(test_row_allowed_key_falls_through_to_visibility)
{
	const char *cols[DB_NCOLS] = { NULL, KEY_ID, "t", "3", "0", "0", "3",
	    "0", "0", "0", "1.5" };
	db_summary s;

	ck_assert_int_eq(key_row(NULL, KEY_ID, &s), ST_NOT_FOUND);
	ck_assert_int_eq(decode(cols, &s), ST_OK);
	ck_assert_str_eq(s.key_id, KEY_ID);
	ck_assert_int_eq(s.completed, 3);
}
END_TEST

START_TEST(test_row_unknown_denial_or_bad_key_id_is_internal_error)
{
	db_summary s;

	ck_assert_int_eq(key_row("", KEY_ID, &s), ST_INTERNAL_ERROR);
	ck_assert_int_eq(key_row("Scope", KEY_ID, &s), ST_INTERNAL_ERROR);
	ck_assert_int_eq(key_row("scopes", KEY_ID, &s), ST_INTERNAL_ERROR);
	ck_assert_int_eq(key_row(NULL, "b48d26fb", &s), ST_INTERNAL_ERROR);
	ck_assert_int_eq(key_row(NULL, KEY_ID "0", &s), ST_INTERNAL_ERROR);
}
END_TEST

/* The last column: how far a standby is behind; absent on a primary. */
START_TEST(test_row_replay_lag_decodes_and_is_minus_one_on_a_primary)
{
	const char *cols[DB_NCOLS] = { NULL, NULL, "t", "1", "0", "0", "1", "0", "0",
	    "0", "2.5", "250" };
	db_summary s;

	ck_assert_int_eq(decode(cols, &s), ST_OK);
	ck_assert_int_eq(s.replay_lag_ms, 250);
	cols[11] = NULL;
	ck_assert_int_eq(decode(cols, &s), ST_OK);
	ck_assert_int_eq(s.replay_lag_ms, -1);
	cols[11] = "-3";
	ck_assert_int_eq(decode(cols, &s), ST_INTERNAL_ERROR);
	cols[11] = "12ms";
	ck_assert_int_eq(decode(cols, &s), ST_INTERNAL_ERROR);
}
END_TEST

Suite *
db_suite(void)
{
	Suite *s = suite_create("db");
	TCase *r = tcase_create("decode_row");

	tcase_add_test(r, test_row_visible_decodes_counts_in_statement_order);
	tcase_add_test(r, test_row_not_visible_is_not_found);
	tcase_add_test(r, test_row_null_average_has_no_average);
	tcase_add_test(r, test_row_replay_lag_decodes_and_is_minus_one_on_a_primary);
	tcase_add_test(r, test_row_average_reads_numeric_text_exactly);
	tcase_add_test(r, test_row_average_may_be_negative);
	tcase_add_test(r, test_row_bad_visible_is_internal_error);
	tcase_add_test(r, test_row_bad_count_is_internal_error);
	tcase_add_test(r, test_row_null_count_is_internal_error);
	tcase_add_test(r, test_row_bad_average_is_internal_error);
	tcase_add_test(r, test_row_largest_count);
	tcase_add_test(r, test_row_unknown_revoked_expired_key_is_invalid_api_key);
	tcase_add_test(r, test_row_key_of_other_workspace_or_scope_is_forbidden);
	tcase_add_test(r, test_row_allowed_key_falls_through_to_visibility);
	tcase_add_test(r, test_row_unknown_denial_or_bad_key_id_is_internal_error);
	suite_add_tcase(s, r);
	return s;
}
