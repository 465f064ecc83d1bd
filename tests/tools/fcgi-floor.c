/* fcgi-floor: the least any FastCGI service for this endpoint must do, to
 * measure the ceiling that nginx, the kernel and the database leave on
 * this machine (scripts/bench --floor).
 *
 *   spawn-fcgi -F N -s SOCKET -- fcgi-floor     (the listening socket on fd 0)
 *
 * Per connection, with the program's own FastCGI parser and framing
 * (fcgi/fastcgi.c): read the request, take the workflow id from
 * DOCUMENT_URI and the workspace from HTTP_X_WORKSPACE_ID, run
 * fcgi/summary.sql once (prepared, the caller FLOOR_USER from the
 * environment, FLOOR_FROM and FLOOR_TO as the window; with FLOOR_ROLLUPS=1
 * the statement on rollups, fcgi/summary-rollups.sql), answer 200 with
 * the row's total, or 500 when the statement did not give one row; read
 * what is left of the request, close. DATABASE_URL as for the program.
 * No token check, no validation, no log: not a service, only its lower
 * bound. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fastcgi.h"
#include "summary_sql.h"

/* What a connection sent and the parser has not yet taken. */
struct floor_in {
	uint8_t buf[16384];
	size_t off, len;
};

/* Feeds p what fd sends until a request is whole (request) or what was
 * left of the one answered is read (!request), so that the close cannot
 * turn into a reset; 0, or -1 when the connection ends or errs first. */
static int
floor_feed(int fd, fcgi_parser *p, struct floor_in *in, int request)
{
	for (;;) {
		ssize_t n;

		while (in->off < in->len) {
			size_t used;
			fcgi_event ev = fcgi_feed(p, in->buf + in->off, in->len - in->off, &used);

			in->off += used;
			if (ev == FCGI_EV_REQUEST && request)
				return 0;
			if (ev == FCGI_EV_ERROR || ev == FCGI_EV_REPLY)
				return -1;
		}
		if (!request && fcgi_request_over(p))
			return 0;
		if ((n = read(fd, in->buf, sizeof(in->buf))) <= 0)
			return -1;
		in->off = 0;
		in->len = (size_t)n;
	}
}

static void
floor_answer(int fd, const fcgi_parser *p, const char *body)
{
	char out[256];
	uint8_t framed[FCGI_FRAMED_MAX(sizeof(out))];
	int n = snprintf(out, sizeof(out),
	    "Status: %s\r\nContent-Type: application/json\r\n\r\n%s",
	    body ? "200 OK" : "500 Internal Server Error", body ? body : "{}");
	size_t len;

	if (n < 0 || (size_t)n >= sizeof(out) ||
	    (len = fcgi_frame_response(p, out, (size_t)n, framed, sizeof(framed))) == 0)
		return;
	if (write(fd, framed, len) < 0)
		return;
}

int
main(void)
{
	static fcgi_arena arena;
	static struct floor_in in;
	const char *user = getenv("FLOOR_USER"), *from = getenv("FLOOR_FROM"),
	    *to = getenv("FLOOR_TO"), *rollups = getenv("FLOOR_ROLLUPS");
	PGconn *pg = PQconnectdb(getenv("DATABASE_URL") ? getenv("DATABASE_URL") : "");
	PGresult *r;

	/* nginx may hang up before the answer is written. */
	signal(SIGPIPE, SIG_IGN);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "fcgi-floor: %s", PQerrorMessage(pg));
		return 1;
	}
	r = PQprepare(pg, "floor", rollups && strcmp(rollups, "1") == 0 ?
	    DB_SUMMARY_ROLLUPS_SQL : DB_SUMMARY_SQL, 6, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "fcgi-floor: %s", PQerrorMessage(pg));
		return 1;
	}
	PQclear(r);
	for (;;) {
		int fd = accept(0, NULL, NULL);
		fcgi_parser p;
		char wf[37] = "", body[64];
		const char *uri, *at, *vals[6] = { wf, NULL, user, from, to, NULL };

		if (fd < 0)
			continue;
		fcgi_init(&p, &arena);
		in.off = in.len = 0;
		if (floor_feed(fd, &p, &in, 1) == 0) {
			vals[1] = fcgi_param(&p, "HTTP_X_WORKSPACE_ID");
			uri = fcgi_param(&p, "DOCUMENT_URI");
			if (uri != NULL && (at = strstr(uri, "/workflows/")) != NULL &&
			    strlen(at) > 11 + 36)
				memcpy(wf, at + 11, 36);
			r = PQexecPrepared(pg, "floor", 6, vals, NULL, NULL, 0);
			if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
			    !PQgetisnull(r, 0, 3)) {
				snprintf(body, sizeof(body), "{\"data\":{\"total_runs\":%s}}",
				    PQgetvalue(r, 0, 3));
				floor_answer(fd, &p, body);
			} else
				floor_answer(fd, &p, NULL);
			PQclear(r);
			fcgi_request_done(&p);
			(void)floor_feed(fd, &p, &in, 0);	/* closed either way */
		}
		close(fd);
	}
}
