//! Verdicts per kernel and the matrix renderings: terminal table,
//! `matrix.md`, `matrix.json`, `junit.xml`.
//!
//! Mechanism columns (`seccomp`, `landlock`, `userns`) are derived from the
//! summary's features, downgraded by failing probes of that area, and
//! overridden by a `{"mechanisms": {...}}` line when the init sends one:
//!
//! - **seccomp** — `works`: filter mode, the `seccomp()` call, TSYNC and
//!   KILL_PROCESS; `degraded`: filter mode without some of those; `missing`:
//!   no filter mode.
//! - **landlock** — `works` (ABI n) when the ABI is ≥ 1, else `missing` with
//!   the status (`not_built`, `not_enabled`, …).
//! - **userns** — `works` when `user_namespaces` is `Ok`, else `missing`
//!   with the reason.
//!
//! Probe areas, by the first segment of the probe name: `vow`, `seccomp`,
//! `filter`, `rule` → seccomp; `fs`, `landlock`, `path` → landlock; `ns::user`,
//! `userns` → userns.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::must::{self, MustResult};
use crate::qemu::{Accel, BootEnd};
use crate::serial::{Outcome, ProbeResult};

/// A mechanism's state on one kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Fully available.
    Works,
    /// Available in part, or probes of it failed.
    Degraded,
    /// Not available.
    Missing,
    /// No data (the boot failed).
    Unknown,
}

impl State {
    fn word(self) -> &'static str {
        match self {
            State::Works => "works",
            State::Degraded => "degraded",
            State::Missing => "missing",
            State::Unknown => "?",
        }
    }
}

/// A mechanism verdict with a short explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The state.
    pub state: State,
    /// Details (`ABI 6`, `not_enabled`, `no kill_process`).
    pub detail: String,
}

impl Verdict {
    fn new(state: State, detail: impl Into<String>) -> Verdict {
        Verdict {
            state,
            detail: detail.into(),
        }
    }

    /// `works (ABI 6)`.
    pub fn cell(&self) -> String {
        if self.detail.is_empty() {
            self.state.word().to_owned()
        } else {
            format!("{} ({})", self.state.word(), self.detail)
        }
    }
}

/// The three mechanism columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mechanisms {
    /// seccomp-bpf.
    pub seccomp: Verdict,
    /// Landlock.
    pub landlock: Verdict,
    /// User namespaces.
    pub userns: Verdict,
}

impl Mechanisms {
    /// All unknown (no features).
    pub fn unknown() -> Mechanisms {
        let u = || Verdict::new(State::Unknown, "");
        Mechanisms {
            seccomp: u(),
            landlock: u(),
            userns: u(),
        }
    }
}

/// Which mechanism a probe exercises, from its name.
pub fn area(probe: &str) -> Option<&'static str> {
    let first = probe.split("::").next().unwrap_or("");
    match first {
        "vow" | "vows" | "seccomp" | "filter" | "rule" | "rules" => Some("seccomp"),
        "fs" | "landlock" | "path" | "paths" => Some("landlock"),
        "userns" => Some("userns"),
        "ns" if probe.starts_with("ns::user") => Some("userns"),
        _ => None,
    }
}

