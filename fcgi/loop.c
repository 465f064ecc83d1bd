/* loop.c: the FastCGI accept loop and the one-shot CGI mode. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
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
	static const char *const cache[] = { "", " token_cache=hit", " token_cache=miss" };
	char sub[AUTH_SUB_MAX + 1];

	if (c->kind == AUTH_API_KEY)
		snprintf(buf, cap, " caller=api_key%s%s", c->key_id[0] ? " key_id=" : "",
		    c->key_id);
	else if (c->kind == AUTH_JWT)
		snprintf(buf, cap, " caller=jwt%s%s%s%s", c->sub[0] ? " sub=\"" : "",
		    c->sub[0] ? log_safe(c->sub, sub, sizeof(sub)) : "",
		    c->sub[0] ? "\"" : "", cache[c->cache]);
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

/* Set by the signal handlers, read by the loop between requests. */
static volatile sig_atomic_t loop_stop_signal, loop_reload;

static void
loop_on_signal(int sig)
{
	if (sig == SIGHUP)
		loop_reload = 1;
	else
		loop_stop_signal = sig;
}

static void
loop_reload_keys(app_ctx *app)
{
	char err[512];

	loop_reload = 0;
	if (app_reload_keys(app, err, sizeof(err)) != 0)
		log_line("event=keys_reload_failed reason=\"%s; the old keys stay in "
		    "force\"", err);
	else
		log_line("event=keys_reloaded pem=%s jwks_keys=%zu",
		    app->auth.keys.single.pem ? "yes" : "no", app->auth.keys.nset);
}

/* SIGHUP, SIGTERM and SIGINT stay blocked except while the worker waits
 * for a connection, so that they act between requests only: no request
 * is cut short, and no read or write inside libfcgi or libpq ever sees
 * EINTR. The listening socket is made non-blocking and watched with
 * epoll_pwait, which unblocks them atomically for the wait; a worker
 * that loses the race for a connection gets EAGAIN and waits again. */
static int
loop_prepare(sigset_t *waitmask, int *ep)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	struct sigaction sa;
	sigset_t block;
	size_t i;
	int fl;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = loop_on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&block, sigs[i]);
		sigaddset(&sa.sa_mask, sigs[i]);
	}
	if (sigprocmask(SIG_BLOCK, &block, waitmask) != 0)
		return -1;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigdelset(waitmask, sigs[i]) != 0 || sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	if ((fl = fcntl(FCGI_LISTENSOCK_FILENO, F_GETFL)) < 0 ||
	    fcntl(FCGI_LISTENSOCK_FILENO, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	if ((*ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	return epoll_ctl(*ep, EPOLL_CTL_ADD, FCGI_LISTENSOCK_FILENO, &ev);
}

int
loop_fastcgi(app_ctx *app)
{
	FCGX_Request rq;
	handler_result *h = malloc(sizeof(*h));
	sigset_t waitmask;
	int ep = -1;

	if (h == NULL || loop_prepare(&waitmask, &ep) != 0 || FCGX_Init() != 0 ||
	    FCGX_InitRequest(&rq, FCGI_LISTENSOCK_FILENO, 0) != 0) {
		log_line("event=start_failed reason=\"FastCGI initialisation failed: %s\"",
		    strerror(errno));
		if (ep >= 0)
			close(ep);
		free(h);
		return 1;
	}
	log_line("event=worker_ready");
	for (;;) {
		struct epoll_event ev;
		int rc;

		if (loop_reload)
			loop_reload_keys(app);
		if (loop_stop_signal)
			break;
		if (epoll_pwait(ep, &ev, 1, -1, &waitmask) < 0) {
			if (errno != EINTR) {
				log_line("event=wait_failed errno=%d", errno);
				usleep(10000);
			}
			continue;
		}
		rc = FCGX_Accept_r(&rq);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK)
			continue;
		/* A listening socket that is gone ends the worker. */
		if (rc == -EBADF || rc == -ENOTSOCK || rc == -EINVAL) {
			log_line("event=worker_exit reason=\"listening socket unusable\" "
			    "errno=%d", -rc);
			close(ep);
			free(h);
			return 1;
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
	log_line("event=worker_exit reason=\"%s\"",
	    loop_stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	close(ep);
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
