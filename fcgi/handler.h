/* handler.h: one request's walk, params in, response bytes out.
 *
 *   method -> route -> credentials -> inputs -> the one query -> render
 *
 * It does no I/O itself beyond the database call in app->db; the clock
 * reading and a fresh request id come in from the loop, so the same walk
 * serves FastCGI, CGI and the tests. */
#ifndef RS_HANDLER_H
#define RS_HANDLER_H

#include "app.h"
#include "render.h"
#include "request.h"

typedef struct {
	req_request req;
	st_status status;
	const char *reason;	/* why, for the log; NULL on success */
	auth_caller caller;
	int health;		/* the request was /healthz */
	double db_ms;		/* time spent on the database, or -1 */
	int64_t db_lag_ms;	/* answered by a standby this far behind, or -1 */
	int db_rollups;		/* summed from rollups 1, by a scan 0, or -1 */
	render_meta meta;
	render_out out;
} handler_result;

/* fresh_id: a new request id, used when X-Request-Id is absent or bad. */
void handler_run(app_ctx *app, req_getter get, void *ctx, long long now,
    const char *fresh_id, handler_result *h);

#endif
