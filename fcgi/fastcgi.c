/* fastcgi.c: the FastCGI record and name-value parser, and the framing of
 * answers (https://fastcgi-archives.github.io/FastCGI_Specification.html). */
#include "fastcgi.h"

#include <string.h>

enum {
	FCGI_BEGIN_REQUEST = 1, FCGI_ABORT_REQUEST = 2, FCGI_END_REQUEST = 3,
	FCGI_PARAMS = 4, FCGI_STDIN = 5, FCGI_STDOUT = 6, FCGI_GET_VALUES = 9,
	FCGI_GET_VALUES_RESULT = 10, FCGI_UNKNOWN_TYPE = 11
};
enum { FCGI_REQUEST_COMPLETE = 0, FCGI_CANT_MPX_CONN = 1, FCGI_UNKNOWN_ROLE = 3 };
enum { FCGI_RESPONDER = 1, FCGI_KEEP_CONN = 1 };
enum { NV_NAME_LEN, NV_VALUE_LEN, NV_NAME, NV_VALUE };

/* The params the handler reads (request.c), no other, each with the room
 * it gets, NUL included: above the limit the handler applies to it
 * (a method is one of two words; a decoded path at most 512 bytes, so
 * 1,537 raw; a query 2,048; a bearer token 8 KiB; a workspace id is a
 * UUID; a request id 128 bytes), so a value cut short is still too long. */
#define FCGI_NAME(s) s, sizeof(s) - 1
static const struct {
	const char *name;
	size_t len, size;
} fcgi_names[FCGI_NPARAMS] = {
	{ FCGI_NAME("REQUEST_METHOD"), 32 }, { FCGI_NAME("DOCUMENT_URI"), 2048 },
	{ FCGI_NAME("SCRIPT_NAME"), 2048 }, { FCGI_NAME("PATH_INFO"), 2048 },
	{ FCGI_NAME("REQUEST_URI"), 8192 }, { FCGI_NAME("QUERY_STRING"), 4096 },
	{ FCGI_NAME("HTTP_AUTHORIZATION"), 16384 }, { FCGI_NAME("HTTP_X_WORKSPACE_ID"), 128 },
	{ FCGI_NAME("HTTP_X_REQUEST_ID"), 256 }, { FCGI_NAME("CONTENT_LENGTH"), 32 },
};

/* Where a param's room starts in the arena. */
static size_t
fcgi_offset(int slot)
{
	size_t off = 0;
	int i;

	for (i = 0; i < slot; i++)
		off += fcgi_names[i].size;
	return off;
}

/* What GET_VALUES may ask, and the answers: connections a worker holds,
 * and one request at a time on each. */
static const char *const fcgi_values[][2] = {
	{ "FCGI_MAX_CONNS", "32" }, { "FCGI_MAX_REQS", "32" }, { "FCGI_MPXS_CONNS", "0" },
};
#define FCGI_NVALUES (sizeof(fcgi_values) / sizeof(fcgi_values[0]))

void
fcgi_init(fcgi_parser *p, fcgi_arena *arena)
{
	memset(p, 0, sizeof(*p));
	p->arena = arena;
	p->slot = -1;
}

static void
fcgi_header(uint8_t *h, uint8_t type, uint16_t id, size_t len)
{
	h[0] = 1;
	h[1] = type;
	h[2] = (uint8_t)(id >> 8);
	h[3] = (uint8_t)id;
	h[4] = (uint8_t)(len >> 8);
	h[5] = (uint8_t)len;
	h[6] = 0;
	h[7] = 0;
}

static fcgi_event
fcgi_reply_end(fcgi_parser *p, uint16_t id, uint8_t protocol_status, int close)
{
	p->reply_close = close;
	fcgi_header(p->reply, FCGI_END_REQUEST, id, 8);
	memset(p->reply + FCGI_HEADER_LEN, 0, 8);
	p->reply[FCGI_HEADER_LEN + 4] = protocol_status;
	p->reply_len = 16;
	return FCGI_EV_REPLY;
}

static fcgi_event
fcgi_error(fcgi_parser *p, const char *why)
{
	p->error = why;
	return FCGI_EV_ERROR;
}

