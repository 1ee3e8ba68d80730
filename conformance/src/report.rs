//! `exile-conformance --report`: what this kernel really gives exile, for
//! distribution packagers.
//!
//! The report lists every detected feature (per identity: the invoker, and
//! uid 65534 when run as root) and one verdict per mechanism, *backed by the
//! probes*: the probes are grouped by name ([`Area::of`]) and a mechanism
//! whose probes fail is [`Verdict::Broken`] whatever the features say.
//!
//! - **works**: the feature is present (at least as new as exile knows) and
//!   its probes pass;
//! - **degraded**: it works through a fallback or with parts missing (a
//!   Landlock ABI older than the newest exile knows, no `KILL_PROCESS`, no
//!   TSYNC, …) — the notes say what is missing;
//! - **missing**: the mechanism is unavailable (e.g. no Landlock and no user
//!   namespaces: path rules fail with a Hard error) — the notes say why;
//! - **broken**: a probe of the mechanism failed; the run exits with 1.
//!
//! Everything here is a pure function of `(features, probe results)`
//! ([`build`]), so the verdict logic is tested on synthetic input.

use std::fmt::Write as _;

use exile::features::{LandlockStatus, UsernsBlock};
use exile::Features;
use exile_conformance::harness::{CaseResult, Outcome, Summary};
use exile_conformance::probe::Identity;
use serde::Serialize;

/// The newest Landlock ABI exile knows (UDP rules, Linux 7.x).
pub const LANDLOCK_NEWEST_ABI: u8 = 10;

/// What each Landlock ABI added that exile uses: (ABI, what a kernel below
/// it lacks, whether it matters for path rules).
pub const LANDLOCK_ADDITIONS: &[(u8, &str, bool)] = &[
    (
        2,
        "reparenting (ABI 2): rename and link across directories are always denied",
        true,
    ),
    (
        3,
        "truncate restriction (ABI 3): truncate() stays unrestricted",
        true,
    ),
    (
        4,
        "TCP bind/connect rules (ABI 4): no port rules, no_network needs a network namespace",
        false,
    ),
    (
        5,
        "device ioctl restriction (ABI 5): ioctl on devices stays unrestricted",
        true,
    ),
    (
        6,
        "scopes (ABI 6): abstract unix sockets and signals outside the sandbox stay reachable",
        false,
    ),
    (
        8,
        "restricting every thread (ABI 8): threads started before the policy stay unrestricted",
        true,
    ),
    (
        9,
        "pathname unix socket restriction (ABI 9): connecting to unix sockets stays unrestricted",
        true,
    ),
    (
        10,
        "UDP rules (ABI 10): no_network through Landlock leaves UDP open",
        false,
    ),
];

/// A mechanism's verdict, from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Present, complete, probes pass.
    Works,
    /// Works through a fallback or with parts missing.
    Degraded,
    /// Unavailable here.
    Missing,
    /// A probe failed.
    Broken,
}

impl Verdict {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Works => "works",
            Verdict::Degraded => "degraded",
            Verdict::Missing => "missing",
            Verdict::Broken => "broken",
        }
    }
}

/// A mechanism as the report groups probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// seccomp filters: vows, syscall rules (`vow::`, `escape::`).
    Seccomp,
    /// Landlock itself (`fs::landlock::`, `features::landlock…`).
    Landlock,
    /// Path rules as exile enforces them here (`fs::…`, `escape::fs::`).
    Filesystem,
    /// The mount-namespace fallback (`fs::fallback::`, `fs::landlock_hidden::`,
    /// `escape::fs::fallback::`).
    Fallback,
    /// User namespaces (`ns::user::`).
    UserNamespaces,
    /// Other namespaces (`ns::`).
    Namespaces,
    /// No network and port rules (`net::`).
    Network,
    /// Dropping capabilities (`caps::`).
    Capabilities,
    /// no_new_privs, dumpable, fds, limits, detection (`process::`, `fds::`,
    /// `rlimit::`, `features::`).
    Process,
    /// Probes of any other prefix.
    Other,
}

