//! The one error type of exile.
//!
//! Every variant names what failed and, for a system call, its errno, so the
//! message says what to change:
//!
//! ```
//! let err = exile::Policy::new().close_fds(&[9999]).prepare().unwrap_err();
//! assert!(matches!(err, exile::Error::KeepFdNotOpen { fd: 9999 }));
//! assert_eq!(err.to_string(), "fd 9999 is in the keep-list of close_fds but is not open");
//! ```

use std::fmt;
use std::path::PathBuf;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::features::{LandlockStatus, UsernsBlock};
use crate::report::Mechanism;

/// A step of [`Prepared::apply`](crate::Prepared::apply) that makes a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Step {
    /// `close_range()` over the fds not kept.
    CloseRange,
    /// Listing `/proc/self/fd` (when `close_range` is missing).
    ListFds,
    /// `close()` of one inherited fd.
    CloseFd,
    /// `unshare(CLONE_NEWUSER)`.
    UnshareUser,
    /// Writing `deny` to `/proc/self/setgroups`.
    WriteSetgroups,
    /// Writing `/proc/self/uid_map`.
    WriteUidMap,
    /// Writing `/proc/self/gid_map`.
    WriteGidMap,
    /// `unshare(CLONE_NEWNS)`.
    UnshareMount,
    /// Making every mount private in the new mount namespace.
    MakeMountsPrivate,
    /// `unshare(CLONE_NEWNET)`.
    UnshareNetwork,
    /// `unshare(CLONE_NEWIPC)`.
    UnshareIpc,
    /// `unshare(CLONE_NEWUTS)`.
    UnshareUts,
    /// `unshare(CLONE_NEWCGROUP)`.
    UnshareCgroup,
    /// `prlimit64()`.
    SetRlimit,
    /// `prctl(PR_SET_DUMPABLE, 0)`.
    SetNotDumpable,
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
    SetNoNewPrivs,
    /// `prctl(PR_CAPBSET_DROP)`.
    DropBoundingSet,
    /// `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`.
    ClearAmbient,
    /// `capset()`.
    Capset,
    /// Installing the seccomp filter.
    InstallSeccomp,
    /// `rt_sigaction(SIGSYS)`: exile's report handler for the trap action.
    InstallTrapHandler,
    /// Counting the process's threads (`/proc/self/stat`): a restriction
    /// that binds only the calling thread needs a single-threaded process.
    CheckSingleThreaded,
    /// Mounting the private tmpfs that becomes the new root (fallback).
    MountTmpfs,
    /// Creating a mount point inside the new root (fallback).
    MakeMountPoint,
    /// Bind-mounting an allowed path (fallback).
    BindMount,
    /// Remounting a bind mount read-only/noexec/nodev/nosuid (fallback).
    RemountBind,
    /// `pivot_root()` into the new root (fallback).
    PivotRoot,
    /// Detaching the old root (fallback).
    DetachOldRoot,
    /// `chdir()` to the working directory.
    Chdir,
    /// `landlock_restrict_self()`.
    LandlockRestrictSelf,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::CloseRange => "close_range() of inherited fds",
            Step::ListFds => "listing /proc/self/fd",
            Step::CloseFd => "close() of an inherited fd",
            Step::UnshareUser => "unshare(CLONE_NEWUSER)",
            Step::WriteSetgroups => "writing /proc/self/setgroups",
            Step::WriteUidMap => "writing /proc/self/uid_map",
            Step::WriteGidMap => "writing /proc/self/gid_map",
            Step::UnshareMount => "unshare(CLONE_NEWNS)",
            Step::MakeMountsPrivate => "mount(\"/\", MS_REC|MS_PRIVATE)",
            Step::UnshareNetwork => "unshare(CLONE_NEWNET)",
            Step::UnshareIpc => "unshare(CLONE_NEWIPC)",
            Step::UnshareUts => "unshare(CLONE_NEWUTS)",
            Step::UnshareCgroup => "unshare(CLONE_NEWCGROUP)",
            Step::SetRlimit => "prlimit64()",
            Step::SetNotDumpable => "prctl(PR_SET_DUMPABLE, 0)",
            Step::SetNoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS, 1)",
            Step::DropBoundingSet => "prctl(PR_CAPBSET_DROP)",
            Step::ClearAmbient => "prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
            Step::Capset => "capset()",
            Step::InstallSeccomp => "installing the seccomp filter",
            Step::InstallTrapHandler => "installing the SIGSYS handler of the trap action",
            Step::CheckSingleThreaded => "checking that the process is single-threaded",
            Step::MountTmpfs => "mounting the tmpfs of the new root",
            Step::MakeMountPoint => "creating a mount point in the new root",
            Step::BindMount => "bind-mounting an allowed path",
            Step::RemountBind => "remounting an allowed path with its flags",
            Step::PivotRoot => "pivot_root() into the new root",
            Step::DetachOldRoot => "detaching the old root",
            Step::Chdir => "chdir() to the working directory",
            Step::LandlockRestrictSelf => "landlock_restrict_self()",
        })
    }
}

