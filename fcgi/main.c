/* main.c: arguments, configuration, and which mode to run in. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handler.h"
#include "log.h"
#include "loop.h"
#include "supervisor.h"

#ifndef RS_VERSION
#define RS_VERSION "0.0.0"
#endif

static void
main_usage(int fd)
{
	dprintf(fd,
	    "usage: runs-summary [--listen unix:PATH|HOST:PORT] [--workers N] [--config FILE]\n"
	    "       runs-summary --help | --version\n"
	    "\n"
	    "Answers GET /api/v1/workflows/{workflow_id}/runs/summary?from=&to=\n"
	    "and GET /healthz over FastCGI:\n"
	    "  - with --listen (or FCGI_LISTEN, or a socket from systemd), as a\n"
	    "    pool of its own: it binds the socket, forks the workers, replaces\n"
	    "    any that dies; SIGHUP reloads settings and keys, SIGTERM drains;\n"
	    "  - as one worker when file descriptor 0 is a listening socket\n"
	    "    (spawn-fcgi -F 4 -s /run/runs-summary.sock -- runs-summary);\n"
	    "  - else as CGI, for the one request in its environment.\n"
	    "\n"
	    "Settings (environment variables):\n");
	cfg_usage(fd);
	dprintf(fd, "\nAt least one key source is required: CLERK_JWT_KEY or "
	    "CLERK_JWT_KEY_FILE, and/or\nCLERK_JWKS_FILE. SIGHUP makes every worker "
	    "read its settings and keys again\nbetween requests.\n");
}

/* --listen, --workers and --config stand for FCGI_LISTEN, FCGI_WORKERS
 * and RUNS_SUMMARY_CONFIG, so that the settings table checks them like
 * any other; they win over the settings file and the environment. */
#define MAIN_OPTIONS_MAX 3

static int
main_options(int argc, char **argv, char *out[MAIN_OPTIONS_MAX + 1])
{
	static char buf[MAIN_OPTIONS_MAX][4096];
	int i, n = 0;

	for (i = 1; i < argc; i += 2) {
		const char *var = strcmp(argv[i], "--listen") == 0 ? "FCGI_LISTEN"
		    : strcmp(argv[i], "--workers") == 0 ? "FCGI_WORKERS"
		    : strcmp(argv[i], "--config") == 0 ? "RUNS_SUMMARY_CONFIG" : NULL;

		if (var == NULL || i + 1 >= argc) {
			dprintf(2, "runs-summary: %s '%s'\n", var ? "no value for" :
			    "unknown argument", argv[i]);
			return -1;
		}
		if (n == MAIN_OPTIONS_MAX || (size_t)snprintf(buf[n], sizeof(buf[n]), "%s=%s",
		    var, argv[i + 1]) >= sizeof(buf[n])) {
			dprintf(2, "runs-summary: '%s' given twice, or too long\n", argv[i]);
			return -1;
		}
		out[n] = buf[n];
		n++;
	}
	out[n] = NULL;
	return 0;
}

int
main(int argc, char **argv)
{
	static app_ctx app;
	static char *overrides[MAIN_OPTIONS_MAX + 1];
	char err[512];
	int rc;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		main_usage(1);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		dprintf(1, "runs-summary %s\n", RS_VERSION);
		return 0;
	}
	if (main_options(argc, argv, overrides) != 0) {
		main_usage(2);
		return 2;
	}
	/* A reload asked for while the keys are first being read has nothing
	 * to add; the pool and the worker loop take SIGHUP over after this. */
	signal(SIGHUP, SIG_IGN);
	if (app_init(&app, (const char *const *)overrides, err, sizeof(err)) != 0) {
		dprintf(2, "runs-summary: %s\n", err);
		return 1;
	}
	/* A client gone before its answer must not kill the worker. */
	signal(SIGPIPE, SIG_IGN);
	if (sup_wanted(&app))
		rc = sup_run(&app);
	else if (!loop_is_fastcgi()) {
		if (getenv("REQUEST_METHOD") == NULL && isatty(0)) {
			dprintf(2, "runs-summary: no FastCGI socket on stdin and no CGI "
			    "request in the environment; see --help\n");
			rc = 2;
		} else
			rc = loop_cgi(&app);
	} else
		rc = loop_fastcgi(&app, 0);
	app_free(&app);
	return rc;
}
