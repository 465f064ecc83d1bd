/* render.c: the error table, JSON bodies, response heads. */
#include "render.h"

#include <float.h>
#include <json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

struct render_entry {
	int status;
	const char *reason;	/* HTTP reason phrase */
	const char *code;
	const char *message;
	const char *header;	/* extra header line, or NULL */
};

/* The one table: every failure a request can meet, as the client sees it. */
static const struct render_entry render_table[ST_COUNT] = {
	[ST_OK] = { 200, "OK", NULL, NULL, NULL },
	[ST_UNAUTHORIZED] = { 401, "Unauthorized", "UNAUTHORIZED",
	    "Authentication required",
	    "WWW-Authenticate: Bearer realm=\"api\"" },
	[ST_INVALID_TOKEN] = { 401, "Unauthorized", "INVALID_TOKEN",
	    "The session token is invalid or expired",
	    "WWW-Authenticate: Bearer error=\"invalid_token\"" },
	[ST_INVALID_API_KEY] = { 401, "Unauthorized", "INVALID_API_KEY",
	    "The API key is invalid, revoked or expired",
	    "WWW-Authenticate: Bearer error=\"invalid_token\"" },
	[ST_FORBIDDEN] = { 403, "Forbidden", "FORBIDDEN",
	    "Access to this resource is not allowed", NULL },
	[ST_NOT_FOUND] = { 404, "Not Found", "NOT_FOUND",
	    "Resource not found", NULL },
	[ST_METHOD_NOT_ALLOWED] = { 405, "Method Not Allowed",
	    "METHOD_NOT_ALLOWED", "Method not allowed", "Allow: GET, HEAD" },
	[ST_VALIDATION_ERROR] = { 422, "Unprocessable Entity",
	    "VALIDATION_ERROR", "Invalid request parameters", NULL },
	[ST_INTERNAL_ERROR] = { 500, "Internal Server Error", "INTERNAL_ERROR",
	    "Internal server error", NULL },
	[ST_SERVICE_UNAVAILABLE] = { 503, "Service Unavailable",
	    "SERVICE_UNAVAILABLE", "Service temporarily unavailable",
	    "Retry-After: 1" },
};

static const struct render_entry *
render_entry_of(st_status st)
{
	if ((unsigned)st >= ST_COUNT || render_table[st].status == 0)
		st = ST_INTERNAL_ERROR;
	return &render_table[st];
}

int
render_http_status(st_status st)
{
	return render_entry_of(st)->status;
}

const char *
render_error_code(st_status st)
{
	return render_entry_of(st)->code;
}

typedef unsigned __int128 render_u128;

/* 10^n for 0 <= n <= 20, exactly. */
static render_u128
render_pow10(int n)
{
	render_u128 t = 1;

	for (; n >= 4; n -= 4)
		t *= 10000;
	for (; n > 0; n--)
		t *= 10;
	return t;
}

/* v = m * 2^-s >= 10^E, exactly, for -5 <= E <= 15 and s <= 62. */
static int
render_at_least_pow10(uint64_t m, int s, int E)
{
	if (E >= 0)
		return (render_u128)m >= render_pow10(E) << s;
	return (render_u128)m * render_pow10(-E) >= (render_u128)1 << s;
}

/* The digits a printf-and-strtod search would find for 2^-10 <= v < 1e15
 * (every pass rate but 0 and 1, and most means), found with integers:
 * d, the n-digit integer nearest v * 10^-k (ties to even, as printf), is
 * tried for n = 15, 16, 17 (see render_double), and reads back as v when
 * it lies within half an ulp of v (on the half only for an even
 * mantissa, as strtod rounds ties to even). With v = m * 2^-s, X = m *
 * 10^-k, everything is an integer below 2^123. Returns d, *k; 0 when v is
 * outside the range. */
