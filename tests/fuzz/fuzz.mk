# tests/fuzz/fuzz.mk: the libFuzzer harnesses, included by the Makefile.
#
#   make fuzz                 every harness for FUZZ_SECONDS (60) each
#   make fuzz-short           10 s each, as the test suite runs it
#   make fuzz-build           only build them, into tests/fuzz/bin/
#   make fuzz-clean           remove tests/fuzz/bin/ (binaries, crash inputs)
#
# Built with Debian's clang (the packages clang and libclang-rt-14-dev;
# scripts/lib/common.sh installs them) whatever CC is, with the Makefile's
# own -std, -D, -W and pkg-config flags taken from its CFLAGS so the two
# builds cannot drift apart. tests/fuzz/run runs them one at a time.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN      = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = $(filter -std=% -D% -W% -I%,$(CFLAGS)) -Wno-unknown-warning-option \
                -Ifcgi -Itests/fuzz
FUZZ_LDLIBS   = $(shell pkg-config --libs libjwt json-c) -lcrypto -lm
FUZZ_NAMES    = uuid datetime query route auth jwks fastcgi handler
FUZZ_BINS     = $(FUZZ_NAMES:%=tests/fuzz/bin/fuzz_%)
FUZZ_HDRS     = $(wildcard fcgi/*.h tests/fuzz/*.h)

# The parts of the service each harness links: only what it exercises,
# and for the handler everything but db.c, which db_stub.c replaces.
FUZZ_SRC_uuid     = validate text
FUZZ_SRC_datetime = validate text
FUZZ_SRC_query    = validate text
FUZZ_SRC_route    = request validate text
FUZZ_SRC_auth     = auth keys cache validate text
FUZZ_SRC_jwks     = keys validate text
FUZZ_SRC_fastcgi  = fastcgi
FUZZ_SRC_handler  = handler request validate auth keys cache render text

tests/fuzz/bin/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/db_stub.c $(CORE_SRC) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_SAN) $(FUZZ_CFLAGS) -o $@ $< \
	    $(FUZZ_SRC_$*:%=fcgi/%.c) $(if $(filter handler,$*),tests/fuzz/db_stub.c) \
	    $(FUZZ_LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/run $(FUZZ_SECONDS)

fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=10

fuzz-clean:
	rm -rf tests/fuzz/bin

.PHONY: fuzz fuzz-build fuzz-short fuzz-clean
