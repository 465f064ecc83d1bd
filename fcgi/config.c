/* config.c: the settings table. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum cfg_kind { CFG_TEXT, CFG_LONG, CFG_LIST };

struct cfg_setting {
	const char *env;
	enum cfg_kind kind;
	const char *def;	/* text default, or NULL */
	long min, max;
	size_t off;		/* field in cfg_config */
	const char *help;
	size_t items, count;	/* lists: where the split items go */
};

#define CFG_AT(f) offsetof(cfg_config, f)

static const struct cfg_setting cfg_table[] = {
	{ "RUNS_SUMMARY_CONFIG", CFG_TEXT, NULL, 0, 0, CFG_AT(config_file),
	  "a file of NAME=value lines that win over the environment; read "
	  "again on SIGHUP (or --config)", 0, 0 },
	{ "DATABASE_URL", CFG_TEXT, NULL, 0, 0, CFG_AT(database_url),
	  "libpq connection string or URI (unset: libpq's PG* defaults)", 0, 0 },
	{ "CLERK_JWT_KEY", CFG_TEXT, NULL, 0, 0, CFG_AT(jwt_key),
	  "the PEM public key that verifies session tokens", 0, 0 },
	{ "CLERK_JWT_KEY_FILE", CFG_TEXT, NULL, 0, 0, CFG_AT(jwt_key_file),
	  "path to that PEM public key", 0, 0 },
	{ "CLERK_JWKS_FILE", CFG_TEXT, NULL, 0, 0, CFG_AT(jwks_file),
	  "path to a JWKS document ({\"keys\":[...]}, RSA keys chosen by kid)", 0, 0 },
	{ "CLERK_ISSUER", CFG_LIST, NULL, 0, 0, CFG_AT(issuer_buf),
	  "comma-separated allowed iss values (unset: any)",
	  CFG_AT(issuers), CFG_AT(nissuers) },
	{ "CLERK_AUTHORIZED_PARTIES", CFG_LIST, NULL, 0, 0, CFG_AT(party_buf),
	  "comma-separated allowed azp values (unset: any, azp optional)",
	  CFG_AT(parties), CFG_AT(nparties) },
	{ "JWT_LEEWAY_SECONDS", CFG_LONG, "5", 0, 300, CFG_AT(leeway),
	  "clock skew allowed on exp, nbf, iat", 0, 0 },
	{ "DB_CONNECT_TIMEOUT_SECONDS", CFG_LONG, "2", 1, 60, CFG_AT(connect_timeout),
	  "libpq connect_timeout per connection attempt", 0, 0 },
	{ "DB_STATEMENT_TIMEOUT_MS", CFG_LONG, "3000", 10, 60000,
	  CFG_AT(statement_timeout_ms),
	  "longest a request waits for the query before answering 503", 0, 0 },
	{ "REQUEST_TIMEOUT_SECONDS", CFG_LONG, "10", 1, 3600, CFG_AT(request_timeout),
	  "longest a request may take to arrive whole from its first byte, "
	  "and a kept-open connection may stay idle; then it is closed", 0, 0 },
	{ "DB_MAX_CONNECTION_AGE_SECONDS", CFG_LONG, "0", 0, 86400, CFG_AT(max_connection_age),
	  "reopen a database connection this old before its next request, so "
	  "DATABASE_URL's hosts are chosen afresh (0: keep it while it works)", 0, 0 },
	{ "DB_TRANSACTION_POOLING", CFG_LONG, "0", 0, 1, CFG_AT(transaction_pooling),
	  "1: the database is reached through a transaction pooler such as "
	  "PgBouncer: no named prepared statement, no startup options (put "
	  "statement_timeout on the role)", 0, 0 },
	{ "DB_ROLLUPS", CFG_TEXT, "auto", 0, 0, CFG_AT(rollups),
	  "auto: sum from the rollups of scripts/rollups.sql where a new "
	  "connection finds them; on: always (they must be there); off: "
	  "always scan the runs", 0, 0 },
	{ "TOKEN_CACHE_ENTRIES", CFG_LONG, "1024", 0, 65536, CFG_AT(token_cache_entries),
	  "verified session tokens each worker keeps (0: verify every time)", 0, 0 },
	{ "FCGI_LISTEN", CFG_TEXT, NULL, 0, 0, CFG_AT(listen),
	  "unix:PATH or HOST:PORT: be a pre-forked pool on it (or --listen)", 0, 0 },
	{ "FCGI_WORKERS", CFG_LONG, "0", 0, 256, CFG_AT(workers),
	  "workers in that pool (or --workers; 0: two per CPU)", 0, 0 },
	{ "FCGI_SOCKET_MODE", CFG_TEXT, "0660", 0, 0, CFG_AT(socket_mode),
	  "permissions of its unix socket, in octal", 0, 0 },
	{ "FCGI_SOCKET_OWNER", CFG_TEXT, NULL, 0, 0, CFG_AT(socket_owner),
	  "USER[:GROUP] to own its unix socket (unset: the process's)", 0, 0 },
	{ "FCGI_MAX_REQUESTS", CFG_LONG, "0", 0, 1000000000, CFG_AT(max_requests),
	  "requests a worker serves before it is replaced (0: no limit)", 0, 0 },
	{ "LOG_LEVEL", CFG_TEXT, "info", 0, 0, CFG_AT(log_level),
	  "request lines logged: info (all), warn (4xx, 5xx), error (5xx)", 0, 0 },
	{ "SHUTDOWN_GRACE_SECONDS", CFG_LONG, "10", 1, 3600, CFG_AT(grace_seconds),
	  "on SIGTERM, how long requests in flight may take before SIGKILL", 0, 0 },
};

