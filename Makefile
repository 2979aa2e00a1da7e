# The commands people actually type. Each is one line of cargo; see README.md.

.PHONY: demo test lint bench bench-report bench-summary record venv

# Analyse the bundled recorded sessions and show the reports.
demo:
	cargo run --release -q -p session-audit-cli -- analyze --format md tests/fixtures/recorded/

# The project's Python tools (the local AWS emulator) in .venv.
venv: .venv/.installed

.venv/.installed: requirements-dev.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The full test suite (what CI runs after fmt and clippy).
test: venv
	cargo test --workspace --locked

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --locked -- -D warnings

# Engine throughput and peak RSS on a generated 200 MiB transcript.
bench:
	cargo bench -p session-audit-shared --bench engine -- 200

# The session-report handler end to end against the emulator (100 KiB and 200 MiB).
bench-report: venv
	cargo bench --profile release -p session-audit-tests --bench report_e2e

bench-summary: venv
	cargo bench --profile release -p session-audit-tests --bench summary_scale

# Re-record the golden sessions (root; needs bash, dash, util-linux script, sudo, less, vi).
record:
	python3 tests/fixtures/recorded/record.py
