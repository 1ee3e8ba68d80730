//! What [`Prepared::apply`](crate::Prepared::apply) put in force, mechanism
//! by mechanism.
//!
//! A [`Report`] has one [`Entry`] per [`Mechanism`]. Its `Display` is a
//! readable table:
//!
//! ```no_run
//! let prepared = exile::Policy::new().prepare()?;
//! let report = prepared.apply()?;
//! print!("{report}");
//! assert!(report.status(exile::Mechanism::NoNewPrivs).is_enforced());
//! # Ok::<(), exile::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Reason, Step};

macro_rules! mechanisms {
    ($($(#[$doc:meta])* $name:ident => $label:literal,)*) => {
        /// A restriction mechanism exile can apply; one row of a [`Report`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Mechanism {
            $($(#[$doc])* $name,)*
        }

        impl Mechanism {
            /// Every mechanism, in the order `apply` puts them in force.
            pub const ALL: &'static [Mechanism] = &[$(Mechanism::$name,)*];
            /// The number of mechanisms.
            pub const COUNT: usize = Mechanism::ALL.len();

            /// A short human-readable name.
            pub const fn label(self) -> &'static str {
                match self {
                    $(Mechanism::$name => $label,)*
                }
            }
        }
    };
}

mechanisms! {
    /// Closing inherited file descriptors.
    CloseFds => "close inherited fds",
    /// A new user namespace (uid/gid maps, setgroups denied).
    UserNamespace => "user namespace",
    /// A new mount namespace.
    MountNamespace => "mount namespace",
    /// A new network namespace (only `lo`, down).
    NetworkNamespace => "network namespace",
    /// A new IPC namespace (System V IPC, POSIX message queues).
    IpcNamespace => "ipc namespace",
    /// A new UTS namespace (host and domain name).
    UtsNamespace => "uts namespace",
    /// A new cgroup namespace.
    CgroupNamespace => "cgroup namespace",
    /// Filesystem access rules (Landlock or the mount-namespace fallback).
    Filesystem => "filesystem",
    /// No network at all (`no_network`: a network namespace, or Landlock TCP/UDP denial).
    Network => "no network",
    /// Landlock TCP port rules (`allow_tcp_bind`, `allow_tcp_connect`).
    NetworkRules => "tcp port rules",
    /// Landlock scopes (abstract unix sockets, signals).
    Scopes => "landlock scopes",
    /// Resource limits.
    Rlimits => "resource limits",
    /// `PR_SET_DUMPABLE 0`.
    NotDumpable => "not dumpable",
    /// `PR_SET_NO_NEW_PRIVS 1`.
    NoNewPrivs => "no_new_privs",
    /// Dropping capabilities (bounding, ambient, effective, permitted, inheritable).
    Capabilities => "capabilities",
    /// The seccomp filter (vows and syscall rules).
    Seccomp => "seccomp filter",
}

impl Mechanism {
    /// Position of this mechanism in [`Mechanism::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Whether a mechanism is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Status {
    /// The policy did not ask for it.
    NotRequested,
    /// Fully in force.
    Enforced,
    /// Partly in force (best effort): `missing` says what is not.
    Partial {
        /// What part is missing.
        missing: Missing,
        /// Why it is missing.
        reason: Reason,
    },
    /// Asked for (best effort) but not in force, and why.
    NotEnforced(Reason),
}

impl Status {
    /// Whether the mechanism is fully in force.
    pub const fn is_enforced(&self) -> bool {
        matches!(self, Status::Enforced)
    }
}

/// The part of a mechanism that a [`Status::Partial`] lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Missing {
    /// The capability bounding set could not be dropped.
    BoundingSet,
    /// Some resource limits could not be set.
    SomeLimits,
    /// These filesystem rights are not restricted as asked.
    FsRights(crate::fs::Fs),
    /// UDP is not restricted (Landlock before ABI 10).
    Udp,
}

/// How a mechanism is put in force, when there is a choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Via {
    /// A Landlock ruleset of this ABI.
    Landlock {
        /// The running ABI.
        abi: u8,
    },
    /// The mount-namespace fallback (private tmpfs root with bind mounts).
    MountNamespace,
    /// A network namespace.
    NetworkNamespace,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Via::Landlock { abi } => write!(f, "Landlock ABI {abi}"),
            Via::MountNamespace => f.write_str("mount-namespace fallback"),
            Via::NetworkNamespace => f.write_str("network namespace"),
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::BoundingSet => "the bounding set",
            Missing::SomeLimits => "some limits",
            Missing::FsRights(_) => "filesystem rights",
            Missing::Udp => "UDP",
        })
    }
}

/// One row of a [`Report`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The mechanism.
    pub mechanism: Mechanism,
    /// Whether it is in force.
    pub status: Status,
    /// Set when exile added the mechanism itself because another one needs
    /// it (e.g. a user namespace so an unprivileged process can create a
    /// network namespace).
    pub added_for: Option<Mechanism>,
    /// How it is (or would have been) put in force.
    pub via: Option<Via>,
}

/// What `apply` put in force: one [`Entry`] per [`Mechanism`].
///
/// The report has a fixed size and is built without allocating, so it can
/// be returned from `apply` after `fork()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    entries: [Entry; Mechanism::COUNT],
    fs_unrestricted: crate::fs::Fs,
}