impl Area {
    /// Every area, in report order.
    pub const ALL: &'static [Area] = &[
        Area::Seccomp,
        Area::Landlock,
        Area::Filesystem,
        Area::Fallback,
        Area::UserNamespaces,
        Area::Namespaces,
        Area::Network,
        Area::Capabilities,
        Area::Process,
        Area::Other,
    ];

    /// A human title.
    pub fn title(self) -> &'static str {
        match self {
            Area::Seccomp => "seccomp filter (vows, syscall rules)",
            Area::Landlock => "Landlock",
            Area::Filesystem => "path rules (filesystem)",
            Area::Fallback => "mount-namespace fallback",
            Area::UserNamespaces => "user namespaces",
            Area::Namespaces => "other namespaces (mount, network, ipc, uts, cgroup)",
            Area::Network => "no network, port rules",
            Area::Capabilities => "dropping capabilities",
            Area::Process => "process hardening (no_new_privs, dumpable, fds, limits)",
            Area::Other => "other probes",
        }
    }

    /// The area a probe (or case: a `::unpriv` suffix is ignored) belongs to.
    ///
    /// ```text
    /// escape::fs::fallback::… → Fallback     escape::fs::… → Filesystem
    /// vow::…, seccomp::…, escape::… → Seccomp      fs::landlock::… → Landlock
    /// fs::fallback::…, fs::landlock_hidden::… → Fallback     fs::… → Filesystem
    /// ns::user::… → UserNamespaces   ns::… → Namespaces   net::… → Network
    /// caps::… → Capabilities   process:: fds:: rlimit:: features:: → Process
    /// ```
    pub fn of(name: &str) -> Area {
        let name = name.strip_suffix("::unpriv").unwrap_or(name);
        let rules: &[(&str, Area)] = &[
            ("escape::fs::fallback::", Area::Fallback),
            ("escape::fs::", Area::Filesystem),
            ("escape::", Area::Seccomp),
            ("vow::", Area::Seccomp),
            ("seccomp::", Area::Seccomp),
            ("fs::landlock::", Area::Landlock),
            ("features::landlock", Area::Landlock),
            ("fs::fallback::", Area::Fallback),
            ("fs::landlock_hidden::", Area::Fallback),
            ("fs::", Area::Filesystem),
            ("ns::user::", Area::UserNamespaces),
            ("ns::", Area::Namespaces),
            ("net::", Area::Network),
            ("caps::", Area::Capabilities),
            ("process::", Area::Process),
            ("fds::", Area::Process),
            ("rlimit::", Area::Process),
            ("features::", Area::Process),
        ];
        rules
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map_or(Area::Other, |(_, area)| *area)
    }
}

/// The features one identity detected.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityFeatures {
    /// Who.
    pub identity: Identity,
    /// Its uid.
    pub uid: u32,
    /// What it detected.
    pub features: Features,
}

impl IdentityFeatures {
    /// `root`, or `uid N`.
    pub fn label(&self) -> String {
        if self.uid == 0 {
            "root".into()
        } else {
            format!("uid {}", self.uid)
        }
    }
}

/// One identity's features, as the report shows them.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityReport {
    /// Who.
    pub identity: Identity,
    /// `root` or `uid N`.
    pub label: String,
    /// Its uid.
    pub uid: u32,
    /// What it detected (exile's serde form).
    pub features: Features,
    /// Why user namespaces are unusable, in words (`None` when usable).
    pub user_namespaces_blocked: Option<String>,
    /// Why Landlock is what it is, in words.
    pub landlock_status: String,
}

/// One line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct MechanismReport {
    /// Stable id.
    pub id: Area,
    /// Title.
    pub name: &'static str,
    /// Verdict.
    pub verdict: Verdict,
    /// What is missing, why, or how it works here.
    pub notes: Vec<String>,
    /// Probes that passed (all identities).
    pub passed: usize,
    /// Probes that failed.
    pub failed: usize,
    /// Probes skipped.
    pub skipped: usize,
    /// Names of the failed probes.
    pub failures: Vec<String>,
}

