//! The run: check prerequisites, get the init, fetch kernels, boot them in
//! parallel, judge each boot.
//!
//! A kernel fails when: it could not be fetched; the boot timed out or
//! ended without a summary line (the report carries the kernel-log tail);
//! the summary's counts disagree with the probe lines received; a probe
//! failed; or a must-feature did not match.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::apt::{self, AptError};
use crate::config::KernelEntry;
use crate::init_build::{self, InitChoice, InitError};
use crate::initramfs;
use crate::kernel::{self, FetchOptions, KernelImage};
use crate::matrix::{self, KernelRun, Matrix, Problem, ProblemKind};
use crate::must;
use crate::qemu::{self, Accel, Boot, BootEnd, BootSpec, QemuError};
use crate::serial;

/// Boots of one kernel before a crash before `/init` counts as a failure.
pub const BOOT_ATTEMPTS: usize = 3;

/// Lines of kernel log quoted when a boot fails.
pub const LOG_TAIL_LINES: usize = 25;

/// How to pick the accelerator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelChoice {
    /// KVM when it really works here, else TCG.
    Auto,
    /// KVM (fails if unusable).
    Kvm,
    /// TCG.
    Tcg,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Entries to boot.
    pub kernels: Vec<KernelEntry>,
    /// The init.
    pub init: InitChoice,
    /// Per-boot timeout.
    pub timeout: Duration,
    /// Parallel boots.
    pub jobs: usize,
    /// Accelerator choice.
    pub accel: AccelChoice,
    /// Cache root.
    pub cache: PathBuf,
    /// Where boot logs go (`<dir>/<kernel>/kernel.log`, `results.jsonl`).
    pub logs: PathBuf,
    /// Re-fetch package lists even when fresh.
    pub refresh: bool,
    /// The host's apt configuration directory (`/etc/apt`).
    pub etc_apt: PathBuf,
    /// `EXILE_VM_DEBIAN_MIRROR`.
    pub mirror_override: Option<String>,
    /// Guest memory.
    pub memory_mib: u32,
}

