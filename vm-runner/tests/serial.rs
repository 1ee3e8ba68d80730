//! Parsing the results port: noise, damage, missing summary.

use exile_vm_runner::serial::{parse, Outcome};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn mixed_output_with_noise_and_unknown_lines() {
    let out = parse(&fixture("serial-mixed.txt"));
    assert_eq!(out.probes.len(), 3);
    assert_eq!(out.probes[0].name, "vow::stdio::write");
    assert_eq!(out.probes[0].outcome, Outcome::Pass);
    assert_eq!(out.probes[1].outcome, Outcome::Fail);
    assert_eq!(out.probes[1].reason, "Landlock rule not enforced");
    assert_eq!(out.probes[2].outcome, Outcome::Skip);
    assert_eq!(out.counts(), (1, 1, 1));
    let s = out.summary.as_ref().expect("summary");
    assert_eq!((s.passed, s.failed, s.skipped), (1, 1, 1));
    assert_eq!(s.kernel, "6.12.107+deb13-cloud-amd64");
    assert_eq!(s.features["landlock"]["abi"], 6);
    assert_eq!(s.extra["future_key"], "x");
    assert_eq!(out.mechanisms["seccomp"], "works");
    // kernel noise, "garbage {not json", the unknown object
    assert_eq!(out.ignored, 3);
    assert_eq!(out.partial_last_line, None);
    assert!(out.problems().is_empty(), "{:?}", out.problems());
}

#[test]
fn partial_last_line_and_missing_summary() {
    let mut bytes = fixture("serial-mixed.txt");
    let cut = bytes
        .windows(10)
        .position(|w| w == b"{\"summary\"")
        .unwrap()
        + 40;
    bytes.truncate(cut);
    let out = parse(&bytes);
    assert!(out.summary.is_none());
    assert_eq!(out.probes.len(), 3);
    assert!(out
        .partial_last_line
        .as_deref()
        .is_some_and(|p| p.starts_with("{\"summary\"")));
    let problems = out.problems();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("no summary line") && problems[0].contains("mid-line"),
        "{problems:?}"
    );
}

#[test]
fn an_unterminated_but_complete_last_line_counts() {
    let out =
        parse(br#"{"summary":true,"passed":0,"failed":0,"skipped":0,"kernel":"k","features":{}}"#);
    assert!(out.summary.is_some());
    assert!(out.problems().is_empty());
}

#[test]
fn empty_and_binary_garbage() {
    let out = parse(b"");
    assert!(out.summary.is_none() && out.probes.is_empty());
    assert!(out.problems()[0].contains("no summary line"));
    let out = parse(b"\x00\xff\xfe\x01garbage\n\x1b[2J\n");
    assert!(out.probes.is_empty());
    assert_eq!(out.ignored, 2);
}

#[test]
fn lost_lines_are_detected() {
    let text = "{\"name\":\"a\",\"outcome\":\"pass\"}\n\
                {\"summary\":true,\"passed\":2,\"failed\":0,\"skipped\":0,\"kernel\":\"k\",\"features\":{}}\n";
    let problems = parse(text.as_bytes()).problems();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("2/0/0") && problems[0].contains("1/0/0"),
        "{problems:?}"
    );
}

#[test]
fn unknown_outcomes_fail_closed_and_prefix_noise_is_skipped() {
    let out = parse(b"[ 1.0] ttyS1: {\"name\":\"x\",\"outcome\":\"xpass\"} trailing\n");
    assert_eq!(out.probes.len(), 1);
    assert_eq!(out.probes[0].outcome, Outcome::Fail);
    assert!(out.probes[0].reason.contains("xpass"));
}
