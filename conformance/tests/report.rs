//! `--report`: the verdict logic on synthetic features and probe results,
//! and the real binary's JSON document.

#[allow(dead_code)]
#[path = "../src/report.rs"]
mod report;

use exile::features::{Landlock, LandlockStatus, UsernsBlock, UsernsStep};
use exile::Features;
use exile_conformance::harness::{CaseResult, Outcome};
use exile_conformance::probe::Identity;
use report::{assess, build, markdown, Area, IdentityFeatures, MechanismReport, Verdict};

/// A kernel with everything exile knows, seen by root.
fn full() -> Features {
    Features {
        kernel_release: "7.2.0-test".into(),
        seccomp_filter: true,
        seccomp_syscall: true,
        tsync: true,
        kill_process: true,
        ret_log: true,
        user_notif: true,
        landlock: Landlock {
            abi: report::LANDLOCK_NEWEST_ABI,
            status: LandlockStatus::Enabled,
        },
        user_namespaces: Ok(()),
        close_range: true,
        cap_sys_admin: true,
        cap_setpcap: true,
    }
}

fn no_landlock(mut f: Features) -> Features {
    f.landlock = Landlock {
        abi: 0,
        status: LandlockStatus::NotEnabled,
    };
    f
}

fn unprivileged(mut f: Features) -> Features {
    f.cap_sys_admin = false;
    f.cap_setpcap = false;
    f
}

fn userns_blocked(mut f: Features) -> Features {
    f.user_namespaces = Err(UsernsBlock::MaxUserNamespacesZero);
    f
}

fn root(f: Features) -> IdentityFeatures {
    IdentityFeatures {
        identity: Identity::Invoker,
        uid: 0,
        features: f,
    }
}

fn nobody(f: Features) -> IdentityFeatures {
    IdentityFeatures {
        identity: Identity::Unprivileged,
        uid: 65534,
        features: f,
    }
}

fn result(name: &str, outcome: Outcome) -> CaseResult {
    CaseResult {
        name: name.into(),
        outcome,
        expected: "ok".into(),
        observed: if outcome == Outcome::Fail {
            "errno(EPERM)".into()
        } else {
            "ok".into()
        },
        reason: if outcome == Outcome::Fail {
            "expected ok, observed errno(EPERM)".into()
        } else {
            String::new()
        },
    }
}

/// One passing probe per area, for both identities.
fn passing() -> Vec<CaseResult> {
    let names = [
        "vow::stdio::getpid",
        "escape::openat2",
        "fs::landlock::read_file::allowed",
        "escape::fs::dotdot",
        "fs::fallback::read_file::allowed",
        "ns::user::map_root",
        "ns::uts::private_hostname",
        "net::no_network::tcp",
        "caps::drop_all",
        "process::dumpable::cleared",
    ];
    names
        .iter()
        .flat_map(|n| {
            [
                result(n, Outcome::Pass),
                result(&format!("{n}::unpriv"), Outcome::Pass),
            ]
        })
        .collect()
}

fn line(r: &report::Report, area: Area) -> &MechanismReport {
    r.mechanisms
        .iter()
        .find(|m| m.id == area)
        .expect("mechanism in report")
}

#[test]
fn areas_from_probe_names() {
    for (name, area) in [
        ("vow::stdio::getpid", Area::Seccomp),
        ("vow::escape::unshare::unpriv", Area::Seccomp),
        ("escape::x32::openat", Area::Seccomp),
        ("escape::fs::dotdot", Area::Filesystem),
        ("escape::fs::fallback::dotdot::unpriv", Area::Fallback),
        ("fs::landlock::refer::denied", Area::Landlock),
        ("features::landlock_hidden_by_seccomp", Area::Landlock),
        ("fs::fallback::exec::allowed", Area::Fallback),
        ("fs::landlock_hidden::fallback_enforces", Area::Fallback),
        ("fs::bad_input::missing_path", Area::Filesystem),
        ("ns::user::map_own", Area::UserNamespaces),
        ("ns::net::only_lo", Area::Namespaces),
        ("net::tcp_bind::denied", Area::Network),
        ("caps::drop_all::unpriv", Area::Capabilities),
        ("fds::close_unkept", Area::Process),
        ("rlimit::no_new_fds::open_fails", Area::Process),
        ("features::close_range_hidden_by_seccomp", Area::Process),
        ("launch::something_new", Area::Other),
    ] {
        assert_eq!(Area::of(name), area, "{name}");
    }
}

