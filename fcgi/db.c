/* db.c: libpq connection lifecycle, the statement, decoding its row. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "config.h"
#include "log.h"
#include "summary_sql.h"

#define DB_STMT "runs_summary"
#define DB_NPARAMS 6

/* Connection keywords: the caller's, parsed once at start-up, with our
 * defaults where it sets none, and our statement_timeout put in front of
 * whatever `options` it has so that the server always ends a query that
 * outlives the budget. */
#define DB_KEYS_MAX 64

struct db_conn {
	PQconninfoOption *parsed;	/* owns the caller's values */
	char connect_timeout[16];
	char *options;
	const char *keys[DB_KEYS_MAX + 1], *vals[DB_KEYS_MAX + 1];
	int budget_ms, connect_ms;
	int pooled;		/* behind a transaction pooler */
	long long max_age_ms;	/* 0: keep the connection while it works */
	long long opened_ms;	/* when the connection was opened */
	db_rollups rollups_mode;
	int rollups;		/* the open connection's statement is on rollups */
	int probing;		/* looking for them on a new connection */
	PGconn *pg;
	unsigned long served;	/* queries answered on this connection */
	double last_ms;		/* how long the last exchange took */
};

db_conn *
db_new(const char *conninfo, int connect_timeout_s, int statement_timeout_ms, int pooled,
    char *err, size_t errlen)
{
	db_conn *c = calloc(1, sizeof(*c));
	const char *theirs = "", *timeout = NULL, *appname = NULL;
	char *msg = NULL;
	size_t n = 0, len;
	PQconninfoOption *o;
	long t;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->parsed = PQconninfoParse(conninfo ? conninfo : "", &msg);
	if (c->parsed == NULL) {
		len = msg ? strcspn(msg, "\n") : 0;
		snprintf(err, errlen, "DATABASE_URL: %.*s", (int)len,
		    msg ? msg : "out of memory");
		PQfreemem(msg);
		free(c);
		return NULL;
	}
	for (o = c->parsed; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "options") == 0) {
			theirs = o->val;
			continue;
		}
		if (strcmp(o->keyword, "connect_timeout") == 0)
			timeout = o->val;
		if (strcmp(o->keyword, "application_name") == 0)
			appname = o->val;
		if (n < DB_KEYS_MAX - 3) {
			c->keys[n] = o->keyword;
			c->vals[n++] = o->val;
		}
	}
	snprintf(c->connect_timeout, sizeof(c->connect_timeout), "%d", connect_timeout_s);
	/* A pooler refuses startup options: theirs go through untouched. */
	if (!pooled) {
		len = strlen(theirs) + 64;
		if ((c->options = malloc(len)) == NULL) {
			snprintf(err, errlen, "out of memory");
			db_free(c);
			return NULL;
		}
		snprintf(c->options, len, "-c statement_timeout=%d%s%s", statement_timeout_ms,
		    theirs[0] ? " " : "", theirs);
		theirs = c->options;
	}
	if (theirs[0] != '\0') {
		c->keys[n] = "options";
		c->vals[n++] = theirs;
	}
	if (timeout == NULL) {
		c->keys[n] = "connect_timeout";
		c->vals[n++] = c->connect_timeout;
	}
	if (appname == NULL) {
		c->keys[n] = "application_name";
		c->vals[n++] = "runs-summary";
	}
	c->keys[n] = c->vals[n] = NULL;
	c->budget_ms = statement_timeout_ms;
	c->pooled = pooled;
	c->connect_ms = connect_timeout_s * 1000;
	if (timeout != NULL && cfg_parse_long(timeout, 0, 3600, &t) == 0)
		c->connect_ms = (int)t * 1000;
	return c;
}

static void
db_drop(db_conn *c)
{
	PQfinish(c->pg);
	c->pg = NULL;
	c->served = 0;
}

void
db_set_max_age(db_conn *c, int seconds)
{
	c->max_age_ms = (long long)seconds * 1000;
}

void
db_set_rollups(db_conn *c, db_rollups mode)
{
	c->rollups_mode = mode;
}

int
db_uses_rollups(const db_conn *c)
{
	return c->pg == NULL ? -1 : c->rollups;
}

void
db_free(db_conn *c)
{
	if (c == NULL)
		return;
	db_drop(c);
	PQconninfoFree(c->parsed);
	free(c->options);
	free(c);
}

static long long
db_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the whole result until the deadline; NULL on timeout or a
 * broken connection. */
