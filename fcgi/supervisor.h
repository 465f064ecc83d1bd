/* supervisor.h: the program as its own pre-forked pool.
 *
 * With FCGI_LISTEN (or --listen), or a socket passed by systemd, the
 * program binds the socket itself (a stale unix socket file is replaced,
 * a live one refused), forks FCGI_WORKERS workers that accept on it as
 * file descriptor 0, and looks after them:
 *  - a worker that dies is logged with its exit status or signal and
 *    replaced; one that keeps dying young waits longer each time (0.1 s
 *    doubling to 5 s), so a crash loop cannot spin the CPU;
 *  - a worker that served FCGI_MAX_REQUESTS exits after that request
 *    and is replaced at once;
 *  - SIGHUP: the keys are loaded again; if they load, every worker is
 *    replaced by one that has them, each old one finishing its request
 *    first; if not, nothing changes and the reason is logged;
 *  - SIGTERM or SIGINT: the socket is closed (and its file removed), each
 *    worker finishes its request and exits; after SHUTDOWN_GRACE_SECONDS
 *    the rest are killed; exit 0.
 * It tells systemd (Type=notify) when it is ready, reloading, stopping.
 * Signals reach it synchronously (sigtimedwait), so no handler races. */
#ifndef RS_SUPERVISOR_H
#define RS_SUPERVISOR_H

#include "app.h"

#define SUP_WORKERS_MAX 256

/* 1 when this process should be a pool: FCGI_LISTEN set, or systemd
 * passed it a listening socket. */
int sup_wanted(const app_ctx *app);

/* Runs the pool until it is stopped; the exit status of the program. */
int sup_run(app_ctx *app);

#endif
