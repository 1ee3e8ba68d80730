//! `exile::launch`: every outcome, from a quiet parent and from a parent
//! with 8 busy threads; no leaked fd or zombie after 1,000 launches;
//! streaming in both directions; `Command` integration.
//!
//! Every policy is applied in a forked child, never in the test process.
//! Every test takes one lock first thing (before `prepare`, which opens
//! files and forks probes), so that fd and child counts are not disturbed
//! by other tests of this binary running at the same time.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use exile::{
    CommandExt, Error, LaunchError, Launcher, Mechanism, Namespaces, Policy, Prepared, Resource,
    Streaming,
};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter};
use serde::{Deserialize, Serialize};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Threads that allocate, touch memory and sleep until dropped.
struct Busy {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

fn busy_threads(n: usize) -> Busy {
    let stop = Arc::new(AtomicBool::new(false));
    let threads = (0..n)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut keep: Vec<Vec<u8>> = Vec::new();
                let mut round = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let size = 1 + (round * 7919 + i * 104_729) % 200_000;
                    keep.push(vec![round as u8; size]);
                    if keep.len() > 16 {
                        keep.remove(0);
                    }
                    round += 1;
                    if round % 8 == 0 {
                        std::thread::sleep(Duration::from_micros(100));
                    }
                }
            })
        })
        .collect();
    Busy { stop, threads }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Run a scenario from this (already multi-threaded: libtest) process, then
/// again while 8 more threads allocate. The caller holds the test lock.
fn quiet_and_busy(scenario: impl Fn()) {
    scenario();
    let busy = busy_threads(8);
    scenario();
    drop(busy);
}

fn default_policy() -> Prepared {
    Policy::new().prepare().expect("prepare Policy::new()")
}

/// A policy for children that die of a signal: no core files.
fn no_core_policy() -> Prepared {
    Policy::new()
        .rlimit(Resource::Core, 0, 0)
        .prepare()
        .expect("prepare")
}

/// The pid is no longer our child: reaped (waitpid gives ECHILD).
fn assert_reaped(pid: u32) {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG on a pid; only reads the status.
    let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
    assert_eq!(r, -1, "child {pid} still exists (status {status:#x})");
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ECHILD)
    );
}

fn assert_no_children() {
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG; only reads the status.
    let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    assert_eq!(r, -1, "a child is left (waitpid returned {r})");
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ECHILD)
    );
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fn filter_getppid(action: SeccompAction) -> BpfProgram {
    let rules = BTreeMap::from([(libc::SYS_getppid, vec![])]);
    let arch = std::env::consts::ARCH.try_into().expect("seccompiler arch");
    SeccompFilter::new(rules, SeccompAction::Allow, action, arch)
        .expect("filter")
        .try_into()
        .expect("compile")
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Parsed {
    name: String,
    values: Vec<i64>,
    nested: Option<Box<Parsed>>,
    flag: bool,
}

// ---------------------------------------------------------------- values

#[test]
fn values_round_trip() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        assert_eq!(exile::launch(&prepared, || 40 + 2).unwrap(), 42);
        assert_eq!(exile::launch(&prepared, || -7i64).unwrap(), -7);
        let s: String = exile::launch(&prepared, || format!("hello {}", 7)).unwrap();
        assert_eq!(s, "hello 7");
        let parsed = exile::launch(&prepared, || Parsed {
            name: "outer".into(),
            values: vec![1, -2, i64::MAX],
            nested: Some(Box::new(Parsed {
                name: "inner".into(),
                values: vec![],
                nested: None,
                flag: true,
            })),
            flag: false,
        })
        .unwrap();
        assert_eq!(parsed.nested.as_ref().unwrap().name, "inner");
        assert_eq!(parsed.values, [1, -2, i64::MAX]);
        assert_eq!(exile::launch(&prepared, || ()).unwrap(), ());
        assert_eq!(
            exile::launch(&prepared, || Option::<u8>::None).unwrap(),
            None
        );
    });
}

