//! The boot loop against a fake `qemu-system-x86_64` (a shell script that
//! writes a kernel log and results, or hangs): timeouts, kernel crashes and
//! retries, an init the kernel cannot execute. Needs no QEMU and no kernel.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use exile_vm_runner::config::Config;
use exile_vm_runner::kernel::KernelImage;
use exile_vm_runner::matrix::{KernelRun, ProblemKind};
use exile_vm_runner::qemu::{Accel, BootEnd, QemuError};
use exile_vm_runner::runner::{boot_entry, BootEnv, BOOT_ATTEMPTS};

/// Argument parsing shared by every fake: `$LOG` and `$RES` are the two
/// `-serial file:` paths, `$COUNT` counts the invocations.
const PRELUDE: &str = r#"#!/bin/sh
LOG=""; RES=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-serial" ]; then
    case "$2" in file:*) if [ -z "$LOG" ]; then LOG="${2#file:}"; else RES="${2#file:}"; fi;; esac
  fi
  shift
done
COUNT="$(dirname "$0")/count"
echo x >> "$COUNT"
printf 'Linux version 6.1.0-fake\nCommand line: console=ttyS0\n' > "$LOG"
"#;

struct Fake {
    dir: PathBuf,
}

impl Fake {
    fn new(name: &str, body: &str) -> Fake {
        let dir = std::env::temp_dir().join(format!("exile-vm-fake-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("qemu-system-x86_64");
        std::fs::write(&script, format!("{PRELUDE}{body}\n")).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        Fake { dir }
    }

    fn invocations(&self) -> usize {
        std::fs::read_to_string(self.dir.join("count")).map_or(0, |s| s.lines().count())
    }

    fn run(&self, timeout: Duration) -> KernelRun {
        let config = Config::parse(
            "[[kernel]]\nname = \"fake\"\nsuite = \"bookworm\"\n[kernel.must]\n\"landlock.abi\" = 2\n",
            Path::new("kernels.toml"),
        )
        .unwrap();
        let image = KernelImage {
            suite: "bookworm".into(),
            meta: "linux-image-cloud-amd64".into(),
            package: "linux-image-fake".into(),
            version: "1".into(),
            path_in_package: "boot/vmlinuz".into(),
            vmlinuz: self.dir.join("vmlinuz"),
        };
        let env = BootEnv {
            qemu: self.dir.join("qemu-system-x86_64"),
            initrd: self.dir.join("initramfs.cpio"),
            accel: Accel::Tcg,
            timeout,
            memory_mib: 64,
            logs: self.dir.join("logs"),
        };
        boot_entry(&config.kernels[0], &image, &env).unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const RESULTS: &str = r#"printf 'Run /init as init process\n' >> "$LOG"
printf '{"name":"vow::stdio::write","outcome":"pass"}\r\n' > "$RES"
printf '{"summary":true,"passed":1,"failed":0,"skipped":0,"kernel":"6.1.0-fake","features":{"landlock":{"abi":2,"status":"enabled"}}}\r\n' >> "$RES""#;

#[test]
fn a_good_boot() {
    let fake = Fake::new("ok", RESULTS);
    let run = fake.run(Duration::from_secs(30));
    assert!(run.ok(), "{:?}", run.problems);
    assert_eq!(run.end, Some(BootEnd::Exited));
    assert_eq!(
        (run.passed, run.kernel_release.as_deref()),
        (1, Some("6.1.0-fake"))
    );
    assert!(run.must[0].ok);
}

#[test]
fn an_init_that_never_reports_times_out_with_the_log_tail() {
    let fake = Fake::new(
        "hang",
        r#"printf 'Run /init as init process\nlast words of the kernel\n' >> "$LOG"
exec sleep 600"#,
    );
    let start = Instant::now();
    let run = fake.run(Duration::from_secs(2));
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(run.end, Some(BootEnd::TimedOut));
    assert!(!run.ok());
    assert_eq!(run.problems[0].kind, ProblemKind::Boot);
    assert!(
        run.problems[0].message.contains("timed out after 2 s"),
        "{:?}",
        run.problems
    );
    let tail = run.log_tail.as_deref().unwrap_or("");
    assert!(
        tail.contains("Run /init as init process") && tail.contains("last words"),
        "{tail}"
    );
    let junit = exile_vm_runner::matrix::Matrix {
        init: "x".into(),
        accel: Accel::Tcg,
        wall_seconds: 2.0,
        kernels: vec![run],
    }
    .render_junit();
    assert!(junit.contains("last words of the kernel"), "{junit}");
}

#[test]
fn a_crash_before_init_is_retried() {
    let fake = Fake::new(
        "crash-once",
        &format!(
            r#"if [ "$(wc -l < "$COUNT")" -eq 1 ]; then
  printf 'Oops: general protection fault\nRIP: 0010:do_sync_core+0x28/0x30\n' >> "$LOG"
  exec sleep 600
fi
{RESULTS}"#
        ),
    );
    let start = Instant::now();
    let run = fake.run(Duration::from_secs(60));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "the crash was not noticed early"
    );
    assert_eq!(fake.invocations(), 2);
    assert!(run.ok(), "{:?}", run.problems);
    assert!(
        run.notes
            .iter()
            .any(|n| n.contains("crashed before starting /init in 1 earlier attempt")),
        "{:?}",
        run.notes
    );
}

#[test]
fn a_kernel_that_always_crashes_fails_after_the_retries() {
    let fake = Fake::new(
        "crash-always",
        r#"printf 'BUG: kernel NULL pointer dereference, address: 0000000000000020\nKernel panic - not syncing: Attempted to kill init!\n' >> "$LOG""#,
    );
    let run = fake.run(Duration::from_secs(60));
    assert_eq!(fake.invocations(), BOOT_ATTEMPTS);
    assert_eq!(run.end, Some(BootEnd::KernelCrashed));
    assert!(
        run.problems[0].message.contains("crashed"),
        "{:?}",
        run.problems
    );
    assert!(run
        .log_tail
        .as_deref()
        .unwrap_or("")
        .starts_with("BUG: kernel NULL pointer"));
}

#[test]
fn an_init_the_kernel_cannot_execute() {
    let fake = Fake::new(
        "noexec",
        r#"printf 'Run /init as init process\n[    2.9] Failed to execute /init (error -8)\nKernel panic - not syncing: No working init found.\n' >> "$LOG""#,
    );
    let run = fake.run(Duration::from_secs(30));
    assert_eq!(
        fake.invocations(),
        1,
        "a panic after /init started is not retried"
    );
    assert!(
        run.problems[0]
            .message
            .contains("could not execute /init (Failed to execute /init (error -8))"),
        "{:?}",
        run.problems
    );
}

#[test]
fn results_on_the_console_instead_of_the_results_port() {
    let fake = Fake::new(
        "console",
        r#"printf 'Run /init as init process
{"summary":true,"passed":0,"failed":0,"skipped":0,"kernel":"k","features":{}}
' >> "$LOG""#,
    );
    let run = fake.run(Duration::from_secs(30));
    assert!(
        run.problems[0]
            .message
            .contains("to the console instead of exile.out"),
        "{:?}",
        run.problems
    );
}

#[test]
fn missing_qemu_says_what_to_install() {
    let msg = QemuError::NotFound.to_string();
    assert!(msg.contains("apt-get install qemu-system-x86"), "{msg}");
}
