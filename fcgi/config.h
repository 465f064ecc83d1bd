/* config.h: every setting, from the environment or a settings file.
 *
 * One table in config.c names each setting, its variable, default and
 * bounds; --help prints that same table. Values are read at start-up,
 * before the first request (a request's params are never the process's
 * environment); and again on a reload, when the file named by
 * RUNS_SUMMARY_CONFIG (whose values win over the environment's) may
 * have changed. */
#ifndef RS_CONFIG_H
#define RS_CONFIG_H

#include <stddef.h>

#define CFG_LIST_MAX 16
#define CFG_FILE_MAX (64 * 1024)
#define CFG_FILE_ENTRIES 64

typedef struct {
	const char *config_file;	/* RUNS_SUMMARY_CONFIG, or NULL */
	const char *database_url;	/* NULL: libpq's PG* defaults */
	const char *jwt_key;
	const char *jwt_key_file;
	const char *jwks_file;
	long leeway;
	long connect_timeout;
	long statement_timeout_ms;
	long request_timeout;		/* seconds */
	long transaction_pooling;	/* 1: behind PgBouncer's transaction mode */
	long max_connection_age;	/* seconds; 0: no limit */
	const char *rollups;		/* auto, on or off */
	long token_cache_entries;
	const char *listen;		/* NULL: not a pool of our own */
	long workers;			/* 0: two per CPU */
	const char *socket_mode;
	const char *socket_owner;
	long max_requests;		/* 0: no limit */
	long grace_seconds;
	const char *log_level;
	/* the settings file's lines, owned */
	char *file_buf;
	const char *file_names[CFG_FILE_ENTRIES], *file_values[CFG_FILE_ENTRIES];
	size_t nfile;
	/* comma-separated lists split into owned copies */
	char *issuer_buf, *party_buf;
	const char *issuers[CFG_LIST_MAX];
	size_t nissuers;
	const char *parties[CFG_LIST_MAX];
	size_t nparties;
} cfg_config;

/* 0, or -1 with a message for the operator in err. overrides: NULL, or
 * "NAME=value" strings (the command line's), ending with NULL, that win
 * over the settings file and the environment. */
int cfg_load(cfg_config *c, const char *const *overrides, char *err, size_t errlen);
void cfg_free(cfg_config *c);
/* The settings table, for --help. */
void cfg_usage(int fd);

/* Bounded decimal: the whole string, min <= v <= max. 0 or -1. */
int cfg_parse_long(const char *s, long min, long max, long *v);
/* Splits "a, b,c" into trimmed non-empty items; the buffer is modified.
 * Returns the count, or -1 for more than max items. */
int cfg_split_list(char *buf, const char **items, size_t max);

#endif
