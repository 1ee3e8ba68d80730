//! `syscall_cost`: the kernel's cost of a filter per system call. Each
//! criterion sample forks a child that installs the filter stack and times
//! a loop of the probe (`iter_custom`); the child's own elapsed time is the
//! sample. At the end the median ns per call of every benchmark and its
//! ratio to no filter (and exile's to seccompiler's) are printed.
//!
//! `cargo bench -p exile-benches --bench syscall_cost`

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{criterion_group, Criterion};
use exile_benches::cost::{self, Probe};
use exile_benches::peers::{Compiler, Stack};
use exile_benches::sets;

/// ns per call of every sample, per (probe, filter id).
static SAMPLES: Mutex<BTreeMap<(Probe, String), Vec<f64>>> = Mutex::new(BTreeMap::new());

fn record(probe: Probe, id: &str, d: Duration, iters: u64) {
    if let Ok(mut m) = SAMPLES.lock() {
        m.entry((probe, id.to_owned()))
            .or_default()
            .push(d.as_nanos() as f64 / iters.max(1) as f64);
    }
}

fn configs() -> Vec<(String, Stack)> {
    let mut out = vec![("none".to_owned(), Vec::new())];
    for (alias, spec) in [
        ("service", sets::vow_set(sets::SERVICE)),
        ("allow300", sets::allow_list_300()),
    ] {
        for compiler in Compiler::KERNEL {
            match compiler.compile(&spec) {
                Ok(stack) => out.push((format!("{alias}/{compiler}"), stack)),
                Err(e) => println!("syscall_cost/{alias}/{compiler}: {e}"),
            }
        }
    }
    out
}

fn syscall_cost(c: &mut Criterion) {
    let configs = configs();
    for probe in Probe::ALL {
        let mut group = c.benchmark_group(format!("syscall_cost/{}", probe.name()));
        for (id, stack) in &configs {
            group.bench_function(id.as_str(), |b| {
                b.iter_custom(|iters| {
                    let d = cost::time_in_child(stack, probe, iters)
                        .unwrap_or_else(|e| panic!("{id} / {probe}: {e}"));
                    record(probe, id, d, iters);
                    d
                })
            });
        }
        group.finish();
    }
}

fn ratios() {
    let Ok(mut m) = SAMPLES.lock() else {
        return;
    };
    let medians: BTreeMap<(Probe, String), f64> = m
        .iter_mut()
        .map(|(k, v)| (k.clone(), cost::median(v)))
        .collect();
    println!("\nmedian ns per call over all samples (ratio to no filter):\n");
    println!("| probe | filter | ns/call | × no filter | × seccompiler |");
    println!("|---|---|---:|---:|---:|");
    for ((probe, id), ns) in &medians {
        let none = medians.get(&(*probe, "none".to_owned()));
        let peer = id
            .rsplit_once('/')
            .map(|(set, _)| format!("{set}/seccompiler"))
            .and_then(|p| medians.get(&(*probe, p)));
        println!(
            "| {probe} | {id} | {ns:.1} | {} | {} |",
            none.map_or("–".to_owned(), |n| format!("{:.2}", ns / n)),
            peer.map_or("–".to_owned(), |p| format!("{:.2}", ns / p)),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .without_plots()
        .nresamples(20_000)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(15);
    targets = syscall_cost
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratios();
}
