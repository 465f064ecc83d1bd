/* test_request.c: params -> request, the route, the X-Request-Id rule
 * (fcgi/request.h). Params come from a small table through the getter. */
#include <string.h>

#include "request.h"
#include "unit.h"

#define ROUTE "/api/v1/workflows/3f2504e0-4f89-41d3-9a0c-0305e82c3301/runs/summary"

struct param {
	const char *name, *value;
};

static const char *
table_get(void *ctx, const char *name)
{
	const struct param *p;

	for (p = ctx; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p->value;
	return NULL;
}

static void
read_params(const struct param *params, req_request *r)
{
	memset(r, 0xa5, sizeof(*r));	/* req_read must set every field */
	req_read(table_get, (void *)params, r);
}

/* The request of the one param name=value, or of no params when name is NULL. */
static void
read_one(const char *name, const char *value, req_request *r)
{
	const struct param p[] = { { name, value }, { NULL, NULL } };

	read_params(p, r);
}

/* ---- method -------------------------------------------------------- */

/* REQUEST_METHOD value (NULL: none) is the method want, logged as text. */
static void
method_is(const char *value, req_method want, const char *text)
{
	req_request r;

	read_one(value ? "REQUEST_METHOD" : NULL, value, &r);
	ck_assert_msg(r.method == want, "method \"%s\" read as %d, want %d",
	    value ? value : "(none)", (int)r.method, (int)want);
	ck_assert_str_eq(r.method_text, text);
}

START_TEST(test_method_get_is_get)
{
	method_is("GET", REQ_GET, "GET");
}
END_TEST

START_TEST(test_method_head_is_head)
{
	method_is("HEAD", REQ_HEAD, "HEAD");
}
END_TEST

START_TEST(test_method_others_are_other)
{
	static const char *const others[] = { "POST", "PUT", "DELETE", "OPTIONS",
	    "PATCH", "get", "Head", "GET ", "", "GETX" };
	size_t i;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		method_is(others[i], REQ_OTHER, others[i]);
}
END_TEST

START_TEST(test_method_missing_is_other)
{
	method_is(NULL, REQ_OTHER, "");
}
END_TEST

START_TEST(test_method_text_is_cut_short)
{
	method_is("AVERYLONGMETHODNAMEINDEED", REQ_OTHER, "AVERYLONGMETHOD");
}
END_TEST

/* ---- path ---------------------------------------------------------- */

/* The path of the one param name=value is not ok, and not the route. */
static void
path_not_ok(const char *name, const char *value, req_request *r)
{
	read_one(name, value, r);
	ck_assert_int_eq(r->path_ok, 0);
	ck_assert_int_eq(req_route(r), ST_NOT_FOUND);
}

/* The path read from the params p is the route's. */
static void
path_is_route(const struct param *p)
{
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.path, ROUTE);
	ck_assert_int_eq(req_route(&r), ST_OK);
}

/* The path read from the params p is ok: path, of len bytes. */
static void
path_read_as(const struct param *p, req_request *r, const char *path, size_t len)
{
	read_params(p, r);
	ck_assert_int_eq(r->path_ok, 1);
	ck_assert_str_eq(r->path, path);
	ck_assert_uint_eq(r->path_len, len);
}

/* The path of the one param name=value is ok, and is path. */
static void
path_ok_is(const char *name, const char *value, const char *path)
{
	req_request r;

	read_one(name, value, &r);
	ck_assert_int_eq(r.path_ok, 1);
	ck_assert_str_eq(r.path, path);
}

START_TEST(test_path_prefers_document_uri)
{
	const struct param p[] = {
		{ "DOCUMENT_URI", "/a" },
		{ "SCRIPT_NAME", "/b" }, { "PATH_INFO", "/c" },
		{ "REQUEST_URI", "/d?x=1" }, { NULL, NULL } };
	req_request r;

	path_read_as(p, &r, "/a", 2);
}
END_TEST

START_TEST(test_path_document_uri_is_taken_as_decoded)
{
	path_ok_is("DOCUMENT_URI", "/a%41 b", "/a%41 b");
}
END_TEST

