/* test_cache.c: the bounded token cache (fcgi/cache.h): a copy of the
 * value under each key, a size fixed when it is made whatever the number
 * of keys, and which entry a full set gives up.
 *
 * The keys of most tests are made, not hashed, so that they land in the
 * set a test wants: a key's set is its first 8 bytes, a little-endian
 * uint64, masked by the number of sets less one. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "cache.h"
#include "unit.h"

#define NOW 1700000000LL
#define WAYS 4
#define SMALL 16		/* entries of the small table: 4 sets */

typedef struct {
	long long id;
	char text[27];		/* an odd size, so that entries need padding */
} value;

static cache_table *tab;	/* the test's table, freed after it */

/* Expiries of a full set, all live at NOW. */
static const long long live[WAYS] = { NOW + 10, NOW + 20, NOW + 30, NOW + 40 };

static void
cache_teardown(void)
{
	cache_free(tab);
	tab = NULL;
}

static cache_table *
new_table(size_t entries, size_t value_size)
{
	cache_free(tab);
	tab = cache_new(entries, value_size);
	ck_assert_ptr_nonnull(tab);
	ck_assert_uint_eq(cache_count(tab), 0);
	return tab;
}

/* The key tag of set `set`: the bits above the set's are the tag's, and
 * so is its last byte. */
static const unsigned char *
key_in(unsigned char key[CACHE_KEY_LEN], unsigned set, unsigned tag)
{
	uint64_t h = (uint64_t)set | (uint64_t)tag << 40;
	size_t i;

	memset(key, 0, CACHE_KEY_LEN);
	for (i = 0; i < 8; i++)
		key[i] = (unsigned char)(h >> (8 * i));
	key[CACHE_KEY_LEN - 1] = (unsigned char)tag;
	return key;
}

static value
value_of(unsigned set, unsigned tag)
{
	value v;

	memset(&v, 0, sizeof(v));
	v.id = (long long)set << 32 | tag;
	snprintf(v.text, sizeof(v.text), "set %u tag %u", set, tag);
	return v;
}

static void
put_value(unsigned set, unsigned tag, const value *v, long long expires,
    long long now)
{
	unsigned char key[CACHE_KEY_LEN];

	cache_put(tab, key_in(key, set, tag), v, expires, now);
}

/* Stores value_of(set, tag) under its key. */
static void
put(unsigned set, unsigned tag, long long expires, long long now)
{
	value v = value_of(set, tag);

	put_value(set, tag, &v, expires, now);
}

static void
remove_key(unsigned set, unsigned tag)
{
	unsigned char key[CACHE_KEY_LEN];

	cache_remove(tab, key_in(key, set, tag));
}

static value *
get(unsigned set, unsigned tag)
{
	unsigned char key[CACHE_KEY_LEN];

	return cache_get(tab, key_in(key, set, tag));
}

/* Whether (set, tag) is there; if it is, with its own value. */
static int
has(unsigned set, unsigned tag)
{
	value want = value_of(set, tag), *v = get(set, tag);

	if (v != NULL)
		ck_assert_msg(memcmp(v, &want, sizeof(want)) == 0,
		    "set %u tag %u holds another value", set, tag);
	return v != NULL;
}

/* Bit t for each tag t < ntags of set that is there. */
static unsigned
present(unsigned set, unsigned ntags)
{
	unsigned tag, bits = 0;

	for (tag = 0; tag < ntags; tag++)
		if (has(set, tag))
			bits |= 1u << tag;
	return bits;
}

/* Tags 0 to 3 of set, put in that order at now to expire at expires[tag]. */
static void
fill_set(unsigned set, const long long expires[WAYS], long long now)
{
	unsigned tag;

	for (tag = 0; tag < WAYS; tag++)
		put(set, tag, expires[tag], now);
	ck_assert_uint_eq(present(set, WAYS), 0xf);
}

/* Puts (set, tag) at now; after it, of the tags up to this one, those in
 * the bits of want are there. */