static uint64_t
render_shortest_fast(double v, int *k_out)
{
	uint64_t bits, m;
	int s, E, n, k = 0;
	render_u128 d = 0;

	if (!(v >= 0x1p-10 && v < 1e15))
		return 0;
	memcpy(&bits, &v, sizeof(bits));
	m = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1) << 52);
	s = 1075 - (int)((bits >> 52) & 0x7ff);	/* 3..62 in this range */
	E = (int)floor(log10(v));
	while (!render_at_least_pow10(m, s, E))
		E--;
	while (render_at_least_pow10(m, s, E + 1))
		E++;
	for (n = 15; n <= 17; n++) {
		render_u128 t, x, r, half = (render_u128)1 << (s - 1), x2, dd, diff;

		k = E - n + 1;			/* -20..0 in this range */
		t = render_pow10(-k);
		x = (render_u128)m * t;		/* v * 10^-k, times 2^s */
		d = x >> s;
		r = x & (((render_u128)1 << s) - 1);
		if (r > half || (r == half && (d & 1)))
			d++;
		if (n == 17)
			break;
		/* |d - v*10^-k| against half an ulp, 10^-k / 2^(s+1), both
		 * times 2^(s+1); below a power of two the ulp is half. */
		x2 = x << 1;
		dd = d << (s + 1);
		diff = dd > x2 ? dd - x2 : x2 - dd;
		if ((m == UINT64_C(1) << 52 && dd < x2) ? 2 * diff <= t
		    : (diff < t || (diff == t && (m & 1) == 0)))
			break;
	}
	*k_out = k;
	return (uint64_t)d;
}

/* [-]digits[0..nd) * 10^(exp - nd + 1) laid out as Python's repr; the
 * length, written as snprintf would (cut to cap, NUL-terminated). */
static size_t
render_layout(int neg, char *digits, size_t nd, int exp, char *buf, size_t cap)
{
	char tmp[48];
	size_t i, o = 0;

	if (neg)
		tmp[o++] = '-';
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp >= -4 && exp < 16) {
		if (exp < 0) {
			tmp[o++] = '0';
			tmp[o++] = '.';
			for (i = 1; i < (size_t)-exp; i++)
				tmp[o++] = '0';
			for (i = 0; i < nd; i++)
				tmp[o++] = digits[i];
		} else {
			for (i = 0; i <= (size_t)exp; i++)
				tmp[o++] = i < nd ? digits[i] : '0';
			tmp[o++] = '.';
			if (nd <= (size_t)exp + 1)
				tmp[o++] = '0';
			for (; i < nd; i++)
				tmp[o++] = digits[i];
		}
	} else {
		tmp[o++] = digits[0];
		if (nd > 1) {
			tmp[o++] = '.';
			for (i = 1; i < nd; i++)
				tmp[o++] = digits[i];
		}
		o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "e%c%02d",
		    exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	}
	if (cap > 0) {
		i = o < cap ? o : cap - 1;
		memcpy(buf, tmp, i);
		buf[i] = '\0';
	}
	return o;
}

size_t
render_double(double v, char *buf, size_t cap)
{
	char e[32], digits[24];
	const char *p;
	size_t nd = 0;
	uint64_t d;
	int prec, k, neg = 0;

	if (!isfinite(v))
		return (size_t)snprintf(buf, cap, "null");
	if ((d = render_shortest_fast(v, &k)) != 0) {
		char *q = digits + sizeof(digits);

		for (; d > 0; d /= 10)
			*--q = (char)('0' + d % 10);
		nd = (size_t)(digits + sizeof(digits) - q);
		return render_layout(0, q, nd, k + (int)nd - 1, buf, cap);
	}
	/* A normal double whose shortest form has at most 15 digits is that
	 * form, zero-padded, at 15 (it lies within 2^-53 of it, far inside
	 * half a 15th digit); the zeros go below. So only 15, 16, 17 are
	 * tried, but for subnormals, which carry fewer bits. */
	for (prec = fabs(v) < DBL_MIN ? 0 : 14; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	/* e is now [-]d[.ddd]e±XX with as few digits as read back exactly. */
	p = e;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	for (; *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	return render_layout(neg, digits, nd, (int)strtol(p + 1, NULL, 10), buf, cap);
}

void
render_timestamp(long long unix_seconds, char out[sizeof("YYYY-MM-DDTHH:MM:SSZ")])
{
	/* Without gmtime's lock and strftime's format, on every request. */
	vd_format_iso_seconds((int64_t)unix_seconds, out);
	memcpy(out + VD_ISO_SECONDS_MAX - 1, "Z", 2);
}

static json_object *
render_meta_json(const render_meta *m)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "request_id", json_object_new_string(m->request_id));
	json_object_object_add(o, "timestamp", json_object_new_string(m->timestamp));
	return o;
}

/* 1 when the meta strings can go into JSON as they are. */
static int
render_meta_plain(const render_meta *m)
{
	size_t i;

	for (i = 0; m->request_id[i] != '\0'; i++)
		if (m->request_id[i] == '"' || m->request_id[i] == '\\' ||
		    (unsigned char)m->request_id[i] < 0x20)
			return 0;
	return 1;
}

