/* text.h: text appended into a fixed buffer, for what every request
 * writes (the JSON body, the window's bounds, the log line) without
 * printf parsing a format each time.
 *
 * A text_buf never writes past cap: once something does not fit, `over`
 * is set and nothing more is written. Pure: no I/O. */
#ifndef RS_TEXT_H
#define RS_TEXT_H

#include <stddef.h>

typedef struct {
	char *p;
	size_t len, cap;
	int over;
} text_buf;

#define TEXT_BUF(mem, size) { (mem), 0, (size), 0 }

void text_put(text_buf *b, const char *s, size_t n);
void text_puts(text_buf *b, const char *s);
void text_putc(text_buf *b, char c);
void text_put_int(text_buf *b, long long v);
/* v as exactly width digits, zero-padded (v < 10^width, width <= 20). */
void text_put_digits(text_buf *b, unsigned long long v, int width);
/* v with two decimals, for a log's milliseconds: below 1e15 rounded from
 * the double v * 100, so the last digit can be one off "%.2f"'s (which
 * rounds v's exact value; 4 in 100,000 durations measured in ns), and
 * -0.0 is "0.00"; otherwise "%.2f". A text over 63 bytes sets over. */
void text_put_hundredths(text_buf *b, double v);

#endif
