# The commands people actually type. Each is one or two lines; see README.md.

.PHONY: demo analyze test lint lint-template package bench bench-report bench-summary record venv

# The whole pipeline on this machine: emulator, the four functions as real binaries through
# the Lambda Runtime API, provisioning, audits, reports, summary, Delete. Prints the summary.
demo: venv
	cargo run -q -p session-audit-tests --bin local-pipeline

# Analyse the bundled recorded sessions and show their reports (offline, no emulator).
analyze:
	cargo run --release -q -p session-audit-cli -- analyze --format md tests/fixtures/recorded/

# The project's Python tools in .venv: the local AWS emulator (requirements-dev.txt) ...
venv: .venv/.installed

.venv/.installed: requirements-dev.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# ... and the template checkers (requirements-template.txt), only for lint-template and package.
.venv/.template-tools: requirements-template.txt .venv/.installed
	.venv/bin/pip install -q --disable-pip-version-check -r requirements-template.txt
	touch $@

# The full test suite (what CI runs after fmt, clippy and the template checks), then the
# least-privilege proof over the calls every emulator scenario recorded (target/iam-calls).
test: venv
	rm -rf target/iam-calls
	cargo test --workspace --locked
	cargo run -q --locked -p session-audit-tests --bin iam-proof

# What CI checks before the tests: formatting, clippy on the engine and the CLI on their own (no
# AWS SDK in their build, so a lint cannot hide behind a feature the SDK turns on), then
# everything, the engine's docs (every intra-doc link resolves), then the template.
lint: lint-template
	cargo fmt --all -- --check
	cargo clippy -p session-audit -p session-audit-cli --all-targets --locked -- -D warnings
	cargo clippy --all-targets --locked -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc -q -p session-audit --no-deps --locked

# checkov in a virtualenv of its own (its pins clash with SAM CLI's).
.venv-checkov/.installed: requirements-checkov.txt
	python3 -m venv .venv-checkov
	.venv-checkov/bin/pip install -q --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# template.yaml (the hub), spoke.yaml and destination.yaml: SAM's own validation with its linter, cfn-lint, and
# checkov (0 failed; every skip carries its reason in the resource's Metadata; --skip-download:
# no Prisma Cloud calls).
lint-template: .venv/.template-tools .venv-checkov/.installed
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 .venv/bin/sam validate --lint
	.venv/bin/cfn-lint template.yaml spoke.yaml destination.yaml
	.venv-checkov/bin/checkov -f template.yaml -f spoke.yaml -f destination.yaml --framework cloudformation --compact --quiet --skip-download

# Four arm64 Lambda bootstraps under .aws-sam/build/ (cargo-lambda from PyPI brings zig; the
# Rust target is added if missing). Slow the first time: the whole tree for aarch64, release.
package: .venv/.template-tools
	.venv/bin/pip install -q --disable-pip-version-check cargo-lambda==1.9.2
	rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/.venv/bin:$$PATH" SAM_CLI_TELEMETRY=0 .venv/bin/sam build --beta-features
	@ls -l .aws-sam/build/*/bootstrap

# Engine throughput and peak RSS on three 200 MiB transcripts (output-heavy and command-dense
# generated, and the recorded sessions repeated), each on two threads and on one, beside
# `wc -l`; then the live path on a 10,000-line subscription batch (time and peak heap).
bench:
	cargo bench -p session-audit --bench engine -- 200
	cargo bench -p session-audit --bench live -- 10000

# The session-report handler end to end against the emulator (100 KiB and 200 MiB).
bench-report: venv
	cargo bench --profile release -p session-audit-tests --bench report_e2e

# Access-summary aggregation over 100 000 and 1 000 000 sessions, and the function against moto.
bench-summary: venv
	cargo bench --profile release -p session-audit-tests --bench summary_scale

# Re-record the golden sessions (root; needs bash, dash, util-linux script, sudo, less, vi).
record:
	python3 tests/fixtures/recorded/record.py
