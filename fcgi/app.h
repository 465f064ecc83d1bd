/* app.h: the one per-process context, and its life.
 *
 * Everything a worker keeps between requests lives here: the settings,
 * the token verifier (keys, policy, cache of verified tokens) and the
 * database connection. app_init builds it once at start-up from the
 * environment; app_reload_keys replaces the keys between requests (on
 * SIGHUP), or keeps the old ones when the new ones do not load. */
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
} app_ctx;

/* 0, or -1 with a message for the operator in err (nothing to free). */
int app_init(app_ctx *a, char *err, size_t errlen);
/* 0 with the new keys in force and the token cache emptied; -1 with
 * why in err, the old keys and cache untouched. */
int app_reload_keys(app_ctx *a, char *err, size_t errlen);
void app_free(app_ctx *a);

#endif