/* Reads a name-value length, 1 byte or 4 (high bit set); 1 when whole. */
static int
fcgi_nv_length(fcgi_parser *p, uint8_t byte, uint32_t *out)
{
	p->nv_len[p->nv_len_got++] = byte;
	if (p->nv_len_got == 1 && (byte & 0x80) == 0) {
		*out = byte;
	} else if (p->nv_len_got == 4) {
		*out = (uint32_t)(p->nv_len[0] & 0x7f) << 24 | (uint32_t)p->nv_len[1] << 16 |
		    (uint32_t)p->nv_len[2] << 8 | p->nv_len[3];
	} else {
		return 0;
	}
	p->nv_len_got = 0;
	return 1;
}

static int
fcgi_slot(const char *name, size_t len)
{
	int i;

	for (i = 0; i < FCGI_NPARAMS; i++)
		if (fcgi_names[i].len == len && memcmp(fcgi_names[i].name, name, len) == 0)
			return i;
	return -1;
}

/* Moves the pair on as far as it goes without input: empty names and
 * values complete at once. */
static void
fcgi_nv_settle(fcgi_parser *p)
{
	fcgi_arena *a = p->arena;

	if (p->nv_stage == NV_NAME && p->name_got == p->name_len) {
		p->slot = p->name_len <= FCGI_NAME_MAX ? fcgi_slot(p->name, p->name_len) : -1;
		if (p->slot >= 0 && a->set[p->slot])
			p->slot = -1;	/* the first of a name counts */
		p->nv_stage = NV_VALUE;
	}
	if (p->nv_stage == NV_VALUE && p->value_got == p->value_len) {
		if (p->slot >= 0) {
			size_t room = fcgi_names[p->slot].size - 1;

			a->bytes[fcgi_offset(p->slot) + (p->value_len < room ? p->value_len : room)] =
			    '\0';
			a->set[p->slot] = 1;
		}
		p->nv_stage = NV_NAME_LEN;
		p->name_got = p->value_got = 0;
		p->slot = -1;
	}
}

/* Takes PARAMS content: name-value pairs, which may span records. */
static void
fcgi_params(fcgi_parser *p, const uint8_t *b, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		switch (p->nv_stage) {
		case NV_NAME_LEN:
			if (fcgi_nv_length(p, b[i++], &p->name_len))
				p->nv_stage = NV_VALUE_LEN;
			break;
		case NV_VALUE_LEN:
			if (fcgi_nv_length(p, b[i++], &p->value_len)) {
				p->nv_stage = NV_NAME;
				fcgi_nv_settle(p);
			}
			break;
		case NV_NAME:
			k = p->name_len - p->name_got;
			k = k < n - i ? k : n - i;
			if (p->name_got < FCGI_NAME_MAX)
				memcpy(p->name + p->name_got, b + i,
				    k < FCGI_NAME_MAX - p->name_got ? k : FCGI_NAME_MAX - p->name_got);
			p->name_got += (uint32_t)k;
			i += k;
			fcgi_nv_settle(p);
			break;
		default:
			k = p->value_len - p->value_got;
			k = k < n - i ? k : n - i;
			if (p->slot >= 0 && p->value_got < fcgi_names[p->slot].size - 1) {
				size_t room = fcgi_names[p->slot].size - 1 - p->value_got;

				memcpy(p->arena->bytes + fcgi_offset(p->slot) + p->value_got, b + i,
				    k < room ? k : room);
			}
			p->value_got += (uint32_t)k;
			i += k;
			fcgi_nv_settle(p);
			break;
		}
	}
}

/* GET_VALUES: each known name asked for, answered once. */
static fcgi_event
fcgi_get_values(fcgi_parser *p)
{
	uint8_t *out = p->reply + FCGI_HEADER_LEN;
	size_t i = 0, o = 0, k;
	int done[FCGI_NVALUES] = { 0 };

	/* A request longer than the buffer was not kept: answered empty. */
	while (p->mgmt_len <= sizeof(p->mgmt) && i < p->mgmt_len) {
		uint32_t len[2];
		int j;

		for (j = 0; j < 2; j++) {
			if (i >= p->mgmt_len)
				return fcgi_error(p, "GET_VALUES pair cut short");
			if ((p->mgmt[i] & 0x80) == 0) {
				len[j] = p->mgmt[i++];
			} else {
				if (p->mgmt_len - i < 4)
					return fcgi_error(p, "GET_VALUES pair cut short");
				len[j] = (uint32_t)(p->mgmt[i] & 0x7f) << 24 |
				    (uint32_t)p->mgmt[i + 1] << 16 | (uint32_t)p->mgmt[i + 2] << 8 |
				    p->mgmt[i + 3];
				i += 4;
			}
		}
		if (len[0] > p->mgmt_len - i || len[1] > p->mgmt_len - i - len[0])
			return fcgi_error(p, "GET_VALUES pair cut short");
		for (k = 0; k < FCGI_NVALUES; k++) {
			size_t nl = strlen(fcgi_values[k][0]), vl = strlen(fcgi_values[k][1]);

			if (done[k] || nl != len[0] || memcmp(p->mgmt + i, fcgi_values[k][0], nl) != 0)
				continue;
			out[o++] = (uint8_t)nl;
			out[o++] = (uint8_t)vl;
			memcpy(out + o, fcgi_values[k][0], nl);
			memcpy(out + o + nl, fcgi_values[k][1], vl);
			o += nl + vl;
			done[k] = 1;
		}
		i += len[0] + len[1];
	}
	fcgi_header(p->reply, FCGI_GET_VALUES_RESULT, 0, o);
	p->reply_len = FCGI_HEADER_LEN + o;
	return FCGI_EV_REPLY;
}