fn flag(features: &Value, key: &str) -> bool {
    must::lookup(features, key)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Derive the verdicts.
pub fn mechanisms(
    features: Option<&Value>,
    probes: &[ProbeResult],
    overrides: &serde_json::Map<String, Value>,
) -> Mechanisms {
    let Some(f) = features.filter(|f| f.is_object()) else {
        return Mechanisms::unknown();
    };
    let seccomp = if !flag(f, "seccomp_filter") {
        Verdict::new(State::Missing, "no filter mode")
    } else {
        let lacking: Vec<&str> = ["seccomp_syscall", "tsync", "kill_process"]
            .into_iter()
            .filter(|k| !flag(f, k))
            .collect();
        if lacking.is_empty() {
            Verdict::new(State::Works, "")
        } else {
            Verdict::new(State::Degraded, format!("no {}", lacking.join(", no ")))
        }
    };
    let abi = must::lookup(f, "landlock.abi")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let landlock = if abi > 0 {
        Verdict::new(State::Works, format!("ABI {abi}"))
    } else {
        let status = must::lookup(f, "landlock.status")
            .map(status_word)
            .unwrap_or_else(|| "missing".into());
        Verdict::new(State::Missing, status)
    };
    let userns = match must::lookup(f, "user_namespaces") {
        Some(Value::Object(m)) if m.contains_key("Ok") => Verdict::new(State::Works, ""),
        Some(Value::Object(m)) => Verdict::new(
            State::Missing,
            m.get("Err").map(status_word).unwrap_or_default(),
        ),
        _ => Verdict::new(State::Unknown, "not reported"),
    };
    let mut m = Mechanisms {
        seccomp,
        landlock,
        userns,
    };
    for (name, verdict) in [
        ("seccomp", &mut m.seccomp),
        ("landlock", &mut m.landlock),
        ("userns", &mut m.userns),
    ] {
        let failed = probes
            .iter()
            .filter(|p| p.outcome == Outcome::Fail && area(&p.name) == Some(name))
            .count();
        if failed > 0 && verdict.state == State::Works {
            *verdict = Verdict::new(State::Degraded, format!("{failed} probe(s) failed"));
        }
        if let Some(o) = overrides.get(name) {
            *verdict = override_verdict(o);
        }
    }
    m
}

/// `"not_enabled"`, `{"failed": {...}}` → `failed`, `{"error": 22}` → `error 22`.
fn status_word(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) if m.len() == 1 => {
            let (k, inner) = m
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v))
                .unwrap_or_default();
            match inner {
                Value::Number(n) => format!("{k} {n}"),
                _ => k,
            }
        }
        other => other.to_string(),
    }
}

fn override_verdict(v: &Value) -> Verdict {
    let (word, detail) = match v {
        Value::String(s) => (s.as_str(), String::new()),
        Value::Object(m) => (
            m.get("verdict")
                .or_else(|| m.get("state"))
                .and_then(Value::as_str)
                .unwrap_or(""),
            m.get("detail").map(must::render).unwrap_or_default(),
        ),
        _ => ("", String::new()),
    };
    let state = match word {
        "works" => State::Works,
        "degraded" => State::Degraded,
        "missing" => State::Missing,
        _ => State::Unknown,
    };
    Verdict::new(state, detail)
}

/// What kind of failure a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The kernel could not be resolved or downloaded.
    Fetch,
    /// The machine did not boot to a summary (timeout, panic, QEMU error).
    Boot,
    /// The results stream is incomplete or inconsistent.
    Stream,
    /// A must-feature mismatched.
    Must,
    /// Probes failed.
    Probes,
}

/// One reason a kernel failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Kind.
    pub kind: ProblemKind,
    /// Message (may span lines).
    pub message: String,
}

impl Problem {
    /// A new problem.
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            kind,
            message: message.into(),
        }
    }
}

