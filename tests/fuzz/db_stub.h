/* db_stub.h: the database, for fuzz_handler, at its one boundary (db.h).
 *
 * db_stub.c defines db.h's functions without libpq: each call checks
 * what the handler hands the database (canonical UUIDs, exactly one
 * caller, timestamps PostgreSQL reads) and answers what the harness
 * planned for this input. */
#ifndef RS_DB_STUB_H
#define RS_DB_STUB_H

#include "db.h"

typedef struct {
	st_status summary_st;	/* db_summary_run's answer */
	db_summary summary;	/* its row, when that is ST_OK */
	st_status ping_st;	/* db_ping's answer */
	const char *jwt_sub;	/* the one sub a verified token can have */
	int summary_calls, ping_calls;
} db_stub_plan;

extern db_stub_plan db_stub;

#endif
