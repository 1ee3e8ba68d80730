//! Process hardening: closing inherited fds, resource limits, not-dumpable,
//! no_new_privs and dropping capabilities.
//!
//! The `apply_*` functions here run inside [`Prepared::apply`](crate::Prepared::apply):
//! they only make system calls and never allocate.

use std::fmt;
use std::os::fd::RawFd;
use std::str::FromStr;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Step};
use crate::sys;

/// A Linux capability, by number (`CAP_CHOWN` = 0 … `CAP_CHECKPOINT_RESTORE` = 40).
///
/// ```
/// use exile::Capability;
/// let cap: Capability = "CAP_NET_BIND_SERVICE".parse()?;
/// assert_eq!(cap, Capability::NET_BIND_SERVICE);
/// assert_eq!(cap.to_string(), "CAP_NET_BIND_SERVICE");
/// assert_eq!("net_bind_service".parse::<Capability>()?, cap);
/// # Ok::<(), exile::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Capability(pub u8);

macro_rules! capabilities {
    ($($name:ident = $n:literal,)*) => {
        impl Capability {
            $(
                #[doc = concat!("`CAP_", stringify!($name), "`")]
                pub const $name: Capability = Capability($n);
            )*
            const NAMES: &'static [(&'static str, u8)] = &[$((stringify!($name), $n),)*];
        }
    };
}

capabilities! {
    CHOWN = 0, DAC_OVERRIDE = 1, DAC_READ_SEARCH = 2, FOWNER = 3, FSETID = 4, KILL = 5,
    SETGID = 6, SETUID = 7, SETPCAP = 8, LINUX_IMMUTABLE = 9, NET_BIND_SERVICE = 10,
    NET_BROADCAST = 11, NET_ADMIN = 12, NET_RAW = 13, IPC_LOCK = 14, IPC_OWNER = 15,
    SYS_MODULE = 16, SYS_RAWIO = 17, SYS_CHROOT = 18, SYS_PTRACE = 19, SYS_PACCT = 20,
    SYS_ADMIN = 21, SYS_BOOT = 22, SYS_NICE = 23, SYS_RESOURCE = 24, SYS_TIME = 25,
    SYS_TTY_CONFIG = 26, MKNOD = 27, LEASE = 28, AUDIT_WRITE = 29, AUDIT_CONTROL = 30,
    SETFCAP = 31, MAC_OVERRIDE = 32, MAC_ADMIN = 33, SYSLOG = 34, WAKE_ALARM = 35,
    BLOCK_SUSPEND = 36, AUDIT_READ = 37, PERFMON = 38, BPF = 39, CHECKPOINT_RESTORE = 40,
}

impl Capability {
    /// The bit of this capability in a 64-bit capability set.
    pub const fn bit(self) -> u64 {
        1u64 << (self.0 & 63)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Capability::NAMES.iter().find(|(_, n)| *n == self.0) {
            Some((name, _)) => write!(f, "CAP_{name}"),
            None => write!(f, "capability {}", self.0),
        }
    }
}

impl FromStr for Capability {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let upper = s.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
        Capability::NAMES
            .iter()
            .find(|(name, _)| *name == bare)
            .map(|(_, n)| Capability(*n))
            .ok_or_else(|| Error::UnknownCapability(s.to_owned()))
    }
}

/// A resource limit (`RLIMIT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Resource {
    /// `RLIMIT_AS`: address space size.
    AddressSpace,
    /// `RLIMIT_CORE`: core file size.
    Core,
    /// `RLIMIT_CPU`: CPU seconds.
    Cpu,
    /// `RLIMIT_DATA`: data segment size.
    Data,
    /// `RLIMIT_FSIZE`: largest file that can be written.
    FileSize,
    /// `RLIMIT_LOCKS`: file locks.
    Locks,
    /// `RLIMIT_MEMLOCK`: locked memory.
    MemLock,
    /// `RLIMIT_MSGQUEUE`: POSIX message queue bytes.
    MsgQueue,
    /// `RLIMIT_NICE`: nice ceiling.
    Nice,
    /// `RLIMIT_NOFILE`: one more than the highest fd number that can be opened.
    NoFile,
    /// `RLIMIT_NPROC`: processes of the real uid.
    NProc,
    /// `RLIMIT_RSS`.
    Rss,
    /// `RLIMIT_RTPRIO`.
    RtPrio,
    /// `RLIMIT_RTTIME`.
    RtTime,
    /// `RLIMIT_SIGPENDING`.
    SigPending,
    /// `RLIMIT_STACK`.
    Stack,
}