/// The whole report (`--report --format json` prints it as one document).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `uname -r` (of the real kernel; a persona only hides calls).
    pub kernel: String,
    /// The emulated kernel, if any.
    pub persona: Option<String>,
    /// The exile-conformance version.
    pub version: &'static str,
    /// Features per identity.
    pub identities: Vec<IdentityReport>,
    /// One verdict per mechanism.
    pub mechanisms: Vec<MechanismReport>,
    /// Probe counts.
    pub summary: Summary,
    /// No mechanism is broken (exit status 0).
    pub ok: bool,
    /// Every probe's result.
    pub probes: Vec<CaseResult>,
}

/// A verdict from features alone, with its notes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// Verdict.
    pub verdict: Verdict,
    /// Notes.
    pub notes: Vec<String>,
}

impl Assessment {
    fn new(verdict: Verdict, notes: Vec<String>) -> Assessment {
        Assessment { verdict, notes }
    }
}

fn landlock_why(f: &Features) -> String {
    match f.landlock.status {
        LandlockStatus::Enabled => format!("ABI {}", f.landlock.abi),
        other => other.to_string(),
    }
}

fn userns_why(f: &Features) -> Option<String> {
    f.user_namespaces.err().map(|b: UsernsBlock| b.to_string())
}

/// The Landlock additions a kernel of `abi` lacks (`fs_only`: those that
/// matter for path rules).
fn landlock_gaps(abi: u8, fs_only: bool) -> Vec<String> {
    LANDLOCK_ADDITIONS
        .iter()
        .filter(|(needed, _, fs)| abi < *needed && (*fs || !fs_only))
        .map(|(_, what, _)| format!("lacks {what}"))
        .collect()
}

