//! Seccomp-BPF: rule model, compiler, interpreter and installation.

pub mod rules;
