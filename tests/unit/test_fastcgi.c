/* test_fastcgi.c: the FastCGI parser and framing (fcgi/fastcgi.h), fed
 * bytes as a web server or a hostile client would send them. */
#include <stdlib.h>
#include <string.h>

#include "fastcgi.h"
#include "unit.h"

/* A connection's bytes, built record by record. */
typedef struct {
	uint8_t b[300000];
	size_t n;
} wire;

static fcgi_arena arena;
static fcgi_parser parser;
static wire w;

static void
setup(void)
{
	fcgi_init(&parser, &arena);
	w.n = 0;
}

static void
put_record(wire *x, uint8_t type, uint16_t id, const void *content, size_t len, uint8_t pad)
{
	uint8_t h[8] = { 1, type, (uint8_t)(id >> 8), (uint8_t)id, (uint8_t)(len >> 8),
		(uint8_t)len, pad, 0 };

	ck_assert_uint_le(x->n + 8 + len + pad, sizeof(x->b));
	memcpy(x->b + x->n, h, 8);
	memcpy(x->b + x->n + 8, content, len);
	memset(x->b + x->n + 8 + len, 0xee, pad);
	x->n += 8 + len + pad;
}

static void
put_begin(wire *x, uint16_t id, uint16_t role, uint8_t flags)
{
	uint8_t body[8] = { (uint8_t)(role >> 8), (uint8_t)role, flags, 0, 0, 0, 0, 0 };

	put_record(x, 1, id, body, 8, 0);
}

/* One name-value pair; 4-byte lengths when long or when forced. */
static size_t
nv(uint8_t *out, const char *name, size_t nl, const char *value, size_t vl, int long_form)
{
	size_t o = 0;
	size_t lens[2] = { nl, vl };
	int i;

	for (i = 0; i < 2; i++) {
		if (lens[i] < 128 && !long_form) {
			out[o++] = (uint8_t)lens[i];
		} else {
			out[o++] = (uint8_t)(0x80 | (lens[i] >> 24));
			out[o++] = (uint8_t)(lens[i] >> 16);
			out[o++] = (uint8_t)(lens[i] >> 8);
			out[o++] = (uint8_t)lens[i];
		}
	}
	memcpy(out + o, name, nl);
	memcpy(out + o + nl, value, vl);
	return o + nl + vl;
}

/* A whole GET as nginx sends it: BEGIN, params, empty params, empty stdin. */
static void
put_get(wire *x, uint16_t id, uint8_t flags, const char *uri)
{
	uint8_t p[512];
	size_t n = 0;

	put_begin(x, id, 1, flags);
	n += nv(p + n, "REQUEST_METHOD", 14, "GET", 3, 0);
	n += nv(p + n, "DOCUMENT_URI", 12, uri, strlen(uri), 0);
	n += nv(p + n, "HTTP_X_REQUEST_ID", 17, "abc", 3, 0);
	put_record(x, 4, id, p, n, 3);
	put_record(x, 4, id, "", 0, 0);
	put_record(x, 5, id, "", 0, 0);
}

/* Feeds x from *off in chunks of step bytes until an event. */
static fcgi_event
feed(const wire *x, size_t *off, size_t step)
{
	for (;;) {
		size_t len = x->n - *off < step ? x->n - *off : step, used = 0;
		fcgi_event ev = fcgi_feed(&parser, x->b + *off, len, &used);

		ck_assert_uint_le(used, len);
		*off += used;
		if (ev != FCGI_EV_MORE || *off == x->n)
			return ev;
	}
}

START_TEST(test_get_as_nginx_sends_it_is_one_request)
{
	size_t off = 0;

	put_get(&w, 1, 1, "/healthz");
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_str_eq(fcgi_param(&parser, "REQUEST_METHOD"), "GET");
	ck_assert_str_eq(fcgi_param(&parser, "DOCUMENT_URI"), "/healthz");
	ck_assert_str_eq(fcgi_param(&parser, "HTTP_X_REQUEST_ID"), "abc");
	ck_assert_ptr_null(fcgi_param(&parser, "QUERY_STRING"));
	ck_assert_ptr_null(fcgi_param(&parser, "NOT_KEPT"));
	ck_assert_int_eq(parser.keep, 1);
	fcgi_request_done(&parser);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_MORE);
	ck_assert_uint_eq(off, w.n);
	ck_assert_int_eq(fcgi_idle(&parser), 1);
	ck_assert_int_eq(fcgi_request_over(&parser), 1);
}
END_TEST

