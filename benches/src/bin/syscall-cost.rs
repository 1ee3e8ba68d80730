//! `syscall-cost`: what a filter costs per system call in the kernel, for
//! no filter and for each compiler's filter, in one run.
//!
//! For every configuration (no filter; each rule set × compiler) and each
//! probe (`getppid`, constant-allowed; `fcntl(F_GETFD)`, argument-checked
//! under the vow sets), a forked child installs the filter and times
//! `--iters` calls; configurations are interleaved round by round, and the
//! median of `--rounds` rounds (`--stat min`: the minimum) is reported with
//! its ratio to no filter.
//!
//! ```text
//! cargo run --release -p exile-benches --bin syscall-cost                 # markdown
//! cargo run --release -p exile-benches --bin syscall-cost -- --json       # JSON lines
//! cargo run --release -p exile-benches --bin syscall-cost -- --set stdio --iters 50000 --rounds 5
//! ```
//!
//! It needs no libseccomp (that peer is skipped when it cannot be loaded,
//! always in a static build), so it can be built statically and booted as
//! the `/init` of a VM by `exile-vm-runner --init`:
//!
//! ```text
//! RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p exile-benches \
//!     --bin syscall-cost --target x86_64-unknown-linux-gnu
//! ```
//!
//! As PID 1 it mounts `/proc`, `/sys` and `/dev`, reads `exile.out=DEV`
//! (and `exile.bench.iters=N`, `exile.bench.rounds=K`, `exile.bench.stat=S`,
//! `exile.bench.set=NAME`) from the kernel command line, writes one probe
//! line per figure and a summary line there (the runner's protocol), prints
//! the table on the console and powers the machine off
//! (`benches/vm-cost.toml` is a matrix for it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use exile::seccomp::bpf::SockFilter;
use exile_benches::cost::{self, Probe};
use exile_benches::peers::{Compiler, Stack};
use exile_benches::sets::{self, RuleSet};

struct Options {
    json: bool,
    iters: u64,
    rounds: usize,
    sets: Vec<String>,
    min: bool,
}

