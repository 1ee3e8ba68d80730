//! [`Policy`] (what to restrict) → [`Prepared`] (validated, compiled,
//! probed) → [`Report`] (what is in force).

use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{
    CapabilityName, Conflict, Error, IdKind, KernelFeature, Reason, RuleIndex, Step,
};
use crate::features::Features;
use crate::fs::fallback::FallbackPlan;
use crate::fs::landlock::{self, LandlockPlan};
use crate::fs::{self, Fs, NetRules, Scope};
use crate::ns::{self, MapLine, Namespaces};
use crate::process::{self, Capability, Resource};
use crate::report::{Mechanism, Missing, Report, Status, Via};
use crate::seccomp::bpf::{self, SockFilter};
use crate::seccomp::compiler;
use crate::seccomp::rules::{ret, Action, FilterSpec, Rule};
use crate::seccomp::InstallFlags;
use crate::sys;
use crate::vows::{self, VowOptions, Vows};

/// How strictly a mechanism is required.
///
/// Modelled on rust-landlock's compatibility levels, for every mechanism.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Requirement {
    /// The mechanism must be in force: if this system cannot provide it,
    /// [`Policy::prepare`] fails (before anything changed), and if a system
    /// call fails while applying, [`Prepared::apply`] fails.
    #[default]
    Hard,
    /// Apply what this system can; the [`Report`] lists what is not in force
    /// and why.
    BestEffort,
}

/// What a process gives up: the builder of a sandbox.
///
/// Build it, [`prepare`](Policy::prepare) it (everything that can fail or
/// allocate happens there), then [`apply`](Prepared::apply) it.
///
/// ```no_run
/// use exile::{Namespaces, Policy, Resource};
///
/// let prepared = Policy::new()                       // no_new_privs + not dumpable
///     .namespaces(Namespaces::NETWORK | Namespaces::AUTOMATIC)
///     .close_fds(&[])                                // keep only stdin/stdout/stderr
///     .rlimit(Resource::Core, 0, 0)
///     .drop_capabilities()
///     .prepare()?;
/// let report = prepared.apply()?;
/// println!("{report}");
/// # Ok::<(), exile::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    level: Requirement,
    overrides: Vec<(Mechanism, Requirement)>,
    no_new_privs: bool,
    not_dumpable: bool,
    close_fds: Option<Vec<RawFd>>,
    rlimits: Vec<(Resource, u64, u64)>,
    keep_caps: Option<Vec<Capability>>,
    namespaces: Namespaces,
    uid_map: Option<(u32, Option<u32>)>,
    gid_map: Option<(u32, Option<u32>)>,
    paths: Vec<(PathBuf, Fs)>,
    no_fs: bool,
    force_fallback: bool,
    restrict_fs: Fs,
    chdir: Option<PathBuf>,
    no_network: bool,
    net: NetRules,
    scopes: Scope,
    vows: Option<Vows>,
    violation: Option<Action>,
    syscall_rules: Vec<(u32, Rule)>,
    syscall_default: Option<Action>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new()
    }
}

impl Policy {
    /// The default policy, like exile.h's `exile_init_policy()`:
    /// no_new_privs and not-dumpable on, [`Namespaces::AUTOMATIC`],
    /// capabilities kept, every mechanism [`Requirement::Hard`].
    pub fn new() -> Policy {
        Policy {
            no_new_privs: true,
            not_dumpable: true,
            namespaces: Namespaces::AUTOMATIC,
            ..Policy::empty()
        }
    }

    /// A policy that restricts nothing (like `exile_create_policy()`).
    pub fn empty() -> Policy {
        Policy {
            level: Requirement::Hard,
            overrides: Vec::new(),
            no_new_privs: false,
            not_dumpable: false,
            close_fds: None,
            rlimits: Vec::new(),
            keep_caps: None,
            namespaces: Namespaces::empty(),
            uid_map: None,
            gid_map: None,
            paths: Vec::new(),
            no_fs: false,
            force_fallback: false,
            restrict_fs: Fs::empty(),
            chdir: None,
            no_network: false,
            net: NetRules::default(),
            scopes: Scope::empty(),
            vows: None,
            violation: None,
            syscall_rules: Vec::new(),
            syscall_default: None,
        }
    }

    /// The requirement level of every mechanism without its own
    /// ([`requirement_for`](Policy::requirement_for)).
    pub fn requirement(mut self, level: Requirement) -> Self {
        self.level = level;
        self
    }

    /// The requirement level of one mechanism.
    ///
    /// ```
    /// use exile::{Mechanism, Policy, Requirement};
    /// let policy = Policy::new().requirement_for(Mechanism::NetworkNamespace, Requirement::BestEffort);
    /// # let _ = policy;
    /// ```
    pub fn requirement_for(mut self, mechanism: Mechanism, level: Requirement) -> Self {
        self.overrides.retain(|(m, _)| *m != mechanism);
        self.overrides.push((mechanism, level));
        self
    }

    /// Set `PR_SET_NO_NEW_PRIVS` (default on): execve can never gain
    /// privileges (setuid bits and file capabilities are ignored).
    pub fn no_new_privs(mut self, on: bool) -> Self {
        self.no_new_privs = on;
        self
    }

    /// Make the process not dumpable (default on): no core dumps, and other
    /// processes of the same user cannot ptrace it or read its `/proc` files.
    pub fn not_dumpable(mut self, on: bool) -> Self {
        self.not_dumpable = on;
        self
    }

    /// Close every inherited file descriptor except stdin, stdout, stderr and
    /// `keep`. Each fd in `keep` must be open when the policy is prepared.
    pub fn close_fds(mut self, keep: &[RawFd]) -> Self {
        self.close_fds = Some(keep.to_vec());
        self
    }

    /// Set a resource limit (soft ≤ hard; [`RLIM_INFINITY`](crate::process::RLIM_INFINITY)
    /// for no limit). A limit above the current hard limit needs
    /// `CAP_SYS_RESOURCE` and is refused at prepare time otherwise.
    pub fn rlimit(mut self, resource: Resource, soft: u64, hard: u64) -> Self {
        self.rlimits.retain(|(r, _, _)| *r != resource);
        self.rlimits.push((resource, soft, hard));
        self
    }

