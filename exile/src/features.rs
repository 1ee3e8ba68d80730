//! What the running kernel can do: seccomp modes and actions, Landlock ABI,
//! user namespaces (and why they are blocked), `close_range`.
//!
//! [`Features::detect`] asks the kernel itself, with calls that change
//! nothing in the caller (a probe that would change the caller runs in a
//! forked child). [`Policy::prepare`](crate::Policy::prepare) runs it, so a
//! policy decides what a missing feature means from facts, never guesses.
//!
//! ```
//! let features = exile::Features::detect();
//! println!("Landlock ABI {}", features.landlock.abi);
//! if let Err(why) = &features.user_namespaces {
//!     println!("no user namespaces: {why}");
//! }
//! ```

use std::ffi::CStr;
use std::fmt;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::sys;

/// Everything exile detects about the running kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    /// `uname -r` of the running kernel.
    pub kernel_release: String,
    /// Seccomp filter mode (`SECCOMP_MODE_FILTER`, Linux 3.5).
    pub seccomp_filter: bool,
    /// The `seccomp()` system call (Linux 3.17); otherwise filters are
    /// installed with `prctl(PR_SET_SECCOMP)`.
    pub seccomp_syscall: bool,
    /// `SECCOMP_FILTER_FLAG_TSYNC`: a filter can cover every thread.
    pub tsync: bool,
    /// `SECCOMP_RET_KILL_PROCESS` (Linux 4.14); otherwise only the
    /// offending thread is killed.
    pub kill_process: bool,
    /// `SECCOMP_RET_LOG` (Linux 4.14).
    pub ret_log: bool,
    /// `SECCOMP_RET_USER_NOTIF` (Linux 5.0).
    pub user_notif: bool,
    /// Landlock: ABI version and why it is 0.
    pub landlock: Landlock,
    /// User namespaces usable by this process: `Ok(())`, or why not.
    pub user_namespaces: Result<(), UsernsBlock>,
    /// `close_range()` (Linux 5.9).
    pub close_range: bool,
    /// The calling process has `CAP_SYS_ADMIN` in its user namespace
    /// (namespaces other than user need it, or a user namespace).
    pub cap_sys_admin: bool,
    /// The calling process has `CAP_SETPCAP` (needed to drop the bounding set).
    pub cap_setpcap: bool,
}

/// Landlock support of the running kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landlock {
    /// ABI version (0: Landlock is unusable).
    pub abi: u8,
    /// Why the ABI is what it is.
    pub status: LandlockStatus,
}

/// Why Landlock is or is not usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LandlockStatus {
    /// Built and enabled.
    Enabled,
    /// `ENOSYS`: the kernel is not built with Landlock (or a seccomp filter
    /// hides the system call).
    NotBuilt,
    /// `EOPNOTSUPP`: built, but not enabled at boot (`CONFIG_LSM` or the
    /// `lsm=` boot parameter lacks `landlock`).
    NotEnabled,
    /// Another error from `landlock_create_ruleset` (the errno).
    Error(i32),
}

impl fmt::Display for LandlockStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Enabled => f.write_str("enabled"),
            Self::NotBuilt => f.write_str(
                "landlock_create_ruleset returns ENOSYS: kernel built without Landlock, or a seccomp filter hides it",
            ),
            Self::NotEnabled => f.write_str(
                "Landlock is built but not enabled: add `landlock` to the `lsm=` boot parameter (or CONFIG_LSM)",
            ),
            Self::Error(e) => write!(f, "landlock_create_ruleset failed: {}", Errno::from_raw(*e)),
        }
    }
}

/// Why user namespaces cannot be used by this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum UsernsBlock {
    /// The kernel is built without `CONFIG_USER_NS`.
    #[error("the kernel is built without user namespaces (CONFIG_USER_NS)")]
    NotBuilt,
    /// `user.max_user_namespaces` is 0.
    #[error("the sysctl user.max_user_namespaces is 0")]
    MaxUserNamespacesZero,
    /// Debian's `kernel.unprivileged_userns_clone` is 0 and the caller is unprivileged.
    #[error("the sysctl kernel.unprivileged_userns_clone is 0 (Debian) and the caller lacks CAP_SYS_ADMIN")]
    UnprivilegedUsernsClone,
    /// Ubuntu's `kernel.apparmor_restrict_unprivileged_userns` is 1: unshare
    /// succeeds, but the new namespace grants no capabilities.
    #[error("AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): the namespace is created but grants no capabilities")]
    AppArmorRestricted,
    /// The process has more than one thread (`unshare(CLONE_NEWUSER)` needs a
    /// single-threaded caller).
    #[error("the process is multi-threaded; unshare(CLONE_NEWUSER) needs a single thread")]
    MultiThreaded,
    /// A step failed for another reason (e.g. a seccomp filter, a chroot,
    /// the nesting limit).
    #[error("{step} failed with {}", Errno::from_raw(*.errno))]
    Failed {
        /// What failed: `unshare(CLONE_NEWUSER)`, `write uid_map`, …
        step: UsernsStep,
        /// The errno.
        errno: i32,
    },
}

