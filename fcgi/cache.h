/* cache.h: a bounded map from a 32-byte digest to a fixed-size value.
 *
 * The worker keeps the tokens that passed every check here, keyed by the
 * SHA-256 of the whole token, so that a token reused for many requests is
 * verified once. Its size is fixed when it is made: memory does not grow
 * with the number of distinct keys. It is 4-way set associative; a full
 * set gives up the entry that expires first, so an expired entry always
 * goes before a live one. Pure: no I/O; the clock comes in from the
 * caller. */
#ifndef RS_CACHE_H
#define RS_CACHE_H

#include <stddef.h>

#define CACHE_KEY_LEN 32

typedef struct cache_table cache_table;

/* At least `entries` entries (rounded up to a power of two, at least 4)
 * of value_size bytes each; NULL when out of memory. */
cache_table *cache_new(size_t entries, size_t value_size);
void cache_free(cache_table *c);

/* The value stored under key, or NULL. */
void *cache_get(cache_table *c, const unsigned char key[CACHE_KEY_LEN]);
/* Stores a copy of value under key until `expires` (the caller's clock). */
void cache_put(cache_table *c, const unsigned char key[CACHE_KEY_LEN],
    const void *value, long long expires, long long now);
void cache_remove(cache_table *c, const unsigned char key[CACHE_KEY_LEN]);
void cache_clear(cache_table *c);

size_t cache_count(const cache_table *c);
size_t cache_capacity(const cache_table *c);

#endif