static PGresult *
db_wait(db_conn *c, long long deadline, int *timed_out)
{
	PGresult *res = NULL, *r;

	*timed_out = 0;
	for (;;) {
		while (PQisBusy(c->pg)) {
			struct pollfd pfd = { PQsocket(c->pg), POLLIN, 0 };
			long long left = deadline - db_now_ms();
			int n;

			if (left <= 0) {
				*timed_out = 1;
				PQclear(res);
				return NULL;
			}
			n = poll(&pfd, 1, (int)left);
			if ((n < 0 && errno != EINTR) || (n > 0 && !PQconsumeInput(c->pg))) {
				PQclear(res);
				return NULL;
			}
		}
		if ((r = PQgetResult(c->pg)) == NULL)
			return res;
		if (res == NULL)
			res = r;
		else
			PQclear(r);
	}
}

/* SQLSTATE classes that mean "the database cannot answer now": connection
 * exceptions, insufficient resources, operator intervention (which holds
 * query_canceled, i.e. statement_timeout, and shutdowns), system errors. */
static int
db_unavailable_state(const char *sqlstate)
{
	return sqlstate == NULL || strncmp(sqlstate, "08", 2) == 0 ||
	    strncmp(sqlstate, "53", 2) == 0 || strncmp(sqlstate, "57", 2) == 0 ||
	    strncmp(sqlstate, "58", 2) == 0;
}

/* How an exchange failed, for the retry: not at all, a connection that
 * broke, or a statement on rollups that failed. Rollups uninstalled
 * under a connection fail it in more ways than one ("does not exist", or
 * "could not open relation" for a statement that waited on the drop), so
 * any SQL error there is worth one try on a new connection, which looks
 * for them again. */
enum { DB_KEPT, DB_BROKEN, DB_STALE };

/* Collects the result of what was just sent. On any failure the
 * connection is dropped, the status says whether to answer 503 or 500,
 * and *lost says DB_BROKEN for a broken connection, DB_STALE for an SQL
 * error of a statement on rollups (DB_ROLLUPS=auto), DB_KEPT for a
 * timeout or another SQL error. */
static st_status
db_collect(db_conn *c, int sent, long long deadline, ExecStatusType want,
    PGresult **out, const char **reason, int *lost)
{
	PGresult *res = NULL;
	const char *state;
	int timed_out = 0, gone;
	st_status st;

	*lost = DB_KEPT;
	if (sent && (res = db_wait(c, deadline, &timed_out)) != NULL &&
	    PQresultStatus(res) == want) {
		*out = res;
		return ST_OK;
	}
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	*lost = !timed_out && PQstatus(c->pg) != CONNECTION_OK ? DB_BROKEN : DB_KEPT;
	gone = !timed_out && !*lost && !db_unavailable_state(state) &&
	    (c->rollups || c->probing) && c->rollups_mode == DB_ROLLUPS_AUTO;
	st = timed_out || *lost || gone || db_unavailable_state(state)
	    ? ST_SERVICE_UNAVAILABLE : ST_INTERNAL_ERROR;
	*reason = timed_out ? "query timed out"
	    : *lost ? "database connection lost"
	    : gone ? "statement on rollups failed (uninstalled?)"
	    : state && strcmp(state, "57014") == 0 ? "statement timeout"
	    : st == ST_SERVICE_UNAVAILABLE ? "database unavailable"
	    : "statement failed (schema missing or out of date?)";
	PQclear(res);
	db_drop(c);
	if (gone)
		*lost = DB_STALE;
	return st;
}

/* Installed (scripts/rollups.sql creates both in one transaction),
 * kept (its four triggers there and enabled) and readable by this role;
 * otherwise the statement on rollups would fail or be wrong. */
#define DB_ROLLUPS_PROBE \
	"SELECT CASE WHEN to_regnamespace('runs_summary') IS NULL THEN 'absent' " \
	"WHEN NOT has_schema_privilege('runs_summary', 'USAGE') THEN 'unreadable' " \
	"WHEN to_regclass('runs_summary.buckets') IS NULL " \
	"OR to_regclass('runs_summary.backfill') IS NULL THEN 'absent' " \
	"WHEN (SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass('workflow_runs') " \
	"AND tgname IN ('runs_summary_insert', 'runs_summary_update', " \
	"'runs_summary_delete', 'runs_summary_truncate') AND tgenabled IN ('O', 'A')) <> 4 " \
	"THEN 'disabled' " \
	"WHEN has_table_privilege('runs_summary.buckets', 'SELECT') " \
	"AND has_table_privilege('runs_summary.backfill', 'SELECT') THEN 'usable' " \
	"ELSE 'unreadable' END"

