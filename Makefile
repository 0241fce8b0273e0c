# xiangyin — two commands matter: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
CARGO ?= cargo
APT_PACKAGES := libasound2-dev pkg-config
# The browser tests drive headless Chromium through chromedriver; the font draws the Chinese pages;
# faketime steps the wall clock of one daemon in the hardening tests.
TEST_APT_PACKAGES := chromium chromium-driver fonts-wqy-microhei faketime
BIN := target/release/xiangyin

.PHONY: run test deps test-deps st-deps build bench demo-library check clean

## Install the system packages the build needs (Debian/Ubuntu, as root or with sudo).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo is missing: install Rust from https://rustup.rs"; exit 1; }

## What the tests need besides the build: Chromium and its driver for the browser tests.
test-deps:
	@missing=""; for p in $(TEST_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

## schemathesis, pinned, for the API test (tests/schemathesis.rs), from PyPI.
SCHEMATHESIS := schemathesis==4.32.5
st-deps:
	@st --version 2>/dev/null | grep -q "$(subst schemathesis==,,$(SCHEMATHESIS))" || { \
	  echo "installing $(SCHEMATHESIS)"; python3 -m pip install --quiet --disable-pip-version-check "$(SCHEMATHESIS)"; }

## The first build compiles about 300 crates: say so, and show cargo's progress bar even when
## make's output is not a terminal, so a quiet screen is not taken for a hang.
export CARGO_TERM_PROGRESS_WHEN ?= always
export CARGO_TERM_PROGRESS_WIDTH ?= 80
first-build-note = @[ -e target/$(1) ] || echo "first build ($(1)): compiling about 300 crates takes some 5-10 minutes on 2 cores; later builds only recompile xiangyin"

build: deps
	$(call first-build-note,release)
	$(CARGO) build --release

## Run the station on the bundled demo content: check it, preview tomorrow's 07:00 morning notices
## as WAV (var/demo-render/), then serve — on the sound card of hardware-profiles/default.yaml, or,
## with no card, on the virtual profile that records every village to var/recordings/. Ctrl-C stops.
DEMO_DAY := $(shell TZ=Asia/Shanghai date -d tomorrow +%F)
LISTEN ?= 127.0.0.1:8080
run: build
	$(BIN) --root . check
	$(BIN) --root . clips
	$(BIN) --root . render --profile virtual --from $(DEMO_DAY)T06:59:58 --to $(DEMO_DAY)T07:00:30 --out var/demo-render
	@echo "preview: var/demo-render/rec.wav (channel N = village N of hardware-profiles/virtual.yaml); cues: var/demo-render/cues.csv"
	$(BIN) --root . serve --listen $(LISTEN)

## Every test: unit, integration (real files, real processes, real ports), browser (headless Chromium).
test: deps test-deps st-deps
	$(call first-build-note,debug)
	$(CARGO) build --benches
	$(CARGO) test --no-fail-fast

## Benchmarks (print tables; the import benchmark compares with ffmpeg, installed when missing).
bench: deps
	@command -v ffmpeg >/dev/null || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq ffmpeg; }
	$(CARGO) bench --bench import
	$(CARGO) bench --bench engine
	$(CARGO) bench --bench live
	$(CARGO) bench --bench mix
	$(CARGO) bench --bench line

## Rebuild audio-library/ from demo/recordings/.
demo-library: build
	demo/import-demo.sh $(BIN)

check: build
	$(BIN) --root . check

clean:
	$(CARGO) clean