#[test]
fn the_child_is_another_process() {
    let _lock = serial();
    let prepared = default_policy();
    let child_pid: u32 = exile::launch(&prepared, std::process::id).unwrap();
    assert_ne!(child_pid, std::process::id());
    let parent_of_child: i32 = exile::launch(&prepared, || {
        // SAFETY: getppid has no arguments.
        unsafe { libc::getppid() }
    })
    .unwrap();
    assert_eq!(parent_of_child as u32, std::process::id());
}

#[test]
fn large_value_exceeds_the_socket_buffer() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        let big: Vec<u8> = exile::launch(&prepared, || {
            (0..3 * 1024 * 1024 / 2 + 17)
                .map(|i| (i % 251) as u8)
                .collect()
        })
        .unwrap();
        assert_eq!(big.len(), 3 * 1024 * 1024 / 2 + 17);
        assert!(big.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    });
}

#[test]
fn the_policy_is_in_force_in_the_child() {
    let _lock = serial();
    let prepared = default_policy();
    let status = exile::launch(&prepared, || {
        std::fs::read_to_string("/proc/self/status").unwrap_or_default()
    })
    .unwrap();
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    // ...and not in the test process.
    let own = std::fs::read_to_string("/proc/self/status").unwrap();
    assert!(own.contains("NoNewPrivs:\t0"), "{own}");
}

#[test]
fn wait_with_report_returns_what_apply_enforced() {
    let _lock = serial();
    let prepared = default_policy();
    let (value, report) = exile::launch_stream(&prepared, |_| 5u8)
        .unwrap()
        .wait_with_report();
    assert_eq!(value.unwrap(), 5);
    let report = report.expect("report frame");
    assert!(report.status(Mechanism::NoNewPrivs).is_enforced());
    assert!(report.status(Mechanism::NotDumpable).is_enforced());
}

#[test]
fn the_child_holds_only_its_own_end_of_the_channel() {
    let _lock = serial();
    let prepared = default_policy();
    let sockets: Vec<(i32, String)> = exile::launch(&prepared, || {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
            let target = std::fs::read_link(entry.path()).unwrap_or_default();
            let target = target.to_string_lossy().into_owned();
            if target.starts_with("socket:") {
                let fd = entry.file_name().to_string_lossy().parse().unwrap_or(-1);
                found.push((fd, target));
            }
        }
        found
    })
    .unwrap();
    assert_eq!(sockets.len(), 1, "{sockets:?}");
    assert_eq!(sockets[0].0, 0, "{sockets:?}");
}

#[test]
fn the_channel_survives_close_fds_no_new_fds_and_namespaces() {
    let _lock = serial();
    let prepared = Policy::new()
        .close_fds(&[])
        .no_new_fds()
        .namespaces(Namespaces::NETWORK | Namespaces::IPC | Namespaces::AUTOMATIC)
        .requirement(exile::Requirement::BestEffort)
        .prepare()
        .expect("prepare");
    let v: Vec<u32> = exile::launch(&prepared, || (0..100_000).collect()).unwrap();
    assert_eq!(v.len(), 100_000);
    let mut stream = Launcher::new(&prepared)
        .input("abc")
        .stream(|input, output| {
            let mut s = String::new();
            input.read_to_string(&mut s).expect("read");
            output.write_all(s.repeat(3).as_bytes()).expect("write");
            // Opening anything fails: RLIMIT_NOFILE is 0.
            std::fs::File::open("/dev/null").is_err()
        })
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    assert_eq!(out, "abcabcabc");
    assert!(stream.wait().unwrap());
}

#[test]
fn stdin_of_the_child_is_the_input() {
    let _lock = serial();
    let prepared = default_policy();
    let text = Launcher::new(&prepared)
        .input("via stdin")
        .run(|| {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map(|_| s).ok()
        })
        .unwrap();
    assert_eq!(text.as_deref(), Some("via stdin"));
}

