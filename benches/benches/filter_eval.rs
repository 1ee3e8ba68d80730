//! `filter_eval`: the interpreter's time per verdict for each rule set ×
//! compiler, after printing the deterministic instruction counts (the
//! `filter-cost` table). At the end the median ns per verdict of each is
//! printed.
//!
//! `cargo bench -p exile-benches --bench filter_eval`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use exile::seccomp::bpf::SeccompData;
use exile_benches::peers::{self, Compiler};
use exile_benches::{measure, sets};

type Key = (&'static str, Compiler, &'static str);

/// ns per verdict of every sample, per (set, compiler, allowed|denied).
static SAMPLES: Mutex<BTreeMap<Key, Vec<f64>>> = Mutex::new(BTreeMap::new());

fn record(key: Key, d: Duration, verdicts: u64) {
    if let Ok(mut m) = SAMPLES.lock() {
        m.entry(key)
            .or_default()
            .push(d.as_nanos() as f64 / verdicts.max(1) as f64);
    }
}

/// Short names for benchmark ids.
fn alias(set: &str) -> &'static str {
    match set {
        sets::STDIO => "stdio",
        sets::FILES => "files",
        sets::SERVICE => "service",
        _ => "allow300",
    }
}

fn filter_eval(c: &mut Criterion) {
    println!("{}", measure::markdown(&measure::table()));
    for set in sets::all() {
        let spec = &set.spec;
        let arch = spec.arch.audit_arch();
        // The constant-allowed calls, and a denied call of each kind the
        // tables average over (every number below the table's top without
        // a rule).
        let allowed: Vec<SeccompData> = sets::constant_allowed(spec)
            .into_iter()
            .map(|nr| SeccompData::new(arch, nr, [0; 6]))
            .collect();
        let denied: Vec<SeccompData> = (0..=measure::upper(spec))
            .filter(|nr| !spec.syscalls.contains_key(nr))
            .map(|nr| SeccompData::new(arch, nr, [0; 6]))
            .collect();
        let mut group = c.benchmark_group(format!("filter_eval/{}", alias(set.name)));
        for compiler in Compiler::ALL {
            let stack = match compiler.compile(spec) {
                Ok(s) => s,
                Err(e) => {
                    println!("filter_eval/{}/{compiler}: {e}", alias(set.name));
                    continue;
                }
            };
            let programs = peers::programs(&stack).expect("valid programs");
            for (what, inputs) in [("allowed", &allowed), ("denied", &denied)] {
                group.throughput(Throughput::Elements(inputs.len() as u64));
                group.bench_with_input(
                    BenchmarkId::new(compiler.name(), what),
                    inputs,
                    |b, inputs| {
                        b.iter_custom(|iters| {
                            let start = Instant::now();
                            for _ in 0..iters {
                                let mut sum = 0usize;
                                for d in inputs.iter() {
                                    sum += peers::run_stack(&programs, black_box(d)).1;
                                }
                                black_box(sum);
                            }
                            let elapsed = start.elapsed();
                            record(
                                (set.name, compiler, what),
                                elapsed,
                                iters * inputs.len() as u64,
                            );
                            elapsed
                        })
                    },
                );
            }
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .without_plots()
        .nresamples(20_000)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = filter_eval
}
fn summary() {
    let Ok(mut m) = SAMPLES.lock() else {
        return;
    };
    println!("\ninterpreter ns per verdict (median over all samples), allowed / denied calls:\n");
    print!("| set |");
    for c in Compiler::ALL {
        print!(" {c} |");
    }
    print!("\n|---|");
    for _ in Compiler::ALL {
        print!("---:|");
    }
    println!();
    for set in sets::all() {
        print!("| {} |", set.name);
        for c in Compiler::ALL {
            let mut cell = |what| {
                m.get_mut(&(set.name, c, what))
                    .map(|v| format!("{:.1}", exile_benches::cost::median(v)))
            };
            match (cell("allowed"), cell("denied")) {
                (Some(a), Some(d)) => print!(" {a} / {d} |"),
                _ => print!(" – |"),
            }
        }
        println!();
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
