/* supervisor.c: bind, fork, respawn, reload, drain. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define SUP_BACKOFF_FIRST 0.1	/* seconds */
#define SUP_BACKOFF_MAX 5.0
#define SUP_YOUNG 1.0		/* a worker dying sooner is crash-looping */
#define SUP_RETIRED_MAX (2 * SUP_WORKERS_MAX)
#define SUP_SD_FD 3		/* systemd's first passed descriptor */

struct sup_slot {
	pid_t pid;		/* 0: empty, respawn at respawn_at */
	double started;
	double backoff;
	double respawn_at;
};

struct sup {
	app_ctx *app;
	int nworkers;
	struct sup_slot slot[SUP_WORKERS_MAX];
	pid_t retired[SUP_RETIRED_MAX];	/* replaced at a reload, finishing */
	int nretired;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	sigset_t handled, orig;
	int stopping;
	double deadline;	/* while stopping: SIGKILL after this */
	char listening[256];	/* the address at start, or "systemd" */
};

static double
sup_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* systemd's sd_notify, without libsystemd: one datagram to NOTIFY_SOCKET. */
static void
sup_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_line("event=notify_failed errno=%d", errno);
	close(fd);
}

/* The listening socket systemd passed us, or -1. */
static int
sup_systemd_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	long p, n;
	int acc = 0;
	socklen_t len = sizeof(acc);

	if (pid == NULL || fds == NULL || cfg_parse_long(pid, 1, 1L << 30, &p) != 0 ||
	    p != (long)getpid() || cfg_parse_long(fds, 1, 1, &n) != 0)
		return -1;
	if (getsockopt(SUP_SD_FD, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 || !acc)
		return -1;
	return SUP_SD_FD;
}

int
sup_wanted(const app_ctx *app)
{
	return app->cfg.listen != NULL || sup_systemd_socket() >= 0;
}

/* uid and gid of "USER[:GROUP]"; -1 each for "keep". */
static int
sup_owner(const char *spec, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	char user[256], *colon;
	struct passwd *pw;
	struct group *gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (spec == NULL || spec[0] == '\0')
		return 0;
	if (strlen(spec) >= sizeof(user)) {
		snprintf(err, errlen, "FCGI_SOCKET_OWNER is too long");
		return -1;
	}
	memcpy(user, spec, strlen(spec) + 1);
	if ((colon = strchr(user, ':')) != NULL)
		*colon++ = '\0';
	if (user[0] != '\0') {
		if ((pw = getpwnam(user)) == NULL) {
			snprintf(err, errlen, "FCGI_SOCKET_OWNER: no user %s", user);
			return -1;
		}
		*uid = pw->pw_uid;
	}
	if (colon != NULL && colon[0] != '\0') {
		if ((gr = getgrnam(colon)) == NULL) {
			snprintf(err, errlen, "FCGI_SOCKET_OWNER: no group %s", colon);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* A socket file left by a pool that is gone is replaced; one that a live
 * server answers on, or a file of another kind, is refused. */
static int
sup_clear_unix_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, live;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != ECONNREFUSED;
	close(fd);
	if (live) {
		snprintf(err, errlen, "%s: another server is listening on it", path);
		return -1;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "%s: stale socket, cannot remove it: %s", path,
		    strerror(errno));
		return -1;
	}
	log_line("event=stale_socket_removed path=\"%s\"", path);
	return 0;
}

static int
sup_bind_unix(struct sup *s, const char *path, char *err, size_t errlen)
{
	const cfg_config *c = &s->app->cfg;
	struct sockaddr_un sa;
	uid_t uid;
	gid_t gid;
	long mode;
	char *end;
	int fd;

	errno = 0;
	mode = strtol(c->socket_mode, &end, 8);
	if (*c->socket_mode == '\0' || *end != '\0' || errno != 0 || mode < 0 || mode > 0777) {
		snprintf(err, errlen, "FCGI_SOCKET_MODE must be octal permissions, e.g. 0660");
		return -1;
	}
	if (strlen(path) == 0 || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "FCGI_LISTEN: a unix socket path of 1 to %zu bytes",
		    sizeof(sa.sun_path) - 1);
		return -1;
	}
	if (sup_owner(c->socket_owner, &uid, &gid, err, errlen) != 0 ||
	    sup_clear_unix_path(path, err, errlen) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(s->unix_path, path, strlen(path) + 1);
	if (chmod(path, (mode_t)mode) != 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) ||
	    listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		s->unix_path[0] = '\0';
		return -1;
	}
	return fd;
}

