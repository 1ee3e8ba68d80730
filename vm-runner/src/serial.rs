//! Parsing what the init wrote on the results port (ttyS1).
//!
//! The protocol is JSON lines:
//!
//! - one line per probe: `{"name": "vow::stdio::write", "outcome":
//!   "pass"|"fail"|"skip", "expected": "...", "observed": "...", "reason":
//!   "..."}`;
//! - optionally `{"mechanisms": {"seccomp": "works", ...}}` verdicts;
//! - one summary line: `{"summary": true, "passed": N, "failed": N,
//!   "skipped": N, "kernel": "<uname -r>", "features": {...}}` (the serde
//!   JSON of `exile::Features`), after which the init powers off.
//!
//! The reader is forgiving where that is safe and strict where it matters:
//! carriage returns (the tty's `ONLCR`), blank lines, non-JSON noise and
//! unknown objects or keys are ignored (counted in `ignored`); text before
//! a `{` on a line is skipped; an unterminated last line is accepted only if
//! it is complete JSON. A missing summary is reported by the caller as a
//! failure, never guessed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A probe's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Observed what was expected.
    Pass,
    /// Observed something else (also: an outcome this runner does not know).
    Fail,
    /// Not applicable on this kernel.
    Skip,
}

/// One probe line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// Probe name (`vow::stdio::write`).
    pub name: String,
    /// Verdict.
    pub outcome: Outcome,
    /// What was expected.
    #[serde(default)]
    pub expected: String,
    /// What happened.
    #[serde(default)]
    pub observed: String,
    /// Why it failed or was skipped.
    #[serde(default)]
    pub reason: String,
}

/// The summary line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Passed probes.
    #[serde(default)]
    pub passed: u64,
    /// Failed probes.
    #[serde(default)]
    pub failed: u64,
    /// Skipped probes.
    #[serde(default)]
    pub skipped: u64,
    /// `uname -r`.
    #[serde(default)]
    pub kernel: String,
    /// The features object (`exile::Features` as JSON).
    #[serde(default)]
    pub features: Value,
    /// Any other keys (e.g. `"init"`), kept for the JSON report.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Everything read from the results port.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SerialOutput {
    /// Probe lines, in order.
    pub probes: Vec<ProbeResult>,
    /// The summary line, if it arrived.
    pub summary: Option<Summary>,
    /// Mechanism verdicts from `{"mechanisms": {...}}` lines (merged).
    pub mechanisms: Map<String, Value>,
    /// Lines that were not understood (noise, unknown objects).
    pub ignored: usize,
    /// An unterminated, unparsable last line (the VM stopped mid-write).
    pub partial_last_line: Option<String>,
}

fn json_object(line: &str) -> Option<Map<String, Value>> {
    let start = line.find('{')?;
    // The first JSON value on the line; trailing noise is ignored.
    match serde_json::Deserializer::from_str(&line[start..])
        .into_iter::<Value>()
        .next()
    {
        Some(Ok(Value::Object(m))) => Some(m),
        _ => None,
    }
}

/// Parse the raw bytes of the results port.
pub fn parse(bytes: &[u8]) -> SerialOutput {
    let text = String::from_utf8_lossy(bytes);
    let mut out = SerialOutput::default();
    let terminated = text.ends_with('\n');
    let lines: Vec<&str> = text.split('\n').collect();
    let last = lines.len().saturating_sub(1);
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if line.is_empty() {
            continue;
        }
        let Some(obj) = json_object(line) else {
            if i == last && !terminated {
                out.partial_last_line = Some(line.to_owned());
            } else {
                out.ignored += 1;
            }
            continue;
        };
        if obj.get("summary").and_then(Value::as_bool) == Some(true) {
            match serde_json::from_value::<Summary>(Value::Object(obj)) {
                Ok(s) => out.summary = Some(s),
                Err(_) => out.ignored += 1,
            }
        } else if obj.contains_key("name") && obj.contains_key("outcome") {
            out.probes.push(probe_from(obj));
        } else if let Some(Value::Object(m)) = obj.get("mechanisms") {
            out.mechanisms.extend(m.clone());
        } else {
            out.ignored += 1;
        }
    }
    out
}

fn probe_from(obj: Map<String, Value>) -> ProbeResult {
    let s = |k: &str| match obj.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    };
    let raw_outcome = s("outcome");
    let (outcome, mut reason) = match raw_outcome.as_str() {
        "pass" => (Outcome::Pass, s("reason")),
        "fail" => (Outcome::Fail, s("reason")),
        "skip" => (Outcome::Skip, s("reason")),
        other => (Outcome::Fail, format!("unknown outcome {other:?}")),
    };
    if outcome == Outcome::Fail && reason.is_empty() {
        reason = "failed".to_owned();
    }
    ProbeResult {
        name: s("name"),
        outcome,
        expected: s("expected"),
        observed: s("observed"),
        reason,
    }
}

impl SerialOutput {
    /// Counts of the probe lines received: (passed, failed, skipped).
    pub fn counts(&self) -> (u64, u64, u64) {
        let c = |o: Outcome| self.probes.iter().filter(|p| p.outcome == o).count() as u64;
        (c(Outcome::Pass), c(Outcome::Fail), c(Outcome::Skip))
    }

    /// Problems with the stream itself: no summary, or a summary whose
    /// counts disagree with the probe lines received (lines were lost).
    pub fn problems(&self) -> Vec<String> {
        let mut v = Vec::new();
        match &self.summary {
            None => v.push(match &self.partial_last_line {
                Some(p) => format!(
                    "no summary line (the output ends mid-line: {:?})",
                    shorten(p, 80)
                ),
                None => "no summary line: the init stopped before finishing".to_owned(),
            }),
            Some(s) => {
                let (p, f, k) = self.counts();
                if (s.passed, s.failed, s.skipped) != (p, f, k) {
                    v.push(format!(
                        "summary says {}/{}/{} passed/failed/skipped but {p}/{f}/{k} probe lines arrived",
                        s.passed, s.failed, s.skipped
                    ));
                }
            }
        }
        v
    }
}

/// `s` cut to `max` characters with an ellipsis.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}
