/* test_text.c: bounded appending (fcgi/text.h): what fits is written,
 * what does not sets `over` and writes nothing more, and numbers come out
 * as printf would write them. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "unit.h"

/* The text b holds, as a string. */
static const char *
text_of(const text_buf *b)
{
	static char s[128];

	memcpy(s, b->p, b->len);
	s[b->len] = '\0';
	return s;
}

START_TEST(test_appends_in_order)
{
	char mem[64];
	text_buf b = TEXT_BUF(mem, sizeof(mem));

	text_puts(&b, "status=");
	text_put_int(&b, 200);
	text_putc(&b, ' ');
	text_put(&b, "ms=xyz", 3);
	ck_assert_str_eq(text_of(&b), "status=200 ms=");
	ck_assert_int_eq(b.over, 0);
}
END_TEST

START_TEST(test_what_does_not_fit_sets_over_and_stops)
{
	char mem[8] = "";
	text_buf b = TEXT_BUF(mem, 6);

	text_puts(&b, "abcd");
	text_puts(&b, "efg");		/* 7 > 6: not written, not even in part */
	ck_assert_int_eq(b.over, 1);
	ck_assert_str_eq(text_of(&b), "abcd");
	text_putc(&b, 'e');		/* would fit, but nothing after an overflow */
	ck_assert_str_eq(text_of(&b), "abcd");
	ck_assert_int_eq(mem[6], '\0');
}
END_TEST

START_TEST(test_integers_as_printf_writes_them)
{
	static const long long v[] = { 0, 7, -7, 1000000, LLONG_MAX, LLONG_MIN };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char mem[32], want[32];
		text_buf b = TEXT_BUF(mem, sizeof(mem));

		text_put_int(&b, v[i]);
		snprintf(want, sizeof(want), "%lld", v[i]);
		ck_assert_str_eq(text_of(&b), want);
	}
}
END_TEST

START_TEST(test_digits_zero_padded_to_width)
{
	char mem[32];
	text_buf b = TEXT_BUF(mem, sizeof(mem));

	text_put_digits(&b, 7, 2);
	text_put_digits(&b, 2026, 4);
	text_put_digits(&b, 0, 6);
	text_put_digits(&b, 12345, 3);	/* only the low digits fit the width */
	ck_assert_str_eq(text_of(&b), "072026000000345");
	text_put_digits(&b, 1, 21);
	ck_assert_int_eq(b.over, 1);
}
END_TEST

START_TEST(test_hundredths_as_printf_writes_them)
{
	static const double v[] = { 0, 0.004, 0.006, 0.5, 1.25, 12.3456, 999.999,
	    1234567.891, 3e14, 1e15, 1e40, -0.5, -12.3456 };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char mem[400], want[400];
		text_buf b = TEXT_BUF(mem, sizeof(mem));

		text_put_hundredths(&b, v[i]);
		snprintf(want, sizeof(want), "%.2f", v[i]);
		ck_assert_msg(strcmp(text_of(&b), want) == 0, "%g: %s, printf %s", v[i],
		    text_of(&b), want);
	}
}
END_TEST

START_TEST(test_hundredths_longer_than_60_bytes_set_over)
{
	char mem[400];
	text_buf b = TEXT_BUF(mem, sizeof(mem));

	text_put_hundredths(&b, 1e300);
	ck_assert_int_eq(b.over, 1);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *t = tcase_create("append");

	tcase_add_test(t, test_appends_in_order);
	tcase_add_test(t, test_what_does_not_fit_sets_over_and_stops);
	tcase_add_test(t, test_integers_as_printf_writes_them);
	tcase_add_test(t, test_digits_zero_padded_to_width);
	tcase_add_test(t, test_hundredths_as_printf_writes_them);
	tcase_add_test(t, test_hundredths_longer_than_60_bytes_set_over);
	suite_add_tcase(s, t);
	return s;
}
