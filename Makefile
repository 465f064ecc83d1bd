# runs-summary: `make` builds fcgi/runs-summary and the test tools;
# `make check` runs every test (see scripts/test for a fresh machine).
VERSION  = 0.1.0
CC      ?= gcc
PKGS     = libjwt json-c libpq
CFLAGS  ?= -O2
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g \
           -DRS_VERSION=\"$(VERSION)\" $(shell pkg-config --cflags $(PKGS))
LDLIBS   = $(shell pkg-config --libs $(PKGS)) -lcrypto -lm
SAN      = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

CORE     = validate request auth keys cache render config db app handler log fastcgi text
CORE_SRC = $(CORE:%=fcgi/%.c)
HDRS     = $(wildcard fcgi/*.h) fcgi/summary_sql.h
UNIT_SRC = $(wildcard tests/unit/test_*.c)

all: fcgi/runs-summary tests/tools/mint-token tests/tools/fcgi-floor

# Both statements, as scripts/lib/statement prints them, as C strings.
fcgi/summary_sql.h: fcgi/summary.sql fcgi/summary-rollups.sql scripts/lib/statement
	{ printf '/* generated from summary.sql and summary-rollups.sql by make */\n'; \
	  for v in "DB_SUMMARY_SQL:" "DB_SUMMARY_ROLLUPS_SQL:--rollups"; do \
	    printf 'static const char %s[] =\n' "$${v%%:*}"; \
	    scripts/lib/statement $${v#*:} | \
	      sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/'; \
	    printf ';\n'; \
	  done; } > $@.tmp && mv $@.tmp $@

PROG_SRC = fcgi/main.c fcgi/loop.c fcgi/supervisor.c

fcgi/runs-summary: $(PROG_SRC) $(CORE_SRC) $(HDRS)
	$(CC) $(CFLAGS) -o $@ $(PROG_SRC) $(CORE_SRC) $(LDLIBS)

# The same program with AddressSanitizer and UBSan; the tests run it too.
fcgi/runs-summary-asan: $(PROG_SRC) $(CORE_SRC) $(HDRS)
	$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $(PROG_SRC) $(CORE_SRC) $(LDLIBS)

tests/tools/mint-token: tests/tools/mint-token.c
	$(CC) $(CFLAGS) -o $@ $< -lcrypto

# The least a responder must do, for scripts/bench --floor.
tests/tools/fcgi-floor: tests/tools/fcgi-floor.c fcgi/fastcgi.c $(HDRS)
	$(CC) $(CFLAGS) -Ifcgi -o $@ $< fcgi/fastcgi.c $(shell pkg-config --libs libpq)

# Token verification cold and warm (scripts/bench-auth runs it).
tests/tools/auth-bench: tests/tools/auth-bench.c $(CORE_SRC) $(HDRS)
	$(CC) $(CFLAGS) -Ifcgi -o $@ $< $(CORE_SRC) $(LDLIBS)

tests/unit/run-unit: $(UNIT_SRC) tests/unit/unit.h $(CORE_SRC) $(HDRS)
	$(CC) $(CFLAGS) -O1 $(SAN) -Ifcgi -o $@ $(UNIT_SRC) $(CORE_SRC) \
	    $(LDLIBS) $(shell pkg-config --libs check)

check: all fcgi/runs-summary-asan tests/unit/run-unit
	tests/run-all

clean:
	rm -f fcgi/runs-summary fcgi/runs-summary-asan fcgi/summary_sql.h \
	    tests/tools/mint-token tests/tools/auth-bench tests/tools/fcgi-floor \
	    tests/unit/run-unit

.PHONY: all check clean
include tests/fuzz/fuzz.mk
