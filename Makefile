# disparo: one binary, plain make. Two builds side by side:
#   build/rel/  optimised, what `make run` starts and `make bench` measures
#   build/san/  AddressSanitizer + UBSan, what `make test` runs
PKGS    := libevent libcurl sqlite3 jansson libcrypto libzip expat xlsxwriter
CC      ?= cc
WARN    := -std=c11 -Wall -Wextra -Wstrict-prototypes -Wwrite-strings -Wshadow \
           -Wno-unused-parameter -Werror
DEFS    := -D_GNU_SOURCE
INCS    := -Isrc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lm
# libphonenumber has no .pc file on Debian 12; what it needs (protobuf, ICU,
# abseil) comes in through its own DT_NEEDED entries, as phonenum.cc calls
# none of them directly.
PKG_LIBS   += -lphonenumber

SRC      := $(sort $(wildcard src/*.c src/*/*.c))
LIB_SRC  := $(filter-out src/main.c,$(SRC))
# C++ only where a library offers nothing else (src/util/phonenum.cc wraps
# libphonenumber); these objects go into both builds and every unit test, and
# the C++ driver links so libstdc++ and the sanitizers' C++ runtime come along.
CXX_SRC  := $(sort $(wildcard src/*/*.cc))
LINK     := $(CXX)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

REL_CFLAGS := -O2 -g $(WARN) $(DEFS) $(INCS) $(PKG_CFLAGS)
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=undefined $(WARN) $(DEFS) $(INCS) $(PKG_CFLAGS)
CXXWARN      := -std=c++17 -Wall -Wextra -Wshadow -Wno-unused-parameter -Werror
REL_CXXFLAGS := -O2 -g $(CXXWARN) $(DEFS) $(INCS)
SAN_CXXFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined $(CXXWARN) $(DEFS) $(INCS)

LISTEN ?= 127.0.0.1:8080
DATA   ?= ./data

.PHONY: all deps run test unit e2e bench clean fmt
# keep the unit tests' objects between runs (they are intermediates of a pattern chain)
.SECONDARY:
all: build/rel/disparo

deps:
	@scripts/deps.sh

# V=1 shows the full compiler lines
Q := $(if $(V),,@)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@
build/san/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@
build/rel/%.o: %.cc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(REL_CXXFLAGS) -MMD -MP -c $< -o $@
build/san/%.o: %.cc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $@")
	$(Q)$(CXX) $(SAN_CXXFLAGS) -MMD -MP -c $< -o $@

build/rel/disparo: $(SRC:%.c=build/rel/%.o) $(CXX_SRC:%.cc=build/rel/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LINK) $(REL_CFLAGS) -o $@ $^ $(PKG_LIBS)
build/san/disparo: $(SRC:%.c=build/san/%.o) $(CXX_SRC:%.cc=build/san/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LINK) $(SAN_CFLAGS) -o $@ $^ $(PKG_LIBS)

# Helpers the unit tests share (fake HTTP servers...): built with SAN_CFLAGS
# by the build/san/%.o rule and linked into every unit-test binary.
UNIT_SUPPORT := $(sort $(wildcard tests/unit/support/*.c))
build/san/tests/unit/%: build/san/tests/unit/%.o $(UNIT_SUPPORT:%.c=build/san/%.o) \
                        $(LIB_SRC:%.c=build/san/%.o) $(CXX_SRC:%.cc=build/san/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LINK) $(SAN_CFLAGS) -o $@ $^ $(PKG_LIBS) -lcmocka

UNIT_BINS := $(UNIT_SRC:%.c=build/san/%)

# `make run`: install what is missing, build, start on the embedded SQLite store.
run:
	@scripts/deps.sh
	@$(MAKE) --no-print-directory build/rel/disparo
	./build/rel/disparo serve --listen $(LISTEN) --data $(DATA)

# `make test`: install, build, then every unit and end-to-end test under ASan+UBSan.
test:
	@scripts/deps.sh
	@scripts/prism.sh install
	@$(MAKE) --no-print-directory unit e2e

unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)

e2e: build/san/disparo
	@DISPARO_BIN=$(CURDIR)/build/san/disparo python3 tests/e2e/run.py

bench: build/rel/disparo
	@DISPARO_BIN=$(CURDIR)/build/rel/disparo bench/run.sh

fmt:
	clang-format -i $(SRC) $(wildcard src/*/*.h) $(UNIT_SRC)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