/// What `f` means for `area`, before looking at probes.
pub fn assess(area: Area, f: &Features) -> Assessment {
    use Verdict::*;
    let abi = f.landlock.abi;
    let fallback_ok = f.cap_sys_admin || f.user_namespaces.is_ok();
    match area {
        Area::Seccomp => {
            if !f.seccomp_filter {
                return Assessment::new(
                    Missing,
                    vec!["no seccomp filter mode (CONFIG_SECCOMP_FILTER): vows and syscall rules fail (Hard)".into()],
                );
            }
            let mut gaps = Vec::new();
            if !f.seccomp_syscall {
                gaps.push("no seccomp() system call (Linux 3.17): filters go through prctl, without TSYNC".to_owned());
            } else if !f.tsync {
                gaps.push(
                    "no TSYNC: threads started before the policy are not filtered".to_owned(),
                );
            }
            if !f.kill_process {
                gaps.push("no SECCOMP_RET_KILL_PROCESS (Linux 4.14): a violation kills only the offending thread".to_owned());
            }
            if !f.ret_log {
                gaps.push("no SECCOMP_RET_LOG (Linux 4.14): the permissive `log` violation action is unavailable".to_owned());
            }
            if gaps.is_empty() {
                Assessment::new(Works, vec!["KILL_PROCESS, TSYNC and LOG available".into()])
            } else {
                Assessment::new(Degraded, gaps)
            }
        }
        Area::Landlock => {
            if abi == 0 {
                Assessment::new(Missing, vec![landlock_why(f)])
            } else if abi < LANDLOCK_NEWEST_ABI {
                let mut notes = vec![format!(
                    "ABI {abi} (exile knows up to {LANDLOCK_NEWEST_ABI})"
                )];
                notes.extend(landlock_gaps(abi, false));
                Assessment::new(Degraded, notes)
            } else {
                Assessment::new(Works, vec![format!("ABI {abi}")])
            }
        }
        Area::Filesystem => {
            if abi >= 1 {
                let gaps = landlock_gaps(abi, true);
                if gaps.is_empty() {
                    Assessment::new(Works, vec![format!("through Landlock ABI {abi}")])
                } else {
                    let mut notes = vec![format!("through Landlock ABI {abi}")];
                    notes.extend(gaps);
                    Assessment::new(Degraded, notes)
                }
            } else if fallback_ok {
                Assessment::new(
                    Degraded,
                    vec![
                        format!("Landlock unavailable ({})", landlock_why(f)),
                        "through the mount-namespace fallback: read rights always include listing, write rights include every write right (Hard policies asking for less are refused), descriptors opened outside the sandbox keep reaching outside".into(),
                    ],
                )
            } else {
                Assessment::new(
                    Missing,
                    vec![
                        format!("Landlock unavailable ({})", landlock_why(f)),
                        format!(
                            "no user namespace for the fallback ({}): a policy with path rules fails (Hard)",
                            userns_why(f).unwrap_or_default()
                        ),
                    ],
                )
            }
        }
        Area::Fallback => {
            if f.cap_sys_admin {
                Assessment::new(
                    Works,
                    vec!["with CAP_SYS_ADMIN, without a user namespace".into()],
                )
            } else if f.user_namespaces.is_ok() {
                Assessment::new(Works, vec!["inside a user namespace".into()])
            } else {
                Assessment::new(
                    Missing,
                    vec![format!(
                        "needs CAP_SYS_ADMIN or a user namespace: {}",
                        userns_why(f).unwrap_or_default()
                    )],
                )
            }
        }
        Area::UserNamespaces => match userns_why(f) {
            None => Assessment::new(Works, Vec::new()),
            Some(why) => Assessment::new(Missing, vec![why]),
        },
        Area::Namespaces => {
            if f.cap_sys_admin {
                Assessment::new(Works, vec!["with CAP_SYS_ADMIN".into()])
            } else if f.user_namespaces.is_ok() {
                Assessment::new(Works, vec!["inside an automatic user namespace".into()])
            } else {
                Assessment::new(
                    Missing,
                    vec![format!(
                        "needs CAP_SYS_ADMIN or a user namespace: {}",
                        userns_why(f).unwrap_or_default()
                    )],
                )
            }
        }
        Area::Network => {
            let netns = fallback_ok;
            let tcp = abi >= 4;
            let udp = abi >= 10;
            match (netns, tcp) {
                (true, true) => Assessment::new(
                    Works,
                    vec![format!("no_network through a network namespace; port rules through Landlock ABI {abi}")],
                ),
                (true, false) => Assessment::new(
                    Degraded,
                    vec![format!(
                        "no TCP port rules: they need Landlock ABI 4 ({}); no_network through a network namespace",
                        landlock_why(f)
                    )],
                ),
                (false, true) => {
                    let mut notes = vec![format!(
                        "no network namespace ({}): no_network through Landlock TCP rules",
                        userns_why(f).unwrap_or_default()
                    )];
                    if !udp {
                        notes.push("UDP stays open (Landlock ABI 10)".into());
                    }
                    Assessment::new(Degraded, notes)
                }
                (false, false) => Assessment::new(
                    Missing,
                    vec![format!(
                        "neither a network namespace ({}) nor Landlock TCP rules ({}): no_network and port rules fail (Hard)",
                        userns_why(f).unwrap_or_default(),
                        landlock_why(f)
                    )],
                ),
            }
        }
        Area::Capabilities => {
            if f.cap_setpcap {
                Assessment::new(Works, vec!["with CAP_SETPCAP".into()])
            } else if f.user_namespaces.is_ok() {
                Assessment::new(Works, vec!["inside an automatic user namespace".into()])
            } else {
                Assessment::new(
                    Degraded,
                    vec![format!(
                    "the bounding set cannot be dropped (no CAP_SETPCAP, no user namespace: {})",
                    userns_why(f).unwrap_or_default()
                )],
                )
            }
        }
        Area::Process => {
            if f.close_range {
                Assessment::new(Works, Vec::new())
            } else {
                Assessment::new(
                    Degraded,
                    vec!["no close_range (Linux 5.9): inherited fds are closed through /proc/self/fd".into()],
                )
            }
        }
        Area::Other => Assessment::new(Works, Vec::new()),
    }
}

