//! `exile-conformance`: run every probe, one line each, and close with
//! `N passed, N failed, N skipped`. Exit status 1 on any failure.
//!
//! `--report`: run the probes silently and print what this kernel gives
//! exile, mechanism by mechanism (see `report.rs`).

mod report;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use exile_conformance::harness::{self, Case, CaseResult, JsonSummary, Outcome, Summary};
use exile_conformance::persona::{self, Persona};
use exile_conformance::{init, registry};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One line per probe and a closing count (with --report: Markdown).
    Human,
    /// One JSON object per line, then a summary object (with --report: one
    /// JSON document).
    Json,
}

/// Conformance probes for exile: every policy applied in a forked child,
/// as the invoking user and (when root) as uid/gid 65534.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Run only probes whose name contains this string.
    filter: Option<String>,
    /// With FILTER: run only the probe with exactly this name.
    #[arg(long)]
    exact: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// For distribution packagers: run the probes (those matching FILTER,
    /// if given) and print the kernel release, every detected feature (per
    /// identity) and one verdict per mechanism — seccomp, Landlock, path
    /// rules, the mount-namespace fallback, namespaces, network,
    /// capabilities, process hardening: `works`, `degraded` (a fallback or
    /// missing parts, named), `missing` (unavailable, and why) or `broken`
    /// (one of its probes failed). Markdown, or one JSON document with
    /// `--format json`. Exit status 1 when a mechanism is broken.
    #[arg(long, conflicts_with_all = ["list", "init"])]
    report: bool,
    /// List probe names and exit.
    #[arg(long)]
    list: bool,
    /// Emulate an older kernel (3.17, 4.14, 5.4, 5.10, 6.1): system calls
    /// introduced later fail with ENOSYS in every probe.
    #[arg(long)]
    persona: Option<String>,
    /// Run as PID 1 of a VM: mount /proc, /sys, /dev, /tmp, read options
    /// from /proc/cmdline, write JSON lines to `exile.out=`, power off.
    #[arg(long)]
    init: bool,
}

fn main() -> ExitCode {
    // Copied as a probe's executable and started as `true`: succeed at once.
    if std::env::args_os()
        .next()
        .is_some_and(|a| a.to_string_lossy().ends_with("/true"))
    {
        return ExitCode::SUCCESS;
    }
    // Started as /init by the kernel: behave as --init whatever the arguments.
    if std::process::id() == 1 {
        run_init();
    }
    let args = Args::parse();
    if args.init {
        run_init();
    }
    let mut out = std::io::stdout().lock();
    let result = if args.report {
        run_report(&args, &mut out)
    } else {
        run(&args, &mut out)
    };
    exile_conformance::fixture::cleanup();
    match result {
        Ok(summary) if summary.failed == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("exile-conformance: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_init() -> ! {
    let options = init::setup();
    let mut out = match &options {
        Ok(o) => init::output(o),
        Err(_) => init::output(&init::BootOptions::default()),
    };
    if let Err(e) = &options {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"name": "init::setup", "outcome": "fail", "expected": "ok", "observed": e, "reason": e})
        );
    }
    let persona = options.as_ref().ok().and_then(|o| o.persona.clone());
    let args = Args {
        filter: None,
        exact: false,
        format: Format::Json,
        list: false,
        persona,
        init: true,
        report: false,
    };
    if let Err(e) = run(&args, &mut out) {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({"name": "init::run", "outcome": "fail", "expected": "ok", "observed": e, "reason": e})
        );
    }
    let _ = out.flush();
    init::power_off()
}

/// Select the persona, detect features per identity, and the cases FILTER keeps.
fn select(args: &Args) -> Result<(Vec<exile_conformance::probe::Ctx>, Vec<Case>), String> {
    let persona = args
        .persona
        .as_deref()
        .map(str::parse::<Persona>)
        .transpose()?;
    persona::select(persona)?;
    let contexts = harness::contexts()?;
    let probes = registry::all();
    let cases: Vec<_> = harness::cases(&probes, &contexts)
        .into_iter()
        .filter(|c| match &args.filter {
            None => true,
            Some(f) if args.exact => c.name == *f,
            Some(f) => c.name.contains(f.as_str()),
        })
        .collect();
    Ok((contexts, cases))
}

/// `--report`: run the cases, then print the report. A broken mechanism
/// counts as a failure (exit status 1).
fn run_report(args: &Args, out: &mut dyn Write) -> Result<Summary, String> {
    let (contexts, cases) = select(args)?;
    let results: Vec<CaseResult> = cases.iter().map(Case::run).collect();
    let identities: Vec<report::IdentityFeatures> = contexts
        .iter()
        .map(|c| report::IdentityFeatures {
            identity: c.identity,
            uid: c.uid,
            features: c.features.clone(),
        })
        .collect();
    let persona = persona::active().map(|p| p.to_string());
    let r = report::build(&identities, &results, persona);
    let text = match args.format {
        Format::Human => report::markdown(&r),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?;
            s.push('\n');
            s
        }
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    let mut summary = r.summary;
    if !r.ok {
        summary.failed = summary.failed.max(1);
    }
    Ok(summary)
}

fn run(args: &Args, out: &mut dyn Write) -> Result<Summary, String> {
    let (contexts, cases) = select(args)?;
    if args.list {
        for c in &cases {
            writeln!(out, "{}", c.name).map_err(|e| e.to_string())?;
        }
        return Ok(Summary::default());
    }
    let mut summary = Summary::default();
    for case in &cases {
        let result = case.run();
        summary.add(result.outcome);
        print_result(out, args.format, &result).map_err(|e| e.to_string())?;
    }
    let features = &contexts[0].features;
    match args.format {
        Format::Human => writeln!(out, "{summary}"),
        Format::Json => {
            let line = JsonSummary {
                summary: true,
                passed: summary.passed,
                failed: summary.failed,
                skipped: summary.skipped,
                kernel: &features.kernel_release,
                features,
            };
            writeln!(
                out,
                "{}",
                serde_json::to_string(&line).map_err(|e| e.to_string())?
            )
        }
    }
    .map_err(|e| e.to_string())?;
    Ok(summary)
}

fn print_result(out: &mut dyn Write, format: Format, r: &CaseResult) -> std::io::Result<()> {
    match format {
        Format::Json => writeln!(out, "{}", serde_json::to_string(r).unwrap_or_default()),
        Format::Human => match r.outcome {
            Outcome::Fail => writeln!(out, "FAIL {} — {}", r.name, r.reason),
            Outcome::Skip => writeln!(out, "skip {} — {}", r.name, r.reason),
            Outcome::Pass => writeln!(out, "pass {} ({})", r.name, r.observed),
        },
    }
}