/// The parent side without pidfd_open (Linux < 5.3): a launched child
/// hides pidfd_open behind ENOSYS and launches from there.
#[test]
fn without_pidfd_the_parent_falls_back_to_end_of_stream() {
    let _lock = serial();
    let prepared = no_core_policy();
    let hide_pidfd: BpfProgram = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_pidfd_open, vec![])]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        std::env::consts::ARCH.try_into().expect("arch"),
    )
    .expect("filter")
    .try_into()
    .expect("compile");
    let trap = filter_getppid(SeccompAction::Trap);
    quiet_and_busy(|| {
        let results: Vec<String> = exile::launch(&prepared, || {
            seccompiler::apply_filter(&hide_pidfd).expect("install filter");
            // SAFETY: pidfd_open with integer arguments.
            let r = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
            let hidden =
                r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS);
            let mut out = vec![format!("hidden {hidden}")];
            out.push(format!("{:?}", exile::launch(&prepared, || 5u8)));
            out.push(format!(
                "{:?}",
                Launcher::new(&prepared)
                    .timeout(Duration::from_millis(100))
                    .run(|| -> u8 {
                        std::thread::sleep(Duration::from_secs(30));
                        0
                    })
            ));
            out.push(format!(
                "{:?}",
                exile::launch(&prepared, || -> u8 {
                    // SAFETY: raise has no memory arguments.
                    unsafe { libc::raise(libc::SIGKILL) };
                    0
                })
            ));
            out.push(format!(
                "{:?}",
                exile::launch(&prepared, || -> i32 {
                    seccompiler::apply_filter(&trap).expect("install filter");
                    // SAFETY: getppid has no arguments.
                    unsafe { libc::getppid() }
                })
            ));
            out.push(format!(
                "{:?}",
                exile::launch(&prepared, || -> u8 {
                    // SAFETY: _exit ends the child.
                    unsafe { libc::_exit(3) }
                })
            ));
            let mut status = 0;
            // SAFETY: waitpid with WNOHANG; only reads the status.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            out.push(format!("children left {}", r != -1));
            out
        })
        .unwrap();
        assert_eq!(results[0], "hidden true");
        assert_eq!(results[1], "Ok(5)");
        assert!(results[2].starts_with("Err(TimedOut"), "{}", results[2]);
        assert!(
            results[3].starts_with("Err(Signaled { signal: 9"),
            "{}",
            results[3]
        );
        assert!(
            results[4].contains("name: Some(\"getppid\")"),
            "{}",
            results[4]
        );
        assert_eq!(results[5], "Err(Exited { code: 3 })");
        assert_eq!(results[6], "children left false");
    });
}

// ---------------------------------------------------------------- failures

#[test]
fn panic_carries_its_message_and_location() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        let n = 42;
        match exile::launch(&prepared, || -> u8 { panic!("bad input {n}") }) {
            Err(LaunchError::Panicked { message, location }) => {
                assert_eq!(message, "bad input 42");
                let location = location.expect("location");
                assert!(location.contains("launch.rs"), "{location}");
            }
            other => panic!("expected Panicked, got {other:?}"),
        }
        match exile::launch(&prepared, || -> u8 { std::panic::panic_any(7u32) }) {
            Err(LaunchError::Panicked { message, .. }) => assert_eq!(message, "Box<dyn Any>"),
            other => panic!("expected Panicked, got {other:?}"),
        }
        let err = exile::launch(&prepared, || -> u8 { panic!("static message") }).unwrap_err();
        assert!(
            err.to_string().contains("panicked: static message"),
            "{err}"
        );
    });
}

