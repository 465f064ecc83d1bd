/* loop.h: where requests come from and responses go.
 *
 * FastCGI: connections accepted on file descriptor 0 (spawn-fcgi's
 * listening socket, or the supervisor's), the protocol spoken by
 * fastcgi.c; one answer written in one call per request. CGI: the one
 * request in the environment, answered on stdout. */
#ifndef RS_LOOP_H
#define RS_LOOP_H

#include "handler.h"

/* Serves until a stop signal, or until max_requests (0: no limit) are
 * served; the exit status for the worker. */
int loop_fastcgi(app_ctx *app, long max_requests);
/* File descriptor 0 is a listening socket: run as FastCGI. */
int loop_is_fastcgi(void);
int loop_cgi(app_ctx *app);

#endif