static void
fcgi_forget(fcgi_parser *p)
{
	memset(p->arena->set, 0, sizeof(p->arena->set));
	p->req_id = 0;
	p->params_done = p->stdin_done = 0;
	p->nv_stage = NV_NAME_LEN;
	p->nv_len_got = p->name_got = p->value_got = 0;
	p->slot = -1;
}

static fcgi_event
fcgi_begin(fcgi_parser *p)
{
	if (p->id == 0 || p->body_len != 8)
		return fcgi_error(p, "malformed BEGIN_REQUEST");
	if (p->req_id != 0 && !p->params_done)
		return p->id == p->req_id ? fcgi_error(p, "BEGIN_REQUEST twice") :
		    fcgi_reply_end(p, p->id, FCGI_CANT_MPX_CONN, 0);
	if ((p->body[0] << 8 | p->body[1]) != FCGI_RESPONDER)
		return fcgi_reply_end(p, p->id, FCGI_UNKNOWN_ROLE,
		    (p->body[2] & FCGI_KEEP_CONN) == 0);
	/* A new request; a body the last one never finished is given up. */
	fcgi_forget(p);
	p->req_id = p->id;
	p->keep = (p->body[2] & FCGI_KEEP_CONN) != 0;
	return FCGI_EV_MORE;
}

/* A record's content, all of it read. */
static fcgi_event
fcgi_record_end(fcgi_parser *p, size_t content_len)
{
	int mine = p->id != 0 && p->id == p->req_id;

	if (p->id == 0) {
		if (p->type == FCGI_GET_VALUES)
			return fcgi_get_values(p);
		fcgi_header(p->reply, FCGI_UNKNOWN_TYPE, 0, 8);
		memset(p->reply + FCGI_HEADER_LEN, 0, 8);
		p->reply[FCGI_HEADER_LEN] = p->type;
		p->reply_len = 16;
		return FCGI_EV_REPLY;
	}
	switch (p->type) {
	case FCGI_BEGIN_REQUEST:
		return fcgi_begin(p);
	case FCGI_PARAMS:
		if (!mine || p->params_done || content_len > 0)
			return FCGI_EV_MORE;
		if (p->nv_stage != NV_NAME_LEN || p->nv_len_got != 0)
			return fcgi_error(p, "params cut short");
		p->params_done = 1;
		return FCGI_EV_REQUEST;
	case FCGI_STDIN:
		if (mine && content_len == 0)
			p->stdin_done = 1;
		return FCGI_EV_MORE;
	case FCGI_ABORT_REQUEST:
		/* Before its params end, the request is dropped and ended;
		 * after, it is being answered anyway. */
		if (mine && !p->params_done) {
			uint16_t id = p->req_id;
			int keep = p->keep;

			fcgi_forget(p);
			return fcgi_reply_end(p, id, FCGI_REQUEST_COMPLETE, !keep);
		}
		return FCGI_EV_MORE;
	default:
		/* DATA, and what a client has no business sending, skipped. */
		return FCGI_EV_MORE;
	}
}

