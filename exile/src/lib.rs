//! exile: pledge()/unveil()-style self-sandboxing for Linux.
//!
//! A program gives up what it does not need: system calls (vows compiled to
//! a seccomp-BPF filter), filesystem access (Landlock, with a
//! user+mount-namespace fallback), the network and IPC (namespaces),
//! capabilities and more. It is a port of the C library exile.h without its
//! defects.
//!
//! The central idea is *prepare, then apply*: [`Policy::prepare`] does
//! everything that can fail or allocate (validation, compilation, probing
//! the kernel's [`Features`]); [`Prepared::apply`] only makes system calls,
//! so it is safe after `fork()` and in `Command::pre_exec`, and returns a
//! [`Report`] of what is in force. Every mechanism is [`Requirement::Hard`]
//! by default: if it cannot be put in force, `prepare` or `apply` fails.
//! Nothing is ever silently weaker than asked.
//!
//! ```no_run
//! use exile::{Namespaces, Policy};
//!
//! let report = Policy::new()
//!     .namespaces(Namespaces::NETWORK | Namespaces::AUTOMATIC)
//!     .close_fds(&[])
//!     .no_new_fds()
//!     .drop_capabilities()
//!     .prepare()?
//!     .apply()?;
//! print!("{report}");
//! // From here on: no network, no new fds, no capabilities.
//! # Ok::<(), exile::Error>(())
//! ```
#![warn(missing_docs)]

mod sys;

pub mod error;
pub mod features;
pub mod fs;
pub mod launch;
pub mod ns;
pub mod policy;
pub mod process;
pub mod report;
pub mod seccomp;
pub mod vows;

pub use error::Error;
pub use features::Features;
pub use fs::{Fs, Scope};
pub use launch::{
    launch, launch_stream, CommandExt, DynamicProgram, LaunchError, Launcher, Streaming, Syscall,
};
pub use ns::Namespaces;
pub use policy::{vow, Policy, Prepared, Requirement};
pub use process::{Capability, Resource};
pub use report::{Mechanism, Report, Status};
pub use vows::Vows;