static const char *
db_statement(const db_conn *c)
{
	return c->rollups ? DB_SUMMARY_ROLLUPS_SQL : DB_SUMMARY_SQL;
}

static st_status
db_connect(db_conn *c, long long deadline, const char **reason, int *lost)
{
	PGresult *res = NULL;
	const char *found;
	st_status st;

	c->opened_ms = db_now_ms();
	c->pg = PQconnectdbParams(c->keys, c->vals, 0);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		*reason = "database connection failed";
		db_drop(c);
		return ST_SERVICE_UNAVAILABLE;
	}
	c->rollups = c->rollups_mode == DB_ROLLUPS_ON;
	if (c->rollups_mode == DB_ROLLUPS_AUTO) {
		c->probing = 1;
		st = db_collect(c, PQsendQuery(c->pg, DB_ROLLUPS_PROBE), deadline,
		    PGRES_TUPLES_OK, &res, reason, lost);
		c->probing = 0;
		if (st != ST_OK)
			return st;
		found = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
		c->rollups = strcmp(found, "usable") == 0;
		if (strcmp(found, "unreadable") == 0)
			log_line("event=rollups_unreadable reason=\"installed, but this role may "
			    "not read schema runs_summary: summaries scan\"");
		else if (strcmp(found, "disabled") == 0)
			log_line("event=rollups_disabled reason=\"a trigger of runs_summary on "
			    "workflow_runs is missing or disabled, so the buckets may be stale: "
			    "summaries scan; uninstall, install and backfill again\"");
		PQclear(res);
		res = NULL;
	}
	if (c->pooled)
		return ST_OK;
	st = db_collect(c, PQsendPrepare(c->pg, DB_STMT, db_statement(c), DB_NPARAMS, NULL),
	    deadline, PGRES_COMMAND_OK, &res, reason, lost);
	PQclear(res);
	return st;
}

static int
db_parse_count(const char *s, int64_t *v)
{
	char *end;
	long long x;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = x;
	return 0;
}

/* The statement's "denied" values, as the client and the log see them. */
static const struct {
	const char *denied;
	st_status st;
	const char *reason;
} db_denials[] = {
	{ "unknown", ST_INVALID_API_KEY, "API key unknown" },
	{ "revoked", ST_INVALID_API_KEY, "API key revoked" },
	{ "expired", ST_INVALID_API_KEY, "API key expired" },
	{ "workspace", ST_FORBIDDEN, "X-Workspace-Id is not the API key's workspace" },
	{ "scope", ST_FORBIDDEN, "API key lacks the workflows:read scope" },
};

st_status
db_decode_row(const char *const cols[DB_NCOLS], db_summary *out,
    const char **reason)
{
	int64_t *counts[] = { &out->total, &out->pending, &out->running,
	    &out->completed, &out->failed, &out->cancelled, &out->paused };
	size_t i;

	memset(out, 0, sizeof(*out));
	if (cols[1] != NULL) {
		if (strlen(cols[1]) != sizeof(out->key_id) - 1)
			goto bad;
		memcpy(out->key_id, cols[1], sizeof(out->key_id));
	}
	if (cols[0] != NULL) {
		for (i = 0; i < sizeof(db_denials) / sizeof(db_denials[0]); i++)
			if (strcmp(cols[0], db_denials[i].denied) == 0) {
				*reason = db_denials[i].reason;
				return db_denials[i].st;
			}
		goto bad;
	}
	if (cols[2] == NULL || (strcmp(cols[2], "t") != 0 && strcmp(cols[2], "f") != 0))
		goto bad;
	if (strcmp(cols[2], "f") == 0) {
		*reason = "workflow not visible to caller";
		return ST_NOT_FOUND;
	}
	for (i = 0; i < 7; i++)
		if (db_parse_count(cols[3 + i], counts[i]) != 0)
			goto bad;
	if (cols[10] != NULL) {
		char *end;

		errno = 0;
		out->average_seconds = strtod(cols[10], &end);
		if (*end != '\0' || end == cols[10] || errno == ERANGE)
			goto bad;
		out->has_average = 1;
	}
	out->replay_lag_ms = -1;
	if (cols[11] != NULL && db_parse_count(cols[11], &out->replay_lag_ms) != 0)
		goto bad;
	return ST_OK;
bad:
	*reason = "result row does not decode";
	return ST_INTERNAL_ERROR;
}

