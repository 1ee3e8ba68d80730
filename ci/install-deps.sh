#!/usr/bin/env bash
# Install what the tests and the kernel matrix need beyond Rust, with apt,
# when it is missing: qemu-system-x86 (the VM boots) and libseccomp2 (the
# benches' libseccomp comparison; the build does not need it).
# Runs as root, or through sudo.
set -euo pipefail

missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
# Not `grep -q`: it exits at the first match, ldconfig dies of SIGPIPE, and
# pipefail would call the library missing.
ldconfig -p 2>/dev/null | grep 'libseccomp\.so\.2' >/dev/null || missing+=(libseccomp2)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
    echo "missing: ${missing[*]} and apt-get is not available: install QEMU for x86_64 guests (and libseccomp) with your package manager" >&2
    exit 2
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "missing: ${missing[*]}: run 'apt-get install ${missing[*]}' as root" >&2; exit 2; }
    SUDO="sudo"
fi
echo "== installing ${missing[*]}"
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
