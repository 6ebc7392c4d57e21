# The commands the README names. Every target that talks to AWS APIs runs
# with dummy credentials, a region and instance metadata disabled, so the
# SDK never reaches for the instance-metadata address.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

export AWS_ACCESS_KEY_ID ?= dummy
export AWS_SECRET_ACCESS_KEY ?= dummy
export AWS_REGION ?= us-east-1
export AWS_DEFAULT_REGION ?= $(AWS_REGION)
export AWS_EC2_METADATA_DISABLED := true
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test lint unit integration browser validate bench-console deploy deploy-guided build-arm64 release-arm64 clean load bench bench-coldstart bench-per-event bench-sizes bench-cost bench-sweep fuzz

## Python tools (moto server, cargo-lambda, SAM CLI, cfn-lint) in .venv.
## Installed with their whole dependency tree pinned (constraints-dev.txt).
$(BIN)/.installed: requirements-dev.txt constraints-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints-dev.txt
	touch $@

## Run every route locally on http://127.0.0.1:9000 against moto.
dev: $(BIN)/.installed
	scripts/dev.sh

## Load test against a running `make dev` (127.0.0.1 only; not part of
## `make test`): LOAD_EVENTS, LOAD_WORKERS, LOAD_URL, AWS_ENDPOINT_URL.
load: $(BIN)/.installed
	$(BIN)/python scripts/load.py

## Everything CI checks.
test: lint unit integration validate

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

unit:
	cargo test --locked -p callhooks-model -p callhooks

integration: $(BIN)/.installed browser
	cargo test --locked --workspace --exclude callhooks-model --exclude callhooks

## The console's end-to-end test drives headless Chromium (Debian's package)
## with Node.js: both installed with apt-get when missing.
browser:
	scripts/chromium.sh

validate: $(BIN)/.installed
	sam validate --lint
	cfn-lint template.yaml

## The arm64 release build of every function, as `sam deploy` ships it.
build-arm64: $(BIN)/.installed
	rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	sam build --beta-features

## The same arm64 release binaries in ONE cargo invocation (CI): sam build
## runs one cargo per function and they queue on the target lock, so the
## fat-LTO links run one at a time; here cargo links them side by side.
FUNCTIONS := $(notdir $(wildcard functions/*))
release-arm64: $(BIN)/.installed
	rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	cargo lambda build --release --arm64 $(addprefix -p ,$(FUNCTIONS))
	@for f in $(FUNCTIONS); do printf '%-18s %9s bytes\n' $$f $$(stat -c %s target/lambda/$$f/bootstrap); done

## Updates: samconfig.toml's settings, and every parameter not given keeps
## its previous value (sam deploy passes UsePreviousValue), so a NoEcho
## secret is never blanked. The first deploy of a stack: deploy-guided.
deploy: build-arm64
	sam deploy

## The first deploy (asks for the parameters, saves the rest in
## samconfig.toml; NoEcho values are not saved, and an update with
## `make deploy` keeps them). Answer "generate" for a webhook token to let
## the stack make one (docs/security.md).
deploy-guided: build-arm64
	sam deploy --guided

## Fuzzing (docs/testing.md; not part of `make test`):
## each cargo-fuzz target of fuzz/ runs for FUZZ_SECONDS seconds (default
## 60), starting from the sample events (fuzz/seeds.py); fails if any
## target crashes, its input then in fuzz/artifacts/<target>/. FUZZ_TARGETS
## picks targets. Installs what it needs: the nightly toolchain (rustup)
## and cargo-fuzz, pinned, into .tools/. No sanitizer by default: the code
## is safe Rust, and a panic or an overflow is caught without one
## (FUZZ_SANITIZER=address to add ASan).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= zonitel_call zonitel_sms salpre voxtelesys twilio retell signature shared_secret phone
FUZZ_SANITIZER ?= none
CARGO_FUZZ_VERSION := 0.13.2
TOOLS := $(CURDIR)/.tools
CARGO_FUZZ := PATH=$(TOOLS)/bin:$$PATH cargo +nightly fuzz

$(TOOLS)/bin/cargo-fuzz:
	cargo install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION) --root $(TOOLS)

fuzz: $(TOOLS)/bin/cargo-fuzz
	rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	python3 fuzz/seeds.py
	$(CARGO_FUZZ) build --sanitizer $(FUZZ_SANITIZER)
	@mkdir -p fuzz/logs; failed=; \
	for t in $(FUZZ_TARGETS); do \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  $(CARGO_FUZZ) run --sanitizer $(FUZZ_SANITIZER) $$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	    > fuzz/logs/$$t.log 2>&1 || failed="$$failed $$t"; \
	  grep -E '^Done|panicked at|^SUMMARY|^ *fuzz/artifacts/' fuzz/logs/$$t.log || true; \
	done; \
	printf '%-14s %12s %8s %8s  %s\n' target executions seconds corpus result; \
	for t in $(FUZZ_TARGETS); do \
	  printf '%-14s %12s %8s %8s  %s\n' $$t \
	    "$$(sed -n 's/^stat::number_of_executed_units: *//p' fuzz/logs/$$t.log)" \
	    "$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' fuzz/logs/$$t.log)" \
	    "$$(ls fuzz/corpus/$$t 2>/dev/null | wc -l)" \
	    "$$(case " $$failed " in *" $$t "*) echo CRASH;; *) echo ok;; esac)"; \
	done; \
	if [ -n "$$failed" ]; then \
	  echo "crashed:$$failed (logs in fuzz/logs/, inputs in fuzz/artifacts/)"; exit 1; \
	fi