    /// No new file descriptors: `RLIMIT_NOFILE` 0 (open, socket, pipe, dup
    /// fail with `EMFILE`; fds already open keep working).
    pub fn no_new_fds(self) -> Self {
        self.rlimit(Resource::NoFile, 0, 0)
    }

    /// Drop every capability: bounding, ambient, effective, permitted and
    /// inheritable sets.
    pub fn drop_capabilities(self) -> Self {
        self.keep_capabilities(&[])
    }

    /// Drop every capability except `keep` (which stay in the bounding,
    /// permitted, effective and inheritable sets if the process has them;
    /// the ambient set is cleared).
    pub fn keep_capabilities(mut self, keep: &[Capability]) -> Self {
        self.keep_caps = Some(keep.to_vec());
        self
    }

    /// The namespaces to create (default: [`Namespaces::AUTOMATIC`] only).
    pub fn namespaces(mut self, namespaces: Namespaces) -> Self {
        self.namespaces = namespaces;
        self
    }

    /// Inside the user namespace, appear as uid `inside` (the process's own
    /// uid is what is mapped). Default: the own uid.
    pub fn map_uid(mut self, inside: u32) -> Self {
        self.uid_map = Some((inside, None));
        self
    }

    /// Inside the user namespace, appear as gid `inside`. Default: the own gid.
    pub fn map_gid(mut self, inside: u32) -> Self {
        self.gid_map = Some((inside, None));
        self
    }

    /// Map outside uid `outside` to `inside`. A process can only map its own
    /// effective uid into a namespace it creates; any other `outside` is an
    /// [`Error::IdNotOwned`] at prepare time.
    pub fn uid_map(mut self, inside: u32, outside: u32) -> Self {
        self.uid_map = Some((inside, Some(outside)));
        self
    }

    /// Map outside gid `outside` to `inside` (own effective gid only).
    pub fn gid_map(mut self, inside: u32, outside: u32) -> Self {
        self.gid_map = Some((inside, Some(outside)));
        self
    }

    /// Allow `path` (and, for a directory, everything beneath it) with
    /// `rights`; every path without a rule becomes inaccessible.
    ///
    /// The path must be absolute and exist when the policy is prepared; it
    /// is opened (`O_PATH`) then, so a later rename cannot swap it.
    /// Directory-only rights (create, remove, refer, devices, list) on a
    /// non-directory are an error.
    ///
    /// ```no_run
    /// use exile::{Fs, Policy};
    /// let policy = Policy::new()
    ///     .allow_path("/usr", Fs::READ | Fs::EXEC)
    ///     .allow_path("/etc/resolv.conf", Fs::READ_FILE);
    /// # let _ = policy.prepare()?;
    /// # Ok::<(), exile::Error>(())
    /// ```
    pub fn allow_path(mut self, path: impl AsRef<Path>, rights: Fs) -> Self {
        self.paths.push((path.as_ref().to_owned(), rights));
        self
    }

    /// No filesystem access at all (open fds, including stdin, stay usable).
    pub fn no_fs(mut self) -> Self {
        self.no_fs = true;
        self
    }

    /// Enforce path rules with the mount-namespace fallback even where
    /// Landlock works (exile.h's `mount_path_policies_to_chroot`).
    ///
    /// Whenever the fallback enforces the rules (forced, or because the
    /// kernel lacks Landlock), apply also drops `CAP_SYS_ADMIN` (bounding,
    /// effective, permitted, inheritable; the ambient set is cleared), which
    /// could otherwise remount an allowed path read-write or unmount it; the
    /// report lists capabilities as added for the filesystem. Keeping
    /// `CAP_SYS_ADMIN` with [`keep_capabilities`](Policy::keep_capabilities)
    /// is then a [`Conflict`](crate::error::Conflict::FallbackKeepsSysAdmin).
    pub fn force_fallback(mut self) -> Self {
        self.force_fallback = true;
        self
    }

    /// Name filesystem rights the policy needs restricted even though no
    /// rule mentions them (e.g. [`Fs::TRUNCATE`], [`Fs::IOCTL_DEV`]): a
    /// Hard policy then fails on a kernel whose Landlock cannot restrict them.
    pub fn restrict_fs_rights(mut self, rights: Fs) -> Self {
        self.restrict_fs |= rights;
        self
    }

    /// The working directory after a filesystem policy is applied (with the
    /// fallback, it must lie inside an allowed path; default `/` there).
    pub fn chdir(mut self, path: impl AsRef<Path>) -> Self {
        self.chdir = Some(path.as_ref().to_owned());
        self
    }

    /// No network: a network namespace (only `lo`, down) where one can be
    /// created, Landlock TCP (and, from ABI 10, UDP) denial otherwise. The
    /// [`Report`] says which.
    pub fn no_network(mut self) -> Self {
        self.no_network = true;
        self
    }

    /// With Landlock (ABI 4, Linux 6.7): allow `bind()` to this TCP port;
    /// binding any other port fails with `EACCES`.
    pub fn allow_tcp_bind(mut self, port: u16) -> Self {
        self.net.tcp_bind.push(port);
        self
    }

    /// With Landlock (ABI 4): allow `connect()` to this TCP port; any other
    /// port fails with `EACCES`.
    pub fn allow_tcp_connect(mut self, port: u16) -> Self {
        self.net.tcp_connect.push(port);
        self
    }

    /// Landlock scopes (ABI 6, Linux 6.12): no connecting to abstract unix
    /// sockets or signalling processes outside the sandbox.
    pub fn scope(mut self, scopes: Scope) -> Self {
        self.scopes |= scopes;
        self
    }

    /// Pledge-style promises: every system call outside `vows` gets the
    /// violation action (kill the process by default). Calling it again
    /// replaces the set.
    ///
    /// ```no_run
    /// use exile::{Policy, Vows};
    /// let report = Policy::new().vows("stdio rpath".parse()?).prepare()?.apply()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// `stdio` lets the process signal itself (`raise`, `abort`) through a
    /// rule naming the pid of the process that calls `prepare`. Applied in
    /// any other process — a [`launch`](fn@crate::launch) child, a `Command`
    /// started with [`CommandExt::sandbox`](crate::CommandExt::sandbox) —
    /// the filter is installed without that rule: the sandboxed process may
    /// not signal anyone (add `proc` for that), least of all the process
    /// that prepared its policy.
    pub fn vows(mut self, vows: Vows) -> Self {
        self.vows = Some(vows);
        self
    }

