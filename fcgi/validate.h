/* validate.h: untrusted strings -> typed values, or field errors.
 *
 * Pure: no I/O, no allocation. Every input is bounded by the caller's
 * length; nothing reads past it, and a NUL inside it is just an invalid
 * byte. vd_query_build() collects every invalid field, not only the
 * first, in the fixed order of vd_field. */
#ifndef RS_VALIDATE_H
#define RS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

/* The longest query string read; a longer one is a VALIDATION_ERROR on
 * "query". */
#define VD_QUERY_MAX 2048

typedef struct {
	unsigned char b[16];
} vd_uuid;

/* 36-character hyphenated (8-4-4-4-12) or 32 hex digits, any case. */
int vd_parse_uuid(const char *s, size_t n, vd_uuid *out);
/* Canonical lower-case hyphenated form, NUL-terminated. */
void vd_format_uuid(const vd_uuid *u, char out[37]);

/* ISO 8601 date-time with a UTC offset, see SPEC.md "Inputs":
 * YYYY-MM-DD(T|t|space)HH:MM[:SS[.f{1,6}]](Z|z|+HH:MM|+HHMM|+HH:MM:SS),
 * '-' as well as '+', and a space where the sign belongs read as '+'.
 * On success *us is the instant in microseconds since 1970-01-01T00:00Z. */
int vd_parse_datetime(const char *s, size_t n, int64_t *us);
/* The instant as text PostgreSQL reads as timestamptz, exactly:
 * "YYYY-MM-DD HH:MM:SS.ffffff+00" with " BC" for years before 1. */
#define VD_UTC_TEXT_MAX 64
void vd_format_utc(int64_t us, char out[VD_UTC_TEXT_MAX]);
/* The second of a Unix time as "YYYY-MM-DDTHH:MM:SS", for years 1 to
 * 9999 (where every field has its place); any other gives the epoch's. */
#define VD_ISO_SECONDS_MAX sizeof("YYYY-MM-DDTHH:MM:SS")
void vd_format_iso_seconds(int64_t unix_seconds, char out[VD_ISO_SECONDS_MAX]);

/* Percent-decodes in[0..n) into out (at most cap bytes written).
 * Returns the full decoded length, which may exceed cap (then out holds
 * only its first cap bytes), or -1 when a '%' is not followed by two hex
 * digits. plus_is_space: form encoding, where '+' means ' '. */
long vd_percent_decode(const char *in, size_t n, char *out, size_t cap, int plus_is_space);

/* base64url without padding (RFC 7515): out has room for len * 3 / 4
 * bytes. Returns the decoded length, or -1 for a byte outside the
 * alphabet or an impossible length. */
long vd_b64url_decode(const char *in, size_t len, unsigned char *out);

typedef enum {
	VD_FIELD_WORKFLOW_ID,
	VD_FIELD_WORKSPACE_ID,
	VD_FIELD_QUERY,
	VD_FIELD_FROM,
	VD_FIELD_TO,
	VD_FIELD_COUNT
} vd_field;

typedef struct {
	vd_field field;
	const char *message;	/* static text; never echoes the input */
} vd_error;

typedef struct {
	vd_uuid workflow_id;
	int has_workspace;
	vd_uuid workspace_id;
	int has_from, has_to;
	int64_t from_us, to_us;
	size_t nerrors;
	vd_error errors[VD_FIELD_COUNT];
} vd_query;

/* workflow_id: the path segment; workspace: the X-Workspace-Id header or
 * NULL; query: the raw query string or NULL. Returns q->nerrors. */
size_t vd_query_build(const char *workflow_id, size_t workflow_id_len,
    const char *workspace, const char *query, vd_query *q);

const char *vd_field_name(vd_field f);

#endif