## Performance (docs/performance.md): cold starts against the floor and a
## Python handler, per-event work, arm64 sizes, round trips; one table in
## bench-results/bench.md, followed by the cost per delivery (bench-cost). Not part of `make test`. BENCH_STARTS=N starts
## per function (default 15).
BENCH_TARGET := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BENCH_STARTS ?= 15
# The webhook functions (functions/* but the stream and queue consumers).
BENCH_BINARIES = $(filter-out alerts spillway sweeper,$(FUNCTIONS)) bench-floor bench-noop

.venv-bench/.installed: bench/requirements.txt bench/constraints.txt
	python3 -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt -c bench/constraints.txt
	touch $@

bench: bench-coldstart bench-per-event bench-sizes bench-cost bench-console
	$(BIN)/python bench/report.py

bench-coldstart: $(BIN)/.installed .venv-bench/.installed
	cargo build --release --locked $(addprefix -p ,$(BENCH_BINARIES))
	$(BIN)/python bench/coldstart.py --bin-dir $(BENCH_TARGET)/release --starts $(BENCH_STARTS)

bench-per-event:
	cargo bench --locked -p callhooks --bench per_event

bench-sizes: $(BIN)/.installed
	bench/sizes.sh

## What each delivery costs on AWS (docs/performance.md): every route's
## sample events through its handler against moto (debug build, no
## Docker), units metered per request, priced by bench/prices.py beside
## the floor of one PutItem; bench-results/cost.md.
bench-cost: $(BIN)/.installed
	cargo run --locked -q -p callhooks-tests --example cost
	$(BIN)/python bench/cost.py

## One sweep at 10,000 open lifecycles (SWEEP_BENCH_OPEN), against moto:
## queries, index entries read, read and write units by DynamoDB's rules,
## time (docs/lifecycles.md). Not part of `make bench` or `make test`.
bench-sweep: $(BIN)/.installed
	cargo run --locked -q -p callhooks-tests --example sweep

clean:
	cargo clean
	rm -rf .aws-sam bench-results

## `callhooks console`'s pages with 10,000 calls in a moto table (BENCH_CALLS
## to change): median and worst time of each page, and what it read
## (docs/console.md). Debug build, like the tests.
bench-console: $(BIN)/.installed
	cargo build --locked -q -p callhooks-cli --bin callhooks
	mkdir -p bench-results
	cargo run --locked -q -p callhooks-cli --example console_pages | tee bench-results/console.md
