/* fuzz_jwks: keys_parse_jwks on the raw bytes of a JWKS document (the
 * file an operator points CLERK_JWKS_FILE at, as fetched from Clerk), with
 * no NUL after it, so that a read past its length is an ASan report.
 *
 * Properties: a refusal says why; an accepted set holds 1 to KEYS_SET_MAX
 * keys, each with a distinct kid of 1 to KEYS_KID_MAX bytes (no NUL) that
 * keys_pick finds again, and the PEM text libjwt will read; entries not
 * taken were each reported skipped (or the set is refused). Everything
 * is freed by keys_free, whichever way it ended (LeakSanitizer checks). */
#include <json.h>

#include "fuzz.h"
#include "keys.h"

/* How many entries the accepted document's "keys" array has. */
static size_t
entries(const uint8_t *data, size_t size)
{
	json_tokener *tk = json_tokener_new();
	json_object *doc, *keys;
	size_t n;

	FUZZ_CHECK(tk != NULL);
	doc = json_tokener_parse_ex(tk, (const char *)data, (int)size);
	FUZZ_CHECK(doc != NULL && json_object_object_get_ex(doc, "keys", &keys));
	n = json_object_array_length(keys);
	json_object_put(doc);
	json_tokener_free(tk);
	return n;
}

static size_t skipped;

static void
count_skip(const char *kid, const char *why)
{
	FUZZ_CHECK(why != NULL);
	(void)kid;
	skipped++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----\n";
	keys_set k;
	char err[256] = "";
	const char *reason;
	size_t i, j;

	memset(&k, 0, sizeof(k));
	skipped = 0;
	if (keys_parse_jwks((const char *)data, size, &k, count_skip, err,
	    sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		keys_free(&k);
		return 0;
	}
	FUZZ_CHECK(k.nset >= 1 && k.nset <= KEYS_SET_MAX && k.single.pem == NULL);
	FUZZ_CHECK(k.nset + skipped == entries(data, size));
	for (i = 0; i < k.nset; i++) {
		const keys_key *key = &k.set[i];
		size_t kl = strlen(key->kid);

		FUZZ_CHECK(kl >= 1 && kl <= KEYS_KID_MAX);
		FUZZ_CHECK(key->pem_len == strlen((const char *)key->pem));
		FUZZ_CHECK(strncmp((const char *)key->pem, begin, sizeof(begin) - 1) == 0);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(k.set[j].kid, key->kid) != 0);
		FUZZ_CHECK(keys_pick(&k, key->kid, kl, &reason) == key);
	}
	/* A kid that is in no set finds nothing: there is no single PEM here. */
	reason = NULL;
	if (keys_pick(&k, "\x01", 1, &reason) == NULL)
		FUZZ_CHECK(reason != NULL);
	keys_free(&k);
	return 0;
}
