//! The must-feature matcher.

use std::collections::BTreeMap;

use exile_vm_runner::must::{check, lookup, Expect};
use serde_json::json;

fn features() -> serde_json::Value {
    json!({
        "kernel_release": "6.12.107+deb13-cloud-amd64",
        "seccomp_filter": true,
        "kill_process": false,
        "landlock": {"abi": 6, "status": "enabled"},
        "user_namespaces": {"Err": "max_user_namespaces_zero"},
        "other": {"Err": {"failed": {"step": "unshare", "errno": 1}}},
        "ok_one": {"Ok": null},
        "status_err": {"error": 22}
    })
}

fn expect(v: toml::Value) -> Expect {
    Expect::from_toml(&v).unwrap()
}

#[test]
fn values_and_paths() {
    let f = features();
    assert_eq!(lookup(&f, "landlock.abi"), Some(&json!(6)));
    assert_eq!(lookup(&f, "landlock.nope"), None);
    assert_eq!(lookup(&f, "kill_process.deeper"), None);
    let yes =
        |e: Expect, k: &str| assert!(e.matches(lookup(&f, k).unwrap()), "{e} should match {k}");
    let no = |e: Expect, k: &str| {
        assert!(
            !e.matches(lookup(&f, k).unwrap()),
            "{e} should not match {k}"
        )
    };
    yes(expect(toml::Value::Integer(6)), "landlock.abi");
    no(expect(toml::Value::Integer(5)), "landlock.abi");
    yes(expect(toml::Value::Boolean(true)), "seccomp_filter");
    no(expect(toml::Value::Boolean(true)), "kill_process");
    no(expect(toml::Value::Integer(1)), "seccomp_filter");
    yes(Expect::parse_str(">=6"), "landlock.abi");
    yes(Expect::parse_str("<7"), "landlock.abi");
    no(Expect::parse_str(">6"), "landlock.abi");
    no(Expect::parse_str("!=6"), "landlock.abi");
    yes(Expect::parse_str("enabled"), "landlock.status");
    no(Expect::parse_str("not_enabled"), "landlock.status");
    yes(Expect::parse_str("6.12.*"), "kernel_release");
    no(Expect::parse_str("6.1.*"), "kernel_release");
    no(Expect::parse_str("6.12"), "kernel_release");
}

#[test]
fn results_and_enum_variants() {
    let f = features();
    let m = |s: &str, k: &str| Expect::parse_str(s).matches(lookup(&f, k).unwrap());
    assert!(m("blocked", "user_namespaces"));
    assert!(!m("ok", "user_namespaces"));
    assert!(m("ok", "ok_one"));
    assert!(!m("blocked", "ok_one"));
    assert!(m("max_user_namespaces_zero", "user_namespaces.Err"));
    assert!(m("failed", "other.Err"));
    assert!(m("unshare", "other.Err.failed.step"));
    assert!(m("error", "status_err"));
    assert!(m("Err", "user_namespaces"));
    // "ok"/"blocked" are only special on Result-shaped values.
    assert!(!m("ok", "landlock"));
}

#[test]
fn check_reports_every_key_and_missing_ones() {
    let mut must = BTreeMap::new();
    must.insert("landlock.abi".to_owned(), Expect::Int(6));
    must.insert("landlock.status".to_owned(), Expect::parse_str("enabled"));
    must.insert("kill_process".to_owned(), Expect::Bool(true));
    must.insert("close_range".to_owned(), Expect::Bool(true));
    let r = check(&must, &features());
    assert_eq!(r.len(), 4);
    let by_key = |k: &str| r.iter().find(|m| m.key == k).unwrap();
    assert!(by_key("landlock.abi").ok);
    assert!(by_key("landlock.status").ok);
    let kp = by_key("kill_process");
    assert!(!kp.ok);
    assert_eq!(
        (kp.expected.as_str(), kp.observed.as_str()),
        ("true", "false")
    );
    let cr = by_key("close_range");
    assert!(!cr.ok);
    assert_eq!(cr.observed, "missing");
}

#[test]
fn a_kernel_that_lost_landlock_fails() {
    let mut must = BTreeMap::new();
    must.insert("landlock.abi".to_owned(), Expect::Int(6));
    let lost = json!({"landlock": {"abi": 0, "status": "not_enabled"}});
    let r = check(&must, &lost);
    assert!(!r[0].ok);
    assert_eq!(r[0].observed, "0");
}

#[test]
fn bad_toml_values_are_rejected() {
    assert!(Expect::from_toml(&toml::Value::Float(1.5))
        .unwrap_err()
        .contains("float"));
    assert!(Expect::from_toml(&toml::Value::Array(vec![])).is_err());
}