#define CFG_N (sizeof(cfg_table) / sizeof(cfg_table[0]))

int
cfg_parse_long(const char *s, long min, long max, long *v)
{
	char *end;
	long x;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

int
cfg_split_list(char *buf, const char **items, size_t max)
{
	size_t n = 0;
	char *save = NULL, *tok;

	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *end;

		tok += strspn(tok, " \t");
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok == '\0')
			continue;
		if (n == max)
			return -1;
		items[n++] = tok;
	}
	return (int)n;
}

/* A list that is set must name something: " , " would otherwise turn
 * the check it configures off. */
static int
cfg_list(char *buf, const char *env, const char **items, size_t *n,
    char *err, size_t errlen)
{
	int k;

	if (buf == NULL)
		return 0;
	k = cfg_split_list(buf, items, CFG_LIST_MAX);
	if (k < 0) {
		snprintf(err, errlen, "%s takes at most %d values", env, CFG_LIST_MAX);
		return -1;
	}
	if (k == 0) {
		snprintf(err, errlen, "%s is set but names no value", env);
		return -1;
	}
	*n = (size_t)k;
	return 0;
}

static const struct cfg_setting *
cfg_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < CFG_N; i++)
		if (strlen(cfg_table[i].env) == len && memcmp(cfg_table[i].env, name, len) == 0)
			return &cfg_table[i];
	return NULL;
}

/* The settings file, as systemd's EnvironmentFile writes it: NAME=value
 * lines, blank lines and # comments skipped, a value optionally in
 * quotes. A name that is not a setting is refused: it is a typo. */
