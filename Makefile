# Fine-tuning gateway: every entry point.
#
#   make run     install what is missing, build, start the demo (foreground)
#   make test    unit tests, fuzz smoke, the integration suite (ASan)
#   make unit    cmocka unit tests of translators/ (ASan + UBSan)
#   make module  build build/nginx/ngx_http_ftgw_module.so
#   make deb     build the Debian package in build/deb (docs/operations.md)
#   make lint    nginx code style checks (80 columns, no tabs, ...)
#   make fuzz    libFuzzer targets of translators/fuzz, FUZZ_S seconds each

SHELL := /bin/bash
.DEFAULT_GOAL := help

BUILD      := build
VENV       := .venv
PY         := $(VENV)/bin/python
APT_PKGS   := nginx-dev libcjson-dev libcmocka-dev libssl-dev gcc make \
              python3 python3-venv ca-certificates openssl \
              protobuf-c-compiler libprotobuf-c-dev valgrind clang \
              libclang-rt-14-dev
# what make deb needs besides: dpkg-shlibdeps, and lintian for t/test_deb.py
DEB_PKGS   := dpkg-dev lintian
# the dashboard's browser tests (t/test_dashboard.py): Debian's chromium,
# driven through its chromedriver; the tests are skipped without them
UI_PKGS    := chromium chromium-driver
LIBASAN     = $(shell gcc -print-file-name=libasan.so)

UNIT_CFLAGS := -std=c99 -D_DEFAULT_SOURCE -g -O1 -W -Wall -Wextra -Werror \
               -Wno-unused-parameter -Wpointer-arith \
               -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer -Itranslators -Itranslators/include \
               -I$(BUILD)/proto
