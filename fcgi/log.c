/* log.c: "ts=... key=value ..." lines on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

size_t
log_vformat(char *buf, size_t cap, int pid, const char *fmt, va_list ap)
{
	struct timeval tv;
	struct tm tm;
	int n, m;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(buf, cap, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ pid=%d ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (long)tv.tv_usec / 1000, pid);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	m = vsnprintf(buf + n, cap - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return 0;
	n += (size_t)m < cap - (size_t)n - 1 ? m : (int)(cap - (size_t)n - 2);
	buf[n++] = '\n';
	return (size_t)n;
}

void
log_write(const char *buf, size_t len)
{
	if (len > 0 && write(2, buf, len) < 0)
		return;
}

void
log_line(const char *fmt, ...)
{
	char buf[LOG_LINE_MAX];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = log_vformat(buf, sizeof(buf), (int)getpid(), fmt, ap);
	va_end(ap);
	log_write(buf, n);
}

const char *
log_safe(const char *in, char *out, size_t cap)
{
	size_t i;

	for (i = 0; i + 1 < cap && in[i] != '\0'; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
	}
	out[i] = '\0';
	return out;
}
