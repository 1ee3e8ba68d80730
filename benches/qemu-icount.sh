#!/bin/sh
# QEMU wrapper for exile-vm-runner (EXILE_VM_QEMU=benches/qemu-icount.sh):
# boots under TCG with `-icount shift=0`, so the guest's clock advances by
# 1 ns per emulated instruction. syscall-cost's figures then count the
# guest instructions a call executes (filter included): deterministic, and
# immune to the host's load, unlike wall-clock time under emulation.
# Runs other invocations (the KVM probe) unchanged.
qemu="${EXILE_VM_REAL_QEMU:-qemu-system-x86_64}"
case " $* " in
  *" -kernel "*) exec "$qemu" "$@" -icount shift=0 ;;
  *) exec "$qemu" "$@" ;;
esac
