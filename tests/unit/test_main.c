/* test_main.c: runs every unit suite; the last line is "N passed, N failed". */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner *sr = srunner_create(validate_suite());
	int run, failed;

	srunner_add_suite(sr, request_suite());
	srunner_add_suite(sr, auth_suite());
	srunner_add_suite(sr, render_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, db_suite());
	srunner_add_suite(sr, keys_suite());
	srunner_add_suite(sr, cache_suite());
	srunner_add_suite(sr, fastcgi_suite());
	srunner_add_suite(sr, text_suite());
	srunner_set_fork_status(sr, CK_FORK_GETENV);
	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	fflush(stderr);
	printf("%d passed, %d failed\n", run - failed, failed);
	fflush(stdout);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
