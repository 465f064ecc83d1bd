/* db.h: the worker's one PostgreSQL connection and the one statement.
 *
 * The connection opens lazily on the first request, stays open across
 * requests and is dropped after any failure, to be reopened by the next
 * request. A request never waits on the database longer than the
 * configured budget: past it the query is cancelled and the answer is
 * ST_SERVICE_UNAVAILABLE. */
#ifndef RS_DB_H
#define RS_DB_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef struct {
	int64_t total, pending, running, completed, failed, cancelled, paused;
	int has_average;
	double average_seconds;
	char key_id[37];	/* the API key's id when the query found it, or "" */
	int64_t replay_lag_ms;	/* answered by a standby this far behind, or -1 */
} db_summary;

/* Exactly one of user_id and key_hash is set: the caller is a JWT's
 * subject or an API key, and the statement checks either. */
typedef struct {
	const char *workflow_id;	/* canonical UUID text */
	const char *workspace_id;	/* canonical UUID text, or NULL */
	const char *user_id;		/* the JWT sub, or NULL */
	const char *key_hash;		/* the API key's hex SHA-256, or NULL */
	const char *from, *to;		/* timestamptz text, or NULL */
} db_params;

typedef struct db_conn db_conn;

/* conninfo: a libpq connection string or URI, or NULL for PG* defaults.
 * Parses it now (NULL with a message in err if it does not parse) and
 * copies what it keeps; connects nothing yet. pooled: the server is a
 * transaction pooler (PgBouncer), which gives each transaction whichever
 * server connection is free and refuses startup options: the statement
 * is then sent whole each time, unnamed, and statement_timeout is left to
 * the role; the wait is still bounded here by statement_timeout_ms. */
db_conn *db_new(const char *conninfo, int connect_timeout_s,
    int statement_timeout_ms, int pooled, char *err, size_t errlen);

/* A connection older than this (0: no limit) is closed before its next
 * request and opened again, so that libpq picks among DATABASE_URL's
 * hosts afresh: reads go back to a standby that has come back. */
void db_set_max_age(db_conn *c, int seconds);

/* Which statement sums the runs (DB_ROLLUPS): the plain scan, the one on
 * the rollups of scripts/rollups.sql, or (auto, the default) the one on
 * rollups when a new connection finds them installed. In auto, a
 * statement that finds them gone gets one retry on a new connection. */
typedef enum { DB_ROLLUPS_AUTO, DB_ROLLUPS_ON, DB_ROLLUPS_OFF } db_rollups;
void db_set_rollups(db_conn *c, db_rollups mode);
/* 1 when the open connection sums from rollups, 0 when it scans, -1
 * when none is open; for the log. */
int db_uses_rollups(const db_conn *c);
void db_free(db_conn *c);

/* ST_OK with *out filled; ST_INVALID_API_KEY for an unknown, revoked or
 * expired key; ST_FORBIDDEN for a key of another workspace or without
 * the workflows:read scope; ST_NOT_FOUND when the caller may not see the
 * workflow; ST_SERVICE_UNAVAILABLE on any database failure or timeout.
 * *reason says why, for the log. */
st_status db_summary_run(db_conn *c, const db_params *p, db_summary *out,
    const char **reason);

/* ST_OK when the database answers a round trip within the budget, else
 * ST_SERVICE_UNAVAILABLE; for /healthz. */
st_status db_ping(db_conn *c, const char **reason);

/* Milliseconds the last db_summary_run or db_ping took, for the log. */
double db_last_ms(const db_conn *c);

/* Decodes one result row (text columns, in the statement's order) into a
 * summary; pure, for the tests. Returns ST_OK, or the refusal the row
 * says (ST_INVALID_API_KEY, ST_FORBIDDEN, ST_NOT_FOUND) with its reason,
 * or ST_INTERNAL_ERROR for a row that does not parse. */
#define DB_NCOLS 12
st_status db_decode_row(const char *const cols[DB_NCOLS], db_summary *out,
    const char **reason);

#endif
