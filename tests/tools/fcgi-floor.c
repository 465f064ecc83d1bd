/* fcgi-floor: the least any FastCGI service for this endpoint must do, to
 * measure the ceiling that nginx, the kernel and the database leave on
 * this machine (scripts/bench --floor).
 *
 *   spawn-fcgi -F N -s SOCKET -- fcgi-floor     (the listening socket on fd 0)
 *
 * Per connection: read FastCGI records until the request's empty STDIN
 * record, take the workflow id from DOCUMENT_URI and the workspace from
 * HTTP_X_WORKSPACE_ID, run fcgi/summary.sql once (prepared, the caller
 * FLOOR_USER from the environment, FLOOR_FROM and FLOOR_TO as the
 * window), answer 200 with the row's total, or 500 when the statement did
 * not give one row; close. DATABASE_URL as for the program. No token
 * check, no validation, no log: not a service, only its lower bound. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "../../fcgi/summary_sql.h"

#define FLOOR_BUF 65536

/* The value of param name, copied into out (cap bytes, nul-terminated),
 * or NULL. */
static char *
floor_param(const unsigned char *p, size_t len, const char *name, char *out,
    size_t cap)
{
	size_t i = 0, nl, vl, want = strlen(name);

	while (i < len) {
		size_t *l[2] = { &nl, &vl };
		int k;

		for (k = 0; k < 2; k++) {
			if (i >= len)
				return NULL;
			if (p[i] < 0x80)
				*l[k] = p[i++];
			else if (i + 4 <= len) {
				*l[k] = ((size_t)(p[i] & 0x7f) << 24) | ((size_t)p[i + 1] << 16) |
				    ((size_t)p[i + 2] << 8) | p[i + 3];
				i += 4;
			} else
				return NULL;
		}
		if (nl > len - i || vl > len - i - nl)
			return NULL;
		if (nl == want && memcmp(p + i, name, nl) == 0) {
			if (vl >= cap)
				return NULL;
			memcpy(out, p + i + nl, vl);
			out[vl] = '\0';
			return out;
		}
		i += nl + vl;
	}
	return NULL;
}

/* Reads one request; its params, concatenated, in params (*plen). */
static int
floor_read(int fd, unsigned char *params, size_t *plen)
{
	static unsigned char buf[FLOOR_BUF];
	size_t have = 0, at = 0;

	*plen = 0;
	for (;;) {
		while (have - at >= 8) {
			unsigned char *h = buf + at;
			size_t clen = ((size_t)h[4] << 8) | h[5], rec = 8 + clen + h[6];

			if (have - at < rec)
				break;
			if (h[1] == 4 && clen > 0) {
				if (*plen + clen >= FLOOR_BUF)
					return -1;
				memcpy(params + *plen, h + 8, clen);
				*plen += clen;
			}
			if (h[1] == 5 && clen == 0)
				return 0;
			at += rec;
		}
		memmove(buf, buf + at, have - at);
		have -= at;
		at = 0;
		if (have == sizeof(buf))
			return -1;
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
}

static void
floor_answer(int fd, const char *body)
{
	unsigned char out[1024];
	int n = snprintf((char *)out + 8, sizeof(out) - 32,
	    "Status: %s\r\nContent-Type: application/json\r\n\r\n%s",
	    body ? "200 OK" : "500 Internal Server Error", body ? body : "{}");
	static const unsigned char tail[] = {
		1, 6, 0, 1, 0, 0, 0, 0,			/* empty STDOUT */
		1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 /* END_REQUEST */
	};

	if (n < 0 || (size_t)n >= sizeof(out) - 32)
		return;
	memcpy(out, (unsigned char[]){ 1, 6, 0, 1, (unsigned char)(n >> 8),
	    (unsigned char)n, 0, 0 }, 8);
	memcpy(out + 8 + n, tail, sizeof(tail));
	if (write(fd, out, 8 + (size_t)n + sizeof(tail)) < 0)
		return;
}

int
main(void)
{
	static unsigned char params[FLOOR_BUF];
	const char *user = getenv("FLOOR_USER"), *from = getenv("FLOOR_FROM"),
	    *to = getenv("FLOOR_TO");
	PGconn *pg = PQconnectdb(getenv("DATABASE_URL") ? getenv("DATABASE_URL") : "");
	PGresult *r;

	/* nginx may hang up before the answer is written. */
	signal(SIGPIPE, SIG_IGN);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "fcgi-floor: %s", PQerrorMessage(pg));
		return 1;
	}
	r = PQprepare(pg, "floor", DB_SUMMARY_SQL, 6, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "fcgi-floor: %s", PQerrorMessage(pg));
		return 1;
	}
	PQclear(r);
	for (;;) {
		int fd = accept(0, NULL, NULL);
		size_t plen;
		char ws[64], uri[512], *wf, body[64];
		const char *vals[6] = { NULL, NULL, user, from, to, NULL };

		if (fd < 0)
			continue;
		if (floor_read(fd, params, &plen) == 0) {
			vals[1] = floor_param(params, plen, "HTTP_X_WORKSPACE_ID", ws,
			    sizeof(ws));
			wf = floor_param(params, plen, "DOCUMENT_URI", uri, sizeof(uri));
			wf = wf ? strstr(wf, "/workflows/") : NULL;
			if (wf != NULL && strlen(wf) > 11 + 36) {
				wf[11 + 36] = '\0';
				vals[0] = wf + 11;
			}
			r = PQexecPrepared(pg, "floor", 6, vals, NULL, NULL, 0);
			if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
			    !PQgetisnull(r, 0, 3)) {
				snprintf(body, sizeof(body), "{\"data\":{\"total_runs\":%s}}",
				    PQgetvalue(r, 0, 3));
				floor_answer(fd, body);
			} else
				floor_answer(fd, NULL);
			PQclear(r);
		}
		close(fd);
	}
}
