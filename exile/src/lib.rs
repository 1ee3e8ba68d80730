//! exile: pledge()/unveil()-style self-sandboxing for Linux.

mod sys;

pub mod features;
pub mod seccomp;

pub use features::Features;