#[test]
fn killed_by_a_signal() {
    let _lock = serial();
    let prepared = no_core_policy();
    quiet_and_busy(|| {
        let r = exile::launch(&prepared, || -> u8 {
            // SAFETY: raise has no memory arguments.
            unsafe { libc::raise(libc::SIGKILL) };
            0
        });
        match r {
            Err(LaunchError::Signaled {
                signal: libc::SIGKILL,
                syscall: None,
                ..
            }) => {}
            other => panic!("expected SIGKILL, got {other:?}"),
        }
        let r = exile::launch(&prepared, || -> u8 { std::process::abort() });
        match &r {
            Err(LaunchError::Signaled {
                signal: libc::SIGABRT,
                core_dumped: false,
                syscall: None,
            }) => {}
            other => panic!("expected SIGABRT, got {other:?}"),
        }
        assert!(r.unwrap_err().to_string().contains("SIGABRT"));
    });
}

#[test]
fn seccomp_kill_is_sigsys_without_a_syscall() {
    let _lock = serial();
    let prepared = default_policy();
    let bpf = filter_getppid(SeccompAction::KillProcess);
    quiet_and_busy(|| {
        let r = exile::launch(&prepared, || -> i32 {
            seccompiler::apply_filter(&bpf).expect("install filter");
            // SAFETY: getppid has no arguments.
            unsafe { libc::getppid() }
        });
        match &r {
            Err(LaunchError::Signaled {
                signal: libc::SIGSYS,
                syscall: None,
                ..
            }) => {}
            other => panic!("expected SIGSYS, got {other:?}"),
        }
        let text = r.unwrap_err().to_string();
        assert!(text.contains("SIGSYS") && text.contains("trap"), "{text}");
    });
}

#[test]
fn seccomp_trap_names_the_syscall() {
    let _lock = serial();
    let prepared = default_policy();
    let bpf = filter_getppid(SeccompAction::Trap);
    quiet_and_busy(|| {
        let r = exile::launch(&prepared, || -> i32 {
            seccompiler::apply_filter(&bpf).expect("install filter");
            // SAFETY: getppid has no arguments.
            unsafe { libc::getppid() }
        });
        match &r {
            Err(LaunchError::Signaled {
                signal: libc::SIGSYS,
                syscall: Some(call),
                ..
            }) => {
                assert_eq!(call.nr, libc::SYS_getppid as u32);
                assert_eq!(call.name, Some("getppid"));
            }
            other => panic!("expected SIGSYS with a syscall, got {other:?}"),
        }
        let text = r.unwrap_err().to_string();
        assert!(text.contains("forbids getppid"), "{text}");
    });
}

/// A policy whose violation action is trap: apply keeps launch's SIGSYS
/// handler (it does not install its own over it), so the parent learns the
/// call's name.
#[test]
fn policy_trap_violation_names_the_syscall_through_launch() {
    let _lock = serial();
    let prepared = exile::Policy::new()
        .vows("stdio".parse().expect("vows"))
        .violation(exile::seccomp::rules::Action::Trap)
        .prepare()
        .expect("prepare");
    quiet_and_busy(|| {
        let r = exile::launch(&prepared, || -> i32 {
            // SAFETY: setpgid with integer arguments (denied by stdio).
            unsafe { libc::setpgid(0, 0) }
        });
        match &r {
            Err(LaunchError::Signaled {
                signal: libc::SIGSYS,
                syscall: Some(call),
                ..
            }) => assert_eq!(call.name, Some("setpgid")),
            other => panic!("expected SIGSYS naming setpgid, got {other:?}"),
        }
    });
}

#[test]
fn a_sigsys_sent_by_kill_has_no_syscall() {
    let _lock = serial();
    let prepared = no_core_policy();
    let r = exile::launch(&prepared, || -> u8 {
        // SAFETY: raise has no memory arguments.
        unsafe { libc::raise(libc::SIGSYS) };
        0
    });
    assert!(
        matches!(
            r,
            Err(LaunchError::Signaled {
                signal: libc::SIGSYS,
                syscall: None,
                ..
            })
        ),
        "{r:?}"
    );
}

