//! The conformance suite builds statically (`-C target-feature=+crt-static`,
//! as the VM's `/init` needs) and that static binary starts and runs probes
//! on the host: `--list` names the probes, and one probe passes.
//!
//! The build goes to the same directory the runner uses, so a following
//! `exile-vm-runner` run reuses it.

use std::process::Command;

use exile_vm_runner::init_build;

#[test]
fn the_static_conformance_binary_starts_and_runs_a_probe() {
    let log = |m: &str| eprintln!("{m}");
    let path = init_build::build_static("exile-conformance", "exile-conformance", &log)
        .expect("static build of exile-conformance");
    // build_static already refused a binary with an ELF interpreter; check
    // it again here so the claim is this test's own.
    init_build::check_static_elf(&path).expect("a static ELF");

    let list = Command::new(&path)
        .arg("--list")
        .output()
        .expect("run --list");
    assert!(list.status.success(), "--list failed: {list:?}");
    let names = String::from_utf8_lossy(&list.stdout);
    for name in [
        "vow::defect_16_unknown_vow_is_an_error",
        "vow::action::trap",
    ] {
        assert!(names.contains(name), "--list lacks {name}:\n{names}");
    }

    let run = Command::new(&path)
        .args(["--exact", "vow::defect_16_unknown_vow_is_an_error"])
        .output()
        .expect("run one probe");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "the probe run failed:\n{text}");
    // --exact names one case: the root one (its ::unpriv twin has
    // another name).
    let expected = "1 passed, 0 failed, 0 skipped";
    assert!(text.contains(expected), "{text}");
}