#[test]
fn everything_present_works() {
    let r = build(
        &[root(full()), nobody(unprivileged(full()))],
        &passing(),
        None,
    );
    assert!(r.ok);
    for m in &r.mechanisms {
        assert_eq!(m.verdict, Verdict::Works, "{}: {:?}", m.name, m.notes);
        assert_eq!(m.failed, 0);
    }
    assert_eq!(r.summary.passed, passing().len());
    // No probe of another prefix: no "other" line.
    assert!(r.mechanisms.iter().all(|m| m.id != Area::Other));
}

#[test]
fn no_landlock_means_path_rules_through_the_fallback_degraded() {
    let r = build(
        &[
            root(no_landlock(full())),
            nobody(unprivileged(no_landlock(full()))),
        ],
        &passing(),
        Some("Linux 5.10".into()),
    );
    assert!(r.ok);
    let ll = line(&r, Area::Landlock);
    assert_eq!(ll.verdict, Verdict::Missing);
    assert!(ll.notes.join(" ").contains("lsm="), "{:?}", ll.notes);
    let fs = line(&r, Area::Filesystem);
    assert_eq!(fs.verdict, Verdict::Degraded);
    assert!(
        fs.notes.join(" ").contains("mount-namespace fallback"),
        "{:?}",
        fs.notes
    );
    assert_eq!(line(&r, Area::Fallback).verdict, Verdict::Works);
    // Port rules need Landlock; no_network still has its namespace.
    assert_eq!(line(&r, Area::Network).verdict, Verdict::Degraded);
    assert_eq!(r.persona.as_deref(), Some("Linux 5.10"));
}

#[test]
fn userns_blocked_and_no_landlock_means_path_rules_missing() {
    let f = userns_blocked(unprivileged(no_landlock(full())));
    let fs = assess(Area::Filesystem, &f);
    assert_eq!(fs.verdict, Verdict::Missing);
    let notes = fs.notes.join(" ");
    assert!(notes.contains("max_user_namespaces"), "{notes}");
    assert!(notes.contains("Hard"), "{notes}");
    assert_eq!(assess(Area::Fallback, &f).verdict, Verdict::Missing);
    assert_eq!(assess(Area::UserNamespaces, &f).verdict, Verdict::Missing);
    assert_eq!(assess(Area::Namespaces, &f).verdict, Verdict::Missing);
    assert_eq!(assess(Area::Network, &f).verdict, Verdict::Missing);
    assert_eq!(assess(Area::Capabilities, &f).verdict, Verdict::Degraded);

    // In a report: root still has the fallback (CAP_SYS_ADMIN), uid 65534
    // has nothing; the line takes the worse and names who.
    let r = build(
        &[root(userns_blocked(no_landlock(full()))), nobody(f)],
        &passing(),
        None,
    );
    let fs = line(&r, Area::Filesystem);
    assert_eq!(fs.verdict, Verdict::Missing);
    assert!(fs.notes.iter().any(|n| n.starts_with("as root: degraded")));
    assert!(fs
        .notes
        .iter()
        .any(|n| n.starts_with("as uid 65534: missing")));
    // Missing is a fact of the kernel, not a failure.
    assert!(r.ok);
}

#[test]
fn a_failing_probe_makes_its_mechanism_broken() {
    let mut results = passing();
    results.push(result("escape::fs::thread_before_policy", Outcome::Fail));
    results.push(result("escape::ptrace::traceme::unpriv", Outcome::Skip));
    let r = build(
        &[root(full()), nobody(unprivileged(full()))],
        &results,
        None,
    );
    assert!(!r.ok);
    let fs = line(&r, Area::Filesystem);
    assert_eq!(fs.verdict, Verdict::Broken);
    assert_eq!(fs.failed, 1);
    assert_eq!(
        fs.failures,
        vec!["escape::fs::thread_before_policy".to_owned()]
    );
    assert!(fs.notes[0].contains("1 probe(s) failed"));
    let sc = line(&r, Area::Seccomp);
    assert_eq!(sc.verdict, Verdict::Works);
    assert_eq!(sc.skipped, 1);
    assert_eq!(r.summary.failed, 1);
    let md = markdown(&r);
    assert!(md.contains("**FAIL**"), "{md}");
    assert!(
        md.contains("| path rules (filesystem) | **broken** |"),
        "{md}"
    );
    assert!(md.contains("## Failed probes"), "{md}");
}