/* One exchange with the database on the open connection; *lost: the
 * connection broke under it (not a timeout). */
typedef st_status (*db_try_fn)(db_conn *c, void *arg, long long deadline,
    const char **reason, int *lost);

struct db_summary_arg {
	const db_params *p;
	db_summary *out;
};

static st_status
db_try_summary(db_conn *c, void *arg, long long deadline, const char **reason,
    int *lost)
{
	const db_params *p = ((struct db_summary_arg *)arg)->p;
	db_summary *out = ((struct db_summary_arg *)arg)->out;
	const char *vals[DB_NPARAMS] = { p->workflow_id, p->workspace_id,
	    p->user_id, p->from, p->to, p->key_hash };
	const char *cols[DB_NCOLS];
	PGresult *res = NULL;
	st_status st;
	int i;

	st = db_collect(c, c->pooled ?
	    PQsendQueryParams(c->pg, db_statement(c), DB_NPARAMS, NULL, vals, NULL, NULL, 0) :
	    PQsendQueryPrepared(c->pg, DB_STMT, DB_NPARAMS, vals, NULL, NULL, 0),
	    deadline, PGRES_TUPLES_OK, &res, reason, lost);
	if (st != ST_OK)
		return st;
	if (PQntuples(res) != 1 || PQnfields(res) != DB_NCOLS) {
		PQclear(res);
		*reason = "unexpected result shape";
		return ST_INTERNAL_ERROR;
	}
	for (i = 0; i < DB_NCOLS; i++)
		cols[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
	st = db_decode_row(cols, out, reason);
	PQclear(res);
	c->served++;
	return st;
}

/* The cheapest round trip there is: an empty query. */
static st_status
db_try_ping(db_conn *c, void *arg, long long deadline, const char **reason,
    int *lost)
{
	PGresult *res = NULL;
	st_status st;

	(void)arg;
	st = db_collect(c, PQsendQuery(c->pg, ""), deadline, PGRES_EMPTY_QUERY, &res,
	    reason, lost);
	PQclear(res);
	if (st == ST_OK)
		c->served++;
	return st;
}

/* One try: the connection opened if need be, then the exchange. */
static st_status
db_try(db_conn *c, db_try_fn try, void *arg, long long deadline,
    const char **reason, int *lost)
{
	st_status st;

	*lost = DB_KEPT;
	if (c->pg == NULL && (st = db_connect(c, deadline, reason, lost)) != ST_OK)
		return st;
	return try(c, arg, deadline, reason, lost);
}

/* Runs one exchange within the budget. The server's statement_timeout
 * ends a slow query first; this deadline, shared by a retry, is the
 * backstop when the server itself cannot answer. A request waits at most
 * connect + budget. */
static st_status
db_run(db_conn *c, db_try_fn try, void *arg, const char **reason)
{
	int reused = c->pg != NULL && c->served > 0, lost, stale;
	long long deadline = db_now_ms() + (c->pg ? 0 : c->connect_ms) +
	    c->budget_ms + 250;
	struct timespec t0, t1;
	st_status st;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (c->pg != NULL && c->max_age_ms > 0 && db_now_ms() - c->opened_ms >= c->max_age_ms) {
		db_drop(c);
		reused = 0;
		deadline += c->connect_ms;
	}
	st = db_try(c, try, arg, deadline, reason, &lost);

	/* A connection that worked before and broke since (a restart, an idle
	 * timeout) gets one fresh try: nothing here writes. So does a failed
	 * statement on rollups, twice: a new connection that looks while they
	 * are being dropped still finds them, and its statement then waits
	 * for the drop and fails. */
	if (st == ST_SERVICE_UNAVAILABLE && reused && lost == DB_BROKEN) {
		deadline += c->connect_ms;
		st = db_try(c, try, arg, deadline, reason, &lost);
	}
	for (stale = 0; st == ST_SERVICE_UNAVAILABLE && lost == DB_STALE && stale < 2; stale++) {
		deadline += c->connect_ms;
		st = db_try(c, try, arg, deadline, reason, &lost);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c->last_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	return st;
}

st_status
db_summary_run(db_conn *c, const db_params *p, db_summary *out, const char **reason)
{
	struct db_summary_arg arg = { p, out };

	memset(out, 0, sizeof(*out));
	return db_run(c, db_try_summary, &arg, reason);
}

st_status
db_ping(db_conn *c, const char **reason)
{
	return db_run(c, db_try_ping, NULL, reason);
}

double
db_last_ms(const db_conn *c)
{
	return c->last_ms;
}
