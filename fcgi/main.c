/* main.c: arguments, configuration, and which mode to run in. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "handler.h"
#include "log.h"
#include "loop.h"

#ifndef RS_VERSION
#define RS_VERSION "0.0.0"
#endif

static void
main_usage(int fd)
{
	dprintf(fd,
	    "usage: runs-summary [--help | --version]\n"
	    "\n"
	    "Answers GET /api/v1/workflows/{workflow_id}/runs/summary?from=&to=\n"
	    "as a FastCGI worker when file descriptor 0 is a listening socket\n"
	    "(spawn-fcgi -F 4 -s /run/runs-summary.sock -- runs-summary), or as\n"
	    "CGI for the one request in its environment otherwise.\n"
	    "\n"
	    "Settings (environment variables):\n");
	cfg_usage(fd);
	dprintf(fd, "\nAt least one key source is required: CLERK_JWT_KEY or "
	    "CLERK_JWT_KEY_FILE, and/or\nCLERK_JWKS_FILE. SIGHUP makes every worker "
	    "read its keys again between requests.\n");
}

int
main(int argc, char **argv)
{
	static app_ctx app;
	char err[512];
	int rc;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			main_usage(1);
			return 0;
		}
		if (strcmp(argv[1], "--version") == 0) {
			dprintf(1, "runs-summary %s\n", RS_VERSION);
			return 0;
		}
		dprintf(2, "runs-summary: unknown argument '%s'\n", argv[1]);
		main_usage(2);
		return 2;
	}
	/* A reload asked for while the keys are first being read has nothing
	 * to add; the FastCGI loop installs its own handler. */
	signal(SIGHUP, SIG_IGN);
	if (app_init(&app, err, sizeof(err)) != 0) {
		dprintf(2, "runs-summary: %s\n", err);
		return 1;
	}
	/* A client gone before its answer must not kill the worker. */
	signal(SIGPIPE, SIG_IGN);
	if (FCGX_IsCGI()) {
		if (getenv("REQUEST_METHOD") == NULL && isatty(0)) {
			dprintf(2, "runs-summary: no FastCGI socket on stdin and no CGI "
			    "request in the environment; see --help\n");
			rc = 2;
		} else
			rc = loop_cgi(&app);
	} else
		rc = loop_fastcgi(&app);
	app_free(&app);
	return rc;
}