fcgi_event
fcgi_feed(fcgi_parser *p, const uint8_t *buf, size_t len, size_t *used)
{
	size_t i = 0, k;
	fcgi_event ev;

	p->reply_len = 0;
	p->reply_close = 0;
	while (i < len) {
		if (p->hdr_len < FCGI_HEADER_LEN) {
			k = FCGI_HEADER_LEN - p->hdr_len;
			k = k < len - i ? k : len - i;
			memcpy(p->hdr + p->hdr_len, buf + i, k);
			p->hdr_len += k;
			i += k;
			if (p->hdr_len < FCGI_HEADER_LEN)
				break;
			if (p->hdr[0] != 1) {
				*used = i;
				return fcgi_error(p, "not FastCGI version 1");
			}
			p->type = p->hdr[1];
			p->id = (uint16_t)(p->hdr[2] << 8 | p->hdr[3]);
			p->content_left = (size_t)p->hdr[4] << 8 | p->hdr[5];
			p->padding_left = p->hdr[6];
			p->body_len = p->mgmt_len = 0;
			if (p->content_left == 0 &&
			    (ev = fcgi_record_end(p, 0)) != FCGI_EV_MORE) {
				if (p->padding_left == 0)
					p->hdr_len = 0;
				*used = i;
				return ev;
			}
		} else if (p->content_left > 0) {
			size_t total = (size_t)p->hdr[4] << 8 | p->hdr[5];

			k = p->content_left < len - i ? p->content_left : len - i;
			if (p->type == FCGI_PARAMS && p->id != 0 && p->id == p->req_id &&
			    !p->params_done) {
				fcgi_params(p, buf + i, k);
			} else if (p->type == FCGI_BEGIN_REQUEST && p->id != 0) {
				/* Anything but 8 bytes is refused at its end. */
				if (p->body_len + k > sizeof(p->body))
					p->body_len = sizeof(p->body) + 1;
				else
					memcpy(p->body + p->body_len, buf + i, k);
				if (p->body_len <= sizeof(p->body))
					p->body_len += k;
			} else if (p->id == 0 && p->type == FCGI_GET_VALUES) {
				if (p->mgmt_len + k <= sizeof(p->mgmt))
					memcpy(p->mgmt + p->mgmt_len, buf + i, k);
				p->mgmt_len += k;
			}
			p->content_left -= k;
			i += k;
			if (p->content_left == 0 &&
			    (ev = fcgi_record_end(p, total)) != FCGI_EV_MORE) {
				if (p->padding_left == 0)
					p->hdr_len = 0;
				*used = i;
				return ev;
			}
		} else {
			k = p->padding_left < len - i ? p->padding_left : len - i;
			p->padding_left -= k;
			i += k;
		}
		if (p->hdr_len == FCGI_HEADER_LEN && p->content_left == 0 && p->padding_left == 0)
			p->hdr_len = 0;
	}
	*used = i;
	return FCGI_EV_MORE;
}

const char *
fcgi_param(const fcgi_parser *p, const char *name)
{
	int s = fcgi_slot(name, strlen(name));

	return s >= 0 && p->arena->set[s] ? p->arena->bytes + fcgi_offset(s) : NULL;
}

int
fcgi_idle(const fcgi_parser *p)
{
	return p->hdr_len == 0 && (p->req_id == 0 || p->params_done);
}

int
fcgi_request_over(const fcgi_parser *p)
{
	return p->hdr_len == 0 && (p->req_id == 0 || (p->params_done && p->stdin_done));
}

size_t
fcgi_frame_response(const fcgi_parser *p, const char *out, size_t len, uint8_t *dst,
    size_t cap)
{
	size_t o = 0, k;

	if (cap < FCGI_FRAMED_MAX(len))
		return 0;
	while (len > 0) {
		k = len < 65535 ? len : 65535;
		fcgi_header(dst + o, FCGI_STDOUT, p->req_id, k);
		memcpy(dst + o + FCGI_HEADER_LEN, out, k);
		o += FCGI_HEADER_LEN + k;
		out += k;
		len -= k;
	}
	fcgi_header(dst + o, FCGI_STDOUT, p->req_id, 0);
	o += FCGI_HEADER_LEN;
	fcgi_header(dst + o, FCGI_END_REQUEST, p->req_id, 8);
	memset(dst + o + FCGI_HEADER_LEN, 0, 8);
	return o + 2 * FCGI_HEADER_LEN;
}

void
fcgi_request_done(fcgi_parser *p)
{
	int stdin_done = p->stdin_done;
	uint16_t id = p->req_id;

	fcgi_forget(p);
	/* Until the body ends, its records still belong to this request. */
	if (!stdin_done) {
		p->req_id = id;
		p->params_done = 1;
	}
}
