/* test_config.c: bounded numbers, comma-separated lists, and cfg_load()
 * reading the environment (fcgi/config.h, SPEC.md "Configuration"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* cfg_split_list of a copy of text into max items gives n, and then item i
 * is want[i] wherever that is not NULL (want itself may be NULL). The copy
 * and the items are exactly as large as they must be, so that ASan catches
 * a write past either. */
static void
split_is(const char *text, size_t max, int n, const char *const *want)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 1);
	const char **items = malloc(max * sizeof(*items));
	int i;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(items);
	memcpy(buf, text, len + 1);
	ck_assert_msg(cfg_split_list(buf, items, max) == n, "\"%s\": not %d items",
	    text, n);
	for (i = 0; want != NULL && i < n; i++)
		if (want[i] != NULL)
			ck_assert_str_eq(items[i], want[i]);
	free(items);
	free(buf);
}

#define ITEMS(...) ((const char *const[]){ __VA_ARGS__ })

START_TEST(test_split_list_trims_spaces_and_tabs)
{
	split_is(" https://a.example.com ,\thttps://b.example.com\t, c ", 4, 3,
	    ITEMS("https://a.example.com", "https://b.example.com", "c"));
}
END_TEST

START_TEST(test_split_list_single_item)
{
	split_is("https://clerk.example.com", 2, 1, ITEMS("https://clerk.example.com"));
}
END_TEST

START_TEST(test_split_list_skips_empty_items)
{
	split_is(",a,, ,\t,b,", 4, 2, ITEMS("a", "b"));
}
END_TEST

START_TEST(test_split_list_of_nothing_is_zero)
{
	split_is("", 2, 0, NULL);
	split_is(" , \t ,", 2, 0, NULL);
}
END_TEST

START_TEST(test_split_list_keeps_inner_spaces)
{
	split_is("a b , c\td", 2, 2, ITEMS("a b", "c\td"));
}
END_TEST

START_TEST(test_split_list_exactly_max_items)
{
	split_is("a,b,c", 3, 3, ITEMS(NULL, NULL, "c"));
}
END_TEST

START_TEST(test_split_list_more_than_max_is_error)
{
	split_is("a,b,c,d", 3, -1, NULL);
}
END_TEST

/* ---- cfg_load ------------------------------------------------------ */

static const char *const cfg_vars[] = { "DATABASE_URL", "CLERK_JWT_KEY",
    "CLERK_JWT_KEY_FILE", "CLERK_JWKS_FILE", "CLERK_ISSUER",
    "CLERK_AUTHORIZED_PARTIES", "JWT_LEEWAY_SECONDS",
    "DB_CONNECT_TIMEOUT_SECONDS", "DB_STATEMENT_TIMEOUT_MS",
    "TOKEN_CACHE_ENTRIES", "RUNS_SUMMARY_CONFIG", "FCGI_LISTEN", "FCGI_WORKERS",
    "FCGI_SOCKET_MODE", "FCGI_SOCKET_OWNER", "FCGI_MAX_REQUESTS", "LOG_LEVEL",
    "SHUTDOWN_GRACE_SECONDS", "REQUEST_TIMEOUT_SECONDS", "DB_TRANSACTION_POOLING",
    "DB_MAX_CONNECTION_AGE_SECONDS" };

static void
clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(cfg_vars) / sizeof(cfg_vars[0]); i++)
		unsetenv(cfg_vars[i]);
}

/* cfg_load of the environment as it is succeeds; cfg_free(c) after. */
static void
load_ok(cfg_config *c)
{
	char err[256] = "";

	ck_assert_msg(cfg_load(c, NULL, err, sizeof(err)) == 0, "refused: %s", err);
}

/* With name set to value, cfg_load fails with its message in err. */
static void
load_refused(const char *name, const char *value, char *err, size_t errlen)
{
	cfg_config c;

	setenv(name, value, 1);
	ck_assert_int_eq(cfg_load(&c, NULL, err, errlen), -1);
	cfg_free(&c);
}