/// The report of a run: `identities` (the invoker first) and every case's
/// result.
pub fn build(
    identities: &[IdentityFeatures],
    results: &[CaseResult],
    persona: Option<String>,
) -> Report {
    let mut summary = Summary::default();
    for r in results {
        summary.add(r.outcome);
    }
    let mechanisms: Vec<MechanismReport> = Area::ALL
        .iter()
        .filter_map(|&area| mechanism(area, identities, results))
        .collect();
    let ok = mechanisms.iter().all(|m| m.verdict != Verdict::Broken);
    Report {
        kernel: identities
            .first()
            .map(|i| i.features.kernel_release.clone())
            .unwrap_or_default(),
        persona,
        version: env!("CARGO_PKG_VERSION"),
        identities: identities
            .iter()
            .map(|i| IdentityReport {
                identity: i.identity,
                label: i.label(),
                uid: i.uid,
                features: i.features.clone(),
                user_namespaces_blocked: userns_why(&i.features),
                landlock_status: i.features.landlock.status.to_string(),
            })
            .collect(),
        mechanisms,
        summary,
        ok,
        probes: results.to_vec(),
    }
}

/// One mechanism's line; `None` for [`Area::Other`] without probes.
fn mechanism(
    area: Area,
    identities: &[IdentityFeatures],
    results: &[CaseResult],
) -> Option<MechanismReport> {
    let mine: Vec<&CaseResult> = results
        .iter()
        .filter(|r| Area::of(&r.name) == area)
        .collect();
    if area == Area::Other && mine.is_empty() {
        return None;
    }
    let count = |o: Outcome| mine.iter().filter(|r| r.outcome == o).count();
    let failures: Vec<String> = mine
        .iter()
        .filter(|r| r.outcome == Outcome::Fail)
        .map(|r| r.name.clone())
        .collect();
    let per_identity: Vec<(String, Assessment)> = identities
        .iter()
        .map(|i| (i.label(), assess(area, &i.features)))
        .collect();
    let mut verdict = per_identity
        .iter()
        .map(|(_, a)| a.verdict)
        .max()
        .unwrap_or(Verdict::Works);
    let same = per_identity.windows(2).all(|w| w[0].1 == w[1].1);
    let mut notes: Vec<String> = if same {
        per_identity
            .first()
            .map(|(_, a)| a.notes.clone())
            .unwrap_or_default()
    } else {
        per_identity
            .iter()
            .map(|(label, a)| {
                let body = if a.notes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", a.notes.join("; "))
                };
                format!("as {label}: {}{body}", a.verdict.as_str())
            })
            .collect()
    };
    if !failures.is_empty() {
        verdict = Verdict::Broken;
        notes.insert(
            0,
            format!(
                "{} probe(s) failed: {}",
                failures.len(),
                failures.join(", ")
            ),
        );
    } else if mine.is_empty() {
        notes.push("no probe of this mechanism ran (filtered out): verdict from the detected features only".into());
    }
    Some(MechanismReport {
        id: area,
        name: area.title(),
        verdict,
        notes,
        passed: count(Outcome::Pass),
        failed: count(Outcome::Fail),
        skipped: count(Outcome::Skip),
        failures,
    })
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The features table rows: (feature, value per identity).
fn feature_rows(ids: &[IdentityReport]) -> Vec<(&'static str, Vec<String>)> {
    type Get = fn(&IdentityReport) -> String;
    let rows: [(&str, Get); 11] = [
        ("seccomp filter mode", |i| {
            yes(i.features.seccomp_filter).into()
        }),
        ("seccomp() system call", |i| {
            yes(i.features.seccomp_syscall).into()
        }),
        ("seccomp TSYNC", |i| yes(i.features.tsync).into()),
        ("SECCOMP_RET_KILL_PROCESS", |i| {
            yes(i.features.kill_process).into()
        }),
        ("SECCOMP_RET_LOG", |i| yes(i.features.ret_log).into()),
        ("SECCOMP_RET_USER_NOTIF", |i| {
            yes(i.features.user_notif).into()
        }),
        ("Landlock", |i| match i.features.landlock.status {
            LandlockStatus::Enabled => format!("ABI {}, enabled", i.features.landlock.abi),
            _ => format!("no: {}", i.landlock_status),
        }),
        ("user namespaces", |i| match &i.user_namespaces_blocked {
            None => "yes".into(),
            Some(why) => format!("no: {why}"),
        }),
        ("close_range", |i| yes(i.features.close_range).into()),
        ("CAP_SYS_ADMIN", |i| yes(i.features.cap_sys_admin).into()),
        ("CAP_SETPCAP", |i| yes(i.features.cap_setpcap).into()),
    ];
    rows.iter()
        .map(|(name, get)| (*name, ids.iter().map(get).collect()))
        .collect()
}

