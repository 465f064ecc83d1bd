/* handler.c: the order of checks that SPEC.md fixes, in one place. */
#include "handler.h"

#include <string.h>

#include "validate.h"

static st_status
handler_walk(app_ctx *app, long long now, handler_result *h, vd_query *q,
    db_summary *sum)
{
	req_request *r = &h->req;
	char wf[37], ws[37], from[VD_UTC_TEXT_MAX], to[VD_UTC_TEXT_MAX];
	const char *token;
	size_t token_len;
	db_params p;
	st_status st;

	if (r->method == REQ_OTHER) {
		h->reason = "method not allowed";
		return ST_METHOD_NOT_ALLOWED;
	}
	if (req_is_health(r)) {
		h->health = 1;
		st = db_ping(app->db, &h->reason);
		h->db_ms = db_last_ms(app->db);
		return st == ST_OK ? ST_OK : ST_SERVICE_UNAVAILABLE;
	}
	if ((st = req_route(r)) != ST_OK) {
		h->reason = "no such route";
		return st;
	}
	st = auth_bearer(r->authorization, &h->caller, &token, &token_len, &h->reason);
	if (st != ST_OK)
		return st;
	if (h->caller.kind == AUTH_JWT && (st = auth_jwt(&app->auth, token,
	    token_len, now, &h->caller, &h->reason)) != ST_OK)
		return st;
	if (vd_query_build(r->workflow_id, r->workflow_id_len, r->workspace_id,
	    r->query, q) > 0) {
		h->reason = "invalid input";
		return ST_VALIDATION_ERROR;
	}
	vd_format_uuid(&q->workflow_id, wf);
	if (q->has_workspace)
		vd_format_uuid(&q->workspace_id, ws);
	if (q->has_from)
		vd_format_utc(q->from_us, from);
	if (q->has_to)
		vd_format_utc(q->to_us, to);
	p.workflow_id = wf;
	p.workspace_id = q->has_workspace ? ws : NULL;
	p.user_id = h->caller.kind == AUTH_JWT ? h->caller.sub : NULL;
	p.key_hash = h->caller.kind == AUTH_API_KEY ? h->caller.key_hash : NULL;
	p.from = q->has_from ? from : NULL;
	p.to = q->has_to ? to : NULL;
	st = db_summary_run(app->db, &p, sum, &h->reason);
	h->db_ms = db_last_ms(app->db);
	h->db_lag_ms = sum->replay_lag_ms;
	h->db_rollups = db_uses_rollups(app->db);
	memcpy(h->caller.key_id, sum->key_id, sizeof(h->caller.key_id));
	return st;
}

void
handler_run(app_ctx *app, req_getter get, void *ctx, long long now,
    const char *fresh_id, handler_result *h)
{
	vd_query q;
	db_summary sum;
	const char *id;
	size_t idlen;
	int head, rc;

	memset(h, 0, sizeof(*h));
	h->db_ms = -1;
	h->db_lag_ms = -1;
	h->db_rollups = -1;
	req_read(get, ctx, &h->req);
	head = h->req.method == REQ_HEAD;
	id = h->req.request_id[0] ? h->req.request_id : fresh_id;
	idlen = strnlen(id, REQ_ID_MAX);
	memcpy(h->meta.request_id, id, idlen);
	h->meta.request_id[idlen] = '\0';
	render_timestamp(now, h->meta.timestamp);
	h->status = handler_walk(app, now, h, &q, &sum);
	rc = h->health ? render_health(h->status == ST_OK, &h->meta, head, &h->out)
	    : h->status == ST_OK ? render_summary(&sum, &h->meta, head, &h->out)
	    : render_error(h->status, q.errors,
	    h->status == ST_VALIDATION_ERROR ? q.nerrors : 0, &h->meta, head, &h->out);
	if (rc != 0) {
		h->status = ST_INTERNAL_ERROR;
		h->reason = "response did not fit";
		render_error(ST_INTERNAL_ERROR, NULL, 0, &h->meta, head, &h->out);
	}
}
