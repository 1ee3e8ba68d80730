//! The vow table, checked through the rule model's reference evaluator
//! (`FilterSpec::evaluate`). Pure: no filter is installed here.

// ioctl requests are `c_ulong` on glibc and `c_int` on musl: keep the casts.
#![allow(clippy::unnecessary_cast)]

use exile::seccomp::rules::{Action, Arch, FilterSpec, Rule, AUDIT_ARCH_I386, X32_SYSCALL_BIT};
use exile::vows::{
    allowed_syscall_names, default_action, filter_spec, open_flag_rules, syscall_name, table,
    VowOptions, VowOptionsError, VowParseError, Vows,
};
use proptest::prelude::*;

/// The pid the filters in these tests are built for.
const PID: u32 = 4242;
const KILL: Action = Action::KillProcess;
const ENOSYS: Action = Action::Errno(libc::ENOSYS as u16);
const EACCES: Action = Action::Errno(libc::EACCES as u16);

/// Every exile.h vow name.
const EXILE_H_VOWS: &str = "chown clone cpath dpath exec fattr fsnotify id inet ioctl prctl \
     proc prot_exec rpath sched seccomp_install shm stdio thread unix wpath error";

fn opts() -> VowOptions {
    VowOptions {
        self_pid: Some(PID),
        ..VowOptions::default()
    }
}

fn spec(vows: &str) -> FilterSpec {
    filter_spec(vows.parse().expect("vows parse"), &opts()).expect("filter")
}

fn args(a: &[u64]) -> [u64; 6] {
    let mut out = [0u64; 6];
    out[..a.len()].copy_from_slice(a);
    out
}

fn eval(spec: &FilterSpec, nr: i64, a: &[u64]) -> Action {
    spec.evaluate(Arch::native().audit_arch(), nr as u32, &args(a))
}

fn verdict(vows: &str, nr: i64, a: &[u64]) -> Action {
    eval(&spec(vows), nr, a)
}

fn allowed(vows: &str, nr: i64, a: &[u64]) -> bool {
    verdict(vows, nr, a) == Action::Allow
}

fn u(x: i32) -> u64 {
    x as u32 as u64
}

use libc::*;

const CLONE_THREAD_FLAGS: i32 = CLONE_VM
    | CLONE_FS
    | CLONE_FILES
    | CLONE_SIGHAND
    | CLONE_THREAD
    | CLONE_SYSVSEM
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID;

// ---------------------------------------------------------------------------
// Parsing and printing
// ---------------------------------------------------------------------------

#[test]
fn every_exile_h_vow_name_parses() {
    for name in EXILE_H_VOWS.split(' ') {
        let v: Vows = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.bits().count_ones(), 1, "{name}");
        assert_eq!(v.name(), Some(name));
    }
}

#[test]
fn every_openbsd_extra_name_parses() {
    for name in "tmppath tty dns flock sendfd recvfd vminfo settime unveil mcast".split(' ') {
        let v: Vows = name.parse().unwrap();
        assert_eq!(v.to_string(), name);
    }
}

#[test]
fn the_full_exile_h_string_parses() {
    let v: Vows = EXILE_H_VOWS.parse().unwrap();
    assert_eq!(v.bits().count_ones(), 22);
    assert!(v.contains(Vows::STDIO | Vows::SECCOMP_INSTALL | Vows::PROT_EXEC | Vows::ERROR));
}

#[test]
fn display_round_trips() {
    let all = Vows::all();
    assert_eq!(all.to_string().parse::<Vows>().unwrap(), all);
    let v = Vows::INET | Vows::STDIO | Vows::RPATH;
    assert_eq!(v.to_string(), "stdio rpath inet");
    for (name, flag) in Vows::names() {
        assert_eq!(flag.to_string(), name);
        assert_eq!(name.parse::<Vows>().unwrap(), flag);
    }
    assert_eq!(Vows::names().count(), 32);
}

#[test]
fn whitespace_variants_parse() {
    let want = Vows::STDIO | Vows::RPATH | Vows::INET;
    for s in [
        "stdio rpath inet",
        "  stdio rpath inet  ",
        "stdio\trpath\ninet",
        "stdio \t\r\n rpath     inet",
        "inet rpath stdio",
    ] {
        assert_eq!(s.parse::<Vows>().unwrap(), want, "{s:?}");
    }
}

#[test]
fn duplicate_names_are_fine() {
    assert_eq!(
        "stdio stdio rpath stdio".parse::<Vows>().unwrap(),
        Vows::STDIO | Vows::RPATH
    );
}

