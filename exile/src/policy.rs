//! [`Policy`] (what to restrict) → [`Prepared`] (validated, compiled,
//! probed) → [`Report`] (what is in force).

use std::os::fd::RawFd;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{CapabilityName, Conflict, Error, IdKind, KernelFeature, Reason, Step};
use crate::features::Features;
use crate::ns::{self, MapLine, Namespaces};
use crate::process::{self, Capability, Resource};
use crate::report::{Mechanism, Missing, Report, Status};
use crate::sys;

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
    pub fn prepare(&self) -> Result<Prepared, Error> {
        self.prepare_with(&Features::detect())
    }

    /// [`prepare`](Policy::prepare) with features detected earlier.
    pub fn prepare_with(&self, features: &Features) -> Result<Prepared, Error> {
        let mut plan = Plan::new(features.clone());

        // Unavailable mechanism: an error if Hard, a report line if best effort.
        let unavailable = |plan: &mut Plan,
                           m: Mechanism,
                           reason: Reason,
                           level: Requirement|
         -> Result<(), Error> {
            match level {
                Requirement::Hard => Err(Error::Unavailable {
                    mechanism: m,
                    reason,
                }),
                Requirement::BestEffort => {
                    plan.template.set(m, Status::NotEnforced(reason));
                    Ok(())
                }
            }
        };

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
            list.sort_unstable();
            list.dedup();
            plan.keep_fds = list;
            if features.close_range || std::path::Path::new("/proc/self/fd").is_dir() {
                plan.want(Mechanism::CloseFds, self.level_of(Mechanism::CloseFds));
            } else {
                let reason = Reason::KernelLacks(KernelFeature::CloseRangeOrProcFd);
                unavailable(
                    &mut plan,
                    Mechanism::CloseFds,
                    reason,
                    self.level_of(Mechanism::CloseFds),
                )?;
            }
        }

        // Namespaces: decide whether a user namespace is needed.
        let requested = self.namespaces - Namespaces::AUTOMATIC;
        let mut user = requested.contains(Namespaces::USER);
        let mut user_level = self.level_of(Mechanism::UserNamespace);
        let needs_user_for = if requested.needs_sys_admin() && !features.cap_sys_admin {
            Namespaces::OTHERS
                .iter()
                .find(|(ns, ..)| requested.contains(*ns))
                .map(|(_, m, ..)| *m)
        } else if self.keep_caps.is_some() && !features.cap_setpcap {
            Some(Mechanism::Capabilities)
        } else {
            None
        };
        if !user && self.namespaces.contains(Namespaces::AUTOMATIC) {
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
                    unavailable(
                        &mut plan,
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
            let level = self.level_of(mechanism);
            if features.cap_sys_admin || user {
                plan.want(mechanism, level);
            } else {
                let reason = match user_block {
                    Some(block) => Reason::UserNamespaces(block),
                    None => Reason::NeedsCapability(CapabilityName::SysAdmin),
                };
                unavailable(&mut plan, mechanism, reason, level)?;
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
        }

        // Capabilities.
        if let Some(keep) = &self.keep_caps {
            let level = self.level_of(Mechanism::Capabilities);
            plan.keep_caps = keep.iter().fold(0, |acc, c| acc | c.bit());
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

        Ok(Prepared { plan })
    }
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
        }
    }

    fn want(&mut self, mechanism: Mechanism, level: Requirement) {
        self.levels[mechanism.index()] = Some(level);
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
        let mut run = |m: Mechanism, r: Result<(), (Step, Errno)>| -> Result<(), Error> {
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
        };
        let wanted = |m: Mechanism| plan.levels[m.index()].is_some();

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
        for (_, mechanism, flag, step) in Namespaces::OTHERS {
            if wanted(mechanism) {
                run(mechanism, ns::unshare_other(flag, step))?;
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
        if wanted(Mechanism::Capabilities) {
            run(
                Mechanism::Capabilities,
                process::drop_capabilities(plan.keep_caps, plan.last_cap, plan.drop_bounding),
            )?;
        }
        Ok(report)
    }
}
