/* fastcgi.h: the FastCGI protocol, responder role, as bytes in and bytes
 * out; no I/O, so the tests and the fuzzer reach all of it.
 *
 * The loop feeds a connection's bytes to its parser as they come. The
 * parser stops when a request's params are complete (FCGI_EV_REQUEST:
 * serve it, then feed the rest), when it has a reply of its own for the
 * client (FCGI_EV_REPLY: write p->reply, then feed on, or close when
 * p->reply_close says the request it ended asked for that), or at a protocol
 * error (FCGI_EV_ERROR: close). One request at a time per connection, as
 * FCGI_MPXS_CONNS=0 tells; a second BEGIN_REQUEST is refused with
 * CANT_MPX_CONN. Records of ids that are not active are skipped, as the
 * specification says.
 *
 * What a request may hold is bounded whatever the client sends: only the
 * params the handler reads are kept (the first of each name), each cut to
 * a size above every limit the validators apply to it, so that a value
 * cut short is still refused as too long; the rest, and any body, are
 * read and dropped. Each connection has its own arena, so a request can
 * arrive in pieces while the worker serves other connections. */
#ifndef RS_FASTCGI_H
#define RS_FASTCGI_H

#include <stddef.h>
#include <stdint.h>

#define FCGI_NPARAMS 10
#define FCGI_ARENA 35264	/* the sizes in fastcgi.c's table, summed */
#define FCGI_NAME_MAX 32
#define FCGI_HEADER_LEN 8
/* The largest reply the parser makes: a GET_VALUES_RESULT. */
#define FCGI_REPLY_MAX 128

typedef struct {
	char bytes[FCGI_ARENA];
	uint8_t set[FCGI_NPARAMS];
} fcgi_arena;

typedef enum { FCGI_EV_MORE, FCGI_EV_REQUEST, FCGI_EV_REPLY, FCGI_EV_ERROR } fcgi_event;

typedef struct {
	/* the record being read */
	uint8_t hdr[FCGI_HEADER_LEN];
	size_t hdr_len;
	uint8_t type;
	uint16_t id;
	size_t content_left, padding_left;
	uint8_t body[FCGI_HEADER_LEN];	/* BEGIN_REQUEST's body */
	size_t body_len;
	/* the request */
	uint16_t req_id;	/* 0: none active */
	int keep;		/* FCGI_KEEP_CONN */
	int params_done, stdin_done;
	/* a name-value pair, read across records */
	int nv_stage;
	uint8_t nv_len[4];
	size_t nv_len_got;
	uint32_t name_len, value_len, name_got, value_got;
	char name[FCGI_NAME_MAX];
	int slot;		/* where the value goes, or -1 */
	/* GET_VALUES content, and the replies */
	uint8_t mgmt[FCGI_REPLY_MAX];
	size_t mgmt_len;	/* all of it, kept only while it fits */
	uint8_t reply[FCGI_REPLY_MAX];
	size_t reply_len;
	int reply_close;	/* the reply ended a request not to be kept */
	const char *error;	/* why, at FCGI_EV_ERROR */
	fcgi_arena *arena;
} fcgi_parser;

/* Ready for a connection's first record; its values go to arena. */
void fcgi_init(fcgi_parser *p, fcgi_arena *arena);

/* Reads from buf[0..len); *used says how much it took. It stops at the
 * first event; FCGI_EV_MORE means all of buf was taken. */
fcgi_event fcgi_feed(fcgi_parser *p, const uint8_t *buf, size_t len, size_t *used);

/* After FCGI_EV_REQUEST: a param the request carried, NUL-terminated, or
 * NULL when absent. Only the names fcgi.c keeps are ever found. */
const char *fcgi_param(const fcgi_parser *p, const char *name);

/* Between requests: no record half read, no request half received. */
int fcgi_idle(const fcgi_parser *p);
/* After fcgi_request_done: nothing of that request is left to read, so
 * closing cannot turn into a reset that loses the answer. */
int fcgi_request_over(const fcgi_parser *p);

/* The answer to the request being served, framed: out as STDOUT records,
 * the end of STDOUT, END_REQUEST. Returns the bytes written to dst, or 0
 * when cap is too small (FCGI_FRAMED_MAX(len) is always enough). */
#define FCGI_FRAMED_MAX(len) ((len) + ((len) / 65535 + 1) * FCGI_HEADER_LEN + 2 * FCGI_HEADER_LEN + 8)
size_t fcgi_frame_response(const fcgi_parser *p, const char *out, size_t len,
    uint8_t *dst, size_t cap);

/* The request is answered: its params are forgotten, and what remains
 * of it on the wire (the rest of its body) is skipped. */
void fcgi_request_done(fcgi_parser *p);

#endif