START_TEST(test_path_script_name_plus_path_info)
{
	const struct param p[] = {
		{ "SCRIPT_NAME", "/api/v1" }, { "PATH_INFO", "/workflows/x" },
		{ "REQUEST_URI", "/d" }, { NULL, NULL } };
	req_request r;

	path_read_as(p, &r, "/api/v1/workflows/x", 19);
}
END_TEST

START_TEST(test_path_script_name_alone)
{
	const struct param p[] = { { "SCRIPT_NAME", ROUTE }, { NULL, NULL } };

	path_is_route(p);
}
END_TEST

START_TEST(test_path_path_info_alone)
{
	const struct param p[] = {
		{ "SCRIPT_NAME", "" }, { "PATH_INFO", ROUTE }, { NULL, NULL } };

	path_is_route(p);
}
END_TEST

START_TEST(test_path_empty_document_uri_falls_back)
{
	const struct param p[] = {
		{ "DOCUMENT_URI", "" }, { "PATH_INFO", "/p" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.path, "/p");
}
END_TEST

START_TEST(test_path_request_uri_without_query)
{
	const struct param p[] = {
		{ "REQUEST_URI", ROUTE "?from=2024-01-01T00:00:00Z" },
		{ "QUERY_STRING", "from=2024-01-01T00:00:00Z" }, { NULL, NULL } };
	req_request r;

	path_read_as(p, &r, ROUTE, strlen(ROUTE));
	ck_assert_str_eq(r.query, "from=2024-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_path_request_uri_without_fragment)
{
	req_request r;

	read_one("REQUEST_URI", "/a/b#frag?x", &r);
	ck_assert_str_eq(r.path, "/a/b");
}
END_TEST

START_TEST(test_path_request_uri_is_percent_decoded)
{
	path_ok_is("REQUEST_URI", "/api/v1/%77orkflows/a+b%20c/runs/summary?x",
	    "/api/v1/workflows/a+b c/runs/summary");
}
END_TEST

START_TEST(test_path_request_uri_bad_encoding_is_not_ok)
{
	req_request r;

	path_not_ok("REQUEST_URI", "/api/%zz", &r);
}
END_TEST

START_TEST(test_path_request_uri_decoded_nul_is_not_ok)
{
	req_request r;

	path_not_ok("REQUEST_URI", ROUTE "%00/x", &r);
}
END_TEST

START_TEST(test_path_absent_is_not_ok)
{
	req_request r;

	path_not_ok("REQUEST_METHOD", "GET", &r);
	ck_assert_uint_eq(r.path_len, 0);
	ck_assert_str_eq(r.path, "");
}
END_TEST

START_TEST(test_path_of_512_bytes_is_ok)
{
	char long_path[REQ_PATH_MAX + 1];
	req_request r;

	memset(long_path, 'a', REQ_PATH_MAX);
	long_path[0] = '/';
	long_path[REQ_PATH_MAX] = '\0';
	read_one("DOCUMENT_URI", long_path, &r);
	ck_assert_int_eq(r.path_ok, 1);
	ck_assert_uint_eq(r.path_len, REQ_PATH_MAX);
}
END_TEST

START_TEST(test_path_longer_than_512_is_not_ok)
{
	char long_path[REQ_PATH_MAX + 2];
	req_request r;

	memset(long_path, 'a', REQ_PATH_MAX + 1);
	long_path[0] = '/';
	long_path[REQ_PATH_MAX + 1] = '\0';
	path_not_ok("DOCUMENT_URI", long_path, &r);
	ck_assert_uint_eq(r.path_len, REQ_PATH_MAX);
	ck_assert_uint_eq(strlen(r.path), REQ_PATH_MAX);
}
END_TEST

START_TEST(test_path_script_plus_info_longer_than_512_is_not_ok)
{
	char info[REQ_PATH_MAX];
	const struct param p[] = {
		{ "SCRIPT_NAME", "/api" }, { "PATH_INFO", info }, { NULL, NULL } };
	req_request r;

	memset(info, 'b', sizeof(info) - 1);
	info[0] = '/';
	info[sizeof(info) - 1] = '\0';	/* 4 + 511 bytes */
	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 0);
	ck_assert_uint_eq(r.path_len, REQ_PATH_MAX);
}
END_TEST

START_TEST(test_path_request_uri_longer_than_512_decoded_is_not_ok)
{
	char uri[3 * REQ_PATH_MAX + 8];
	req_request r;
	size_t i;

	uri[0] = '/';
	for (i = 0; i < REQ_PATH_MAX; i++)
		memcpy(uri + 1 + 3 * i, "%61", 3);
	uri[1 + 3 * REQ_PATH_MAX] = '\0';	/* decodes to 513 bytes */
	read_one("REQUEST_URI", uri, &r);
	ck_assert_int_eq(r.path_ok, 0);
	ck_assert_uint_eq(r.path_len, REQ_PATH_MAX);
	ck_assert_uint_eq(strlen(r.path), REQ_PATH_MAX);
}
END_TEST

/* ---- headers and query --------------------------------------------- */

/* The query, Authorization and X-Workspace-Id read from the one param
 * value (NULL: no params). What they point at is the caller's value or a
 * constant, so it outlives the request. */
static const char *
query_of(const char *value)
{
	req_request r;

	read_one(value ? "QUERY_STRING" : NULL, value, &r);
	return r.query;
}

static const char *
authorization_of(const char *value)
{
	req_request r;

	read_one(value ? "HTTP_AUTHORIZATION" : NULL, value, &r);
	return r.authorization;
}

static const char *
workspace_of(const char *value)
{
	req_request r;

	read_one(value ? "HTTP_X_WORKSPACE_ID" : NULL, value, &r);
	return r.workspace_id;
}

/* X-Request-Id value (NULL: none) is kept as want. */
static void
request_id_is(const char *value, const char *want)
{
	req_request r;

	read_one(value ? "HTTP_X_REQUEST_ID" : NULL, value, &r);
	ck_assert_str_eq(r.request_id, want);
}

START_TEST(test_query_absent_is_empty_string)
{
	const char *query = query_of(NULL);

	ck_assert_ptr_nonnull(query);
	ck_assert_str_eq(query, "");
}
END_TEST

START_TEST(test_query_is_kept_raw)
{
	ck_assert_str_eq(query_of("from=a%2Bb+c"), "from=a%2Bb+c");
}
END_TEST

START_TEST(test_authorization_passes_through)
{
	ck_assert_str_eq(authorization_of("Bearer abc.def.ghi"), "Bearer abc.def.ghi");
}
END_TEST

START_TEST(test_authorization_absent_is_null)
{
	ck_assert_ptr_null(authorization_of(NULL));
}
END_TEST

START_TEST(test_workspace_header_passes_through)
{
	ck_assert_str_eq(workspace_of("8d2f1c4e-0000-4a1b-b2c3-d4e5f6a7b8c9"),
	    "8d2f1c4e-0000-4a1b-b2c3-d4e5f6a7b8c9");
}
END_TEST

START_TEST(test_workspace_header_empty_is_absent)
{
	ck_assert_ptr_null(workspace_of(""));
}
END_TEST

START_TEST(test_workspace_header_missing_is_absent)
{
	ck_assert_ptr_null(workspace_of(NULL));
}
END_TEST

START_TEST(test_request_id_valid_is_copied)
{
	request_id_is("a3f47b9e-8c2d-4f1a-9b7e-2d3f5c6a7b8d",
	    "a3f47b9e-8c2d-4f1a-9b7e-2d3f5c6a7b8d");
}
END_TEST

START_TEST(test_request_id_invalid_is_empty)
{
	request_id_is("bad id\r\nX-Evil: 1", "");
}
END_TEST

START_TEST(test_request_id_missing_is_empty)
{
	request_id_is(NULL, "");
}
END_TEST

START_TEST(test_request_id_of_128_is_copied_whole)
{
	char id[REQ_ID_MAX + 1];

	memset(id, 'z', REQ_ID_MAX);
	id[REQ_ID_MAX] = '\0';
	request_id_is(id, id);
}
END_TEST

START_TEST(test_request_id_rule_accepts_allowed_characters)
{
	ck_assert_int_eq(req_request_id_ok("a"), 1);
	ck_assert_int_eq(req_request_id_ok("AZaz09._:-"), 1);
	ck_assert_int_eq(req_request_id_ok("trace:1.2_3-x"), 1);
	ck_assert_int_eq(req_request_id_ok("-"), 1);
}
END_TEST

START_TEST(test_request_id_rule_refuses_other_characters)
{
	static const char *const bad[] = { " ", "a b", "a/b", "a\"b", "a\\b",
	    "a\rb", "a\nb", "a\tb", "a;b", "a,b", "a=b", "a+b", "a%20b",
	    "caf\xc3\xa9", "a\x7f", "{a}" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(req_request_id_ok(bad[i]) == 0, "accepted %zu", i);
}
END_TEST

START_TEST(test_request_id_rule_refuses_empty_and_null)
{
	ck_assert_int_eq(req_request_id_ok(""), 0);
	ck_assert_int_eq(req_request_id_ok(NULL), 0);
}
END_TEST

START_TEST(test_request_id_rule_length_1_to_128)
{
	char id[REQ_ID_MAX + 2];

	memset(id, '7', REQ_ID_MAX);
	id[REQ_ID_MAX] = '\0';
	ck_assert_int_eq(req_request_id_ok(id), 1);
	id[REQ_ID_MAX] = '7';
	id[REQ_ID_MAX + 1] = '\0';
	ck_assert_int_eq(req_request_id_ok(id), 0);
}
END_TEST

/* ---- route --------------------------------------------------------- */

static st_status
route(const char *path, req_request *r)
{
	read_one("DOCUMENT_URI", path, r);
	return req_route(r);
}

/* The path is not the route. */
static void
not_routed(const char *path)
{
	req_request r;

	ck_assert_msg(route(path, &r) == ST_NOT_FOUND, "routed \"%s\"", path);
}

START_TEST(test_route_matches_summary_path)
{
	req_request r;

	ck_assert_int_eq(route(ROUTE, &r), ST_OK);
	ck_assert_uint_eq(r.workflow_id_len, 36);
	ck_assert_mem_eq(r.workflow_id, "3f2504e0-4f89-41d3-9a0c-0305e82c3301", 36);
	ck_assert_ptr_eq(r.workflow_id, r.path + strlen("/api/v1/workflows/"));
}
END_TEST

START_TEST(test_route_leaves_id_validation_to_validate)
{
	req_request r;

	ck_assert_int_eq(route("/api/v1/workflows/x/runs/summary", &r), ST_OK);
	ck_assert_uint_eq(r.workflow_id_len, 1);
	ck_assert_mem_eq(r.workflow_id, "x", 1);
}
END_TEST

START_TEST(test_route_rejects_empty_id)
{
	not_routed("/api/v1/workflows//runs/summary");
}
END_TEST

START_TEST(test_route_rejects_id_with_slash)
{
	not_routed("/api/v1/workflows/a/b/runs/summary");
	not_routed("/api/v1/workflows/a//runs/summary");
	not_routed("/api/v1/workflows//a/runs/summary");
}
END_TEST

START_TEST(test_route_rejects_encoded_slash_in_id)
{
	req_request r;

	read_one("REQUEST_URI", "/api/v1/workflows/a%2Fb/runs/summary", &r);
	ck_assert_int_eq(req_route(&r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_route_rejects_trailing_slash)
{
	not_routed(ROUTE "/");
}
END_TEST

START_TEST(test_route_rejects_longer_or_shorter_suffix)
{
	not_routed(ROUTE "x");
	not_routed(ROUTE "/x");
	not_routed("/api/v1/workflows/x/runs");
	not_routed("/api/v1/workflows/x/runs/summar");
	not_routed("/api/v1/workflows/x/summary");
}
END_TEST

START_TEST(test_route_rejects_other_prefixes)
{
	not_routed("/api/v2/workflows/x/runs/summary");
	not_routed("/api/v1/workflow/x/runs/summary");
	not_routed("api/v1/workflows/x/runs/summary");
	not_routed("//api/v1/workflows/x/runs/summary");
	not_routed("/x/api/v1/workflows/x/runs/summary");
	not_routed("/API/V1/WORKFLOWS/x/RUNS/SUMMARY");
}
END_TEST

START_TEST(test_route_rejects_prefix_and_suffix_alone)
{
	not_routed("/api/v1/workflows/runs/summary");
	not_routed("/api/v1/workflows/");
	not_routed("/");
	not_routed("");
}
END_TEST

Suite *
request_suite(void)
{
	Suite *s = suite_create("request");
	TCase *m = tcase_create("method");
	TCase *p = tcase_create("path");
	TCase *h = tcase_create("headers");
	TCase *r = tcase_create("route");

	tcase_add_test(m, test_method_get_is_get);
	tcase_add_test(m, test_method_head_is_head);
	tcase_add_test(m, test_method_others_are_other);
	tcase_add_test(m, test_method_missing_is_other);
	tcase_add_test(m, test_method_text_is_cut_short);
	suite_add_tcase(s, m);

	tcase_add_test(p, test_path_prefers_document_uri);
	tcase_add_test(p, test_path_document_uri_is_taken_as_decoded);
	tcase_add_test(p, test_path_script_name_plus_path_info);
	tcase_add_test(p, test_path_script_name_alone);
	tcase_add_test(p, test_path_path_info_alone);
	tcase_add_test(p, test_path_empty_document_uri_falls_back);
	tcase_add_test(p, test_path_request_uri_without_query);
	tcase_add_test(p, test_path_request_uri_without_fragment);
	tcase_add_test(p, test_path_request_uri_is_percent_decoded);
	tcase_add_test(p, test_path_request_uri_bad_encoding_is_not_ok);
	tcase_add_test(p, test_path_request_uri_decoded_nul_is_not_ok);
	tcase_add_test(p, test_path_absent_is_not_ok);
	tcase_add_test(p, test_path_of_512_bytes_is_ok);
	tcase_add_test(p, test_path_longer_than_512_is_not_ok);
	tcase_add_test(p, test_path_script_plus_info_longer_than_512_is_not_ok);
	tcase_add_test(p, test_path_request_uri_longer_than_512_decoded_is_not_ok);
	suite_add_tcase(s, p);

	tcase_add_test(h, test_query_absent_is_empty_string);
	tcase_add_test(h, test_query_is_kept_raw);
	tcase_add_test(h, test_authorization_passes_through);
	tcase_add_test(h, test_authorization_absent_is_null);
	tcase_add_test(h, test_workspace_header_passes_through);
	tcase_add_test(h, test_workspace_header_empty_is_absent);
	tcase_add_test(h, test_workspace_header_missing_is_absent);
	tcase_add_test(h, test_request_id_valid_is_copied);
	tcase_add_test(h, test_request_id_invalid_is_empty);
	tcase_add_test(h, test_request_id_missing_is_empty);
	tcase_add_test(h, test_request_id_of_128_is_copied_whole);
	tcase_add_test(h, test_request_id_rule_accepts_allowed_characters);
	tcase_add_test(h, test_request_id_rule_refuses_other_characters);
	tcase_add_test(h, test_request_id_rule_refuses_empty_and_null);
	tcase_add_test(h, test_request_id_rule_length_1_to_128);
	suite_add_tcase(s, h);

	tcase_add_test(r, test_route_matches_summary_path);
	tcase_add_test(r, test_route_leaves_id_validation_to_validate);
	tcase_add_test(r, test_route_rejects_empty_id);
	tcase_add_test(r, test_route_rejects_id_with_slash);
	tcase_add_test(r, test_route_rejects_encoded_slash_in_id);
	tcase_add_test(r, test_route_rejects_trailing_slash);
	tcase_add_test(r, test_route_rejects_longer_or_shorter_suffix);
	tcase_add_test(r, test_route_rejects_other_prefixes);
	tcase_add_test(r, test_route_rejects_prefix_and_suffix_alone);
	suite_add_tcase(s, r);
	return s;
}
