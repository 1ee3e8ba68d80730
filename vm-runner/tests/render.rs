//! Verdicts and the renderings (table, markdown, JSON, JUnit) of a fixed matrix.

use std::path::{Path, PathBuf};

use exile_vm_runner::config::Config;
use exile_vm_runner::kernel::KernelImage;
use exile_vm_runner::matrix::{KernelRun, Matrix, Problem, ProblemKind, State};
use exile_vm_runner::qemu::{Accel, Boot, BootEnd};
use exile_vm_runner::runner::evaluate;

const CONFIG: &str = r#"
[[kernel]]
name = "bookworm"
suite = "bookworm"
[kernel.must]
"landlock.abi" = 2
kill_process = true

[[kernel]]
name = "trixie"
suite = "trixie"
[kernel.must]
"landlock.abi" = 6
user_namespaces = "ok"

[[kernel]]
name = "sid"
suite = "sid"

[[kernel]]
name = "trixie-persona-4.14"
suite = "trixie"
persona = "4.14"
[kernel.must]
kill_process = false
"#;

fn features(abi: u8, status: &str) -> String {
    format!(
        r#"{{"kernel_release":"K","seccomp_filter":true,"seccomp_syscall":true,"tsync":true,"kill_process":true,"ret_log":true,"user_notif":true,"landlock":{{"abi":{abi},"status":"{status}"}},"user_namespaces":{{"Ok":null}},"close_range":true,"cap_sys_admin":true,"cap_setpcap":true}}"#
    )
}

fn boot(end: BootEnd, seconds: f64, results: String) -> Boot {
    Boot {
        end,
        exit_code: Some(0),
        seconds,
        results: results.into_bytes(),
        kernel_log: PathBuf::from("/nonexistent/kernel.log"),
        qemu_stderr: String::new(),
    }
}

fn image(package: &str, version: &str) -> KernelImage {
    KernelImage {
        suite: String::new(),
        meta: "linux-image-cloud-amd64".into(),
        package: package.into(),
        version: version.into(),
        path_in_package: String::new(),
        vmlinuz: PathBuf::new(),
    }
}

fn matrix() -> Matrix {
    let config = Config::parse(CONFIG, Path::new("kernels.toml")).unwrap();
    let k = &config.kernels;
    let ok_results = format!(
        "{}\n{}\n{{\"summary\":true,\"passed\":1,\"failed\":0,\"skipped\":1,\"kernel\":\"6.1.0-50-cloud-amd64\",\"features\":{}}}\n",
        r#"{"name":"vow::stdio::write","outcome":"pass","expected":"ok","observed":"ok","reason":""}"#,
        r#"{"name":"ns::user::blocked::hard","outcome":"skip","expected":"","observed":"","reason":"user namespaces <work> here"}"#,
        features(2, "enabled")
    );
    let bad_results = format!(
        "{}\n{{\"summary\":true,\"passed\":0,\"failed\":1,\"skipped\":0,\"kernel\":\"6.12.107+deb13-cloud-amd64\",\"features\":{}}}\n",
        r#"{"name":"fs::landlock::deny_write","outcome":"fail","expected":"EACCES","observed":"ok & \"written\"","reason":"write allowed"}"#,
        features(0, "not_enabled")
    );
    let persona_results = format!(
        "{}\n{{\"summary\":true,\"passed\":0,\"failed\":0,\"skipped\":1,\"kernel\":\"6.12.107+deb13-cloud-amd64\",\"init\":\"exile-vm-testinit\",\"features\":{}}}\n",
        r#"{"name":"testinit::persona","outcome":"skip","expected":"4.14","observed":"","reason":"the test init does not emulate personas"}"#,
        features(6, "enabled")
    );
    let mut runs = vec![
        evaluate(
            &k[0],
            Some(&image("linux-image-6.1.0-50-cloud-amd64", "6.1.176-1")),
            &boot(BootEnd::Exited, 5.04, ok_results),
            Accel::Tcg,
        ),
        evaluate(
            &k[1],
            Some(&image(
                "linux-image-6.12.107+deb13-cloud-amd64",
                "6.12.107-1",
            )),
            &boot(BootEnd::Exited, 7.2, bad_results),
            Accel::Tcg,
        ),
        evaluate(
            &k[2],
            Some(&image("linux-binary-7.2.13+deb14-cloud-amd64", "7.2.13-1")),
            &boot(BootEnd::TimedOut, 120.0, String::new()),
            Accel::Tcg,
        ),
        evaluate(
            &k[3],
            Some(&image(
                "linux-image-6.12.107+deb13-cloud-amd64",
                "6.12.107-1",
            )),
            &boot(BootEnd::Exited, 7.0, persona_results),
            Accel::Tcg,
        ),
    ];
    runs.push(KernelRun::not_booted(
        "forky",
        "forky",
        "console=ttyS0".into(),
        Problem::new(
            ProblemKind::Fetch,
            "suite forky is not available from <mirror>",
        ),
    ));
    for r in &mut runs {
        r.kernel_log = None;
    }
    Matrix {
        init: "exile-vm-testinit".into(),
        accel: Accel::Tcg,
        wall_seconds: 42.5,
        kernels: runs,
    }
}

