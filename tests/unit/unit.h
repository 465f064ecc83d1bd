/* unit.h: the unit-test suites, one per pure module (tests/unit/test_*.c).
 *
 * test_main.c runs them all; each suite's tests are named for the rule of
 * SPEC.md or of the module's header that they hold the code to. */
#ifndef RS_UNIT_H
#define RS_UNIT_H

#include <check.h>

Suite *validate_suite(void);
Suite *request_suite(void);
Suite *auth_suite(void);
Suite *render_suite(void);
Suite *config_suite(void);
Suite *db_suite(void);
Suite *keys_suite(void);
Suite *cache_suite(void);
Suite *fastcgi_suite(void);
Suite *text_suite(void);

#endif
