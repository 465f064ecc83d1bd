/* auth-bench: what verifying a session token costs, cold and warm.
 *
 *   auth-bench PUBLIC.pem TOKENS [WARM_ITERATIONS]
 *
 * TOKENS holds distinct valid RS256 tokens for PUBLIC.pem, one per line
 * (mint-token --count N). Runs fcgi/auth.c's auth_jwt exactly as a worker
 * does and prints, per verification:
 *   - cold: each token seen for the first time (libjwt, PEM, JSON, claims);
 *   - no cache: one token verified again and again with the cache off;
 *   - warm: one token found in the cache (SHA-256, lookup, time claims);
 * then passes every token through a cache of the default size and prints
 * the cache's fill and the process's resident memory before and after,
 * which must not grow with the number of distinct tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cache.h"
#include "keys.h"

#define BENCH_CACHE_ENTRIES 1024

static double
bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long
bench_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kib;
}

static void
bench_die(const char *what, const char *detail)
{
	fprintf(stderr, "auth-bench: %s%s%s\n", what, detail ? ": " : "",
	    detail ? detail : "");
	exit(1);
}

/* Every line of the file, NUL-terminated, in one buffer. */
static char **
bench_read_tokens(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char **toks = NULL, line[AUTH_TOKEN_MAX + 2];
	size_t cap = 0;

	if (f == NULL)
		bench_die("cannot open", path);
	*n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			if ((toks = realloc(toks, cap * sizeof(*toks))) == NULL)
				bench_die("out of memory", NULL);
		}
		if ((toks[(*n)++] = strdup(line)) == NULL)
			bench_die("out of memory", NULL);
	}
	fclose(f);
	if (*n == 0)
		bench_die("no tokens in", path);
	return toks;
}

static void
bench_check(auth_verifier *v, const char *tok, long long now)
{
	const char *reason = NULL;
	auth_caller c;

	memset(&c, 0, sizeof(c));
	if (auth_jwt(v, tok, strlen(tok), now, &c, &reason) != ST_OK)
		bench_die("a token was refused", reason);
}

/* Microseconds per auth_jwt over n calls, token i % ntok. */
static double
bench_loop(auth_verifier *v, char **toks, size_t ntok, size_t n, long long now)
{
	double t0 = bench_now_us();
	size_t i;

	for (i = 0; i < n; i++)
		bench_check(v, toks[i % ntok], now);
	return (bench_now_us() - t0) / (double)n;
}

int
main(int argc, char **argv)
{
	keys_sources src = { NULL, NULL, NULL };
	auth_verifier v;
	char err[512], **toks;
	size_t ntok, cold_n, warm_n, i;
	long long now = (long long)time(NULL);
	long rss0, rss1;
	double cold, nocache, warm;

	if (argc < 3 || argc > 4)
		bench_die("usage: auth-bench PUBLIC.pem TOKENS [WARM_ITERATIONS]", NULL);
	warm_n = argc == 4 ? strtoul(argv[3], NULL, 10) : 1000000;
	src.pem_file = argv[1];
	memset(&v, 0, sizeof(v));
	v.policy.leeway = 5;
	/* SHA-256 fetched once, as a worker's verifier has it (app.c). */
	if ((v.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		bench_die("OpenSSL has no SHA-256", NULL);
	if (keys_load(&src, &v.keys, NULL, err, sizeof(err)) != 0)
		bench_die(err, NULL);
	toks = bench_read_tokens(argv[2], &ntok);
	cold_n = ntok < 2000 ? ntok : 2000;

	if ((v.cache = cache_new(BENCH_CACHE_ENTRIES, sizeof(auth_claims))) == NULL)
		bench_die("out of memory", NULL);
	cold = bench_loop(&v, toks, cold_n, cold_n, now);
	warm = bench_loop(&v, toks, 1, warm_n ? warm_n : 1, now);
	cache_free(v.cache);
	v.cache = NULL;
	nocache = bench_loop(&v, toks, 1, cold_n, now);

	if ((v.cache = cache_new(BENCH_CACHE_ENTRIES, sizeof(auth_claims))) == NULL)
		bench_die("out of memory", NULL);
	bench_loop(&v, toks, cold_n, cold_n, now);
	rss0 = bench_rss_kib();
	for (i = 0; i < ntok; i++)
		bench_check(&v, toks[i], now);
	rss1 = bench_rss_kib();

	printf("token verification, per call (%zu-byte token):\n", strlen(toks[0]));
	printf("  cold (first sight, %zu distinct tokens)   %9.2f us\n", cold_n, cold);
	printf("  no cache (one token, %zu times)           %9.2f us\n", cold_n, nocache);
	printf("  warm (cache hit, %zu times)           %9.3f us\n", warm_n, warm);
	printf("  cold / warm                                  %9.0fx\n", cold / warm);
	printf("distinct tokens through a %zu-entry cache: %zu\n",
	    cache_capacity(v.cache), ntok);
	printf("  entries held %zu of %zu; RSS %ld KiB after %zu tokens, %ld KiB after %zu\n",
	    cache_count(v.cache), cache_capacity(v.cache), rss0, cold_n, rss1, ntok);
	cache_free(v.cache);
	EVP_MD_free(v.sha256);
	keys_free(&v.keys);
	for (i = 0; i < ntok; i++)
		free(toks[i]);
	free(toks);
	return 0;
}