/// Everything known about one kernel of the matrix.
#[derive(Clone, Debug, Serialize)]
pub struct KernelRun {
    /// Entry name.
    pub name: String,
    /// Debian suite.
    pub suite: String,
    /// Note from kernels.toml.
    pub note: Option<String>,
    /// Package that shipped the kernel.
    pub package: Option<String>,
    /// Its version.
    pub version: Option<String>,
    /// `uname -r` reported by the init.
    pub kernel_release: Option<String>,
    /// Persona asked for.
    pub persona: Option<String>,
    /// Kernel command line used.
    pub cmdline: String,
    /// Accelerator.
    pub accel: Option<Accel>,
    /// Boot wall-clock seconds.
    pub boot_seconds: Option<f64>,
    /// How the boot ended.
    pub end: Option<BootEnd>,
    /// Passed probes.
    pub passed: u64,
    /// Failed probes.
    pub failed: u64,
    /// Skipped probes.
    pub skipped: u64,
    /// Probe lines.
    pub probes: Vec<ProbeResult>,
    /// Must-feature verdicts.
    pub must: Vec<MustResult>,
    /// Why the must table was not checked, if it was not.
    pub must_not_checked: Option<String>,
    /// Mechanism columns.
    pub mechanisms: Mechanisms,
    /// The features object.
    pub features: Option<Value>,
    /// Reasons this kernel failed (empty: it passed).
    pub problems: Vec<Problem>,
    /// Informational notes (not failures).
    pub notes: Vec<String>,
    /// Tail of the kernel log when something went wrong.
    pub log_tail: Option<String>,
    /// Kernel log file.
    pub kernel_log: Option<PathBuf>,
}

impl KernelRun {
    /// A row for an entry that never booted.
    pub fn not_booted(name: &str, suite: &str, cmdline: String, problem: Problem) -> KernelRun {
        KernelRun {
            name: name.to_owned(),
            suite: suite.to_owned(),
            note: None,
            package: None,
            version: None,
            kernel_release: None,
            persona: None,
            cmdline,
            accel: None,
            boot_seconds: None,
            end: None,
            passed: 0,
            failed: 0,
            skipped: 0,
            probes: Vec::new(),
            must: Vec::new(),
            must_not_checked: None,
            mechanisms: Mechanisms::unknown(),
            features: None,
            problems: vec![problem],
            notes: Vec::new(),
            log_tail: None,
            kernel_log: None,
        }
    }

    /// Did this kernel pass?
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn result_word(&self) -> &'static str {
        if self.ok() {
            "ok"
        } else if self.end == Some(BootEnd::TimedOut) {
            "TIMEOUT"
        } else {
            "FAIL"
        }
    }
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    /// Which init was booted.
    pub init: String,
    /// Accelerator used.
    pub accel: Accel,
    /// Wall-clock seconds of the whole run (fetch + boots).
    pub wall_seconds: f64,
    /// One row per kernel.
    pub kernels: Vec<KernelRun>,
}

impl Matrix {
    /// Did every kernel pass?
    pub fn ok(&self) -> bool {
        self.kernels.iter().all(KernelRun::ok)
    }

    fn header() -> [&'static str; 10] {
        [
            "kernel", "uname -r", "seccomp", "landlock", "userns", "pass", "fail", "skip",
            "boot s", "result",
        ]
    }

    fn row(k: &KernelRun) -> [String; 10] {
        [
            k.name.clone(),
            k.kernel_release.clone().unwrap_or_else(|| "-".into()),
            k.mechanisms.seccomp.cell(),
            k.mechanisms.landlock.cell(),
            k.mechanisms.userns.cell(),
            k.passed.to_string(),
            k.failed.to_string(),
            k.skipped.to_string(),
            k.boot_seconds
                .map_or_else(|| "-".into(), |s| format!("{s:.1}")),
            k.result_word().to_owned(),
        ]
    }

