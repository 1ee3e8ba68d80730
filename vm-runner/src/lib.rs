//! `exile-vm-runner`: boot the exile conformance suite on a matrix of real
//! Debian kernels in QEMU and tell, per kernel, which sandboxing mechanisms
//! work and whether every probe passed.
//!
//! The pipeline, one module per step:
//!
//! 1. [`config`] — read `kernels.toml` (entries, command lines, personas,
//!    sysctls, and the features each kernel *must* show).
//! 2. [`apt`] + [`debian`] + [`kernel`] — derive a sources list from the
//!    machine's own apt configuration with the suite swapped, keep a private
//!    apt state per suite under `~/.cache/exile-vm/`, resolve the suite's
//!    `linux-image-cloud-amd64` to the package that ships `vmlinuz`
//!    (`linux-image-*` or, in sid, `linux-binary-*`), download it with
//!    signature checking on, extract and cache the kernel by version.
//! 3. [`init_build`] + [`initramfs`] — build the statically linked init
//!    (`exile-conformance`, or the smoke-test `exile-vm-testinit`) and pack
//!    it as `/init` of a newc cpio archive.
//! 4. [`qemu`] — boot each kernel (KVM when it really works, TCG otherwise)
//!    with `console=ttyS0 panic=-1 exile.out=/dev/ttyS1 [exile.persona=P]
//!    [exile.sysctl=K=V]... [extra]`, kernel log from ttyS0, results from
//!    ttyS1, a per-boot timeout.
//! 5. [`serial`] + [`must`] + [`runner`] — parse the JSON lines, compare the
//!    summary's features with the entry's `must` table, judge the boot.
//! 6. [`matrix`] — the terminal table, `matrix.md`, `matrix.json`,
//!    `junit.xml`.
//!
//! See `vm-runner/README.md` for the command line and the protocol.

pub mod apt;
pub mod config;
pub mod debian;
pub mod init_build;
pub mod initramfs;
pub mod kernel;
pub mod matrix;
pub mod must;
pub mod qemu;
pub mod runner;
pub mod serial;