#[test]
fn old_landlock_abi_is_degraded_and_says_what_is_missing() {
    let mut f = full();
    f.landlock.abi = 2;
    let ll = assess(Area::Landlock, &f);
    assert_eq!(ll.verdict, Verdict::Degraded);
    let notes = ll.notes.join("\n");
    assert!(notes.contains("ABI 2"), "{notes}");
    assert!(notes.contains("truncate"), "{notes}");
    assert!(notes.contains("UDP"), "{notes}");
    assert!(!notes.contains("reparenting"), "{notes}");
    let fs = assess(Area::Filesystem, &f);
    assert_eq!(fs.verdict, Verdict::Degraded);
    // Path rules only list what matters for them.
    assert!(!fs.notes.join(" ").contains("UDP"));
    // ABI 9 has every filesystem right; only UDP is left.
    f.landlock.abi = 9;
    assert_eq!(assess(Area::Filesystem, &f).verdict, Verdict::Works);
    assert_eq!(assess(Area::Landlock, &f).verdict, Verdict::Degraded);
}

#[test]
fn seccomp_without_kill_process_or_tsync_is_degraded() {
    let mut f = full();
    f.kill_process = false;
    f.ret_log = false;
    let a = assess(Area::Seccomp, &f);
    assert_eq!(a.verdict, Verdict::Degraded);
    assert!(a.notes.iter().any(|n| n.contains("KILL_PROCESS")));
    assert!(a.notes.iter().any(|n| n.contains("RET_LOG")));
    let mut f = full();
    f.tsync = false;
    let a = assess(Area::Seccomp, &f);
    assert_eq!(a.verdict, Verdict::Degraded);
    assert!(a.notes.iter().any(|n| n.contains("TSYNC")));
    let mut f = full();
    f.seccomp_filter = false;
    assert_eq!(assess(Area::Seccomp, &f).verdict, Verdict::Missing);
}

#[test]
fn failed_userns_probe_reason_is_reported() {
    let mut f = unprivileged(full());
    f.user_namespaces = Err(UsernsBlock::Failed {
        step: UsernsStep::Unshare,
        errno: libc::EPERM,
    });
    let r = build(&[root(full()), nobody(f)], &passing(), None);
    let who = &r.identities[1];
    assert_eq!(who.label, "uid 65534");
    assert!(who
        .user_namespaces_blocked
        .as_deref()
        .is_some_and(|w| w.contains("EPERM")));
    let md = markdown(&r);
    assert!(md.contains("| user namespaces | yes | no: "), "{md}");
}

#[test]
fn filtered_out_mechanisms_say_so() {
    let results = vec![result("vow::stdio::getpid", Outcome::Pass)];
    let r = build(&[root(full())], &results, None);
    let ns = line(&r, Area::Namespaces);
    assert_eq!(ns.passed + ns.failed + ns.skipped, 0);
    assert!(ns.notes.iter().any(|n| n.contains("filtered out")));
}

/// The real binary: `--report --format json`, filtered to a few fast probes.
#[test]
fn binary_prints_one_json_document() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_exile-conformance"))
        .args(["--report", "--format", "json", "escape::openat2"])
        .output()
        .expect("run exile-conformance");
    let text = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{text}"));
    assert_eq!(
        out.status.success(),
        doc["ok"].as_bool().expect("ok"),
        "exit status follows `ok`"
    );
    assert!(doc["kernel"].as_str().is_some_and(|k| !k.is_empty()));
    let ids = doc["identities"].as_array().expect("identities");
    assert!(!ids.is_empty());
    let f = &ids[0]["features"];
    for key in [
        "seccomp_filter",
        "tsync",
        "kill_process",
        "close_range",
        "cap_sys_admin",
    ] {
        assert!(f[key].is_boolean(), "features.{key} in {f}");
    }
    assert!(f["landlock"]["abi"].is_u64());
    assert!(f["landlock"]["status"].is_string() || f["landlock"]["status"].is_object());
    assert!(f.get("user_namespaces").is_some());
    let mechs = doc["mechanisms"].as_array().expect("mechanisms");
    let ids: Vec<&str> = mechs.iter().filter_map(|m| m["id"].as_str()).collect();
    for id in [
        "seccomp",
        "landlock",
        "filesystem",
        "fallback",
        "user_namespaces",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    for m in mechs {
        let v = m["verdict"].as_str().expect("verdict");
        assert!(
            ["works", "degraded", "missing", "broken"].contains(&v),
            "{v}"
        );
        assert!(m["notes"].is_array());
    }
    let seccomp = mechs
        .iter()
        .find(|m| m["id"] == "seccomp")
        .expect("seccomp");
    assert!(seccomp["passed"].as_u64().unwrap_or(0) >= 1, "{seccomp}");
    let probes = doc["probes"].as_array().expect("probes");
    assert!(probes.iter().all(|p| p["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("escape::openat2"))));
    assert_eq!(
        doc["summary"]["passed"].as_u64().unwrap_or(0) as usize
            + doc["summary"]["failed"].as_u64().unwrap_or(0) as usize
            + doc["summary"]["skipped"].as_u64().unwrap_or(0) as usize,
        probes.len()
    );
}