/// A policy whose `apply` fails in the child whatever the privileges: the
/// kernel refuses to map inside id 4294967295 ((u32)-1) in a uid_map
/// (EINVAL, also for root), and `prepare` only checks the outside id.
fn failing_policy() -> Option<Prepared> {
    match Policy::new()
        .namespaces(Namespaces::USER)
        .map_uid(u32::MAX)
        .prepare()
    {
        Ok(p) => Some(p),
        Err(Error::Unavailable { reason, .. }) => {
            eprintln!("skipped: user namespaces unavailable: {reason}");
            None
        }
        Err(e) => panic!("prepare: {e}"),
    }
}

#[test]
fn apply_failure_is_reported_and_the_closure_does_not_run() {
    let _lock = serial();
    let Some(prepared) = failing_policy() else {
        return;
    };
    quiet_and_busy(|| {
        let r = exile::launch(&prepared, || -> bool {
            // Must never run.
            // SAFETY: _exit ends the child.
            unsafe { libc::_exit(77) }
        });
        match &r {
            Err(LaunchError::Apply(Error::Apply {
                mechanism: Mechanism::UserNamespace,
                errno,
                ..
            })) => assert_eq!(*errno, libc::EINVAL),
            other => panic!("expected Apply, got {other:?}"),
        }
        let text = r.unwrap_err().to_string();
        assert!(
            text.contains("did not run") && text.contains("uid_map"),
            "{text}"
        );
    });
}

#[test]
fn timeout_kills_and_reaps() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        let start = Instant::now();
        let stream: Streaming<u8> = Launcher::new(&prepared)
            .timeout(Duration::from_millis(200))
            .stream(|_, _| {
                std::thread::sleep(Duration::from_secs(30));
                1
            })
            .unwrap();
        let pid = stream.id();
        let r = stream.wait();
        let took = start.elapsed();
        assert!(
            matches!(r, Err(LaunchError::TimedOut { after }) if after == Duration::from_millis(200)),
            "{r:?}"
        );
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_secs(10), "{took:?}");
        assert_reaped(pid);
        // A busy child that streams without pause times out too.
        let r = Launcher::new(&prepared)
            .timeout(Duration::from_millis(200))
            .stream(|_, out| loop {
                if out.write_all(&[0u8; 4096]).is_err() {
                    return 0u8;
                }
            })
            .unwrap()
            .wait();
        assert!(matches!(r, Err(LaunchError::TimedOut { .. })), "{r:?}");
    });
}

#[test]
fn a_stream_that_times_out_reports_it_to_the_reader() {
    let _lock = serial();
    let prepared = default_policy();
    let mut stream = Launcher::new(&prepared)
        .timeout(Duration::from_millis(200))
        .stream(|_, out| loop {
            if out.write_all(b".").and_then(|()| out.flush()).is_err() {
                return 0u8;
            }
            std::thread::sleep(Duration::from_millis(10));
        })
        .unwrap();
    let pid = stream.id();
    let mut buf = [0u8; 64];
    let err = loop {
        match stream.read(&mut buf) {
            Ok(0) => panic!("end of stream before the timeout"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(matches!(stream.wait(), Err(LaunchError::TimedOut { .. })));
    assert_reaped(pid);
}

#[test]
fn timeout_does_not_fire_for_a_quick_child() {
    let _lock = serial();
    let prepared = default_policy();
    let v = Launcher::new(&prepared)
        .timeout(Duration::from_secs(20))
        .run(|| 9u8)
        .unwrap();
    assert_eq!(v, 9);
}

#[test]
fn garbage_on_the_channel_is_a_decode_error() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        // Not a frame at all.
        let r = exile::launch(&prepared, || -> u64 {
            // SAFETY: writes 7 bytes from a static buffer to fd 0.
            unsafe { libc::write(0, b"garbage".as_ptr().cast(), 7) };
            1
        });
        assert!(
            matches!(&r, Err(LaunchError::Decode(why)) if why.contains("tag")),
            "{r:?}"
        );
        // A well-formed value frame whose payload is not a u64 (an
        // unterminated varint), then a clean exit.
        let r = exile::launch(&prepared, || -> u64 {
            let frame = [b'V', 1, 0, 0, 0, 0xff];
            // SAFETY: writes the 6-byte frame to fd 0, then ends the child.
            unsafe {
                libc::write(0, frame.as_ptr().cast(), frame.len());
                libc::_exit(0)
            }
        });
        assert!(matches!(r, Err(LaunchError::Decode(_))), "{r:?}");
        // Trailing bytes after the value.
        let r = exile::launch(&prepared, || -> u8 {
            let frame = [b'V', 2, 0, 0, 0, 7, 7];
            // SAFETY: writes the 7-byte frame to fd 0, then ends the child.
            unsafe {
                libc::write(0, frame.as_ptr().cast(), frame.len());
                libc::_exit(0)
            }
        });
        assert!(
            matches!(&r, Err(LaunchError::Decode(why)) if why.contains("left")),
            "{r:?}"
        );
    });
}