/// The report as Markdown.
pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# exile conformance report\n");
    let _ = writeln!(o, "- kernel: `{}`", r.kernel);
    if let Some(p) = &r.persona {
        let _ = writeln!(
            o,
            "- persona: {p} (emulated: later system calls fail with ENOSYS)"
        );
    }
    let who: Vec<String> = r.identities.iter().map(|i| i.label.clone()).collect();
    let _ = writeln!(
        o,
        "- exile-conformance {}, probes run as {}",
        r.version,
        who.join(" and ")
    );
    let _ = writeln!(o, "- probes: {}", r.summary);
    let broken = r
        .mechanisms
        .iter()
        .filter(|m| m.verdict == Verdict::Broken)
        .count();
    if r.ok {
        let _ = writeln!(o, "- result: **ok** (no mechanism broken)");
    } else {
        let _ = writeln!(o, "- result: **FAIL** ({broken} mechanism(s) broken)");
    }

    let _ = writeln!(o, "\n## Mechanisms\n");
    let _ = writeln!(o, "| mechanism | verdict | probes pass/fail/skip | notes |");
    let _ = writeln!(o, "|---|---|---|---|");
    for m in &r.mechanisms {
        let verdict = match m.verdict {
            Verdict::Broken => "**broken**".to_owned(),
            v => v.as_str().to_owned(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {}/{}/{} | {} |",
            cell(m.name),
            verdict,
            m.passed,
            m.failed,
            m.skipped,
            cell(&m.notes.join("; "))
        );
    }

    let _ = writeln!(o, "\n## Detected features\n");
    let _ = write!(o, "| feature |");
    for i in &r.identities {
        let _ = write!(o, " {} |", cell(&i.label));
    }
    let _ = write!(o, "\n|---|");
    for _ in &r.identities {
        let _ = write!(o, "---|");
    }
    let _ = writeln!(o);
    for (name, values) in feature_rows(&r.identities) {
        let _ = write!(o, "| {name} |");
        for v in values {
            let _ = write!(o, " {} |", cell(&v));
        }
        let _ = writeln!(o);
    }

    let failed: Vec<&CaseResult> = r
        .probes
        .iter()
        .filter(|p| p.outcome == Outcome::Fail)
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(o, "\n## Failed probes\n");
        for p in failed {
            let _ = writeln!(o, "- `{}` — {}", p.name, p.reason);
        }
    }
    let skipped: Vec<&CaseResult> = r
        .probes
        .iter()
        .filter(|p| p.outcome == Outcome::Skip)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(o, "\n## Skipped probes\n");
        for p in skipped {
            let _ = writeln!(o, "- `{}` — {}", p.name, p.reason);
        }
    }
    let _ = writeln!(
        o,
        "\n<details><summary>All {} probe results</summary>\n",
        r.probes.len()
    );
    let _ = writeln!(o, "| probe | outcome | observed |");
    let _ = writeln!(o, "|---|---|---|");
    for p in &r.probes {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} |",
            p.name,
            p.outcome,
            cell(if p.outcome == Outcome::Skip {
                &p.reason
            } else {
                &p.observed
            })
        );
    }
    let _ = writeln!(o, "\n</details>");
    o
}
