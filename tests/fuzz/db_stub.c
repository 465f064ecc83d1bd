/* db_stub.c: db.h without a database, for fuzz_handler (see db_stub.h).
 * db_decode_row is not here: the handler never calls it, and the stub
 * answers with a decoded summary directly. */
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_stub.h"
#include "fuzz.h"
#include "validate.h"

struct db_conn {
	double last_ms;
};

db_stub_plan db_stub;

db_conn *
db_new(const char *conninfo, int connect_timeout_s, int statement_timeout_ms, int pooled,
    char *err, size_t errlen)
{
	db_conn *c = calloc(1, sizeof(*c));

	(void)pooled;
	(void)conninfo;
	(void)connect_timeout_s;
	(void)statement_timeout_ms;
	if (c == NULL)
		snprintf(err, errlen, "out of memory");
	return c;
}

void
db_free(db_conn *c)
{
	free(c);
}

int
db_uses_rollups(const db_conn *c)
{
	FUZZ_CHECK(c != NULL);
	return 0;
}

/* s is a UUID in the canonical form the statement's $1/$2 expect. */
static void
check_uuid(const char *s)
{
	char canon[37];
	vd_uuid u;

	FUZZ_CHECK(s != NULL && vd_parse_uuid(s, strlen(s), &u) == 0);
	vd_format_uuid(&u, canon);
	FUZZ_CHECK(strcmp(s, canon) == 0);
}

/* s is NULL or timestamptz text as vd_format_utc writes it:
 * "YYYY-MM-DD HH:MM:SS.ffffff+00", with a fifth year digit or " BC" for
 * the instants a day's offset moves past year 9999 or before year 1. */
static void
check_time(const char *s)
{
	static const char shape[] = "-dd-dd dd:dd:dd.dddddd+00";
	size_t i, y;

	if (s == NULL)
		return;
	y = strspn(s, "0123456789");
	FUZZ_CHECK(y == 4 || y == 5);
	for (i = 0; i < sizeof(shape) - 1; i++)
		FUZZ_CHECK(shape[i] == 'd' ? s[y + i] >= '0' && s[y + i] <= '9'
		    : s[y + i] == shape[i]);
	FUZZ_CHECK(strcmp(s + y + i, "") == 0 || (y == 4 && strcmp(s + y + i, " BC") == 0));
}

st_status
db_summary_run(db_conn *c, const db_params *p, db_summary *out, const char **reason)
{
	size_t i;

	FUZZ_CHECK(c != NULL && db_stub.summary_calls++ == 0);
	check_uuid(p->workflow_id);
	if (p->workspace_id != NULL)
		check_uuid(p->workspace_id);
	FUZZ_CHECK((p->user_id == NULL) != (p->key_hash == NULL));
	if (p->user_id != NULL)
		FUZZ_CHECK(strcmp(p->user_id, db_stub.jwt_sub) == 0);
	else {
		FUZZ_CHECK(strlen(p->key_hash) == AUTH_HASH_HEX);
		for (i = 0; i < AUTH_HASH_HEX; i++)
			FUZZ_CHECK(strchr("0123456789abcdef", p->key_hash[i]) != NULL);
	}
	check_time(p->from);
	check_time(p->to);
	memset(out, 0, sizeof(*out));
	c->last_ms = 0.25;
	if (db_stub.summary_st != ST_OK) {
		*reason = "stub: planned refusal";
		return db_stub.summary_st;
	}
	*out = db_stub.summary;
	if (p->key_hash != NULL)	/* the statement names the key it found */
		memcpy(out->key_id, "0b7a6c2e-1d3f-4a5b-8c9d-0e1f2a3b4c5d", 37);
	return ST_OK;
}

st_status
db_ping(db_conn *c, const char **reason)
{
	FUZZ_CHECK(c != NULL && db_stub.ping_calls++ == 0);
	c->last_ms = 0.125;
	if (db_stub.ping_st != ST_OK)
		*reason = "stub: planned ping failure";
	return db_stub.ping_st;
}

double
db_last_ms(const db_conn *c)
{
	return c->last_ms;
}
