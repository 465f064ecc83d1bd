/* fuzz.h: what the libFuzzer harnesses share.
 *
 *  - FUZZ_CHECK: a property that must hold; a violation aborts, so
 *    libFuzzer reports it as a crash and keeps the input.
 *  - fuzz_fields: the input cut at its NUL bytes into C strings, each in
 *    its own allocation of exactly its size, so that AddressSanitizer sees
 *    a read past any one of them (one shared buffer would hide it).
 *  - fuzz_cgi: the CGI parameter set of the route and handler harnesses,
 *    read through request.h's getter as libfcgi's params are.
 *  - fuzz_b64url: the encoder the harnesses build tokens with.
 *
 * Everything is static: each harness is one translation unit of its own. */
#ifndef RS_FUZZ_H
#define RS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c) do { \
	if (!(c)) { \
		fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, \
		    __LINE__, #c); \
		abort(); \
	} \
} while (0)

#define FUZZ_MAX_FIELDS 16

typedef struct {
	char *f[FUZZ_MAX_FIELDS];
	size_t len[FUZZ_MAX_FIELDS];
	size_t n;
} fuzz_fields;

/* The NUL-separated fields of d[0..n), at most FUZZ_MAX_FIELDS (bytes
 * past the last one are ignored); no bytes at all are one empty field. */
static inline void
fuzz_split(const uint8_t *d, size_t n, fuzz_fields *out)
{
	size_t i = 0;

	out->n = 0;
	do {
		const uint8_t *nul = i < n ? memchr(d + i, '\0', n - i) : NULL;
		size_t len = nul ? (size_t)(nul - (d + i)) : n - i;

		out->f[out->n] = malloc(len + 1);
		FUZZ_CHECK(out->f[out->n] != NULL);
		memcpy(out->f[out->n], d + i, len);
		out->f[out->n][len] = '\0';
		out->len[out->n++] = len;
		i += len + 1;
	} while (i <= n && out->n < FUZZ_MAX_FIELDS);
}

static inline void
fuzz_fields_free(fuzz_fields *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->f[i]);
	f->n = 0;
}

/* The params a web server hands us that request.c reads, in the order of
 * the input's fields. */
static const char *const fuzz_cgi_names[] = {
	"REQUEST_METHOD", "DOCUMENT_URI", "SCRIPT_NAME", "PATH_INFO",
	"REQUEST_URI", "QUERY_STRING", "HTTP_AUTHORIZATION",
	"HTTP_X_WORKSPACE_ID", "HTTP_X_REQUEST_ID",
};
#define FUZZ_CGI_COUNT (sizeof(fuzz_cgi_names) / sizeof(fuzz_cgi_names[0]))

typedef struct {
	const char *value[FUZZ_CGI_COUNT];	/* NULL: the param is absent */
	fuzz_fields fields;
} fuzz_cgi;

/* Input: two bytes of "absent" bits (bit i: param i is not sent, even if
 * the input has its field), then the values, NUL-separated, in the order
 * of fuzz_cgi_names; a param past the input's last field is absent too.
 * Returns 0, or -1 for an input shorter than its two bytes. */
static inline int
fuzz_cgi_read(const uint8_t *d, size_t n, fuzz_cgi *c)
{
	unsigned absent;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (n < 2)
		return -1;
	absent = (unsigned)d[0] | (unsigned)d[1] << 8;
	fuzz_split(d + 2, n - 2, &c->fields);
	for (i = 0; i < FUZZ_CGI_COUNT && i < c->fields.n; i++)
		if (!(absent & 1u << i))
			c->value[i] = c->fields.f[i];
	return 0;
}

/* A req_getter over a fuzz_cgi. */
static inline const char *
fuzz_cgi_get(void *ctx, const char *name)
{
	const fuzz_cgi *c = ctx;
	size_t i;

	for (i = 0; i < FUZZ_CGI_COUNT; i++)
		if (strcmp(fuzz_cgi_names[i], name) == 0)
			return c->value[i];
	return NULL;
}

static inline void
fuzz_cgi_free(fuzz_cgi *c)
{
	fuzz_fields_free(&c->fields);
}

/* base64url without padding of in[0..n) into out (room for
 * 4 * (n + 2) / 3 + 1 bytes), NUL-terminated; returns its length. An
 * encoder of our own, not OpenSSL's, so that the decoder under test is
 * checked against something it does not share. */
static inline size_t
fuzz_b64url(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0;

	for (i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = abc[acc >> bits & 63];
		}
		acc &= (1UL << bits) - 1;
	}
	if (bits > 0)
		out[o++] = abc[acc << (6 - bits) & 63];
	out[o] = '\0';
	return o;
}

#endif
