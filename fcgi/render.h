/* render.h: the whole HTTP response, head and body, for FastCGI/CGI.
 *
 * Pure: the caller passes the clock reading and request id in. Every
 * error goes through one table (render.c) that gives its HTTP status,
 * code, message and extra header. JSON is built with json-c. */
#ifndef RS_RENDER_H
#define RS_RENDER_H

#include <stddef.h>

#include "db.h"
#include "request.h"
#include "status.h"
#include "validate.h"

typedef struct {
	char request_id[REQ_ID_MAX + 1];
	char timestamp[sizeof("YYYY-MM-DDTHH:MM:SSZ")];
} render_meta;

/* Bodies are small: at most five details with fixed messages. */
#define RENDER_MAX 4096

typedef struct {
	char data[RENDER_MAX];
	size_t len;
	int http_status;
} render_out;

int render_summary(const db_summary *s, const render_meta *m, int head,
    render_out *out);
/* details: only for ST_VALIDATION_ERROR; otherwise "details" is null. */
int render_error(st_status st, const vd_error *details, size_t ndetails,
    const render_meta *m, int head, render_out *out);

/* /healthz: 200 {"status":"ok"}, or 503 {"status":"unavailable"} with
 * Retry-After. */
int render_health(int ok, const render_meta *m, int head, render_out *out);

int render_http_status(st_status st);
const char *render_error_code(st_status st);

/* The shortest decimal that reads back as the same double, laid out as
 * Python's repr() does: 0.75, 245.6, 1.0, 1e-05, 1e+16. */
size_t render_double(double v, char *buf, size_t cap);

/* "YYYY-MM-DDTHH:MM:SSZ" for a Unix time. */
void render_timestamp(long long unix_seconds, char out[sizeof("YYYY-MM-DDTHH:MM:SSZ")]);

#endif