#[test]
fn defect_16_unknown_vow_is_an_error_listing_valid_names() {
    let err = "stdio rpaht inet".parse::<Vows>().unwrap_err();
    assert_eq!(
        err,
        VowParseError::Unknown {
            word: "rpaht".into()
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("`rpaht`"), "{msg}");
    // Every name, in table order, one space apart.
    let names: Vec<&str> = Vows::names().map(|(name, _)| name).collect();
    assert!(names.len() > 30, "{names:?}");
    let list = format!("valid vows: {}", names.join(" "));
    assert!(msg.ends_with(&list), "expected `…{list}`, got: {msg}");
    // Case matters, and separators other than whitespace are not accepted.
    assert!("STDIO".parse::<Vows>().is_err());
    assert!("stdio,rpath".parse::<Vows>().is_err());
    assert!("std".parse::<Vows>().is_err());
}

#[test]
fn empty_vow_string_is_an_error() {
    for s in ["", " ", "\t\n  "] {
        let err = s.parse::<Vows>().unwrap_err();
        assert_eq!(err, VowParseError::Empty);
        assert!(err.to_string().contains("seccomp_install"));
    }
}

#[test]
fn serde_uses_the_vow_string() {
    let v = Vows::STDIO | Vows::PROT_EXEC;
    let json = serde_json::to_string(&v).unwrap();
    assert_eq!(json, "\"stdio prot_exec\"");
    assert_eq!(serde_json::from_str::<Vows>(&json).unwrap(), v);
    assert_eq!(serde_json::from_str::<Vows>("\"\"").unwrap(), Vows::empty());
    assert!(serde_json::from_str::<Vows>("\"stdio bogus\"").is_err());
}

// ---------------------------------------------------------------------------
// Defaults and options
// ---------------------------------------------------------------------------

#[test]
fn error_vow_makes_violations_fail_with_eacces() {
    let s = spec("stdio error");
    assert_eq!(s.default_action, EACCES);
    assert_eq!(eval(&s, SYS_openat, &[0, 0, 0]), EACCES);
    assert_eq!(eval(&s, SYS_write, &[1]), Action::Allow);
    // The soft ENOSYS of clone3/openat2 stays ENOSYS.
    assert_eq!(verdict("rpath error", SYS_openat2, &[]), ENOSYS);
}

#[test]
fn error_vow_errno_override() {
    let o = VowOptions {
        errno_override: Some(libc::EPERM as u16),
        ..opts()
    };
    let s = filter_spec("stdio error".parse().unwrap(), &o).unwrap();
    assert_eq!(s.default_action, Action::Errno(libc::EPERM as u16));
    // Without `error` the override is not used.
    let s = filter_spec(Vows::STDIO, &o).unwrap();
    assert_eq!(s.default_action, KILL);
}

#[test]
fn violation_action_is_the_default_action() {
    for a in [
        KILL,
        Action::KillThread,
        Action::Trap,
        Action::Log,
        Action::Errno(1),
    ] {
        let o = VowOptions {
            violation: a,
            ..opts()
        };
        let s = filter_spec(Vows::STDIO, &o).unwrap();
        assert_eq!(s.default_action, a);
        assert_eq!(eval(&s, SYS_ptrace, &[]), a);
        let bad_arch = if a == Action::KillThread {
            Action::KillThread
        } else {
            KILL
        };
        assert_eq!(s.bad_arch_action, bad_arch);
    }
}

#[test]
fn bad_options_are_refused() {
    let allow = VowOptions {
        violation: Action::Allow,
        ..opts()
    };
    assert_eq!(
        filter_spec(Vows::STDIO, &allow),
        Err(VowOptionsError::AllowViolation)
    );
    let zero = VowOptions {
        violation: Action::Errno(0),
        ..opts()
    };
    assert_eq!(
        filter_spec(Vows::STDIO, &zero),
        Err(VowOptionsError::BadErrno(0))
    );
    let big = VowOptions {
        errno_override: Some(5000),
        ..opts()
    };
    assert_eq!(
        default_action(Vows::STDIO | Vows::ERROR, &big),
        Err(VowOptionsError::BadErrno(5000))
    );
    // With `error`, the violation action is not used, so Allow there is moot.
    assert_eq!(default_action(Vows::ERROR, &allow), Ok(EACCES));
    assert!(!VowOptionsError::AllowViolation.to_string().is_empty());
}

#[test]
fn foreign_arch_and_x32_get_the_bad_arch_action() {
    let s = spec("stdio");
    assert_eq!(s.evaluate(AUDIT_ARCH_I386, SYS_write as u32, &[0; 6]), KILL);
    // x86_64: the x32 range is a bad arch; elsewhere the number is unknown.
    assert_eq!(
        s.evaluate(
            Arch::native().audit_arch(),
            X32_SYSCALL_BIT | SYS_write as u32,
            &[0; 6]
        ),
        KILL
    );
}

#[test]
fn filter_is_deterministic_and_empty_vows_allow_nothing() {
    assert_eq!(spec("stdio rpath inet"), spec("inet stdio rpath"));
    let none = filter_spec(Vows::empty(), &opts()).unwrap();
    assert!(none.syscalls.is_empty());
    assert_eq!(eval(&none, SYS_write, &[1]), KILL);
}

#[test]
fn unconditional_calls_stay_constant_action() {
    let s = spec("stdio rpath wpath cpath inet thread");
    for nr in [
        SYS_write,
        SYS_read,
        SYS_close,
        SYS_futex,
        SYS_exit_group,
        SYS_getdents64,
    ] {
        assert_eq!(s.syscalls[&(nr as u32)], vec![Rule::allow()], "{nr}");
    }
    // newfstatat is conditional under stdio alone, unconditional with rpath.
    assert_ne!(
        spec("stdio").syscalls[&(SYS_newfstatat as u32)],
        vec![Rule::allow()]
    );
    assert_eq!(s.syscalls[&(SYS_newfstatat as u32)], vec![Rule::allow()]);
}

// ---------------------------------------------------------------------------
// One allowed and one denied case for every vow
// ---------------------------------------------------------------------------

struct Case {
    vow: &'static str,
    allow: (i64, Vec<u64>),
    deny: (i64, Vec<u64>),
}

fn per_vow_cases() -> Vec<Case> {
    let c = |vow, allow: (i64, &[u64]), deny: (i64, &[u64])| Case {
        vow,
        allow: (allow.0, allow.1.to_vec()),
        deny: (deny.0, deny.1.to_vec()),
    };
    let at = u(AT_FDCWD);
    vec![
        c(
            "stdio",
            (SYS_write, &[1, 0, 5]),
            (SYS_openat, &[at, 0, u(O_RDONLY)]),
        ),
        c(
            "rpath",
            (SYS_openat, &[at, 0, u(O_RDONLY | O_DIRECTORY | O_CLOEXEC)]),
            (SYS_openat, &[at, 0, u(O_WRONLY)]),
        ),
        c(
            "wpath",
            (SYS_openat, &[at, 0, u(O_WRONLY | O_TRUNC | O_APPEND)]),
            (SYS_openat, &[at, 0, u(O_RDONLY)]),
        ),
        c(
            "cpath",
            (SYS_mkdirat, &[at, 0, 0o755]),
            (SYS_openat, &[at, 0, u(O_RDONLY | O_CREAT)]),
        ),
        c(
            "dpath",
            (SYS_mknodat, &[at, 0, u(S_IFIFO as i32)]),
            (SYS_unlinkat, &[at, 0, 0]),
        ),
        c(
            "tmppath",
            (
                SYS_openat,
                &[at, 0, u(O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC)],
            ),
            (SYS_openat, &[at, 0, u(O_RDWR | O_CREAT)]),
        ),
        c(
            "flock",
            (SYS_flock, &[3, u(LOCK_EX)]),
            (SYS_fcntl, &[3, u(F_SETFL)]),
        ),
        c(
            "fattr",
            (SYS_fchmodat, &[at, 0, 0o644]),
            (SYS_fchownat, &[at, 0, 0, 0]),
        ),
        c(
            "chown",
            (SYS_fchownat, &[at, 0, 0, 0]),
            (SYS_fchmodat, &[at, 0, 0o644]),
        ),
        c(
            "fsnotify",
            (SYS_inotify_init1, &[u(IN_CLOEXEC)]),
            (SYS_fcntl, &[3, u(F_SETLK)]),
        ),
        c(
            "inet",
            (SYS_socket, &[u(AF_INET), u(SOCK_STREAM | SOCK_CLOEXEC), 0]),
            (SYS_socket, &[u(AF_INET), u(SOCK_RAW), u(IPPROTO_ICMP)]),
        ),
        c(
            "unix",
            (SYS_socket, &[u(AF_UNIX), u(SOCK_STREAM | SOCK_CLOEXEC), 0]),
            (SYS_socket, &[u(AF_INET), u(SOCK_STREAM), 0]),
        ),
        c(
            "dns",
            (
                SYS_socket,
                &[u(AF_INET), u(SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK), 0],
            ),
            (SYS_bind, &[3, 0, 16]),
        ),
        c(
            "mcast",
            (SYS_setsockopt, &[3, u(IPPROTO_IP), u(IP_ADD_MEMBERSHIP)]),
            (SYS_setsockopt, &[3, u(SOL_SOCKET), u(SO_BINDTODEVICE)]),
        ),
        c(
            "sendfd",
            (SYS_sendmsg, &[3, 0, 0]),
            (SYS_recvmsg, &[3, 0, 0]),
        ),
        c(
            "recvfd",
            (SYS_recvmsg, &[3, 0, 0]),
            (SYS_sendmsg, &[3, 0, 0]),
        ),
        c(
            "tty",
            (SYS_ioctl, &[0, TIOCGWINSZ as u64]),
            (SYS_ioctl, &[0, TIOCSTI as u64]),
        ),
        c(
            "ioctl",
            (SYS_ioctl, &[0, TCGETS as u64]),
            (SYS_ioctl, &[0, TIOCSTI as u64]),
        ),
        c("proc", (SYS_kill, &[1, u(SIGTERM)]), (SYS_setuid, &[0])),
        c(
            "exec",
            (SYS_execve, &[0, 0, 0]),
            (SYS_mmap, &[0, 4096, u(PROT_READ | PROT_EXEC)]),
        ),
        c(
            "prot_exec",
            (SYS_mprotect, &[0, 4096, u(PROT_READ | PROT_EXEC)]),
            (SYS_execve, &[0, 0, 0]),
        ),
        c(
            "clone",
            (SYS_clone, &[u(SIGCHLD)]),
            (SYS_clone, &[u(CLONE_NEWUSER | SIGCHLD)]),
        ),
        c(
            "thread",
            (SYS_clone, &[u(CLONE_THREAD_FLAGS)]),
            (SYS_clone, &[u(SIGCHLD)]),
        ),
        c("id", (SYS_setresuid, &[1, 1, 1]), (SYS_setns, &[3, 0])),
        c(
            "sched",
            (SYS_sched_setaffinity, &[0, 8, 0]),
            (SYS_setpriority, &[0, 0, 10]),
        ),
        c(
            "shm",
            (SYS_shmget, &[0, 4096, 0]),
            (SYS_shmat, &[3, 0, u(SHM_EXEC)]),
        ),
        c(
            "prctl",
            (SYS_prctl, &[u(PR_SET_MM)]),
            (SYS_seccomp, &[1, 0, 0]),
        ),
        c(
            "seccomp_install",
            (SYS_seccomp, &[1, 1, 0]),
            (SYS_seccomp, &[1, 4, 0]),
        ),
        c("settime", (SYS_clock_settime, &[0, 0]), (SYS_reboot, &[0])),
        c("vminfo", (SYS_sysinfo, &[0]), (SYS_getrandom, &[0, 8, 0])),
        c(
            "unveil",
            (SYS_landlock_restrict_self, &[3, 0]),
            (SYS_seccomp, &[1, 0, 0]),
        ),
        // `error` grants no call: its "allowed" case is a call that fails
        // softly instead of killing; checked in error_vow_* too.
        c("error", (SYS_getpid, &[]), (SYS_getpid, &[])),
    ]
}

#[test]
fn every_vow_has_an_allowed_and_a_denied_case() {
    let cases = per_vow_cases();
    for (name, _) in Vows::names() {
        assert!(cases.iter().any(|c| c.vow == name), "no case for {name}");
    }
    for c in &cases {
        if c.vow == "error" {
            assert_eq!(verdict(c.vow, c.allow.0, &c.allow.1), EACCES);
            continue;
        }
        assert_eq!(
            verdict(c.vow, c.allow.0, &c.allow.1),
            Action::Allow,
            "{}: {:?} should be allowed",
            c.vow,
            c.allow
        );
        assert_eq!(
            verdict(c.vow, c.deny.0, &c.deny.1),
            KILL,
            "{}: {:?} should be denied",
            c.vow,
            c.deny
        );
    }
}

// ---------------------------------------------------------------------------
// stdio
// ---------------------------------------------------------------------------

#[test]
fn stdio_mmap_without_prot_exec_only() {
    let rw = u(PROT_READ | PROT_WRITE);
    let rx = u(PROT_READ | PROT_EXEC);
    assert!(allowed(
        "stdio",
        SYS_mmap,
        &[0, 4096, rw, u(MAP_PRIVATE | MAP_ANONYMOUS)]
    ));
    assert!(allowed("stdio", SYS_mmap, &[0, 4096, u(PROT_NONE)]));
    assert!(!allowed("stdio", SYS_mmap, &[0, 4096, rx]));
    assert!(!allowed("stdio", SYS_mprotect, &[0, 4096, u(PROT_EXEC)]));
    assert!(!allowed("stdio", SYS_pkey_mprotect, &[0, 4096, rx, 1]));
    assert!(allowed("stdio prot_exec", SYS_mmap, &[0, 4096, rx]));
    assert!(allowed("stdio prot_exec", SYS_mprotect, &[0, 4096, rx]));
    assert!(allowed(
        "stdio prot_exec",
        SYS_pkey_mprotect,
        &[0, 4096, rx, 1]
    ));
}

#[test]
fn stdio_memfd_without_mfd_exec() {
    let mfd_exec = 0x10;
    assert!(allowed(
        "stdio",
        SYS_memfd_create,
        &[0, u(MFD_CLOEXEC as i32)]
    ));
    assert!(!allowed("stdio", SYS_memfd_create, &[0, mfd_exec]));
    assert!(allowed("stdio prot_exec", SYS_memfd_create, &[0, mfd_exec]));
    assert!(allowed("stdio exec", SYS_memfd_create, &[0, mfd_exec]));
    // prot_exec alone does not grant memfd_create at all.
    assert!(!allowed("prot_exec", SYS_memfd_create, &[0, 0]));
}

#[test]
fn defect_9_stdio_allows_glibc_fstat_and_rust_metadata() {
    // glibc ≥ 2.33 printf: newfstatat(1, "", &st, AT_EMPTY_PATH).
    assert!(allowed(
        "stdio",
        SYS_newfstatat,
        &[1, 0, 0, u(AT_EMPTY_PATH)]
    ));
    assert!(allowed("stdio", SYS_fstat, &[1, 0]));
    // Rust's File::metadata(): statx(fd, "", AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_ALL).
    assert!(allowed(
        "stdio",
        SYS_statx,
        &[3, 0, u(AT_EMPTY_PATH), 0xfff, 0]
    ));
    // A path stat (no AT_EMPTY_PATH) needs rpath.
    assert!(!allowed("stdio", SYS_newfstatat, &[u(AT_FDCWD), 0, 0, 0]));
    assert!(!allowed("stdio", SYS_statx, &[u(AT_FDCWD), 0, 0, 0xfff, 0]));
    assert!(allowed(
        "stdio rpath",
        SYS_newfstatat,
        &[u(AT_FDCWD), 0, 0, 0]
    ));
}

#[test]
fn stdio_ioctl_allow_list_by_equality() {
    for req in [FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, TCGETS] {
        assert!(allowed("stdio", SYS_ioctl, &[1, req as u64]), "{req:#x}");
        // Only the low 32 bits of the request count (the kernel's is `unsigned int`).
        assert!(allowed(
            "stdio",
            SYS_ioctl,
            &[1, 0xdead_0000_0000_0000 | req as u64]
        ));
    }
    for req in [
        TIOCSTI,
        TIOCLINUX,
        TCSETS,
        TIOCSWINSZ,
        TIOCGWINSZ,
        FIONREAD | 0x8000_0000,
    ] {
        assert!(!allowed("stdio", SYS_ioctl, &[1, req as u64]), "{req:#x}");
    }
}

#[test]
fn stdio_fcntl_flock_split() {
    for cmd in [
        F_GETFD,
        F_SETFD,
        F_GETFL,
        F_SETFL,
        F_DUPFD,
        F_DUPFD_CLOEXEC,
        F_GETPIPE_SZ,
    ] {
        assert!(allowed("stdio", SYS_fcntl, &[3, u(cmd)]), "{cmd}");
    }
    for cmd in [
        F_GETLK,
        F_SETLK,
        F_SETLKW,
        F_OFD_GETLK,
        F_OFD_SETLK,
        F_OFD_SETLKW,
    ] {
        assert!(!allowed("stdio", SYS_fcntl, &[3, u(cmd)]), "{cmd}");
        assert!(allowed("stdio flock", SYS_fcntl, &[3, u(cmd)]), "{cmd}");
    }
    assert!(!allowed("stdio", SYS_flock, &[3, u(LOCK_EX)]));
    assert!(allowed("stdio flock", SYS_flock, &[3, u(LOCK_EX)]));
    // Signals to other processes and leases are in no vow.
    for cmd in [F_SETOWN, 10 /* F_SETSIG */, F_SETLEASE] {
        assert!(
            !allowed("stdio flock fsnotify", SYS_fcntl, &[3, u(cmd)]),
            "{cmd}"
        );
    }
    assert!(allowed("stdio fsnotify", SYS_fcntl, &[3, u(F_NOTIFY)]));
}

#[test]
fn stdio_prctl_allow_list() {
    for opt in [
        PR_GET_NAME,
        PR_SET_NAME,
        PR_GET_NO_NEW_PRIVS,
        PR_SET_NO_NEW_PRIVS,
        PR_CAPBSET_READ,
        PR_GET_SECCOMP,
        PR_GET_DUMPABLE,
    ] {
        assert!(allowed("stdio", SYS_prctl, &[u(opt), 1]), "{opt}");
    }
    assert!(allowed("stdio", SYS_prctl, &[u(PR_SET_DUMPABLE), 0]));
    assert!(!allowed("stdio", SYS_prctl, &[u(PR_SET_DUMPABLE), 1]));
    for opt in [
        PR_SET_SECCOMP,
        PR_CAPBSET_DROP,
        PR_SET_MM,
        PR_SET_PTRACER,
        PR_SET_KEEPCAPS,
    ] {
        assert!(!allowed("stdio", SYS_prctl, &[u(opt), 2]), "{opt}");
        assert!(allowed("stdio prctl", SYS_prctl, &[u(opt), 2]), "{opt}");
    }
}

#[test]
fn stdio_kill_self_only() {
    let term = u(SIGTERM);
    let pid = u64::from(PID);
    assert!(allowed("stdio", SYS_kill, &[pid, term]));
    assert!(allowed("stdio", SYS_tgkill, &[pid, 4343, u(SIGABRT)]));
    assert!(allowed("stdio", SYS_tkill, &[pid, term]));
    assert!(!allowed("stdio", SYS_kill, &[1, term]));
    assert!(
        !allowed("stdio", SYS_kill, &[0, term]),
        "process group needs proc"
    );
    assert!(
        !allowed("stdio", SYS_kill, &[u(-1), term]),
        "everyone needs proc"
    );
    assert!(
        !allowed("stdio", SYS_kill, &[u(-(PID as i32)), term]),
        "-pid is a group"
    );
    assert!(!allowed("stdio", SYS_tgkill, &[1, 1, term]));
    for p in [0, 1, pid, u(-1)] {
        assert!(allowed("stdio proc", SYS_kill, &[p, term]));
    }
    // Without self_pid, stdio cannot signal at all.
    let s = filter_spec(Vows::STDIO, &VowOptions::default()).unwrap();
    assert_eq!(eval(&s, SYS_kill, &[pid, term]), KILL);
    let me = VowOptions::for_current_process();
    assert_eq!(me.self_pid, Some(std::process::id()));
    let s = filter_spec(Vows::STDIO, &me).unwrap();
    assert_eq!(
        eval(&s, SYS_kill, &[u64::from(std::process::id()), term]),
        Action::Allow
    );
}

#[test]
fn stdio_rlimits_read_only() {
    let stack = u(RLIMIT_STACK as i32);
    assert!(allowed("stdio", SYS_prlimit64, &[0, stack, 0, 0x7fff_0000]));
    assert!(allowed(
        "stdio",
        SYS_prlimit64,
        &[u64::from(PID), stack, 0, 0x7fff_0000]
    ));
    assert!(!allowed(
        "stdio",
        SYS_prlimit64,
        &[0, stack, 0x7fff_0000, 0]
    ));
    assert!(!allowed(
        "stdio",
        SYS_prlimit64,
        &[1, stack, 0, 0x7fff_0000]
    ));
    // A pointer whose low half is zero is still not NULL (64-bit compare).
    assert!(!allowed(
        "stdio",
        SYS_prlimit64,
        &[0, stack, 0x7fff_0000_0000, 0]
    ));
    assert!(allowed(
        "stdio proc",
        SYS_prlimit64,
        &[1, stack, 0x7fff_0000, 0]
    ));
    assert!(allowed("stdio", SYS_getrlimit, &[stack, 0]));
    assert!(!allowed("stdio", SYS_setrlimit, &[stack, 0]));
    assert!(allowed("proc", SYS_setrlimit, &[stack, 0]));
}

#[test]
fn stdio_sockets_already_held() {
    assert!(allowed(
        "stdio",
        SYS_sendto,
        &[3, 0, 1, u(MSG_NOSIGNAL), 0, 0]
    ));
    assert!(!allowed(
        "stdio",
        SYS_sendto,
        &[3, 0, 1, 0, 0x7fff_1000, 16]
    ));
    assert!(allowed(
        "stdio inet",
        SYS_sendto,
        &[3, 0, 1, 0, 0x7fff_1000, 16]
    ));
    assert!(allowed(
        "stdio",
        SYS_socketpair,
        &[u(AF_UNIX), u(SOCK_STREAM), 0, 0]
    ));
    assert!(!allowed(
        "stdio",
        SYS_socketpair,
        &[u(AF_INET), u(SOCK_STREAM), 0, 0]
    ));
    for nr in [
        SYS_recvfrom,
        SYS_recvmsg,
        SYS_sendmsg,
        SYS_sendmmsg,
        SYS_shutdown,
    ] {
        assert!(allowed("stdio", nr, &[3]), "{nr}");
    }
    for nr in [
        SYS_socket,
        SYS_connect,
        SYS_bind,
        SYS_accept4,
        SYS_setsockopt,
    ] {
        assert!(!allowed("stdio", nr, &[u(AF_UNIX), u(SOCK_STREAM)]), "{nr}");
    }
}

#[test]
fn personality_query_only() {
    assert!(allowed("stdio", SYS_personality, &[0xffff_ffff]));
    let read_implies_exec = 0x0040_0000;
    assert!(!allowed("stdio", SYS_personality, &[read_implies_exec]));
    assert_eq!(union_verdict(SYS_personality, &[read_implies_exec]), KILL);
    assert_eq!(union_verdict(SYS_personality, &[0]), KILL);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn arch_prctl_minimal() {
    const ARCH_SET_GS: u64 = 0x1001;
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    assert!(allowed("stdio", SYS_arch_prctl, &[ARCH_GET_FS, 0]));
    assert!(!allowed("stdio", SYS_arch_prctl, &[ARCH_SET_FS, 0]));
    assert!(allowed("stdio exec", SYS_arch_prctl, &[ARCH_SET_FS, 0]));
    assert!(!allowed("stdio exec", SYS_arch_prctl, &[ARCH_SET_GS, 0]));
    assert!(allowed("stdio prctl", SYS_arch_prctl, &[ARCH_SET_GS, 0]));
}

/// The calls Rust's std and glibc make for `println!`, allocation,
/// thread-locals, a panic message and process exit, as seen with
/// `strace -f` on a small program (Rust 1.95, glibc 2.36, Linux 6.18),
/// plus glibc's printf path.
#[test]
fn stdio_allows_what_std_needs_for_println_alloc_and_exit() {
    let s = spec("stdio");
    let rw = u(PROT_READ | PROT_WRITE);
    let anon = u(MAP_PRIVATE | MAP_ANONYMOUS);
    let calls: &[(&str, i64, &[u64])] = &[
        ("write stdout", SYS_write, &[1, 0, 6]),
        ("write stderr", SYS_write, &[2, 0, 6]),
        ("writev", SYS_writev, &[1, 0, 2]),
        ("mmap heap", SYS_mmap, &[0, 1 << 20, rw, anon, u(-1), 0]),
        (
            "mmap reserve",
            SYS_mmap,
            &[0, 1 << 27, u(PROT_NONE), anon | u(MAP_NORESERVE)],
        ),
        ("mprotect rw", SYS_mprotect, &[0x7f00_0000_0000, 4096, rw]),
        ("munmap", SYS_munmap, &[0x7f00_0000_0000, 4096]),
        (
            "mremap",
            SYS_mremap,
            &[0x7f00_0000_0000, 8192, 4096, u(MREMAP_MAYMOVE)],
        ),
        ("brk", SYS_brk, &[0]),
        (
            "madvise",
            SYS_madvise,
            &[0x7f00_0000_0000, 4096, u(MADV_DONTNEED)],
        ),
        ("sigaltstack", SYS_sigaltstack, &[0, 0]),
        (
            "rt_sigprocmask",
            SYS_rt_sigprocmask,
            &[u(SIG_BLOCK), 0, 0, 8],
        ),
        ("rt_sigaction", SYS_rt_sigaction, &[u(SIGSEGV), 0, 0, 8]),
        (
            "futex wake",
            SYS_futex,
            &[0x7f00_0000_0000, u(FUTEX_WAKE | FUTEX_PRIVATE_FLAG), 1],
        ),
        (
            "futex wait",
            SYS_futex,
            &[0x7f00_0000_0000, u(FUTEX_WAIT_BITSET), 1],
        ),
        ("gettid (panic message)", SYS_gettid, &[]),
        ("getpid", SYS_getpid, &[]),
        ("getcwd (panic location)", SYS_getcwd, &[0, 512]),
        ("glibc fstat", SYS_newfstatat, &[1, 0, 0, u(AT_EMPTY_PATH)]),
        ("isatty", SYS_ioctl, &[1, TCGETS as u64, 0]),
        (
            "malloc tcache seed",
            SYS_getrandom,
            &[0, 8, u(GRND_NONBLOCK as i32)],
        ),
        (
            "File::metadata",
            SYS_statx,
            &[3, 0, u(AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT), 0xfff],
        ),
        ("stdin check", SYS_poll, &[0, 3, 0]),
        ("lseek", SYS_lseek, &[3, 0, u(SEEK_CUR)]),
        ("read", SYS_read, &[0, 0, 32]),
        ("close", SYS_close, &[3]),
        ("debug fd check", SYS_fcntl, &[3, u(F_GETFD)]),
        ("available_parallelism", SYS_sched_getaffinity, &[0, 128, 0]),
        (
            "stack size",
            SYS_prlimit64,
            &[0, u(RLIMIT_STACK as i32), 0, 0x7fff_0000],
        ),
        (
            "clock fallback",
            SYS_clock_gettime,
            &[u(CLOCK_MONOTONIC), 0],
        ),
        (
            "abort",
            SYS_tgkill,
            &[u64::from(PID), u64::from(PID), u(SIGABRT)],
        ),
        ("rt_sigreturn", SYS_rt_sigreturn, &[]),
        ("exit_group", SYS_exit_group, &[0]),
        ("thread exit", SYS_exit, &[0]),
    ];
    for (what, nr, a) in calls {
        assert_eq!(eval(&s, *nr, a), Action::Allow, "{what}");
    }
}

#[test]
fn thread_vow_covers_std_thread_spawn() {
    let s = spec("stdio thread");
    assert_eq!(
        eval(&s, SYS_clone3, &[0, 88]),
        ENOSYS,
        "glibc falls back to clone"
    );
    assert_eq!(eval(&s, SYS_clone, &[u(CLONE_THREAD_FLAGS)]), Action::Allow);
    for (nr, a) in [
        (SYS_rseq, &[0x7f00_0000_0000u64, 0x20, 0, 0x5305_3053][..]),
        (SYS_set_robust_list, &[0x7f00_0000_0000, 24]),
        (SYS_sched_getaffinity, &[4343, 32, 0]),
        (SYS_madvise, &[0x7f00_0000_0000, 1 << 20, u(MADV_DONTNEED)]),
        (SYS_prctl, &[u(PR_SET_NAME), 0]),
        (SYS_exit, &[0]),
    ] {
        assert_eq!(eval(&s, nr, a), Action::Allow, "{nr}");
    }
    // stdio alone: no new threads.
    assert_eq!(verdict("stdio", SYS_clone, &[u(CLONE_THREAD_FLAGS)]), KILL);
}

#[test]
fn clone_vow_covers_fork_and_posix_spawn() {
    assert!(allowed("clone", SYS_clone, &[u(SIGCHLD)]), "fork");
    assert!(
        allowed("clone", SYS_clone, &[u(CLONE_VM | CLONE_VFORK | SIGCHLD)]),
        "posix_spawn"
    );
    assert!(
        allowed(
            "clone",
            SYS_clone,
            &[u(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)]
        ),
        "glibc fork"
    );
    assert!(
        !allowed("clone", SYS_clone, &[u(CLONE_THREAD_FLAGS)]),
        "threads need thread"
    );
    #[cfg(target_arch = "x86_64")]
    {
        assert!(allowed("clone", SYS_fork, &[]));
        assert!(allowed("clone", SYS_vfork, &[]));
        assert!(!allowed("thread", SYS_fork, &[]));
    }
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

fn open_ok(vows: &str, flags: i32) -> bool {
    let ok = allowed(vows, SYS_openat, &[u(AT_FDCWD), 0, u(flags), 0o644]);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        ok,
        allowed(vows, SYS_open, &[0, u(flags), 0o644]),
        "open vs openat: {vows}"
    );
    ok
}

#[test]
fn defect_5_o_directory_open_under_rpath() {
    assert!(open_ok("rpath", O_RDONLY | O_DIRECTORY));
    assert!(open_ok(
        "rpath",
        O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK
    ));
    assert!(open_ok("rpath", O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    // The real O_TMPFILE (which includes O_DIRECTORY) is still refused.
    assert!(!open_ok("rpath", O_RDWR | O_TMPFILE));
    assert!(!open_ok("rpath wpath", O_RDWR | O_TMPFILE));
    assert!(open_ok("rpath wpath cpath", O_RDWR | O_TMPFILE));
}

#[test]
fn rpath_is_read_only() {
    assert!(open_ok("rpath", O_RDONLY));
    assert!(open_ok("rpath", O_RDONLY | O_CLOEXEC | O_PATH));
    assert!(!open_ok("rpath", O_WRONLY));
    assert!(!open_ok("rpath", O_RDWR));
    assert!(!open_ok("rpath", O_RDONLY | O_CREAT));
    assert!(
        !open_ok("rpath", O_RDONLY | O_TRUNC),
        "Linux truncates O_RDONLY|O_TRUNC"
    );
    assert!(!open_ok("rpath", O_ACCMODE), "access mode 3");
}

#[test]
fn wpath_is_write_only_and_needs_cpath_to_create() {
    assert!(open_ok("wpath", O_WRONLY));
    assert!(open_ok("wpath", O_WRONLY | O_APPEND));
    assert!(open_ok("wpath", O_WRONLY | O_TRUNC));
    assert!(!open_ok("wpath", O_RDONLY));
    assert!(!open_ok("wpath", O_RDWR));
    assert!(!open_ok("wpath", O_WRONLY | O_CREAT));
    assert!(open_ok("wpath cpath", O_WRONLY | O_CREAT | O_TRUNC));
}

#[test]
fn path_vows_combine_by_access_mode() {
    assert!(open_ok("rpath wpath", O_RDWR));
    assert!(
        open_ok("rpath wpath", O_RDONLY | O_TRUNC),
        "wpath allows O_TRUNC"
    );
    assert!(!open_ok("rpath wpath", O_RDWR | O_CREAT));
    // cpath adds O_CREAT to the access modes the other vows allow, no more.
    assert!(open_ok("rpath cpath", O_RDONLY | O_CREAT));
    assert!(!open_ok("rpath cpath", O_WRONLY));
    assert!(!open_ok("rpath cpath", O_WRONLY | O_CREAT));
    assert!(open_ok(
        "rpath wpath cpath",
        O_RDWR | O_CREAT | O_EXCL | O_TRUNC
    ));
    assert!(!open_ok("rpath wpath cpath", O_ACCMODE));
    assert!(
        !open_ok("cpath", O_RDONLY | O_CREAT),
        "cpath alone opens nothing"
    );
    assert!(!open_ok("stdio", O_RDONLY));
}

#[test]
fn open_flag_rules_are_empty_without_access_vows() {
    assert!(open_flag_rules(Vows::CPATH | Vows::STDIO, 2).is_empty());
    assert_eq!(open_flag_rules(Vows::RPATH, 2).len(), 1);
    assert_eq!(open_flag_rules(Vows::RPATH | Vows::WPATH, 2).len(), 3);
}

#[test]
fn tmppath_creates_only_fresh_files() {
    assert!(open_ok("tmppath", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC));
    assert!(open_ok("tmppath", O_WRONLY | O_CREAT | O_EXCL));
    assert!(open_ok("tmppath", O_RDWR | O_TMPFILE));
    assert!(
        !open_ok("tmppath", O_RDWR | O_CREAT),
        "no O_EXCL: could open an existing file"
    );
    assert!(!open_ok("tmppath", O_RDONLY | O_CREAT | O_EXCL));
    assert!(!open_ok("tmppath", O_RDWR));
    assert!(allowed("tmppath", SYS_unlinkat, &[u(AT_FDCWD), 0, 0]));
    assert!(!allowed(
        "tmppath",
        SYS_unlinkat,
        &[u(AT_FDCWD), 0, u(AT_REMOVEDIR)]
    ));
    assert!(allowed("tmppath", SYS_newfstatat, &[u(AT_FDCWD), 0, 0, 0]));
    assert!(!allowed("tmppath", SYS_renameat2, &[0, 0, 0, 0, 0]));
    #[cfg(target_arch = "x86_64")]
    assert!(allowed("tmppath", SYS_unlink, &[0]));
}

#[test]
fn openat2_gets_enosys_with_path_vows() {
    for v in [
        "rpath",
        "wpath",
        "cpath",
        "tmppath",
        "stdio rpath wpath cpath",
    ] {
        assert_eq!(
            verdict(v, SYS_openat2, &[u(AT_FDCWD), 0, 0, 24]),
            ENOSYS,
            "{v}"
        );
    }
    assert_eq!(verdict("stdio", SYS_openat2, &[]), KILL);
}

#[test]
fn cpath_dpath_calls() {
    for nr in [
        SYS_renameat2,
        SYS_mkdirat,
        SYS_linkat,
        SYS_unlinkat,
        SYS_symlinkat,
    ] {
        assert!(allowed("cpath", nr, &[0]), "{nr}");
        assert!(!allowed("rpath wpath", nr, &[0]), "{nr}");
    }
    assert!(allowed("dpath", SYS_mknodat, &[0]));
    assert!(!allowed("cpath", SYS_mknodat, &[0]));
    #[cfg(target_arch = "x86_64")]
    {
        assert!(allowed("wpath cpath", SYS_creat, &[0, 0o644]));
        assert!(
            !allowed("cpath", SYS_creat, &[0, 0o644]),
            "creat opens for writing"
        );
        assert!(allowed("dpath", SYS_mknod, &[0]));
        assert!(allowed("rpath", SYS_stat, &[0]));
        assert!(allowed("cpath", SYS_rmdir, &[0]));
    }
}

// ---------------------------------------------------------------------------
// ioctl, sockets
// ---------------------------------------------------------------------------

#[test]
fn defect_4_ioctl_vow_allows_fionread_and_tcgets_denies_tiocsti() {
    for req in [FIONREAD, TCGETS, TIOCGWINSZ, FIONBIO, TCSETS, 0xc020_660b] {
        assert!(allowed("ioctl", SYS_ioctl, &[0, req as u64]), "{req:#x}");
    }
    for v in ["stdio", "ioctl", "tty", "stdio tty ioctl"] {
        assert!(!allowed(v, SYS_ioctl, &[0, TIOCSTI as u64]), "{v}");
        assert!(!allowed(v, SYS_ioctl, &[0, TIOCLINUX as u64]), "{v}");
        // The upper half of the register is ignored, like the kernel does.
        assert!(
            !allowed(v, SYS_ioctl, &[0, 0xffff_ffff_0000_0000 | TIOCSTI as u64]),
            "{v}"
        );
    }
}

#[test]
fn tty_vow_terminal_requests() {
    for req in [
        TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP,
    ] {
        assert!(allowed("tty", SYS_ioctl, &[0, req as u64]), "{req:#x}");
    }
    for req in [TIOCSCTTY, TIOCSETD, TIOCCONS, TIOCSTI, TIOCLINUX] {
        assert!(
            !allowed("stdio tty", SYS_ioctl, &[0, req as u64]),
            "{req:#x}"
        );
    }
}

#[test]
fn inet_socket_by_domain_type_and_protocol() {
    let v = "stdio inet";
    for (d, t, p) in [
        (AF_INET, SOCK_STREAM, 0),
        (
            AF_INET,
            SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
            IPPROTO_TCP,
        ),
        (AF_INET6, SOCK_STREAM, 0),
        (AF_INET, SOCK_DGRAM, IPPROTO_UDP),
        (AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0),
    ] {
        assert!(allowed(v, SYS_socket, &[u(d), u(t), u(p)]), "{d} {t} {p}");
    }
    for (d, t, p) in [
        (AF_UNIX, SOCK_STREAM, 0),
        (AF_INET, SOCK_RAW, IPPROTO_ICMP),
        (AF_INET, SOCK_RAW, IPPROTO_RAW),
        (AF_INET, SOCK_DGRAM, IPPROTO_ICMP),
        (AF_INET, SOCK_STREAM, IPPROTO_UDP),
        (AF_INET, SOCK_STREAM, IPPROTO_SCTP),
        (AF_INET, SOCK_STREAM, 262), // IPPROTO_MPTCP
        (AF_INET6, SOCK_SEQPACKET, 0),
        (AF_PACKET, SOCK_RAW, 0),
        (AF_NETLINK, SOCK_RAW, 0),
        (AF_INET, SOCK_STREAM | 0x100, 0), // an unknown type bit
    ] {
        assert!(!allowed(v, SYS_socket, &[u(d), u(t), u(p)]), "{d} {t} {p}");
    }
    for nr in [
        SYS_bind,
        SYS_listen,
        SYS_accept,
        SYS_accept4,
        SYS_connect,
        SYS_getsockname,
    ] {
        assert!(allowed(v, nr, &[3]), "{nr}");
    }
}

#[test]
fn unix_socket_types() {
    for t in [
        SOCK_STREAM,
        SOCK_DGRAM | SOCK_CLOEXEC,
        SOCK_SEQPACKET | SOCK_NONBLOCK,
    ] {
        assert!(allowed("unix", SYS_socket, &[u(AF_UNIX), u(t), 0]), "{t}");
    }
    assert!(!allowed("unix", SYS_socket, &[u(AF_UNIX), u(SOCK_RAW), 0]));
    assert!(!allowed(
        "unix",
        SYS_socket,
        &[u(AF_UNIX), u(SOCK_STREAM), 1]
    ));
    assert!(!allowed(
        "unix",
        SYS_socket,
        &[u(AF_INET6), u(SOCK_STREAM), 0]
    ));
    assert!(allowed(
        "unix",
        SYS_setsockopt,
        &[3, u(SOL_SOCKET), u(SO_PASSCRED)]
    ));
    assert!(!allowed(
        "unix",
        SYS_setsockopt,
        &[3, u(IPPROTO_TCP), u(TCP_NODELAY)]
    ));
}

#[test]
fn defect_6_setsockopt_by_level_and_name() {
    let v = "stdio inet";
    assert!(allowed(
        v,
        SYS_setsockopt,
        &[3, u(IPPROTO_TCP), u(TCP_NODELAY)]
    ));
    assert!(!allowed(
        v,
        SYS_setsockopt,
        &[3, u(SOL_SOCKET), u(SO_DEBUG)]
    ));
    assert_eq!(TCP_NODELAY, SO_DEBUG, "the same number at two levels");
    for (level, name) in [
        (SOL_SOCKET, SO_REUSEADDR),
        (SOL_SOCKET, SO_REUSEPORT),
        (SOL_SOCKET, SO_KEEPALIVE),
        (SOL_SOCKET, SO_RCVBUF),
        (SOL_SOCKET, SO_SNDBUF),
        (SOL_SOCKET, SO_RCVTIMEO),
        (SOL_SOCKET, SO_SNDTIMEO),
        (SOL_SOCKET, 66), // SO_RCVTIMEO_NEW
        (SOL_SOCKET, SO_LINGER),
        (SOL_SOCKET, SO_BROADCAST),
        (IPPROTO_TCP, TCP_KEEPIDLE),
        (IPPROTO_TCP, TCP_KEEPINTVL),
        (IPPROTO_TCP, TCP_KEEPCNT),
        (IPPROTO_TCP, TCP_CORK),
        (IPPROTO_IPV6, IPV6_V6ONLY),
        (IPPROTO_IP, IP_TOS),
        (IPPROTO_IP, IP_RECVERR),
        (IPPROTO_UDP, UDP_GRO),
    ] {
        assert!(
            allowed(v, SYS_setsockopt, &[3, u(level), u(name)]),
            "{level} {name}"
        );
    }
    for (level, name) in [
        (SOL_SOCKET, SO_DEBUG),
        (SOL_SOCKET, SO_BINDTODEVICE),
        (SOL_SOCKET, SO_ATTACH_FILTER),
        (SOL_SOCKET, SO_ATTACH_BPF),
        (SOL_SOCKET, SO_MARK),
        (SOL_SOCKET, SO_PRIORITY),
        (SOL_SOCKET, SO_RCVBUFFORCE),
        (IPPROTO_TCP, TCP_ULP),
        (IPPROTO_TCP, TCP_CONGESTION),
        (IPPROTO_TCP, TCP_REPAIR),
        (IPPROTO_IP, IP_ADD_MEMBERSHIP),
        (IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP),
        (IPPROTO_IPV6, TCP_CORK), // 3 at IPPROTO_IPV6 is IPV6_ADDRFORM
    ] {
        assert!(
            !allowed(v, SYS_setsockopt, &[3, u(level), u(name)]),
            "{level} {name}"
        );
    }
    assert!(allowed(v, SYS_getsockopt, &[3, u(SOL_SOCKET), u(SO_ERROR)]));
}

#[test]
fn mcast_adds_membership_options() {
    let v = "stdio inet mcast";
    for (level, name) in [
        (IPPROTO_IP, IP_ADD_MEMBERSHIP),
        (IPPROTO_IP, IP_DROP_MEMBERSHIP),
        (IPPROTO_IP, IP_MULTICAST_TTL),
        (IPPROTO_IP, IP_MULTICAST_LOOP),
        (IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP),
        (IPPROTO_IPV6, IPV6_MULTICAST_HOPS),
        (IPPROTO_IP, MCAST_JOIN_GROUP),
        (IPPROTO_IPV6, MCAST_JOIN_GROUP),
    ] {
        assert!(
            allowed(v, SYS_setsockopt, &[3, u(level), u(name)]),
            "{level} {name}"
        );
        assert!(
            !allowed("stdio inet", SYS_setsockopt, &[3, u(level), u(name)]),
            "{level} {name}"
        );
    }
}

#[test]
fn dns_is_a_client_and_refuses_nscd_and_netlink_softly() {
    let s = spec("stdio rpath dns");
    let af = Action::Errno(libc::EAFNOSUPPORT as u16);
    // glibc 2.36 getaddrinfo(), traced:
    let nscd = [u(AF_UNIX), u(SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK), 0];
    assert_eq!(eval(&s, SYS_socket, &nscd), af);
    assert_eq!(
        eval(
            &s,
            SYS_socket,
            &[u(AF_NETLINK), u(SOCK_RAW | SOCK_CLOEXEC), 0]
        ),
        af
    );
    let udp = [
        u(AF_INET),
        u(SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK),
        u(IPPROTO_IP),
    ];
    assert_eq!(eval(&s, SYS_socket, &udp), Action::Allow);
    assert_eq!(
        eval(&s, SYS_socket, &[u(AF_INET6), u(SOCK_STREAM), 0]),
        Action::Allow
    );
    assert_eq!(
        eval(&s, SYS_setsockopt, &[3, u(IPPROTO_IP), u(IP_RECVERR)]),
        Action::Allow
    );
    for nr in [SYS_connect, SYS_sendmmsg, SYS_recvfrom, SYS_poll, SYS_uname] {
        assert_eq!(eval(&s, nr, &[3]), Action::Allow, "{nr}");
    }
    assert_eq!(eval(&s, SYS_ioctl, &[3, FIONREAD as u64]), Action::Allow);
    assert_eq!(
        eval(&s, SYS_sendto, &[3, 0, 33, 0, 0x7fff_0000, 16]),
        Action::Allow
    );
    for nr in [SYS_bind, SYS_listen, SYS_accept4] {
        assert_eq!(eval(&s, nr, &[3]), KILL, "{nr}");
    }
    // Other domains still kill; with `unix` AF_UNIX works for real.
    assert_eq!(eval(&s, SYS_socket, &[u(AF_PACKET), u(SOCK_RAW), 0]), KILL);
    assert_eq!(verdict("dns unix", SYS_socket, &nscd), Action::Allow);
    // Under inet (no dns), AF_UNIX is a violation like any other.
    assert_eq!(verdict("stdio inet", SYS_socket, &nscd), KILL);
}

#[test]
fn socket_af_unix_denied_under_stdio_inet() {
    // exile.h's own test: stdio|inet allow AF_INET and deny AF_UNIX.
    assert!(allowed(
        "stdio inet",
        SYS_socket,
        &[u(AF_INET), u(SOCK_STREAM), 0]
    ));
    assert_eq!(
        verdict("stdio inet", SYS_socket, &[u(AF_UNIX), u(SOCK_STREAM), 0]),
        KILL
    );
    assert_eq!(
        verdict("stdio inet", SYS_socket, &[u(AF_INET), u(SOCK_RAW), 0]),
        KILL
    );
}

// ---------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------

#[test]
fn defect_7_clone_namespace_flags_denied() {
    let ns = [
        CLONE_NEWNS,
        CLONE_NEWCGROUP,
        CLONE_NEWUTS,
        CLONE_NEWIPC,
        CLONE_NEWUSER,
        CLONE_NEWPID,
        CLONE_NEWNET,
    ];
    for v in [
        "clone",
        "thread",
        "clone thread",
        "stdio clone thread proc id prctl",
    ] {
        for flag in ns {
            assert_eq!(
                verdict(v, SYS_clone, &[u(flag | SIGCHLD)]),
                KILL,
                "{v} {flag:#x}"
            );
            assert_eq!(
                verdict(v, SYS_clone, &[u(flag | CLONE_THREAD_FLAGS)]),
                KILL,
                "{v}"
            );
        }
    }
    assert_eq!(union_verdict(SYS_unshare, &[u(CLONE_NEWUSER)]), KILL);
}

#[test]
fn clone3_gets_enosys_with_clone_or_thread() {
    for v in ["clone", "thread", "stdio clone thread"] {
        assert_eq!(verdict(v, SYS_clone3, &[0, 88]), ENOSYS, "{v}");
    }
    assert_eq!(verdict("stdio", SYS_clone3, &[0, 88]), KILL);
}

#[test]
fn thread_needs_both_clone_vm_and_clone_thread() {
    assert!(!allowed("thread", SYS_clone, &[u(CLONE_VM | SIGCHLD)]));
    assert!(!allowed(
        "thread",
        SYS_clone,
        &[u(CLONE_THREAD | CLONE_SIGHAND)]
    ));
    assert!(allowed(
        "thread",
        SYS_clone,
        &[u(CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)]
    ));
}

#[test]
fn shm_exec_needs_prot_exec() {
    assert!(allowed("shm", SYS_shmat, &[3, 0, u(SHM_RDONLY)]));
    assert!(!allowed("shm", SYS_shmat, &[3, 0, u(SHM_EXEC)]));
    assert!(allowed("shm prot_exec", SYS_shmat, &[3, 0, u(SHM_EXEC)]));
    assert!(!allowed("prot_exec", SYS_shmat, &[3, 0, 0]));
    for nr in [SYS_semget, SYS_msgget, SYS_mq_open] {
        assert!(
            !allowed("stdio", nr, &[0]),
            "{nr}: moved from exile.h's stdio to shm"
        );
        assert!(allowed("shm", nr, &[0]), "{nr}");
    }
    assert!(allowed("stdio", SYS_shmdt, &[0]));
}

// ---------------------------------------------------------------------------
// prctl, seccomp_install, unveil
// ---------------------------------------------------------------------------

#[test]
fn prctl_set_name_allowed_set_seccomp_denied_under_stdio() {
    assert!(allowed("stdio", SYS_prctl, &[u(PR_SET_NAME), 0]));
    assert!(!allowed("stdio", SYS_prctl, &[u(PR_SET_SECCOMP), 2, 0]));
    assert!(allowed(
        "stdio seccomp_install",
        SYS_prctl,
        &[u(PR_SET_SECCOMP), 2, 0]
    ));
}

#[test]
fn defect_8_second_vow_needs_only_seccomp_install() {
    let s = spec("stdio seccomp_install");
    let calls: &[(&str, i64, &[u64])] = &[
        ("not dumpable", SYS_prctl, &[u(PR_SET_DUMPABLE), 0]),
        ("no_new_privs", SYS_prctl, &[u(PR_SET_NO_NEW_PRIVS), 1]),
        ("install (seccomp)", SYS_seccomp, &[1, 0, 0x7fff_0000]),
        ("install with TSYNC", SYS_seccomp, &[1, 1, 0x7fff_0000]),
        (
            "install (prctl)",
            SYS_prctl,
            &[u(PR_SET_SECCOMP), 2, 0x7fff_0000],
        ),
        ("action available?", SYS_seccomp, &[2, 0, 0x7fff_0000]),
        ("landlock ABI", SYS_landlock_create_ruleset, &[0, 0, 1]),
        ("landlock errata", SYS_landlock_create_ruleset, &[0, 0, 2]),
    ];
    for (what, nr, a) in calls {
        assert_eq!(eval(&s, *nr, a), Action::Allow, "{what}");
        if *nr != SYS_prctl || a[0] == u(PR_SET_SECCOMP) {
            assert_eq!(
                verdict("stdio", *nr, a),
                KILL,
                "{what} without seccomp_install"
            );
        }
    }
    // A real ruleset, restrict_self and SPEC_ALLOW stay out.
    assert_eq!(
        eval(&s, SYS_landlock_create_ruleset, &[0x7fff_0000, 16, 0]),
        KILL
    );
    assert_eq!(eval(&s, SYS_landlock_restrict_self, &[3, 0]), KILL);
    assert_eq!(eval(&s, SYS_seccomp, &[1, 4, 0x7fff_0000]), KILL);
    assert_eq!(eval(&s, SYS_seccomp, &[1, 5, 0x7fff_0000]), KILL);
    // unveil grants the rest of Landlock.
    let u_ = spec("stdio unveil");
    for nr in [
        SYS_landlock_create_ruleset,
        SYS_landlock_add_rule,
        SYS_landlock_restrict_self,
    ] {
        assert_eq!(eval(&u_, nr, &[3, 1, 0]), Action::Allow, "{nr}");
    }
}

// ---------------------------------------------------------------------------
// What no vow grants
// ---------------------------------------------------------------------------

fn union_verdict(nr: i64, a: &[u64]) -> Action {
    let all = Vows::all() - Vows::ERROR;
    eval(&filter_spec(all, &opts()).unwrap(), nr, a)
}

#[test]
fn escape_hatches_denied_under_the_union_of_all_vows() {
    let never: &[(&str, i64)] = &[
        ("io_uring_setup", SYS_io_uring_setup),
        ("io_uring_enter", SYS_io_uring_enter),
        ("io_uring_register", SYS_io_uring_register),
        ("ptrace", SYS_ptrace),
        ("unshare", SYS_unshare),
        ("setns", SYS_setns),
        ("bpf", SYS_bpf),
        ("mount", SYS_mount),
        ("umount2", SYS_umount2),
        ("fsopen", SYS_fsopen),
        ("fsmount", SYS_fsmount),
        ("fsconfig", SYS_fsconfig),
        ("move_mount", SYS_move_mount),
        ("open_tree", SYS_open_tree),
        ("mount_setattr", SYS_mount_setattr),
        ("pivot_root", SYS_pivot_root),
        ("chroot", SYS_chroot),
        ("perf_event_open", SYS_perf_event_open),
        ("userfaultfd", SYS_userfaultfd),
        ("memfd_secret", SYS_memfd_secret),
        ("pidfd_open", SYS_pidfd_open),
        ("pidfd_getfd", SYS_pidfd_getfd),
        ("pidfd_send_signal", SYS_pidfd_send_signal),
        ("process_vm_readv", SYS_process_vm_readv),
        ("process_vm_writev", SYS_process_vm_writev),
        ("process_madvise", SYS_process_madvise),
        ("kcmp", SYS_kcmp),
        ("reboot", SYS_reboot),
        ("kexec_load", SYS_kexec_load),
        ("kexec_file_load", SYS_kexec_file_load),
        ("init_module", SYS_init_module),
        ("finit_module", SYS_finit_module),
        ("delete_module", SYS_delete_module),
        ("keyctl", SYS_keyctl),
        ("add_key", SYS_add_key),
        ("request_key", SYS_request_key),
        ("quotactl", SYS_quotactl),
        ("acct", SYS_acct),
        ("swapon", SYS_swapon),
        ("swapoff", SYS_swapoff),
        ("vhangup", SYS_vhangup),
        ("syslog", SYS_syslog),
        ("name_to_handle_at", SYS_name_to_handle_at),
        ("open_by_handle_at", SYS_open_by_handle_at),
        ("io_setup", SYS_io_setup),
        #[cfg(target_arch = "x86_64")]
        ("iopl", SYS_iopl),
        #[cfg(target_arch = "x86_64")]
        ("ioperm", SYS_ioperm),
        #[cfg(target_arch = "x86_64")]
        ("modify_ldt", SYS_modify_ldt),
        #[cfg(target_arch = "x86_64")]
        ("lookup_dcookie", SYS_lookup_dcookie),
        #[cfg(target_arch = "x86_64")]
        ("uselib", SYS_uselib),
    ];
    let names = allowed_syscall_names(Vows::all());
    for (name, nr) in never {
        for a in [[0u64; 6], [u64::MAX; 6]] {
            assert_eq!(union_verdict(*nr, &a), KILL, "{name}");
        }
        assert!(!names.contains(name), "{name} is listed as allowed");
        assert_eq!(syscall_name(*nr as u32), None, "{name} is in the table");
    }
}

#[test]
fn argument_checks_hold_under_the_union_of_all_vows() {
    assert_eq!(union_verdict(SYS_ioctl, &[0, TIOCSTI as u64]), KILL);
    assert_eq!(
        union_verdict(SYS_clone, &[u(CLONE_NEWUSER | SIGCHLD)]),
        KILL
    );
    assert_eq!(union_verdict(SYS_clone3, &[0, 88]), ENOSYS);
    assert_eq!(union_verdict(SYS_openat2, &[0, 0, 0, 24]), ENOSYS);
    assert_eq!(
        union_verdict(SYS_socket, &[u(AF_INET), u(SOCK_RAW), 0]),
        KILL
    );
    assert_eq!(
        union_verdict(SYS_socket, &[u(AF_PACKET), u(SOCK_RAW), 0]),
        KILL
    );
    assert_eq!(
        union_verdict(SYS_setsockopt, &[3, u(SOL_SOCKET), u(SO_DEBUG)]),
        KILL
    );
    assert_eq!(
        union_verdict(SYS_setsockopt, &[3, u(SOL_SOCKET), u(SO_BINDTODEVICE)]),
        KILL
    );
    assert_eq!(union_verdict(SYS_seccomp, &[1, 4, 0]), KILL);
    assert_eq!(union_verdict(SYS_openat, &[0, 0, u(O_ACCMODE)]), KILL);
    // With everything, open is free except the invalid access mode.
    assert_eq!(
        union_verdict(SYS_openat, &[0, 0, u(O_RDWR | O_CREAT | O_TRUNC)]),
        Action::Allow
    );
    // And the AF_NETLINK soft refusal of dns survives `inet unix`.
    assert_eq!(
        union_verdict(SYS_socket, &[u(AF_NETLINK), u(SOCK_RAW), 0]),
        Action::Errno(libc::EAFNOSUPPORT as u16)
    );
}

// ---------------------------------------------------------------------------
// The table itself
// ---------------------------------------------------------------------------

#[test]
fn table_is_well_formed() {
    let mut by_nr = std::collections::BTreeMap::new();
    for g in table::TABLE {
        assert!(!g.syscalls.is_empty(), "{}", g.note);
        assert!(!g.note.is_empty());
        for sc in g.syscalls {
            assert!(sc.nr < X32_SYSCALL_BIT, "{}", sc.name);
            assert!(!sc.name.starts_with("SYS_"), "{}", sc.name);
            if let Some(prev) = by_nr.insert(sc.nr, sc.name) {
                assert_eq!(prev, sc.name, "two names for {}", sc.nr);
            }
        }
    }
    assert_eq!(syscall_name(SYS_openat as u32), Some("openat"));
    // A unified number `libc` lacks on x86_64.
    assert_eq!(syscall_name(449), Some("futex_waitv"));
}

#[test]
fn allowed_syscall_names_follow_the_vows() {
    let stdio = allowed_syscall_names(Vows::STDIO);
    for name in [
        "write",
        "read",
        "mmap",
        "newfstatat",
        "futex",
        "exit_group",
        "ioctl",
    ] {
        assert!(stdio.contains(&name), "{name}");
    }
    for name in [
        "openat", "socket", "execve", "clone", "clone3", "openat2", "seccomp",
    ] {
        assert!(!stdio.contains(&name), "{name}");
    }
    let mut sorted = stdio.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, stdio);
    assert!(allowed_syscall_names(Vows::RPATH).contains(&"openat"));
    assert!(!allowed_syscall_names(Vows::CPATH).contains(&"openat"));
    assert!(allowed_syscall_names(Vows::ERROR).is_empty());
    assert!(allowed_syscall_names(Vows::empty()).is_empty());
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn any_vows() -> impl Strategy<Value = Vows> {
    any::<u64>().prop_map(Vows::from_bits_truncate)
}

/// Probe calls: every call of the table with interesting arguments.
fn probe_calls() -> Vec<(u32, [u64; 6])> {
    let mut nrs: Vec<u32> = table::TABLE
        .iter()
        .flat_map(|g| g.syscalls.iter().map(|s| s.nr))
        .collect();
    nrs.extend([SYS_ptrace as u32, SYS_io_uring_setup as u32]);
    nrs.sort_unstable();
    nrs.dedup();
    let arg_sets: Vec<[u64; 6]> = vec![
        [0; 6],
        [u64::MAX; 6],
        args(&[u(AT_FDCWD), 0, u(O_RDWR | O_CREAT), 0]),
        args(&[u64::from(PID), 1, u(PROT_READ | PROT_EXEC), 0, 0]),
        args(&[u(AF_INET), u(SOCK_STREAM), 0]),
        args(&[3, TIOCSTI as u64]),
        args(&[u(CLONE_THREAD_FLAGS)]),
        args(&[u(CLONE_NEWUSER | SIGCHLD)]),
        args(&[3, u(SOL_SOCKET), u(SO_REUSEADDR)]),
    ];
    nrs.iter()
        .flat_map(|&nr| arg_sets.iter().map(move |a| (nr, *a)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn display_parse_round_trip(v in any_vows()) {
        prop_assume!(!v.is_empty());
        prop_assert_eq!(v.to_string().parse::<Vows>().unwrap(), v);
    }

    /// Adding vows never takes an allowed call away.
    #[test]
    fn vows_are_monotone(a in any_vows(), b in any_vows()) {
        let sa = filter_spec(a, &opts()).unwrap();
        let sab = filter_spec(a | b, &opts()).unwrap();
        let arch = Arch::native().audit_arch();
        for (nr, argv) in probe_calls() {
            if sa.evaluate(arch, nr, &argv) == Action::Allow {
                prop_assert_eq!(sab.evaluate(arch, nr, &argv), Action::Allow, "nr {} args {:?}", nr, argv);
            }
        }
    }

    /// Random arguments never reach an escape hatch, and a call's verdict
    /// is one of: allowed, the default, or a soft errno.
    #[test]
    fn verdicts_are_allow_default_or_soft(v in any_vows(), argv in any::<[u64; 6]>()) {
        let s = filter_spec(v, &opts()).unwrap();
        let arch = Arch::native().audit_arch();
        prop_assert_eq!(s.evaluate(arch, SYS_ptrace as u32, &argv), s.default_action);
        prop_assert_eq!(s.evaluate(arch, SYS_bpf as u32, &argv), s.default_action);
        for nr in [SYS_openat, SYS_ioctl, SYS_clone, SYS_socket, SYS_setsockopt, SYS_prctl] {
            let a = s.evaluate(arch, nr as u32, &argv);
            prop_assert!(
                a == Action::Allow
                    || a == s.default_action
                    || a == Action::Errno(libc::EAFNOSUPPORT as u16),
                "{:?}", a
            );
        }
    }
}

/// What each vow grants on its own, by name: a change to the table shows
/// here as a reviewed diff. (x86_64 names; aarch64 lacks the legacy calls.)
#[cfg(target_arch = "x86_64")]
const LISTING: &str = "\
stdio:
    alarm arch_prctl brk capget clock_getres clock_gettime clock_nanosleep close
    close_range copy_file_range dup dup2 dup3 epoll_create epoll_create1
    epoll_ctl epoll_pwait epoll_pwait2 epoll_wait eventfd eventfd2 exit
    exit_group fadvise64 fcntl fdatasync fstat fsync ftruncate futex futex_waitv
    getcpu getcwd getegid geteuid getgid getgroups getitimer getpgid getpgrp
    getpid getppid getrandom getresgid getresuid getrlimit getrusage getsid
    gettid gettimeofday getuid ioctl kill lseek madvise memfd_create mincore
    mlock mlock2 mlockall mmap mprotect mremap mseal msync munlock munlockall
    munmap nanosleep newfstatat pause personality pipe pipe2 pkey_alloc
    pkey_free pkey_mprotect poll ppoll prctl pread64 preadv preadv2 prlimit64
    pselect6 pwrite64 pwritev pwritev2 read readahead readv recvfrom recvmmsg
    recvmsg restart_syscall rseq rt_sigaction rt_sigpending rt_sigprocmask
    rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo
    sched_getaffinity sched_yield select sendfile sendmmsg sendmsg sendto
    set_robust_list set_tid_address setitimer shmdt shutdown sigaltstack
    signalfd signalfd4 socketpair splice statx sync_file_range sysinfo tee
    tgkill time timer_create timer_delete timer_getoverrun timer_gettime
    timer_settime timerfd_create timerfd_gettime timerfd_settime times tkill
    umask uname wait4 waitid write writev
rpath:
    access chdir faccessat faccessat2 fchdir fgetxattr flistxattr fstatfs
    getdents getdents64 getxattr getxattrat lgetxattr listxattr listxattrat
    llistxattr lstat newfstatat open openat readlink readlinkat stat statfs
    statx
wpath:
    fallocate open openat truncate
cpath:
    link linkat mkdir mkdirat rename renameat renameat2 rmdir symlink symlinkat
    unlink unlinkat
dpath:
    mknod mknodat
tmppath:
    lstat newfstatat open openat stat statx unlink unlinkat
flock:
    fcntl flock
fattr:
    chmod fchmod fchmodat fchmodat2 fremovexattr fsetxattr futimesat
    lremovexattr lsetxattr removexattr removexattrat setxattr setxattrat utime
    utimensat utimes
chown:
    chown fchown fchownat lchown
fsnotify:
    fanotify_init fanotify_mark fcntl inotify_add_watch inotify_init
    inotify_init1 inotify_rm_watch
inet:
    accept accept4 bind connect getpeername getsockname getsockopt listen sendto
    setsockopt socket
unix:
    accept accept4 bind connect getpeername getsockname getsockopt listen sendto
    setsockopt socket socketpair
dns:
    connect getpeername getsockname getsockopt sendto setsockopt socket
mcast:
    setsockopt
sendfd:
    sendmmsg sendmsg
recvfd:
    recvmmsg recvmsg
tty:
    ioctl
ioctl:
    ioctl
proc:
    getpriority ioprio_get ioprio_set kill prlimit64 rt_sigqueueinfo
    rt_tgsigqueueinfo setpgid setpriority setrlimit setsid tgkill tkill
exec:
    arch_prctl execve execveat
prot_exec:
    mmap mprotect pkey_mprotect
clone:
    clone fork vfork
thread:
    clone futex futex_waitv get_robust_list gettid map_shadow_stack membarrier
    rseq sched_getaffinity set_robust_list set_tid_address
id:
    capset setfsgid setfsuid setgid setgroups setregid setresgid setresuid
    setreuid setuid
sched:
    sched_get_priority_max sched_get_priority_min sched_getaffinity
    sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval
    sched_setaffinity sched_setattr sched_setparam sched_setscheduler
shm:
    mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink
    msgctl msgget msgrcv msgsnd semctl semget semop semtimedop shmat shmctl
    shmdt shmget
prctl:
    arch_prctl prctl
seccomp_install:
    landlock_create_ruleset prctl seccomp
settime:
    adjtimex clock_adjtime clock_settime settimeofday
vminfo:
    getcpu sched_getaffinity sysinfo
unveil:
    landlock_add_rule landlock_create_ruleset landlock_restrict_self
error:
";

/// `name:` then the names, wrapped at 80 columns with a 4-space indent.
#[cfg(target_arch = "x86_64")]
fn listing() -> String {
    let mut out = String::new();
    for (name, flag) in Vows::names() {
        out.push_str(name);
        out.push_str(":\n");
        let mut line = String::new();
        for call in allowed_syscall_names(flag) {
            if !line.is_empty() && line.len() + 1 + call.len() > 76 {
                out.push_str(&format!("    {line}\n"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(call);
        }
        if !line.is_empty() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[test]
fn each_vow_grants_exactly_the_listed_calls() {
    let got = listing();
    for (want, got) in LISTING.lines().zip(got.lines()) {
        assert_eq!(got, want);
    }
    assert_eq!(got, LISTING);
}

// ---------------------------------------------------------------------------
// Compiled vow sets against the linear reference encoding

use exile::seccomp::bpf::{self, SeccompData, SockFilter};
use exile::seccomp::compiler::{compile, compile_linear};

/// The return value of `prog` for one call, in the interpreter.
fn ret_of(prog: &[SockFilter], arch: u32, nr: u32, argv: [u64; 6]) -> u32 {
    bpf::run(prog, &SeccompData::new(arch, nr, argv))
        .expect("valid program")
        .ret
}

/// The highest system call number worth asking about (past the table).
const MAX_NR: u32 = 520;

/// Every (arch, nr, args) query: our program, the linear chain (one compare
/// per table entry, exile.h's shape) and the rule model agree.
fn assert_programs_agree(spec: &FilterSpec, queries: &[(u32, u32, [u64; 6])]) {
    let ours = compile(spec).expect("compile");
    let linear = compile_linear(spec).expect("compile_linear");
    for &(arch, nr, argv) in queries {
        let expected = spec.evaluate(arch, nr, &argv).to_ret();
        let o = ret_of(&ours, arch, nr, argv);
        let l = ret_of(&linear, arch, nr, argv);
        assert_eq!(
            (o, l),
            (expected, expected),
            "arch {arch:#x} nr {nr} args {argv:x?}: compiled {}, linear {}, model {}",
            bpf::ret_name(o),
            bpf::ret_name(l),
            bpf::ret_name(expected)
        );
    }
}

/// Each single vow, every vow together, and exile.h's full string: every
/// system call number 0..=MAX_NR (and its x32 and i386 twins) with the
/// interesting arguments of [`probe_calls`].
#[test]
fn every_vow_compiles_to_the_linear_reference_verdicts() {
    let native = Arch::native().audit_arch();
    let arg_sets: Vec<[u64; 6]> = {
        let mut sets: Vec<[u64; 6]> = probe_calls().into_iter().map(|(_, a)| a).collect();
        sets.sort_unstable();
        sets.dedup();
        sets
    };
    let mut queries = Vec::new();
    for nr in 0..=MAX_NR {
        for argv in &arg_sets {
            queries.push((native, nr, *argv));
        }
        queries.push((native, nr | X32_SYSCALL_BIT, [0; 6]));
        queries.push((AUDIT_ARCH_I386, nr, [0; 6]));
    }
    let mut sets: Vec<Vows> = Vows::all().iter().collect();
    sets.push(Vows::all());
    sets.push(EXILE_H_VOWS.parse().unwrap());
    for vows in sets {
        assert_programs_agree(&filter_spec(vows, &opts()).unwrap(), &queries);
    }
}

fn any_violation() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::KillProcess),
        Just(Action::KillThread),
        Just(Action::Trap),
        Just(Action::Log),
        (1u16..4096).prop_map(Action::Errno),
    ]
}

/// A query: mostly native calls near the table, some foreign or x32, with
/// random or interesting arguments.
fn any_query() -> impl Strategy<Value = (u32, u32, [u64; 6])> {
    let native = Arch::native().audit_arch();
    let interesting: Vec<[u64; 6]> = probe_calls().into_iter().map(|(_, a)| a).collect();
    let argv = prop_oneof![
        3 => proptest::sample::select(interesting),
        2 => any::<[u64; 6]>(),
        // One argument set to an interesting small value, the rest zero.
        2 => (0usize..6, prop_oneof![0u64..64, Just(u64::MAX), any::<u32>().prop_map(u64::from)])
            .prop_map(|(i, v)| { let mut a = [0u64; 6]; a[i] = v; a }),
    ];
    let arch = prop_oneof![8 => Just(native), 1 => Just(AUDIT_ARCH_I386), 1 => any::<u32>()];
    let nr = prop_oneof![8 => 0..=MAX_NR, 1 => (0..=MAX_NR).prop_map(|n| n | X32_SYSCALL_BIT), 1 => any::<u32>()];
    (arch, nr, argv)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random vow sets with random violation actions and errno overrides:
    /// the optimized program, the linear reference chain and the rule
    /// model give the same verdict on random queries.
    #[test]
    fn random_vow_sets_compile_to_the_linear_reference_verdicts(
        vows in any_vows(),
        violation in any_violation(),
        queries in proptest::collection::vec(any_query(), 96),
    ) {
        let options = VowOptions { violation, ..opts() };
        let spec = filter_spec(vows, &options).unwrap();
        assert_programs_agree(&spec, &queries);
    }
}
