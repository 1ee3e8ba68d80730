//! The mount-namespace fallback for filesystem rules (INTERFACE DRAFT —
//! being implemented; do not rely on it yet).

use std::os::fd::RawFd;
use std::path::Path;

use nix::errno::Errno;

use super::{Fs, PathRule};
use crate::error::{Error, Step};

/// Everything the fallback's apply needs, computed at prepare time.
#[derive(Debug)]
pub(crate) struct FallbackPlan {
    _private: (),
}

impl FallbackPlan {
    /// Plan the new root for `rules` (empty with `no_fs`), with the working
    /// directory `chdir` (default `/`).
    pub(crate) fn prepare(rules: &[PathRule], chdir: Option<&Path>) -> Result<FallbackPlan, Error> {
        let _ = (rules, chdir);
        Err(Error::Probe {
            what: "the mount-namespace fallback (not implemented yet)".into(),
            errno: Errno::ENOSYS as i32,
        })
    }

    /// Per rule: the rights the fallback would grant beyond the rule's.
    pub(crate) fn excess(&self) -> Vec<(usize, Fs)> {
        Vec::new()
    }

    /// Fds the plan needs through `close_fds`.
    pub(crate) fn fds(&self) -> Vec<RawFd> {
        Vec::new()
    }

    /// Build the new root and pivot into it. Runs inside `apply`, after the
    /// user and mount namespaces were entered: system calls only.
    pub(crate) fn apply(&self) -> Result<(), (Step, Errno)> {
        Err((Step::MountTmpfs, Errno::ENOSYS))
    }
}
