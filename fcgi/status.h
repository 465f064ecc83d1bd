/* status.h: the outcome of every step of a request.
 *
 * Each module returns one of these; render.c's error table is the only
 * place that turns one into an HTTP status, error code and headers.
 * The reason a request was refused travels beside it as a static string
 * for the log, never into a response. */
#ifndef RS_STATUS_H
#define RS_STATUS_H

typedef enum {
	ST_OK = 0,
	ST_UNAUTHORIZED,	/* no Authorization, or not a Bearer one */
	ST_INVALID_TOKEN,	/* a JWT that fails any check */
	ST_INVALID_API_KEY,	/* malformed, unknown, revoked, expired key */
	ST_FORBIDDEN,
	ST_NOT_FOUND,
	ST_METHOD_NOT_ALLOWED,
	ST_VALIDATION_ERROR,
	ST_INTERNAL_ERROR,
	ST_SERVICE_UNAVAILABLE,
	ST_COUNT
} st_status;

#endif