    /// The terminal table, followed by the problems of failing kernels.
    pub fn render_table(&self) -> String {
        let rows: Vec<[String; 10]> = self.kernels.iter().map(Matrix::row).collect();
        let mut width: Vec<usize> = Matrix::header().iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(&width).enumerate() {
                let pad = w - c.chars().count();
                let numeric = (5..=8).contains(&i);
                if numeric {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    s.push_str(&" ".repeat(pad));
                }
                s.push_str("  ");
            }
            s.trim_end().to_owned() + "\n"
        };
        let header: Vec<String> = Matrix::header().iter().map(|s| (*s).to_owned()).collect();
        let mut out = line(&header);
        out.push_str(&line(
            &width.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
        ));
        for r in &rows {
            out.push_str(&line(r));
        }
        let _ = writeln!(
            out,
            "\n{} kernel(s), {} failed; init {}; accel {}; wall time {:.1} s",
            self.kernels.len(),
            self.kernels.iter().filter(|k| !k.ok()).count(),
            self.init,
            self.accel,
            self.wall_seconds
        );
        for k in self.kernels.iter().filter(|k| !k.ok()) {
            let _ = writeln!(out, "\n{}:", k.name);
            for p in &k.problems {
                for (i, l) in p.message.lines().enumerate() {
                    let _ = writeln!(out, "  {}{l}", if i == 0 { "- " } else { "  " });
                }
            }
        }
        out
    }

    /// `matrix.md`.
    pub fn render_markdown(&self) -> String {
        let mut out = String::from("# exile kernel matrix\n\n");
        let _ = writeln!(
            out,
            "init `{}`, accel {}, wall time {:.1} s.\n",
            self.init, self.accel, self.wall_seconds
        );
        let header = Matrix::header();
        let _ = writeln!(out, "| {} | package |", header.join(" | "));
        let _ = writeln!(out, "|{}---|", "---|".repeat(header.len()));
        for k in &self.kernels {
            let cells: Vec<String> = Matrix::row(k).iter().map(|c| md_escape(c)).collect();
            let pkg = match (&k.package, &k.version) {
                (Some(p), Some(v)) => format!("{p} {v}"),
                _ => "-".into(),
            };
            let _ = writeln!(out, "| {} | {} |", cells.join(" | "), md_escape(&pkg));
        }
        for k in &self.kernels {
            let notes: Vec<&String> = k.notes.iter().chain(k.must_not_checked.iter()).collect();
            if k.ok() && notes.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n## {}\n", k.name);
            // Must and probe failures are itemised below.
            for p in k
                .problems
                .iter()
                .filter(|p| !matches!(p.kind, ProblemKind::Must | ProblemKind::Probes))
            {
                let _ = writeln!(
                    out,
                    "- **{}**",
                    md_escape(p.message.lines().next().unwrap_or(""))
                );
            }
            for n in notes {
                let _ = writeln!(out, "- {}", md_escape(n));
            }
            for m in k.must.iter().filter(|m| !m.ok) {
                let _ = writeln!(
                    out,
                    "- must `{}`: expected `{}`, observed `{}`",
                    m.key, m.expected, m.observed
                );
            }
            for p in k.probes.iter().filter(|p| p.outcome == Outcome::Fail) {
                let _ = writeln!(
                    out,
                    "- probe `{}`: expected `{}`, observed `{}` — {}",
                    p.name,
                    md_escape(&p.expected),
                    md_escape(&p.observed),
                    md_escape(&p.reason)
                );
            }
            if let Some(t) = &k.log_tail {
                let _ = writeln!(out, "\nKernel log (tail):\n\n```text\n{t}\n```");
            }
        }
        out
    }

    /// `matrix.json`.
    pub fn render_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// `junit.xml`: one testsuite per kernel; testcases `boot`, one per
    /// must-key (`must::landlock.abi`) and one per probe.
    pub fn render_junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let cases: Vec<Vec<Case>> = self.kernels.iter().map(cases_of).collect();
        let total: usize = cases.iter().map(Vec::len).sum();
        let failures: usize = cases
            .iter()
            .flatten()
            .filter(|c| c.failure.is_some())
            .count();
        let skipped: usize = cases
            .iter()
            .flatten()
            .filter(|c| c.skipped.is_some())
            .count();
        let _ = writeln!(
            out,
            "<testsuites name=\"exile-vm-runner\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
            self.wall_seconds
        );
        for (k, cases) in self.kernels.iter().zip(&cases) {
            let f = cases.iter().filter(|c| c.failure.is_some()).count();
            let s = cases.iter().filter(|c| c.skipped.is_some()).count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"{s}\" time=\"{:.3}\">",
                xml(&k.name),
                cases.len(),
                k.boot_seconds.unwrap_or(0.0)
            );
            out.push_str("    <properties>\n");
            let props = [
                ("suite", Some(k.suite.clone())),
                ("package", k.package.clone()),
                ("version", k.version.clone()),
                ("kernel", k.kernel_release.clone()),
                ("persona", k.persona.clone()),
                ("cmdline", Some(k.cmdline.clone())),
                ("accel", k.accel.map(|a| a.to_string())),
                ("init", Some(self.init.clone())),
            ];
            for (name, value) in props {
                if let Some(v) = value {
                    let _ = writeln!(
                        out,
                        "      <property name=\"{name}\" value=\"{}\"/>",
                        xml(&v)
                    );
                }
            }
            out.push_str("    </properties>\n");
            for c in cases {
                let time = c
                    .time
                    .map(|t| format!(" time=\"{t:.3}\""))
                    .unwrap_or_default();
                let open = format!(
                    "    <testcase classname=\"{}\" name=\"{}\"{time}",
                    xml(&format!("{}.{}", k.name, c.class)),
                    xml(&c.name)
                );
                match (&c.failure, &c.skipped) {
                    (Some((msg, body)), _) => {
                        let _ = writeln!(
                            out,
                            "{open}>\n      <failure message=\"{}\" type=\"failure\">{}</failure>\n    </testcase>",
                            xml(msg),
                            xml(body)
                        );
                    }
                    (None, Some(why)) => {
                        let _ = writeln!(
                            out,
                            "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                            xml(why)
                        );
                    }
                    (None, None) => {
                        let _ = writeln!(out, "{open}/>");
                    }
                }
            }
            out.push_str("  </testsuite>\n");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

