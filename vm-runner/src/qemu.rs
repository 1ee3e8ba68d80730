//! Booting one kernel in QEMU and collecting what its init wrote.
//!
//! The machine: `qemu-system-x86_64 -nographic -nodefaults -no-reboot -m 512
//! -smp 1 -kernel vmlinuz -initrd initramfs.cpio -append CMDLINE`, the first
//! serial port (ttyS0, the kernel console) to `kernel.log`, the second
//! (ttyS1, the results) to `results.jsonl`. `panic=-1` plus `-no-reboot`
//! turns a panic into a QEMU exit; a per-boot timeout kills the machine.
//!
//! CPU model: `host` under KVM, `kvm64,-cx16` under TCG. Under QEMU 7.2's
//! TCG, `-cpu max` oopsed 6.12 guests in most boots and `qemu64` in about one
//! of three (general protection faults such as an IRET in `do_sync_core` with
//! garbage flags, long before `/init`). Plain `kvm64` boots, but 6.12 guests
//! then die *while the probes run*: a double fault or a NULL call right after
//! the SLUB fast path's `cmpxchg16b` (`__kmalloc_noprof`), with EFLAGS
//! holding pointer bits — 4 of 4 boots of the 4.14 persona row on
//! 2026-11-23. Without CX16 the kernel takes the locked slow path and
//! never executes `cmpxchg16b`: 4 of 4 boots of that row then passed all
//! probes, and the whole matrix after. [`crashed_before_init`] recognises a
//! crash before `/init` (the machine is stopped at once) so the runner can
//! retry it.
//!
//! Acceleration: KVM when `/dev/kvm` opens *and* a probe machine actually
//! runs under it (SeaBIOS must reach "No bootable device" within a few
//! seconds; on some nested hosts KVM initialises and then stalls), TCG
//! otherwise. The choice is made once per run and shown in the output.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::serial;

/// The QEMU binary for x86_64 guests.
pub const QEMU_BINARY: &str = "qemu-system-x86_64";

/// Accelerator used for a boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accel {
    /// Hardware virtualisation.
    Kvm,
    /// QEMU's emulator.
    Tcg,
}

impl std::fmt::Display for Accel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        })
    }
}

/// Errors starting QEMU.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// Not installed.
    #[error(
        "{QEMU_BINARY} not found in PATH: install it (`apt-get install qemu-system-x86` on Debian/Ubuntu) \
         or set EXILE_VM_QEMU=/path/to/{QEMU_BINARY}"
    )]
    NotFound,
    /// Could not start or write files.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// Locate QEMU: `EXILE_VM_QEMU`, else `qemu-system-x86_64` in `PATH`.
pub fn find_qemu() -> Result<PathBuf, QemuError> {
    if let Some(p) = std::env::var_os("EXILE_VM_QEMU").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(QemuError::NotFound)
        };
    }
    let paths = std::env::var_os("PATH").ok_or(QemuError::NotFound)?;
    std::env::split_paths(&paths)
        .map(|d| d.join(QEMU_BINARY))
        .find(|p| p.is_file())
        .ok_or(QemuError::NotFound)
}

fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Does KVM really run a guest here? Boots SeaBIOS with no disk under KVM
/// and waits (at most `limit`) for it to report "No bootable device".
pub fn kvm_works(qemu: &Path, scratch: &Path, limit: Duration) -> bool {
    let rw = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm");
    if rw.is_err() {
        return false;
    }
    if std::fs::create_dir_all(scratch).is_err() {
        return false;
    }
    let log = scratch.join(format!("kvm-probe-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let spawned = Command::new(qemu)
        .args([
            "-accel",
            "kvm",
            "-M",
            "pc",
            "-cpu",
            "host",
            "-m",
            "64",
            "-nodefaults",
            "-no-user-config",
        ])
        .args([
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "none",
            "-no-reboot",
        ])
        .arg("-debugcon")
        .arg(format!("file:{}", log.display()))
        .args(["-global", "isa-debugcon.iobase=0x402"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = spawned else { return false };
    let start = Instant::now();
    let mut works = false;
    while start.elapsed() < limit {
        if std::fs::read_to_string(&log).is_ok_and(|t| t.contains("No bootable device")) {
            works = true;
            break;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    kill_and_reap(&mut child);
    let _ = std::fs::remove_file(&log);
    works
}

/// The CPU model under TCG (see the module documentation).
pub const TCG_CPU: &str = "kvm64,-cx16";

/// What to boot.
#[derive(Clone, Debug)]
pub struct BootSpec {
    /// QEMU binary.
    pub qemu: PathBuf,
    /// `vmlinuz`.
    pub kernel: PathBuf,
    /// The initramfs.
    pub initrd: PathBuf,
    /// Kernel command line.
    pub cmdline: String,
    /// Accelerator.
    pub accel: Accel,
    /// Guest memory.
    pub memory_mib: u32,
    /// Kill the machine after this long.
    pub timeout: Duration,
    /// Directory for `kernel.log` and `results.jsonl`.
    pub dir: PathBuf,
}

/// How a boot ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BootEnd {
    /// QEMU exited by itself (power-off, or reboot after a panic).
    Exited,
    /// The timeout expired before the summary arrived.
    TimedOut,
    /// The summary arrived but the machine did not power off; it was killed.
    KilledAfterSummary,
    /// The kernel oopsed or panicked before starting `/init` (see
    /// [`crashed_before_init`]); the machine was stopped at once.
    KernelCrashed,
}

/// The result of one boot.
#[derive(Clone, Debug)]
pub struct Boot {
    /// How it ended.
    pub end: BootEnd,
    /// QEMU's exit status (None when killed).
    pub exit_code: Option<i32>,
    /// Wall-clock seconds from start to end.
    pub seconds: f64,
    /// Raw bytes of the results port.
    pub results: Vec<u8>,
    /// The kernel console log file.
    pub kernel_log: PathBuf,
    /// QEMU's own stderr (errors such as a bad kernel image).
    pub qemu_stderr: String,
}

/// Grace period between the summary line and a forced stop.
pub const POWER_OFF_GRACE: Duration = Duration::from_secs(20);

impl BootSpec {
    /// Where the kernel log goes.
    pub fn kernel_log_path(&self) -> PathBuf {
        self.dir.join("kernel.log")
    }

    /// The QEMU arguments for this boot.
    pub fn args(&self) -> Vec<String> {
        let log = self.dir.join("kernel.log");
        let results = self.dir.join("results.jsonl");
        let (accel, cpu) = match self.accel {
            Accel::Kvm => ("kvm", "host"),
            // Not `max` nor `qemu64`: with them QEMU 7.2's TCG oopses
            // 6.12+ guests at random in early boot; and without CX16, whose
            // emulation corrupts EFLAGS in 6.12's SLUB (see the module doc).
            Accel::Tcg => ("tcg", TCG_CPU),
        };
        vec![
            "-nographic".into(),
            "-nodefaults".into(),
            "-no-user-config".into(),
            "-no-reboot".into(),
            "-accel".into(),
            accel.into(),
            "-cpu".into(),
            cpu.into(),
            "-m".into(),
            self.memory_mib.to_string(),
            "-smp".into(),
            "1".into(),
            "-monitor".into(),
            "none".into(),
            "-serial".into(),
            format!("file:{}", log.display()),
            "-serial".into(),
            format!("file:{}", results.display()),
            "-kernel".into(),
            self.kernel.display().to_string(),
            "-initrd".into(),
            self.initrd.display().to_string(),
            "-append".into(),
            self.cmdline.clone(),
        ]
    }
}

fn summary_arrived(results: &Path) -> bool {
    std::fs::read(results).is_ok_and(|b| serial::parse(&b).summary.is_some())
}

/// Boot and wait for the end (exit, timeout, or summary + grace period).
pub fn boot(spec: &BootSpec) -> Result<Boot, QemuError> {
    std::fs::create_dir_all(&spec.dir)
        .map_err(|e| QemuError::Io(spec.dir.display().to_string(), e))?;
    let log = spec.dir.join("kernel.log");
    let results = spec.dir.join("results.jsonl");
    for f in [&log, &results] {
        let _ = std::fs::remove_file(f);
    }
    let start = Instant::now();
    let mut child = Command::new(&spec.qemu)
        .args(spec.args())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| QemuError::Io(spec.qemu.display().to_string(), e))?;
    // Drain stderr in a thread so QEMU never blocks on a full pipe.
    let mut stderr = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = stderr.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let mut last_len = 0u64;
    let mut last_log_len = 0u64;
    let mut summary_at: Option<Instant> = None;
    let (end, exit_code) = loop {
        let exited = child.try_wait().ok().flatten();
        let log_len = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        if log_len != last_log_len || exited.is_some() {
            last_log_len = log_len;
            let text =
                String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
            if crashed_before_init(&text) {
                kill_and_reap(&mut child);
                break (BootEnd::KernelCrashed, exited.and_then(|s| s.code()));
            }
        }
        if let Some(status) = exited {
            break (BootEnd::Exited, status.code());
        }
        let len = std::fs::metadata(&results).map(|m| m.len()).unwrap_or(0);
        if summary_at.is_none() && len != last_len {
            last_len = len;
            if summary_arrived(&results) {
                summary_at = Some(Instant::now());
            }
        }
        if let Some(t) = summary_at {
            if t.elapsed() > POWER_OFF_GRACE {
                kill_and_reap(&mut child);
                break (BootEnd::KilledAfterSummary, None);
            }
        } else if start.elapsed() > spec.timeout {
            kill_and_reap(&mut child);
            break (BootEnd::TimedOut, None);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let seconds = match (end, summary_at) {
        (BootEnd::KilledAfterSummary, Some(t)) => t.duration_since(start).as_secs_f64(),
        _ => start.elapsed().as_secs_f64(),
    };
    let qemu_stderr = stderr_reader.join().unwrap_or_default();
    Ok(Boot {
        end,
        exit_code,
        seconds,
        results: std::fs::read(&results).unwrap_or_default(),
        kernel_log: log,
        qemu_stderr,
    })
}

/// Kernel-log markers of a crash.
const CRASH_MARKERS: &[&str] = &["Oops:", "BUG:", "Kernel panic", "general protection fault"];

/// Did the kernel oops or panic before it started `/init`? (The signature
/// of an emulator fault rather than of anything the init did.)
pub fn crashed_before_init(kernel_log: &str) -> bool {
    let before = kernel_log
        .split("Run /init as init process")
        .next()
        .unwrap_or("");
    let started = before.len() < kernel_log.len();
    let crashed = |t: &str| CRASH_MARKERS.iter().any(|m| t.contains(m));
    crashed(before) || (!started && crashed(kernel_log))
}

/// `lines` lines of the kernel log from the first oops/BUG/panic marker
/// (the whole tail when there is none).
pub fn crash_excerpt(kernel_log: &str, lines: usize) -> String {
    let all: Vec<&str> = kernel_log.lines().collect();
    let first = all
        .iter()
        .position(|l| CRASH_MARKERS.iter().any(|m| l.contains(m)))
        .unwrap_or(all.len().saturating_sub(lines));
    all[first..(first + lines).min(all.len())].join("\n")
}

/// The last `lines` non-empty lines of a log file (control characters
/// other than tab removed).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let clean: Vec<String> = text
        .lines()
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .collect::<String>()
        })
        .filter(|l| !l.trim().is_empty())
        .collect();
    clean[clean.len().saturating_sub(lines)..].join("\n")
}
