/* fuzz_fastcgi: the FastCGI parser (fastcgi.c) on a connection's bytes, as
 * loop.c drives it: feed, act on each event (a request is answered with
 * fcgi_frame_response and fcgi_request_done), feed the rest.
 *
 * Input: one byte that seeds how the stream is cut into reads, then the
 * bytes a client sends on one connection.
 *
 * Properties:
 *  - the stream read whole and read in pieces (as the network may deliver
 *    it) gives the same events at the same offsets, with the same params,
 *    replies and error: the parser keeps no state that depends on reads;
 *  - every event but "more" takes at least one byte (no loop can spin),
 *    "more" takes all it was given, and nothing is read past a read's
 *    end (each read is its own allocation);
 *  - a reply is one well-formed record of at most FCGI_REPLY_MAX bytes;
 *    a param is NUL-terminated inside the arena;
 *  - an answer framed for the request reads back, record by record, as
 *    that answer on the request's id, then the end of STDOUT and
 *    END_REQUEST, within FCGI_FRAMED_MAX, and is refused with less room. */
#include "fastcgi.h"
#include "fuzz.h"

static const char *const names[] = {
	"REQUEST_METHOD", "DOCUMENT_URI", "SCRIPT_NAME", "PATH_INFO", "REQUEST_URI",
	"QUERY_STRING", "HTTP_AUTHORIZATION", "HTTP_X_WORKSPACE_ID",
	"HTTP_X_REQUEST_ID", "CONTENT_LENGTH", "HTTP_ACCEPT", "",
};

typedef struct {
	uint8_t *b;
	size_t n, cap;
} transcript;

static void
put(transcript *t, const void *p, size_t n)
{
	if (t->n + n > t->cap) {
		t->cap = (t->n + n) * 2;
		t->b = realloc(t->b, t->cap);
		FUZZ_CHECK(t->b != NULL);
	}
	memcpy(t->b + t->n, p, n);
	t->n += n;
}

/* A record header at r: version 1, this type and id, no padding; returns
 * its content length. */
static size_t
record(const uint8_t *r, uint8_t type, uint16_t id)
{
	FUZZ_CHECK(r[0] == 1 && r[1] == type && (r[2] << 8 | r[3]) == id && r[6] == 0);
	return (size_t)r[4] << 8 | r[5];
}

/* Frames an answer of len (< 65600) bytes for p's request and reads it
 * back. The answer's bytes are made once: a loop over them at every
 * request would be most of what the harness does. */
static void
check_frame(const fcgi_parser *p, size_t len)
{
	static char answer[65600];
	size_t cap = FCGI_FRAMED_MAX(len), n, o = 0, got = 0, k;
	const char *out = answer;
	uint8_t *dst = malloc(cap);

	FUZZ_CHECK(dst != NULL && len < sizeof(answer));
	if (answer[1] == 0)
		for (k = 0; k < sizeof(answer); k++)
			answer[k] = (char)(k % 251 + 1);
	FUZZ_CHECK(fcgi_frame_response(p, out, len, dst, cap - 1) == 0);
	n = fcgi_frame_response(p, out, len, dst, cap);
	FUZZ_CHECK(n > 0 && n <= cap);
	while (got < len) {
		FUZZ_CHECK(o + FCGI_HEADER_LEN <= n);
		k = record(dst + o, 6, p->req_id);
		FUZZ_CHECK(k > 0 && o + FCGI_HEADER_LEN + k <= n);
		FUZZ_CHECK(memcmp(dst + o + FCGI_HEADER_LEN, out + got, k) == 0);
		got += k;
		o += FCGI_HEADER_LEN + k;
	}
	FUZZ_CHECK(got == len && n - o == 3 * FCGI_HEADER_LEN);
	FUZZ_CHECK(record(dst + o, 6, p->req_id) == 0);
	FUZZ_CHECK(record(dst + o + FCGI_HEADER_LEN, 3, p->req_id) == 8);
	for (k = 0; k < 8; k++)
		FUZZ_CHECK(dst[o + 2 * FCGI_HEADER_LEN + k] == 0);
	free(dst);
}