impl Report {
    /// A report in which nothing was requested.
    pub(crate) const fn empty() -> Report {
        let mut entries = [Entry {
            mechanism: Mechanism::CloseFds,
            status: Status::NotRequested,
            added_for: None,
            via: None,
        }; Mechanism::COUNT];
        let mut i = 0;
        while i < Mechanism::COUNT {
            entries[i].mechanism = Mechanism::ALL[i];
            i += 1;
        }
        Report {
            entries,
            fs_unrestricted: crate::fs::Fs::empty(),
        }
    }

    /// Filesystem rights the running kernel cannot restrict and that the
    /// policy does not name (so they stay allowed everywhere). A policy that
    /// needs one of them restricted names it (e.g. in a rule, or with
    /// [`Policy::restrict_fs_rights`](crate::Policy::restrict_fs_rights)),
    /// and then fails on such a kernel when Hard.
    pub fn fs_unrestricted(&self) -> crate::fs::Fs {
        self.fs_unrestricted
    }

    pub(crate) fn set_fs_unrestricted(&mut self, rights: crate::fs::Fs) {
        self.fs_unrestricted = rights;
    }

    pub(crate) fn set_via(&mut self, mechanism: Mechanism, via: Via) {
        self.entries[mechanism.index()].via = Some(via);
    }

    /// The status of one mechanism.
    pub fn status(&self, mechanism: Mechanism) -> Status {
        self.entries[mechanism.index()].status
    }

    /// The row of one mechanism.
    pub fn entry(&self, mechanism: Mechanism) -> &Entry {
        &self.entries[mechanism.index()]
    }

    /// Every row, in the order of application.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// True when everything requested is fully enforced.
    pub fn all_enforced(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.status, Status::NotRequested | Status::Enforced))
    }

    pub(crate) fn set(&mut self, mechanism: Mechanism, status: Status) {
        self.entries[mechanism.index()].status = status;
    }

    pub(crate) fn set_added_for(&mut self, mechanism: Mechanism, by: Mechanism) {
        self.entries[mechanism.index()].added_for = Some(by);
    }

    /// Record a failed step of a best-effort mechanism (keeps the first failure).
    pub(crate) fn fail(&mut self, mechanism: Mechanism, step: Step, errno: nix::errno::Errno) {
        let entry = &mut self.entries[mechanism.index()];
        if !matches!(entry.status, Status::NotEnforced(_)) {
            entry.status = Status::NotEnforced(Reason::Failed {
                step,
                errno: errno as i32,
            });
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<20} {:<14} detail", "mechanism", "status")?;
        for e in &self.entries {
            let (status, detail): (&str, Option<&dyn fmt::Display>) = match &e.status {
                Status::NotRequested => ("-", None),
                Status::Enforced => ("enforced", None),
                Status::Partial { .. } => ("partial", Some(&e.status)),
                Status::NotEnforced(reason) => ("NOT ENFORCED", Some(reason)),
            };
            write!(f, "{:<20} {:<14}", e.mechanism.label(), status)?;
            if let Some(d) = detail {
                write!(f, " {d}")?;
            }
            if let Some(via) = e.via {
                write!(f, " [{via}]")?;
            }
            if let Some(by) = e.added_for {
                write!(f, " (added automatically for: {by})")?;
            }
            writeln!(f)?;
        }
        if !self.fs_unrestricted.is_empty() {
            writeln!(
                f,
                "not restrictable by this kernel, and not named by the policy: {}",
                self.fs_unrestricted
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::NotRequested => f.write_str("not requested"),
            Status::Enforced => f.write_str("enforced"),
            Status::Partial {
                missing: Missing::FsRights(rights),
                reason,
            } => write!(f, "not restricted: {rights}: {reason}"),
            Status::Partial { missing, reason } => write!(f, "missing {missing}: {reason}"),
            Status::NotEnforced(reason) => write!(f, "not enforced: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::UsernsBlock;

    #[test]
    fn display_is_a_table_with_every_mechanism() {
        let mut r = Report::empty();
        r.set(Mechanism::NoNewPrivs, Status::Enforced);
        r.set(Mechanism::NetworkNamespace, Status::Enforced);
        r.set(
            Mechanism::UserNamespace,
            Status::NotEnforced(Reason::UserNamespaces(UsernsBlock::MaxUserNamespacesZero)),
        );
        r.set_added_for(Mechanism::UserNamespace, Mechanism::NetworkNamespace);
        r.fail(
            Mechanism::IpcNamespace,
            Step::UnshareIpc,
            nix::errno::Errno::EPERM,
        );
        let text = r.to_string();
        for m in Mechanism::ALL {
            assert!(text.contains(m.label()), "{text}");
        }
        assert!(text.contains("user namespace       NOT ENFORCED   user namespaces are unavailable: the sysctl user.max_user_namespaces is 0 (added automatically for: network namespace)"), "{text}");
        assert!(
            text.contains(
                "ipc namespace        NOT ENFORCED   unshare(CLONE_NEWIPC) failed: EPERM"
            ),
            "{text}"
        );
        assert!(text.contains("no_new_privs         enforced"), "{text}");
        assert!(!r.all_enforced());
    }
}
