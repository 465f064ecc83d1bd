/* text.c: bounded appending of text. */
#include "text.h"

#include <stdio.h>
#include <string.h>

void
text_put(text_buf *b, const char *s, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void
text_puts(text_buf *b, const char *s)
{
	text_put(b, s, strlen(s));
}

void
text_putc(text_buf *b, char c)
{
	text_put(b, &c, 1);
}

void
text_put_int(text_buf *b, long long v)
{
	char d[24];
	size_t i = sizeof(d);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		d[--i] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		d[--i] = '-';
	text_put(b, d + i, sizeof(d) - i);
}

void
text_put_digits(text_buf *b, unsigned long long v, int width)
{
	char d[20];
	int i;

	if (width < 0 || width > (int)sizeof(d)) {
		b->over = 1;
		return;
	}
	for (i = width - 1; i >= 0; i--, v /= 10)
		d[i] = (char)('0' + v % 10);
	text_put(b, d, (size_t)width);
}

void
text_put_hundredths(text_buf *b, double v)
{
	char d[64];
	int n;

	/* Durations in ms: the integer path covers every one there is. */
	if (v >= 0 && v < 1e15) {
		unsigned long long h = (unsigned long long)(v * 100 + 0.5);

		text_put_int(b, (long long)(h / 100));
		text_putc(b, '.');
		text_put_digits(b, h % 100, 2);
		return;
	}
	n = snprintf(d, sizeof(d), "%.2f", v);
	if (n < 0 || (size_t)n >= sizeof(d)) {
		b->over = 1;
		return;
	}
	text_put(b, d, (size_t)n);
}