/* The event at offset off, and what comes with it, into t. */
static void
note(transcript *t, const fcgi_parser *p, fcgi_event ev, size_t off)
{
	size_t i;

	put(t, &ev, sizeof(ev));
	put(t, &off, sizeof(off));
	if (ev == FCGI_EV_ERROR) {
		FUZZ_CHECK(p->error != NULL);
		put(t, p->error, strlen(p->error) + 1);
	} else if (ev == FCGI_EV_REPLY) {
		FUZZ_CHECK(p->reply_len >= FCGI_HEADER_LEN && p->reply_len <= FCGI_REPLY_MAX);
		FUZZ_CHECK(p->reply[0] == 1 && p->reply[6] == 0 &&
		    (size_t)(p->reply[4] << 8 | p->reply[5]) == p->reply_len - FCGI_HEADER_LEN);
		put(t, p->reply, p->reply_len);
	} else if (ev == FCGI_EV_REQUEST) {
		put(t, &p->req_id, sizeof(p->req_id));
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *v = fcgi_param(p, names[i]);

			if (v == NULL) {
				put(t, "", 1);
				continue;
			}
			FUZZ_CHECK(i < FCGI_NPARAMS);	/* only the names kept */
			FUZZ_CHECK(v >= p->arena->bytes &&
			    v + strlen(v) < p->arena->bytes + FCGI_ARENA);
			put(t, "+", 1);
			put(t, v, strlen(v) + 1);
		}
	}
}

/* Feeds s[0..n) in reads cut by seed (0: one read), as loop_serve does. */
static void
run(const uint8_t *s, size_t n, unsigned seed, transcript *t)
{
	size_t max = seed == 0 ? n : seed & 1 ? 9 : 700;
	fcgi_arena *arena = malloc(sizeof(*arena));
	uint8_t *buf = malloc(max ? max : 1), *chunk;
	size_t off = 0, len, pos, used, at;
	unsigned rng = seed;
	fcgi_parser p;
	fcgi_event ev = FCGI_EV_MORE;
	int big = seed & 0x80;

	FUZZ_CHECK(arena != NULL && buf != NULL);
	fcgi_init(&p, arena);
	while (off < n && ev != FCGI_EV_ERROR) {
		rng = rng * 1103515245 + 12345;
		len = seed == 0 ? n : 1 + (rng >> 16) % max;
		len = len < n - off ? len : n - off;
		/* Each read ends where buf does: a byte read past it is an
		 * ASan report. */
		chunk = buf + max - len;
		memcpy(chunk, s + off, len);
		for (pos = 0; pos < len; pos += used) {
			used = (size_t)-1;
			ev = fcgi_feed(&p, chunk + pos, len - pos, &used);
			FUZZ_CHECK(used <= len - pos);
			if (ev == FCGI_EV_MORE) {
				FUZZ_CHECK(used == len - pos);
				continue;
			}
			FUZZ_CHECK(used > 0);
			at = off + pos + used;
			note(t, &p, ev, at);
			if (ev == FCGI_EV_ERROR)
				break;
			if (ev == FCGI_EV_REQUEST) {
				/* An answer the size of the handler's (at most 4 KiB),
				 * or, once in some inputs, one about a record's limit
				 * of 65535 bytes, which takes two. */
				check_frame(&p, big ? 65530 + at % 12 : at * 131 % 4097);
				big = 0;
				fcgi_request_done(&p);
			}
		}
		off += len;
	}
	put(t, (int[]){ fcgi_idle(&p), fcgi_request_over(&p) }, 2 * sizeof(int));
	free(buf);
	free(arena);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	transcript whole = { 0 }, pieces = { 0 };

	if (size < 1)
		return 0;
	run(data + 1, size - 1, 0, &whole);
	run(data + 1, size - 1, data[0] | 0x100, &pieces);
	FUZZ_CHECK(whole.n == pieces.n && memcmp(whole.b, pieces.b, whole.n) == 0);
	free(whole.b);
	free(pieces.b);
	return 0;
}
