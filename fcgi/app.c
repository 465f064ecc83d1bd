/* app.c: building, reloading and freeing the per-process context. */
#include "app.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

static void
app_log_skipped(const char *kid, const char *why)
{
	char safe[KEYS_KID_MAX + 1];

	log_line("event=jwks_key_skipped kid=\"%s\" reason=\"%s\"",
	    kid ? log_safe(kid, safe, sizeof(safe)) : "", why);
}

static int
app_load_keys(const cfg_config *c, keys_set *k, char *err, size_t errlen)
{
	keys_sources src = { c->jwt_key, c->jwt_key_file, c->jwks_file };

	return keys_load(&src, k, app_log_skipped, err, errlen);
}

/* The policy's lists live in the settings: pointed at again whenever
 * the context moves. */
static void
app_wire(app_ctx *a)
{
	auth_policy *p = &a->auth.policy;

	p->issuers = a->cfg.issuers;
	p->nissuers = a->cfg.nissuers;
	p->parties = a->cfg.parties;
	p->nparties = a->cfg.nparties;
	p->leeway = a->cfg.leeway;
}

int
app_init(app_ctx *a, const char *const *overrides, char *err, size_t errlen)
{
	db_rollups rollups;

	memset(a, 0, sizeof(*a));
	a->overrides = overrides;
	if (cfg_load(&a->cfg, overrides, err, errlen) != 0)
		goto fail;
	if (strcmp(a->cfg.log_level, "info") == 0)
		a->log_min_status = 0;
	else if (strcmp(a->cfg.log_level, "warn") == 0)
		a->log_min_status = 400;
	else if (strcmp(a->cfg.log_level, "error") == 0)
		a->log_min_status = 500;
	else {
		snprintf(err, errlen, "LOG_LEVEL must be info, warn or error");
		goto fail;
	}
	if (strcmp(a->cfg.rollups, "auto") == 0)
		rollups = DB_ROLLUPS_AUTO;
	else if (strcmp(a->cfg.rollups, "on") == 0)
		rollups = DB_ROLLUPS_ON;
	else if (strcmp(a->cfg.rollups, "off") == 0)
		rollups = DB_ROLLUPS_OFF;
	else {
		snprintf(err, errlen, "DB_ROLLUPS must be auto, on or off");
		goto fail;
	}
	if (app_load_keys(&a->cfg, &a->auth.keys, err, errlen) != 0)
		goto fail;
	app_wire(a);
	if (a->cfg.token_cache_entries > 0 && (a->auth.cache =
	    cache_new((size_t)a->cfg.token_cache_entries, sizeof(auth_claims))) == NULL) {
		snprintf(err, errlen, "out of memory for TOKEN_CACHE_ENTRIES=%ld",
		    a->cfg.token_cache_entries);
		goto fail;
	}
	if ((a->auth.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
		snprintf(err, errlen, "OpenSSL has no SHA-256");
		goto fail;
	}
	a->db = db_new(a->cfg.database_url, (int)a->cfg.connect_timeout,
	    (int)a->cfg.statement_timeout_ms, a->cfg.transaction_pooling != 0, err, errlen);
	if (a->db == NULL)
		goto fail;
	db_set_max_age(a->db, (int)a->cfg.max_connection_age);
	db_set_rollups(a->db, rollups);
	return 0;
fail:
	app_free(a);
	return -1;
}

int
app_reload(app_ctx *a, char *err, size_t errlen)
{
	app_ctx fresh;

	/* Everything is built anew from the same sources (the environment,
	 * the settings file, the key files); the old context goes only once
	 * the new one is whole. The database connection is opened again, to
	 * the DATABASE_URL now in force, by the next request. */
	if (app_init(&fresh, a->overrides, err, errlen) != 0)
		return -1;
	app_free(a);
	*a = fresh;
	app_wire(a);
	return 0;
}

void
app_free(app_ctx *a)
{
	db_free(a->db);
	cache_free(a->auth.cache);
	EVP_MD_free(a->auth.sha256);
	keys_free(&a->auth.keys);
	cfg_free(&a->cfg);
	memset(a, 0, sizeof(*a));
}
