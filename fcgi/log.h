/* log.h: one line per event on file descriptor 2.
 *
 * Written with write(2) directly: libfcgi's stdio wrappers swallow
 * stderr, and one write keeps lines from several workers whole. */
#ifndef RS_LOG_H
#define RS_LOG_H

#include <stddef.h>

void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies untrusted text for a log value: control bytes, quotes and
 * backslashes become '?', so one request is always one line. */
const char *log_safe(const char *in, char *out, size_t cap);

#endif