/// The steps of the user-namespace probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsernsStep {
    /// `unshare(CLONE_NEWUSER)`.
    Unshare,
    /// Writing `/proc/self/setgroups`, `uid_map` or `gid_map`.
    WriteMaps,
    /// A privileged operation inside the namespace (`unshare(CLONE_NEWNS)`
    /// and making `/` private).
    PrivilegedOp,
    /// Forking the probe child.
    Fork,
}

impl fmt::Display for UsernsStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unshare => "unshare(CLONE_NEWUSER)",
            Self::WriteMaps => "writing the uid/gid maps",
            Self::PrivilegedOp => "a privileged operation inside the new user namespace",
            Self::Fork => "fork() for the probe",
        })
    }
}

const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;
const SECCOMP_FILTER_FLAG_TSYNC: libc::c_uint = 1;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;

fn action_available(action: u32) -> bool {
    sys::seccomp(SECCOMP_GET_ACTION_AVAIL, 0, (&action as *const u32).cast()).is_ok()
}

fn read_sysctl(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Capability numbers used here: CAP_SETPCAP = 8, CAP_SYS_ADMIN = 21.
fn has_cap(effective: u64, cap: u32) -> bool {
    effective & (1u64 << cap) != 0
}

impl Features {
    /// Detect the running kernel's features.
    ///
    /// Costs a handful of system calls and one short-lived forked child
    /// (the user-namespace probe). Nothing is cached: call it once and pass
    /// the result to [`Policy::prepare_with`](crate::Policy::prepare_with) to
    /// reuse it.
    pub fn detect() -> Features {
        let kernel_release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();

        // prctl(PR_SET_SECCOMP, FILTER, NULL): EFAULT when filter mode
        // exists (the NULL program is read first), EINVAL when it does not.
        let seccomp_filter = matches!(
            sys::prctl(libc::PR_SET_SECCOMP, 2, 0, 0, 0),
            Err(Errno::EFAULT)
        );
        // seccomp(SET_MODE_FILTER, TSYNC, NULL): ENOSYS without the syscall,
        // EINVAL for an unknown flag, EFAULT when both exist.
        let tsync_probe = sys::seccomp(
            SECCOMP_SET_MODE_FILTER,
            SECCOMP_FILTER_FLAG_TSYNC,
            std::ptr::null(),
        );
        let seccomp_syscall = !matches!(tsync_probe, Err(Errno::ENOSYS));
        let tsync = matches!(tsync_probe, Err(Errno::EFAULT));
        let (kill_process, ret_log, user_notif) = if seccomp_syscall {
            (
                action_available(SECCOMP_RET_KILL_PROCESS),
                action_available(SECCOMP_RET_LOG),
                action_available(SECCOMP_RET_USER_NOTIF),
            )
        } else {
            (false, false, false)
        };

        let landlock = match sys::landlock_abi_version() {
            Ok(v) => Landlock {
                abi: v.clamp(0, 255) as u8,
                status: LandlockStatus::Enabled,
            },
            Err(Errno::ENOSYS) => Landlock {
                abi: 0,
                status: LandlockStatus::NotBuilt,
            },
            Err(Errno::EOPNOTSUPP) => Landlock {
                abi: 0,
                status: LandlockStatus::NotEnabled,
            },
            Err(e) => Landlock {
                abi: 0,
                status: LandlockStatus::Error(e as i32),
            },
        };

        // close_range(~0, ~0, 0) closes nothing and succeeds where it exists.
        let close_range = sys::close_range(u32::MAX, u32::MAX, 0).is_ok();

        let caps = sys::capget().unwrap_or_default();
        let cap_sys_admin = has_cap(caps.effective, 21);
        let cap_setpcap = has_cap(caps.effective, 8);

        let user_namespaces = probe_user_namespaces(cap_sys_admin);

        Features {
            kernel_release,
            seccomp_filter,
            seccomp_syscall,
            tsync,
            kill_process,
            ret_log,
            user_notif,
            landlock,
            user_namespaces,
            close_range,
            cap_sys_admin,
            cap_setpcap,
        }
    }
}

/// Try a user namespace in a forked child and, if it fails, explain why.
fn probe_user_namespaces(cap_sys_admin: bool) -> Result<(), UsernsBlock> {
    // Format everything before fork: the child only makes system calls.
    let uid_map = format!("{0} {0} 1\n", nix::unistd::geteuid().as_raw());
    let gid_map = format!("{0} {0} 1\n", nix::unistd::getegid().as_raw());
    let result = run_userns_probe(uid_map.as_bytes(), gid_map.as_bytes());
    let (step, errno) = match result {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    if step == UsernsStep::Unshare {
        if read_sysctl("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
            return Err(UsernsBlock::MaxUserNamespacesZero);
        }
        if !cap_sys_admin
            && read_sysctl("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0")
        {
            return Err(UsernsBlock::UnprivilegedUsernsClone);
        }
        if errno == Errno::EINVAL as i32 && !std::path::Path::new("/proc/self/ns/user").exists() {
            return Err(UsernsBlock::NotBuilt);
        }
    }
    if step == UsernsStep::PrivilegedOp
        && read_sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
            == Some("1")
    {
        return Err(UsernsBlock::AppArmorRestricted);
    }
    Err(UsernsBlock::Failed { step, errno })
}

fn run_userns_probe(uid_map: &[u8], gid_map: &[u8]) -> Result<(), (UsernsStep, i32)> {
    const SETGROUPS: &CStr = c"/proc/self/setgroups";
    const UID_MAP: &CStr = c"/proc/self/uid_map";
    const GID_MAP: &CStr = c"/proc/self/gid_map";
    const ROOT: &CStr = c"/";

    let fork_err = |e: Errno| (UsernsStep::Fork, e as i32);
    let (rd, wr) = sys::pipe().map_err(fork_err)?;
    let pid = match sys::fork() {
        Ok(pid) => pid,
        Err(e) => {
            let _ = sys::close(rd);
            let _ = sys::close(wr);
            return Err(fork_err(e));
        }
    };
    if pid == 0 {
        // Child: system calls only, then report (step, errno) as 8 bytes.
        let outcome: (i32, i32) = (|| {
            sys::unshare(libc::CLONE_NEWUSER)
                .map_err(|e| (UsernsStep::Unshare as i32, e as i32))?;
            let maps = || -> Result<(), Errno> {
                sys::write_file(SETGROUPS, b"deny")?;
                sys::write_file(UID_MAP, uid_map)?;
                sys::write_file(GID_MAP, gid_map)
            };
            crate::ns::with_dumpable(maps).map_err(|e| (UsernsStep::WriteMaps as i32, e as i32))?;
            sys::unshare(libc::CLONE_NEWNS)
                .map_err(|e| (UsernsStep::PrivilegedOp as i32, e as i32))?;
            sys::mount_flags(ROOT, libc::MS_REC | libc::MS_PRIVATE)
                .map_err(|e| (UsernsStep::PrivilegedOp as i32, e as i32))?;
            Ok::<(), (i32, i32)>(())
        })()
        .err()
        .unwrap_or((-1, 0));
        let mut msg = [0u8; 8];
        msg[..4].copy_from_slice(&outcome.0.to_ne_bytes());
        msg[4..].copy_from_slice(&outcome.1.to_ne_bytes());
        let _ = sys::write_all(wr, &msg);
        sys::exit_now(0);
    }
    let _ = sys::close(wr);
    let mut msg = [0u8; 8];
    let n = sys::read(rd, &mut msg);
    let _ = sys::close(rd);
    let status = sys::waitpid(pid);
    if n != Ok(8) || status.is_err() {
        // The child died before reporting (e.g. killed by a seccomp filter).
        return Err((UsernsStep::Unshare, Errno::ECHILD as i32));
    }
    let step = i32::from_ne_bytes([msg[0], msg[1], msg[2], msg[3]]);
    let errno = i32::from_ne_bytes([msg[4], msg[5], msg[6], msg[7]]);
    match step {
        -1 => Ok(()),
        s if s == UsernsStep::Unshare as i32 => Err((UsernsStep::Unshare, errno)),
        s if s == UsernsStep::WriteMaps as i32 => Err((UsernsStep::WriteMaps, errno)),
        _ => Err((UsernsStep::PrivilegedOp, errno)),
    }
}