    /// What a violation of the vows does: [`Action::KillProcess`] (default;
    /// `KillThread` on kernels before 4.14, which lack it), `Errno(e)`,
    /// `Trap` or `Log` (permissive: allowed, logged; a Hard error on kernels
    /// before 4.14, which lack `SECCOMP_RET_LOG`).
    ///
    /// With `Trap`, [`Prepared::apply`] installs exile's SIGSYS handler
    /// ([`seccomp::trap`](crate::seccomp::trap)) just before the filter: it
    /// writes `exile: seccomp denied system call NAME (NR)` to stderr and the
    /// process dies of SIGSYS. A SIGSYS handler the program installed before
    /// `apply` is kept instead (that is how [`launch`](fn@crate::launch) reports
    /// the trapped call to its parent). The same holds for manual rules with
    /// the trap action. After `exec` the handler is gone (the kernel resets
    /// it), so an exec'd program just dies of SIGSYS.
    ///
    /// ```no_run
    /// use exile::seccomp::rules::Action;
    /// use exile::Policy;
    /// Policy::new()
    ///     .vows("stdio".parse()?)
    ///     .violation(Action::Trap)
    ///     .prepare()?
    ///     .apply()?;
    /// // Dies of SIGSYS after printing
    /// // "exile: seccomp denied system call socket (41)" on stderr.
    /// let _ = std::net::UdpSocket::bind("127.0.0.1:0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn violation(mut self, action: Action) -> Self {
        self.violation = Some(action);
        self
    }

    /// A manual rule for system call `nr`, checked before the vows' rules
    /// for it (the manual rule wins).
    ///
    /// ```no_run
    /// use exile::seccomp::rules::{Action, ArgCond, Rule};
    /// use exile::Policy;
    /// // write() only to stderr fails with EPERM; the vows decide the rest.
    /// let policy = Policy::new()
    ///     .vows("stdio".parse()?)
    ///     .syscall_rule(libc::SYS_write as u32, Rule::new(Action::Errno(1), vec![ArgCond::eq(0, 2)]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn syscall_rule(mut self, nr: u32, rule: Rule) -> Self {
        self.syscall_rules.push((nr, rule));
        self
    }

    /// A manual rule by system call name (see [`seccomp::syscalls`](crate::seccomp::syscalls)).
    pub fn syscall_rule_by_name(self, name: &str, rule: Rule) -> Result<Self, Error> {
        let nr = crate::seccomp::syscalls::by_name(name)
            .ok_or_else(|| Error::UnknownSyscall(name.to_owned()))?;
        Ok(self.syscall_rule(nr, rule))
    }

    /// The action for system calls no rule matches when the policy has no
    /// vows (default [`Action::Allow`]: manual rules alone form a deny-list).
    pub fn syscall_default(mut self, action: Action) -> Self {
        self.syscall_default = Some(action);
        self
    }

    fn level_of(&self, mechanism: Mechanism) -> Requirement {
        self.overrides
            .iter()
            .find(|(m, _)| *m == mechanism)
            .map_or(self.level, |(_, l)| *l)
    }

    /// Validate, compile and probe: detect the kernel's features and do
    /// everything that can fail or allocate, so that [`Prepared::apply`]
    /// only makes system calls.
    ///
    /// Errors: bad input (a keep-list fd not open, an id not owned,
    /// conflicting options, a malformed limit) and, for [`Requirement::Hard`]
    /// mechanisms, [`Error::Unavailable`] when this system cannot provide
    /// them. Nothing has been changed when `prepare` fails.
    ///
    /// Each call runs [`Features::detect`], which forks a short-lived
    /// child (about half of `prepare`'s cost, ~0.5 ms here): a program that
    /// prepares many policies detects once and calls
    /// [`prepare_with`](Policy::prepare_with).
    pub fn prepare(&self) -> Result<Prepared, Error> {
        self.prepare_with(&Features::detect())
    }

    /// [`prepare`](Policy::prepare) with features detected earlier.
    pub fn prepare_with(&self, features: &Features) -> Result<Prepared, Error> {
        let mut plan = Plan::new(features.clone());

        // Close fds.
        if let Some(keep) = &self.close_fds {
            let mut list: Vec<RawFd> = vec![0, 1, 2];
            for &fd in keep {
                if fd < 0 {
                    return Err(Error::InvalidFd { fd });
                }
                if !sys::fd_is_open(fd) {
                    return Err(Error::KeepFdNotOpen { fd });
                }
                list.push(fd);
            }
            plan.keep_fds = list;
            // Opened the way close_fds will (no stat: std's statx probe is
            // cached per process and lies after a fork into an older
            // kernel's seccomp emulation).
            let proc_fd = sys::open(c"/proc/self/fd", libc::O_RDONLY | libc::O_DIRECTORY)
                .map(|fd| {
                    let _ = sys::close(fd);
                })
                .is_ok();
            if features.close_range || proc_fd {
                plan.want(Mechanism::CloseFds, self.level_of(Mechanism::CloseFds));
            } else {
                let reason = Reason::KernelLacks(KernelFeature::CloseRangeOrProcFd);
                plan.unavailable(
                    Mechanism::CloseFds,
                    reason,
                    self.level_of(Mechanism::CloseFds),
                )?;
            }
        }

        // Filesystem and network: decide the backends first, since the
        // fallbacks need namespaces.
        let net_via_ns =
            self.no_network && (features.cap_sys_admin || features.user_namespaces.is_ok());
        let fs = self.prepare_fs(features, &mut plan, self.no_network && !net_via_ns)?;
        let mut extra_ns = Namespaces::empty();
        let mut extra_for = Vec::new();
        if fs.fallback {
            extra_ns |= Namespaces::MOUNT;
            extra_for.push((Namespaces::MOUNT, Mechanism::Filesystem));
        }
        if net_via_ns {
            extra_ns |= Namespaces::NETWORK;
            extra_for.push((Namespaces::NETWORK, Mechanism::Network));
        }

        // Namespaces: decide whether a user namespace is needed.
        let asked = self.namespaces - Namespaces::AUTOMATIC;
        let requested = asked | extra_ns;
        let mut user = requested.contains(Namespaces::USER);
        let mut user_level = self.level_of(Mechanism::UserNamespace);
        let needs_user_for = if requested.needs_sys_admin() && !features.cap_sys_admin {
            Namespaces::OTHERS
                .iter()
                .find(|(ns, ..)| requested.contains(*ns))
                .map(|(ns, m, ..)| {
                    extra_for
                        .iter()
                        .find(|(e, _)| e == ns && !asked.contains(*ns))
                        .map_or(*m, |(_, by)| *by)
                })
        } else if self.keep_caps.is_some() && !features.cap_setpcap {
            Some(Mechanism::Capabilities)
        } else {
            None
        };
        // The fallbacks always add what they need; other mechanisms only
        // with AUTOMATIC.
        let implied = matches!(
            needs_user_for,
            Some(Mechanism::Filesystem | Mechanism::Network)
        );
        if !user && (self.namespaces.contains(Namespaces::AUTOMATIC) || implied) {
            if let Some(by) = needs_user_for {
                user = true;
                user_level = self.level_of(by);
                plan.template.set_added_for(Mechanism::UserNamespace, by);
            }
        }
        if !user && (self.uid_map.is_some() || self.gid_map.is_some()) {
            return Err(Error::Conflict(Conflict::IdMapWithoutUserNamespace));
        }
        let mut user_block = None;
        if user {
            let euid = nix::unistd::geteuid().as_raw();
            let egid = nix::unistd::getegid().as_raw();
            let (uin, uout) = self
                .uid_map
                .map_or((euid, euid), |(i, o)| (i, o.unwrap_or(euid)));
            let (gin, gout) = self
                .gid_map
                .map_or((egid, egid), |(i, o)| (i, o.unwrap_or(egid)));
            if uout != euid {
                return Err(Error::IdNotOwned {
                    kind: IdKind::Uid,
                    id: uout,
                    own: euid,
                });
            }
            if gout != egid {
                return Err(Error::IdNotOwned {
                    kind: IdKind::Gid,
                    id: gout,
                    own: egid,
                });
            }
            plan.uid_map = MapLine::new(uin, uout);
            plan.gid_map = MapLine::new(gin, gout);
            match features.user_namespaces {
                Ok(()) => plan.want(Mechanism::UserNamespace, user_level),
                Err(block) => {
                    user_block = Some(block);
                    plan.unavailable(
                        Mechanism::UserNamespace,
                        Reason::UserNamespaces(block),
                        user_level,
                    )?;
                    user = false;
                }
            }
        }
        for (ns, mechanism, ..) in Namespaces::OTHERS {
            if !requested.contains(ns) {
                continue;
            }
            let by = extra_for
                .iter()
                .find(|(e, _)| *e == ns && !asked.contains(ns))
                .map(|(_, by)| *by);
            let level = self.level_of(by.unwrap_or(mechanism));
            if let Some(by) = by {
                plan.template.set_added_for(mechanism, by);
            }
            if features.cap_sys_admin || user {
                plan.want(mechanism, level);
            } else {
                let reason = match user_block {
                    Some(block) => Reason::UserNamespaces(block),
                    None => Reason::NeedsCapability(CapabilityName::SysAdmin),
                };
                plan.unavailable(mechanism, reason, level)?;
            }
        }
        if fs.fallback {
            // The fallback stands or falls with its namespaces.
            let level = self.level_of(Mechanism::Filesystem);
            let ns_ok = plan.levels[Mechanism::MountNamespace.index()].is_some();
            // Without a user namespace between the sandbox and the host,
            // the host's /proc reaches outside: /proc/PID/root and
            // /proc/PID/fd/N of a same-uid process open its files (inside
            // a user namespace ptrace checks refuse that).
            if ns_ok && !user {
                if let Some(path) = plan.fallback.as_ref().and_then(|f| f.exposes_procfs()) {
                    return Err(Error::Path {
                        path: path.to_owned(),
                        problem:
                            "the mount-namespace fallback without a user namespace (here: root \
                                  with user namespaces unavailable or not used) cannot confine a \
                                  procfs, and this rule's bind would show one: /proc/PID/root and \
                                  /proc/PID/fd reach outside the sandbox; leave /proc out of the \
                                  rules, or add Namespaces::USER"
                                .to_owned(),
                    });
                }
            }
            if ns_ok {
                plan.want(Mechanism::Filesystem, level);
            } else {
                let reason = match user_block {
                    Some(block) => Reason::UserNamespaces(block),
                    None => Reason::NeedsCapability(CapabilityName::SysAdmin),
                };
                plan.fallback = None;
                plan.unavailable(Mechanism::Filesystem, reason, level)?;
            }
        }
        if self.no_network {
            let level = self.level_of(Mechanism::Network);
            if net_via_ns && plan.levels[Mechanism::NetworkNamespace.index()].is_some() {
                plan.template
                    .set_via(Mechanism::Network, Via::NetworkNamespace);
                plan.want(Mechanism::Network, level);
            } else if !net_via_ns {
                // Decided (and built into the Landlock ruleset) by prepare_fs.
            } else {
                let reason = user_block.map_or(
                    Reason::NeedsCapability(CapabilityName::SysAdmin),
                    Reason::UserNamespaces,
                );
                plan.unavailable(Mechanism::Network, reason, level)?;
            }
        }

        // Resource limits.
        if !self.rlimits.is_empty() {
            let caps = sys::capget().unwrap_or_default();
            let can_raise = caps.effective & Capability::SYS_RESOURCE.bit() != 0;
            for &(resource, soft, hard) in &self.rlimits {
                let bad = |problem: String| Error::Rlimit {
                    resource: resource.name().to_owned(),
                    problem,
                };
                if soft > hard {
                    return Err(bad(format!(
                        "soft limit {soft} is above the hard limit {hard}"
                    )));
                }
                let (_, current_hard) = process::getrlimit(resource).map_err(|e| Error::Probe {
                    what: format!("the current {}", resource.name()),
                    errno: e as i32,
                })?;
                if hard > current_hard && !can_raise {
                    return Err(bad(format!(
                        "hard limit {hard} is above the current hard limit {current_hard}, and raising it needs CAP_SYS_RESOURCE"
                    )));
                }
                plan.rlimits.push((resource.raw(), soft, hard));
            }
            plan.want(Mechanism::Rlimits, self.level_of(Mechanism::Rlimits));
        }

        if self.not_dumpable {
            plan.want(
                Mechanism::NotDumpable,
                self.level_of(Mechanism::NotDumpable),
            );
        }
        if self.no_new_privs {
            plan.want(Mechanism::NoNewPrivs, self.level_of(Mechanism::NoNewPrivs));
        } else if plan.landlock.is_some() && !features.cap_sys_admin {
            return Err(Error::Conflict(Conflict::NeedsNoNewPrivs));
        }

        // Capabilities. Whoever holds CAP_SYS_ADMIN over the fallback's
        // mount namespace could remount its binds read-write or unmount
        // them: with the fallback in force it is always dropped.
        let fallback_in_force =
            plan.fallback.is_some() && plan.levels[Mechanism::Filesystem.index()].is_some();
        let keep_mask = match &self.keep_caps {
            Some(keep) if fallback_in_force && keep.contains(&Capability::SYS_ADMIN) => {
                return Err(Error::Conflict(Conflict::FallbackKeepsSysAdmin));
            }
            Some(keep) => Some((keep.iter().fold(0, |acc, c| acc | c.bit()), None)),
            None if fallback_in_force => Some((
                !Capability::SYS_ADMIN.bit(),
                Some(self.level_of(Mechanism::Filesystem)),
            )),
            None => None,
        };
        if let Some((keep, added_level)) = keep_mask {
            let level = added_level.unwrap_or_else(|| self.level_of(Mechanism::Capabilities));
            if added_level.is_some() {
                plan.template
                    .set_added_for(Mechanism::Capabilities, Mechanism::Filesystem);
            }
            plan.keep_caps = keep;
            plan.last_cap = process::last_cap();
            plan.drop_bounding = features.cap_setpcap || user;
            plan.want(Mechanism::Capabilities, level);
            if !plan.drop_bounding {
                let reason = match user_block {
                    Some(block) => Reason::UserNamespaces(block),
                    None => Reason::NeedsCapability(CapabilityName::SetPcap),
                };
                match level {
                    Requirement::Hard => {
                        return Err(Error::Unavailable {
                            mechanism: Mechanism::Capabilities,
                            reason,
                        })
                    }
                    Requirement::BestEffort => {
                        plan.partial[Mechanism::Capabilities.index()] = Some(Status::Partial {
                            missing: Missing::BoundingSet,
                            reason,
                        })
                    }
                }
            }
        }

        // Seccomp: compiled now, installed last by apply.
        if self.vows.is_some() || !self.syscall_rules.is_empty() || self.syscall_default.is_some() {
            let level = self.level_of(Mechanism::Seccomp);
            if !features.seccomp_filter {
                plan.unavailable(
                    Mechanism::Seccomp,
                    Reason::KernelLacks(KernelFeature::SeccompFilter),
                    level,
                )?;
            } else {
                if !self.no_new_privs && !features.cap_sys_admin {
                    return Err(Error::Conflict(Conflict::NeedsNoNewPrivs));
                }
                let mut violation = self.violation.unwrap_or(Action::KillProcess);
                if violation == Action::KillProcess && !features.kill_process {
                    violation = Action::KillThread;
                }
                if violation == Action::Log && !features.ret_log {
                    return Err(Error::Unavailable {
                        mechanism: Mechanism::Seccomp,
                        reason: Reason::KernelLacks(KernelFeature::SeccompLog),
                    });
                }
                let build = |self_pid: Option<u32>| -> Result<Vec<SockFilter>, Error> {
                    let mut spec = match self.vows {
                        Some(vows) => {
                            let options = VowOptions {
                                violation,
                                errno_override: None,
                                self_pid,
                            };
                            vows::filter_spec(vows, &options)?
                        }
                        None => FilterSpec::new(self.syscall_default.unwrap_or(Action::Allow)),
                    };
                    for (nr, rule) in self.syscall_rules.iter().rev() {
                        spec.add_first(*nr, rule.clone());
                    }
                    Ok(compiler::compile(&spec)?)
                };
                // `stdio` lets a process signal itself: its pid is a constant
                // in the filter. In any other process (a launch child, a
                // Command) that constant would be the *preparing* process,
                // which the sandboxed one could then kill: there the filter
                // built without self-signals is installed instead.
                plan.seccomp_pid = std::process::id();
                plan.seccomp = build(Some(plan.seccomp_pid))?;
                if self.vows.is_some() {
                    plan.seccomp_foreign = build(None)?;
                }
                plan.trap_handler = plan.seccomp.iter().any(|insn| {
                    insn.code == bpf::op::RET | bpf::op::K && insn.k & ret::ACTION_FULL == ret::TRAP
                });
                plan.seccomp_flags = if features.tsync {
                    InstallFlags::TSYNC
                } else {
                    InstallFlags::empty()
                };
                plan.want(Mechanism::Seccomp, level);
            }
        }

        // Fds of the plan itself survive close_fds.
        if let Some(ll) = &plan.landlock {
            plan.keep_fds.push(ll.fd());
        }
        if let Some(fb) = &plan.fallback {
            plan.keep_fds.extend(fb.fds());
        }
        plan.keep_fds.sort_unstable();
        plan.keep_fds.dedup();

        Ok(Prepared { plan })
    }

    /// Validate path rules and choose Landlock or the fallback.
    ///
    /// `no_network_landlock`: `no_network` goes through Landlock TCP/UDP
    /// denial (no namespace possible), so the one ruleset includes it.
    fn prepare_fs(
        &self,
        features: &Features,
        plan: &mut Plan,
        no_network_landlock: bool,
    ) -> Result<FsDecision, Error> {
        let wants_fs = self.no_fs || !self.paths.is_empty();
        let wants_ll_only = !self.net.tcp_bind.is_empty()
            || !self.net.tcp_connect.is_empty()
            || !self.scopes.is_empty();
        if self.no_fs && !self.paths.is_empty() {
            return Err(Error::Conflict(Conflict::NoFsWithPathRules));
        }
        if self.force_fallback && wants_ll_only {
            return Err(Error::Conflict(Conflict::FallbackWithLandlockOnlyRules));
        }
        let rules = self
            .paths
            .iter()
            .map(|(path, rights)| fs::open_rule(path, *rights))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(dir) = &self.chdir {
            if !dir.is_absolute() {
                return Err(Error::Path {
                    path: dir.clone(),
                    problem: "the working directory must be an absolute path".into(),
                });
            }
        }
        let abi = features.landlock.abi;
        let fs_level = self.level_of(Mechanism::Filesystem);
        let use_landlock = wants_fs && !self.force_fallback && abi >= 1;
        let mut decision = FsDecision { fallback: false };

        if wants_fs && use_landlock {
            let named = Fs::BASELINE
                | self.restrict_fs
                | rules.iter().fold(Fs::empty(), |acc, r| acc | r.rights);
            let handled = Fs::handled_by_abi(abi);
            // REFER is denied implicitly by ABI 1 rulesets: never a gap.
            let gaps = named - handled - Fs::REFER;
            plan.template
                .set_via(Mechanism::Filesystem, Via::Landlock { abi });
            plan.template
                .set_fs_unrestricted(Fs::all() - handled - Fs::REFER - named);
            if !gaps.is_empty() {
                let needed = gaps.iter().map(Fs::landlock_abi).max().unwrap_or(1);
                let reason = Reason::LandlockAbiTooOld {
                    abi,
                    missing: gaps,
                    needed,
                };
                match fs_level {
                    Requirement::Hard => {
                        return Err(Error::Unavailable {
                            mechanism: Mechanism::Filesystem,
                            reason,
                        })
                    }
                    Requirement::BestEffort => {
                        plan.partial[Mechanism::Filesystem.index()] = Some(Status::Partial {
                            missing: Missing::FsRights(gaps),
                            reason,
                        })
                    }
                }
            }
            plan.want(Mechanism::Filesystem, fs_level);
        } else if wants_fs {
            // The mount-namespace fallback.
            let fallback = FallbackPlan::prepare(&rules, self.chdir.as_deref())?;
            let mut extra = Fs::empty();
            let mut first_excess = None;
            for (i, excess) in fallback.excess() {
                if excess.is_empty() {
                    continue;
                }
                if fs_level == Requirement::Hard {
                    return Err(Error::Path {
                        path: rules[i].path.clone(),
                        problem: format!(
                            "the mount-namespace fallback cannot express this rule: it would also grant {excess} (Landlock is {}); use Requirement::BestEffort for Mechanism::Filesystem to accept that",
                            if self.force_fallback { "not used: force_fallback()".to_owned() } else { features.landlock.status.to_string() }
                        ),
                    });
                }
                extra |= excess;
                first_excess.get_or_insert(i);
            }
            if let Some(first) = first_excess {
                plan.partial[Mechanism::Filesystem.index()] = Some(Status::Partial {
                    missing: Missing::FsRights(extra),
                    reason: Reason::FallbackGrantsMore {
                        path_hint: RuleIndex(first),
                        extra,
                    },
                });
            }
            plan.template
                .set_via(Mechanism::Filesystem, Via::MountNamespace);
            plan.fallback = Some(Arc::new(fallback));
            decision.fallback = true;
        }

        // Landlock network port rules and scopes.
        let mut net = self.net.clone();
        if !self.net.tcp_bind.is_empty() || !self.net.tcp_connect.is_empty() {
            let level = self.level_of(Mechanism::NetworkRules);
            if landlock::net_support(abi).0 {
                plan.template
                    .set_via(Mechanism::NetworkRules, Via::Landlock { abi });
                plan.want(Mechanism::NetworkRules, level);
            } else {
                plan.unavailable(Mechanism::NetworkRules, landlock_reason(features, 4), level)?;
                net = NetRules::default();
            }
        }
        let mut scopes = self.scopes;
        if !scopes.is_empty() {
            let level = self.level_of(Mechanism::Scopes);
            if abi >= 6 {
                plan.template
                    .set_via(Mechanism::Scopes, Via::Landlock { abi });
                plan.want(Mechanism::Scopes, level);
            } else {
                plan.unavailable(Mechanism::Scopes, landlock_reason(features, 6), level)?;
                scopes = Scope::empty();
            }
        }
        if no_network_landlock {
            let level = self.level_of(Mechanism::Network);
            if let Some((tcp, udp)) = self.prepare_network_landlock(features, plan, level)? {
                net.restrict_tcp = tcp;
                net.restrict_udp = udp;
            }
        }
        plan.ll_fs = wants_fs && use_landlock;
        plan.ll_net = net;
        plan.ll_scopes = scopes;
        if plan.ll_fs
            || plan.ll_net.restrict_tcp
            || !plan.ll_net.tcp_bind.is_empty()
            || !plan.ll_net.tcp_connect.is_empty()
            || !scopes.is_empty()
        {
            plan.landlock = Some(LandlockPlan::prepare(
                &rules,
                plan.ll_fs,
                &plan.ll_net,
                scopes,
                abi,
            )?);
        }
        Ok(decision)
    }

    /// `no_network` without namespaces: Landlock TCP (and UDP) denial.
    /// Returns what to restrict (TCP, UDP), or `None` when Landlock cannot
    /// (best effort; the report says why).
    fn prepare_network_landlock(
        &self,
        features: &Features,
        plan: &mut Plan,
        level: Requirement,
    ) -> Result<Option<(bool, bool)>, Error> {
        let abi = features.landlock.abi;
        let (tcp, udp) = landlock::net_support(abi);
        if !tcp {
            let reason = match features.user_namespaces {
                Err(block) => Reason::UserNamespaces(block),
                Ok(()) => landlock_reason(features, 4),
            };
            return plan
                .unavailable(Mechanism::Network, reason, level)
                .map(|()| None);
        }
        if !udp {
            let reason = landlock_reason(features, 10);
            match level {
                Requirement::Hard => {
                    return Err(Error::Unavailable {
                        mechanism: Mechanism::Network,
                        reason,
                    })
                }
                Requirement::BestEffort => {
                    plan.partial[Mechanism::Network.index()] = Some(Status::Partial {
                        missing: Missing::Udp,
                        reason,
                    })
                }
            }
        }
        plan.template
            .set_via(Mechanism::Network, Via::Landlock { abi });
        plan.want(Mechanism::Network, level);
        Ok(Some((true, udp)))
    }
}

