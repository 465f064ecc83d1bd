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

/* ---- method -------------------------------------------------------- */

START_TEST(test_method_get_is_get)
{
	const struct param p[] = { { "REQUEST_METHOD", "GET" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.method, REQ_GET);
	ck_assert_str_eq(r.method_text, "GET");
}
END_TEST

START_TEST(test_method_head_is_head)
{
	const struct param p[] = { { "REQUEST_METHOD", "HEAD" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.method, REQ_HEAD);
	ck_assert_str_eq(r.method_text, "HEAD");
}
END_TEST

START_TEST(test_method_others_are_other)
{
	static const char *const others[] = { "POST", "PUT", "DELETE", "OPTIONS",
	    "PATCH", "get", "Head", "GET ", "", "GETX" };
	size_t i;

	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		const struct param p[] = { { "REQUEST_METHOD", others[i] },
		    { NULL, NULL } };
		req_request r;

		read_params(p, &r);
		ck_assert_int_eq(r.method, REQ_OTHER);
		ck_assert_str_eq(r.method_text, others[i]);
	}
}
END_TEST

START_TEST(test_method_missing_is_other)
{
	const struct param p[] = { { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.method, REQ_OTHER);
	ck_assert_str_eq(r.method_text, "");
}
END_TEST

START_TEST(test_method_text_is_cut_short)
{
	const struct param p[] = {
		{ "REQUEST_METHOD", "AVERYLONGMETHODNAMEINDEED" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.method, REQ_OTHER);
	ck_assert_str_eq(r.method_text, "AVERYLONGMETHOD");
}
END_TEST

/* ---- path ---------------------------------------------------------- */

START_TEST(test_path_prefers_document_uri)
{
	const struct param p[] = {
		{ "DOCUMENT_URI", "/a" },
		{ "SCRIPT_NAME", "/b" }, { "PATH_INFO", "/c" },
		{ "REQUEST_URI", "/d?x=1" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 1);
	ck_assert_str_eq(r.path, "/a");
	ck_assert_uint_eq(r.path_len, 2);
}
END_TEST

START_TEST(test_path_document_uri_is_taken_as_decoded)
{
	const struct param p[] = { { "DOCUMENT_URI", "/a%41 b" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 1);
	ck_assert_str_eq(r.path, "/a%41 b");
}
END_TEST

START_TEST(test_path_script_name_plus_path_info)
{
	const struct param p[] = {
		{ "SCRIPT_NAME", "/api/v1" }, { "PATH_INFO", "/workflows/x" },
		{ "REQUEST_URI", "/d" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 1);
	ck_assert_str_eq(r.path, "/api/v1/workflows/x");
	ck_assert_uint_eq(r.path_len, 19);
}
END_TEST

START_TEST(test_path_script_name_alone)
{
	const struct param p[] = { { "SCRIPT_NAME", ROUTE }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.path, ROUTE);
	ck_assert_int_eq(req_route(&r), ST_OK);
}
END_TEST

START_TEST(test_path_path_info_alone)
{
	const struct param p[] = {
		{ "SCRIPT_NAME", "" }, { "PATH_INFO", ROUTE }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.path, ROUTE);
	ck_assert_int_eq(req_route(&r), ST_OK);
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

	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 1);
	ck_assert_str_eq(r.path, ROUTE);
	ck_assert_uint_eq(r.path_len, strlen(ROUTE));
	ck_assert_str_eq(r.query, "from=2024-01-01T00:00:00Z");
}
END_TEST

START_TEST(test_path_request_uri_without_fragment)
{
	const struct param p[] = { { "REQUEST_URI", "/a/b#frag?x" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.path, "/a/b");
}
END_TEST

START_TEST(test_path_request_uri_is_percent_decoded)
{
	const struct param p[] = {
		{ "REQUEST_URI", "/api/v1/%77orkflows/a+b%20c/runs/summary?x" },
		{ NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 1);
	ck_assert_str_eq(r.path, "/api/v1/workflows/a+b c/runs/summary");
}
END_TEST

START_TEST(test_path_request_uri_bad_encoding_is_not_ok)
{
	const struct param p[] = { { "REQUEST_URI", "/api/%zz" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 0);
	ck_assert_int_eq(req_route(&r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_path_request_uri_decoded_nul_is_not_ok)
{
	const struct param p[] = {
		{ "REQUEST_URI", ROUTE "%00/x" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 0);
	ck_assert_int_eq(req_route(&r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_path_absent_is_not_ok)
{
	const struct param p[] = { { "REQUEST_METHOD", "GET" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 0);
	ck_assert_uint_eq(r.path_len, 0);
	ck_assert_str_eq(r.path, "");
	ck_assert_int_eq(req_route(&r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_path_of_512_bytes_is_ok)
{
	char long_path[REQ_PATH_MAX + 1];
	const struct param p[] = { { "DOCUMENT_URI", long_path }, { NULL, NULL } };
	req_request r;

	memset(long_path, 'a', REQ_PATH_MAX);
	long_path[0] = '/';
	long_path[REQ_PATH_MAX] = '\0';
	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 1);
	ck_assert_uint_eq(r.path_len, REQ_PATH_MAX);
}
END_TEST

START_TEST(test_path_longer_than_512_is_not_ok)
{
	char long_path[REQ_PATH_MAX + 2];
	const struct param p[] = { { "DOCUMENT_URI", long_path }, { NULL, NULL } };
	req_request r;

	memset(long_path, 'a', REQ_PATH_MAX + 1);
	long_path[0] = '/';
	long_path[REQ_PATH_MAX + 1] = '\0';
	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 0);
	ck_assert_uint_eq(r.path_len, REQ_PATH_MAX);
	ck_assert_uint_eq(strlen(r.path), REQ_PATH_MAX);
	ck_assert_int_eq(req_route(&r), ST_NOT_FOUND);
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
	const struct param p[] = { { "REQUEST_URI", uri }, { NULL, NULL } };
	req_request r;
	size_t i;

	uri[0] = '/';
	for (i = 0; i < REQ_PATH_MAX; i++)
		memcpy(uri + 1 + 3 * i, "%61", 3);
	uri[1 + 3 * REQ_PATH_MAX] = '\0';	/* decodes to 513 bytes */
	read_params(p, &r);
	ck_assert_int_eq(r.path_ok, 0);
	ck_assert_uint_eq(r.path_len, REQ_PATH_MAX);
	ck_assert_uint_eq(strlen(r.path), REQ_PATH_MAX);
}
END_TEST

/* ---- headers and query --------------------------------------------- */

START_TEST(test_query_absent_is_empty_string)
{
	const struct param p[] = { { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_ptr_nonnull(r.query);
	ck_assert_str_eq(r.query, "");
}
END_TEST

START_TEST(test_query_is_kept_raw)
{
	const struct param p[] = { { "QUERY_STRING", "from=a%2Bb+c" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.query, "from=a%2Bb+c");
}
END_TEST

START_TEST(test_authorization_passes_through)
{
	const struct param p[] = {
		{ "HTTP_AUTHORIZATION", "Bearer abc.def.ghi" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.authorization, "Bearer abc.def.ghi");
}
END_TEST

START_TEST(test_authorization_absent_is_null)
{
	const struct param p[] = { { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_ptr_null(r.authorization);
}
END_TEST

START_TEST(test_workspace_header_passes_through)
{
	const struct param p[] = {
		{ "HTTP_X_WORKSPACE_ID", "8d2f1c4e-0000-4a1b-b2c3-d4e5f6a7b8c9" },
		{ NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.workspace_id, "8d2f1c4e-0000-4a1b-b2c3-d4e5f6a7b8c9");
}
END_TEST

START_TEST(test_workspace_header_empty_is_absent)
{
	const struct param p[] = { { "HTTP_X_WORKSPACE_ID", "" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_ptr_null(r.workspace_id);
}
END_TEST

START_TEST(test_workspace_header_missing_is_absent)
{
	const struct param p[] = { { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_ptr_null(r.workspace_id);
}
END_TEST

START_TEST(test_request_id_valid_is_copied)
{
	const struct param p[] = {
		{ "HTTP_X_REQUEST_ID", "a3f47b9e-8c2d-4f1a-9b7e-2d3f5c6a7b8d" },
		{ NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.request_id, "a3f47b9e-8c2d-4f1a-9b7e-2d3f5c6a7b8d");
}
END_TEST

START_TEST(test_request_id_invalid_is_empty)
{
	const struct param p[] = {
		{ "HTTP_X_REQUEST_ID", "bad id\r\nX-Evil: 1" }, { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.request_id, "");
}
END_TEST

START_TEST(test_request_id_missing_is_empty)
{
	const struct param p[] = { { NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_str_eq(r.request_id, "");
}
END_TEST

START_TEST(test_request_id_of_128_is_copied_whole)
{
	char id[REQ_ID_MAX + 1];
	const struct param p[] = { { "HTTP_X_REQUEST_ID", id }, { NULL, NULL } };
	req_request r;

	memset(id, 'z', REQ_ID_MAX);
	id[REQ_ID_MAX] = '\0';
	read_params(p, &r);
	ck_assert_str_eq(r.request_id, id);
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
	const struct param p[] = { { "DOCUMENT_URI", path }, { NULL, NULL } };

	read_params(p, r);
	return req_route(r);
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
	req_request r;

	ck_assert_int_eq(route("/api/v1/workflows//runs/summary", &r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_route_rejects_id_with_slash)
{
	req_request r;

	ck_assert_int_eq(route("/api/v1/workflows/a/b/runs/summary", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/api/v1/workflows/a//runs/summary", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/api/v1/workflows//a/runs/summary", &r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_route_rejects_encoded_slash_in_id)
{
	const struct param p[] = {
		{ "REQUEST_URI", "/api/v1/workflows/a%2Fb/runs/summary" },
		{ NULL, NULL } };
	req_request r;

	read_params(p, &r);
	ck_assert_int_eq(req_route(&r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_route_rejects_trailing_slash)
{
	req_request r;

	ck_assert_int_eq(route(ROUTE "/", &r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_route_rejects_longer_or_shorter_suffix)
{
	req_request r;

	ck_assert_int_eq(route(ROUTE "x", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route(ROUTE "/x", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/api/v1/workflows/x/runs", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/api/v1/workflows/x/runs/summar", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/api/v1/workflows/x/summary", &r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_route_rejects_other_prefixes)
{
	req_request r;

	ck_assert_int_eq(route("/api/v2/workflows/x/runs/summary", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/api/v1/workflow/x/runs/summary", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("api/v1/workflows/x/runs/summary", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("//api/v1/workflows/x/runs/summary", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/x/api/v1/workflows/x/runs/summary", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/API/V1/WORKFLOWS/x/RUNS/SUMMARY", &r), ST_NOT_FOUND);
}
END_TEST

START_TEST(test_route_rejects_prefix_and_suffix_alone)
{
	req_request r;

	ck_assert_int_eq(route("/api/v1/workflows/runs/summary", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/api/v1/workflows/", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("/", &r), ST_NOT_FOUND);
	ck_assert_int_eq(route("", &r), ST_NOT_FOUND);
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
