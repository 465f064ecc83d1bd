/* fuzz_route: req_read and req_route over a CGI parameter set made from
 * the input (fuzz.h: fuzz_cgi_read), as nginx, Apache or a stranger's
 * FastCGI client could send it.
 *
 * Properties:
 *  - the path is NUL-terminated at path_len <= REQ_PATH_MAX, and when it
 *    is usable (path_ok) holds no NUL before that;
 *  - the route is taken exactly when the path is
 *    /api/v1/workflows/{one non-empty segment}/runs/summary (read here
 *    independently), and the id it gives points inside the path;
 *  - the request id is X-Request-Id exactly when that matches
 *    [A-Za-z0-9._:-]{1,128}, else empty; the method text is a prefix of
 *    REQUEST_METHOD that fits its buffer. */
#include "fuzz.h"
#include "request.h"
#include "validate.h"

#define PREFIX "/api/v1/workflows/"
#define SUFFIX "/runs/summary"

static int
ref_id_ok(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || strchr("._:-", s[i]) != NULL))
			return 0;
	return i >= 1 && i <= REQ_ID_MAX;
}

static int
ref_route(const char *path, size_t len)
{
	size_t p = sizeof(PREFIX) - 1, s = sizeof(SUFFIX) - 1;

	return len > p + s && strncmp(path, PREFIX, p) == 0 &&
	    strcmp(path + len - s, SUFFIX) == 0 &&
	    memchr(path + p, '/', len - p - s) == NULL;
}

/* The path comes from DOCUMENT_URI, else SCRIPT_NAME + PATH_INFO, else
 * REQUEST_URI up to its query, percent-decoded; cut at REQ_PATH_MAX. */
static void
check_path_source(fuzz_cgi *c, const req_request *r)
{
	const char *doc = fuzz_cgi_get(c, "DOCUMENT_URI");
	const char *script = fuzz_cgi_get(c, "SCRIPT_NAME");
	const char *info = fuzz_cgi_get(c, "PATH_INFO");
	const char *uri = fuzz_cgi_get(c, "REQUEST_URI");
	char want[2 * REQ_PATH_MAX + 2];
	long len;

	if (doc != NULL && doc[0] != '\0') {
		snprintf(want, sizeof(want), "%s", doc);
		len = (long)strlen(doc);
	} else if ((script && script[0]) || (info && info[0])) {
		snprintf(want, sizeof(want), "%s%s", script ? script : "", info ? info : "");
		len = (long)(strlen(script ? script : "") + strlen(info ? info : ""));
	} else if (uri != NULL) {
		len = vd_percent_decode(uri, strcspn(uri, "?#"), want, sizeof(want), 0);
		if (len < 0) {
			FUZZ_CHECK(!r->path_ok && r->path_len == 0);
			return;
		}
	} else {
		FUZZ_CHECK(!r->path_ok && r->path_len == 0);
		return;
	}
	FUZZ_CHECK(r->path_len == (size_t)(len < REQ_PATH_MAX ? len : REQ_PATH_MAX));
	FUZZ_CHECK(memcmp(r->path, want, r->path_len) == 0);
	/* Usable when whole and without a decoded NUL hiding the rest. */
	FUZZ_CHECK(r->path_ok == (len <= REQ_PATH_MAX &&
	    memchr(want, '\0', (size_t)len) == NULL));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_cgi c;
	req_request r;
	const char *m, *rid;
	st_status st;

	if (fuzz_cgi_read(data, size, &c) != 0)
		return 0;
	memset(&r, 0xa5, sizeof(r));	/* req_read must set every field */
	req_read(fuzz_cgi_get, &c, &r);
	FUZZ_CHECK(r.path_len <= REQ_PATH_MAX && r.path[r.path_len] == '\0');
	if (r.path_ok)
		FUZZ_CHECK(strlen(r.path) == r.path_len);
	check_path_source(&c, &r);
	st = req_route(&r);
	FUZZ_CHECK((st == ST_OK) == (r.path_ok && ref_route(r.path, r.path_len)));
	if (st == ST_OK) {
		FUZZ_CHECK(r.workflow_id == r.path + sizeof(PREFIX) - 1);
		FUZZ_CHECK(r.workflow_id_len >= 1 && r.workflow_id + r.workflow_id_len +
		    sizeof(SUFFIX) - 1 == r.path + r.path_len);
	} else {
		FUZZ_CHECK(st == ST_NOT_FOUND);
	}
	FUZZ_CHECK(req_is_health(&r) == (r.path_ok &&
	    strcmp(r.path, REQ_HEALTH_PATH) == 0));
	rid = fuzz_cgi_get(&c, "HTTP_X_REQUEST_ID");
	FUZZ_CHECK(req_request_id_ok(rid) == ref_id_ok(rid));
	FUZZ_CHECK(strcmp(r.request_id, ref_id_ok(rid) ? rid : "") == 0);
	m = fuzz_cgi_get(&c, "REQUEST_METHOD");
	FUZZ_CHECK(strlen(r.method_text) < sizeof(r.method_text));
	FUZZ_CHECK(strncmp(r.method_text, m ? m : "", strlen(r.method_text)) == 0);
	FUZZ_CHECK(r.method == (m && strcmp(m, "GET") == 0 ? REQ_GET :
	    m && strcmp(m, "HEAD") == 0 ? REQ_HEAD : REQ_OTHER));
	FUZZ_CHECK(r.query != NULL);
	fuzz_cgi_free(&c);
	return 0;
}