static void
put_leaves(unsigned set, unsigned tag, long long expires, long long now,
    unsigned want)
{
	unsigned left;

	put(set, tag, expires, now);
	left = present(set, tag + 1);
	ck_assert_msg(left == want, "after tag %u, set %u holds tags 0x%x, want 0x%x",
	    tag, set, left, want);
	ck_assert_uint_le(cache_count(tab), cache_capacity(tab));
}

/* The smallest power of two at least n and 4. */
static size_t
round_up(size_t n)
{
	size_t p = 4;

	while (p < n)
		p <<= 1;
	return p;
}

START_TEST(test_get_after_put_returns_equal_copy)
{
	value v = value_of(1, 7), want = v, *got;

	new_table(SMALL, sizeof(value));
	put_value(1, 7, &v, NOW + 60, NOW);
	memset(&v, 0xff, sizeof(v));	/* the caller's copy is not the table's */
	got = get(1, 7);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_ne(got, &v);
	ck_assert_mem_eq(got, &want, sizeof(want));
	ck_assert_uint_eq(cache_count(tab), 1);
}
END_TEST

START_TEST(test_get_missing_key_is_null)
{
	unsigned char key[CACHE_KEY_LEN];

	new_table(SMALL, sizeof(value));
	ck_assert_ptr_null(get(0, 0));
	put(1, 0, NOW + 60, NOW);
	ck_assert_ptr_null(get(1, 1));		/* same set */
	ck_assert_ptr_null(get(2, 0));		/* same tag */
	key_in(key, 1, 0);
	key[CACHE_KEY_LEN / 2] ^= 1;		/* one bit off, past the set bits */
	ck_assert_ptr_null(cache_get(tab, key));
	ck_assert_int_eq(has(1, 0), 1);
}
END_TEST

START_TEST(test_put_existing_key_overwrites_value_and_keeps_count)
{
	value other = value_of(9, 9);

	new_table(SMALL, sizeof(value));
	put(2, 5, NOW + 60, NOW);
	put(2, 6, NOW + 60, NOW);
	put_value(2, 5, &other, NOW + 120, NOW);
	ck_assert_uint_eq(cache_count(tab), 2);
	ck_assert_ptr_nonnull(get(2, 5));
	ck_assert_mem_eq(get(2, 5), &other, sizeof(other));
	put(2, 5, NOW + 60, NOW);
	ck_assert_uint_eq(cache_count(tab), 2);
	ck_assert_int_eq(has(2, 5), 1);
	ck_assert_int_eq(has(2, 6), 1);
}
END_TEST

START_TEST(test_put_existing_key_renews_its_expiry)
{
	/* tag 0 again, now good for longer */
	static const long long exp[WAYS] = { NOW + 500, NOW + 100, NOW + 200, NOW + 300 };

	new_table(SMALL, sizeof(value));
	put(0, 0, NOW - 1, NOW);		/* expired */
	fill_set(0, exp, NOW);
	ck_assert_uint_eq(cache_count(tab), WAYS);
	put_leaves(0, 4, NOW + 400, NOW, 0x1d);	/* tag 1 went, not tag 0 */
}
END_TEST

START_TEST(test_remove_drops_only_that_key)
{
	new_table(SMALL, sizeof(value));
	put(0, 0, NOW + 60, NOW);
	put(0, 1, NOW + 60, NOW);
	put(1, 0, NOW + 60, NOW);
	remove_key(0, 1);
	ck_assert_uint_eq(cache_count(tab), 2);
	ck_assert_uint_eq(present(0, 2), 0x1);
	ck_assert_int_eq(has(1, 0), 1);
	/* a key not there, or no longer: nothing changes */
	remove_key(0, 1);
	remove_key(3, 7);
	ck_assert_uint_eq(cache_count(tab), 2);
	ck_assert_uint_eq(present(0, 2), 0x1);
}
END_TEST

START_TEST(test_removed_entry_frees_its_way)
{
	new_table(SMALL, sizeof(value));
	fill_set(3, live, NOW);
	remove_key(3, 2);
	ck_assert_uint_eq(cache_count(tab), 3);
	put_leaves(3, 4, NOW + 50, NOW, 0x1b);	/* no live entry given up */
	ck_assert_uint_eq(cache_count(tab), 4);
}
END_TEST