/// Record the result of one mechanism's step in the report; a failure of a
/// Hard mechanism becomes the error of `apply`.
fn record(
    plan: &Plan,
    report: &mut Report,
    m: Mechanism,
    r: Result<(), (Step, Errno)>,
) -> Result<(), Error> {
    let Some(level) = plan.levels[m.index()] else {
        return Ok(());
    };
    match r {
        Ok(()) => {
            report.set(m, plan.partial[m.index()].unwrap_or(Status::Enforced));
            Ok(())
        }
        Err((step, errno)) => match level {
            Requirement::Hard => Err(Error::Apply {
                mechanism: m,
                step,
                errno: errno as i32,
            }),
            Requirement::BestEffort => {
                report.fail(m, step, errno);
                Ok(())
            }
        },
    }
}

/// Why Landlock cannot provide a feature of ABI `needed`.
fn landlock_reason(features: &Features, needed: u8) -> Reason {
    if features.landlock.abi == 0 {
        Reason::Landlock(features.landlock.status)
    } else {
        Reason::LandlockAbiTooOld {
            abi: features.landlock.abi,
            missing: Fs::empty(),
            needed,
        }
    }
}

/// What `prepare_fs` decided.
struct FsDecision {
    fallback: bool,
}

/// Everything `apply` needs, computed by `prepare`.
#[derive(Clone, Debug)]
struct Plan {
    features: Features,
    /// Per mechanism: `Some(level)` when apply must put it in force.
    levels: [Option<Requirement>; Mechanism::COUNT],
    /// The report as it starts: NotEnforced lines for what prepare skipped.
    template: Report,
    /// Status to set instead of `Enforced` on success (best-effort partial).
    partial: [Option<Status>; Mechanism::COUNT],
    keep_fds: Vec<RawFd>,
    uid_map: MapLine,
    gid_map: MapLine,
    rlimits: Vec<(libc::c_int, u64, u64)>,
    keep_caps: u64,
    last_cap: u32,
    drop_bounding: bool,
    landlock: Option<LandlockPlan>,
    fallback: Option<Arc<FallbackPlan>>,
    ll_fs: bool,
    ll_net: NetRules,
    ll_scopes: Scope,
    seccomp: Vec<SockFilter>,
    /// The process `seccomp` was built for (its self-signal rules name it).
    seccomp_pid: u32,
    /// The filter for any other process: no self-signal rules (empty when
    /// the policy has no vows, so `seccomp` fits every process).
    seccomp_foreign: Vec<SockFilter>,
    seccomp_flags: InstallFlags,
    /// The filter can return `SECCOMP_RET_TRAP`: apply installs exile's
    /// SIGSYS report handler unless the program has its own.
    trap_handler: bool,
}

