/* validate.c: UUIDs, ISO 8601 date-times, the query string. */
#include "validate.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

static int
vd_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
vd_parse_uuid(const char *s, size_t n, vd_uuid *out)
{
	size_t i, k = 0;
	int hyphenated;

	if (n == 36)
		hyphenated = 1;
	else if (n == 32)
		hyphenated = 0;
	else
		return -1;
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (hyphenated && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		hi = vd_hexval((unsigned char)s[i]);
		lo = vd_hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0 || k >= sizeof(out->b))
			return -1;
		out->b[k++] = (unsigned char)(hi << 4 | lo);
		i++;
	}
	return k == sizeof(out->b) ? 0 : -1;
}

void
vd_format_uuid(const vd_uuid *u, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u->b[i] >> 4];
		out[o++] = hex[u->b[i] & 15];
	}
	out[o] = '\0';
}

/* Reads exactly `len` decimal digits at s; -1 if any is not a digit. */
static long
vd_digits(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
vd_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
vd_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned
vd_days_in_month(long y, long m)
{
	static const unsigned char dim[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* The offset: Z, or sign HH:MM, HHMM or HH:MM:SS, ending exactly at n. */
static int
vd_parse_offset(const char *s, size_t n, long *seconds)
{
	long sign, hh, mm, ss = 0;

	if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*seconds = 0;
		return 0;
	}
	if (n < 5)
		return -1;
	/* A space is a '+' that the client forgot to percent-encode. */
	if (s[0] == '+' || s[0] == ' ')
		sign = 1;
	else if (s[0] == '-')
		sign = -1;
	else
		return -1;
	hh = vd_digits(s + 1, 2);
	if (n == 5)
		mm = vd_digits(s + 3, 2);
	else if (n == 6 && s[3] == ':')
		mm = vd_digits(s + 4, 2);
	else if (n == 9 && s[3] == ':' && s[6] == ':') {
		mm = vd_digits(s + 4, 2);
		ss = vd_digits(s + 7, 2);
	} else
		return -1;
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
		return -1;
	*seconds = sign * (hh * 3600 + mm * 60 + ss);
	return 0;
}

int
vd_parse_datetime(const char *s, size_t n, int64_t *us)
{
	long y, mo, d, h, mi, sec = 0, frac = 0, off;
	size_t i = 16;

	if (n < 17)
		return -1;
	y = vd_digits(s, 4);
	mo = vd_digits(s + 5, 2);
	d = vd_digits(s + 8, 2);
	h = vd_digits(s + 11, 2);
	mi = vd_digits(s + 14, 2);
	if (s[4] != '-' || s[7] != '-' || s[13] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || (unsigned long)d > vd_days_in_month(y, mo))
		return -1;
	if (s[i] == ':') {
		if (i + 3 > n || (sec = vd_digits(s + i + 1, 2)) < 0 || sec > 59)
			return -1;
		i += 3;
		if (i < n && s[i] == '.') {
			size_t k = 0;

			i++;
			while (i + k < n && s[i + k] >= '0' && s[i + k] <= '9')
				k++;
			if (k < 1 || k > 6)
				return -1;
			frac = vd_digits(s + i, k);
			i += k;
			for (; k < 6; k++)
				frac *= 10;
		}
	}
	if (i >= n || vd_parse_offset(s + i, n - i, &off) != 0)
		return -1;
	*us = ((vd_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec - off) * 1000000) + frac;
	return 0;
}

void
vd_format_utc(int64_t us, char out[VD_UTC_TEXT_MAX])
{
	const int64_t day = INT64_C(86400000000);
	int64_t days = us / day, rem = us % day, y, year;
	unsigned m, d;
	text_buf b = TEXT_BUF(out, VD_UTC_TEXT_MAX);

	if (rem < 0) {
		rem += day;
		days--;
	}
	vd_civil_from_days(days, &y, &m, &d);
	/* PostgreSQL has no year 0: astronomical year 0 is 1 BC. */
	/* Digit by digit: on the path of every request with a window,
	 * where snprintf cost more than the rest of the validation. */
	year = y > 0 ? y : 1 - y;
	if (year > 9999)
		text_put_int(&b, year);
	else
		text_put_digits(&b, (unsigned long long)year, 4);
	text_putc(&b, '-');
	text_put_digits(&b, m, 2);
	text_putc(&b, '-');
	text_put_digits(&b, d, 2);
	text_putc(&b, ' ');
	text_put_digits(&b, (unsigned long long)(rem / INT64_C(3600000000)), 2);
	text_putc(&b, ':');
	text_put_digits(&b, (unsigned long long)(rem / 60000000 % 60), 2);
	text_putc(&b, ':');
	text_put_digits(&b, (unsigned long long)(rem / 1000000 % 60), 2);
	text_putc(&b, '.');
	text_put_digits(&b, (unsigned long long)(rem % 1000000), 6);
	text_put(&b, y > 0 ? "+00" : "+00 BC", y > 0 ? 4 : 7);
}

void
vd_format_iso_seconds(int64_t unix_seconds, char out[VD_ISO_SECONDS_MAX])
{
	char utc[VD_UTC_TEXT_MAX];

	if (unix_seconds < INT64_C(-62135596800) || unix_seconds > INT64_C(253402300799))
		unix_seconds = 0;
	vd_format_utc(unix_seconds * 1000000, utc);
	memcpy(out, utc, VD_ISO_SECONDS_MAX - 1);
	out[10] = 'T';
	out[VD_ISO_SECONDS_MAX - 1] = '\0';
}

long
vd_percent_decode(const char *in, size_t n, char *out, size_t cap, int plus_is_space)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++, o++) {
		char c = in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = vd_hexval((unsigned char)in[i + 1]);
			lo = vd_hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		if (o < cap)
			out[o] = c;
	}
	return (long)o;
}