impl Resource {
    /// The `RLIMIT_*` constant.
    pub const fn raw(self) -> libc::c_int {
        (match self {
            Resource::AddressSpace => libc::RLIMIT_AS,
            Resource::Core => libc::RLIMIT_CORE,
            Resource::Cpu => libc::RLIMIT_CPU,
            Resource::Data => libc::RLIMIT_DATA,
            Resource::FileSize => libc::RLIMIT_FSIZE,
            Resource::Locks => libc::RLIMIT_LOCKS,
            Resource::MemLock => libc::RLIMIT_MEMLOCK,
            Resource::MsgQueue => libc::RLIMIT_MSGQUEUE,
            Resource::Nice => libc::RLIMIT_NICE,
            Resource::NoFile => libc::RLIMIT_NOFILE,
            Resource::NProc => libc::RLIMIT_NPROC,
            Resource::Rss => libc::RLIMIT_RSS,
            Resource::RtPrio => libc::RLIMIT_RTPRIO,
            Resource::RtTime => libc::RLIMIT_RTTIME,
            Resource::SigPending => libc::RLIMIT_SIGPENDING,
            Resource::Stack => libc::RLIMIT_STACK,
        }) as libc::c_int
    }

    /// The C name, e.g. `RLIMIT_NOFILE`.
    pub const fn name(self) -> &'static str {
        match self {
            Resource::AddressSpace => "RLIMIT_AS",
            Resource::Core => "RLIMIT_CORE",
            Resource::Cpu => "RLIMIT_CPU",
            Resource::Data => "RLIMIT_DATA",
            Resource::FileSize => "RLIMIT_FSIZE",
            Resource::Locks => "RLIMIT_LOCKS",
            Resource::MemLock => "RLIMIT_MEMLOCK",
            Resource::MsgQueue => "RLIMIT_MSGQUEUE",
            Resource::Nice => "RLIMIT_NICE",
            Resource::NoFile => "RLIMIT_NOFILE",
            Resource::NProc => "RLIMIT_NPROC",
            Resource::Rss => "RLIMIT_RSS",
            Resource::RtPrio => "RLIMIT_RTPRIO",
            Resource::RtTime => "RLIMIT_RTTIME",
            Resource::SigPending => "RLIMIT_SIGPENDING",
            Resource::Stack => "RLIMIT_STACK",
        }
    }
}

/// `RLIM_INFINITY`.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Read the current (soft, hard) limit of a resource.
pub(crate) fn getrlimit(resource: Resource) -> Result<(u64, u64), Errno> {
    let mut lim = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: prlimit64 on ourselves with a NULL new limit writes only `lim`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            resource.raw(),
            std::ptr::null::<libc::rlimit64>(),
            &mut lim as *mut libc::rlimit64,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok((lim.rlim_cur, lim.rlim_max))
    }
}

/// Close every fd except those in `keep` (sorted ascending, no duplicates).
///
/// With `close_range` the gaps between kept fds are closed in one call each;
/// without it `/proc/self/fd` is listed (never one call per possible fd).
pub(crate) fn close_fds(keep: &[RawFd], have_close_range: bool) -> Result<(), (Step, Errno)> {
    if have_close_range {
        let mut first: u32 = 0;
        for &fd in keep {
            let fd = fd as u32;
            if fd > first {
                sys::close_range(first, fd - 1, 0).map_err(|e| (Step::CloseRange, e))?;
            }
            first = fd + 1;
        }
        return sys::close_range(first, u32::MAX, 0).map_err(|e| (Step::CloseRange, e));
    }
    close_fds_by_listing(keep)
}

