/* log.c: "ts=... key=value ..." lines on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "text.h"

size_t
log_stamp(char *buf, int pid, log_clock *clock)
{
	struct timeval tv;
	log_clock fresh = { -1, "" };
	text_buf b = TEXT_BUF(buf, LOG_STAMP_MAX);

	if (clock == NULL)
		clock = &fresh;
	gettimeofday(&tv, NULL);
	if (clock->sec != (long long)tv.tv_sec) {
		vd_format_iso_seconds((int64_t)tv.tv_sec, clock->text);
		clock->sec = (long long)tv.tv_sec;
	}
	text_puts(&b, "ts=");
	text_puts(&b, clock->text);
	text_putc(&b, '.');
	text_put_digits(&b, (unsigned long long)tv.tv_usec / 1000, 3);
	text_puts(&b, "Z pid=");
	text_put_int(&b, pid);
	text_putc(&b, ' ');
	return b.len;
}

size_t
log_vformat(char *buf, size_t cap, int pid, const char *fmt, va_list ap)
{
	char stamp[LOG_STAMP_MAX];
	size_t n = log_stamp(stamp, pid, NULL);
	int m;

	if (n + 2 > cap)
		return 0;
	memcpy(buf, stamp, n);
	m = vsnprintf(buf + n, cap - n - 1, fmt, ap);
	if (m < 0)
		return 0;
	n += (size_t)m < cap - n - 1 ? (size_t)m : cap - n - 2;
	buf[n++] = '\n';
	return n;
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
