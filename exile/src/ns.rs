//! Namespaces: user (with uid/gid maps and setgroups denied), mount,
//! network, IPC, UTS and cgroup.
//!
//! ```no_run
//! use exile::{Namespaces, Policy};
//! // No network for this process. Unprivileged, AUTOMATIC adds a user
//! // namespace so that the network namespace can be created at all.
//! let policy = Policy::new().namespaces(Namespaces::NETWORK | Namespaces::AUTOMATIC);
//! let report = policy.prepare()?.apply()?;
//! # Ok::<(), exile::Error>(())
//! ```

use std::ffi::CStr;

use bitflags::bitflags;
use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::Step;
use crate::report::Mechanism;
use crate::sys;

bitflags! {
    /// The namespaces a policy creates.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub struct Namespaces: u32 {
        /// A user namespace: the process is mapped to one inside uid/gid
        /// (its own ids unless [`Policy::uid_map`](crate::Policy::uid_map)
        /// says otherwise) and `setgroups` is denied.
        const USER = 1 << 0;
        /// A mount namespace; every mount in it is made private so nothing
        /// propagates back to the parent.
        const MOUNT = 1 << 1;
        /// A network namespace: only a loopback interface, down.
        const NETWORK = 1 << 2;
        /// An IPC namespace: no shared System V IPC or POSIX message queues.
        const IPC = 1 << 3;
        /// A UTS namespace: the host name can be changed privately.
        const UTS = 1 << 4;
        /// A cgroup namespace: the cgroup tree seen is rooted at the current cgroup.
        const CGROUP = 1 << 5;
        /// Not a namespace: add [`USER`](Namespaces::USER) whenever another
        /// requested mechanism needs privileges the process lacks (creating
        /// the other namespaces without `CAP_SYS_ADMIN`, dropping the bounding
        /// set without `CAP_SETPCAP`). Unlike exile.h's AUTOMATIC, it does
        /// something. Part of the default policy.
        const AUTOMATIC = 1 << 31;
    }
}

impl Namespaces {
    /// The namespaces other than user, with their mechanism, unshare flag and step.
    pub(crate) const OTHERS: [(Namespaces, Mechanism, libc::c_int, Step); 5] = [
        (
            Namespaces::MOUNT,
            Mechanism::MountNamespace,
            libc::CLONE_NEWNS,
            Step::UnshareMount,
        ),
        (
            Namespaces::NETWORK,
            Mechanism::NetworkNamespace,
            libc::CLONE_NEWNET,
            Step::UnshareNetwork,
        ),
        (
            Namespaces::IPC,
            Mechanism::IpcNamespace,
            libc::CLONE_NEWIPC,
            Step::UnshareIpc,
        ),
        (
            Namespaces::UTS,
            Mechanism::UtsNamespace,
            libc::CLONE_NEWUTS,
            Step::UnshareUts,
        ),
        (
            Namespaces::CGROUP,
            Mechanism::CgroupNamespace,
            libc::CLONE_NEWCGROUP,
            Step::UnshareCgroup,
        ),
    ];

    /// Whether a namespace other than user is requested.
    pub(crate) fn needs_sys_admin(self) -> bool {
        self.intersects(
            Namespaces::MOUNT
                | Namespaces::NETWORK
                | Namespaces::IPC
                | Namespaces::UTS
                | Namespaces::CGROUP,
        )
    }
}

/// One line of `/proc/self/uid_map` (`"inside outside 1\n"`), formatted at
/// prepare time into a fixed buffer so apply does not allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MapLine {
    buf: [u8; 40],
    len: usize,
}

impl MapLine {
    pub(crate) fn new(inside: u32, outside: u32) -> MapLine {
        let text = format!("{inside} {outside} 1\n");
        let mut buf = [0u8; 40];
        buf[..text.len()].copy_from_slice(text.as_bytes());
        MapLine {
            buf,
            len: text.len(),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Enter a new user namespace and write its maps.
pub(crate) fn enter_user_namespace(
    uid_map: &MapLine,
    gid_map: &MapLine,
) -> Result<(), (Step, Errno)> {
    const SETGROUPS: &CStr = c"/proc/self/setgroups";
    const UID_MAP: &CStr = c"/proc/self/uid_map";
    const GID_MAP: &CStr = c"/proc/self/gid_map";
    sys::unshare(libc::CLONE_NEWUSER).map_err(|e| (Step::UnshareUser, e))?;
    with_dumpable(|| {
        match sys::write_file(SETGROUPS, b"deny") {
            // ENOENT: kernels before 3.19 have no setgroups file (and no need for it).
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err((Step::WriteSetgroups, e)),
        }
        sys::write_file(UID_MAP, uid_map.as_bytes()).map_err(|e| (Step::WriteUidMap, e))?;
        sys::write_file(GID_MAP, gid_map.as_bytes()).map_err(|e| (Step::WriteGidMap, e))
    })
}

/// Run `f` with the process dumpable, restoring the previous state after.
///
/// A process that is not dumpable (e.g. after a setuid() from root, or an
/// earlier not-dumpable policy) has its `/proc/self` files owned by root and
/// cannot write its own uid/gid maps; the maps are written while the process
/// is briefly dumpable, and `apply` sets not-dumpable afterwards when asked.
pub(crate) fn with_dumpable<T>(f: impl FnOnce() -> T) -> T {
    let was = sys::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0);
    if was == Ok(0) {
        let _ = sys::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
    let r = f();
    if was == Ok(0) {
        let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    r
}

/// Unshare one namespace other than user; a new mount namespace has every
/// mount made private so nothing propagates back to the parent namespace.
pub(crate) fn unshare_other(flag: libc::c_int, step: Step) -> Result<(), (Step, Errno)> {
    sys::unshare(flag).map_err(|e| (step, e))?;
    if flag == libc::CLONE_NEWNS {
        sys::mount_flags(c"/", libc::MS_REC | libc::MS_PRIVATE)
            .map_err(|e| (Step::MakeMountsPrivate, e))?;
    }
    Ok(())
}
