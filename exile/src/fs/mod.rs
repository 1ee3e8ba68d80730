//! Filesystem rules: which paths the process may still use, and how.
//!
//! Landlock enforces them where the kernel has it ([`landlock`]); otherwise
//! (or when [`Policy::force_fallback`](crate::Policy::force_fallback) asks)
//! a user + mount namespace with a private tmpfs root that holds only
//! bind mounts of the allowed paths ([`fallback`]).
//!
//! ```no_run
//! use exile::{Fs, Policy};
//! let prepared = Policy::new()
//!     .allow_path("/usr", Fs::READ | Fs::EXEC)
//!     .allow_path("/tmp/out", Fs::ALL_WRITE | Fs::READ)
//!     .prepare()?;
//! # Ok::<(), exile::Error>(())
//! ```

pub mod fallback;
pub mod landlock;

use std::fmt;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use bitflags::bitflags;
use serde::{Deserialize, Serialize};

use crate::error::Error;

bitflags! {
    /// Access rights on a path (and, for directories, beneath it).
    ///
    /// The fine-grained rights have Landlock's values; the composite ones
    /// mean what exile.h's path flags meant.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
    pub struct Fs: u64 {
        /// Execute a file.
        const EXECUTE = 1 << 0;
        /// Open a file for writing.
        const WRITE_FILE = 1 << 1;
        /// Open a file for reading.
        const READ_FILE = 1 << 2;
        /// List a directory.
        const READ_DIR = 1 << 3;
        /// Remove an empty directory (or rename one away).
        const REMOVE_DIR = 1 << 4;
        /// Unlink a file (or rename one away).
        const REMOVE_FILE = 1 << 5;
        /// Create a character device.
        const MAKE_CHAR = 1 << 6;
        /// Create a directory.
        const MAKE_DIR = 1 << 7;
        /// Create a regular file.
        const MAKE_REG = 1 << 8;
        /// Create a unix socket.
        const MAKE_SOCK = 1 << 9;
        /// Create a named pipe.
        const MAKE_FIFO = 1 << 10;
        /// Create a block device.
        const MAKE_BLOCK = 1 << 11;
        /// Create a symbolic link.
        const MAKE_SYM = 1 << 12;
        /// Rename or link a file into another directory (Landlock ABI 2, Linux 5.19).
        const REFER = 1 << 13;
        /// Truncate a file (Landlock ABI 3, Linux 6.2).
        const TRUNCATE = 1 << 14;
        /// ioctl on character and block devices (Landlock ABI 5, Linux 6.10).
        const IOCTL_DEV = 1 << 15;
        /// Connect to a pathname unix socket (Landlock ABI 9, Linux 7.1).
        const RESOLVE_UNIX = 1 << 16;

        /// Read files and list directories (exile.h's ALL_READ).
        const READ = Self::READ_FILE.bits() | Self::READ_DIR.bits();
        /// Write to files.
        const WRITE = Self::WRITE_FILE.bits();
        /// Execute files (exile.h's EXEC).
        const EXEC = Self::EXECUTE.bits();
        /// Create directories, regular files, sockets, fifos and symlinks.
        const CREATE = Self::MAKE_DIR.bits() | Self::MAKE_REG.bits() | Self::MAKE_SOCK.bits()
            | Self::MAKE_FIFO.bits() | Self::MAKE_SYM.bits();
        /// Remove files and directories.
        const REMOVE = Self::REMOVE_DIR.bits() | Self::REMOVE_FILE.bits();
        /// Create device nodes (exile.h's DEV); directories only.
        const DEV = Self::MAKE_CHAR.bits() | Self::MAKE_BLOCK.bits();
        /// exile.h's ALL_READ: read files, list directories.
        const ALL_READ = Self::READ.bits();
        /// exile.h's ALL_WRITE: write and truncate files, and in directories
        /// create, remove and move entries — but not device nodes.
        const ALL_WRITE = Self::WRITE_FILE.bits() | Self::TRUNCATE.bits() | Self::CREATE.bits()
            | Self::REMOVE.bits() | Self::REFER.bits();
    }
}

impl Fs {
    /// Rights that only mean something on a directory.
    pub const DIR_ONLY: Fs = Fs::READ_DIR
        .union(Fs::REMOVE)
        .union(Fs::DEV)
        .union(Fs::CREATE)
        .union(Fs::REFER);

