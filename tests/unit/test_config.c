/* test_config.c: bounded numbers, comma-separated lists, and cfg_load()
 * reading the environment (fcgi/config.h, SPEC.md "Configuration"). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "unit.h"

/* ---- cfg_parse_long ------------------------------------------------ */

START_TEST(test_parse_long_accepts_bounds_inclusive)
{
	long v = -1;

	ck_assert_int_eq(cfg_parse_long("0", 0, 300, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(cfg_parse_long("300", 0, 300, &v), 0);
	ck_assert_int_eq(v, 300);
	ck_assert_int_eq(cfg_parse_long("5", 0, 300, &v), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(cfg_parse_long("007", 0, 300, &v), 0);
	ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_parse_long_refuses_out_of_bounds)
{
	long v = 42;

	ck_assert_int_eq(cfg_parse_long("301", 0, 300, &v), -1);
	ck_assert_int_eq(cfg_parse_long("0", 1, 60, &v), -1);
	ck_assert_int_eq(cfg_parse_long("9", 10, 600000, &v), -1);
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_parse_long_refuses_garbage)
{
	static const char *const bad[] = { "", " 5", "5 ", "5s", "0x10", "1e3",
	    "5.0", "five", "+5", "-5", "5\n", "\t5", "1,000" };
	size_t i;
	long v = 42;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(cfg_parse_long(bad[i], LONG_MIN, LONG_MAX, &v) == -1,
		    "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_parse_long_refuses_null)
{
	long v = 42;

	ck_assert_int_eq(cfg_parse_long(NULL, 0, 300, &v), -1);
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_parse_long_refuses_overflow)
{
	long v = 42;

	ck_assert_int_eq(cfg_parse_long("99999999999999999999999", 0, LONG_MAX, &v), -1);
	ck_assert_int_eq(v, 42);
}
END_TEST

/* ---- cfg_split_list ------------------------------------------------ */

START_TEST(test_split_list_trims_spaces_and_tabs)
{
	char buf[] = " https://a.example.com ,\thttps://b.example.com\t, c ";
	const char *items[4];

	ck_assert_int_eq(cfg_split_list(buf, items, 4), 3);
	ck_assert_str_eq(items[0], "https://a.example.com");
	ck_assert_str_eq(items[1], "https://b.example.com");
	ck_assert_str_eq(items[2], "c");
}
END_TEST

START_TEST(test_split_list_single_item)
{
	char buf[] = "https://clerk.example.com";
	const char *items[2];

	ck_assert_int_eq(cfg_split_list(buf, items, 2), 1);
	ck_assert_str_eq(items[0], "https://clerk.example.com");
}
END_TEST

START_TEST(test_split_list_skips_empty_items)
{
	char buf[] = ",a,, ,\t,b,";
	const char *items[4];

	ck_assert_int_eq(cfg_split_list(buf, items, 4), 2);
	ck_assert_str_eq(items[0], "a");
	ck_assert_str_eq(items[1], "b");
}
END_TEST

START_TEST(test_split_list_of_nothing_is_zero)
{
	char empty[] = "", blanks[] = " , \t ,";
	const char *items[2];

	ck_assert_int_eq(cfg_split_list(empty, items, 2), 0);
	ck_assert_int_eq(cfg_split_list(blanks, items, 2), 0);
}
END_TEST

START_TEST(test_split_list_keeps_inner_spaces)
{
	char buf[] = "a b , c\td";
	const char *items[2];

	ck_assert_int_eq(cfg_split_list(buf, items, 2), 2);
	ck_assert_str_eq(items[0], "a b");
	ck_assert_str_eq(items[1], "c\td");
}
END_TEST

START_TEST(test_split_list_exactly_max_items)
{
	char buf[] = "a,b,c";
	const char *items[3];

	ck_assert_int_eq(cfg_split_list(buf, items, 3), 3);
	ck_assert_str_eq(items[2], "c");
}
END_TEST

START_TEST(test_split_list_more_than_max_is_error)
{
	char buf[] = "a,b,c,d";
	const char *items[3];

	ck_assert_int_eq(cfg_split_list(buf, items, 3), -1);
}
END_TEST

/* ---- cfg_load ------------------------------------------------------ */

static const char *const cfg_vars[] = { "DATABASE_URL", "CLERK_JWT_KEY",
    "CLERK_JWT_KEY_FILE", "CLERK_JWKS_FILE", "CLERK_ISSUER",
    "CLERK_AUTHORIZED_PARTIES", "JWT_LEEWAY_SECONDS",
    "DB_CONNECT_TIMEOUT_SECONDS", "DB_STATEMENT_TIMEOUT_MS" };

static void
clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_vars) / sizeof(cfg_vars[0]); i++)
		unsetenv(cfg_vars[i]);
}

START_TEST(test_load_defaults)
{
	cfg_config c;
	char err[256] = "";

	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.leeway, 5);
	ck_assert_int_eq(c.connect_timeout, 2);
	ck_assert_int_eq(c.statement_timeout_ms, 3000);
	ck_assert_ptr_null(c.database_url);
	ck_assert_uint_eq(c.nissuers, 0);
	ck_assert_uint_eq(c.nparties, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(test_load_empty_variable_counts_as_unset)
{
	cfg_config c;
	char err[256] = "";

	setenv("JWT_LEEWAY_SECONDS", "", 1);
	setenv("CLERK_ISSUER", "", 1);
	setenv("DATABASE_URL", "", 1);
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.leeway, 5);
	ck_assert_uint_eq(c.nissuers, 0);
	ck_assert_ptr_null(c.database_url);
	cfg_free(&c);
}
END_TEST

START_TEST(test_load_reads_leeway_and_lists)
{
	cfg_config c;
	char err[256] = "";

	setenv("JWT_LEEWAY_SECONDS", "0", 1);
	setenv("CLERK_ISSUER", "https://clerk.example.com, https://b.example.com", 1);
	setenv("CLERK_AUTHORIZED_PARTIES", "http://localhost:3000", 1);
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.leeway, 0);
	ck_assert_uint_eq(c.nissuers, 2);
	ck_assert_str_eq(c.issuers[0], "https://clerk.example.com");
	ck_assert_str_eq(c.issuers[1], "https://b.example.com");
	ck_assert_uint_eq(c.nparties, 1);
	ck_assert_str_eq(c.parties[0], "http://localhost:3000");
	/* the lists are copies: the environment is left as it was */
	ck_assert_str_eq(getenv("CLERK_ISSUER"),
	    "https://clerk.example.com, https://b.example.com");
	cfg_free(&c);
}
END_TEST

START_TEST(test_load_bad_number_names_the_variable)
{
	cfg_config c;
	char err[256] = "";

	setenv("JWT_LEEWAY_SECONDS", "5s", 1);
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "JWT_LEEWAY_SECONDS must be a whole number from 0 to 300");
	cfg_free(&c);
	setenv("JWT_LEEWAY_SECONDS", "301", 1);
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "JWT_LEEWAY_SECONDS"));
	cfg_free(&c);
}
END_TEST

