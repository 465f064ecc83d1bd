/* keys.h: the public key that Clerk session tokens are verified with.
 *
 * One PEM, from CLERK_JWT_KEY (the key itself; "\n" written as two
 * characters is read as a newline, as .env files often carry it) or from
 * the file CLERK_JWT_KEY_FILE. Checked with OpenSSL at start-up to be an
 * RSA public key, so a bad key stops the program before any request. */
#ifndef RS_KEYS_H
#define RS_KEYS_H

#include <stddef.h>

typedef struct {
	unsigned char *pem;	/* NUL-terminated */
	size_t pem_len;
} keys_set;

/* 0 on success; -1 with a message for the operator in err. */
int keys_load(const char *pem_value, const char *pem_file, keys_set *k,
    char *err, size_t errlen);
void keys_free(keys_set *k);

#endif