/// Errors that stop the whole run (missing prerequisites).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// QEMU.
    #[error(transparent)]
    Qemu(#[from] QemuError),
    /// The init.
    #[error(transparent)]
    Init(#[from] InitError),
    /// apt configuration or tools.
    #[error(transparent)]
    Apt(#[from] AptError),
    /// KVM was requested but does not work.
    #[error("--accel kvm: KVM does not run guests here (/dev/kvm missing, not accessible, or stalls); use --accel tcg or auto")]
    NoKvm,
    /// I/O.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// Progress output, one line at a time.
pub type Log<'a> = &'a (dyn Fn(&str) + Sync);

/// Judge one boot of `entry` on `image`.
pub fn evaluate(
    entry: &KernelEntry,
    image: Option<&KernelImage>,
    boot: &Boot,
    accel: Accel,
) -> KernelRun {
    let out = serial::parse(&boot.results);
    let mut run = KernelRun::not_booted(
        &entry.name,
        &entry.suite,
        entry.kernel_cmdline(),
        Problem::new(ProblemKind::Boot, ""),
    );
    run.problems.clear();
    run.note = entry.note.clone();
    run.package = image.map(|i| i.package.clone());
    run.version = image.map(|i| i.version.clone());
    run.persona = entry.persona.clone();
    run.accel = Some(accel);
    run.boot_seconds = Some(boot.seconds);
    run.end = Some(boot.end);
    run.kernel_log = Some(boot.kernel_log.clone());
    run.probes = out.probes.clone();
    let (p, f, s) = out.counts();
    (run.passed, run.failed, run.skipped) = (p, f, s);

    let tail = || {
        let t = qemu::log_tail(&boot.kernel_log, LOG_TAIL_LINES);
        if t.is_empty() {
            format!(
                "({} is empty: the kernel printed nothing)",
                boot.kernel_log.display()
            )
        } else {
            t
        }
    };
    match boot.end {
        BootEnd::TimedOut => {
            let secs = boot.seconds.round();
            let msg = if out.summary.is_none() && out.probes.is_empty() {
                format!("boot timed out after {secs} s with no results (is the init static and powering off?)")
            } else {
                format!(
                    "boot timed out after {secs} s ({} probe lines, no summary)",
                    out.probes.len()
                )
            };
            run.problems.push(Problem::new(ProblemKind::Boot, msg));
            run.log_tail = Some(tail());
        }
        BootEnd::KernelCrashed => {
            run.problems.push(Problem::new(
                ProblemKind::Boot,
                "the kernel crashed (oops or panic) before starting /init",
            ));
            let text =
                String::from_utf8_lossy(&std::fs::read(&boot.kernel_log).unwrap_or_default())
                    .into_owned();
            run.log_tail = Some(qemu::crash_excerpt(&text, LOG_TAIL_LINES));
        }
        BootEnd::KilledAfterSummary => run.notes.push(format!(
            "the init sent its summary but did not power off within {} s; the machine was stopped",
            qemu::POWER_OFF_GRACE.as_secs()
        )),
        BootEnd::Exited => {
            if out.summary.is_none() {
                let log =
                    String::from_utf8_lossy(&std::fs::read(&boot.kernel_log).unwrap_or_default())
                        .into_owned();
                let mut msg = match log.lines().find(|l| l.contains("Failed to execute /init")) {
                    Some(l) => format!(
                        "the kernel could not execute /init ({}): is it a static x86_64 binary?",
                        l.split("] ").nth(1).unwrap_or(l).trim()
                    ),
                    None if serial::parse(log.as_bytes()).summary.is_some() => {
                        "the init wrote its results to the console instead of exile.out=/dev/ttyS1: could it open \
                         /dev/ttyS1? (devtmpfs mounted with MS_NODEV makes every device node EACCES)"
                            .to_owned()
                    }
                    None => "the machine stopped without a summary line (kernel panic, init crash, or reboot)".to_owned(),
                };
                if let Some(code) = boot.exit_code.filter(|c| *c != 0) {
                    msg = format!("QEMU exited with status {code} without a summary line");
                }
                let qemu_err = boot.qemu_stderr.trim();
                if !qemu_err.is_empty() {
                    msg.push_str(&format!("\nQEMU: {}", serial::shorten(qemu_err, 400)));
                }
                run.problems.push(Problem::new(ProblemKind::Boot, msg));
                run.log_tail = Some(tail());
            }
        }
    }
    if out.summary.is_some() {
        for p in out.problems() {
            run.problems.push(Problem::new(ProblemKind::Stream, p));
        }
    }
    if run.failed > 0 {
        let names: Vec<&str> = run
            .probes
            .iter()
            .filter(|p| p.outcome == serial::Outcome::Fail)
            .map(|p| p.name.as_str())
            .collect();
        run.problems.push(Problem::new(
            ProblemKind::Probes,
            format!(
                "{} probe(s) failed: {}",
                names.len(),
                serial::shorten(&names.join(", "), 300)
            ),
        ));
    }
    if let Some(summary) = &out.summary {
        run.kernel_release = Some(summary.kernel.clone())
            .filter(|k| !k.is_empty())
            .or_else(|| must::lookup(&summary.features, "kernel_release").map(must::render));
        run.features = Some(summary.features.clone());
        if summary.failed > run.failed {
            run.failed = summary.failed;
        }
        let test_init =
            summary.extra.get("init").and_then(|v| v.as_str()) == Some("exile-vm-testinit");
        if test_init && entry.persona.is_some() {
            run.must_not_checked = Some(
                "must not checked: exile-vm-testinit does not emulate personas (the real suite does)".to_owned(),
            );
        } else {
            run.must = must::check(&entry.must, &summary.features);
            for m in run.must.iter().filter(|m| !m.ok) {
                run.problems.push(Problem::new(
                    ProblemKind::Must,
                    format!(
                        "must {}: expected {}, observed {}",
                        m.key, m.expected, m.observed
                    ),
                ));
            }
        }
    }
    run.mechanisms = matrix::mechanisms(run.features.as_ref(), &run.probes, &out.mechanisms);
    if out.ignored > 0 {
        run.notes.push(format!(
            "{} unrecognised line(s) on the results port were ignored",
            out.ignored
        ));
    }
    run
}

/// Decide the accelerator.
pub fn choose_accel(choice: AccelChoice, qemu: &Path, scratch: &Path) -> Result<Accel, SetupError> {
    match choice {
        AccelChoice::Tcg => Ok(Accel::Tcg),
        AccelChoice::Kvm if qemu::kvm_works(qemu, scratch, Duration::from_secs(3)) => {
            Ok(Accel::Kvm)
        }
        AccelChoice::Kvm => Err(SetupError::NoKvm),
        AccelChoice::Auto if qemu::kvm_works(qemu, scratch, Duration::from_secs(3)) => {
            Ok(Accel::Kvm)
        }
        AccelChoice::Auto => Ok(Accel::Tcg),
    }
}

/// Everything a boot needs besides the entry and its kernel.
#[derive(Clone, Debug)]
pub struct BootEnv {
    /// QEMU binary.
    pub qemu: PathBuf,
    /// The initramfs.
    pub initrd: PathBuf,
    /// Accelerator.
    pub accel: Accel,
    /// Per-boot timeout.
    pub timeout: Duration,
    /// Guest memory.
    pub memory_mib: u32,
    /// Log directory (`<logs>/<kernel>/`).
    pub logs: PathBuf,
}

/// Boot one entry (used by [`run`] and by tests).
pub fn boot_entry(
    entry: &KernelEntry,
    image: &KernelImage,
    env: &BootEnv,
) -> Result<KernelRun, QemuError> {
    let spec = BootSpec {
        qemu: env.qemu.clone(),
        kernel: image.vmlinuz.clone(),
        initrd: env.initrd.clone(),
        cmdline: entry.kernel_cmdline(),
        accel: env.accel,
        memory_mib: env.memory_mib,
        timeout: env.timeout,
        dir: env.logs.join(&entry.name),
    };
    let mut crashed = Vec::new();
    let mut boot = qemu::boot(&spec)?;
    while boot.end == BootEnd::KernelCrashed && crashed.len() + 1 < BOOT_ATTEMPTS {
        let keep = spec
            .dir
            .join(format!("kernel.log.crash{}", crashed.len() + 1));
        let _ = std::fs::rename(spec.kernel_log_path(), &keep);
        crashed.push(keep);
        boot = qemu::boot(&spec)?;
    }
    let mut run = evaluate(entry, Some(image), &boot, env.accel);
    if !crashed.is_empty() {
        let logs: Vec<String> = crashed.iter().map(|p| p.display().to_string()).collect();
        run.notes.push(format!(
            "the kernel crashed before starting /init in {} earlier attempt(s) (emulator faults under TCG; logs: {}); the boot was retried",
            crashed.len(),
            logs.join(", ")
        ));
    }
    Ok(run)
}

/// Write the initramfs for `init` into `dir`; returns its path.
pub fn write_initramfs(init: &[u8], dir: &Path) -> Result<PathBuf, SetupError> {
    std::fs::create_dir_all(dir).map_err(|e| SetupError::Io(dir.display().to_string(), e))?;
    let path = dir.join("initramfs.cpio");
    std::fs::write(&path, initramfs::initramfs(init))
        .map_err(|e| SetupError::Io(path.display().to_string(), e))?;
    Ok(path)
}

/// Run the matrix.
pub fn run(opts: &RunOptions, log: Log<'_>) -> Result<Matrix, SetupError> {
    let started = Instant::now();
    let qemu_bin = qemu::find_qemu()?;
    let (init_path, init_bytes) = init_build::obtain(&opts.init, log)?;
    log(&format!(
        "init: {} ({} KiB)",
        init_path.display(),
        init_bytes.len() / 1024
    ));
    let initrd = write_initramfs(&init_bytes, &opts.logs)?;
    let accel = choose_accel(opts.accel, &qemu_bin, &opts.logs)?;
    log(&format!(
        "accel: {accel}{}",
        if accel == Accel::Tcg {
            " (no usable KVM)"
        } else {
            ""
        }
    ));

    // Fetch each (suite, package) once, in order.
    let archive = apt::debian_archive(&opts.etc_apt, opts.mirror_override.as_deref())?;
    let fetch_opts = FetchOptions {
        cache: opts.cache.clone(),
        archive,
        refresh: opts.refresh,
    };
    let mut images: BTreeMap<(String, String), Result<KernelImage, String>> = BTreeMap::new();
    for e in &opts.kernels {
        let key = (e.suite.clone(), e.package.clone());
        if images.contains_key(&key) {
            continue;
        }
        let prefix = format!("[{}] ", e.suite);
        let fetched = kernel::fetch(&fetch_opts, &e.suite, &e.package, &|m| {
            log(&format!("{prefix}{m}"))
        })
        .map_err(|err| err.to_string());
        match &fetched {
            Ok(k) => log(&format!(
                "{prefix}kernel {} {} ({})",
                k.package, k.version, k.path_in_package
            )),
            Err(err) => log(&format!("{prefix}FAILED: {err}")),
        }
        images.insert(key, fetched);
    }

    // Boot in parallel.
    let env = BootEnv {
        qemu: qemu_bin,
        initrd,
        accel,
        timeout: opts.timeout,
        memory_mib: opts.memory_mib,
        logs: opts.logs.clone(),
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<KernelRun>>> = Mutex::new(vec![None; opts.kernels.len()]);
    let jobs = opts.jobs.clamp(1, opts.kernels.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(entry) = opts.kernels.get(i) else {
                    break;
                };
                let run = match images.get(&(entry.suite.clone(), entry.package.clone())) {
                    Some(Ok(image)) => {
                        log(&format!(
                            "[{}] booting {} {} ({accel})",
                            entry.name, image.package, image.version
                        ));
                        match boot_entry(entry, image, &env) {
                            Ok(r) => r,
                            Err(e) => KernelRun::not_booted(
                                &entry.name,
                                &entry.suite,
                                entry.kernel_cmdline(),
                                Problem::new(ProblemKind::Boot, e.to_string()),
                            ),
                        }
                    }
                    Some(Err(e)) => KernelRun::not_booted(
                        &entry.name,
                        &entry.suite,
                        entry.kernel_cmdline(),
                        Problem::new(ProblemKind::Fetch, e.clone()),
                    ),
                    None => unreachable_entry(entry),
                };
                log(&format!(
                    "[{}] {} in {}: {} passed, {} failed, {} skipped{}",
                    entry.name,
                    if run.ok() { "ok" } else { "FAILED" },
                    run.boot_seconds
                        .map_or_else(|| "-".into(), |s| format!("{s:.1} s")),
                    run.passed,
                    run.failed,
                    run.skipped,
                    run.kernel_release
                        .as_ref()
                        .map(|k| format!(", kernel {k}"))
                        .unwrap_or_default()
                ));
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(run);
                }
            });
        }
    });
    let kernels = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .zip(&opts.kernels)
        .map(|(r, e)| r.unwrap_or_else(|| unreachable_entry(e)))
        .collect();
    Ok(Matrix {
        init: opts.init.label(),
        accel,
        wall_seconds: started.elapsed().as_secs_f64(),
        kernels,
    })
}

fn unreachable_entry(e: &KernelEntry) -> KernelRun {
    KernelRun::not_booted(
        &e.name,
        &e.suite,
        e.kernel_cmdline(),
        Problem::new(
            ProblemKind::Boot,
            "internal error: the boot produced no result",
        ),
    )
}
