/* loop.c: the FastCGI worker loop and the one-shot CGI mode. */
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
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fastcgi.h"
#include "log.h"
#include "text.h"
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
	log_clock clock;
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

/* How much of an untrusted method and path a log line keeps. */
#define LOOP_LOG_METHOD_MAX 15
#define LOOP_LOG_PATH_MAX 200

/* A request's line, into buf (cap bytes, newline included); its length.
 * Built piece by piece: printf's formatting was a tenth of the worker's
 * own instructions. Who asked is named by the JWT's subject or the API
 * key's id, never by the token or the key. */
static size_t
loop_request_line(char *buf, size_t cap, int pid, log_clock *clock,
    const handler_result *h, double ms)
{
	static const char *const cache[] = { "", " token_cache=hit", " token_cache=miss" };
	const auth_caller *c = &h->caller;
	char stamp[LOG_STAMP_MAX], safe[AUTH_SUB_MAX + 1];
	text_buf b = TEXT_BUF(buf, cap - 1);

	text_put(&b, stamp, log_stamp(stamp, pid, clock));
	text_puts(&b, "request_id=");
	text_puts(&b, h->meta.request_id);
	text_puts(&b, " method=");
	text_puts(&b, log_safe(h->req.method_text, safe, LOOP_LOG_METHOD_MAX + 1));
	text_puts(&b, " path=\"");
	text_puts(&b, log_safe(h->req.path, safe, LOOP_LOG_PATH_MAX + 1));
	text_puts(&b, "\" status=");
	text_put_int(&b, h->out.http_status);
	text_puts(&b, " ms=");
	text_put_hundredths(&b, ms);
	if (h->db_ms >= 0) {
		text_puts(&b, " db_ms=");
		text_put_hundredths(&b, h->db_ms);
		if (h->db_lag_ms >= 0) {
			text_puts(&b, " db_lag_ms=");
			text_put_int(&b, h->db_lag_ms);
		}
		if (h->db_rollups >= 0)
			text_puts(&b, h->db_rollups ? " db_plan=rollups" : " db_plan=scan");
	}
	if (c->kind == AUTH_API_KEY) {
		text_puts(&b, " caller=api_key");
		if (c->key_id[0]) {
			text_puts(&b, " key_id=");
			text_puts(&b, c->key_id);
		}
	} else if (c->kind == AUTH_JWT) {
		text_puts(&b, " caller=jwt");
		if (c->sub[0]) {
			text_puts(&b, " sub=\"");
			text_puts(&b, log_safe(c->sub, safe, sizeof(safe)));
			text_putc(&b, '"');
		}
		text_puts(&b, cache[c->cache]);
	}
	if (h->reason) {
		text_puts(&b, " reason=\"");
		text_puts(&b, h->reason);
		text_putc(&b, '"');
	}
	buf[b.len] = '\n';
	return b.len + 1;
}

/* Runs one request and logs it (into l, or at once when l is NULL); the
 * response is in h->out. */