#[test]
fn exit_without_a_result() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        let r = exile::launch(&prepared, || -> u8 {
            // SAFETY: _exit ends the child.
            unsafe { libc::_exit(3) }
        });
        assert!(matches!(r, Err(LaunchError::Exited { code: 3 })), "{r:?}");
        assert!(r.unwrap_err().to_string().contains("process::exit"));
        // Closing the channel: the child cannot report.
        let r = exile::launch(&prepared, || -> u8 {
            // SAFETY: closes fd 0 of the child.
            unsafe { libc::close(0) };
            1
        });
        assert!(matches!(r, Err(LaunchError::Exited { code: 127 })), "{r:?}");
    });
}

// ---------------------------------------------------------------- leaks

#[test]
fn no_leaked_fd_or_zombie_after_1000_launches() {
    let _lock = serial();
    let prepared = default_policy();
    let busy = busy_threads(8);
    let before = open_fds();
    for i in 0..1000u32 {
        match i % 5 {
            0 => assert_eq!(exile::launch(&prepared, move || i).unwrap(), i),
            1 => assert!(matches!(
                exile::launch(&prepared, || -> u8 { panic!("no") }),
                Err(LaunchError::Panicked { .. })
            )),
            2 => assert!(matches!(
                exile::launch(&prepared, || -> u8 {
                    // SAFETY: _exit ends the child.
                    unsafe { libc::_exit(1) }
                }),
                Err(LaunchError::Exited { code: 1 })
            )),
            3 => assert!(matches!(
                exile::launch(&prepared, || -> u64 {
                    // SAFETY: writes 3 bytes to fd 0.
                    unsafe { libc::write(0, b"bad".as_ptr().cast(), 3) };
                    0
                }),
                Err(LaunchError::Decode(_))
            )),
            _ if i % 50 == 4 => assert!(matches!(
                Launcher::new(&prepared)
                    .timeout(Duration::from_millis(5))
                    .run(|| -> u8 {
                        std::thread::sleep(Duration::from_secs(30));
                        0
                    }),
                Err(LaunchError::TimedOut { .. })
            )),
            _ => {
                // Dropped unread: killed and reaped.
                let stream = exile::launch_stream(&prepared, |out| loop {
                    if out.write_all(&[1u8; 1024]).is_err() {
                        return 0u8;
                    }
                })
                .unwrap();
                drop(stream);
            }
        }
    }
    assert_eq!(open_fds(), before, "fds leaked");
    assert_no_children();
    drop(busy);
}

/// Launches from 8 threads at once: each fork copies the other launches'
/// channel fds into its child, which must not delay anyone's result (the
/// parent watches a pidfd, input ends with shutdown()).
#[test]
fn concurrent_launches_from_8_threads() {
    let _lock = serial();
    let prepared = default_policy();
    let before = open_fds();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let prepared = &prepared;
            scope.spawn(move || {
                for j in 0..40 {
                    let text = format!("{t}-{j}");
                    let echoed = Launcher::new(prepared)
                        .input(text.clone())
                        .timeout(Duration::from_secs(60))
                        .run_with_input(|input| {
                            let mut s = String::new();
                            input.read_to_string(&mut s).map(|_| s + "!").ok()
                        })
                        .unwrap();
                    assert_eq!(echoed, Some(text + "!"));
                }
            });
        }
    });
    assert_eq!(open_fds(), before, "fds leaked");
    assert_no_children();
}

