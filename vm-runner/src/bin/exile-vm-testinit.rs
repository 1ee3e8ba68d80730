//! `exile-vm-testinit`: a minimal `/init` that smoke-tests the boot chain of
//! `exile-vm-runner` without the conformance suite.
//!
//! As PID 1 (the runner puts it in the initramfs as `/init`) it:
//!
//! 1. mounts `proc`, `sysfs`, `devtmpfs` and a `tmpfs` on `/tmp`;
//! 2. reads `/proc/cmdline`: `exile.out=DEV` (where the JSON lines go),
//!    `exile.sysctl=key=value` (applied, repeatable), `exile.persona=P`
//!    (not emulated: reported as a skipped probe), and `exile.testinit=hang`
//!    (never reports: used by the runner's timeout test);
//! 3. writes one probe line per check, then the summary line with a
//!    features object detected with raw system calls (the same keys as
//!    `exile::Features`);
//! 4. powers the machine off.
//!
//! Run by hand (not as PID 1) it prints the same lines for the host on
//! stdout without mounting anything: `exile-vm-testinit`.
//!
//! The runner builds it statically (`-C target-feature=+crt-static`), see
//! `exile_vm_runner::init_build`.

use std::ffi::CString;
use std::io::Write;

use serde_json::{json, Value};

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_GET_ACTION_AVAIL: libc::c_ulong = 2;
const SECCOMP_FILTER_FLAG_TSYNC: libc::c_ulong = 1;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_ulong = 1;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn mount(source: &str, target: &str, fstype: &str, flags: libc::c_ulong) -> Result<(), String> {
    let _ = std::fs::create_dir_all(target);
    let (s, t, f) = (cstr(source), cstr(target), cstr(fstype));
    // SAFETY: all pointers are valid NUL-terminated strings that outlive
    // the call; the data argument is NULL, which mount(2) accepts.
    let rc = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), flags, std::ptr::null()) };
    if rc != 0 && errno() != libc::EBUSY {
        return Err(format!(
            "mount {fstype} on {target}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// `syscall(nr, a, b, c)` → `Ok(return value)` or `Err(errno)`.
fn raw_syscall(
    nr: libc::c_long,
    a: libc::c_ulong,
    b: libc::c_ulong,
    c: libc::c_ulong,
) -> Result<i64, i32> {
    // SAFETY: every caller passes either NULL/integers or a pointer to a
    // live local value; the probed system calls only read from it.
    let rc = unsafe { libc::syscall(nr, a, b, c) };
    if rc < 0 {
        Err(errno())
    } else {
        Ok(rc)
    }
}

fn action_available(action: u32) -> bool {
    raw_syscall(
        libc::SYS_seccomp,
        SECCOMP_GET_ACTION_AVAIL,
        0,
        &action as *const u32 as libc::c_ulong,
    )
    .is_ok()
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

fn kernel_release() -> String {
    read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(|| {
        // SAFETY: utsname is plain old data; uname only writes into it.
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `u` is a valid, writable utsname.
        if unsafe { libc::uname(&mut u) } != 0 {
            return String::new();
        }
        let bytes: Vec<u8> = u
            .release
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn user_namespaces() -> Value {
    // SAFETY: the child only calls unshare and _exit (async-signal-safe).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: unshare takes an integer flag; _exit never returns.
        unsafe {
            let rc = libc::unshare(libc::CLONE_NEWUSER);
            libc::_exit(if rc == 0 { 0 } else { errno().clamp(1, 255) });
        }
    }
    if pid < 0 {
        return json!({"Err": {"failed": {"step": "fork", "errno": errno()}}});
    }
    let mut status = 0;
    // SAFETY: pid is our child; status is a valid out pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        255
    };
    if code == 0 {
        return json!({"Ok": null});
    }
    if read_trimmed("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
        return json!({"Err": "max_user_namespaces_zero"});
    }
    if code == libc::EINVAL && !std::path::Path::new("/proc/self/ns/user").exists() {
        return json!({"Err": "not_built"});
    }
    json!({"Err": {"failed": {"step": "unshare", "errno": code}}})
}

fn capability(cap: u32) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|eff| eff & (1 << cap) != 0)
}

/// The features object: the keys and encodings of `exile::Features`.
fn features() -> Value {
    let seccomp_filter =
        raw_syscall(libc::SYS_prctl, libc::PR_SET_SECCOMP as _, 2, 0) == Err(libc::EFAULT);
    let tsync_probe = raw_syscall(
        libc::SYS_seccomp,
        SECCOMP_SET_MODE_FILTER,
        SECCOMP_FILTER_FLAG_TSYNC,
        0,
    );
    let seccomp_syscall = tsync_probe != Err(libc::ENOSYS);
    let tsync = tsync_probe == Err(libc::EFAULT);
    let (kill_process, ret_log, user_notif) = if seccomp_syscall {
        (
            action_available(SECCOMP_RET_KILL_PROCESS),
            action_available(SECCOMP_RET_LOG),
            action_available(SECCOMP_RET_USER_NOTIF),
        )
    } else {
        (false, false, false)
    };
    let landlock = match raw_syscall(
        libc::SYS_landlock_create_ruleset,
        0,
        0,
        LANDLOCK_CREATE_RULESET_VERSION,
    ) {
        Ok(abi) => json!({"abi": abi, "status": "enabled"}),
        Err(libc::ENOSYS) => json!({"abi": 0, "status": "not_built"}),
        Err(libc::EOPNOTSUPP) => json!({"abi": 0, "status": "not_enabled"}),
        Err(e) => json!({"abi": 0, "status": {"error": e}}),
    };
    let close_range = raw_syscall(libc::SYS_close_range, u32::MAX as _, u32::MAX as _, 0).is_ok();
    json!({
        "kernel_release": kernel_release(),
        "seccomp_filter": seccomp_filter,
        "seccomp_syscall": seccomp_syscall,
        "tsync": tsync,
        "kill_process": kill_process,
        "ret_log": ret_log,
        "user_notif": user_notif,
        "landlock": landlock,
        "user_namespaces": user_namespaces(),
        "close_range": close_range,
        "cap_sys_admin": capability(21),
        "cap_setpcap": capability(8),
    })
}

fn probe(name: &str, outcome: &str, expected: &str, observed: &str, reason: &str) -> Value {
    json!({"name": name, "outcome": outcome, "expected": expected, "observed": observed, "reason": reason})
}

/// Everything to report: probe lines, then the summary line.
fn report(cmdline: &str, setup: Result<(), String>, pid1: bool) -> Vec<Value> {
    let mut lines = Vec::new();
    lines.push(match setup {
        Ok(()) => probe("testinit::setup", "pass", "mounted", "mounted", ""),
        Err(e) => probe("testinit::setup", "fail", "mounted", &e, &e),
    });
    for word in cmdline.split_whitespace() {
        if let Some(kv) = word.strip_prefix("exile.sysctl=") {
            let name = format!("testinit::sysctl::{kv}");
            let Some((key, value)) = kv.split_once('=') else {
                lines.push(probe(
                    &name,
                    "fail",
                    "key=value",
                    kv,
                    "malformed exile.sysctl",
                ));
                continue;
            };
            let path = format!("/proc/sys/{}", key.replace('.', "/"));
            let result = if pid1 {
                std::fs::write(&path, value).map_err(|e| e.to_string())
            } else {
                Err("not PID 1: sysctls are left alone".to_owned())
            };
            let observed = read_trimmed(&path).unwrap_or_default();
            lines.push(match result {
                Ok(()) if observed == value => probe(&name, "pass", value, &observed, ""),
                Ok(()) => probe(
                    &name,
                    "fail",
                    value,
                    &observed,
                    "read back a different value",
                ),
                Err(e) if !pid1 => probe(&name, "skip", value, &observed, &e),
                Err(e) => probe(&name, "fail", value, &observed, &e),
            });
        } else if let Some(p) = word.strip_prefix("exile.persona=") {
            lines.push(probe(
                "testinit::persona",
                "skip",
                p,
                "",
                "the test init does not emulate personas",
            ));
        }
    }
    let features = features();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for l in &lines {
        match l["outcome"].as_str() {
            Some("pass") => passed += 1,
            Some("fail") => failed += 1,
            _ => skipped += 1,
        }
    }
    lines.push(json!({
        "summary": true,
        "passed": passed,
        "failed": failed,
        "skipped": skipped,
        "kernel": features["kernel_release"].clone(),
        "init": "exile-vm-testinit",
        "features": features,
    }));
    lines
}

fn setup() -> Result<(), String> {
    let plain = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    mount("proc", "/proc", "proc", plain)?;
    mount("sysfs", "/sys", "sysfs", plain)?;
    // Not MS_NODEV here: the serial devices must stay openable.
    mount(
        "devtmpfs",
        "/dev",
        "devtmpfs",
        libc::MS_NOSUID | libc::MS_NOEXEC,
    )?;
    mount("tmpfs", "/tmp", "tmpfs", libc::MS_NOSUID | libc::MS_NODEV)
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

fn main() {
    let pid1 = std::process::id() == 1;
    if !pid1 {
        let cmdline = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
        let mut out = std::io::stdout().lock();
        for line in report(&cmdline, Ok(()), false) {
            let _ = writeln!(out, "{line}");
        }
        return;
    }
    let setup = setup();
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    if cmdline
        .split_whitespace()
        .any(|w| w == "exile.testinit=hang")
    {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
    let device = cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix("exile.out="))
        .unwrap_or("/dev/console")
        .to_owned();
    let lines = report(&cmdline, setup, true);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    match std::fs::OpenOptions::new().write(true).open(&device) {
        Ok(mut f) => {
            let _ = f.write_all(text.as_bytes());
            let _ = f.sync_all();
        }
        Err(e) => eprintln!("exile-vm-testinit: cannot open {device}: {e}"),
    }
    // Give the UART time to drain its FIFO before the machine stops.
    std::thread::sleep(std::time::Duration::from_millis(200));
    power_off()
}