impl Plan {
    fn new(features: Features) -> Plan {
        Plan {
            features,
            levels: [None; Mechanism::COUNT],
            template: Report::empty(),
            partial: [None; Mechanism::COUNT],
            keep_fds: Vec::new(),
            uid_map: MapLine::new(0, 0),
            gid_map: MapLine::new(0, 0),
            rlimits: Vec::new(),
            keep_caps: 0,
            last_cap: 40,
            drop_bounding: false,
            landlock: None,
            fallback: None,
            ll_fs: false,
            ll_net: NetRules::default(),
            ll_scopes: Scope::empty(),
            seccomp: Vec::new(),
            seccomp_pid: 0,
            seccomp_foreign: Vec::new(),
            seccomp_flags: InstallFlags::empty(),
            trap_handler: false,
        }
    }

    fn want(&mut self, mechanism: Mechanism, level: Requirement) {
        self.levels[mechanism.index()] = Some(level);
    }

    /// A mechanism this system cannot provide: an error if Hard, a report
    /// line if best effort.
    fn unavailable(
        &mut self,
        m: Mechanism,
        reason: Reason,
        level: Requirement,
    ) -> Result<(), Error> {
        self.levels[m.index()] = None;
        match level {
            Requirement::Hard => Err(Error::Unavailable {
                mechanism: m,
                reason,
            }),
            Requirement::BestEffort => {
                self.template.set(m, Status::NotEnforced(reason));
                Ok(())
            }
        }
    }
}

