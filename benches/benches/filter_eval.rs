//! `filter_eval`: the interpreter's time per verdict for each rule set ×
//! compiler, after printing the deterministic instruction counts (the
//! `filter-cost` table).
//!
//! `cargo bench -p exile-benches --bench filter_eval`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use exile::seccomp::bpf::SeccompData;
use exile_benches::peers::{self, Compiler};
use exile_benches::{measure, sets};

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
                        b.iter(|| {
                            let mut sum = 0usize;
                            for d in inputs.iter() {
                                sum += peers::run_stack(&programs, black_box(d)).1;
                            }
                            sum
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
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = filter_eval
}
criterion_main!(benches);