    /// The rights every Landlock ABI restricts, and that exile restricts
    /// whenever a policy has path rules (classic unveil semantics).
    pub const BASELINE: Fs = Fs::EXECUTE
        .union(Fs::WRITE_FILE)
        .union(Fs::READ_FILE)
        .union(Fs::READ_DIR)
        .union(Fs::REMOVE)
        .union(Fs::CREATE)
        .union(Fs::DEV);

    /// The Landlock ABI that introduced a (single) right.
    pub fn landlock_abi(self) -> u8 {
        if self.intersects(Fs::RESOLVE_UNIX) {
            9
        } else if self.intersects(Fs::IOCTL_DEV) {
            5
        } else if self.intersects(Fs::TRUNCATE) {
            3
        } else if self.intersects(Fs::REFER) {
            2
        } else {
            1
        }
    }

    /// Every right a Landlock ABI can restrict.
    ///
    /// ```
    /// use exile::Fs;
    /// assert!(!Fs::handled_by_abi(2).contains(Fs::TRUNCATE));
    /// assert!(Fs::handled_by_abi(3).contains(Fs::TRUNCATE));
    /// assert!(Fs::handled_by_abi(0).is_empty());
    /// ```
    pub fn handled_by_abi(abi: u8) -> Fs {
        Fs::all()
            .iter()
            .filter(|r| abi >= 1 && r.landlock_abi() <= abi)
            .collect()
    }

    /// Lower-case names of the single rights in this set, e.g. `read_file, truncate`.
    pub fn names(self) -> String {
        self.iter_names()
            .filter(|(_, r)| r.bits().is_power_of_two())
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("(none)")
        } else {
            f.write_str(&self.names())
        }
    }
}

/// The kind of file a rule's path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Device,
}

/// A validated path rule: the path opened `O_PATH` at prepare time.
#[derive(Debug)]
pub(crate) struct PathRule {
    pub(crate) path: PathBuf,
    pub(crate) fd: OwnedFd,
    pub(crate) rights: Fs,
    pub(crate) kind: Kind,
}

fn path_error(path: &Path, problem: impl Into<String>) -> Error {
    Error::Path {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

/// Validate a path rule and open its path: absolute, existing (a dangling
/// symlink is named as such), rights that fit the file type.
pub(crate) fn open_rule(path: &Path, rights: Fs) -> Result<PathRule, Error> {
    if !path.is_absolute() {
        return Err(path_error(path, "path rules need an absolute path"));
    }
    if rights.is_empty() {
        return Err(path_error(path, "a path rule needs at least one right"));
    }
    if path.as_os_str().as_bytes().contains(&0) {
        return Err(path_error(path, "the path contains a NUL byte"));
    }
    let fd = nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| {
        let dangling = e == nix::errno::Errno::ENOENT && std::fs::symlink_metadata(path).is_ok();
        if dangling {
            path_error(
                path,
                "is a dangling symbolic link (its target does not exist)",
            )
        } else if e == nix::errno::Errno::ENOENT {
            path_error(path, "does not exist (path rules need existing paths)")
        } else {
            path_error(path, format!("cannot be opened: {e}"))
        }
    })?;
    let st = nix::sys::stat::fstat(&fd).map_err(|e| path_error(path, format!("fstat: {e}")))?;
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFCHR | libc::S_IFBLK => Kind::Device,
        _ => Kind::File,
    };
    if kind != Kind::Dir && rights.intersects(Fs::DIR_ONLY) {
        return Err(path_error(
            path,
            format!(
                "is not a directory, but the rule gives it directory-only rights: {}",
                rights & Fs::DIR_ONLY
            ),
        ));
    }
    Ok(PathRule {
        path: path.to_owned(),
        fd,
        rights,
        kind,
    })
}

/// Landlock network and scope rules of a policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NetRules {
    pub(crate) tcp_bind: Vec<u16>,
    pub(crate) tcp_connect: Vec<u16>,
    /// Restrict TCP even with no port allowed (`no_network` through Landlock).
    pub(crate) restrict_tcp: bool,
    /// Restrict UDP too (`no_network` through Landlock, ABI 10).
    pub(crate) restrict_udp: bool,
}

bitflags! {
    /// Landlock scopes (ABI 6, Linux 6.12): IPC the sandbox may not reach
    /// outside itself.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub struct Scope: u64 {
        /// Connecting to abstract unix sockets created outside the sandbox.
        const ABSTRACT_UNIX_SOCKET = 1 << 0;
        /// Sending signals to processes outside the sandbox.
        const SIGNAL = 1 << 1;
    }
}