/* Head, then (unless HEAD) the body; one write's worth of bytes. */
static int
render_body(const char *body, size_t blen, st_status st, const render_meta *m,
    int head, render_out *out)
{
	const struct render_entry *e = render_entry_of(st);
	text_buf b = TEXT_BUF(out->data, sizeof(out->data));

	text_puts(&b, "Status: ");
	text_put_int(&b, e->status);
	text_puts(&b, " ");
	text_puts(&b, e->reason);
	text_puts(&b, "\r\nContent-Type: application/json\r\n"
	    "Cache-Control: no-store\r\nX-Request-Id: ");
	text_puts(&b, m->request_id);
	text_puts(&b, "\r\n");
	if (e->header != NULL) {
		text_puts(&b, e->header);
		text_puts(&b, "\r\n");
	}
	text_puts(&b, "Content-Length: ");
	text_put_int(&b, (long long)blen);
	text_puts(&b, "\r\n\r\n");
	if (!head)
		text_put(&b, body, blen);
	if (b.over)
		return -1;
	out->len = b.len;
	out->http_status = e->status;
	return 0;
}

static int
render_finish(json_object *root, st_status st, const render_meta *m, int head,
    render_out *out)
{
	size_t blen = 0;
	const char *body = json_object_to_json_string_length(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &blen);
	int rc = body != NULL ? render_body(body, blen, st, m, head, out) : -1;

	json_object_put(root);
	return rc;
}

/* The summary is on the path of every request, and its shape is fixed:
 * written directly, without building a json-c tree. Every value in it is
 * a number we format, or meta text that needs no escaping (a request id
 * of [A-Za-z0-9._:-] or a UUID, a timestamp), so this is valid JSON. */
int
render_summary(const db_summary *s, const render_meta *m, int head, render_out *out)
{
	static const char *const names[] = { "{\"data\":{\"total_runs\":",
	    ",\"completed\":", ",\"failed\":", ",\"cancelled\":", ",\"pending\":",
	    ",\"running\":", ",\"paused\":" };
	const int64_t counts[] = { s->total, s->completed, s->failed, s->cancelled,
	    s->pending, s->running, s->paused };
	char body[RENDER_MAX], rate[48] = "null", avg[48] = "null";
	text_buf b = TEXT_BUF(body, sizeof(body));
	int64_t terminal = s->completed + s->failed + s->cancelled;
	size_t i;

	if (!render_meta_plain(m))
		return -1;
	if (terminal > 0)
		render_double((double)s->completed / (double)terminal, rate, sizeof(rate));
	if (s->has_average && isfinite(s->average_seconds))
		render_double(s->average_seconds, avg, sizeof(avg));
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		text_puts(&b, names[i]);
		text_put_int(&b, counts[i]);
	}
	text_puts(&b, ",\"pass_rate\":");
	text_puts(&b, rate);
	text_puts(&b, ",\"average_duration_seconds\":");
	text_puts(&b, avg);
	text_puts(&b, "},\"meta\":{\"request_id\":\"");
	text_puts(&b, m->request_id);
	text_puts(&b, "\",\"timestamp\":\"");
	text_puts(&b, m->timestamp);
	text_puts(&b, "\"}}");
	return b.over ? -1 : render_body(body, b.len, ST_OK, m, head, out);
}

int
render_health(int ok, const render_meta *m, int head, render_out *out)
{
	const char *body = ok ? "{\"status\":\"ok\"}" : "{\"status\":\"unavailable\"}";

	return render_body(body, strlen(body), ok ? ST_OK : ST_SERVICE_UNAVAILABLE, m,
	    head, out);
}

int
render_error(st_status st, const vd_error *details, size_t ndetails,
    const render_meta *m, int head, render_out *out)
{
	const struct render_entry *e;
	json_object *root, *err, *list = NULL;
	size_t i;

	if (st == ST_OK)
		st = ST_INTERNAL_ERROR;
	e = render_entry_of(st);
	root = json_object_new_object();
	err = json_object_new_object();
	if (st == ST_VALIDATION_ERROR) {
		list = json_object_new_array();
		for (i = 0; i < ndetails; i++) {
			json_object *d = json_object_new_object();

			json_object_object_add(d, "field",
			    json_object_new_string(vd_field_name(details[i].field)));
			json_object_object_add(d, "message",
			    json_object_new_string(details[i].message));
			json_object_array_add(list, d);
		}
	}
	json_object_object_add(err, "code", json_object_new_string(e->code));
	json_object_object_add(err, "message", json_object_new_string(e->message));
	json_object_object_add(err, "details", list);
	json_object_object_add(root, "error", err);
	json_object_object_add(root, "meta", render_meta_json(m));
	return render_finish(root, st, m, head, out);
}
