//! Personas: emulate an older kernel on a new one with a seccomp filter
//! that makes system calls (and seccomp operations) introduced later fail
//! the way the old kernel fails them, so the fallback paths of exile run —
//! and are probed — on this machine.
//!
//! [`select`] installs the filter in the calling process — the suite's
//! binary does so first thing, before any probe forks — so every probe
//! child and the child that detects features for the run inherit it, and
//! expectations, computed from the detected features, follow the emulated
//! kernel. Entering it in the process (not in each child) matters: std
//! caches per process whether `statx`, `copy_file_range` and friends work,
//! and a child that hid them only after its parent had cached "available"
//! got ENOSYS from `Path::exists`, `fs::copy` and `remove_dir_all` — unlike
//! a program started on a real old kernel.
//!
//! ```
//! use exile_conformance::persona::Persona;
//! let p: Persona = "4.14".parse().unwrap();
//! assert!(p.hides(libc::SYS_landlock_create_ruleset));
//! assert!(p.hides(libc::SYS_close_range));
//! assert!(!p.hides(libc::SYS_statx)); // 4.11
//! assert!(!p.hides(libc::SYS_rseq)); // 4.18, but glibc registered it already
//! assert!("2.6".parse::<Persona>().is_err());
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use nix::errno::Errno;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// An emulated kernel version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Persona {
    /// The version, e.g. "4.14".
    pub version: &'static str,
    /// x86_64 system call numbers from this one up did not exist yet (the
    /// numbers after 317 were assigned in release order).
    first_missing_nr: i64,
    /// `SECCOMP_GET_ACTION_AVAIL` (4.14) is missing.
    no_action_avail: bool,
}

/// The personas the suite knows, oldest first.
pub const PERSONAS: &[Persona] = &[
    // 3.17: seccomp(), TSYNC, getrandom, memfd_create; bpf (321) is 3.18.
    Persona {
        version: "3.17",
        first_missing_nr: 321,
        no_action_avail: true,
    },
    // 4.14: KILL_PROCESS, LOG, GET_ACTION_AVAIL; io_pgetevents (333) is 4.18.
    Persona {
        version: "4.14",
        first_missing_nr: 333,
        no_action_avail: false,
    },
    // 5.4: pidfd_open and clone3 (5.3); close_range (436) is 5.9, openat2 (437) 5.6.
    Persona {
        version: "5.4",
        first_missing_nr: 436,
        no_action_avail: false,
    },
    // 5.10: close_range, openat2, process_madvise; epoll_pwait2 (441) is 5.11,
    // Landlock (444) 5.13.
    Persona {
        version: "5.10",
        first_missing_nr: 441,
        no_action_avail: false,
    },
    // 6.1: futex_waitv, set_mempolicy_home_node; cachestat (451) is 6.5.
    Persona {
        version: "6.1",
        first_missing_nr: 451,
        no_action_avail: false,
    },
];

/// The highest x86_64 system call number the filter covers.
const LAST_NR: i64 = 480;

impl FromStr for Persona {
    type Err = String;

    fn from_str(s: &str) -> Result<Persona, String> {
        PERSONAS
            .iter()
            .copied()
            .find(|p| p.version == s.trim())
            .ok_or_else(|| {
                let known: Vec<&str> = PERSONAS.iter().map(|p| p.version).collect();
                format!("unknown persona {s:?}; known: {}", known.join(", "))
            })
    }
}

impl fmt::Display for Persona {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Linux {}", self.version)
    }
}

impl Persona {
    /// Whether this persona makes system call `nr` fail with ENOSYS.
    ///
    /// `rseq` (4.18) is never hidden: glibc registered it when the process
    /// started, before any persona, and aborts a new thread whose
    /// registration fails ("rseq registration failed") — a process started
    /// on a real old kernel would not have registered at all. Nothing in
    /// exile depends on rseq.
    pub fn hides(&self, nr: i64) -> bool {
        nr >= self.first_missing_nr && nr != libc::SYS_rseq
    }