/// A validated, compiled policy, ready to [`apply`](Prepared::apply).
///
/// `apply` takes `&self`: the same `Prepared` can be applied in many
/// children (e.g. in `Command::pre_exec` for every spawn).
#[derive(Clone, Debug)]
pub struct Prepared {
    plan: Plan,
}

impl Prepared {
    /// The kernel features this policy was prepared for.
    pub fn features(&self) -> &Features {
        &self.plan.features
    }

    /// Put the policy in force on the calling process.
    ///
    /// Only system calls: no allocation, no locks. It is safe to call in a
    /// child after `fork()` of a multi-threaded parent and in
    /// `Command::pre_exec`.
    ///
    /// Order of application:
    /// 1. close inherited fds;
    /// 2. namespaces: user first (then its uid/gid maps, setgroups denied),
    ///    then mount (all mounts made private), network, IPC, UTS, cgroup;
    /// 3. filesystem rules;
    /// 4. resource limits;
    /// 5. not-dumpable;
    /// 6. no_new_privs;
    /// 7. Landlock `restrict_self`;
    /// 8. drop capabilities (bounding, ambient, then effective/permitted/inheritable);
    /// 9. the seccomp filter, last.
    ///
    /// A failing system call of a [`Requirement::Hard`] mechanism stops here
    /// with [`Error::Apply`]: what was applied before it stays applied
    /// (namespaces and limits cannot be undone), so a caller that gets an
    /// error must not go on as if sandboxed — exit, or report the failure
    /// (as [`exile::launch`](crate) does). Best-effort failures are recorded
    /// in the [`Report`] and apply goes on.
    pub fn apply(&self) -> Result<Report, Error> {
        let plan = &self.plan;
        let mut report = plan.template;
        let mut run = |m: Mechanism, r: Result<(), (Step, Errno)>| record(plan, &mut report, m, r);
        let wanted = |m: Mechanism| plan.levels[m.index()].is_some();
        // Landlock before ABI 8, seccomp without TSYNC and a mount
        // namespace bind only the calling thread: with other threads
        // running they would leave those unrestricted. Counted first
        // (the fallback may hide /proc), and only when one is in play.
        let per_thread = (plan.landlock.is_some() && plan.features.landlock.abi < 8)
            || (wanted(Mechanism::Seccomp) && !plan.seccomp_flags.contains(InstallFlags::TSYNC))
            || wanted(Mechanism::MountNamespace);
        let single_threaded = if !per_thread {
            Ok(())
        } else {
            match sys::thread_count() {
                Ok(1) => Ok(()),
                Ok(_) => Err((Step::CheckSingleThreaded, Errno::EINVAL)),
                Err(e) => Err((Step::CheckSingleThreaded, e)),
            }
        };

        if wanted(Mechanism::CloseFds) {
            run(
                Mechanism::CloseFds,
                process::close_fds(&plan.keep_fds, plan.features.close_range),
            )?;
        }
        if wanted(Mechanism::UserNamespace) {
            run(
                Mechanism::UserNamespace,
                ns::enter_user_namespace(&plan.uid_map, &plan.gid_map),
            )?;
        }
        let mut net_ns_result = Ok(());
        for (_, mechanism, flag, step) in Namespaces::OTHERS {
            if wanted(mechanism) {
                let r = if mechanism == Mechanism::MountNamespace && single_threaded.is_err() {
                    // As unshare(CLONE_NEWUSER) does for a threaded caller.
                    Err((step, Errno::EINVAL))
                } else {
                    ns::unshare_other(flag, step)
                };
                if mechanism == Mechanism::NetworkNamespace {
                    net_ns_result = r;
                }
                run(mechanism, r)?;
            }
        }
        if wanted(Mechanism::Filesystem) {
            if let Some(fallback) = &plan.fallback {
                run(Mechanism::Filesystem, fallback.apply())?;
            }
        }
        if wanted(Mechanism::Rlimits) {
            let mut result = Ok(());
            for &(resource, soft, hard) in &plan.rlimits {
                if let Err(e) = sys::setrlimit(resource, soft, hard) {
                    result = Err((Step::SetRlimit, e));
                    break;
                }
            }
            run(Mechanism::Rlimits, result)?;
        }
        if wanted(Mechanism::NotDumpable) {
            let r = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0).map(drop);
            run(
                Mechanism::NotDumpable,
                r.map_err(|e| (Step::SetNotDumpable, e)),
            )?;
        }
        if wanted(Mechanism::NoNewPrivs) {
            let r = sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0).map(drop);
            run(
                Mechanism::NoNewPrivs,
                r.map_err(|e| (Step::SetNoNewPrivs, e)),
            )?;
        }
        if let Some(ll) = &plan.landlock {
            let r = if plan.features.landlock.abi < 8 {
                single_threaded.and_then(|()| ll.restrict_self())
            } else {
                ll.restrict_self()
            };
            if plan.ll_fs {
                run(Mechanism::Filesystem, r)?;
            }
            for m in [Mechanism::NetworkRules, Mechanism::Scopes] {
                run(m, r)?;
            }
            if plan.template.entry(Mechanism::Network).via != Some(Via::NetworkNamespace) {
                run(Mechanism::Network, r)?;
            }
        }
        if wanted(Mechanism::Network)
            && plan.template.entry(Mechanism::Network).via == Some(Via::NetworkNamespace)
        {
            // no_network through the namespace: in force exactly when the
            // namespace is (a best-effort failure there was recorded).
            run(Mechanism::Network, net_ns_result)?;
        }
        if wanted(Mechanism::Capabilities) {
            run(
                Mechanism::Capabilities,
                process::drop_capabilities(plan.keep_caps, plan.last_cap, plan.drop_bounding),
            )?;
        }
        if wanted(Mechanism::Seccomp) {
            let mut r = Ok(());
            if plan.trap_handler {
                // A handler the program installed (launch's, or its own)
                // is kept; otherwise exile's names the trapped call.
                r = match sys::sigsys_is_default() {
                    Ok(true) => crate::seccomp::trap::install_trap_handler(),
                    Ok(false) => Ok(()),
                    Err(e) => Err(e),
                }
                .map_err(|e| (Step::InstallTrapHandler, e));
            }
            if r.is_ok() && !plan.seccomp_flags.contains(InstallFlags::TSYNC) {
                r = single_threaded;
            }
            let filter = if plan.seccomp_foreign.is_empty()
                || nix::unistd::getpid().as_raw() as u32 == plan.seccomp_pid
            {
                &plan.seccomp
            } else {
                &plan.seccomp_foreign
            };
            if r.is_ok() {
                r = crate::seccomp::install(filter, plan.seccomp_flags)
                    .map_err(|e| (Step::InstallSeccomp, e));
            }
            run(Mechanism::Seccomp, r)?;
        }
        Ok(report)
    }
}

/// Seccomp features of this process, detected once: a later [`vow`] call
/// runs under an earlier vow's filter, where detection (fork, unshare,
/// /proc) would be a violation.
static VOW_FEATURES: std::sync::OnceLock<Features> = std::sync::OnceLock::new();

/// Pledge in one call, like exile.h's `exile_vow`: no_new_privs, then a
/// seccomp filter for `vows` (violations kill the process).
///
/// It can be called again to narrow: the filters stack, so the process keeps
/// only what every call allowed. The first call must include
/// `seccomp_install` for a second call to be possible (exile.h defect 8: its
/// second call died on a Landlock probe; ours makes no call outside
/// `seccomp_install`).
///
/// ```no_run
/// exile::vow("stdio rpath seccomp_install")?;
/// // ... read configuration ...
/// exile::vow("stdio")?;
/// # Ok::<(), exile::Error>(())
/// ```
pub fn vow(vows: &str) -> Result<Report, Error> {
    let vows: Vows = vows.parse()?;
    let features = VOW_FEATURES.get_or_init(Features::detect);
    Policy::empty()
        .no_new_privs(true)
        .vows(vows)
        .prepare_with(features)?
        .apply()
}