PLAIN_CFLAGS = $(filter-out -fsanitize=%,$(UNIT_CFLAGS))
UNIT_LIBS   := -lcjson -lcrypto -lprotobuf-c -lcmocka -lm
# one folder a layer (docs/architecture.md): base, sign, core, vendors
LAYERS      := base sign core vendors
TRANSLATORS := $(foreach l,$(LAYERS),$(wildcard translators/$(l)/gw_*.c))
TR_HEADERS  := $(wildcard translators/include/*.h) \
               $(foreach l,$(LAYERS),$(wildcard translators/$(l)/*.h))
# protobuf-c code of translators/proto (Yandex gRPC), generated, not committed
PROTOS      := $(shell find translators/proto -name '*.proto' | LC_ALL=C sort)
PROTO_SRCS  := $(patsubst translators/proto/%.proto,$(BUILD)/proto/%.pb-c.c,\
               $(PROTOS))
UNIT_TESTS  := $(patsubst translators/tests/%.c,$(BUILD)/unit/%,\
               $(wildcard translators/tests/test_*.c))
# the translators and the test checks, compiled once per flavour into a
# static library that every unit test links: asan (ASan + UBSan) and
# plain (for valgrind)
TR_SRCS     := $(TRANSLATORS) $(PROTO_SRCS) translators/tests/check.c \
               translators/tests/harness.c
TR_OBJS      = $(patsubst %.c,$(BUILD)/lib-$(1)/obj/%.o,$(TR_SRCS))

.PHONY: help deps venv module module-asan unit it trainer-test test run lint bench-trainer \
        clean node-sdk fuzz fuzz-smoke deb

help:
	@sed -n '3,10p' Makefile | sed 's/^# *//'

# system packages: installed only when missing, so a ready machine is quick
define apt_install
	@missing=""; for p in $(1); do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	        --no-install-recommends $$missing >/dev/null; fi
endef

deps:
	$(call apt_install,$(APT_PKGS))

venv: $(VENV)/.ready

$(VENV)/.ready: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

module: deps
	scripts/build-module.sh $(BUILD)/nginx

module-asan: deps
	FTGW_PRELOAD=$(LIBASAN) scripts/build-module.sh $(BUILD)/asan \
	    "-O1 -fsanitize=address -fno-omit-frame-pointer" \
	    "-fsanitize=address"

# the Debian package libnginx-mod-http-ftgw (its own hardened build of the
# module in build/deb/module)
deb: deps
	$(call apt_install,$(DEB_PKGS))
	scripts/build-deb.sh $(BUILD)/deb

$(BUILD)/proto/.generated: $(PROTOS) scripts/gen-proto.sh | deps
	scripts/gen-proto.sh $(BUILD)/proto
	@touch $@

$(BUILD)/lib-asan/obj/%.o: %.c $(TR_HEADERS) translators/tests/check.h \
                       | $(BUILD)/proto/.generated
	@mkdir -p $(dir $@)
	gcc $(UNIT_CFLAGS) -c $< -o $@

$(BUILD)/lib-plain/obj/%.o: %.c $(TR_HEADERS) translators/tests/check.h \
                        | $(BUILD)/proto/.generated
	@mkdir -p $(dir $@)
	gcc $(PLAIN_CFLAGS) -c $< -o $@

# the generated sources exist once gen-proto has run
$(PROTO_SRCS): $(BUILD)/proto/.generated

$(BUILD)/lib-asan/libtranslators.a: $(call TR_OBJS,asan)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/lib-plain/libtranslators.a: $(call TR_OBJS,plain)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/%: translators/tests/%.c $(BUILD)/lib-asan/libtranslators.a
	@mkdir -p $(BUILD)/unit
	gcc $(UNIT_CFLAGS) $< $(BUILD)/lib-asan/libtranslators.a $(UNIT_LIBS) -o $@

# the exchange tests once more without sanitizers, under valgrind: reads of
# uninitialised memory are the one fault AddressSanitizer does not see
MEMCHECK_TESTS := $(patsubst %,$(BUILD)/memcheck/%,\
                  test_clova test_qianfan test_yandex test_slurm test_stage)

$(BUILD)/memcheck/%: translators/tests/%.c $(BUILD)/lib-plain/libtranslators.a
	@mkdir -p $(BUILD)/memcheck
	gcc $(PLAIN_CFLAGS) $< $(BUILD)/lib-plain/libtranslators.a $(UNIT_LIBS) \
	    -o $@

unit: deps lint $(UNIT_TESTS) $(MEMCHECK_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; \
	    ASAN_OPTIONS=detect_leaks=1 $$t; done
	@# again with the release build's bump arena (translators/base/gw_mem.c)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t (bump arena)"; \
	    GW_TEST_ARENA=bump ASAN_OPTIONS=detect_leaks=1 $$t; done
	@set -e; for t in $(MEMCHECK_TESTS); do echo "== $$t (valgrind)"; \
	    valgrind -q --error-exitcode=9 $$t > $$t.log 2>&1 \
	        || { cat $$t.log; exit 1; }; done

# libFuzzer targets (clang), one a parser of untrusted bytes: the
# translators compiled once more with clang's coverage and sanitizers into
# build/fuzz/obj (never the gcc archives).  Each target runs FUZZ_S seconds
# over a copy of its seed corpus translators/fuzz/corpus/<target>, so the
# committed corpus stays as it is; a crash fails the make.
FUZZ_S       ?= 60
FUZZ_SMOKE_S ?= 5
FUZZ_CFLAGS  := $(filter-out -fsanitize=% -O1,$(UNIT_CFLAGS)) -O1 \
                -fno-sanitize-recover=all
FUZZ_TARGETS := $(patsubst translators/fuzz/%.c,%,\
                $(wildcard translators/fuzz/fuzz_*.c))
FUZZ_BINS    := $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_TARGETS))
FUZZ_OBJS    := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,\
                $(TRANSLATORS) $(PROTO_SRCS))

$(BUILD)/fuzz/obj/%.o: %.c $(TR_HEADERS) | $(BUILD)/proto/.generated
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	    -c $< -o $@

