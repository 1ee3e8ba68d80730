//! Running the registry: contexts per identity, verdicts, output formats,
//! and the libtest-mimic trials used by `cargo test`.

use std::fmt;

use exile::Features;
use serde::Serialize;

use crate::probe::{in_child, run_probe, Ctx, Expected, Identity, Observed, Probe, PROBE_TIMEOUT};

/// A probe bound to an identity, with its expectation computed.
#[derive(Clone, Debug)]
pub struct Case {
    /// Full name (`…::unpriv` for the unprivileged run).
    pub name: String,
    /// The probe.
    pub probe: Probe,
    /// Context the probe runs in.
    pub ctx: Ctx,
    /// What it should observe.
    pub expected: Expected,
}

/// The verdict of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Observed what was expected.
    Pass,
    /// Observed something else.
    Fail,
    /// Not applicable here.
    Skip,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        })
    }
}

/// One line of results (also the JSON line format).
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// Probe name.
    pub name: String,
    /// Verdict.
    pub outcome: Outcome,
    /// Expectation, rendered.
    pub expected: String,
    /// Observation, rendered (empty when skipped).
    pub observed: String,
    /// Why it was skipped or failed.
    pub reason: String,
}

/// Detect features as `identity` would see them (in a forked child for the
/// unprivileged identity, so the caller keeps its privileges).
pub fn detect_as(identity: Identity) -> Result<Features, String> {
    match identity {
        Identity::Invoker if crate::persona::active().is_none() => Ok(Features::detect()),
        // Under a persona, detect in a child that carries the persona's filter.
        _ => in_child(identity, PROBE_TIMEOUT, Features::detect)
            .map_err(|o| format!("feature detection as uid 65534: {o}")),
    }
}

/// The identities to run: the invoker, plus uid 65534 when started as root.
pub fn identities() -> Vec<Identity> {
    if nix::unistd::geteuid().is_root() {
        vec![Identity::Invoker, Identity::Unprivileged]
    } else {
        vec![Identity::Invoker]
    }
}

/// Contexts for every identity.
pub fn contexts() -> Result<Vec<Ctx>, String> {
    identities()
        .into_iter()
        .map(|identity| {
            let features = detect_as(identity)?;
            let (uid, gid) = match identity {
                Identity::Invoker => (
                    nix::unistd::geteuid().as_raw(),
                    nix::unistd::getegid().as_raw(),
                ),
                Identity::Unprivileged => (crate::probe::UNPRIV_ID, crate::probe::UNPRIV_ID),
            };
            Ok(Ctx {
                features,
                identity,
                uid,
                gid,
                persona: crate::persona::active(),
            })
        })
        .collect()
}

/// Every probe × every context, with expectations computed.
pub fn cases(probes: &[Probe], contexts: &[Ctx]) -> Vec<Case> {
    // Create the fixture root before any probe forks.
    let _ = crate::fixture::root();
    let mut out = Vec::new();
    for ctx in contexts {
        for probe in probes {
            let name = match ctx.identity {
                Identity::Invoker => probe.name.clone(),
                Identity::Unprivileged => format!("{}::unpriv", probe.name),
            };
            out.push(Case {
                name,
                probe: probe.clone(),
                ctx: ctx.clone(),
                expected: (probe.expected)(ctx),
            });
        }
    }
    out
}

impl Case {
    /// Whether the case is skipped here (without running it), and why.
    pub fn skip_reason(&self) -> Option<&str> {
        match &self.expected {
            Expected::Skip(why) => Some(why),
            _ => None,
        }
    }

    /// Run the probe and judge it.
    pub fn run(&self) -> CaseResult {
        if let Some(why) = self.skip_reason() {
            return CaseResult {
                name: self.name.clone(),
                outcome: Outcome::Skip,
                expected: self.expected.to_string(),
                observed: String::new(),
                reason: why.to_owned(),
            };
        }
        let observed = run_probe(&self.probe, &self.ctx);
        let pass = self.expected.matches(&observed);
        CaseResult {
            name: self.name.clone(),
            outcome: if pass { Outcome::Pass } else { Outcome::Fail },
            expected: self.expected.to_string(),
            observed: observed.to_string(),
            reason: if pass {
                String::new()
            } else {
                format!(
                    "expected {}, observed {}",
                    self.expected,
                    observed_detail(&observed)
                )
            },
        }
    }
}

fn observed_detail(o: &Observed) -> String {
    o.to_string()
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed cases.
    pub passed: usize,
    /// Failed cases.
    pub failed: usize,
    /// Skipped cases.
    pub skipped: usize,
}

impl Summary {
    /// Count one result.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail => self.failed += 1,
            Outcome::Skip => self.skipped += 1,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// The closing JSON object of `--format json`.
#[derive(Clone, Debug, Serialize)]
pub struct JsonSummary<'a> {
    /// Marks the line as the summary.
    pub summary: bool,
    /// Passed cases.
    pub passed: usize,
    /// Failed cases.
    pub failed: usize,
    /// Skipped cases.
    pub skipped: usize,
    /// `uname -r`.
    pub kernel: &'a str,
    /// Features detected by the invoker.
    pub features: &'a Features,
}

/// libtest-mimic trials for every case (`cargo test -p exile-conformance`).
pub fn trials(cases: Vec<Case>) -> Vec<libtest_mimic::Trial> {
    cases
        .into_iter()
        .map(|case| {
            let ignored = case.skip_reason().is_some();
            let name = case.name.clone();
            libtest_mimic::Trial::test(name, move || {
                let result = case.run();
                match result.outcome {
                    Outcome::Fail => Err(result.reason.into()),
                    _ => Ok(()),
                }
            })
            .with_ignored_flag(ignored)
        })
        .collect()
}
