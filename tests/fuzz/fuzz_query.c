/* fuzz_query: the query string and the other inputs of vd_query_build,
 * and vd_percent_decode on its own.
 *
 * Input: one byte of flags (bit 0: no X-Workspace-Id, bit 1: no query
 * string at all), then workflow id, X-Workspace-Id and query string,
 * NUL-separated (they reach us as C strings).
 *
 * Properties:
 *  - vd_query_build: at most one error per field, in vd_field order; the
 *    workflow id is refused exactly when it is not a UUID; "query" is
 *    refused exactly when the string is longer than VD_QUERY_MAX or does
 *    not percent-decode as a whole (splitting on & and = never changes
 *    that: neither is a hex digit); an accepted from/to pair is in order.
 *  - vd_percent_decode of the raw query: what a plain reading of
 *    percent-decoding gives (ref_decode); the decoded length does not
 *    depend on the room given, what fits is the same prefix, it never
 *    grows the text, and re-encoding the result decodes to the same bytes. */
#include "fuzz.h"
#include "validate.h"

/* Percent-decoding read plainly: NULL out to only measure; -1 for a '%'
 * without two hex digits after it. */
static long
ref_decode(const char *in, size_t n, char *out, int plus)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++, o++) {
		char c = in[i];

		if (c == '%') {
			char pair[3] = { 0 };

			if (n - i < 3 || !in[i + 1] || !strchr(hex, in[i + 1]) ||
			    !in[i + 2] || !strchr(hex, in[i + 2]))
				return -1;
			memcpy(pair, in + i + 1, 2);
			c = (char)strtol(pair, NULL, 16);
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (out != NULL)
			out[o] = c;
	}
	return (long)o;
}

static int
has_error(const vd_query *q, vd_field f)
{
	size_t i;

	for (i = 0; i < q->nerrors; i++)
		if (q->errors[i].field == f)
			return 1;
	return 0;
}

static void
check_build(const char *wf, size_t wflen, const char *ws, const char *query)
{
	vd_uuid u;
	vd_query q;
	size_t i, qlen;

	vd_query_build(wf, wflen, ws, query, &q);
	FUZZ_CHECK(q.nerrors <= VD_FIELD_COUNT);
	for (i = 0; i < q.nerrors; i++) {
		FUZZ_CHECK(q.errors[i].message != NULL);
		FUZZ_CHECK(i == 0 || q.errors[i].field > q.errors[i - 1].field);
	}
	FUZZ_CHECK(has_error(&q, VD_FIELD_WORKFLOW_ID) ==
	    (vd_parse_uuid(wf, wflen, &u) != 0));
	if (ws == NULL || ws[0] == '\0')
		FUZZ_CHECK(!q.has_workspace && !has_error(&q, VD_FIELD_WORKSPACE_ID));
	else
		FUZZ_CHECK(has_error(&q, VD_FIELD_WORKSPACE_ID) ==
		    (vd_parse_uuid(ws, strlen(ws), &u) != 0));
	qlen = query ? strlen(query) : 0;
	FUZZ_CHECK(has_error(&q, VD_FIELD_QUERY) == (qlen > VD_QUERY_MAX ||
	    ref_decode(query, qlen, NULL, 1) < 0));
	if (q.nerrors == 0 && q.has_from && q.has_to)
		FUZZ_CHECK(q.from_us <= q.to_us);
}

static void
check_decode(const char *in, size_t n, unsigned cap_seed)
{
	char *full = malloc(n + 1), *want = malloc(n + 1), *part, *enc, *back;
	size_t cap = n ? cap_seed % (n + 1) : 0, i, o = 0;
	long len = vd_percent_decode(in, n, full, n, cap_seed & 1);

	FUZZ_CHECK(full != NULL && want != NULL);
	FUZZ_CHECK(len == ref_decode(in, n, want, cap_seed & 1));
	if (len >= 0)
		FUZZ_CHECK(memcmp(full, want, (size_t)len) == 0);
	free(want);
	if (len < 0) {
		free(full);
		return;
	}
	FUZZ_CHECK((size_t)len <= n);
	part = malloc(cap + 1);
	FUZZ_CHECK(part != NULL);
	FUZZ_CHECK(vd_percent_decode(in, n, part, cap, cap_seed & 1) == len);
	FUZZ_CHECK(memcmp(part, full, cap < (size_t)len ? cap : (size_t)len) == 0);
	free(part);
	/* Every byte as %xx (lower case this time) reads back the same. */
	enc = malloc(3 * (size_t)len + 1);
	back = malloc((size_t)len + 1);
	FUZZ_CHECK(enc != NULL && back != NULL);
	for (i = 0; i < (size_t)len; i++)
		o += (size_t)snprintf(enc + o, 4, "%%%02x", (unsigned char)full[i]);
	FUZZ_CHECK(vd_percent_decode(enc, o, back, (size_t)len, 0) == len);
	FUZZ_CHECK(memcmp(back, full, (size_t)len) == 0);
	free(enc);
	free(back);
	free(full);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_fields f;
	const char *ws, *query;

	if (size < 1)
		return 0;
	fuzz_split(data + 1, size - 1, &f);
	ws = f.n > 1 && !(data[0] & 1) ? f.f[1] : NULL;
	query = f.n > 2 && !(data[0] & 2) ? f.f[2] : NULL;
	check_build(f.f[0], f.len[0], ws, query);
	if (query != NULL) {
		/* Without its NUL, so that a read past n is an ASan report. */
		char *raw = malloc(f.len[2] ? f.len[2] : 1);

		FUZZ_CHECK(raw != NULL);
		memcpy(raw, query, f.len[2]);
		check_decode(raw, f.len[2], data[0] >> 2);
		free(raw);
	}
	fuzz_fields_free(&f);
	return 0;
}