#[test]
fn dropping_a_stream_kills_and_reaps_the_child() {
    let _lock = serial();
    let prepared = default_policy();
    let mut stream = exile::launch_stream(&prepared, |out| loop {
        if out.write_all(b"tick\n").is_err() {
            return;
        }
    })
    .unwrap();
    let mut first = [0u8; 5];
    stream.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"tick\n");
    let pid = stream.id();
    drop(stream);
    assert_reaped(pid);
}

// ---------------------------------------------------------------- streaming

#[test]
fn streaming_10_mib_is_read_incrementally() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        const TOTAL: usize = 10 * 1024 * 1024;
        let mut stream = exile::launch_stream(&prepared, |out| {
            let mut chunk = [0u8; 4096];
            let mut sent = 0usize;
            while sent < TOTAL {
                for (j, b) in chunk.iter_mut().enumerate() {
                    *b = ((sent + j) % 253) as u8;
                }
                out.write_all(&chunk).expect("write");
                sent += chunk.len();
            }
            sent as u64
        })
        .unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let (mut total, mut reads) = (0usize, 0usize);
        loop {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            assert!(
                buf[..n]
                    .iter()
                    .enumerate()
                    .all(|(j, &b)| b == ((total + j) % 253) as u8),
                "corrupt data at {total}"
            );
            total += n;
            reads += 1;
        }
        assert_eq!(total, TOTAL);
        assert!(reads >= TOTAL / (64 * 1024), "{reads} reads");
        assert!(stream.report().is_some());
        assert_eq!(stream.wait().unwrap(), TOTAL as u64);
    });
}

#[test]
fn input_is_echoed_back_transformed() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        // Larger than both socket buffers: input and output must flow at once.
        let input: Vec<u8> = (0..4 * 1024 * 1024)
            .map(|i| (i % 26) as u8 + b'a')
            .collect();
        let mut stream = Launcher::new(&prepared)
            .input(input.clone())
            .stream(|input, output| {
                let mut buf = [0u8; 8192];
                let mut total = 0u64;
                loop {
                    match input.read(&mut buf) {
                        Ok(0) => break total,
                        Ok(n) => {
                            buf[..n].make_ascii_uppercase();
                            output.write_all(&buf[..n]).expect("write");
                            total += n as u64;
                        }
                        Err(e) => panic!("read: {e}"),
                    }
                }
            })
            .unwrap();
        let mut echoed = Vec::new();
        stream.read_to_end(&mut echoed).unwrap();
        assert_eq!(stream.wait().unwrap(), input.len() as u64);
        assert_eq!(echoed, input.to_ascii_uppercase());
    });
}

