/* loop.h: where requests come from and responses go.
 *
 * FastCGI: accept on file descriptor 0 (spawn-fcgi's socket, or the
 * supervisor's) with the FCGX_* API, which leaves environ alone; one
 * response written in one call per request. CGI: the one request in the environment, on stdout. */
#ifndef RS_LOOP_H
#define RS_LOOP_H

#include "handler.h"

/* Serves until a stop signal, or until max_requests (0: no limit) are
 * served; the exit status for the worker. */
int loop_fastcgi(app_ctx *app, long max_requests);
int loop_cgi(app_ctx *app);

#endif