const char *
vd_field_name(vd_field f)
{
	static const char *const names[VD_FIELD_COUNT] = {
		[VD_FIELD_WORKFLOW_ID] = "workflow_id",
		[VD_FIELD_WORKSPACE_ID] = "X-Workspace-Id",
		[VD_FIELD_QUERY] = "query",
		[VD_FIELD_FROM] = "from",
		[VD_FIELD_TO] = "to",
	};
	return (unsigned)f < VD_FIELD_COUNT ? names[f] : "query";
}

/* The longest valid date-time is 32 bytes; anything longer is invalid,
 * so a value is decoded into this much and no more. */
#define VD_VALUE_MAX 64

struct vd_param {
	int count;
	long len;		/* decoded length, may exceed VD_VALUE_MAX */
	char value[VD_VALUE_MAX];
};

static const char VD_MSG_UUID[] = "must be a UUID";
static const char VD_MSG_DATETIME[] =
    "must be an ISO 8601 date-time with a UTC offset, e.g. 2024-01-15T09:30:00Z";
static const char VD_MSG_REPEATED[] = "must be given at most once";
static const char VD_MSG_ORDER[] = "must not be later than to";
static const char VD_MSG_QUERY[] = "is not a valid percent-encoded query string";
static const char VD_MSG_QUERY_LONG[] = "is longer than 2048 bytes";

/* Splits the query on '&' and keeps from/to; returns -1 on bad encoding
 * anywhere, after still looking at every pair. */
static int
vd_scan_query(const char *query, struct vd_param *from, struct vd_param *to)
{
	const char *p = query;
	int bad = 0;

	while (p != NULL && *p != '\0') {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;
		char key[8];
		long kdec = vd_percent_decode(p, klen, key, sizeof(key), 1);
		struct vd_param *dst = NULL;
		long vdec;
		char scratch[1];

		if (kdec == 4 && memcmp(key, "from", 4) == 0)
			dst = from;
		else if (kdec == 2 && memcmp(key, "to", 2) == 0)
			dst = to;
		vdec = eq == NULL ? 0 : vd_percent_decode(eq + 1, plen - klen - 1,
		    dst ? dst->value : scratch, dst ? sizeof(dst->value) : 0, 1);
		if (kdec < 0 || vdec < 0)
			bad = 1;
		else if (dst != NULL) {
			dst->count++;
			dst->len = vdec;
		}
		p = amp ? amp + 1 : NULL;
	}
	return bad ? -1 : 0;
}

/* An empty value counts as absent. */
static const char *
vd_check_time(const struct vd_param *p, int *has, int64_t *us)
{
	*has = 0;
	if (p->count > 1)
		return VD_MSG_REPEATED;
	if (p->count == 0 || p->len == 0)
		return NULL;
	if (p->len > VD_VALUE_MAX ||
	    vd_parse_datetime(p->value, (size_t)p->len, us) != 0)
		return VD_MSG_DATETIME;
	*has = 1;
	return NULL;
}

size_t
vd_query_build(const char *workflow_id, size_t workflow_id_len,
    const char *workspace, const char *query, vd_query *q)
{
	const char *msg[VD_FIELD_COUNT] = { 0 };
	struct vd_param from = { 0 }, to = { 0 };
	size_t f;

	memset(q, 0, sizeof(*q));
	if (vd_parse_uuid(workflow_id, workflow_id_len, &q->workflow_id) != 0)
		msg[VD_FIELD_WORKFLOW_ID] = VD_MSG_UUID;
	if (workspace != NULL && workspace[0] != '\0') {
		if (vd_parse_uuid(workspace, strlen(workspace), &q->workspace_id) != 0)
			msg[VD_FIELD_WORKSPACE_ID] = VD_MSG_UUID;
		else
			q->has_workspace = 1;
	}
	/* Two date-times need about 100 bytes; nothing of ours needs more
	 * than this, so a longer query is refused unread. */
	if (query != NULL && strnlen(query, VD_QUERY_MAX + 1) > VD_QUERY_MAX)
		msg[VD_FIELD_QUERY] = VD_MSG_QUERY_LONG;
	else if (vd_scan_query(query, &from, &to) != 0)
		msg[VD_FIELD_QUERY] = VD_MSG_QUERY;
	msg[VD_FIELD_FROM] = vd_check_time(&from, &q->has_from, &q->from_us);
	msg[VD_FIELD_TO] = vd_check_time(&to, &q->has_to, &q->to_us);
	if (q->has_from && q->has_to && q->from_us > q->to_us)
		msg[VD_FIELD_FROM] = VD_MSG_ORDER;
	for (f = 0; f < VD_FIELD_COUNT; f++) {
		if (msg[f] == NULL)
			continue;
		q->errors[q->nerrors].field = (vd_field)f;
		q->errors[q->nerrors].message = msg[f];
		q->nerrors++;
	}
	return q->nerrors;
}

static int
vd_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
vd_b64url_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		int v = vd_b64val((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	return (long)o;
}