fn close_fds_by_listing(keep: &[RawFd]) -> Result<(), (Step, Errno)> {
    let dir = sys::open(c"/proc/self/fd", libc::O_RDONLY | libc::O_DIRECTORY)
        .map_err(|e| (Step::ListFds, e))?;
    let mut buf = [0u8; 2048];
    let result = loop {
        let n = match sys::getdents64(dir, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err((Step::ListFds, e)),
        };
        let mut off = 0;
        // linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name[].
        while off + 19 <= n {
            let reclen = usize::from(u16::from_ne_bytes([buf[off + 16], buf[off + 17]]));
            if reclen == 0 || off + reclen > n {
                break;
            }
            let name = &buf[off + 19..off + reclen];
            if let Some(fd) = parse_fd(name) {
                if fd != dir && keep.binary_search(&fd).is_err() {
                    sys::close(fd).map_err(|e| (Step::CloseFd, e))?;
                }
            }
            off += reclen;
        }
    };
    let _ = sys::close(dir);
    result
}

/// Parse a NUL-terminated decimal name from a directory entry.
fn parse_fd(name: &[u8]) -> Option<RawFd> {
    let mut v: i64 = 0;
    let mut digits = 0;
    for &b in name {
        match b {
            0 => break,
            b'0'..=b'9' => {
                v = v * 10 + i64::from(b - b'0');
                digits += 1;
                if v > i64::from(i32::MAX) {
                    return None;
                }
            }
            _ => return None,
        }
    }
    (digits > 0).then_some(v as RawFd)
}

/// Drop capabilities: bounding set (all up to `last_cap` not in `keep`),
/// ambient (all), then effective/permitted/inheritable to `keep ∩ permitted`.
pub(crate) fn drop_capabilities(
    keep: u64,
    last_cap: u32,
    drop_bounding: bool,
) -> Result<(), (Step, Errno)> {
    if drop_bounding {
        for cap in 0..=last_cap.min(63) {
            if keep & (1u64 << cap) != 0 {
                continue;
            }
            match sys::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) {
                Ok(_) | Err(Errno::EINVAL) => {}
                Err(e) => return Err((Step::DropBoundingSet, e)),
            }
        }
    }
    match sys::prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
        0,
        0,
    ) {
        // EINVAL: a kernel without ambient capabilities (< 4.3): nothing to clear.
        Ok(_) | Err(Errno::EINVAL) => {}
        Err(e) => return Err((Step::ClearAmbient, e)),
    }
    let current = sys::capget().map_err(|e| (Step::Capset, e))?;
    let kept = keep & current.permitted;
    sys::capset(sys::CapSets {
        effective: kept,
        permitted: kept,
        inheritable: kept,
    })
    .map_err(|e| (Step::Capset, e))
}

/// Read `/proc/sys/kernel/cap_last_cap` (falls back to 40, Linux 5.9+'s value).
pub(crate) fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_fd_names() {
        assert_eq!(parse_fd(b"12\0"), Some(12));
        assert_eq!(parse_fd(b".\0"), None);
        assert_eq!(parse_fd(b"..\0"), None);
        assert_eq!(parse_fd(b"\0"), None);
        assert_eq!(parse_fd(b"99999999999\0"), None);
    }

    #[test]
    fn capability_names_round_trip() {
        for (name, n) in Capability::NAMES {
            let cap: Capability = format!("CAP_{name}").parse().unwrap();
            assert_eq!(cap, Capability(*n));
            assert_eq!(cap.to_string(), format!("CAP_{name}"));
        }
        assert!(matches!(
            "CAP_NOPE".parse::<Capability>(),
            Err(Error::UnknownCapability(_))
        ));
    }
}