static void
loop_one(app_ctx *app, req_getter get, void *ctx, struct loop_random *r,
    struct loop_log *l, handler_result *h)
{
	struct timespec t0;
	char fresh[37], line[LOG_LINE_MAX];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	loop_fresh_id(r, fresh);
	handler_run(app, get, ctx, (long long)time(NULL), fresh, h);
	if (h->out.http_status < app->log_min_status)
		return;
	if (l == NULL) {
		log_write(line, loop_request_line(line, sizeof(line), (int)getpid(), NULL, h,
		    loop_ms_since(&t0)));
		return;
	}
	if (sizeof(l->buf) - l->len < LOG_LINE_MAX)
		loop_log_flush(l);
	l->len += loop_request_line(l->buf + l->len, LOG_LINE_MAX, l->pid, &l->clock, h,
	    loop_ms_since(&t0));
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

/* SIGHUP, SIGTERM, SIGINT and SIGUSR1 are blocked for the worker's whole
 * life and read from a signalfd, so they act between requests only: no
 * request is cut short, and no read or write in libpq ever sees EINTR.
 *
 * The worker speaks FastCGI itself (fastcgi.c) on non-blocking sockets,
 * and holds up to LOOP_CONNS connections, for clients that keep them open
 * (FCGI_KEEP_CONN; nginx is told not to, see conf/). One epoll set
 * holds the listening socket (shared by the workers; one that loses the
 * race for a connection gets EAGAIN), the signalfd, and each connection;
 * the worker serves whichever is ready, so a connection that stays idle
 * never keeps it from the others or from new ones.
 *
 * A request is read as its bytes come, one read a turn, the worker
 * serving others while the rest is on its way; a client that sends
 * slowly costs it nothing, and answers are never waited on (a client
 * that leaves a socket buffer of them unread is closed). From its first
 * byte a request has REQUEST_TIMEOUT_SECONDS to arrive whole, past which
 * its connection is closed unanswered. A connection idle that long
 * between requests is closed. */
#define LOOP_CONNS 32
#define LOOP_EV_LISTEN (LOOP_CONNS)
#define LOOP_EV_SIGNALS (LOOP_CONNS + 1)
#define LOOP_LISTEN_FD 0

struct loop_conn {
	int fd;			/* -1: the slot is free */
	int polled;		/* registered in the epoll set */
	int reading;		/* a request is under way: deadline applies */
	int closing;		/* answered, not to be kept: closed once read */
	struct timespec idle_since, deadline;
	fcgi_parser p;
	fcgi_arena arena;
};

/* The worker's state: one per process, made after the fork. */
struct loop_worker {
	int ep;			/* listening socket, signalfd, connections */
	int sfd;		/* the signals the loop handles */
	int stop;		/* the stop signal that came, or 0 */
	int reload;		/* a SIGHUP came */
	long served;
	long max_requests;	/* then the worker ends; 0: never */
	struct loop_conn conn[LOOP_CONNS];
	uint8_t in[16384];	/* what one read brought */
	uint8_t out[16384];	/* what one turn owes the connection */
	size_t out_len;
	handler_result h;
	struct loop_random r;
	struct loop_log l;
};

static const int loop_signals[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
#define LOOP_NSIGNALS (sizeof(loop_signals) / sizeof(loop_signals[0]))

/* A failed accept is retried; this many in a row means the worker is
 * broken, and exiting lets a supervisor start a sound one. */
#define LOOP_ACCEPT_FAILURES_MAX 100

int
loop_is_fastcgi(void)
{
	int listening = 0;
	socklen_t len = sizeof(listening);

	return getsockopt(LOOP_LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
	    listening;
}

static int
loop_prepare(struct loop_worker *w)
{
	struct epoll_event lev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	struct epoll_event sev = { .events = EPOLLIN };
	sigset_t block;
	size_t i;
	int fl;

	for (i = 0; i < LOOP_CONNS; i++)
		w->conn[i].fd = -1;
	sigemptyset(&block);
	for (i = 0; i < LOOP_NSIGNALS; i++)
		sigaddset(&block, loop_signals[i]);
	if (sigprocmask(SIG_BLOCK, &block, NULL) != 0 ||
	    (w->sfd = signalfd(-1, &block, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return -1;
	if ((fl = fcntl(LOOP_LISTEN_FD, F_GETFL)) < 0 ||
	    fcntl(LOOP_LISTEN_FD, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	lev.data.u32 = LOOP_EV_LISTEN;
	sev.data.u32 = LOOP_EV_SIGNALS;
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, LOOP_LISTEN_FD, &lev) == 0 &&
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->sfd, &sev) == 0 ? 0 : -1;
}

static void
loop_read_signals(struct loop_worker *w)
{
	struct signalfd_siginfo si;

	while (read(w->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			w->reload = 1;
		else if (w->stop == 0)
			w->stop = (int)si.ssi_signo;
	}
}

/* Closes a connection; its descriptor leaves the epoll set as it goes. A
 * reason is logged, an orderly end (the client's, or ours after an
 * answer) is not. */
static void
loop_close(struct loop_worker *w, struct loop_conn *c, const char *reason)
{
	if (reason != NULL)
		loop_log_request(&w->l, "event=connection_dropped reason=\"%s\"", reason);
	close(c->fd);
	c->fd = -1;
	c->polled = 0;
}

static long long
loop_ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Closes connections past their request's deadline, or idle for the
 * budget; the milliseconds until the next one would be, or -1 when none
 * is open. */
static int
loop_expire(struct loop_worker *w, long budget_s)
{
	int i, next = -1;

	for (i = 0; i < LOOP_CONNS; i++) {
		struct loop_conn *c = &w->conn[i];
		long long left;

		if (c->fd < 0)
			continue;
		left = c->reading ? loop_ms_left(&c->deadline) :
		    budget_s * 1000 - (long long)loop_ms_since(&c->idle_since);
		if (left <= 0)
			loop_close(w, c, c->reading ? "request_timeout" : "idle");
		else if (next < 0 || left + 1 < next)
			next = (int)left + 1;
	}
	return next;
}

/* A new connection, in a free slot, else in the one idle longest (nginx
 * opens another when it needs one). NULL when there is none to take. */
static struct loop_conn *
loop_accept(struct loop_worker *w, int *err)
{
	struct loop_conn *c = NULL;
	int i, fd;

	*err = 0;
	if ((fd = accept4(LOOP_LISTEN_FD, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			*err = errno;
		return NULL;
	}
	for (i = 0; i < LOOP_CONNS && (c == NULL || c->fd >= 0); i++) {
		struct loop_conn *k = &w->conn[i];

		if (c == NULL || k->fd < 0 || k->idle_since.tv_sec < c->idle_since.tv_sec ||
		    (k->idle_since.tv_sec == c->idle_since.tv_sec &&
		    k->idle_since.tv_nsec < c->idle_since.tv_nsec))
			c = k;
	}
	if (c->fd >= 0)
		loop_close(w, c, "too many connections");
	c->fd = fd;
	c->polled = 0;
	c->reading = c->closing = 0;
	clock_gettime(CLOCK_MONOTONIC, &c->idle_since);
	fcgi_init(&c->p, &c->arena);
	return c;
}

/* Writes what one turn gathered for c, in one call. The socket is never
 * waited on: what nginx is sent is read at once, and a client that
 * leaves a whole socket buffer of answers unread is not served (0 or -1,
 * and the caller closes). */
static int
loop_flush(struct loop_worker *w, struct loop_conn *c)
{
	size_t off = 0;

	while (off < w->out_len) {
		ssize_t n = write(c->fd, w->out + off, w->out_len - off);

		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			return -1;
	}
	w->out_len = 0;
	return 0;
}

/* Room for n more bytes in what goes out this turn, writing first when
 * there is not; 0 or -1. */
static int
loop_room(struct loop_worker *w, struct loop_conn *c, size_t n)
{
	return n > sizeof(w->out) - w->out_len ? loop_flush(w, c) : 0;
}

/* Adds bytes to what goes out this turn. */
static int
loop_out(struct loop_worker *w, struct loop_conn *c, const uint8_t *b, size_t n)
{
	if (loop_room(w, c, n) != 0)
		return -1;
	memcpy(w->out + w->out_len, b, n);
	w->out_len += n;
	return 0;
}

static const char *
loop_fcgi_param(void *ctx, const char *name)
{
	return fcgi_param(ctx, name);
}

/* Answers the request whose params c's parser has just completed. */
static int
loop_answer(app_ctx *app, struct loop_worker *w, struct loop_conn *c)
{
	handler_result *h = &w->h;
	size_t n;

	loop_one(app, loop_fcgi_param, &c->p, &w->r, &w->l, h);
	w->served++;
	if (loop_room(w, c, FCGI_FRAMED_MAX(h->out.len)) != 0)
		n = 0;
	else
		n = fcgi_frame_response(&c->p, h->out.data, h->out.len, w->out + w->out_len,
		    sizeof(w->out) - w->out_len);
	fcgi_request_done(&c->p);
	if (n == 0) {
		loop_log_request(&w->l, "request_id=%s event=write_failed", h->meta.request_id);
		return -1;
	}
	w->out_len += n;
	return 0;
}

/* The worker has served its FCGI_MAX_REQUESTS. */
static int
loop_spent(const struct loop_worker *w)
{
	return w->max_requests > 0 && w->served >= w->max_requests;
}

/* Starts the clock of a request on c. */
static void
loop_reading(app_ctx *app, struct loop_conn *c)
{
	if (!c->reading) {
		c->reading = 1;
		clock_gettime(CLOCK_MONOTONIC, &c->deadline);
		c->deadline.tv_sec += app->cfg.request_timeout;
	}
}

/* Serves c, which has something to read: one read, whatever it holds
 * parsed, each request completed answered, all that is owed written in
 * one call; then back to the epoll set, which brings the worker back if
 * more is there. So no client holds the worker beyond one read's worth
 * of work, however it sends or reads.
 *
 * A request's clock starts at the first byte read after the last answer
 * and stops at the next answer: bytes that answer nothing (records for
 * no request, a body never finished) do not reset it, and the connection
 * is closed when it runs out. */
static void
loop_serve(app_ctx *app, struct loop_worker *w, struct loop_conn *c)
{
	size_t off = 0;
	int done = 0;
	ssize_t n = read(c->fd, w->in, sizeof(w->in));

	if (n == 0) {
		loop_close(w, c, c->reading && !c->closing ? "closed mid-request" : NULL);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			loop_close(w, c, "read failed");
		return;
	}
	loop_reading(app, c);
	w->out_len = 0;
	while (off < (size_t)n) {
		size_t used = 0;
		fcgi_event ev = fcgi_feed(&c->p, w->in + off, (size_t)n - off, &used);

		off += used;
		if (ev == FCGI_EV_ERROR) {
			loop_close(w, c, c->p.error);
			return;
		}
		if (ev == FCGI_EV_REPLY) {
			if (loop_out(w, c, c->p.reply, c->p.reply_len) != 0) {
				loop_close(w, c, "client not reading");
				return;
			}
			/* It ended a request whose client asked for a close. */
			if (c->p.reply_close) {
				done = 1;
				break;
			}
		} else if (ev == FCGI_EV_REQUEST) {
			/* On a connection to be closed, a further request is
			 * not served: the close is what it gets. */
			if (c->closing) {
				done = 1;
				break;
			}
			if (loop_answer(app, w, c) != 0) {
				loop_close(w, c, "client not reading");
				return;
			}
			c->reading = 0;
			if (!c->p.keep || loop_spent(w))
				c->closing = 1;
		}
	}
	if (loop_flush(w, c) != 0) {
		loop_close(w, c, "client not reading");
		return;
	}
	/* Closed once nothing of its last request is left unread, so that
	 * the close cannot turn into a reset that loses the answer. */
	if (done || (c->closing && fcgi_request_over(&c->p))) {
		loop_close(w, c, NULL);
		return;
	}
	if (!fcgi_idle(&c->p) || !fcgi_request_over(&c->p))
		loop_reading(app, c);
}

/* After a request, a connection still open joins the epoll set, once:
 * level-triggered, so it wakes this worker whenever it has bytes, and no
 * call is spent re-arming it per request. */
static void
loop_rearm(struct loop_worker *w, struct loop_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)(c - w->conn) };

	if (c->fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &c->idle_since);
	if (!c->polled && epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		loop_close(w, c, "epoll_ctl failed");
		return;
	}
	c->polled = 1;
}

/* Waits for something to do; fills ev, returns how many (0: timeout). */
static int
loop_wait(struct loop_worker *w, long budget_s, struct epoll_event *ev, int nev)
{
	int n = 0, timeout = loop_expire(w, budget_s);

	/* Lines gathered, and nothing to do this instant: write them before
	 * sleeping. */
	if (w->l.len > 0 && (n = epoll_wait(w->ep, ev, nev, 0)) == 0)
		loop_log_flush(&w->l);
	if (n == 0)
		n = epoll_wait(w->ep, ev, nev, timeout);
	if (n < 0 && errno != EINTR) {
		log_line("event=wait_failed errno=%d", errno);
		usleep(10000);
	}
	return n < 0 ? 0 : n;
}

/* A worker told to stop, or at its last request, takes no new connection
 * and lets the ones it holds finish what they started: a request under
 * way is read and answered (within its budget), then the connection
 * closes; idle ones close now. 1 once none is left. */
static int
loop_drain(struct loop_worker *w)
{
	int i, open = 0;

	for (i = 0; i < LOOP_CONNS; i++) {
		struct loop_conn *c = &w->conn[i];

		if (c->fd < 0)
			continue;
		if (!c->reading) {
			loop_close(w, c, NULL);
			continue;
		}
		c->closing = 1;
		open++;
	}
	return open == 0;
}

static const char *
loop_signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGUSR1 ? "SIGUSR1" : "SIGTERM";
}

int
loop_fastcgi(app_ctx *app, long max_requests)
{
	struct loop_worker *w = calloc(1, sizeof(*w));
	struct epoll_event ev[LOOP_CONNS + 2];
	int failures = 0, rc = 0, draining = 0, i, n;

	if (w == NULL || (w->ep = w->sfd = -1, loop_prepare(w)) != 0) {
		log_line("event=start_failed reason=\"FastCGI initialisation failed: %s\"",
		    strerror(errno));
		rc = 1;
		goto out;
	}
	w->r.used = sizeof(w->r.buf);
	w->l.pid = (int)getpid();
	w->max_requests = max_requests;
	log_line("event=worker_ready");
	for (;;) {
		if (!draining && (w->stop || loop_spent(w))) {
			draining = 1;
			if (epoll_ctl(w->ep, EPOLL_CTL_DEL, LOOP_LISTEN_FD, NULL) != 0)
				log_line("event=epoll_ctl_failed errno=%d", errno);
		}
		if (draining && loop_drain(w))
			break;
		n = loop_wait(w, app->cfg.request_timeout, ev, LOOP_CONNS + 2);
		for (i = 0; i < n; i++)
			if (ev[i].data.u32 == LOOP_EV_SIGNALS)
				loop_read_signals(w);
		for (i = 0; i < n; i++) {
			struct loop_conn *c;
			uint32_t k = ev[i].data.u32;
			int err;

			/* A signal that came while the last request was served
			 * acts before the next. */
			if (i > 0)
				loop_read_signals(w);
			if (w->stop || w->reload)
				loop_log_flush(&w->l);
			if (!draining && (w->stop || loop_spent(w)))
				break;
			if (w->reload) {
				w->reload = 0;
				loop_reload(app);
			}
			if (k == LOOP_EV_SIGNALS)
				continue;
			if (k == LOOP_EV_LISTEN) {
				if (draining || (c = loop_accept(w, &err)) == NULL) {
					if (draining || err == 0)
						continue;
					/* No free descriptor for a moment: retried,
					 * but not for ever. A listening socket that
					 * is gone ends the worker at once. */
					loop_log_flush(&w->l);
					log_line("event=accept_failed errno=%d", err);
					if (err == EBADF || err == ENOTSOCK || err == EINVAL ||
					    ++failures >= LOOP_ACCEPT_FAILURES_MAX) {
						log_line("event=worker_exit reason=\"accept keeps failing\"");
						rc = 1;
						goto out;
					}
					usleep(10000);
					continue;
				}
				failures = 0;
				/* Its request is under way from the connect: one
				 * whose bytes are still on their way is not idle,
				 * and a worker that stops lets it arrive. */
				loop_reading(app, c);
			} else {
				/* An event for a connection closed earlier in this
				 * batch is stale. */
				if ((c = &w->conn[k])->fd < 0)
					continue;
			}
			loop_serve(app, w, c);
			loop_rearm(w, c);
		}
	}
	loop_log_flush(&w->l);
	if (w->stop)
		log_line("event=worker_exit reason=\"%s\"", loop_signal_name(w->stop));
	else
		log_line("event=worker_exit reason=\"max_requests\" served=%ld", w->served);
out:
	if (w != NULL) {
		for (i = 0; i < LOOP_CONNS; i++)
			if (w->conn[i].fd >= 0)
				loop_close(w, &w->conn[i], NULL);
		if (w->ep >= 0)
			close(w->ep);
		if (w->sfd >= 0)
			close(w->sfd);
		loop_log_flush(&w->l);
	}
	free(w);
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
