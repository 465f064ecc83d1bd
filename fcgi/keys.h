/* keys.h: the public keys that Clerk session tokens are verified with.
 *
 * Two sources, either or both:
 *  - one PEM, from CLERK_JWT_KEY (the key itself; "\n" written as two
 *    characters is read as a newline, as .env files often carry it) or
 *    from the file CLERK_JWT_KEY_FILE;
 *  - a JWKS document, CLERK_JWKS_FILE, as Clerk publishes it at
 *    /.well-known/jwks.json: its RSA signing keys, each chosen by kid.
 * Every key is checked with OpenSSL when it is loaded (an RSA public key
 * of 2048 to 8192 bits, odd modulus, odd exponent from 3 to 32 bits), so
 * a bad key stops the program at start-up or
 * is refused at a reload, never met by a request. Loading builds a new
 * set and touches nothing else, so a failed reload keeps the old one. */
#ifndef RS_KEYS_H
#define RS_KEYS_H

#include <stddef.h>

#define KEYS_KID_MAX 256
#define KEYS_SET_MAX 64
#define KEYS_RSA_MIN_BITS 2048
#define KEYS_RSA_MAX_BITS 8192

typedef struct {
	char *kid;		/* NULL for the single PEM */
	unsigned char *pem;	/* NUL-terminated, as libjwt takes it */
	size_t pem_len;
} keys_key;

typedef struct {
	keys_key single;	/* pem is NULL when no PEM is configured */
	keys_key *set;		/* the JWKS keys, NULL when none */
	size_t nset;
} keys_set;

typedef struct {
	const char *pem_value;	/* CLERK_JWT_KEY */
	const char *pem_file;	/* CLERK_JWT_KEY_FILE */
	const char *jwks_file;	/* CLERK_JWKS_FILE */
} keys_sources;

/* Told about each JWKS entry that is skipped (not an RSA signing key);
 * kid may be NULL. */
typedef void (*keys_skip_fn)(const char *kid, const char *why);

/* Reads every configured source into a new set. 0 on success; -1 with a
 * message for the operator (naming the variable, the file and the
 * problem) in err, and *k left empty. */
int keys_load(const keys_sources *src, keys_set *k, keys_skip_fn skip,
    char *err, size_t errlen);

/* Parses a JWKS document into k->set; no file I/O. 0 or -1 with err. */
int keys_parse_jwks(const char *json, size_t len, keys_set *k,
    keys_skip_fn skip, char *err, size_t errlen);

/* The key for a token whose header has this kid (NULL: none), by the
 * rule of SPEC.md: a kid in the set picks that key; otherwise the single
 * PEM, if there is one. NULL with a reason when no key applies. */
const keys_key *keys_pick(const keys_set *k, const char *kid, size_t kid_len,
    const char **reason);

void keys_free(keys_set *k);

#endif