struct Case {
    class: &'static str,
    name: String,
    time: Option<f64>,
    failure: Option<(String, String)>,
    skipped: Option<String>,
}

fn cases_of(k: &KernelRun) -> Vec<Case> {
    let mut v = Vec::new();
    // The boot itself fails for every problem that is not a probe or must failure.
    let boot_problems: Vec<&str> = k
        .problems
        .iter()
        .filter(|p| !matches!(p.kind, ProblemKind::Must | ProblemKind::Probes))
        .map(|p| p.message.as_str())
        .collect();
    let boot_failure = (!boot_problems.is_empty()).then(|| {
        let mut body = boot_problems.join("\n");
        if let Some(t) = &k.log_tail {
            body.push_str("\n\nkernel log (tail):\n");
            body.push_str(t);
        }
        (
            boot_problems[0].lines().next().unwrap_or("").to_owned(),
            body,
        )
    });
    v.push(Case {
        class: "boot",
        name: "boot".into(),
        time: k.boot_seconds,
        failure: boot_failure,
        skipped: None,
    });
    for m in &k.must {
        v.push(Case {
            class: "must",
            name: format!("must::{}", m.key),
            time: None,
            failure: (!m.ok).then(|| {
                (
                    format!("expected {}, observed {}", m.expected, m.observed),
                    format!("expected: {}\nobserved: {}", m.expected, m.observed),
                )
            }),
            skipped: None,
        });
    }
    if let Some(why) = &k.must_not_checked {
        v.push(Case {
            class: "must",
            name: "must".into(),
            time: None,
            failure: None,
            skipped: Some(why.clone()),
        });
    }
    for p in &k.probes {
        v.push(Case {
            class: "probe",
            name: p.name.clone(),
            time: None,
            failure: (p.outcome == Outcome::Fail).then(|| {
                (
                    format!("expected {}, observed {}", p.expected, p.observed),
                    format!(
                        "expected: {}\nobserved: {}\nreason: {}",
                        p.expected, p.observed, p.reason
                    ),
                )
            }),
            skipped: (p.outcome == Outcome::Skip).then(|| p.reason.clone()),
        });
    }
    v
}

/// Escape text for XML attributes and content (control characters other
/// than tab/newline are dropped: XML 1.0 cannot carry them).
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