/// A kernel feature a mechanism needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KernelFeature {
    /// Seccomp filter mode (Linux 3.5, `CONFIG_SECCOMP_FILTER`).
    SeccompFilter,
    /// `SECCOMP_FILTER_FLAG_TSYNC` (Linux 3.17).
    SeccompTsync,
    /// `close_range()` (Linux 5.9) or a readable `/proc/self/fd`.
    CloseRangeOrProcFd,
    /// `SECCOMP_RET_LOG` (Linux 4.14).
    SeccompLog,
}

impl fmt::Display for KernelFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KernelFeature::SeccompFilter => {
                "seccomp filter mode (Linux 3.5, CONFIG_SECCOMP_FILTER)"
            }
            KernelFeature::SeccompTsync => "seccomp TSYNC (Linux 3.17)",
            KernelFeature::CloseRangeOrProcFd => "close_range() (Linux 5.9) or a mounted /proc",
            KernelFeature::SeccompLog => "SECCOMP_RET_LOG (Linux 4.14)",
        })
    }
}

/// Why a mechanism is not (fully) in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// The kernel lacks a feature.
    #[error("the kernel lacks {0}")]
    KernelLacks(KernelFeature),
    /// User namespaces are needed but blocked.
    #[error("user namespaces are unavailable: {0}")]
    UserNamespaces(UsernsBlock),
    /// Landlock is unusable.
    #[error("Landlock is unavailable: {0}")]
    Landlock(LandlockStatus),
    /// A capability is needed and user namespaces were not allowed to provide it.
    #[error("needs {0} (or a user namespace: add Namespaces::USER or Namespaces::AUTOMATIC)")]
    NeedsCapability(CapabilityName),
    /// The running Landlock ABI cannot restrict rights the policy names.
    #[error("Landlock ABI {abi} cannot restrict {missing} (needs ABI {needed})")]
    LandlockAbiTooOld {
        /// The running ABI.
        abi: u8,
        /// The rights it cannot restrict.
        missing: crate::fs::Fs,
        /// The ABI that can.
        needed: u8,
    },
    /// The mount-namespace fallback would grant more than the rules ask.
    #[error("the mount-namespace fallback cannot express the rule for {path_hint}: it would also grant {extra}")]
    FallbackGrantsMore {
        /// Which rule (its index in the order of `allow_path` calls) — the
        /// path itself is in the error message of `prepare`.
        path_hint: RuleIndex,
        /// What it would grant beyond the rule.
        extra: crate::fs::Fs,
    },
    /// A system call failed while applying.
    #[error("{step} failed: {}", Errno::from_raw(*errno))]
    Failed {
        /// The step.
        step: Step,
        /// Its errno.
        errno: i32,
    },
}

/// The position of a path rule in the policy (0 = first `allow_path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleIndex(pub usize);

impl fmt::Display for RuleIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "path rule #{}", self.0 + 1)
    }
}

/// The name of a capability a [`Reason`] refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CapabilityName {
    /// `CAP_SYS_ADMIN`: creating namespaces other than user.
    SysAdmin,
    /// `CAP_SETPCAP`: dropping the capability bounding set.
    SetPcap,
}

impl fmt::Display for CapabilityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapabilityName::SysAdmin => "CAP_SYS_ADMIN",
            CapabilityName::SetPcap => "CAP_SETPCAP",
        })
    }
}

/// Which id map an [`Error::IdNotOwned`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IdKind {
    /// A user id.
    Uid,
    /// A group id.
    Gid,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Uid => "uid",
            IdKind::Gid => "gid",
        })
    }
}