START_TEST(test_clear_empties_the_table)
{
	unsigned set;

	new_table(SMALL, sizeof(value));
	for (set = 0; set < SMALL / WAYS; set++)
		fill_set(set, live, NOW);
	ck_assert_uint_eq(cache_count(tab), SMALL);
	cache_clear(tab);
	ck_assert_uint_eq(cache_count(tab), 0);
	ck_assert_uint_eq(cache_capacity(tab), SMALL);
	for (set = 0; set < SMALL / WAYS; set++)
		ck_assert_uint_eq(present(set, WAYS), 0);
	put(2, 1, NOW + 60, NOW);
	ck_assert_uint_eq(cache_count(tab), 1);
	ck_assert_int_eq(has(2, 1), 1);
}
END_TEST

START_TEST(test_capacity_is_power_of_two_at_least_requested_and_4)
{
	static const size_t asked[] = { 0, 1, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1000,
	    1024, 1025, 4097, 65536 };
	size_t i;

	for (i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
		size_t cap = cache_capacity(new_table(asked[i], sizeof(value)));

		ck_assert_msg(cap == round_up(asked[i]), "cache_new(%zu): capacity %zu, "
		    "want %zu", asked[i], cap, round_up(asked[i]));
	}
}
END_TEST

START_TEST(test_100000_distinct_keys_never_exceed_capacity)
{
	unsigned char key[CACHE_KEY_LEN];
	char text[32];
	value v = value_of(0, 0);
	size_t cap;
	int i, n;

	cap = cache_capacity(new_table(1024, sizeof(value)));
	ck_assert_uint_eq(cap, 1024);
	for (i = 0; i < 100000; i++) {
		n = snprintf(text, sizeof(text), "token-%d", i);
		SHA256((const unsigned char *)text, (size_t)n, key);
		v.id = i;
		/* all live, some expiring sooner than others */
		cache_put(tab, key, &v, NOW + 60 + i % 97, NOW + i % 50);
		/* plain checks: ck_assert marks a point each time it passes */
		if (cache_count(tab) > cap || cache_capacity(tab) != cap)
			ck_abort_msg("after %d keys: count %zu, capacity %zu", i + 1,
			    cache_count(tab), cache_capacity(tab));
		if (cache_get(tab, key) == NULL ||
		    ((value *)cache_get(tab, key))->id != i)
			ck_abort_msg("key %d not there just after its put", i);
	}
	ck_assert_uint_eq(cache_count(tab), cap);
	ck_assert_uint_eq(cache_capacity(tab), cap);
}
END_TEST

START_TEST(test_full_set_gives_up_expired_entry_before_live_one)
{
	/* at NOW + 150, tags 1 and 3 have expired */
	static const long long exp[WAYS] = { NOW + 300, NOW + 120, NOW + 400, NOW + 100 };
	unsigned left;

	new_table(SMALL, sizeof(value));
	fill_set(1, exp, NOW);
	put(1, 4, NOW + 500, NOW + 150);
	left = present(1, 5);
	ck_assert_msg(left == 0x1d || left == 0x17, "left 0x%x", left);
	put_leaves(1, 5, NOW + 600, NOW + 150, 0x35);	/* tags 0, 2, 4, 5 */
	ck_assert_uint_eq(cache_count(tab), WAYS);
}
END_TEST

START_TEST(test_full_set_without_expired_gives_up_earliest_expiry)
{
	static const long long exp[WAYS] = { NOW + 300, NOW + 400, NOW + 100, NOW + 200 };

	new_table(SMALL, sizeof(value));
	fill_set(2, exp, NOW);
	put_leaves(2, 4, NOW + 1000, NOW, 0x1b);	/* tag 2 (NOW + 100) went */
	put_leaves(2, 5, NOW + 1000, NOW, 0x33);	/* then tag 3 (NOW + 200) */
	ck_assert_uint_eq(cache_count(tab), WAYS);
}
END_TEST

