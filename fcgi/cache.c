/* cache.c: the fixed-size, set-associative digest cache. */
#include "cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_WAYS 4

struct cache_entry {
	unsigned char key[CACHE_KEY_LEN];
	long long expires;
	int used;
	/* value_size bytes follow, aligned for any type */
	max_align_t value[];
};

struct cache_table {
	unsigned char *slots;
	size_t entry_size, value_size, nsets, count;
};

static struct cache_entry *
cache_at(const cache_table *c, size_t i)
{
	return (struct cache_entry *)(void *)(c->slots + i * c->entry_size);
}

/* The first entry of key's set. The key is a cryptographic digest, so
 * any of its bits index the sets evenly. */
static size_t
cache_set_of(const cache_table *c, const unsigned char key[CACHE_KEY_LEN])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)(h & (c->nsets - 1)) * CACHE_WAYS;
}

cache_table *
cache_new(size_t entries, size_t value_size)
{
	cache_table *c = calloc(1, sizeof(*c));
	size_t align = sizeof(max_align_t), nsets = 1;

	if (c == NULL)
		return NULL;
	while (nsets * CACHE_WAYS < entries && nsets < ((size_t)1 << 24))
		nsets <<= 1;
	c->nsets = nsets;
	c->value_size = value_size;
	c->entry_size = (sizeof(struct cache_entry) + value_size + align - 1) / align * align;
	if ((c->slots = calloc(nsets * CACHE_WAYS, c->entry_size)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
cache_free(cache_table *c)
{
	if (c == NULL)
		return;
	free(c->slots);
	free(c);
}

static struct cache_entry *
cache_find(const cache_table *c, const unsigned char key[CACHE_KEY_LEN])
{
	size_t i, first = cache_set_of(c, key);

	for (i = first; i < first + CACHE_WAYS; i++) {
		struct cache_entry *e = cache_at(c, i);

		if (e->used && memcmp(e->key, key, CACHE_KEY_LEN) == 0)
			return e;
	}
	return NULL;
}

void *
cache_get(cache_table *c, const unsigned char key[CACHE_KEY_LEN])
{
	struct cache_entry *e = cache_find(c, key);

	return e ? e->value : NULL;
}

void
cache_put(cache_table *c, const unsigned char key[CACHE_KEY_LEN],
    const void *value, long long expires, long long now)
{
	struct cache_entry *e = cache_find(c, key), *victim = NULL;
	size_t i, first = cache_set_of(c, key);

	for (i = first; e == NULL && i < first + CACHE_WAYS; i++) {
		struct cache_entry *x = cache_at(c, i);

		if (!x->used || x->expires <= now) {
			victim = x;
			break;
		}
		if (victim == NULL || x->expires < victim->expires)
			victim = x;
	}
	if (e == NULL) {
		e = victim;
		if (!e->used)
			c->count++;
	}
	memcpy(e->key, key, CACHE_KEY_LEN);
	e->expires = expires;
	e->used = 1;
	memcpy(e->value, value, c->value_size);
}

void
cache_remove(cache_table *c, const unsigned char key[CACHE_KEY_LEN])
{
	struct cache_entry *e = cache_find(c, key);

	if (e != NULL) {
		e->used = 0;
		c->count--;
	}
}

void
cache_clear(cache_table *c)
{
	memset(c->slots, 0, c->nsets * CACHE_WAYS * c->entry_size);
	c->count = 0;
}

size_t
cache_count(const cache_table *c)
{
	return c->count;
}

size_t
cache_capacity(const cache_table *c)
{
	return c->nsets * CACHE_WAYS;
}