START_TEST(test_load_too_many_list_items_is_error)
{
	char many[CFG_LIST_MAX * 3 + 8];
	cfg_config c;
	char err[256] = "";
	size_t i, o = 0;

	for (i = 0; i <= CFG_LIST_MAX; i++) {
		many[o++] = 'i';
		many[o++] = ',';
	}
	many[o] = '\0';
	setenv("CLERK_AUTHORIZED_PARTIES", many, 1);
	ck_assert_int_eq(cfg_load(&c, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "CLERK_AUTHORIZED_PARTIES"));
	cfg_free(&c);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *n = tcase_create("parse_long");
	TCase *l = tcase_create("split_list");
	TCase *e = tcase_create("load");

	tcase_add_test(n, test_parse_long_accepts_bounds_inclusive);
	tcase_add_test(n, test_parse_long_refuses_out_of_bounds);
	tcase_add_test(n, test_parse_long_refuses_garbage);
	tcase_add_test(n, test_parse_long_refuses_null);
	tcase_add_test(n, test_parse_long_refuses_overflow);
	suite_add_tcase(s, n);

	tcase_add_test(l, test_split_list_trims_spaces_and_tabs);
	tcase_add_test(l, test_split_list_single_item);
	tcase_add_test(l, test_split_list_skips_empty_items);
	tcase_add_test(l, test_split_list_of_nothing_is_zero);
	tcase_add_test(l, test_split_list_keeps_inner_spaces);
	tcase_add_test(l, test_split_list_exactly_max_items);
	tcase_add_test(l, test_split_list_more_than_max_is_error);
	suite_add_tcase(s, l);

	/* Each test starts and ends with none of the service's variables set,
	 * so they also hold without fork (CK_FORK=no). */
	tcase_add_checked_fixture(e, clear_env, clear_env);
	tcase_add_test(e, test_load_defaults);
	tcase_add_test(e, test_load_empty_variable_counts_as_unset);
	tcase_add_test(e, test_load_reads_leeway_and_lists);
	tcase_add_test(e, test_load_bad_number_names_the_variable);
	tcase_add_test(e, test_load_too_many_list_items_is_error);
	suite_add_tcase(s, e);
	return s;
}