#[test]
fn input_from_a_reader_and_without_input() {
    let _lock = serial();
    let prepared = default_policy();
    quiet_and_busy(|| {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 7) as u8).collect();
        let expected: u64 = data.iter().map(|&b| u64::from(b)).sum();
        let sum = Launcher::new(&prepared)
            .input_reader(Cursor::new(data))
            .run_with_input(|input| {
                let mut all = Vec::new();
                input.read_to_end(&mut all).expect("read");
                all.iter().map(|&b| u64::from(b)).sum::<u64>()
            })
            .unwrap();
        assert_eq!(sum, expected);
        let n = Launcher::new(&prepared)
            .run_with_input(|input| input.read_to_end(&mut Vec::new()).unwrap_or(usize::MAX))
            .unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn a_failing_input_reader_is_an_io_error() {
    let _lock = serial();
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    let prepared = default_policy();
    let r = Launcher::new(&prepared)
        .input_reader(Failing)
        .run_with_input(|input| input.read_to_end(&mut Vec::new()).unwrap_or(usize::MAX));
    match r {
        Err(LaunchError::Io { source, .. }) => assert!(source.to_string().contains("fire")),
        other => panic!("expected Io, got {other:?}"),
    }
}

#[test]
fn a_child_that_ignores_its_input_still_finishes() {
    let _lock = serial();
    let prepared = default_policy();
    let v = Launcher::new(&prepared)
        .input(vec![0u8; 8 * 1024 * 1024])
        .run(|| 1u8)
        .unwrap();
    assert_eq!(v, 1);
}

// ---------------------------------------------------------------- Command

#[test]
fn command_runs_under_the_policy() {
    let _lock = serial();
    let status = Command::new("/bin/true")
        .sandbox(default_policy())
        .status()
        .unwrap();
    assert!(status.success());

    let out = Command::new("/bin/cat")
        .arg("/proc/self/status")
        .sandbox(Policy::new().prepare().unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");

    // The same Prepared (an Arc) for several commands.
    let shared = Arc::new(default_policy());
    for _ in 0..3 {
        let out = Command::new("/bin/echo")
            .arg("hi")
            .sandbox(shared.clone())
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"hi\n");
    }
}

#[test]
fn command_no_new_fds_is_in_force_after_exec() {
    let _lock = serial();
    // Without the policy the shell opens fd 3.
    let ok = Command::new("/bin/sh")
        .args(["-c", "exec 3</dev/null"])
        .status()
        .unwrap();
    assert!(ok.success());
    // With RLIMIT_NOFILE 0 the program cannot open anything.
    let out = Command::new("/bin/sh")
        .args(["-c", "exec 3</dev/null"])
        .sandbox(Policy::new().no_new_fds().prepare().unwrap())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    // A dynamically linked shell fails already in its loader, opening
    // libc.so: EMFILE, errno 24, is the policy at work after exec.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Too many open files") || stderr.contains("Error 24"),
        "{stderr}"
    );
    // A statically linked program gets to run and fails on its own open().
    assert!(!elf64_is_static(&std::fs::read("/bin/sh").unwrap()));
    if let Ok(bytes) = std::fs::read("/sbin/ldconfig") {
        if elf64_is_static(&bytes) {
            let out = Command::new("/sbin/ldconfig")
                .arg("-p")
                .sandbox(Policy::new().no_new_fds().prepare().unwrap())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("Too many open files"), "{stderr}");
        }
    }
    // A limit the program can live with shows through as well.
    let out = Command::new("/bin/sh")
        .args(["-c", "ulimit -n"])
        .sandbox(
            Policy::new()
                .rlimit(Resource::NoFile, 37, 37)
                .prepare()
                .unwrap(),
        )
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "37");
}

/// An ELF64 file without a PT_INTERP program header (no dynamic loader).
fn elf64_is_static(elf: &[u8]) -> bool {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    if elf.get(..5) != Some(b"\x7fELF\x02") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..usize::from(phnum)).all(|i| {
        let at = phoff as usize + i * usize::from(phentsize);
        elf.get(at..at + 4) != Some(&3u32.to_le_bytes()[..])
    })
}

#[test]
fn command_apply_failure_fails_the_spawn_with_its_errno() {
    let _lock = serial();
    let Some(prepared) = failing_policy() else {
        return;
    };
    let err = Command::new("/bin/true")
        .sandbox(prepared)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
}

#[test]
fn launch_error_is_a_std_error_with_a_source() {
    let _lock = serial();
    let Some(prepared) = failing_policy() else {
        return;
    };
    let err = exile::launch(&prepared, || 0u8).unwrap_err();
    let source = std::error::Error::source(&err).expect("source");
    assert!(source.to_string().contains("uid_map"), "{source}");
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(boxed
        .to_string()
        .starts_with("the policy could not be applied"));
}