const USAGE: &str =
    "usage: syscall-cost [--json] [--iters N] [--rounds K] [--stat median|min] [--set NAME]...
  --iters N    calls timed per child (default 20000; 5000 as a VM's init)
  --rounds K   children per figure (default 21; 7 as a VM's init)
  --stat S     figure reported: the median of the rounds (default) or the minimum
  --set NAME   only this set: stdio, files, service, allow300 (repeatable; default all)";

fn parse(args: &[String], pid1: bool) -> Result<Options, String> {
    let mut o = Options {
        json: false,
        iters: if pid1 { 5_000 } else { 20_000 },
        rounds: if pid1 { 7 } else { 21 },
        sets: Vec::new(),
        min: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--json" => o.json = true,
            "--iters" => {
                o.iters = value("--iters")?
                    .parse()
                    .map_err(|e| format!("--iters: {e}"))?
            }
            "--rounds" => {
                o.rounds = value("--rounds")?
                    .parse()
                    .map_err(|e| format!("--rounds: {e}"))?
            }
            "--set" => o.sets.push(value("--set")?),
            "--stat" => match value("--stat")?.as_str() {
                "median" => o.min = false,
                "min" => o.min = true,
                other => return Err(format!("--stat: {other:?} is not median or min")),
            },
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// Short names accepted by `--set`.
fn set_alias(name: &str) -> &'static str {
    match name {
        sets::STDIO => "stdio",
        sets::FILES => "files",
        sets::SERVICE => "service",
        _ => "allow300",
    }
}

/// One configuration: a set and a compiler, or no filter.
struct Config {
    set: Option<&'static str>,
    filter: &'static str,
    stack: Stack,
}

/// The figures of one run.
struct Run {
    kernel: String,
    skipped: Vec<String>,
    /// (config index, probe) → ns per call (median or minimum of the rounds).
    ns: BTreeMap<(usize, Probe), f64>,
    /// (config index, probe) → minimum and median ns per call.
    both: BTreeMap<(usize, Probe), (f64, f64)>,
    configs: Vec<Config>,
    errors: Vec<String>,
}

impl Run {
    fn none(&self, probe: Probe) -> Option<f64> {
        self.ns.get(&(0, probe)).copied()
    }

    fn find(&self, set: &str, filter: &str, probe: Probe) -> Option<f64> {
        let i = self
            .configs
            .iter()
            .position(|c| c.set == Some(set) && c.filter == filter)?;
        self.ns.get(&(i, probe)).copied()
    }
}

fn configs(sets: &[RuleSet], skipped: &mut Vec<String>) -> Vec<Config> {
    let mut out = vec![Config {
        set: None,
        filter: "none",
        stack: Vec::new(),
    }];
    for set in sets {
        for compiler in Compiler::KERNEL {
            match compiler.compile(&set.spec) {
                Ok(stack) => out.push(Config {
                    set: Some(set.name),
                    filter: compiler.name(),
                    stack,
                }),
                Err(e) => {
                    let line = format!("{} / {}: {e}", set.name, compiler.name());
                    if !skipped.contains(&line) {
                        skipped.push(line);
                    }
                }
            }
        }
    }
    out
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn measure(o: &Options) -> Run {
    let chosen: Vec<RuleSet> = sets::all()
        .into_iter()
        .filter(|s| {
            o.sets.is_empty() || o.sets.iter().any(|n| n == set_alias(s.name) || n == s.name)
        })
        .collect();
    let mut skipped = Vec::new();
    let configs = configs(&chosen, &mut skipped);
    let mut samples: BTreeMap<(usize, Probe), Vec<f64>> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut failed: Vec<(usize, Probe)> = Vec::new();
    for _ in 0..o.rounds.max(1) {
        for (i, c) in configs.iter().enumerate() {
            for probe in Probe::ALL {
                if failed.contains(&(i, probe)) {
                    continue;
                }
                let stack: &[Vec<SockFilter>] = &c.stack;
                match cost::time_in_child(stack, probe, o.iters) {
                    Ok(d) => samples
                        .entry((i, probe))
                        .or_default()
                        .push(d.as_nanos() as f64 / o.iters.max(1) as f64),
                    Err(e) => {
                        failed.push((i, probe));
                        errors.push(format!(
                            "{} / {} / {probe}: {e}",
                            c.set.unwrap_or("-"),
                            c.filter
                        ));
                    }
                }
            }
        }
    }
    let both: BTreeMap<(usize, Probe), (f64, f64)> = samples
        .into_iter()
        .filter(|(k, _)| !failed.contains(k))
        .map(|(k, mut v)| {
            let median = cost::median(&mut v);
            (k, (v[0], median))
        })
        .collect();
    let ns = both
        .iter()
        .map(|(k, &(min, median))| (*k, if o.min { min } else { median }))
        .collect();
    Run {
        kernel: kernel_release(),
        skipped,
        ns,
        both,
        configs,
        errors,
    }
}

fn fmt_ns(x: f64) -> String {
    format!("{x:.1}")
}

fn fmt_ratio(x: f64) -> String {
    format!("{x:.2}")
}

fn markdown(run: &Run, o: &Options) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "kernel {}; {} calls per child, {} of {} children; ns per call (ratio to no filter)\n",
        run.kernel,
        o.iters,
        if o.min { "minimum" } else { "median" },
        o.rounds
    );
    let filters: Vec<&str> = Compiler::KERNEL.iter().map(|c| c.name()).collect();
    let _ = write!(s, "| set | probe | no filter |");
    for f in &filters {
        let _ = write!(s, " {f} |");
    }
    let _ = writeln!(s, " exile / seccompiler |");
    let _ = write!(s, "|---|---|---:|");
    for _ in &filters {
        let _ = write!(s, "---:|");
    }
    let _ = writeln!(s, "---:|");
    let mut set_names: Vec<&str> = Vec::new();
    for c in &run.configs {
        if let Some(set) = c.set {
            if !set_names.contains(&set) {
                set_names.push(set);
            }
        }
    }
    for set in set_names {
        for probe in Probe::ALL {
            let none = run.none(probe);
            let _ = write!(
                s,
                "| {set} | {probe} | {} |",
                none.map_or("–".to_owned(), fmt_ns)
            );
            for f in &filters {
                let cell = match (run.find(set, f, probe), none) {
                    (Some(x), Some(n)) => format!("{} ({}×)", fmt_ns(x), fmt_ratio(x / n)),
                    (Some(x), None) => fmt_ns(x),
                    _ => "–".to_owned(),
                };
                let _ = write!(s, " {cell} |");
            }
            let ratio = match (
                run.find(set, "exile", probe),
                run.find(set, "seccompiler", probe),
            ) {
                (Some(a), Some(b)) => format!("{}×", fmt_ratio(a / b)),
                _ => "–".to_owned(),
            };
            let _ = writeln!(s, " {ratio} |");
        }
    }
    for k in &run.skipped {
        let _ = writeln!(s, "\nnot measured: {k}");
    }
    for e in &run.errors {
        let _ = writeln!(s, "\nerror: {e}");
    }
    s
}

fn json_lines(run: &Run) -> Vec<serde_json::Value> {
    use serde_json::json;
    let mut out = Vec::new();
    for ((i, probe), ns) in &run.ns {
        let c = &run.configs[*i];
        let mut v = json!({
            "kernel": run.kernel,
            "set": c.set,
            "filter": c.filter,
            "probe": probe.name(),
            "ns_per_call": (ns * 10.0).round() / 10.0,
        });
        if let Some(&(min, median)) = run.both.get(&(*i, *probe)) {
            v["min_ns"] = json!((min * 10.0).round() / 10.0);
            v["median_ns"] = json!((median * 10.0).round() / 10.0);
        }
        if let Some(n) = run.none(*probe) {
            v["ratio_to_none"] = json!((ns / n * 1000.0).round() / 1000.0);
        }
        if let (Some(set), "exile") = (c.set, c.filter) {
            if let Some(b) = run.find(set, "seccompiler", *probe) {
                v["ratio_to_seccompiler"] = json!((ns / b * 1000.0).round() / 1000.0);
            }
        }
        out.push(v);
    }
    for k in &run.skipped {
        out.push(json!({"kernel": run.kernel, "skipped": k}));
    }
    for e in &run.errors {
        out.push(json!({"kernel": run.kernel, "error": e}));
    }
    out
}

fn main() {
    let pid1 = std::process::id() == 1;
    if pid1 {
        vm::main();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args, false) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return;
        }
        Err(e) => {
            eprintln!("syscall-cost: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let run = measure(&o);
    let mut out = std::io::stdout().lock();
    if o.json {
        for line in json_lines(&run) {
            let _ = writeln!(out, "{line}");
        }
    } else {
        let _ = write!(out, "{}", markdown(&run, &o));
    }
    if !run.errors.is_empty() {
        std::process::exit(1);
    }
}

/// Running as the `/init` of a VM booted by `exile-vm-runner`.
mod vm {
    use std::io::Write;

    use serde_json::json;

    fn mount(source: &str, target: &str, fstype: &str, flags: libc::c_ulong) {
        let _ = std::fs::create_dir_all(target);
        let c = |s: &str| std::ffi::CString::new(s).unwrap_or_default();
        let (s, t, f) = (c(source), c(target), c(fstype));
        // SAFETY: NUL-terminated strings that outlive the call; NULL data.
        unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), flags, std::ptr::null()) };
    }

    fn power_off() -> ! {
        // SAFETY: sync and reboot take no pointers; as PID 1 with
        // CAP_SYS_BOOT, RB_POWER_OFF stops the machine.
        unsafe {
            libc::sync();
            libc::reboot(libc::RB_POWER_OFF);
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }

    pub fn main() -> ! {
        let plain = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        mount("proc", "/proc", "proc", plain);
        mount("sysfs", "/sys", "sysfs", plain);
        mount(
            "devtmpfs",
            "/dev",
            "devtmpfs",
            libc::MS_NOSUID | libc::MS_NOEXEC,
        );
        let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
        let device = cmdline
            .split_whitespace()
            .find_map(|w| w.strip_prefix("exile.out="))
            .unwrap_or("/dev/console")
            .to_owned();
        // exile.bench.iters=N, exile.bench.rounds=K, exile.bench.stat=S,
        // exile.bench.set=NAME on the kernel command line.
        let mut args = Vec::new();
        for w in cmdline.split_whitespace() {
            if let Some((k, v)) = w
                .strip_prefix("exile.bench.")
                .and_then(|kv| kv.split_once('='))
            {
                args.push(format!("--{k}"));
                args.push(v.to_owned());
            }
        }
        let o = super::parse(&args, true)
            .or_else(|_| super::parse(&[], true))
            .unwrap_or_else(|_| unreachable!("no arguments parse"));
        let run = super::measure(&o);
        let mut lines = Vec::new();
        for l in super::json_lines(&run) {
            let (name, outcome, observed, reason) = if let Some(f) = l.get("filter") {
                let name = format!(
                    "syscall_cost::{}::{}::{}",
                    l["set"].as_str().map_or("-", super::set_alias),
                    f.as_str().unwrap_or("?"),
                    l["probe"].as_str().unwrap_or("?")
                );
                (name, "pass", l.to_string(), String::new())
            } else if let Some(k) = l.get("skipped") {
                let k = k.as_str().unwrap_or("").to_owned();
                (
                    format!("syscall_cost::skipped::{k}"),
                    "skip",
                    String::new(),
                    k,
                )
            } else {
                let e = l["error"].as_str().unwrap_or("").to_owned();
                (
                    format!("syscall_cost::error::{e}"),
                    "fail",
                    String::new(),
                    e,
                )
            };
            lines.push(json!({
                "name": name, "outcome": outcome, "expected": "ns per call",
                "observed": observed, "reason": reason,
            }));
        }
        let count = |o: &str| lines.iter().filter(|l| l["outcome"] == o).count();
        let features = serde_json::to_value(exile::Features::detect()).unwrap_or_default();
        let summary = json!({
            "summary": true,
            "passed": count("pass"),
            "failed": count("fail"),
            "skipped": count("skip"),
            "kernel": run.kernel,
            "init": "syscall-cost",
            "features": features,
        });
        lines.push(summary);
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/dev/console") {
            let _ = f.write_all(super::markdown(&run, &o).as_bytes());
        }
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&device) {
            let _ = f.write_all(text.as_bytes());
            let _ = f.sync_all();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        power_off()
    }
}
