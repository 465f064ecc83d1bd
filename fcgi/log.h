/* log.h: one line per event on file descriptor 2.
 *
 * Written with write(2) directly: one write keeps lines from several
 * workers whole. */
#ifndef RS_LOG_H
#define RS_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "validate.h"

#define LOG_LINE_MAX 1024

/* The date and time to the second of the last stamp, so that a worker
 * formats them once a second, not once a line. */
typedef struct {
	long long sec;
	char text[VD_ISO_SECONDS_MAX];
} log_clock;

#define LOG_STAMP_MAX 64

void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The prefix of every line, "ts=YYYY-MM-DDTHH:MM:SS.mmmZ pid=N ", into
 * buf (LOG_STAMP_MAX bytes); its length. clock may be NULL. */
size_t log_stamp(char *buf, int pid, log_clock *clock);
/* One line, prefix and newline included, into buf (cut short to fit
 * cap); its length, or 0. For callers that gather lines and write them
 * together with log_write; they pass their pid, which they know, since
 * asking the kernel for it costs a system call a line. */
size_t log_vformat(char *buf, size_t cap, int pid, const char *fmt, va_list ap);
void log_write(const char *buf, size_t len);
/* Copies untrusted text for a log value: control bytes, quotes,
 * backslashes and every byte outside ASCII become '?', so one request is
 * always one line of plain text (no terminal escapes, no bidi tricks). */
const char *log_safe(const char *in, char *out, size_t cap);

#endif