/* HOST:PORT, the host in brackets for IPv6. */
static int
sup_bind_tcp(const char *spec, char *err, size_t errlen)
{
	char host[256];
	const char *port = strrchr(spec, ':');
	struct addrinfo hints, *res = NULL, *ai;
	size_t hlen;
	int fd = -1, one = 1, rc;

	if (port == NULL || port == spec || port[1] == '\0' ||
	    (hlen = (size_t)(port - spec)) >= sizeof(host)) {
		snprintf(err, errlen, "FCGI_LISTEN must be unix:PATH or HOST:PORT");
		return -1;
	}
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port + 1, &hints, &res)) != 0) {
		snprintf(err, errlen, "FCGI_LISTEN %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0)
			break;
		snprintf(err, errlen, "FCGI_LISTEN %s: %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* The listening socket as file descriptor 0, where a FastCGI worker
 * looks, as under spawn-fcgi. */
static int
sup_listen(struct sup *s, char *err, size_t errlen)
{
	const char *spec = s->app->cfg.listen;
	int fd = sup_systemd_socket();

	if (fd < 0 && spec == NULL) {
		snprintf(err, errlen, "nothing to listen on: set FCGI_LISTEN");
		return -1;
	}
	snprintf(s->listening, sizeof(s->listening), "%s", fd >= 0 ? "systemd" : spec);
	if (fd < 0)
		fd = strncmp(spec, "unix:", 5) == 0 ? sup_bind_unix(s, spec + 5, err, errlen)
		    : sup_bind_tcp(spec, err, errlen);
	if (fd < 0)
		return -1;
	if (fd != 0 && (dup2(fd, 0) != 0 || close(fd) != 0)) {
		snprintf(err, errlen, "dup2: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
sup_spawn(struct sup *s, int i)
{
	struct sup_slot *sl = &s->slot[i];
	pid_t parent = getpid(), pid = fork();

	if (pid < 0) {
		log_line("event=fork_failed slot=%d errno=%d", i, errno);
		sl->respawn_at = sup_now() + SUP_BACKOFF_MAX;
		return;
	}
	if (pid == 0) {
		int rc;

		/* A worker outliving a killed supervisor would hold the socket. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(1);
		/* A session of its own, as spawn-fcgi's workers and
		 * PostgreSQL's backends have: where the kernel shares CPU
		 * by session (autogroup), every worker then weighs as much
		 * as one database backend, instead of all workers sharing
		 * one share with nginx and whatever else the shell started
		 * (measured: p99 above 1 s at 8 workers). The supervisor
		 * signals each worker by pid; a fresh child is never a
		 * group leader, so this cannot fail. */
		(void)setsid();
		sigprocmask(SIG_SETMASK, &s->orig, NULL);
		signal(SIGCHLD, SIG_DFL);
		rc = loop_fastcgi(s->app, s->app->cfg.max_requests);
		app_free(s->app);
		exit(rc);
	}
	sl->pid = pid;
	sl->started = sup_now();
	log_line("event=worker_started slot=%d worker=%d", i, (int)pid);
}

static void
sup_describe(int status, char *buf, size_t cap)
{
	if (WIFSIGNALED(status))
		snprintf(buf, cap, "signal=%s%s", sigabbrev_np(WTERMSIG(status)) ?
		    sigabbrev_np(WTERMSIG(status)) : "?", WCOREDUMP(status) ? " core=yes" : "");
	else
		snprintf(buf, cap, "exit=%d", WEXITSTATUS(status));
}

/* Reaps every child that ended; schedules replacements. */
static void
sup_reap(struct sup *s)
{
	pid_t pid;
	int status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		char how[64];

		sup_describe(status, how, sizeof(how));
		for (i = 0; i < s->nretired; i++)
			if (s->retired[i] == pid) {
				s->retired[i] = s->retired[--s->nretired];
				log_line("event=worker_retired worker=%d %s", (int)pid, how);
				break;
			}
		for (i = 0; i < s->nworkers; i++) {
			struct sup_slot *sl = &s->slot[i];
			int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
			double lived;

			if (sl->pid != pid)
				continue;
			lived = sup_now() - sl->started;
			sl->pid = 0;
			/* A clean exit is a worker done with FCGI_MAX_REQUESTS (or
			 * stopped by hand): replaced at once. A death is replaced
			 * after a pause that grows while workers die young. */
			if (clean || lived >= SUP_YOUNG)
				sl->backoff = 0;
			else if (sl->backoff == 0)
				sl->backoff = SUP_BACKOFF_FIRST;
			else if ((sl->backoff *= 2) > SUP_BACKOFF_MAX)
				sl->backoff = SUP_BACKOFF_MAX;
			sl->respawn_at = sup_now() + sl->backoff;
			log_line("event=worker_%s slot=%d worker=%d %s lived_ms=%.0f",
			    clean ? "exited" : "died", i, (int)pid, how, lived * 1e3);
			if (!s->stopping && sl->backoff > 0)
				log_line("event=respawn_delayed slot=%d delay_ms=%.0f", i,
				    sl->backoff * 1e3);
			break;
		}
	}
}

static int
sup_children(const struct sup *s)
{
	int i, n = s->nretired;

	for (i = 0; i < s->nworkers; i++)
		n += s->slot[i].pid != 0;
	return n;
}

static void
sup_signal_all(const struct sup *s, int sig)
{
	int i;

	for (i = 0; i < s->nworkers; i++)
		if (s->slot[i].pid != 0)
			kill(s->slot[i].pid, sig);
	for (i = 0; i < s->nretired; i++)
		kill(s->retired[i], sig);
}

/* New settings and keys, then a new worker for every slot; the old ones
 * finish their requests. The socket and the pool's size stay: changing
 * them takes a restart. */
static void
sup_reload(struct sup *s)
{
	char err[512], safe[512];
	int i;

	sup_notify("RELOADING=1");
	if (app_reload(s->app, err, sizeof(err)) != 0) {
		log_line("event=reload_failed reason=\"%s; the workers keep the old "
		    "settings and keys\"", log_safe(err, safe, sizeof(safe)));
		sup_notify("READY=1");
		return;
	}
	if (strcmp(s->listening, "systemd") != 0 &&
	    (s->app->cfg.listen == NULL || strcmp(s->app->cfg.listen, s->listening) != 0))
		log_line("event=reload_ignored setting=FCGI_LISTEN reason=\"the socket "
		    "changes at a restart\"");
	for (i = 0; i < s->nworkers; i++) {
		struct sup_slot *sl = &s->slot[i];

		if (sl->pid != 0) {
			/* With no room to track one more finishing worker, this
			 * one keeps its slot, old settings and all, until it ends. */
			if (s->nretired == SUP_RETIRED_MAX)
				continue;
			kill(sl->pid, SIGTERM);
			s->retired[s->nretired++] = sl->pid;
			sl->pid = 0;
		}
		sl->backoff = 0;
		sup_spawn(s, i);
	}
	log_line("event=reloaded pem=%s jwks_keys=%zu workers=%d",
	    s->app->auth.keys.single.pem ? "yes" : "no", s->app->auth.keys.nset,
	    s->nworkers);
	sup_notify("READY=1");
}

static void
sup_stop(struct sup *s, int sig)
{
	s->stopping = 1;
	s->deadline = sup_now() + (double)s->app->cfg.grace_seconds;
	sup_notify("STOPPING=1");
	log_line("event=draining signal=%s workers=%d grace_s=%ld", sigabbrev_np(sig),
	    sup_children(s), s->app->cfg.grace_seconds);
	/* New connections fail at once rather than wait in a queue nobody
	 * will serve; each worker finishes the request it has. */
	if (s->unix_path[0] != '\0')
		unlink(s->unix_path);
	close(0);
	sup_signal_all(s, SIGTERM);
}

/* How long sigtimedwait may sleep: until the next respawn or deadline. */
static int
sup_timeout(const struct sup *s, struct timespec *ts)
{
	double next = -1, now = sup_now();
	int i;

	if (s->stopping)
		next = s->deadline;
	else
		for (i = 0; i < s->nworkers; i++)
			if (s->slot[i].pid == 0 && (next < 0 || s->slot[i].respawn_at < next))
				next = s->slot[i].respawn_at;
	if (next < 0)
		return 0;
	next = next > now ? next - now : 0;
	ts->tv_sec = (time_t)next;
	ts->tv_nsec = (long)((next - (double)ts->tv_sec) * 1e9);
	return 1;
}

static void
sup_on_sigchld(int sig)
{
	(void)sig;
}

int
sup_run(app_ctx *app)
{
	static struct sup s;
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	char err[512];
	size_t i;
	long n = app->cfg.workers;

	memset(&s, 0, sizeof(s));
	s.app = app;
	if (n == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		n = cpus > 0 ? 2 * cpus : 2;
	}
	s.nworkers = (int)(n > SUP_WORKERS_MAX ? SUP_WORKERS_MAX : n);
	sigemptyset(&s.handled);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&s.handled, sigs[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sup_on_sigchld;
	sa.sa_flags = SA_NOCLDSTOP;
	if (sigprocmask(SIG_BLOCK, &s.handled, &s.orig) != 0 ||
	    sigaction(SIGCHLD, &sa, NULL) != 0 || sup_listen(&s, err, sizeof(err)) != 0) {
		dprintf(2, "runs-summary: %s\n", err);
		return 1;
	}
	log_line("event=pool_started listen=\"%s\" workers=%d max_requests=%ld",
	    s.listening, s.nworkers, app->cfg.max_requests);
	for (i = 0; i < (size_t)s.nworkers; i++)
		sup_spawn(&s, (int)i);
	sup_notify("READY=1");
	for (;;) {
		struct timespec ts;
		siginfo_t info;
		int sig, timed = sup_timeout(&s, &ts);

		sig = sigtimedwait(&s.handled, &info, timed ? &ts : NULL);
		if (sig == SIGCHLD)
			sup_reap(&s);
		else if ((sig == SIGTERM || sig == SIGINT) && !s.stopping)
			sup_stop(&s, sig);
		else if (sig == SIGHUP && !s.stopping)
			sup_reload(&s);
		if (s.stopping) {
			if (sup_children(&s) == 0)
				break;
			if (sup_now() >= s.deadline) {
				log_line("event=grace_expired killing=%d", sup_children(&s));
				sup_signal_all(&s, SIGKILL);
				s.deadline = sup_now() + 3600;
			}
			continue;
		}
		for (i = 0; i < (size_t)s.nworkers; i++)
			if (s.slot[i].pid == 0 && s.slot[i].respawn_at <= sup_now())
				sup_spawn(&s, (int)i);
	}
	log_line("event=pool_stopped");
	return 0;
}
