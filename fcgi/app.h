/* app.h: the one per-process context, and its life.
 *
 * Everything a worker keeps between requests lives here: the settings,
 * the token verifier (keys, policy, cache of verified tokens) and the
 * database connection. app_init builds it at start-up from the
 * environment, the settings file and the key files; app_reload builds it
 * again from them between requests (on SIGHUP) and puts the new one in
 * force, or keeps the old one whole when the new one does not load. */
#ifndef RS_APP_H
#define RS_APP_H

#include <stddef.h>

#include "auth.h"
#include "config.h"
#include "db.h"

typedef struct {
	cfg_config cfg;
	auth_verifier auth;
	db_conn *db;
	int log_min_status;	/* request lines below this status are not logged */
	const char *const *overrides;	/* the command line's settings */
} app_ctx;

/* 0, or -1 with a message for the operator in err (nothing to free).
 * overrides: as cfg_load's, kept for every reload. */
int app_init(app_ctx *a, const char *const *overrides, char *err, size_t errlen);
/* 0 with new settings, keys, an empty token cache and a database
 * connection to be opened; -1 with why in err, *a untouched. */
int app_reload(app_ctx *a, char *err, size_t errlen);
void app_free(app_ctx *a);

#endif
