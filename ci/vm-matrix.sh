#!/usr/bin/env bash
# Boot the conformance suite on every kernel of kernels.toml in QEMU and
# write target/vm-matrix/{matrix.md,matrix.json,junit.xml} plus boot logs.
#
# Installs qemu-system-x86 with apt when it is missing (ci/install-deps.sh;
# as root, or through sudo). Extra arguments go to exile-vm-runner, e.g.:
#   ci/vm-matrix.sh --kernel bookworm
#   ci/vm-matrix.sh --test-init          # smoke-test the boot chain only
# Exit status: that of exile-vm-runner (0 all passed, 1 a kernel failed,
# 2 configuration or prerequisite error).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup" >&2; exit 2; }

bash ci/install-deps.sh

echo "== exile-vm-runner"
exec cargo run --release -p exile-vm-runner -- --out target/vm-matrix "$@"