#[test]
fn verdicts() {
    let m = matrix();
    let [ok, bad, timeout, persona, fetch] = &m.kernels[..] else {
        panic!()
    };
    assert!(ok.ok(), "{:?}", ok.problems);
    assert_eq!(ok.mechanisms.landlock.cell(), "works (ABI 2)");
    assert_eq!(ok.mechanisms.seccomp.state, State::Works);
    assert_eq!((ok.passed, ok.failed, ok.skipped), (1, 0, 1));
    assert_eq!(ok.kernel_release.as_deref(), Some("6.1.0-50-cloud-amd64"));

    assert!(!bad.ok());
    let kinds: Vec<ProblemKind> = bad.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::Probes, ProblemKind::Must]);
    assert!(bad.problems[1]
        .message
        .contains("landlock.abi: expected 6, observed 0"));
    assert_eq!(bad.mechanisms.landlock.cell(), "missing (not_enabled)");

    assert!(!timeout.ok());
    assert_eq!(timeout.problems[0].kind, ProblemKind::Boot);
    assert!(timeout.problems[0]
        .message
        .contains("timed out after 120 s"));
    assert_eq!(timeout.mechanisms.seccomp.state, State::Unknown);
    assert!(timeout.log_tail.as_deref().unwrap().contains("is empty"));

    assert!(persona.ok(), "{:?}", persona.problems);
    assert!(persona.must.is_empty());
    assert!(persona
        .must_not_checked
        .as_deref()
        .unwrap()
        .contains("personas"));

    assert_eq!(fetch.problems[0].kind, ProblemKind::Fetch);
    assert!(!m.ok());
}

#[test]
fn table() {
    insta::assert_snapshot!(matrix().render_table());
}

#[test]
fn markdown() {
    insta::assert_snapshot!(matrix().render_markdown());
}

#[test]
fn junit() {
    let xml = matrix().render_junit();
    // Well-formed enough for CI parsers: balanced suites and cases, escaped text.
    assert_eq!(xml.matches("<testsuite ").count(), 5);
    assert_eq!(xml.matches("</testsuite>").count(), 5);
    let self_closing = xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<testcase ") && l.ends_with("/>"))
        .count();
    assert_eq!(
        xml.matches("<testcase ").count(),
        self_closing + xml.matches("</testcase>").count()
    );
    assert_eq!(
        xml.matches("<failure ").count(),
        xml.matches("</failure>").count()
    );
    assert!(xml.contains("ok &amp; &quot;written&quot;"));
    assert!(xml.contains("&lt;work&gt;"));
    insta::assert_snapshot!(xml);
}

#[test]
fn json() {
    let v: serde_json::Value = serde_json::from_str(&matrix().render_json()).unwrap();
    assert_eq!(v["kernels"].as_array().unwrap().len(), 5);
    assert_eq!(v["accel"], "tcg");
    assert_eq!(v["kernels"][0]["mechanisms"]["landlock"]["state"], "works");
    assert_eq!(v["kernels"][1]["must"][0]["key"], "landlock.abi");
    assert_eq!(v["kernels"][1]["must"][0]["ok"], false);
    assert_eq!(v["kernels"][2]["end"], "timed_out");
    assert_eq!(v["kernels"][4]["problems"][0]["kind"], "fetch");
}

#[test]
fn mechanism_override_line_wins() {
    let config = Config::parse(CONFIG, Path::new("kernels.toml")).unwrap();
    let results = format!(
        "{{\"mechanisms\":{{\"landlock\":{{\"verdict\":\"degraded\",\"detail\":\"ABI 6 but refer broken\"}}}}}}\n{{\"summary\":true,\"passed\":0,\"failed\":0,\"skipped\":0,\"kernel\":\"k\",\"features\":{}}}\n",
        features(6, "enabled")
    );
    let run = evaluate(
        &config.kernels[1],
        None,
        &boot(BootEnd::Exited, 1.0, results),
        Accel::Kvm,
    );
    assert_eq!(
        run.mechanisms.landlock.cell(),
        "degraded (ABI 6 but refer broken)"
    );
    assert_eq!(run.mechanisms.seccomp.cell(), "works");
}
