/* loop.c: the FastCGI accept loop and the one-shot CGI mode. */
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "log.h"
#include "validate.h"

/* A random UUIDv4 in lower case; falls back to the clock and pid if the
 * kernel has no randomness to give, since an id must always exist. */
static void
loop_fresh_id(char out[37])
{
	vd_uuid u;

	if (getrandom(u.b, sizeof(u.b), GRND_NONBLOCK) != (ssize_t)sizeof(u.b)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memset(u.b, 0, sizeof(u.b));
		memcpy(u.b, &ts, sizeof(ts) < sizeof(u.b) ? sizeof(ts) : sizeof(u.b));
		u.b[15] ^= (unsigned char)getpid();
	}
	u.b[6] = (unsigned char)((u.b[6] & 0x0f) | 0x40);
	u.b[8] = (unsigned char)((u.b[8] & 0x3f) | 0x80);
	vd_format_uuid(&u, out);
}

static double
loop_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Who asked, for the log: never the token or the key, only the JWT's
 * subject or the API key's id. */
static const char *
loop_caller(const auth_caller *c, char *buf, size_t cap)
{
	char sub[AUTH_SUB_MAX + 1];

	if (c->kind == AUTH_API_KEY)
		snprintf(buf, cap, " caller=api_key%s%s", c->key_id[0] ? " key_id=" : "",
		    c->key_id);
	else if (c->kind == AUTH_JWT && c->sub[0])
		snprintf(buf, cap, " caller=jwt sub=\"%s\"", log_safe(c->sub, sub, sizeof(sub)));
	else
		buf[0] = '\0';
	return buf;
}

/* Runs one request and logs it; the response is in h->out. */
static void
loop_one(app_ctx *app, req_getter get, void *ctx, handler_result *h)
{
	struct timespec t0;
	char fresh[37], method[16], path[201], caller[AUTH_SUB_MAX + 64];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	loop_fresh_id(fresh);
	handler_run(app, get, ctx, (long long)time(NULL), fresh, h);
	log_line("request_id=%s method=%s path=\"%s\" status=%d ms=%.2f%s%s%s%s",
	    h->meta.request_id, log_safe(h->req.method_text, method, sizeof(method)),
	    log_safe(h->req.path, path, sizeof(path)),
	    h->out.http_status, loop_ms_since(&t0),
	    loop_caller(&h->caller, caller, sizeof(caller)),
	    h->reason ? " reason=\"" : "", h->reason ? h->reason : "",
	    h->reason ? "\"" : "");
}

static const char *
loop_fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, *(FCGX_ParamArray *)ctx);
}

int
loop_fastcgi(app_ctx *app)
{
	FCGX_Request rq;
	handler_result *h = malloc(sizeof(*h));

	if (h == NULL || FCGX_Init() != 0 || FCGX_InitRequest(&rq, 0, 0) != 0) {
		log_line("event=start_failed reason=\"FastCGI initialisation failed\"");
		free(h);
		return 1;
	}
	log_line("event=worker_ready");
	for (;;) {
		int rc = FCGX_Accept_r(&rq);

		/* libfcgi turns SIGTERM, SIGHUP and SIGUSR1 into an accept that
		 * fails with EINTR: the request to stop, between requests. A
		 * listening socket that is gone ends the worker too. */
		if (rc == -EINTR || rc == -EBADF || rc == -ENOTSOCK || rc == -EINVAL) {
			log_line("event=worker_exit errno=%d", -rc);
			break;
		}
		/* Any other failed accept (a connection reset before its first
		 * record, no free descriptor for a moment) must not end it. */
		if (rc < 0) {
			log_line("event=accept_failed errno=%d", -rc);
			usleep(10000);
			continue;
		}
		loop_one(app, loop_fcgi_param, &rq.envp, h);
		if (FCGX_PutStr(h->out.data, (int)h->out.len, rq.out) != (int)h->out.len)
			log_line("request_id=%s event=write_failed", h->meta.request_id);
		FCGX_Finish_r(&rq);
	}
	free(h);
	return 0;
}

static const char *
loop_env_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

int
loop_cgi(app_ctx *app)
{
	handler_result *h = malloc(sizeof(*h));
	size_t off = 0;
	int rc = 0;

	if (h == NULL)
		return 1;
	loop_one(app, loop_env_param, NULL, h);
	while (off < h->out.len) {
		ssize_t n = write(1, h->out.data + off, h->out.len - off);

		if (n <= 0) {
			rc = 1;
			break;
		}
		off += (size_t)n;
	}
	free(h);
	return rc;
}
