/* request.h: FastCGI/CGI params -> one bounded request struct.
 *
 * Pure: params come through a getter, so the same code reads FastCGI
 * params, the CGI environment or a test's table. Strings the request
 * points at (query, headers) belong to the getter and must outlive it. */
#ifndef RS_REQUEST_H
#define RS_REQUEST_H

#include <stddef.h>

#include "status.h"

typedef const char *(*req_getter)(void *ctx, const char *name);

typedef enum { REQ_GET, REQ_HEAD, REQ_OTHER } req_method;

/* A path longer than this is not our route, and is logged cut short. */
#define REQ_PATH_MAX 512
#define REQ_ID_MAX 128

typedef struct {
	req_method method;
	char method_text[16];	/* for the log; cut short, never trusted */
	char path[REQ_PATH_MAX + 1];
	size_t path_len;
	int path_ok;		/* decoded and within REQ_PATH_MAX */
	const char *query;	/* raw, or "" */
	const char *authorization;	/* NULL when absent */
	const char *workspace_id;	/* NULL when absent or empty */
	char request_id[REQ_ID_MAX + 1];	/* valid X-Request-Id, or "" */
	const char *workflow_id;	/* into path, set by req_route */
	size_t workflow_id_len;
} req_request;

void req_read(req_getter get, void *ctx, req_request *r);

/* ST_OK and workflow_id set when the path is
 * /api/v1/workflows/{id}/runs/summary with a non-empty id segment. */
st_status req_route(req_request *r);

/* The health check's path: answered without credentials. */
#define REQ_HEALTH_PATH "/healthz"
int req_is_health(const req_request *r);

/* The X-Request-Id rule: [A-Za-z0-9._:-]{1,128}. */
int req_request_id_ok(const char *s);

#endif
