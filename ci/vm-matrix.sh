#!/usr/bin/env bash
# Boot the conformance suite on every kernel of kernels.toml in QEMU and
# write target/vm-matrix/{matrix.md,matrix.json,junit.xml} plus boot logs.
#
# Installs qemu-system-x86 with apt when it is missing (as root, or through
# sudo). Extra arguments go to exile-vm-runner, e.g.:
#   ci/vm-matrix.sh --kernel bookworm
#   ci/vm-matrix.sh --test-init          # smoke-test the boot chain only
# Exit status: that of exile-vm-runner (0 all passed, 1 a kernel failed,
# 2 configuration or prerequisite error).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup" >&2; exit 2; }

if ! command -v qemu-system-x86_64 >/dev/null; then
    if ! command -v apt-get >/dev/null; then
        echo "qemu-system-x86_64 is missing and apt-get is not available: install QEMU for x86_64 guests" >&2
        exit 2
    fi
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { echo "qemu-system-x86_64 is missing: run 'apt-get install qemu-system-x86' as root" >&2; exit 2; }
        SUDO="sudo"
    fi
    echo "== installing qemu-system-x86"
    $SUDO apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-x86
fi

echo "== exile-vm-runner"
exec cargo run --release -p exile-vm-runner -- --out target/vm-matrix "$@"