static int
cfg_read_file(cfg_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line, *next;
	size_t n, lineno = 0;

	if (f == NULL) {
		snprintf(err, errlen, "RUNS_SUMMARY_CONFIG %s: %s", path, strerror(errno));
		return -1;
	}
	if ((c->file_buf = malloc(CFG_FILE_MAX + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(c->file_buf, 1, CFG_FILE_MAX + 1, f);
	if (ferror(f) || n > CFG_FILE_MAX) {
		fclose(f);
		snprintf(err, errlen, "RUNS_SUMMARY_CONFIG %s: %s", path,
		    n > CFG_FILE_MAX ? "larger than 64 KiB" : "read error");
		return -1;
	}
	fclose(f);
	c->file_buf[n] = '\0';
	for (line = c->file_buf; line != NULL; line = next) {
		const struct cfg_setting *set;
		char *eq, *end, *v;

		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line += strspn(line, " \t");
		end = line + strlen(line);
		while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		eq = strchr(line, '=');
		set = eq ? cfg_find(line, (size_t)(eq - line)) : NULL;
		if (set == NULL || set == &cfg_table[0]) {
			snprintf(err, errlen, "RUNS_SUMMARY_CONFIG %s line %zu: %s", path, lineno,
			    eq == NULL ? "not NAME=value" : "not a setting (see --help)");
			return -1;
		}
		if (c->nfile == CFG_FILE_ENTRIES) {
			snprintf(err, errlen, "RUNS_SUMMARY_CONFIG %s: too many lines", path);
			return -1;
		}
		*eq = '\0';
		v = eq + 1;
		end = v + strlen(v);
		if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v) {
			end[-1] = '\0';
			v++;
		}
		c->file_names[c->nfile] = line;
		c->file_values[c->nfile++] = v;
	}
	return 0;
}

/* A setting's value: the command line's, else the file's (its last line
 * wins), else the environment's. */
static const char *
cfg_get(const cfg_config *c, const char *const *overrides, const char *name)
{
	size_t i = c->nfile, n = strlen(name);

	for (; overrides != NULL && *overrides != NULL; overrides++)
		if (strncmp(*overrides, name, n) == 0 && (*overrides)[n] == '=')
			return *overrides + n + 1;
	while (i-- > 0)
		if (strcmp(c->file_names[i], name) == 0)
			return c->file_values[i];
	return getenv(name);
}

int
cfg_load(cfg_config *c, const char *const *overrides, char *err, size_t errlen)
{
	const char *file;
	size_t i;

	memset(c, 0, sizeof(*c));
	file = cfg_get(c, overrides, "RUNS_SUMMARY_CONFIG");
	if (file != NULL && file[0] != '\0' && cfg_read_file(c, file, err, errlen) != 0)
		return -1;
	for (i = 0; i < CFG_N; i++) {
		const struct cfg_setting *s = &cfg_table[i];
		const char *v = cfg_get(c, overrides, s->env);
		char *field = (char *)c + s->off;

		/* Empty counts as unset, but for a list: CLERK_ISSUER= from an
		 * unset shell variable must not silently switch the check off. */
		if (v != NULL && v[0] == '\0' && s->kind != CFG_LIST)
			v = NULL;
		if (v == NULL)
			v = s->def;
		switch (s->kind) {
		case CFG_TEXT:
			memcpy(field, &v, sizeof(v));
			break;
		case CFG_LONG:
			if (cfg_parse_long(v, s->min, s->max, (long *)(void *)field) != 0) {
				snprintf(err, errlen, "%s must be a whole number from %ld to %ld",
				    s->env, s->min, s->max);
				return -1;
			}
			break;
		case CFG_LIST: {
			char *copy = v ? strdup(v) : NULL;

			if (v != NULL && copy == NULL) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			memcpy(field, &copy, sizeof(copy));
			if (cfg_list(copy, s->env, (const char **)(void *)((char *)c + s->items),
			    (size_t *)(void *)((char *)c + s->count), err, errlen) != 0)
				return -1;
			break;
		}
		}
	}
	return 0;
}

void
cfg_free(cfg_config *c)
{
	free(c->issuer_buf);
	free(c->party_buf);
	free(c->file_buf);
	c->issuer_buf = c->party_buf = c->file_buf = NULL;
	c->nfile = 0;
}

void
cfg_usage(int fd)
{
	size_t i;

	for (i = 0; i < CFG_N; i++) {
		const struct cfg_setting *s = &cfg_table[i];

		char range[48] = "";

		if (s->kind == CFG_LONG)
			snprintf(range, sizeof(range), " (%ld-%ld)", s->min, s->max);
		dprintf(fd, "  %-28s %s%s%s%s%s\n", s->env, s->help, range,
		    s->def ? " [default " : "", s->def ? s->def : "", s->def ? "]" : "");
	}
}