START_TEST(test_one_byte_at_a_time_gives_the_same_request)
{
	size_t off = 0;

	put_get(&w, 7, 0, "/api/v1/workflows/x/runs/summary");
	ck_assert_int_eq(feed(&w, &off, 1), FCGI_EV_REQUEST);
	ck_assert_str_eq(fcgi_param(&parser, "DOCUMENT_URI"), "/api/v1/workflows/x/runs/summary");
	ck_assert_int_eq(parser.keep, 0);
	ck_assert_int_eq(fcgi_idle(&parser), 1);
}
END_TEST

START_TEST(test_params_split_across_records_mid_pair)
{
	uint8_t p[64];
	size_t n = nv(p, "QUERY_STRING", 12, "from=1&to=2", 11, 1), off = 0;

	put_begin(&w, 1, 1, 0);
	put_record(&w, 4, 1, p, 3, 0);
	put_record(&w, 4, 1, p + 3, 10, 7);
	put_record(&w, 4, 1, p + 13, n - 13, 0);
	put_record(&w, 4, 1, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_str_eq(fcgi_param(&parser, "QUERY_STRING"), "from=1&to=2");
}
END_TEST

START_TEST(test_first_of_a_repeated_name_counts)
{
	uint8_t p[64];
	size_t n = 0, off = 0;

	n += nv(p + n, "HTTP_X_WORKSPACE_ID", 19, "first", 5, 0);
	n += nv(p + n, "HTTP_X_WORKSPACE_ID", 19, "second", 6, 0);
	put_begin(&w, 1, 1, 0);
	put_record(&w, 4, 1, p, n, 0);
	put_record(&w, 4, 1, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_str_eq(fcgi_param(&parser, "HTTP_X_WORKSPACE_ID"), "first");
}
END_TEST

/* Each value is kept to its room, whatever its claimed length: a 1 MiB
 * Authorization is kept as 16383 bytes, still longer than any token. */
START_TEST(test_over_long_values_are_cut_to_their_room)
{
	static const char *const names[] = { "REQUEST_METHOD", "DOCUMENT_URI",
	    "SCRIPT_NAME", "PATH_INFO", "REQUEST_URI", "QUERY_STRING",
	    "HTTP_AUTHORIZATION", "HTTP_X_WORKSPACE_ID", "HTTP_X_REQUEST_ID",
	    "CONTENT_LENGTH" };
	static const size_t room[] = { 31, 2047, 2047, 2047, 8191, 4095, 16383, 127, 255, 31 };
	static uint8_t p[1 << 21];
	char *big = malloc(1 << 20);
	size_t i, n, off = 0;

	ck_assert_ptr_nonnull(big);
	memset(big, 'A', 1 << 20);
	put_begin(&w, 1, 1, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_MORE);
	for (i = 0; i < 10; i++) {
		size_t k = 0, at;

		n = nv(p, names[i], strlen(names[i]), big, 1 << 20, 0);
		for (at = 0; at < n; at += k) {
			k = n - at < 65535 ? n - at : 65535;
			w.n = 0;
			put_record(&w, 4, 1, p + at, k, 0);
			off = 0;
			ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_MORE);
		}
	}
	w.n = 0;
	off = 0;
	put_record(&w, 4, 1, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(strlen(fcgi_param(&parser, names[i])), room[i]);
	free(big);
}
END_TEST

START_TEST(test_long_names_and_unknown_names_are_skipped)
{
	uint8_t p[400];
	char longname[200];
	size_t n = 0, off = 0;

	memset(longname, 'Q', sizeof(longname));
	memcpy(longname, "QUERY_STRING", 12);
	n += nv(p + n, longname, sizeof(longname), "x", 1, 0);
	n += nv(p + n, "", 0, "", 0, 0);
	n += nv(p + n, "QUERY_STRING", 12, "", 0, 0);
	put_begin(&w, 1, 1, 0);
	put_record(&w, 4, 1, p, n, 0);
	put_record(&w, 4, 1, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_str_eq(fcgi_param(&parser, "QUERY_STRING"), "");
}
END_TEST

START_TEST(test_params_ending_mid_pair_is_an_error)
{
	uint8_t p[64];
	size_t n = nv(p, "QUERY_STRING", 12, "abc", 3, 0), off = 0;

	put_begin(&w, 1, 1, 0);
	put_record(&w, 4, 1, p, n - 1, 0);
	put_record(&w, 4, 1, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_ERROR);
	ck_assert_str_eq(parser.error, "params cut short");
}
END_TEST

START_TEST(test_length_of_two_to_the_31_is_only_skipped)
{
	uint8_t p[16] = { 0x8f, 0xff, 0xff, 0xff, 1, 'X' };
	size_t off = 0;

	put_begin(&w, 1, 1, 0);
	put_record(&w, 4, 1, p, 6, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_MORE);
	ck_assert_int_eq(fcgi_idle(&parser), 0);
}
END_TEST

START_TEST(test_wrong_version_is_an_error)
{
	size_t off = 0;

	put_get(&w, 1, 0, "/");
	w.b[0] = 2;
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_ERROR);
}
END_TEST

START_TEST(test_begin_on_id_0_is_an_unknown_management_type)
{
	size_t off = 0;

	put_begin(&w, 0, 1, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_uint_eq(parser.reply_len, 16);
	ck_assert_uint_eq(parser.reply[1], 11);
	ck_assert_uint_eq(parser.reply[8], 1);
}
END_TEST

START_TEST(test_second_begin_on_another_id_is_cant_mpx_conn)
{
	uint8_t p[32];
	size_t n = nv(p, "REQUEST_METHOD", 14, "GET", 3, 0), off = 0;

	put_begin(&w, 1, 1, 0);
	put_begin(&w, 2, 1, 0);
	put_record(&w, 4, 1, p, n, 0);
	put_record(&w, 4, 1, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_uint_eq(parser.reply[1], 3);
	ck_assert_uint_eq(parser.reply[3], 2);
	ck_assert_uint_eq(parser.reply[8 + 4], 1);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_str_eq(fcgi_param(&parser, "REQUEST_METHOD"), "GET");
}
END_TEST

START_TEST(test_begin_twice_on_one_id_is_an_error)
{
	size_t off = 0;

	put_begin(&w, 1, 1, 0);
	put_begin(&w, 1, 1, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_ERROR);
}
END_TEST

START_TEST(test_unknown_role_is_answered_unknown_role)
{
	size_t off = 0;

	put_begin(&w, 5, 2, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_uint_eq(parser.reply[1], 3);
	ck_assert_uint_eq(parser.reply[8 + 4], 3);
	ck_assert_int_eq(fcgi_idle(&parser), 1);
}
END_TEST

/* A request ended by the parser's own END_REQUEST, whose client did not
 * ask to keep the connection, is followed by a close (reply_close). */
START_TEST(test_end_request_of_a_request_not_kept_asks_for_a_close)
{
	size_t off = 0;

	put_begin(&w, 5, 2, 0);
	put_begin(&w, 6, 2, 1);
	put_begin(&w, 7, 1, 0);
	put_record(&w, 2, 7, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_int_eq(parser.reply_close, 1);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_int_eq(parser.reply_close, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_uint_eq(parser.reply[3], 7);
	ck_assert_int_eq(parser.reply_close, 1);
}
END_TEST

/* Padding still to come after the last record: closing now would leave
 * bytes unread. */
START_TEST(test_request_is_not_over_until_its_padding_is_read)
{
	size_t off = 0, used = 0;

	put_begin(&w, 1, 1, 0);
	put_record(&w, 4, 1, "", 0, 0);
	put_record(&w, 5, 1, "", 0, 8);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	fcgi_request_done(&parser);
	ck_assert_int_eq(fcgi_feed(&parser, w.b + off, w.n - 4 - off, &used), FCGI_EV_MORE);
	off += used;
	ck_assert_int_eq(fcgi_request_over(&parser), 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_MORE);
	ck_assert_int_eq(fcgi_request_over(&parser), 1);
}
END_TEST

START_TEST(test_begin_with_a_short_body_is_an_error)
{
	size_t off = 0;

	put_record(&w, 1, 1, "\0\1\0", 3, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_ERROR);
}
END_TEST

/* libfcgi 2.4.2 wrote its answer to this into 64 bytes of stack and
 * died of it: each known name is answered once, whatever is asked. */
START_TEST(test_get_values_with_repeated_names_answers_each_once)
{
	uint8_t p[120];
	size_t n = 0, off = 0, i;

	for (i = 0; i < 6; i++)
		n += nv(p + n, "FCGI_MAX_CONNS", 14, "", 0, 0);
	n += nv(p + n, "FCGI_MPXS_CONNS", 15, "", 0, 0);
	put_record(&w, 9, 0, p, n, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_uint_eq(parser.reply[1], 10);
	ck_assert_uint_eq(parser.reply_len, 8 + (2 + 14 + 2) + (2 + 15 + 1));
	ck_assert_int_eq(memcmp(parser.reply + 8, "\016\002FCGI_MAX_CONNS32", 18), 0);
	ck_assert_int_eq(memcmp(parser.reply + 26, "\017\001FCGI_MPXS_CONNS0", 18), 0);
}
END_TEST

START_TEST(test_get_values_too_long_gets_an_empty_answer)
{
	static uint8_t p[4000];
	size_t n = 0, off = 0;

	while (n < sizeof(p) - 20)
		n += nv(p + n, "FCGI_MAX_REQS", 13, "", 0, 0);
	put_record(&w, 9, 0, p, n, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_uint_eq(parser.reply_len, 8);
}
END_TEST

START_TEST(test_unknown_management_type_is_answered_and_its_body_skipped)
{
	size_t off = 0;

	put_record(&w, 99, 0, "12345678", 8, 5);
	put_get(&w, 1, 0, "/x");
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_uint_eq(parser.reply[1], 11);
	ck_assert_uint_eq(parser.reply[8], 99);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_str_eq(fcgi_param(&parser, "DOCUMENT_URI"), "/x");
}
END_TEST

START_TEST(test_records_of_other_ids_and_types_are_skipped)
{
	uint8_t p[32];
	size_t n = nv(p, "QUERY_STRING", 12, "a=1", 3, 0), off = 0;

	put_begin(&w, 1, 1, 0);
	put_record(&w, 4, 9, p, n, 0);
	put_record(&w, 99, 1, "zz", 2, 0);
	put_record(&w, 8, 1, "data", 4, 0);
	put_record(&w, 4, 1, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_ptr_null(fcgi_param(&parser, "QUERY_STRING"));
}
END_TEST

START_TEST(test_abort_before_params_end_is_answered_and_forgotten)
{
	uint8_t p[32];
	size_t n = nv(p, "QUERY_STRING", 12, "a=1", 3, 0), off = 0;

	put_begin(&w, 3, 1, 1);
	put_record(&w, 4, 3, p, n, 0);
	put_record(&w, 2, 3, "", 0, 0);
	put_get(&w, 4, 1, "/next");
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REPLY);
	ck_assert_uint_eq(parser.reply[1], 3);
	ck_assert_uint_eq(parser.reply[3], 3);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_ptr_null(fcgi_param(&parser, "QUERY_STRING"));
	ck_assert_str_eq(fcgi_param(&parser, "DOCUMENT_URI"), "/next");
}
END_TEST

/* The body of a GET, never read by the handler, is skipped to its end;
 * until then the request is not over. */
START_TEST(test_body_after_the_answer_is_skipped_then_next_request)
{
	static uint8_t body[60000];
	uint8_t p[64];
	size_t n = nv(p, "CONTENT_LENGTH", 14, "120000", 6, 0), off = 0;

	put_begin(&w, 1, 1, 1);
	put_record(&w, 4, 1, p, n, 0);
	put_record(&w, 4, 1, "", 0, 0);
	put_record(&w, 5, 1, body, sizeof(body), 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	fcgi_request_done(&parser);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_MORE);
	ck_assert_int_eq(fcgi_request_over(&parser), 0);
	ck_assert_int_eq(fcgi_idle(&parser), 1);
	put_record(&w, 5, 1, body, sizeof(body), 0);
	put_record(&w, 5, 1, "", 0, 0);
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_MORE);
	ck_assert_int_eq(fcgi_request_over(&parser), 1);
	put_get(&w, 1, 1, "/again");
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	ck_assert_str_eq(fcgi_param(&parser, "DOCUMENT_URI"), "/again");
	ck_assert_ptr_null(fcgi_param(&parser, "CONTENT_LENGTH"));
}
END_TEST

START_TEST(test_fifty_pipelined_requests_are_fifty_events)
{
	size_t off = 0, i;

	for (i = 0; i < 50; i++)
		put_get(&w, 1, 1, "/p");
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(feed(&w, &off, 100), FCGI_EV_REQUEST);
		fcgi_request_done(&parser);
	}
	ck_assert_int_eq(feed(&w, &off, 100), FCGI_EV_MORE);
	ck_assert_uint_eq(off, w.n);
}
END_TEST

START_TEST(test_half_a_header_is_not_idle)
{
	size_t off = 0;

	put_get(&w, 1, 1, "/");
	w.n = 5;
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_MORE);
	ck_assert_int_eq(fcgi_idle(&parser), 0);
}
END_TEST

START_TEST(test_response_is_framed_as_stdout_then_end_request)
{
	static char out[70000];
	static uint8_t dst[FCGI_FRAMED_MAX(70000)];
	size_t off = 0, n;

	put_get(&w, 0x0102, 1, "/");
	ck_assert_int_eq(feed(&w, &off, w.n), FCGI_EV_REQUEST);
	memset(out, 'x', sizeof(out));
	ck_assert_uint_eq(fcgi_frame_response(&parser, out, sizeof(out), dst, 10), 0);
	n = fcgi_frame_response(&parser, out, sizeof(out), dst, sizeof(dst));
	ck_assert_uint_eq(n, 8 + 65535 + 8 + (70000 - 65535) + 8 + 16);
	ck_assert_int_eq(memcmp(dst, "\001\006\001\002\377\377\000\000", 8), 0);
	ck_assert_int_eq(memcmp(dst + 8 + 65535, "\001\006\001\002\021\161\000\000", 8), 0);
	ck_assert_int_eq(memcmp(dst + n - 24, "\001\006\001\002\000\000\000\000", 8), 0);
	ck_assert_int_eq(memcmp(dst + n - 16,
	    "\001\003\001\002\000\010\000\000\000\000\000\000\000\000\000\000", 16), 0);
}
END_TEST

Suite *
fastcgi_suite(void)
{
	Suite *s = suite_create("fastcgi");
	TCase *t = tcase_create("parser");

	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, test_get_as_nginx_sends_it_is_one_request);
	tcase_add_test(t, test_one_byte_at_a_time_gives_the_same_request);
	tcase_add_test(t, test_params_split_across_records_mid_pair);
	tcase_add_test(t, test_first_of_a_repeated_name_counts);
	tcase_add_test(t, test_over_long_values_are_cut_to_their_room);
	tcase_add_test(t, test_long_names_and_unknown_names_are_skipped);
	tcase_add_test(t, test_params_ending_mid_pair_is_an_error);
	tcase_add_test(t, test_length_of_two_to_the_31_is_only_skipped);
	tcase_add_test(t, test_wrong_version_is_an_error);
	tcase_add_test(t, test_begin_on_id_0_is_an_unknown_management_type);
	tcase_add_test(t, test_second_begin_on_another_id_is_cant_mpx_conn);
	tcase_add_test(t, test_begin_twice_on_one_id_is_an_error);
	tcase_add_test(t, test_unknown_role_is_answered_unknown_role);
	tcase_add_test(t, test_end_request_of_a_request_not_kept_asks_for_a_close);
	tcase_add_test(t, test_request_is_not_over_until_its_padding_is_read);
	tcase_add_test(t, test_begin_with_a_short_body_is_an_error);
	tcase_add_test(t, test_get_values_with_repeated_names_answers_each_once);
	tcase_add_test(t, test_get_values_too_long_gets_an_empty_answer);
	tcase_add_test(t, test_unknown_management_type_is_answered_and_its_body_skipped);
	tcase_add_test(t, test_records_of_other_ids_and_types_are_skipped);
	tcase_add_test(t, test_abort_before_params_end_is_answered_and_forgotten);
	tcase_add_test(t, test_body_after_the_answer_is_skipped_then_next_request);
	tcase_add_test(t, test_fifty_pipelined_requests_are_fifty_events);
	tcase_add_test(t, test_half_a_header_is_not_idle);
	tcase_add_test(t, test_response_is_framed_as_stdout_then_end_request);
	suite_add_tcase(s, t);
	return s;
}
