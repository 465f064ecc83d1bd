/* fuzz_datetime: vd_parse_datetime on raw bytes (a decoded from/to value),
 * exactly the input's length, so any read past it is an ASan report.
 *
 * Properties:
 *  - it accepts exactly SPEC.md's grammar, with the instant glibc's timegm
 *    gives (ref_parse: the rule read plainly, sharing no code with
 *    validate.c; timegm also says which dates exist);
 * and of an accepted value:
 *  - it is at most 35 bytes, the grammar's longest
 *    (YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM:SS), so the query's 64-byte value
 *    buffer never cuts a valid one short;
 *  - vd_format_utc writes the same instant: read back with glibc's timegm
 *    (which shares no code with validate.c), and parsed back by
 *    vd_parse_datetime in its Z, +00:00 and unencoded " 00:00" spellings;
 *    " BC" exactly for instants before year 1;
 *  - the same bytes, percent-encoded as ?from=, give the same instant
 *    through vd_query_build, and a refused value a "from" error there. */
#include <time.h>

#include "fuzz.h"
#include "validate.h"

#define WORKFLOW "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
/* 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z, in microseconds. */
#define YEAR_1_US (-62135596800LL * 1000000)
#define YEAR_10000_US (253402300800LL * 1000000)

/* n decimal digits at s. */
static int
num(const char *s, size_t n, int *v)
{
	size_t i;

	for (*v = 0, i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

/* The date and time as seconds since the epoch, through glibc's timegm,
 * in *t; 1 when they name a date that exists (timegm did not normalise
 * them, as it does Feb 30 or day 0). */
static int
ref_timegm(int y, int mo, int d, int h, int mi, int s, int64_t *t)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*t = (int64_t)timegm(&tm);
	return tm.tm_mon == mo - 1 && tm.tm_mday == d;
}

/* SPEC.md: YYYY-MM-DD(T|t| )HH:MM[:SS[.f{1,6}]] then Z, z, or a sign
 * ('+', '-', or a space for an unencoded '+') and HH:MM, HHMM or
 * HH:MM:SS; a date that exists, hour < 24, minute and second < 60. */
static int
ref_parse(const char *s, size_t n, int64_t *us)
{
	int y, mo, d, h, mi, sec = 0, frac = 0, oh = 0, om = 0, os = 0, sign;
	size_t i = 16, k = 0, rest;

	if (n < 17 || !num(s, 4, &y) || s[4] != '-' || !num(s + 5, 2, &mo) ||
	    s[7] != '-' || !num(s + 8, 2, &d) || memchr("Tt ", s[10], 3) == NULL ||
	    !num(s + 11, 2, &h) || s[13] != ':' || !num(s + 14, 2, &mi))
		return 0;
	if (s[i] == ':') {
		if (n < i + 3 || !num(s + i + 1, 2, &sec))
			return 0;
		i += 3;
		if (i < n && s[i] == '.') {
			while (i + 1 + k < n && s[i + 1 + k] >= '0' && s[i + 1 + k] <= '9')
				k++;
			if (k < 1 || k > 6 || !num(s + i + 1, k, &frac))
				return 0;
			i += 1 + k;
			for (; k < 6; k++)
				frac *= 10;
		}
	}
	if ((rest = n - i) == 0)
		return 0;
	sign = s[i] == '-' ? -1 : 1;
	if (rest == 1 && (s[i] == 'Z' || s[i] == 'z'))
		;
	else if (memchr("+- ", s[i], 3) != NULL &&
	    ((rest == 5 && num(s + i + 1, 2, &oh) && num(s + i + 3, 2, &om)) ||
	    (rest == 6 && s[i + 3] == ':' && num(s + i + 1, 2, &oh) &&
	    num(s + i + 4, 2, &om)) ||
	    (rest == 9 && s[i + 3] == ':' && s[i + 6] == ':' &&
	    num(s + i + 1, 2, &oh) && num(s + i + 4, 2, &om) && num(s + i + 7, 2, &os))))
		;
	else
		return 0;
	if (y < 1 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59 ||
	    oh > 23 || om > 59 || os > 59)
		return 0;
	if (!ref_timegm(y, mo, d, h, mi, sec, us))
		return 0;
	*us = (*us - sign * (oh * 3600 + om * 60 + os)) * 1000000 + frac;
	return 1;
}

/* vd_format_utc's text, read back through timegm: the same instant? */
static void
check_format(int64_t us, const char *text)
{
	int y, mo, d, h, mi, s, f, n = 0;
	int64_t t;

	FUZZ_CHECK(sscanf(text, "%d-%2d-%2d %2d:%2d:%2d.%6d+00%n", &y, &mo, &d,
	    &h, &mi, &s, &f, &n) == 7 && n > 0);
	FUZZ_CHECK(strcmp(text + n, us < YEAR_1_US ? " BC" : "") == 0);
	if (us < YEAR_1_US)
		y = 1 - y;	/* 1 BC is year 0 */
	FUZZ_CHECK(ref_timegm(y, mo, d, h, mi, s, &t));	/* a date that exists */
	FUZZ_CHECK(t * 1000000 + f == us);
}

/* The formatted instant, as a client would send it, parses back. */
static void
check_reparse(int64_t us, const char *text)
{
	static const char *const offsets[] = { "Z", "+00:00", " 00:00", "-0000" };
	char again[48];
	size_t i;
	int64_t back;

	if (us < YEAR_1_US || us >= YEAR_10000_US)
		return;		/* not a four-digit year: not ours to parse */
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		int n = snprintf(again, sizeof(again), "%.26s%s", text, offsets[i]);

		again[10] = i % 2 ? 'T' : ' ';
		FUZZ_CHECK(vd_parse_datetime(again, (size_t)n, &back) == 0);
		FUZZ_CHECK(back == us);
	}
}

/* ?from=<every byte percent-encoded> through the query path. */
static void
check_query(const uint8_t *data, size_t size, int ok, int64_t us)
{
	char query[VD_QUERY_MAX + 1];
	size_t i, o = 0;
	vd_query q;

	if (size == 0 || 5 + 3 * size > VD_QUERY_MAX)
		return;
	memcpy(query, "from=", 5);
	o = 5;
	for (i = 0; i < size; i++)
		o += (size_t)snprintf(query + o, 4, "%%%02X", data[i]);
	vd_query_build(WORKFLOW, sizeof(WORKFLOW) - 1, NULL, query, &q);
	if (ok) {
		FUZZ_CHECK(q.nerrors == 0 && q.has_from && q.from_us == us);
	} else {
		FUZZ_CHECK(q.nerrors == 1 && q.errors[0].field == VD_FIELD_FROM);
		FUZZ_CHECK(!q.has_from);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[VD_UTC_TEXT_MAX];
	int64_t us = 0;
	int64_t want = 0;
	int ok = vd_parse_datetime((const char *)data, size, &us) == 0;

	FUZZ_CHECK(ok == ref_parse((const char *)data, size, &want));
	FUZZ_CHECK(!ok || us == want);
	check_query(data, size, ok, us);
	if (!ok)
		return 0;
	FUZZ_CHECK(size <= 35);
	vd_format_utc(us, text);
	check_format(us, text);
	check_reparse(us, text);
	return 0;
}
