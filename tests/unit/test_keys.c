/* test_keys.c: the keys that session tokens are verified with
 * (fcgi/keys.h): the JWKS document and what of it is taken, skipped or
 * refused, the choice of a key by kid (SPEC.md "Authentication"), and
 * keys_load's messages naming the variable and the file. The RSA keys are
 * made here, once per case. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keys.h"
#include "unit.h"

/* The members Clerk writes in each of its JWKs. */
#define CLERK_MEMBERS "\"use\":\"sig\",\"alg\":\"RS256\","
#define KID(k) "\"kid\":\"" k "\","

/* Made once per case, before its tests fork. */
static EVP_PKEY *rsa_a, *rsa_b;	/* 2048 bits */
static EVP_PKEY *rsa_short;	/* 1024 bits */
static EVP_PKEY *ec;		/* P-256 */
static char *n_a, *e_a, *n_b, *e_b, *n_short, *e_short;	/* base64url */
static char *pem_a, *pem_b, *pem_short, *pem_ec;	/* public PEMs */

/* What a test loaded, and the strings it made: freed after it. */
static keys_set ks;
static char err[512];
static char **scratch;
static size_t nscratch, scratch_cap;

/* The calls to the skip callback of the last load. */
static struct {
	int has_kid;
	char kid[KEYS_KID_MAX + 1];
	char why[128];
} skipped[KEYS_SET_MAX + 1];
static size_t nskipped;

/* ---- fixture ------------------------------------------------------- */

/* base64url of n bytes, without padding; caller frees. */
static char *
b64url(const unsigned char *in, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	int len, i, o = 0;

	ck_assert_ptr_nonnull(out);
	len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	for (i = 0; i < len && out[i] != '='; i++)
		out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	out[o] = '\0';
	return out;
}

/* The RSA parameter name (OSSL_PKEY_PARAM_RSA_N or _E) of pk as a JWK
 * writes it; caller frees. */
static char *
rsa_param(EVP_PKEY *pk, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char *bin;
	char *s;
	int n;

	ck_assert_int_eq(EVP_PKEY_get_bn_param(pk, name, &bn), 1);
	n = BN_num_bytes(bn);
	bin = malloc((size_t)n);
	ck_assert_ptr_nonnull(bin);
	ck_assert_int_eq(BN_bn2bin(bn, bin), n);
	s = b64url(bin, (size_t)n);
	free(bin);
	BN_free(bn);
	return s;
}

/* The public PEM of pk; caller frees. */
static char *
public_pem(EVP_PKEY *pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	ck_assert_ptr_nonnull(bio);
	ck_assert_int_eq(PEM_write_bio_PUBKEY(bio, pk), 1);
	n = BIO_get_mem_data(bio, &data);
	ck_assert_int_gt(n, 0);
	pem = strndup(data, (size_t)n);
	ck_assert_ptr_nonnull(pem);
	BIO_free(bio);
	return pem;
}

static EVP_PKEY *
rsa_key(unsigned int bits, char **n, char **e, char **pem)
{
	EVP_PKEY *pk = EVP_RSA_gen(bits);

	ck_assert_ptr_nonnull(pk);
	*n = rsa_param(pk, OSSL_PKEY_PARAM_RSA_N);
	*e = rsa_param(pk, OSSL_PKEY_PARAM_RSA_E);
	*pem = public_pem(pk);
	return pk;
}

static void
keys_setup(void)
{
	rsa_a = rsa_key(2048, &n_a, &e_a, &pem_a);
	rsa_b = rsa_key(2048, &n_b, &e_b, &pem_b);
	rsa_short = rsa_key(1024, &n_short, &e_short, &pem_short);
	ec = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(ec);
	pem_ec = public_pem(ec);
}

