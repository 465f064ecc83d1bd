/* request.c: which params we read, and the route. */
#include "request.h"

#include <string.h>

#include "validate.h"

static void
req_copy_path(req_request *r, const char *a, size_t alen, const char *b, size_t blen)
{
	r->path_ok = alen + blen <= REQ_PATH_MAX;
	if (alen > REQ_PATH_MAX)
		alen = REQ_PATH_MAX;
	if (blen > REQ_PATH_MAX - alen)
		blen = REQ_PATH_MAX - alen;
	memcpy(r->path, a, alen);
	memcpy(r->path + alen, b, blen);
	r->path_len = alen + blen;
	r->path[r->path_len] = '\0';
}

/* DOCUMENT_URI (nginx), else SCRIPT_NAME+PATH_INFO (Apache, lighttpd),
 * else REQUEST_URI without its query, percent-decoded as the others are. */
static void
req_read_path(req_getter get, void *ctx, req_request *r)
{
	const char *doc = get(ctx, "DOCUMENT_URI");
	const char *script = get(ctx, "SCRIPT_NAME");
	const char *info = get(ctx, "PATH_INFO");
	const char *uri = get(ctx, "REQUEST_URI");

	if (doc != NULL && doc[0] != '\0') {
		req_copy_path(r, doc, strlen(doc), "", 0);
	} else if ((script != NULL && script[0] != '\0') ||
	    (info != NULL && info[0] != '\0')) {
		script = script ? script : "";
		info = info ? info : "";
		req_copy_path(r, script, strlen(script), info, strlen(info));
	} else if (uri != NULL) {
		size_t n = strcspn(uri, "?#");
		long len = vd_percent_decode(uri, n, r->path, REQ_PATH_MAX, 0);

		r->path_ok = len >= 0 && len <= REQ_PATH_MAX;
		r->path_len = len < 0 ? 0 : len > REQ_PATH_MAX ? REQ_PATH_MAX : (size_t)len;
		r->path[r->path_len] = '\0';
	} else {
		r->path_ok = 0;
	}
	/* A NUL decoded into the path would hide what follows it. */
	if (memchr(r->path, '\0', r->path_len) != NULL)
		r->path_ok = 0;
}

int
req_request_id_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._:-");
	return n >= 1 && n <= REQ_ID_MAX && s[n] == '\0';
}

void
req_read(req_getter get, void *ctx, req_request *r)
{
	const char *m = get(ctx, "REQUEST_METHOD");
	const char *ws = get(ctx, "HTTP_X_WORKSPACE_ID");
	const char *rid = get(ctx, "HTTP_X_REQUEST_ID");
	const char *q = get(ctx, "QUERY_STRING");
	size_t mlen;

	memset(r, 0, sizeof(*r));
	m = m ? m : "";
	if (strcmp(m, "GET") == 0)
		r->method = REQ_GET;
	else if (strcmp(m, "HEAD") == 0)
		r->method = REQ_HEAD;
	else
		r->method = REQ_OTHER;
	mlen = strnlen(m, sizeof(r->method_text) - 1);
	memcpy(r->method_text, m, mlen);
	r->method_text[mlen] = '\0';
	req_read_path(get, ctx, r);
	r->query = q ? q : "";
	r->authorization = get(ctx, "HTTP_AUTHORIZATION");
	r->workspace_id = ws && ws[0] != '\0' ? ws : NULL;
	if (req_request_id_ok(rid))
		memcpy(r->request_id, rid, strlen(rid) + 1);
}

int
req_is_health(const req_request *r)
{
	return r->path_ok && r->path_len == sizeof(REQ_HEALTH_PATH) - 1 &&
	    memcmp(r->path, REQ_HEALTH_PATH, r->path_len) == 0;
}

st_status
req_route(req_request *r)
{
	static const char prefix[] = "/api/v1/workflows/";
	static const char suffix[] = "/runs/summary";
	const size_t plen = sizeof(prefix) - 1, slen = sizeof(suffix) - 1;
	const char *id;
	size_t idlen;

	if (!r->path_ok || r->path_len <= plen + slen ||
	    memcmp(r->path, prefix, plen) != 0 ||
	    memcmp(r->path + r->path_len - slen, suffix, slen) != 0)
		return ST_NOT_FOUND;
	id = r->path + plen;
	idlen = r->path_len - plen - slen;
	if (memchr(id, '/', idlen) != NULL)
		return ST_NOT_FOUND;
	r->workflow_id = id;
	r->workflow_id_len = idlen;
	return ST_OK;
}