START_TEST(test_load_defaults)
{
	cfg_config c;

	load_ok(&c);
	ck_assert_int_eq(c.leeway, 5);
	ck_assert_int_eq(c.connect_timeout, 2);
	ck_assert_int_eq(c.statement_timeout_ms, 3000);
	ck_assert_int_eq(c.token_cache_entries, 1024);
	ck_assert_int_eq(c.request_timeout, 10);
	ck_assert_ptr_null(c.database_url);
	ck_assert_uint_eq(c.nissuers, 0);
	ck_assert_uint_eq(c.nparties, 0);
	cfg_free(&c);
}
END_TEST

START_TEST(test_load_empty_variable_counts_as_unset)
{
	cfg_config c;

	setenv("JWT_LEEWAY_SECONDS", "", 1);
	setenv("DATABASE_URL", "", 1);
	load_ok(&c);
	ck_assert_int_eq(c.leeway, 5);
	ck_assert_ptr_null(c.database_url);
	cfg_free(&c);
}
END_TEST

START_TEST(test_load_refuses_empty_list_variable)
{
	char err[256] = "";

	load_refused("CLERK_ISSUER", "", err, sizeof(err));
	ck_assert_str_eq(err, "CLERK_ISSUER is set but names no value");
}
END_TEST

START_TEST(test_load_reads_leeway_and_lists)
{
	cfg_config c;

	setenv("JWT_LEEWAY_SECONDS", "0", 1);
	setenv("CLERK_ISSUER", "https://clerk.example.com, https://b.example.com", 1);
	setenv("CLERK_AUTHORIZED_PARTIES", "http://localhost:3000", 1);
	load_ok(&c);
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
	char err[256] = "";

	load_refused("JWT_LEEWAY_SECONDS", "5s", err, sizeof(err));
	ck_assert_str_eq(err, "JWT_LEEWAY_SECONDS must be a whole number from 0 to 300");
	load_refused("JWT_LEEWAY_SECONDS", "301", err, sizeof(err));
	ck_assert_ptr_nonnull(strstr(err, "JWT_LEEWAY_SECONDS"));
}
END_TEST

START_TEST(test_load_token_cache_entries_bounds)
{
	char err[256] = "";
	cfg_config c;

	setenv("TOKEN_CACHE_ENTRIES", "0", 1);
	load_ok(&c);
	ck_assert_int_eq(c.token_cache_entries, 0);
	cfg_free(&c);
	setenv("TOKEN_CACHE_ENTRIES", "65536", 1);
	load_ok(&c);
	ck_assert_int_eq(c.token_cache_entries, 65536);
	cfg_free(&c);
	load_refused("TOKEN_CACHE_ENTRIES", "65537", err, sizeof(err));
	ck_assert_str_eq(err, "TOKEN_CACHE_ENTRIES must be a whole number from 0 to 65536");
}
END_TEST

START_TEST(test_load_request_timeout_bounds)
{
	char err[256] = "";
	cfg_config c;

	setenv("REQUEST_TIMEOUT_SECONDS", "1", 1);
	load_ok(&c);
	ck_assert_int_eq(c.request_timeout, 1);
	cfg_free(&c);
	load_refused("REQUEST_TIMEOUT_SECONDS", "0", err, sizeof(err));
	ck_assert_str_eq(err, "REQUEST_TIMEOUT_SECONDS must be a whole number from 1 to 3600");
}
END_TEST

START_TEST(test_load_jwks_file_is_a_setting)
{
	cfg_config c;

	setenv("CLERK_JWKS_FILE", "/etc/runs-summary/jwks.json", 1);
	load_ok(&c);
	ck_assert_str_eq(c.jwks_file, "/etc/runs-summary/jwks.json");
	cfg_free(&c);
}
END_TEST