/// Everything that can go wrong in exile.
///
/// `prepare()` returns the errors of validation and of missing kernel
/// support; `apply()` returns [`Error::Apply`] when a system call of a
/// [`Requirement::Hard`](crate::Requirement::Hard) mechanism fails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required (Hard) mechanism cannot be put in force on this system.
    #[error("{mechanism} was required but is not available: {reason}; use Requirement::BestEffort to go on without it")]
    Unavailable {
        /// The mechanism.
        mechanism: Mechanism,
        /// Why not.
        reason: Reason,
    },
    /// A system call of a required mechanism failed in `apply`.
    #[error("{mechanism}: {step} failed: {}{}", Errno::from_raw(*errno), apply_hint(*step, *errno))]
    Apply {
        /// The mechanism being applied.
        mechanism: Mechanism,
        /// The failing step.
        step: Step,
        /// Its errno.
        errno: i32,
    },
    /// A keep-list fd is not open.
    #[error("fd {fd} is in the keep-list of close_fds but is not open")]
    KeepFdNotOpen {
        /// The fd.
        fd: i32,
    },
    /// A negative fd was given.
    #[error("fd {fd} is not a valid file descriptor number")]
    InvalidFd {
        /// The fd.
        fd: i32,
    },
    /// A user-namespace id map names an outside id the process does not own.
    #[error("cannot map outside {kind} {id} into the user namespace: a process can only map its own {kind} ({own}) into a namespace it creates")]
    IdNotOwned {
        /// Uid or gid.
        kind: IdKind,
        /// The id asked for.
        id: u32,
        /// The caller's effective id.
        own: u32,
    },
    /// Two options contradict each other.
    #[error("conflicting options: {0}")]
    Conflict(Conflict),
    /// A resource limit is malformed or cannot be raised.
    #[error("resource limit {resource}: {problem}")]
    Rlimit {
        /// The resource, e.g. `RLIMIT_NOFILE`.
        resource: String,
        /// What is wrong.
        problem: String,
    },
    /// An unknown capability name.
    #[error(
        "unknown capability {0:?} (expected a name like CAP_NET_BIND_SERVICE or net_bind_service)"
    )]
    UnknownCapability(String),
    /// A path could not be used.
    #[error("{path}: {problem}")]
    Path {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A system call name no table knows.
    #[error("unknown system call {0:?} on this architecture")]
    UnknownSyscall(String),
    /// The seccomp filter could not be built: a manual rule with an errno
    /// outside 1..=4095 or an argument past 5, or a program longer than the
    /// kernel's 4096 instructions.
    ///
    /// ```
    /// use exile::seccomp::compiler::CompileError;
    /// use exile::seccomp::rules::{Action, Rule};
    /// use exile::{Error, Policy};
    /// let policy = Policy::empty()
    ///     .no_new_privs(true)
    ///     .syscall_rule(libc::SYS_getppid as u32, Rule::always(Action::Errno(0)));
    /// let err = policy.prepare().unwrap_err();
    /// assert!(matches!(err, Error::Seccomp(CompileError::BadErrno { errno: 0, .. })));
    /// ```
    #[error("seccomp filter: {0}")]
    Seccomp(#[from] crate::seccomp::compiler::CompileError),
    /// The vow options cannot make a filter (violation action `Allow`, an
    /// errno outside 1..=4095).
    #[error("seccomp filter: {0}")]
    VowOptions(#[from] crate::vows::VowOptionsError),
    /// A vow string did not parse.
    #[error(transparent)]
    Vows(#[from] crate::vows::VowParseError),
    /// Building the Landlock ruleset failed.
    #[error("Landlock: {0}")]
    Landlock(String),
    /// Reading kernel state needed to prepare the policy failed.
    #[error("reading {what} failed: {}", Errno::from_raw(*errno))]
    Probe {
        /// What was read.
        what: String,
        /// The errno.
        errno: i32,
    },
}

/// Options that contradict each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Conflict {
    /// uid/gid maps were given, but no user namespace is requested.
    IdMapWithoutUserNamespace,
    /// `no_fs()` together with path rules.
    NoFsWithPathRules,
    /// Landlock or the fallback needs no_new_privs (or CAP_SYS_ADMIN), but
    /// `no_new_privs(false)` was asked.
    NeedsNoNewPrivs,
    /// `force_fallback()` with Landlock-only rules (network ports, scopes).
    FallbackWithLandlockOnlyRules,
    /// The mount-namespace fallback enforces the path rules, but
    /// `keep_capabilities` keeps `CAP_SYS_ADMIN`, which could undo its mounts.
    FallbackKeepsSysAdmin,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::IdMapWithoutUserNamespace => {
                "uid/gid maps are set but the policy creates no user namespace (add Namespaces::USER)"
            }
            Conflict::NoFsWithPathRules => "no_fs() forbids every path, but the policy also has path rules",
            Conflict::NeedsNoNewPrivs => {
                "Landlock and seccomp need no_new_privs (or CAP_SYS_ADMIN), but no_new_privs(false) was asked"
            }
            Conflict::FallbackWithLandlockOnlyRules => {
                "force_fallback() cannot enforce Landlock-only rules (TCP port rules, scopes)"
            }
            Conflict::FallbackKeepsSysAdmin => {
                "the path rules are enforced by the mount-namespace fallback, which CAP_SYS_ADMIN could undo (remount, unmount), but keep_capabilities keeps CAP_SYS_ADMIN"
            }
        })
    }
}

fn apply_hint(step: Step, errno: i32) -> &'static str {
    match (step, Errno::from_raw(errno)) {
        (Step::UnshareUser, Errno::EINVAL) => {
            " (a multi-threaded process cannot create a user namespace: apply before starting threads, or in a child with exile::launch)"
        }
        (Step::UnshareUser, Errno::EPERM) => " (user namespaces may be blocked by a sysctl, AppArmor or a seccomp filter)",
        (Step::InstallSeccomp, Errno::EACCES) => " (set no_new_privs or hold CAP_SYS_ADMIN)",
        (Step::CheckSingleThreaded | Step::UnshareMount, Errno::EINVAL) => {
            " (the process has more than one thread, and this restriction would bind only the calling thread: Landlock before ABI 8, seccomp without TSYNC, a mount namespace; apply before starting threads, or in a child with exile::launch)"
        }
        _ => "",
    }
}

impl Error {
    /// The errno behind the error, when a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Apply { errno, .. } | Error::Probe { errno, .. } => {
                Some(Errno::from_raw(*errno))
            }
            Error::Unavailable {
                reason: Reason::Failed { errno, .. },
                ..
            } => Some(Errno::from_raw(*errno)),
            _ => None,
        }
    }
}
