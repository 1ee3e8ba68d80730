//! What a seccomp filter costs per system call: exile's compiler against
//! seccompiler, libseccomp's binary tree and exile.h's linear chain.
//!
//! - [`sets`]: the rule sets (three vow sets and a 300-call allow-list).
//! - [`peers`]: each compiler, fed the same [`FilterSpec`](exile::seccomp::rules::FilterSpec).
//! - [`libseccomp`]: libseccomp loaded at run time (skipped when absent).
//! - [`measure`]: instruction counts from exile's interpreter.
//! - [`cost`]: the kernel's cost, timed in forked children that install a
//!   filter.
//!
//! Results and how to reproduce them: `benches/RESULTS.md`.

#![warn(missing_docs)]

pub mod cost;
pub mod libseccomp;
pub mod measure;
pub mod peers;
pub mod sets;