$(BUILD)/fuzz/libtranslators.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: translators/fuzz/fuzz_%.c translators/fuzz/*.h \
                      $(BUILD)/fuzz/libtranslators.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< \
	    $(BUILD)/fuzz/libtranslators.a -lcjson -lcrypto -lprotobuf-c -lm \
	    -o $@

# FUZZ_RUN_S: seconds a target; prints executions and coverage
define fuzz_run
	@set -e; mkdir -p $(BUILD)/fuzz/logs; \
	printf '%-16s %8s %14s %8s\n' target seconds executions cov; \
	for t in $(FUZZ_TARGETS); do \
	    c=$(BUILD)/fuzz/corpus/$$t; rm -rf $$c; mkdir -p $$c; \
	    cp translators/fuzz/corpus/$$t/* $$c/ 2>/dev/null || true; \
	    log=$(BUILD)/fuzz/logs/$$t.log; \
	    ( cd $(BUILD)/fuzz && ./$$t -max_total_time=$(1) \
	        -print_final_stats=1 -artifact_prefix=$$t- -rss_limit_mb=2048 \
	        corpus/$$t ) > $$log 2>&1 \
	        || { tail -n 60 $$log; echo "$$t: FAILED (log $$log)"; \
	             exit 1; }; \
	    ex=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	    cov=$$(grep -E '^#[0-9]+' $$log | tail -n 1 \
	        | sed -n 's/.* cov: \([0-9]*\).*/\1/p'); \
	    printf '%-16s %8s %14s %8s\n' $$t $(1) "$$ex" "$$cov"; \
	done
endef

fuzz: deps $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_S))

fuzz-smoke: deps $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SMOKE_S))

# the official openai Node SDK for t/test_node_sdk.py, pinned in
# t/node/package-lock.json; Debian's nodejs where the machine has none
node-sdk: t/node/node_modules/.ready

t/node/node_modules/.ready: t/node/package.json t/node/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	        --no-install-recommends nodejs npm >/dev/null; }
	cd t/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# the integration suite: real nginx + module (ASan), sandbox vendors,
# the official openai SDKs (Python, Node) as the clients; t/test_deb.py
# checks the package
# Debian's prometheus, unpacked (not installed: no service starts) for
# t/test_observability.py, which runs it against /metrics
PROMETHEUS := $(BUILD)/prometheus/usr/bin/prometheus

$(PROMETHEUS):
	mkdir -p $(BUILD)/prometheus
	cd $(BUILD)/prometheus && rm -f prometheus_*.deb && \
	    { apt-get download prometheus 2>/dev/null || \
	      { apt-get update -qq && apt-get download prometheus; }; } && \
	    dpkg -x prometheus_*.deb . && rm -f prometheus_*.deb

it: module-asan venv node-sdk deb
	-$(call apt_install,$(UI_PKGS))
	-$(MAKE) -s $(PROMETHEUS)
	FTGW_MODULE=$(CURDIR)/$(BUILD)/asan/ngx_http_ftgw_module.so \
	FTGW_PRELOAD=$(LIBASAN) \
	    $(PY) -m pytest -q t/

# the local engine's trainer (its own venv over Debian's torch)
trainer-test: deps
	trainer/test.sh $(BUILD)/trainer-venv

test: deps unit fuzz-smoke it trainer-test

run: module venv
	$(PY) scripts/demo.py --module $(CURDIR)/$(BUILD)/nginx/ngx_http_ftgw_module.so

lint:
	@scripts/lint.sh
	@scripts/check-layers.sh

clean:
	rm -rf $(BUILD)

# benchmarks (issue 6): installs wrk, valgrind and the peer gateways when
# missing; results in build/bench/ and docs/benchmarks.md.
# BENCH_QUICK=1 make bench: a short smoke run.
.PHONY: bench
bench: module venv
	$(PY) bench/run.py

# the trainer against a plain transformers + peft loop, through the gateway
# and a local Slurm (issue 19): a tiny Qwen2 on the CPU, Qwen2.5-0.5B and
# -1.5B shapes on a GPU; results in build/bench-trainer/
.PHONY: bench-trainer
bench-trainer: module venv
	$(PY) bench/trainer_bench.py \
	    --module $(CURDIR)/$(BUILD)/nginx/ngx_http_ftgw_module.so