static void
keys_teardown(void)
{
	char **strs[] = { &n_a, &e_a, &n_b, &e_b, &n_short, &e_short, &pem_a,
	    &pem_b, &pem_short, &pem_ec };
	size_t i;

	EVP_PKEY_free(rsa_a);
	EVP_PKEY_free(rsa_b);
	EVP_PKEY_free(rsa_short);
	EVP_PKEY_free(ec);
	rsa_a = rsa_b = rsa_short = ec = NULL;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

/* After each test, in its own process. */
static void
scratch_teardown(void)
{
	keys_free(&ks);
	while (nscratch > 0)
		free(scratch[--nscratch]);
	free(scratch);
	scratch = NULL;
	scratch_cap = 0;
}

/* ---- building documents -------------------------------------------- */

/* printf into a new string, freed after the test. */
static char *
fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vasprintf(&s, f, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	if (nscratch == scratch_cap) {
		scratch_cap = scratch_cap ? 2 * scratch_cap : 64;
		scratch = realloc(scratch, scratch_cap * sizeof(*scratch));
		ck_assert_ptr_nonnull(scratch);
	}
	return scratch[nscratch++] = s;
}

/* An RSA JWK: members (each followed by a comma), then n and e, each left
 * out when NULL. */
static const char *
rsa_jwk(const char *members, const char *n, const char *e)
{
	return fmt("{%s%s%s\"kty\":\"RSA\"}", members,
	    n ? fmt("\"n\":\"%s\",", n) : "", e ? fmt("\"e\":\"%s\",", e) : "");
}

/* {"keys":[...]} of the JWKs given, up to a NULL. */
static const char *
jwks(const char *first, ...)
{
	const char *jwk;
	char *doc = fmt("{\"keys\":[%s", first ? first : "");
	va_list ap;

	va_start(ap, first);
	while (first != NULL && (jwk = va_arg(ap, const char *)) != NULL)
		doc = fmt("%s,%s", doc, jwk);
	va_end(ap);
	return fmt("%s]}", doc);
}

/* kid-a (rsa_a, as Clerk writes it) and kid-b (rsa_b, n and e only). */
static const char *
two_keys(void)
{
	return jwks(rsa_jwk(KID("kid-a") CLERK_MEMBERS, n_a, e_a),
	    rsa_jwk(KID("kid-b"), n_b, e_b), NULL);
}

/* A kid of n bytes. */
static const char *
long_kid(size_t n)
{
	char *kid = fmt("%*s", (int)n, "");

	memset(kid, 'k', n);
	return kid;
}

/* b64 with its '=' padding. */
static const char *
padded(const char *b64)
{
	size_t pad = (4 - strlen(b64) % 4) % 4;

	return fmt("%s%.*s", b64, (int)pad, "==");
}

/* ---- loading ------------------------------------------------------- */

static void
record_skip(const char *kid, const char *why)
{
	ck_assert_uint_lt(nskipped, sizeof(skipped) / sizeof(skipped[0]));
	ck_assert_ptr_nonnull(why);
	skipped[nskipped].has_kid = kid != NULL;
	snprintf(skipped[nskipped].kid, sizeof(skipped[0].kid), "%s", kid ? kid : "");
	snprintf(skipped[nskipped].why, sizeof(skipped[0].why), "%s", why);
	nskipped++;
}

static void
set_is_empty(const keys_set *k)
{
	ck_assert_ptr_null(k->single.pem);
	ck_assert_ptr_null(k->set);
	ck_assert_uint_eq(k->nset, 0);
}

/* ks emptied, ready for a load. */
static void
fresh(void)
{
	keys_free(&ks);
	set_is_empty(&ks);
	nskipped = 0;
	err[0] = '\0';
}

/* keys_parse_jwks of json into ks. */
static int
parse(const char *json)
{
	int rc;

	fresh();
	rc = keys_parse_jwks(json, strlen(json), &ks, record_skip, err, sizeof(err));
	if (rc != 0)
		ck_assert_msg(err[0] != '\0', "-1 without a message");
	return rc;
}

static void
parse_ok(const char *json)
{
	ck_assert_msg(parse(json) == 0, "refused: %s", err);
}

/* json is refused with a message containing why. */
static void
refused(const char *json, const char *why)
{
	ck_assert_msg(parse(json) == -1, "accepted %.200s", json);
	ck_assert_msg(strstr(err, why) != NULL, "message \"%s\", want \"%s\"", err, why);
}

/* A new file under /tmp holding text, its name in path. */
static void
temp_file(char path[64], const char *text)
{
	size_t n = strlen(text);
	int fd;

	snprintf(path, 64, "/tmp/rs-keys-test-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	ck_assert_int_eq(close(fd), 0);
}

/* The name of a file that is not there. */
static void
missing_file(char path[64])
{
	temp_file(path, "");
	ck_assert_int_eq(unlink(path), 0);
}

/* A failed load says why and leaves the set empty. */
static int
load_result(int rc)
{
	if (rc != 0) {
		ck_assert_msg(err[0] != '\0', "-1 without a message");
		set_is_empty(&ks);
	}
	return rc;
}

/* keys_load into ks from CLERK_JWT_KEY, CLERK_JWT_KEY_FILE and
 * CLERK_JWKS_FILE (NULL: unset), all checked after, so no file stays. */
static int
load_raw(const char *value, const char *pem_file, const char *jwks_file)
{
	keys_sources src = { value, pem_file, jwks_file };

	fresh();
	return keys_load(&src, &ks, record_skip, err, sizeof(err));
}

static int
load_paths(const char *value, const char *pem_file, const char *jwks_file)
{
	return load_result(load_raw(value, pem_file, jwks_file));
}

static char pem_path[64], jwks_path[64];

/* keys_load with pem_text and jwks_text (NULL: unset) in files, removed
 * before anything is checked; their names stay in pem_path and jwks_path. */
static int
load(const char *value, const char *pem_text, const char *jwks_text)
{
	int rc;

	if (pem_text != NULL)
		temp_file(pem_path, pem_text);
	if (jwks_text != NULL)
		temp_file(jwks_path, jwks_text);
	rc = load_raw(value, pem_text ? pem_path : NULL, jwks_text ? jwks_path : NULL);
	if (pem_text != NULL)
		unlink(pem_path);
	if (jwks_text != NULL)
		unlink(jwks_path);
	return load_result(rc);
}

static void
load_ok(const char *value, const char *pem_text, const char *jwks_text)
{
	ck_assert_msg(load(value, pem_text, jwks_text) == 0, "refused: %s", err);
}

/* The message begins "<var> <path>: " (path NULL: "<var>: "). */
static void
err_names(const char *var, const char *path)
{
	const char *want = path ? fmt("%s %s: ", var, path) : fmt("%s: ", var);

	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "message \"%s\" does not begin \"%s\"", err, want);
	ck_assert_uint_gt(strlen(err), strlen(want));
}

static void
err_has(const char *what)
{
	ck_assert_msg(strstr(err, what) != NULL, "message \"%s\" lacks \"%s\"", err, what);
}

/* pem is refused, for why, both in CLERK_JWT_KEY_FILE and in
 * CLERK_JWT_KEY, by a message naming the one it was in. */
static void
pem_refused(const char *pem, const char *why)
{
	ck_assert_int_eq(load(NULL, pem, NULL), -1);
	err_names("CLERK_JWT_KEY_FILE", pem_path);
	err_has(why);
	ck_assert_int_eq(load(pem, NULL, NULL), -1);
	err_names("CLERK_JWT_KEY", NULL);
	err_has(why);
}

/* ---- checking ------------------------------------------------------ */

/* The key's PEM is exactly pk's public key. */
static void
pem_is(const keys_key *key, EVP_PKEY *pk)
{
	BIO *bio;
	EVP_PKEY *got;

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(key->pem);
	ck_assert_uint_eq(strlen((const char *)key->pem), key->pem_len);
	bio = BIO_new_mem_buf(key->pem, (int)key->pem_len);
	ck_assert_ptr_nonnull(bio);
	got = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(EVP_PKEY_eq(got, pk), 1);
	ck_assert_int_ne(EVP_PKEY_eq(got, pk == rsa_a ? rsa_b : rsa_a), 1);
	EVP_PKEY_free(got);
}

/* The entry of ks's set with this kid. */
static const keys_key *
set_key(const char *kid)
{
	size_t i;

	for (i = 0; i < ks.nset; i++)
		if (strcmp(ks.set[i].kid, kid) == 0)
			return &ks.set[i];
	ck_abort_msg("no kid \"%s\" in the set", kid);
	return NULL;
}

/* keys_pick of kid_len bytes of kid (NULL: a token without kid). */
static const keys_key *
pick_n(const char *kid, size_t kid_len)
{
	const char *reason = NULL;
	const keys_key *key = keys_pick(&ks, kid, kid_len, &reason);

	if (key == NULL)
		ck_assert_msg(reason != NULL && reason[0] != '\0', "NULL without a reason");
	return key;
}

static const keys_key *
pick(const char *kid)
{
	return pick_n(kid, kid ? strlen(kid) : 0);
}

/* Call i of the skip callback was for kid (NULL: none), for a reason
 * containing why. */
static void
skipped_is(size_t i, const char *kid, const char *why)
{
	ck_assert_uint_lt(i, nskipped);
	ck_assert_int_eq(skipped[i].has_kid, kid != NULL);
	if (kid != NULL)
		ck_assert_str_eq(skipped[i].kid, kid);
	ck_assert_msg(strstr(skipped[i].why, why) != NULL, "skipped for \"%s\", want \"%s\"",
	    skipped[i].why, why);
}

/* ks holds rsa_a under kid-a, alone. */
static void
only_kid_a(void)
{
	ck_assert_uint_eq(ks.nset, 1);
	ck_assert_str_eq(ks.set[0].kid, "kid-a");
	pem_is(&ks.set[0], rsa_a);
}

/* ---- keys_pick ----------------------------------------------------- */

START_TEST(test_jwks_two_rsa_keys_each_picked_by_kid)
{
	parse_ok(two_keys());
	ck_assert_uint_eq(ks.nset, 2);
	ck_assert_ptr_null(ks.single.pem);
	ck_assert_uint_eq(nskipped, 0);
	ck_assert_ptr_eq(pick("kid-a"), set_key("kid-a"));
	ck_assert_ptr_eq(pick("kid-b"), set_key("kid-b"));
	pem_is(pick("kid-a"), rsa_a);
	pem_is(pick("kid-b"), rsa_b);
}
END_TEST

START_TEST(test_jwks_unknown_kid_picks_nothing_without_pem)
{
	parse_ok(two_keys());
	ck_assert_ptr_null(pick("kid-c"));
	ck_assert_ptr_null(pick("KID-A"));
	ck_assert_ptr_null(pick(""));
}
END_TEST

START_TEST(test_jwks_no_kid_picks_nothing_without_pem)
{
	parse_ok(two_keys());
	ck_assert_ptr_null(pick(NULL));
}
END_TEST

START_TEST(test_pick_compares_the_whole_kid_of_its_length)
{
	parse_ok(two_keys());
	/* the token's kid is kid_len bytes of a longer buffer */
	ck_assert_ptr_eq(pick_n("kid-a\"}", 5), set_key("kid-a"));
	ck_assert_ptr_null(pick_n("kid-a", 4));
	ck_assert_ptr_null(pick("kid-ab"));
}
END_TEST

START_TEST(test_pem_and_jwks_kid_in_set_picks_set_key)
{
	load_ok(pem_b, NULL, jwks(rsa_jwk(KID("kid-a"), n_a, e_a), NULL));
	pem_is(&ks.single, rsa_b);
	ck_assert_ptr_eq(pick("kid-a"), &ks.set[0]);
	pem_is(pick("kid-a"), rsa_a);
}
END_TEST

START_TEST(test_pem_and_jwks_kid_absent_or_unknown_picks_pem)
{
	load_ok(pem_b, NULL, jwks(rsa_jwk(KID("kid-a"), n_a, e_a), NULL));
	ck_assert_ptr_eq(pick(NULL), &ks.single);
	ck_assert_ptr_eq(pick("kid-x"), &ks.single);
	ck_assert_ptr_eq(pick(""), &ks.single);
	pem_is(pick("kid-x"), rsa_b);
}
END_TEST

START_TEST(test_pem_only_any_kid_or_none_picks_pem)
{
	load_ok(pem_a, NULL, NULL);
	ck_assert_uint_eq(ks.nset, 0);
	ck_assert_ptr_eq(pick(NULL), &ks.single);
	ck_assert_ptr_eq(pick("kid-a"), &ks.single);
	ck_assert_ptr_eq(pick("ins_2abc"), &ks.single);
	ck_assert_ptr_null(ks.single.kid);
	pem_is(pick(NULL), rsa_a);
}
END_TEST

/* ---- keys_parse_jwks: what is taken and what skipped --------------- */

START_TEST(test_jwks_non_rsa_keys_skipped_and_reported)
{
	parse_ok(jwks(
	    "{\"kty\":\"EC\",\"kid\":\"ec-1\",\"use\":\"sig\",\"crv\":\"P-256\","
	    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}",
	    rsa_jwk(KID("kid-a") CLERK_MEMBERS, n_a, e_a),
	    "{\"kty\":\"oct\",\"kid\":\"oct-1\",\"k\":\"c2VjcmV0\"}",
	    "{\"kty\":\"OKP\",\"kid\":\"okp-1\",\"crv\":\"Ed25519\","
	    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}", NULL));
	ck_assert_uint_eq(nskipped, 3);
	skipped_is(0, "ec-1", "kty");
	skipped_is(1, "oct-1", "kty");
	skipped_is(2, "okp-1", "kty");
	only_kid_a();
}
END_TEST

START_TEST(test_jwks_entry_without_kty_or_kid_skipped_with_null_kid)
{
	parse_ok(jwks("{}", "{\"kty\":\"rsa\"}", rsa_jwk(KID("kid-a"), n_a, e_a), NULL));
	ck_assert_uint_eq(nskipped, 2);
	skipped_is(0, NULL, "kty");
	skipped_is(1, NULL, "kty");
	only_kid_a();
}
END_TEST

START_TEST(test_jwks_rsa_key_for_encryption_skipped)
{
	parse_ok(jwks(rsa_jwk(KID("enc-1") "\"use\":\"enc\",", n_b, e_b),
	    rsa_jwk(KID("kid-a") CLERK_MEMBERS, n_a, e_a), NULL));
	ck_assert_uint_eq(nskipped, 1);
	skipped_is(0, "enc-1", "use");
	only_kid_a();
}
END_TEST

START_TEST(test_jwks_rsa_key_for_rs384_skipped)
{
	parse_ok(jwks(rsa_jwk(KID("rs384") "\"alg\":\"RS384\",", n_b, e_b),
	    rsa_jwk(KID("ps256") "\"alg\":\"PS256\",", n_b, e_b),
	    rsa_jwk(KID("kid-a") CLERK_MEMBERS, n_a, e_a), NULL));
	ck_assert_uint_eq(nskipped, 2);
	skipped_is(0, "rs384", "alg");
	skipped_is(1, "ps256", "alg");
	only_kid_a();
}
END_TEST

START_TEST(test_jwks_padding_in_n_and_e_tolerated)
{
	ck_assert_uint_ne(strlen(n_a) % 4, 0);	/* so that there is some */
	/* e with a leading zero byte: 00 01 00 01 is "AAEAAQ==" */
	parse_ok(jwks(rsa_jwk(KID("kid-a"), padded(n_a), "AAEAAQ=="), NULL));
	only_kid_a();
}
END_TEST

START_TEST(test_jwks_pem_is_the_jwk_key)
{
	parse_ok(two_keys());
	pem_is(set_key("kid-a"), rsa_a);
	pem_is(set_key("kid-b"), rsa_b);
	ck_assert_mem_eq(set_key("kid-a")->pem, "-----BEGIN PUBLIC KEY-----\n", 27);
}
END_TEST

START_TEST(test_jwks_kid_of_256_bytes_accepted)
{
	const char *kid = long_kid(KEYS_KID_MAX);

	parse_ok(jwks(rsa_jwk(fmt("\"kid\":\"%s\",", kid), n_a, e_a), NULL));
	ck_assert_ptr_eq(pick(kid), &ks.set[0]);
}
END_TEST

START_TEST(test_jwks_of_64_keys_accepted)
{
	const char *doc = fmt("{\"keys\":[%s", rsa_jwk(KID("k0"), n_a, e_a));
	int i;

	for (i = 1; i < KEYS_SET_MAX; i++)
		doc = fmt("%s,%s", doc, rsa_jwk(fmt("\"kid\":\"k%d\",", i), n_a, e_a));
	parse_ok(fmt("%s]}", doc));
	ck_assert_uint_eq(ks.nset, KEYS_SET_MAX);
	pem_is(pick("k63"), rsa_a);
}
END_TEST

START_TEST(test_jwks_trailing_newline_accepted)
{
	parse_ok(fmt("%s\n", two_keys()));
	parse_ok(fmt("\n  %s \r\n\t\n", two_keys()));
}
END_TEST

/* ---- keys_parse_jwks: documents refused ---------------------------- */

START_TEST(test_jwks_not_json_refused)
{
	refused("", "not a JSON document");
	refused("not json", "not a JSON document");
	refused("{\"keys\":[", "not a JSON document");
	refused(fmt("%.100s", two_keys()), "not a JSON document");
}
END_TEST

START_TEST(test_jwks_text_after_document_refused)
{
	refused(fmt("%s x", two_keys()), "text after the document");
	refused(fmt("%s{}", two_keys()), "text after the document");
	refused(fmt("%s,", two_keys()), "text after the document");
}
END_TEST

START_TEST(test_jwks_nul_inside_document_refused)
{
	const char *doc = two_keys();
	char *copy = fmt("%s  ", doc);
	size_t n = strlen(copy);

	copy[n - 2] = '\0';
	fresh();
	ck_assert_int_eq(keys_parse_jwks(copy, n, &ks, record_skip, err, sizeof(err)), -1);
	ck_assert_str_ne(err, "");
}
END_TEST

START_TEST(test_jwks_top_level_array_refused)
{
	refused(fmt("[%s]", rsa_jwk(KID("kid-a"), n_a, e_a)), "not a JWKS");
	refused("[]", "not a JWKS");
	refused("\"keys\"", "not a JWKS");
}
END_TEST

START_TEST(test_jwks_missing_keys_refused)
{
	refused("{}", "not a JWKS");
	refused(fmt("{\"key\":[%s]}", rsa_jwk(KID("kid-a"), n_a, e_a)), "not a JWKS");
	refused(rsa_jwk(KID("kid-a"), n_a, e_a), "not a JWKS");
}
END_TEST

START_TEST(test_jwks_keys_not_array_refused)
{
	refused("{\"keys\":null}", "not a JWKS");
	refused("{\"keys\":{}}", "not a JWKS");
	refused("{\"keys\":\"kid-a\"}", "not a JWKS");
	refused(fmt("{\"keys\":%s}", rsa_jwk(KID("kid-a"), n_a, e_a)), "not a JWKS");
}
END_TEST

START_TEST(test_jwks_entry_not_object_refused)
{
	static const char *const bad[] = { "null", "1", "\"kid-b\"", "[]", "true" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(jwks(rsa_jwk(KID("kid-a"), n_a, e_a), bad[i], NULL),
		    "keys[1] is not an object");
}
END_TEST

START_TEST(test_jwks_rsa_key_without_kid_refused)
{
	refused(jwks(rsa_jwk("", n_a, e_a), NULL), "needs a kid");
	refused(jwks(rsa_jwk("\"kid\":null,", n_a, e_a), NULL), "needs a kid");
	refused(jwks(rsa_jwk("\"kid\":7,", n_a, e_a), NULL), "needs a kid");
}
END_TEST

START_TEST(test_jwks_rsa_key_with_empty_kid_refused)
{
	refused(jwks(rsa_jwk(KID(""), n_a, e_a), NULL), "needs a kid");
}
END_TEST

START_TEST(test_jwks_rsa_key_with_nul_in_kid_refused)
{
	refused(jwks(rsa_jwk(KID("kid-a\\u0000x"), n_a, e_a), NULL), "needs a kid");
}
END_TEST

START_TEST(test_jwks_kid_longer_than_256_bytes_refused)
{
	refused(jwks(rsa_jwk(fmt("\"kid\":\"%s\",", long_kid(KEYS_KID_MAX + 1)), n_a,
	    e_a), NULL), "needs a kid");
}
END_TEST

START_TEST(test_jwks_duplicate_kid_refused)
{
	refused(jwks(rsa_jwk(KID("kid-a"), n_a, e_a), rsa_jwk(KID("kid-a"), n_b, e_b),
	    NULL), "appears twice");
	refused(jwks(rsa_jwk(KID("kid-a"), n_a, e_a), rsa_jwk(KID("kid-a"), n_a, e_a),
	    NULL), "appears twice");
}
END_TEST

START_TEST(test_jwks_missing_n_or_e_refused)
{
	refused(jwks(rsa_jwk(KID("kid-a"), NULL, e_a), NULL), "not a valid base64url");
	refused(jwks(rsa_jwk(KID("kid-a"), n_a, NULL), NULL), "not a valid base64url");
	refused(jwks(rsa_jwk(KID("kid-a"), NULL, NULL), NULL), "not a valid base64url");
	refused(jwks(rsa_jwk(KID("kid-a"), "", e_a), NULL), "not a valid base64url");
	refused(jwks(rsa_jwk(KID("kid-a") "\"n\":12345,", NULL, e_a), NULL),
	    "not a valid base64url");
}
END_TEST

START_TEST(test_jwks_n_not_base64url_refused)
{
	char *plus = fmt("%s", n_a), *space = fmt("%s", n_a);

	plus[10] = '+';		/* base64, not base64url */
	space[10] = ' ';
	refused(jwks(rsa_jwk(KID("kid-a"), plus, e_a), NULL), "not a valid base64url");
	refused(jwks(rsa_jwk(KID("kid-a"), space, e_a), NULL), "not a valid base64url");
	refused(jwks(rsa_jwk(KID("kid-a"), fmt("%sA", padded(n_a)), e_a), NULL),
	    "not a valid base64url");
	refused(jwks(rsa_jwk(KID("kid-a"), "=", e_a), NULL), "not a valid base64url");
	refused(jwks(rsa_jwk(KID("kid-a"), n_a, "AQ!B"), NULL), "not a valid base64url");
}
END_TEST

START_TEST(test_jwks_rsa_key_under_2048_bits_refused)
{
	refused(jwks(rsa_jwk(KID("short"), n_short, e_short), NULL), "2048 bits");
	/* one key too short spoils the set: it is a mistake, not a skip */
	refused(jwks(rsa_jwk(KID("kid-a"), n_a, e_a), rsa_jwk(KID("short"), n_short,
	    e_short), NULL), "2048 bits");
}
END_TEST

START_TEST(test_jwks_rsa_exponent_1_or_even_refused)
{
	/* e = 1: the "signature" of any message is its own padded hash */
	refused(jwks(rsa_jwk(KID("e1"), n_a, "AQ"), NULL), "not a valid RSA public key");
	refused(jwks(rsa_jwk(KID("e2"), n_a, "Ag"), NULL), "not a valid RSA public key");
	refused(jwks(rsa_jwk(KID("e0"), n_a, "AA"), NULL), "RSA");
}
END_TEST

START_TEST(test_jwks_rsa_exponent_over_32_bits_refused)
{
	/* 2^32 + 1: valid for OpenSSL, but each verification gets dearer */
	refused(jwks(rsa_jwk(KID("big-e"), n_a, "AQAAAAE"), NULL),
	    "exponent larger than 32 bits");
}
END_TEST

START_TEST(test_jwks_rsa_modulus_over_8192_bits_refused)
{
	char n[1389];

	memset(n, '_', sizeof(n) - 1);	/* 8328 one bits */
	n[sizeof(n) - 1] = '\0';
	refused(jwks(rsa_jwk(KID("big-n"), n, e_a), NULL), "longer than 8192 bits");
}
END_TEST

START_TEST(test_jwks_more_than_64_keys_refused)
{
	const char *doc = fmt("{\"keys\":[%s", rsa_jwk(KID("k0"), n_a, e_a));
	int i;

	for (i = 1; i <= KEYS_SET_MAX; i++)
		doc = fmt("%s,{\"kty\":\"oct\",\"kid\":\"o%d\",\"k\":\"c2VjcmV0\"}", doc, i);
	refused(fmt("%s]}", doc), "more than 64 keys");
}
END_TEST

START_TEST(test_jwks_without_usable_rsa_key_refused)
{
	refused("{\"keys\":[]}", "no RSA signing key");
	refused(jwks("{\"kty\":\"EC\",\"kid\":\"ec-1\",\"crv\":\"P-256\","
	    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}", NULL),
	    "no RSA signing key");
	skipped_is(0, "ec-1", "kty");
	refused(jwks(rsa_jwk(KID("enc-1") "\"use\":\"enc\",", n_a, e_a), NULL),
	    "no RSA signing key");
}
END_TEST

/* ---- keys_load ----------------------------------------------------- */

START_TEST(test_load_pem_file_loads_single_key)
{
	load_ok(NULL, pem_a, NULL);
	pem_is(&ks.single, rsa_a);
}
END_TEST

START_TEST(test_load_pem_value_reads_backslash_n_as_newline)
{
	char *escaped = fmt("%*s", (int)(2 * strlen(pem_a)), ""), *o = escaped;
	const char *p;

	for (p = pem_a; *p != '\0'; p++)
		if (*p == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else
			*o++ = *p;
	*o = '\0';
	ck_assert_ptr_null(strchr(escaped, '\n'));
	load_ok(escaped, NULL, NULL);
	pem_is(&ks.single, rsa_a);
}
END_TEST

START_TEST(test_load_jwks_file_loads_set)
{
	load_ok(NULL, NULL, two_keys());
	ck_assert_ptr_null(ks.single.pem);
	ck_assert_uint_eq(ks.nset, 2);
	pem_is(pick("kid-b"), rsa_b);
}
END_TEST

START_TEST(test_load_missing_jwks_file_names_variable_and_path)
{
	char path[64];

	missing_file(path);
	ck_assert_int_eq(load_paths(NULL, NULL, path), -1);
	err_names("CLERK_JWKS_FILE", path);
	ck_assert_int_eq(load_paths(pem_a, NULL, path), -1);
	err_names("CLERK_JWKS_FILE", path);
}
END_TEST

START_TEST(test_load_missing_pem_file_names_variable_and_path)
{
	char path[64];

	missing_file(path);
	ck_assert_int_eq(load_paths(NULL, path, NULL), -1);
	err_names("CLERK_JWT_KEY_FILE", path);
}
END_TEST

START_TEST(test_load_bad_jwks_file_names_variable_and_path)
{
	ck_assert_int_eq(load(NULL, NULL, "{\"keys\":"), -1);
	err_names("CLERK_JWKS_FILE", jwks_path);
	err_has("not a JSON document");
	ck_assert_int_eq(load(NULL, NULL, jwks(rsa_jwk(KID("short"), n_short, e_short),
	    NULL)), -1);
	err_names("CLERK_JWKS_FILE", jwks_path);
	err_has("2048 bits");
}
END_TEST

START_TEST(test_load_bad_jwks_with_good_pem_loads_nothing)
{
	/* load_result holds the set empty: the PEM is not kept either */
	ck_assert_int_eq(load(pem_a, NULL, "[]"), -1);
	err_names("CLERK_JWKS_FILE", jwks_path);
	ck_assert_int_eq(load(NULL, pem_a, jwks(rsa_jwk(KID(""), n_a, e_a), NULL)), -1);
	err_names("CLERK_JWKS_FILE", jwks_path);
}
END_TEST

START_TEST(test_load_pem_value_and_file_both_set_refused)
{
	ck_assert_int_eq(load(pem_a, pem_a, NULL), -1);
	err_has("CLERK_JWT_KEY ");
	err_has("CLERK_JWT_KEY_FILE");
	ck_assert_int_eq(load(pem_a, pem_a, two_keys()), -1);
	err_has("CLERK_JWT_KEY_FILE");
}
END_TEST

START_TEST(test_load_without_any_source_names_all_three)
{
	ck_assert_int_eq(load_paths(NULL, NULL, NULL), -1);
	err_has("CLERK_JWT_KEY ");
	err_has("CLERK_JWT_KEY_FILE");
	err_has("CLERK_JWKS_FILE");
}
END_TEST

START_TEST(test_load_empty_variables_count_as_unset)
{
	ck_assert_int_eq(load_paths("", "", ""), -1);
	err_has("CLERK_JWKS_FILE");
	load_ok("", NULL, two_keys());
	ck_assert_ptr_null(ks.single.pem);
	ck_assert_int_eq(load_paths(pem_a, "", ""), 0);
	pem_is(&ks.single, rsa_a);
}
END_TEST

START_TEST(test_load_pem_of_ec_key_refused)
{
	pem_refused(pem_ec, "not an RSA key");
}
END_TEST

START_TEST(test_load_pem_of_1024_bit_key_refused)
{
	pem_refused(pem_short, "2048 bits");
}
END_TEST

START_TEST(test_load_pem_that_is_not_a_public_key_refused)
{
	ck_assert_int_eq(load(NULL, "hello\n", NULL), -1);
	err_names("CLERK_JWT_KEY_FILE", pem_path);
	ck_assert_int_eq(load(NULL, "", NULL), -1);
	err_names("CLERK_JWT_KEY_FILE", pem_path);
	ck_assert_int_eq(load(fmt("%.100s", pem_a), NULL, NULL), -1);
	err_names("CLERK_JWT_KEY", NULL);
}
END_TEST

START_TEST(test_keys_free_leaves_empty_set_and_can_repeat)
{
	load_ok(pem_b, NULL, two_keys());
	ck_assert_uint_eq(ks.nset, 2);
	keys_free(&ks);
	set_is_empty(&ks);
	ck_assert_ptr_null(pick(NULL));
	ck_assert_ptr_null(pick("kid-a"));
	keys_free(&ks);
	set_is_empty(&ks);
}
END_TEST

/* A case whose tests share the keys made for it. */
static TCase *
keys_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
	tcase_add_checked_fixture(tc, NULL, scratch_teardown);
	tcase_set_timeout(tc, 60);
	return tc;
}

Suite *
keys_suite(void)
{
	Suite *s = suite_create("keys");
	TCase *p = keys_tcase("pick");
	TCase *j = keys_tcase("jwks");
	TCase *l = keys_tcase("load");

	tcase_add_test(p, test_jwks_two_rsa_keys_each_picked_by_kid);
	tcase_add_test(p, test_jwks_unknown_kid_picks_nothing_without_pem);
	tcase_add_test(p, test_jwks_no_kid_picks_nothing_without_pem);
	tcase_add_test(p, test_pick_compares_the_whole_kid_of_its_length);
	tcase_add_test(p, test_pem_and_jwks_kid_in_set_picks_set_key);
	tcase_add_test(p, test_pem_and_jwks_kid_absent_or_unknown_picks_pem);
	tcase_add_test(p, test_pem_only_any_kid_or_none_picks_pem);
	suite_add_tcase(s, p);

	tcase_add_test(j, test_jwks_non_rsa_keys_skipped_and_reported);
	tcase_add_test(j, test_jwks_entry_without_kty_or_kid_skipped_with_null_kid);
	tcase_add_test(j, test_jwks_rsa_key_for_encryption_skipped);
	tcase_add_test(j, test_jwks_rsa_key_for_rs384_skipped);
	tcase_add_test(j, test_jwks_padding_in_n_and_e_tolerated);
	tcase_add_test(j, test_jwks_pem_is_the_jwk_key);
	tcase_add_test(j, test_jwks_kid_of_256_bytes_accepted);
	tcase_add_test(j, test_jwks_of_64_keys_accepted);
	tcase_add_test(j, test_jwks_trailing_newline_accepted);
	tcase_add_test(j, test_jwks_not_json_refused);
	tcase_add_test(j, test_jwks_text_after_document_refused);
	tcase_add_test(j, test_jwks_nul_inside_document_refused);
	tcase_add_test(j, test_jwks_top_level_array_refused);
	tcase_add_test(j, test_jwks_missing_keys_refused);
	tcase_add_test(j, test_jwks_keys_not_array_refused);
	tcase_add_test(j, test_jwks_entry_not_object_refused);
	tcase_add_test(j, test_jwks_rsa_key_without_kid_refused);
	tcase_add_test(j, test_jwks_rsa_key_with_empty_kid_refused);
	tcase_add_test(j, test_jwks_rsa_key_with_nul_in_kid_refused);
	tcase_add_test(j, test_jwks_kid_longer_than_256_bytes_refused);
	tcase_add_test(j, test_jwks_duplicate_kid_refused);
	tcase_add_test(j, test_jwks_missing_n_or_e_refused);
	tcase_add_test(j, test_jwks_n_not_base64url_refused);
	tcase_add_test(j, test_jwks_rsa_key_under_2048_bits_refused);
	tcase_add_test(j, test_jwks_rsa_exponent_1_or_even_refused);
	tcase_add_test(j, test_jwks_rsa_exponent_over_32_bits_refused);
	tcase_add_test(j, test_jwks_rsa_modulus_over_8192_bits_refused);
	tcase_add_test(j, test_jwks_more_than_64_keys_refused);
	tcase_add_test(j, test_jwks_without_usable_rsa_key_refused);
	suite_add_tcase(s, j);

	tcase_add_test(l, test_load_pem_file_loads_single_key);
	tcase_add_test(l, test_load_pem_value_reads_backslash_n_as_newline);
	tcase_add_test(l, test_load_jwks_file_loads_set);
	tcase_add_test(l, test_load_missing_jwks_file_names_variable_and_path);
	tcase_add_test(l, test_load_missing_pem_file_names_variable_and_path);
	tcase_add_test(l, test_load_bad_jwks_file_names_variable_and_path);
	tcase_add_test(l, test_load_bad_jwks_with_good_pem_loads_nothing);
	tcase_add_test(l, test_load_pem_value_and_file_both_set_refused);
	tcase_add_test(l, test_load_without_any_source_names_all_three);
	tcase_add_test(l, test_load_empty_variables_count_as_unset);
	tcase_add_test(l, test_load_pem_of_ec_key_refused);
	tcase_add_test(l, test_load_pem_of_1024_bit_key_refused);
	tcase_add_test(l, test_load_pem_that_is_not_a_public_key_refused);
	tcase_add_test(l, test_keys_free_leaves_empty_set_and_can_repeat);
	suite_add_tcase(s, l);
	return s;
}
