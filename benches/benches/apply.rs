//! `apply`: what putting a typical policy in force costs, and `launch()`'s
//! round trip against a bare fork + pipe + waitpid.
//!
//! The typical policy: [`Policy::new`] (no_new_privs, not dumpable,
//! automatic namespaces) with the vows `stdio rpath wpath cpath` and five
//! path rules. `apply()` cannot be undone, so it is timed inside forked
//! children (`iter_custom`: each child measures itself and sends its time
//! back). `prepare()` detects the kernel's features each time (a forked
//! probe child), so `prepare_with` on features detected once is measured
//! too. At the end the medians and ratios are printed.
//!
//! `cargo bench -p exile-benches --bench apply`

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use exile::{Fs, Policy, Prepared};
use exile_benches::cost;

/// ns per iteration of every sample, per benchmark.
static SAMPLES: Mutex<BTreeMap<&'static str, Vec<f64>>> = Mutex::new(BTreeMap::new());

fn record(id: &'static str, d: Duration, iters: u64) {
    if let Ok(mut m) = SAMPLES.lock() {
        m.entry(id)
            .or_default()
            .push(d.as_nanos() as f64 / iters.max(1) as f64);
    }
}

/// The typical policy of the issue.
fn typical() -> Policy {
    Policy::new()
        .vows("stdio rpath wpath cpath".parse().expect("valid vows"))
        .allow_path("/usr", Fs::READ | Fs::EXEC)
        .allow_path("/etc", Fs::READ)
        .allow_path("/tmp", Fs::READ | Fs::WRITE | Fs::CREATE | Fs::REMOVE)
        .allow_path("/proc", Fs::READ)
        .allow_path("/dev/null", Fs::READ_FILE | Fs::WRITE_FILE)
}

/// fork; the child writes 42 into a pipe and exits; read it; waitpid.
fn bare_round_trip() -> u32 {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are owned here only.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child only writes and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let v = 42u32.to_ne_bytes();
        // SAFETY: `v` is a live 4-byte buffer; _exit never returns.
        unsafe {
            libc::write(w.as_raw_fd(), v.as_ptr().cast(), v.len());
            libc::_exit(0);
        }
    }
    drop(w);
    let mut buf = [0u8; 4];
    std::fs::File::from(r)
        .read_exact(&mut buf)
        .expect("the child's value");
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` a valid out pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    u32::from_ne_bytes(buf)
}

fn child_time(id: &'static str, iters: u64, f: impl Fn() -> Result<Duration, i32>) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        total += cost::measure_in_child(&f).unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    record(id, total, iters);
    total
}

fn apply(c: &mut Criterion) {
    let policy = typical();
    let prepared: Prepared = policy.prepare().expect("the typical policy prepares here");
    let empty = Policy::empty()
        .prepare()
        .expect("the empty policy prepares");
    let mut group = c.benchmark_group("apply");
    group.bench_function("prepare (in process)", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(policy.prepare().expect("prepares"));
            }
            let d = start.elapsed();
            record("prepare", d, iters);
            d
        })
    });
    let features = exile::Features::detect();
    group.bench_function("prepare_with detected features (in process)", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(policy.prepare_with(&features).expect("prepares"));
            }
            let d = start.elapsed();
            record("prepare_with", d, iters);
            d
        })
    });
    group.bench_function("prepare (in a child)", |b| {
        b.iter_custom(|iters| {
            child_time("prepare in a child", iters, || {
                let start = Instant::now();
                std::hint::black_box(policy.prepare().map_err(|_| libc::EINVAL)?);
                Ok(start.elapsed())
            })
        })
    });
    group.bench_function("apply (in a child)", |b| {
        b.iter_custom(|iters| {
            child_time("apply", iters, || {
                let start = Instant::now();
                prepared.apply().map_err(|_| libc::EPERM)?;
                Ok(start.elapsed())
            })
        })
    });
    group.bench_function("prepare+apply (in a child)", |b| {
        b.iter_custom(|iters| {
            child_time("prepare+apply", iters, || {
                let start = Instant::now();
                let p = policy.prepare().map_err(|_| libc::EINVAL)?;
                p.apply().map_err(|_| libc::EPERM)?;
                Ok(start.elapsed())
            })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("launch");
    group.bench_function("bare fork+pipe+waitpid", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                assert_eq!(bare_round_trip(), 42);
            }
            let d = start.elapsed();
            record("bare", d, iters);
            d
        })
    });
    for (id, p) in [
        ("launch (empty policy)", &empty),
        ("launch (typical policy)", &prepared),
    ] {
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let v: u32 = exile::launch(p, || 42u32).expect("launch");
                    assert_eq!(v, 42);
                }
                let d = start.elapsed();
                record(id, d, iters);
                d
            })
        });
    }
    group.finish();
}

fn summary() {
    let Ok(mut m) = SAMPLES.lock() else {
        return;
    };
    let med: BTreeMap<&str, f64> = m.iter_mut().map(|(k, v)| (*k, cost::median(v))).collect();
    let us = |k: &str| med.get(k).map(|ns| ns / 1000.0);
    println!("\nmedian µs over all samples:\n");
    println!("| measurement | µs | ratio |");
    println!("|---|---:|---|");
    for k in [
        "prepare",
        "prepare_with",
        "prepare in a child",
        "apply",
        "prepare+apply",
    ] {
        if let Some(x) = us(k) {
            println!("| {k} | {x:.1} | |");
        }
    }
    let bare = us("bare");
    if let Some(b) = bare {
        println!("| bare fork+pipe+waitpid | {b:.1} | 1.00 |");
    }
    for k in ["launch (empty policy)", "launch (typical policy)"] {
        if let (Some(x), Some(b)) = (us(k), bare) {
            println!("| {k} | {x:.1} | {:.2} × bare |", x / b);
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .without_plots()
        .nresamples(20_000)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(15);
    targets = apply
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
