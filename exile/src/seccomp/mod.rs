//! Seccomp-BPF: rule model, compiler, interpreter and installation.
//!
//! - [`rules`]: what a filter decides ([`FilterSpec`](rules::FilterSpec)),
//!   with reference semantics ([`FilterSpec::evaluate`](rules::FilterSpec::evaluate)).
//! - [`compiler`]: [`FilterSpec`](rules::FilterSpec) → classic BPF
//!   ([`compile`](compiler::compile), a binary search over syscall-number
//!   ranges; [`compile_linear`](compiler::compile_linear), an exile.h-style
//!   chain used as a peer in tests and benches).
//! - [`bpf`]: the instruction format, a disassembler and an interpreter of
//!   the subset of classic BPF that seccomp accepts, validated like the
//!   kernel validates it.
//! - [`syscalls`]: system call names and numbers of the native architecture.
//! - [`install`](mod@install): loading a program into the kernel (with TSYNC), and
//!   [`trap`], a SIGSYS handler that names the denied system call.
//!
//! ```
//! use exile::seccomp::bpf::{self, SeccompData};
//! use exile::seccomp::compiler::compile;
//! use exile::seccomp::rules::{Action, Arch, FilterSpec, Rule};
//!
//! let mut spec = FilterSpec::new(Action::Errno(libc::EPERM as u16));
//! spec.add(libc::SYS_getpid as u32, Rule::allow());
//! let prog = compile(&spec)?;
//!
//! let data = SeccompData::new(Arch::native().audit_arch(), libc::SYS_getpid as u32, [0; 6]);
//! let verdict = bpf::run(&prog, &data)?;
//! assert_eq!(verdict.action(), Some(Action::Allow));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod bpf;
pub mod compiler;
pub mod install;
pub mod rules;
pub mod syscalls;

pub use install::{install, trap, InstallFlags};
