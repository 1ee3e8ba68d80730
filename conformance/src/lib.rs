//! Conformance probes for exile.
//!
//! Each probe forks; the child (as the invoking user, and again as uid/gid
//! 65534 when the harness runs as root) applies a policy and performs one
//! operation; the parent receives `ok | errno(E) | signal(N) | value` through
//! a pipe and compares it with an expectation computed from the *detected*
//! kernel features. `cargo test -p exile-conformance` runs every probe
//! through libtest-mimic; the `exile-conformance` binary runs the same
//! probes with human or JSON output, and as `/init` of a VM.

pub mod fixture;
pub mod harness;
pub mod init;
pub mod persona;
pub mod probe;
pub mod registry;
