/* loop.c: the FastCGI accept loop and the one-shot CGI mode. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "log.h"
#include "validate.h"

/* Randomness for request ids, taken from the kernel 4 KiB at a time: one
 * system call per 256 requests rather than one per request. Made after
 * the fork, so that no two workers share it. */
struct loop_random {
	unsigned char buf[4096];
	size_t used;
};

/* A random UUIDv4 in lower case; falls back to the clock and pid if the
 * kernel has no randomness to give, since an id must always exist. */
static void
loop_fresh_id(struct loop_random *r, char out[37])
{
	vd_uuid u;

	if (r->used + sizeof(u.b) > sizeof(r->buf) &&
	    getrandom(r->buf, sizeof(r->buf), GRND_NONBLOCK) == (ssize_t)sizeof(r->buf))
		r->used = 0;
	if (r->used + sizeof(u.b) <= sizeof(r->buf)) {
		memcpy(u.b, r->buf + r->used, sizeof(u.b));
		r->used += sizeof(u.b);
	} else {
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

/* The time budget of one request (REQUEST_TIMEOUT_SECONDS). A client
 * that stalls must not hold a worker: libfcgi reads and writes with
 * blocking calls, so past the budget SIGALRM, caught without SA_RESTART,
 * makes the call under way fail with EINTR, and libfcgi drops the
 * connection. The timer then repeats every 100 ms, because a signal that
 * lands between two system calls interrupts nothing. libpq retries after
 * EINTR; the database's own timeouts, which the budget must exceed,
 * bound that wait. */
static void
loop_alarm(int sig)
{
	(void)sig;
}

static void
loop_budget(long seconds)
{
	struct itimerval it = {
		.it_interval = { .tv_sec = 0, .tv_usec = seconds > 0 ? 100000 : 0 },
		.it_value = { .tv_sec = seconds, .tv_usec = 0 },
	};

	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		log_line("event=timer_failed errno=%d", errno);
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

/* Request lines, gathered and written together: when the buffer is
 * full, and whenever the worker is about to wait with nothing to do, so
 * that under load one write carries many lines and at rest none waits.
 * A write of at most PIPE_BUF (4 KiB) to a pipe such as journald's is
 * never interleaved with another worker's. Lifecycle events are written
 * at once, after what is gathered. */
struct loop_log {
	char buf[4096];
	size_t len;
	int pid;
};

static void
loop_log_flush(struct loop_log *l)
{
	if (l != NULL) {
		log_write(l->buf, l->len);
		l->len = 0;
	}
}

static void
loop_log_request(struct loop_log *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
loop_log_request(struct loop_log *l, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = log_vformat(line, sizeof(line), l ? l->pid : (int)getpid(), fmt, ap);
	va_end(ap);
	if (l == NULL) {
		log_write(line, n);
		return;
	}
	if (l->len + n > sizeof(l->buf))
		loop_log_flush(l);
	memcpy(l->buf + l->len, line, n);
	l->len += n;
}

/* Runs one request and logs it (into l, or at once when l is NULL); the
 * response is in h->out. */
static void
loop_one(app_ctx *app, req_getter get, void *ctx, struct loop_random *r,
    struct loop_log *l, handler_result *h)
{
	struct timespec t0;
	char fresh[37], method[16], path[201], caller[AUTH_SUB_MAX + 64], db[32] = "";

	clock_gettime(CLOCK_MONOTONIC, &t0);
	loop_fresh_id(r, fresh);
	handler_run(app, get, ctx, (long long)time(NULL), fresh, h);
	if (h->out.http_status < app->log_min_status)
		return;
	if (h->db_ms >= 0)
		snprintf(db, sizeof(db), " db_ms=%.2f", h->db_ms);
	loop_log_request(l, "request_id=%s method=%s path=\"%s\" status=%d ms=%.2f%s%s%s%s%s",
	    h->meta.request_id, log_safe(h->req.method_text, method, sizeof(method)),
	    log_safe(h->req.path, path, sizeof(path)),
	    h->out.http_status, loop_ms_since(&t0), db,
	    loop_caller(&h->caller, caller, sizeof(caller)),
	    h->reason ? " reason=\"" : "", h->reason ? h->reason : "",
	    h->reason ? "\"" : "");
}

static const char *
loop_fcgi_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, *(FCGX_ParamArray *)ctx);
}

static void
loop_reload(app_ctx *app)
{
	char err[512], safe[512];

	if (app_reload(app, err, sizeof(err)) != 0)
		log_line("event=reload_failed reason=\"%s; the old settings and "
		    "keys stay in force\"", log_safe(err, safe, sizeof(safe)));
	else
		log_line("event=reloaded pem=%s jwks_keys=%zu",
		    app->auth.keys.single.pem ? "yes" : "no", app->auth.keys.nset);
}

/* SIGHUP, SIGTERM, SIGINT and SIGUSR1 (libfcgi's own stop signal) are
 * blocked for the worker's whole life and read from a signalfd, so they
 * act between requests only: no request is cut short, and no read or
 * write inside libfcgi or libpq ever sees EINTR. The worker waits on one
 * epoll set holding the listening socket (made non-blocking: a worker
 * that loses the race for a connection gets EAGAIN and waits again) and
 * the signalfd, so a signal is seen at the next turn even while
 * connections queue, at no cost per request. */
struct loop_waiter {
	int ep;			/* the listening socket and the signalfd */
	int sfd;		/* the signals the loop handles */
	int stop;		/* the stop signal that came, or 0 */
	int reload;		/* a SIGHUP came */
};

static const int loop_signals[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
#define LOOP_NSIGNALS (sizeof(loop_signals) / sizeof(loop_signals[0]))

/* A failed accept is retried; this many in a row means the worker is
 * broken, and exiting lets a supervisor start a sound one. */
#define LOOP_ACCEPT_FAILURES_MAX 100

static int
loop_prepare(struct loop_waiter *w)
{
	struct epoll_event lev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	struct epoll_event sev = { .events = EPOLLIN };
	struct sigaction sa = { .sa_handler = loop_alarm };
	sigset_t block;
	size_t i;
	int fl;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		return -1;
	sigemptyset(&block);
	for (i = 0; i < LOOP_NSIGNALS; i++)
		sigaddset(&block, loop_signals[i]);
	if (sigprocmask(SIG_BLOCK, &block, NULL) != 0 ||
	    (w->sfd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return -1;
	if ((fl = fcntl(FCGI_LISTENSOCK_FILENO, F_GETFL)) < 0 ||
	    fcntl(FCGI_LISTENSOCK_FILENO, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	lev.data.fd = FCGI_LISTENSOCK_FILENO;
	sev.data.fd = w->sfd;
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, FCGI_LISTENSOCK_FILENO, &lev) == 0 &&
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->sfd, &sev) == 0 ? 0 : -1;
}

static void
loop_read_signals(struct loop_waiter *w)
{
	struct signalfd_siginfo si;

	while (read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			w->reload = 1;
		else if (w->stop == 0)
			w->stop = (int)si.ssi_signo;
	}
}

/* Waits until there is something to accept (a new connection, or the
 * next request on a connection libfcgi keeps open when nginx sets
 * FCGI_KEEP_CONN) or a signal. 1 when there is something to accept; -1
 * when the kept connection stayed idle for idle_ms. */
static int
loop_wait(struct loop_waiter *w, int kept_fd, int idle_ms, struct loop_log *l)
{
	struct epoll_event ev[2];
	struct pollfd pfd[2] = { { kept_fd, POLLIN, 0 }, { w->sfd, POLLIN, 0 } };
	int n, i, ready = 0;

	if (kept_fd >= 0) {
		if (l->len > 0 && (n = poll(pfd, 2, 0)) == 0)
			loop_log_flush(l);
		n = poll(pfd, 2, idle_ms);
		ready = n == 0 ? -1 : n > 0 && pfd[0].revents != 0;
		if (n > 0 && pfd[1].revents != 0)
			loop_read_signals(w);
	} else {
		/* Lines gathered, and nothing to do this instant: write them
		 * before sleeping. */
		n = l->len > 0 ? epoll_wait(w->ep, ev, 2, 0) : 0;
		if (n == 0) {
			loop_log_flush(l);
			n = epoll_wait(w->ep, ev, 2, -1);
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.fd == w->sfd)
				loop_read_signals(w);
			else
				ready = 1;
		}
	}
	if (n < 0 && errno != EINTR) {
		log_line("event=wait_failed errno=%d", errno);
		usleep(10000);
	}
	return ready;
}

/* Closes the request's connection with nothing more said: libfcgi's own
 * close would first wait for the client to hang up. */
static void
loop_drop(FCGX_Request *rq)
{
	rq->detached = 1;
	FCGX_Free(rq, 1);
}

/* libfcgi ends a connection by shutting its side down and reading until
 * the client hangs up, so that request bytes left unread never turn the
 * close into a reset that could cost the client its response. With
 * nothing left unread, as after every GET nginx sends, a plain close is
 * as safe, and spares two system calls and a wait on nginx each time. */
static void
loop_finish(FCGX_Request *rq)
{
	int unread = 1;

	if (!rq->keepConnection && ioctl(rq->ipcFd, FIONREAD, &unread) == 0 && unread == 0)
		rq->detached = 1;
	FCGX_Finish_r(rq);
}

static const char *
loop_signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGUSR1 ? "SIGUSR1" : "SIGTERM";
}

int
loop_fastcgi(app_ctx *app, long max_requests)
{
	FCGX_Request rq;
	handler_result *h = malloc(sizeof(*h));
	struct loop_random *r = malloc(sizeof(*r));
	struct loop_log *l = calloc(1, sizeof(*l));
	struct loop_waiter w = { .ep = -1, .sfd = -1 };
	struct timespec t0;
	int failures = 0, rc = 0;
	long served = 0;

	if (r != NULL)
		r->used = sizeof(r->buf);
	if (l != NULL)
		l->pid = (int)getpid();
	if (h == NULL || r == NULL || l == NULL || loop_prepare(&w) != 0 || FCGX_Init() != 0 ||
	    FCGX_InitRequest(&rq, FCGI_LISTENSOCK_FILENO, 0) != 0) {
		log_line("event=start_failed reason=\"FastCGI initialisation failed: %s\"",
		    strerror(errno));
		rc = 1;
		goto out;
	}
	log_line("event=worker_ready");
	for (;;) {
		long budget = app->cfg.request_timeout;
		int ready = loop_wait(&w, rq.ipcFd, (int)budget * 1000, l), ac;

		if (w.stop || w.reload)
			loop_log_flush(l);
		if (w.stop) {
			log_line("event=worker_exit reason=\"%s\"", loop_signal_name(w.stop));
			break;
		}
		if (w.reload) {
			w.reload = 0;
			loop_reload(app);
		}
		if (ready < 0) {
			loop_drop(&rq);
			loop_log_request(l, "event=connection_dropped reason=\"idle\"");
			continue;
		}
		if (!ready)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		loop_budget(budget);
		ac = FCGX_Accept_r(&rq);
		if (ac >= 0 && loop_ms_since(&t0) >= (double)budget * 1e3)
			/* Taken just after libfcgi dropped a stalled one: the
			 * new connection gets a budget of its own. */
			loop_budget(budget);
		if (ac < 0)
			loop_budget(0);
		if (ac < 0 && loop_ms_since(&t0) >= (double)budget * 1e3)
			loop_log_request(l, "event=connection_dropped reason=\"request_timeout\"");
		if (ac == -EAGAIN || ac == -EWOULDBLOCK)
			continue;
		if (ac >= 0 && FCGX_GetError(rq.in) != 0) {
			/* libfcgi hands over a request whose params broke off
			 * (the client stalled past the budget, or hung up) as if
			 * they were complete; it is not answered. */
			loop_budget(0);
			loop_drop(&rq);
			loop_log_request(l, "event=connection_dropped reason=\"%s\"",
			    loop_ms_since(&t0) >= (double)budget * 1e3 ?
			    "request_timeout" : "params cut short");
			continue;
		}
		if (ac < 0) {
			/* A connection reset before its first record, no free
			 * descriptor for a moment: retried, but not for ever. A
			 * listening socket that is gone ends the worker at once. */
			loop_log_flush(l);
			log_line("event=accept_failed errno=%d", -ac);
			if (ac == -EBADF || ac == -ENOTSOCK || ac == -EINVAL ||
			    ++failures >= LOOP_ACCEPT_FAILURES_MAX) {
				log_line("event=worker_exit reason=\"accept keeps failing\"");
				rc = 1;
				break;
			}
			usleep(10000);
			continue;
		}
		failures = 0;
		loop_one(app, loop_fcgi_param, &rq.envp, r, l, h);
		if (FCGX_PutStr(h->out.data, (int)h->out.len, rq.out) != (int)h->out.len)
			loop_log_request(l, "request_id=%s event=write_failed",
			    h->meta.request_id);
		loop_finish(&rq);
		loop_budget(0);
		if (loop_ms_since(&t0) >= (double)budget * 1e3)
			loop_log_request(l, "request_id=%s event=request_timeout",
			    h->meta.request_id);
		if (max_requests > 0 && ++served >= max_requests) {
			loop_log_flush(l);
			log_line("event=worker_exit reason=\"max_requests\" served=%ld", served);
			break;
		}
	}
out:
	if (w.ep >= 0)
		close(w.ep);
	if (w.sfd >= 0)
		close(w.sfd);
	loop_log_flush(l);
	free(l);
	free(r);
	free(h);
	return rc;
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
	struct loop_random r = { .used = sizeof(r.buf) };
	size_t off = 0;
	int rc = 0;

	if (h == NULL)
		return 1;
	loop_one(app, loop_env_param, NULL, &r, NULL, h);
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