/* A settings file holding text, named by RUNS_SUMMARY_CONFIG. */
static void
settings_file(char path[64], const char *text)
{
	int fd;

	snprintf(path, 64, "/tmp/rs-config-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	setenv("RUNS_SUMMARY_CONFIG", path, 1);
}

START_TEST(test_settings_file_wins_over_environment)
{
	char path[64];
	cfg_config c;

	setenv("JWT_LEEWAY_SECONDS", "7", 1);
	setenv("DB_STATEMENT_TIMEOUT_MS", "900", 1);
	settings_file(path, "# a comment\n\n  JWT_LEEWAY_SECONDS=9\r\n"
	    "DATABASE_URL=\"host=/run/postgresql dbname=onepin\"\n"
	    "CLERK_ISSUER='https://a.example, https://b.example'\n"
	    "JWT_LEEWAY_SECONDS=11\n");
	load_ok(&c);
	unlink(path);
	ck_assert_int_eq(c.leeway, 11);		/* the file's last line */
	ck_assert_int_eq(c.statement_timeout_ms, 900);	/* the environment's */
	ck_assert_str_eq(c.database_url, "host=/run/postgresql dbname=onepin");
	ck_assert_uint_eq(c.nissuers, 2);
	ck_assert_str_eq(c.issuers[1], "https://b.example");
	cfg_free(&c);
}
END_TEST

START_TEST(test_command_line_wins_over_file_and_environment)
{
	static const char *const cli[] = { "FCGI_WORKERS=3", "FCGI_LISTEN=unix:/run/a.sock",
	    NULL };
	char path[64], err[256] = "";
	cfg_config c;

	setenv("FCGI_WORKERS", "5", 1);
	settings_file(path, "FCGI_WORKERS=2\nFCGI_LISTEN=127.0.0.1:9000\n");
	ck_assert_msg(cfg_load(&c, cli, err, sizeof(err)) == 0, "%s", err);
	unlink(path);
	ck_assert_int_eq(c.workers, 3);
	ck_assert_str_eq(c.listen, "unix:/run/a.sock");
	cfg_free(&c);
}
END_TEST

START_TEST(test_settings_file_refuses_unknown_names_and_bad_lines)
{
	char path[64], err[256] = "";
	cfg_config c;

	settings_file(path, "JWT_LEEWAY_SECONDS=1\nJWT_LEEWAY=2\n");
	ck_assert_int_eq(cfg_load(&c, NULL, err, sizeof(err)), -1);
	cfg_free(&c);
	ck_assert_ptr_nonnull(strstr(err, "line 2: not a setting"));
	unlink(path);
	settings_file(path, "just words\n");
	ck_assert_int_eq(cfg_load(&c, NULL, err, sizeof(err)), -1);
	cfg_free(&c);
	ck_assert_ptr_nonnull(strstr(err, "line 1: not NAME=value"));
	unlink(path);
	settings_file(path, "RUNS_SUMMARY_CONFIG=/etc/other\n");
	ck_assert_int_eq(cfg_load(&c, NULL, err, sizeof(err)), -1);
	cfg_free(&c);
	unlink(path);
	load_refused("RUNS_SUMMARY_CONFIG", "/nonexistent/rs.conf", err, sizeof(err));
	ck_assert_str_eq(err, "RUNS_SUMMARY_CONFIG /nonexistent/rs.conf: No such file or directory");
}
END_TEST

START_TEST(test_load_too_many_list_items_is_error)
{
	char many[CFG_LIST_MAX * 3 + 8];
	char err[256] = "";
	size_t i, o = 0;

	for (i = 0; i <= CFG_LIST_MAX; i++) {
		many[o++] = 'i';
		many[o++] = ',';
	}
	many[o] = '\0';
	load_refused("CLERK_AUTHORIZED_PARTIES", many, err, sizeof(err));
	ck_assert_ptr_nonnull(strstr(err, "CLERK_AUTHORIZED_PARTIES"));
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
	tcase_add_test(e, test_load_refuses_empty_list_variable);
	tcase_add_test(e, test_load_reads_leeway_and_lists);
	tcase_add_test(e, test_load_bad_number_names_the_variable);
	tcase_add_test(e, test_load_too_many_list_items_is_error);
	tcase_add_test(e, test_load_token_cache_entries_bounds);
	tcase_add_test(e, test_load_request_timeout_bounds);
	tcase_add_test(e, test_load_jwks_file_is_a_setting);
	tcase_add_test(e, test_settings_file_wins_over_environment);
	tcase_add_test(e, test_settings_file_refuses_unknown_names_and_bad_lines);
	tcase_add_test(e, test_command_line_wins_over_file_and_environment);
	suite_add_tcase(s, e);
	return s;
}