    /// The persona's filters, in installation order.
    fn programs(&self) -> Result<Vec<BpfProgram>, String> {
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        for nr in (self.first_missing_nr..=LAST_NR).filter(|&nr| self.hides(nr)) {
            rules.insert(nr, vec![]);
        }
        let enosys = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(Errno::ENOSYS as u32),
            TargetArch::x86_64,
        )
        .map_err(|e| e.to_string())?;
        let prog: BpfProgram = enosys
            .try_into()
            .map_err(|e: seccompiler::BackendError| e.to_string())?;
        let mut progs = vec![prog];
        if self.no_action_avail {
            // Before 5.0 seccomp(SECCOMP_SET_MODE_FILTER) knows no
            // SECCOMP_FILTER_FLAG_NEW_LISTENER (8): EINVAL. Emulated only
            // where SECCOMP_GET_ACTION_AVAIL is hidden too (3.17): the
            // filter cannot see which action a 4.14 persona's
            // GET_ACTION_AVAIL asks about, so USER_NOTIF stays detected
            // there, and the flag must then keep working.
            let op = SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, 1)
                .map_err(|e| e.to_string())?;
            let flag =
                SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::MaskedEq(8), 8)
                    .map_err(|e| e.to_string())?;
            let rule = SeccompRule::new(vec![op, flag]).map_err(|e| e.to_string())?;
            let listener = SeccompFilter::new(
                BTreeMap::from([(libc::SYS_seccomp, vec![rule])]),
                SeccompAction::Allow,
                SeccompAction::Errno(Errno::EINVAL as u32),
                TargetArch::x86_64,
            )
            .map_err(|e| e.to_string())?;
            progs.push(
                listener
                    .try_into()
                    .map_err(|e: seccompiler::BackendError| e.to_string())?,
            );
        }
        if self.no_action_avail {
            // seccomp(SECCOMP_GET_ACTION_AVAIL, ...) → EINVAL, as before 4.14.
            let cond = SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, 2)
                .map_err(|e| e.to_string())?;
            let rule = SeccompRule::new(vec![cond]).map_err(|e| e.to_string())?;
            let mut r = BTreeMap::new();
            r.insert(libc::SYS_seccomp, vec![rule]);
            let einval = SeccompFilter::new(
                r,
                SeccompAction::Allow,
                SeccompAction::Errno(Errno::EINVAL as u32),
                TargetArch::x86_64,
            )
            .map_err(|e| e.to_string())?;
            progs.push(
                einval
                    .try_into()
                    .map_err(|e: seccompiler::BackendError| e.to_string())?,
            );
        }
        Ok(progs)
    }

    /// Install the persona's filter(s) in the calling process. Root installs
    /// without no_new_privs (CAP_SYS_ADMIN suffices); others set it first.
    pub fn enter(&self) -> Result<(), String> {
        if !nix::unistd::geteuid().is_root() {
            // SAFETY: PR_SET_NO_NEW_PRIVS with integers.
            unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        }
        for prog in self.programs()? {
            seccompiler::apply_filter(&prog).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

static ACTIVE: OnceLock<Option<Persona>> = OnceLock::new();

/// Whether [`select`] entered the persona in this process.
static IN_PROCESS: AtomicBool = AtomicBool::new(false);

/// Select the persona of this run (once, before any probe forks) and enter
/// it in the calling process: from here on this process and its children
/// see the emulated kernel. The filter cannot be removed again.
pub fn select(persona: Option<Persona>) -> Result<(), String> {
    ACTIVE
        .set(persona)
        .map_err(|_| "the persona of a run can only be selected once".to_owned())?;
    if let Some(p) = persona {
        p.enter()
            .map_err(|e| format!("entering the {p} persona: {e}"))?;
        IN_PROCESS.store(true, Ordering::SeqCst);
    }
    Ok(())
}

/// In a probe child: put the persona in force unless it was inherited
/// from the process that [`select`]ed it.
pub fn enter_in_child() -> Result<(), String> {
    match active() {
        Some(p) if !IN_PROCESS.load(Ordering::SeqCst) => p.enter(),
        _ => Ok(()),
    }
}

/// The persona of this run.
pub fn active() -> Option<Persona> {
    ACTIVE.get().copied().flatten()
}
