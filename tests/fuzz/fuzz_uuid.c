/* fuzz_uuid: vd_parse_uuid on raw bytes (the path's workflow id and the
 * X-Workspace-Id header), exactly the input's length with no NUL after
 * it, so that any read past n is an ASan report.
 *
 * Properties: it accepts exactly what SPEC.md says (36 characters 8-4-4-4-12
 * or 32 hex digits, any case), checked against a plain reading of that
 * rule; an accepted UUID renders canonical (lower case, hyphenated), and
 * both the canonical and the 32-digit form parse back to the same bytes. */
#include <ctype.h>

#include "fuzz.h"
#include "validate.h"

/* The rule of SPEC.md, written the obvious way. */
static int
ref_uuid_ok(const char *s, size_t n)
{
	size_t i;

	if (n != 32 && n != 36)
		return 0;
	for (i = 0; i < n; i++) {
		int dash = n == 36 && (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char canon[37], bare[33], want[33];
	vd_uuid u, again;
	size_t i, o = 0;
	int ok = vd_parse_uuid(s, size, &u) == 0;

	FUZZ_CHECK(ok == ref_uuid_ok(s, size));
	if (!ok)
		return 0;
	vd_format_uuid(&u, canon);
	FUZZ_CHECK(strlen(canon) == 36 && ref_uuid_ok(canon, 36));
	for (i = 0; i < 36; i++)
		FUZZ_CHECK(!isupper((unsigned char)canon[i]));
	FUZZ_CHECK(vd_parse_uuid(canon, 36, &again) == 0);
	FUZZ_CHECK(memcmp(u.b, again.b, sizeof(u.b)) == 0);
	/* The input's hex digits, lower-cased, are the canonical form's. */
	for (i = 0; i < size; i++)
		if (s[i] != '-')
			want[o++] = (char)tolower((unsigned char)s[i]);
	for (i = 0, o = 0; i < 36; i++)
		if (canon[i] != '-')
			bare[o++] = canon[i];
	FUZZ_CHECK(o == 32 && memcmp(bare, want, 32) == 0);
	FUZZ_CHECK(vd_parse_uuid(bare, 32, &again) == 0);
	FUZZ_CHECK(memcmp(u.b, again.b, sizeof(u.b)) == 0);
	return 0;
}