START_TEST(test_entry_put_already_expired_is_first_replaced)
{
	/* tag 3: expires == now, expired as it goes in */
	static const long long exp[WAYS] = { NOW + 10, NOW + 20, NOW + 30, NOW };

	new_table(SMALL, sizeof(value));
	fill_set(0, exp, NOW);
	put_leaves(0, 4, NOW + 40, NOW, 0x17);	/* tag 3 went */
	/* long expired, it takes the way of tag 0, the earliest */
	put_leaves(0, 5, NOW - 100, NOW, 0x36);
	put_leaves(0, 6, NOW + 50, NOW, 0x56);	/* and is the next to go */
	ck_assert_uint_eq(cache_count(tab), WAYS);
}
END_TEST

START_TEST(test_full_set_gives_up_its_own_entry_only)
{
	static const long long later[WAYS] = { NOW + 90, NOW + 90, NOW + 90, NOW + 90 };

	new_table(SMALL, sizeof(value));
	fill_set(0, live, NOW);
	fill_set(1, later, NOW);
	put(0, 4, NOW + 100, NOW + 50);		/* set 0 all expired by now */
	put(0, 5, NOW + 100, NOW + 50);
	put(0, 6, NOW + 100, NOW + 50);
	ck_assert_uint_eq(present(1, WAYS), 0xf);
	ck_assert_uint_eq(cache_count(tab), 2 * WAYS);
}
END_TEST

START_TEST(test_value_is_aligned_for_any_type)
{
	static const size_t sizes[] = { 1, 3, 8, 13, sizeof(long double), 27, 33,
	    sizeof(max_align_t), 100 };
	static const unsigned char bytes[128];
	unsigned char key[CACHE_KEY_LEN];
	size_t i;
	unsigned set, tag;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		new_table(SMALL, sizes[i]);
		for (set = 0; set < SMALL / WAYS; set++)
			for (tag = 0; tag < WAYS; tag++)
				cache_put(tab, key_in(key, set, tag), bytes, NOW + 60, NOW);
		for (set = 0; set < SMALL / WAYS; set++)
			for (tag = 0; tag < WAYS; tag++) {
				void *v = cache_get(tab, key_in(key, set, tag));

				ck_assert_ptr_nonnull(v);
				ck_assert_msg((uintptr_t)v % _Alignof(max_align_t) == 0,
				    "value of %zu bytes at %p", sizes[i], v);
				if (sizes[i] >= sizeof(long double))
					*(long double *)v = 1.5L;	/* UBSan checks */
			}
	}
}
END_TEST

Suite *
cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *m = tcase_create("map");
	TCase *e = tcase_create("eviction");

	tcase_add_checked_fixture(m, NULL, cache_teardown);
	tcase_add_test(m, test_get_after_put_returns_equal_copy);
	tcase_add_test(m, test_get_missing_key_is_null);
	tcase_add_test(m, test_put_existing_key_overwrites_value_and_keeps_count);
	tcase_add_test(m, test_put_existing_key_renews_its_expiry);
	tcase_add_test(m, test_remove_drops_only_that_key);
	tcase_add_test(m, test_removed_entry_frees_its_way);
	tcase_add_test(m, test_clear_empties_the_table);
	tcase_add_test(m, test_capacity_is_power_of_two_at_least_requested_and_4);
	tcase_add_test(m, test_value_is_aligned_for_any_type);
	suite_add_tcase(s, m);

	tcase_add_checked_fixture(e, NULL, cache_teardown);
	tcase_set_timeout(e, 30);
	tcase_add_test(e, test_100000_distinct_keys_never_exceed_capacity);
	tcase_add_test(e, test_full_set_gives_up_expired_entry_before_live_one);
	tcase_add_test(e, test_full_set_without_expired_gives_up_earliest_expiry);
	tcase_add_test(e, test_entry_put_already_expired_is_first_replaced);
	tcase_add_test(e, test_full_set_gives_up_its_own_entry_only);
	suite_add_tcase(s, e);
	return s;
}
