//! Vow probes: for every vow an allowed and a denied system call, the
//! argument checks, the violation actions, and exile.h's defects 4–9, 15, 16
//! (`vow::<vow>::<case>`, `vow::defect_N`).

use exile::seccomp::rules::Action;
use exile::{Policy, Vows};
use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::probe::{apply, call, sys, Ctx, Expected, Observed, Probe};

fn with_vows(vows: &str, op: fn() -> Observed) -> Observed {
    let v: Vows = match vows.parse() {
        Ok(v) => v,
        Err(e) => return Observed::Value(format!("parse: {e}")),
    };
    // Probe children print nothing into the harness's output: stdout and
    // stderr go to /dev/null (println! must still work there).
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&null);
        // SAFETY: dup2 onto fds 1 and 2 of this probe child.
        unsafe {
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
        }
    }
    match apply(&Policy::new().vows(v)) {
        Ok(_) => op(),
        Err(o) => o,
    }
}

fn killed(_: &Ctx) -> Expected {
    Expected::signal(Signal::SIGSYS)
}

fn ok(_: &Ctx) -> Expected {
    Expected::Ok
}

/// An anonymous PROT_READ|PROT_EXEC mapping.
fn mmap_exec() -> Observed {
    call(
        libc::SYS_mmap,
        [
            0,
            4096,
            (libc::PROT_READ | libc::PROT_EXEC) as _,
            (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as _,
            -1,
            0,
        ],
    )
}

/// Open /dev/null (writable, exists in a VM too) with `flags`.
fn open_null(flags: libc::c_int) -> Observed {
    // SAFETY: a NUL-terminated literal path.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
    if fd >= 0 {
        // SAFETY: closing the fd just opened.
        unsafe { libc::close(fd) };
    }
    sys(fd as libc::c_long)
}

fn open_flags(flags: libc::c_int) -> Observed {
    // SAFETY: a NUL-terminated literal path.
    // A file that exists everywhere, also in a VM's initramfs.
    let fd = unsafe { libc::open(c"/proc/self/stat".as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
    sys(fd as libc::c_long)
}

/// (name, vows, operation, expectation)
type Case = (
    &'static str,
    &'static str,
    fn() -> Observed,
    fn(&Ctx) -> Expected,
);

fn cases() -> Vec<Case> {
    vec![
        (
            "stdio::getpid",
            "stdio",
            || call(libc::SYS_getpid, [0; 6]),
            ok,
        ),
        (
            "stdio::println",
            "stdio",
            || {
                println!("exile probe: stdout works under stdio");
                Observed::Ok
            },
            ok,
        ),
        (
            "stdio::open_denied",
            "stdio",
            || open_flags(libc::O_RDONLY),
            killed,
        ),
        ("stdio::mmap_exec_denied", "stdio", mmap_exec, killed),
        // Allowed by the filter; the kernel then says EBADF for fd -1.
        (
            "stdio::ioctl_fionread",
            "stdio",
            || call(libc::SYS_ioctl, [-1, libc::FIONREAD as _, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EBADF),
        ),
        (
            "stdio::ioctl_tiocsti_denied",
            "stdio",
            || call(libc::SYS_ioctl, [0, libc::TIOCSTI as _, 0, 0, 0, 0]),
            killed,
        ),
        (
            "stdio::kill_self",
            "stdio",
            || call(libc::SYS_kill, [std::process::id() as _, 0, 0, 0, 0, 0]),
            ok,
        ),
        (
            "stdio::kill_other_denied",
            "stdio",
            || call(libc::SYS_kill, [1, 0, 0, 0, 0, 0]),
            killed,
        ),
        (
            "stdio::fcntl_setlk_denied",
            "stdio",
            || call(libc::SYS_fcntl, [0, libc::F_SETLK as _, 0, 0, 0, 0]),
            killed,
        ),
        (
            "stdio::prctl_seccomp_denied",
            "stdio",
            || call(libc::SYS_prctl, [libc::PR_SET_SECCOMP as _, 0, 0, 0, 0, 0]),
            killed,
        ),
        (
            "rpath::open_read",
            "stdio rpath",
            || open_flags(libc::O_RDONLY),
            ok,
        ),
        (
            "rpath::open_write_denied",
            "stdio rpath",
            || open_flags(libc::O_WRONLY),
            killed,
        ),
        (
            "wpath::open_write",
            "stdio wpath",
            || {
                // SAFETY: a NUL-terminated literal path.
                sys(
                    unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) }
                        as _,
                )
            },
            ok,
        ),
        (
            "wpath::open_read_denied",
            "stdio wpath",
            || open_flags(libc::O_RDONLY),
            killed,
        ),
        // The open-flag checks, flag by flag (found missing by cargo
        // mutants: each of these turns one mutant of open_flag_rules).
        (
            "rpath::open_rdwr_denied",
            "stdio rpath",
            || open_null(libc::O_RDWR),
            killed,
        ),
        (
            "wpath::open_rdwr_with_rpath",
            "stdio rpath wpath",
            || open_null(libc::O_RDWR),
            ok,
        ),
        (
            "rpath::open_creat_denied",
            "stdio rpath",
            || open_null(libc::O_RDONLY | libc::O_CREAT),
            killed,
        ),
        (
            "cpath::open_creat_with_rpath",
            "stdio rpath cpath",
            || open_null(libc::O_RDONLY | libc::O_CREAT),
            ok,
        ),
        (
            "rpath::open_trunc_denied",
            "stdio rpath",
            || open_null(libc::O_RDONLY | libc::O_TRUNC),
            killed,
        ),
        (
            "wpath::open_trunc",
            "stdio wpath",
            || open_null(libc::O_WRONLY | libc::O_TRUNC),
            ok,
        ),
        (
            "thread::fork_denied",
            "stdio thread",
            || {
                // clone(SIGCHLD): a new process, not a thread.
                // SAFETY: raw clone without CLONE_VM: a child that got
                // through would be a copy of this process, which leaves at
                // once with _exit.
                let r = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) };
                if r == 0 {
                    // SAFETY: leave the forked copy at once.
                    unsafe { libc::_exit(0) }
                }
                if r > 0 {
                    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(r as i32), None);
                }
                sys(r)
            },
            killed,
        ),
        (
            "cpath::mkdir",
            "stdio cpath",
            || {
                call(
                    libc::SYS_mkdir,
                    [c"/nonexistent-exile/x".as_ptr() as _, 0o755, 0, 0, 0, 0],
                )
            },
            |_| Expected::errno(Errno::ENOENT),
        ),
        (
            "cpath::mkdir_denied",
            "stdio rpath",
            || {
                call(
                    libc::SYS_mkdir,
                    [c"/nonexistent-exile/x".as_ptr() as _, 0o755, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "dpath::mknod",
            "stdio dpath",
            || {
                call(
                    libc::SYS_mknod,
                    [c"/nonexistent-exile/x".as_ptr() as _, 0o644, 0, 0, 0, 0],
                )
            },
            |_| Expected::errno(Errno::ENOENT),
        ),
        (
            "dpath::mknod_denied",
            "stdio cpath",
            || {
                call(
                    libc::SYS_mknod,
                    [c"/nonexistent-exile/x".as_ptr() as _, 0o644, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "fattr::chmod",
            "stdio fattr",
            || {
                call(
                    libc::SYS_chmod,
                    [c"/nonexistent-exile".as_ptr() as _, 0o644, 0, 0, 0, 0],
                )
            },
            |_| Expected::errno(Errno::ENOENT),
        ),
        (
            "fattr::chmod_denied",
            "stdio",
            || {
                call(
                    libc::SYS_chmod,
                    [c"/nonexistent-exile".as_ptr() as _, 0o644, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "chown::chown",
            "stdio chown",
            || {
                call(
                    libc::SYS_chown,
                    [c"/nonexistent-exile".as_ptr() as _, 0, 0, 0, 0, 0],
                )
            },
            |_| Expected::errno(Errno::ENOENT),
        ),
        (
            "chown::chown_denied",
            "stdio",
            || {
                call(
                    libc::SYS_chown,
                    [c"/nonexistent-exile".as_ptr() as _, 0, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "fsnotify::inotify_init",
            "stdio fsnotify",
            || call(libc::SYS_inotify_init1, [0; 6]),
            ok,
        ),
        (
            "fsnotify::inotify_denied",
            "stdio",
            || call(libc::SYS_inotify_init1, [0; 6]),
            killed,
        ),
        (
            "inet::socket_tcp",
            "stdio inet",
            || {
                call(
                    libc::SYS_socket,
                    [libc::AF_INET as _, libc::SOCK_STREAM as _, 0, 0, 0, 0],
                )
            },
            ok,
        ),
        (
            "inet::socket_unix_denied",
            "stdio inet",
            || {
                call(
                    libc::SYS_socket,
                    [libc::AF_UNIX as _, libc::SOCK_STREAM as _, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "inet::socket_raw_denied",
            "stdio inet",
            || {
                call(
                    libc::SYS_socket,
                    [libc::AF_INET as _, libc::SOCK_RAW as _, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "unix::socket",
            "stdio unix",
            || {
                call(
                    libc::SYS_socket,
                    [libc::AF_UNIX as _, libc::SOCK_STREAM as _, 0, 0, 0, 0],
                )
            },
            ok,
        ),
        (
            "unix::socket_inet_denied",
            "stdio unix",
            || {
                call(
                    libc::SYS_socket,
                    [libc::AF_INET as _, libc::SOCK_STREAM as _, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "exec::execve",
            "stdio exec",
            || call(libc::SYS_execve, [0, 0, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EFAULT),
        ),
        (
            "exec::execve_denied",
            "stdio",
            || call(libc::SYS_execve, [0, 0, 0, 0, 0, 0]),
            killed,
        ),
        ("prot_exec::mmap_exec", "stdio prot_exec", mmap_exec, ok),
        (
            "clone::fork",
            "stdio clone",
            || {
                let r = call(libc::SYS_fork, [0; 6]);
                if matches!(r, Observed::Ok) {
                    // SAFETY: in the parent this reaps; the child (getpid fails the check) exits.
                    unsafe {
                        let mut st = 0;
                        if libc::wait(&mut st) < 0 {
                            libc::_exit(0);
                        }
                    }
                }
                r
            },
            ok,
        ),
        (
            "clone::fork_denied",
            "stdio",
            || call(libc::SYS_fork, [0; 6]),
            killed,
        ),
        (
            "thread::spawn",
            "stdio thread",
            || match std::thread::spawn(|| 7).join() {
                Ok(7) => Observed::Ok,
                _ => Observed::Value("join failed".into()),
            },
            ok,
        ),
        (
            "thread::clone3_enosys",
            "stdio thread",
            || call(libc::SYS_clone3, [0, 0, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::ENOSYS),
        ),
        (
            "proc::setpgid",
            "stdio proc",
            || call(libc::SYS_setpgid, [0, 0, 0, 0, 0, 0]),
            ok,
        ),
        (
            "proc::setpgid_denied",
            "stdio",
            || call(libc::SYS_setpgid, [0, 0, 0, 0, 0, 0]),
            killed,
        ),
        (
            "id::setuid",
            "stdio id",
            || {
                call(
                    libc::SYS_setuid,
                    [nix::unistd::getuid().as_raw() as _, 0, 0, 0, 0, 0],
                )
            },
            ok,
        ),
        (
            "id::setuid_denied",
            "stdio",
            || call(libc::SYS_setuid, [0, 0, 0, 0, 0, 0]),
            killed,
        ),
        (
            "sched::getscheduler",
            "stdio sched",
            || call(libc::SYS_sched_getscheduler, [0; 6]),
            ok,
        ),
        (
            "sched::getscheduler_denied",
            "stdio",
            || call(libc::SYS_sched_getscheduler, [0; 6]),
            killed,
        ),
        (
            "shm::shmget",
            "stdio shm",
            || {
                call(
                    libc::SYS_shmget,
                    [libc::IPC_PRIVATE as _, 4096, 0o600, 0, 0, 0],
                )
            },
            ok,
        ),
        (
            "shm::shmget_denied",
            "stdio",
            || {
                call(
                    libc::SYS_shmget,
                    [libc::IPC_PRIVATE as _, 4096, 0o600, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "prctl::set_dumpable",
            "stdio prctl",
            || call(libc::SYS_prctl, [libc::PR_SET_DUMPABLE as _, 0, 0, 0, 0, 0]),
            ok,
        ),
        (
            "ioctl::tiocsti_denied",
            "stdio ioctl",
            || call(libc::SYS_ioctl, [0, libc::TIOCSTI as _, 0, 0, 0, 0]),
            killed,
        ),
        (
            "settime::settimeofday_denied",
            "stdio",
            || call(libc::SYS_settimeofday, [0; 6]),
            killed,
        ),
        (
            "error::eacces",
            "stdio error",
            || open_flags(libc::O_RDONLY),
            |_| Expected::errno(Errno::EACCES),
        ),
        (
            "escape::io_uring_setup",
            "stdio rpath wpath cpath inet unix thread proc exec prot_exec ioctl prctl",
            || call(libc::SYS_io_uring_setup, [1, 0, 0, 0, 0, 0]),
            killed,
        ),
        (
            "escape::unshare",
            "stdio rpath wpath cpath inet unix thread proc exec prot_exec ioctl prctl",
            || call(libc::SYS_unshare, [libc::CLONE_NEWUSER as _, 0, 0, 0, 0, 0]),
            killed,
        ),
        (
            "escape::ptrace",
            "stdio rpath wpath cpath inet unix thread proc exec prot_exec ioctl prctl",
            || call(libc::SYS_ptrace, [0; 6]),
            killed,
        ),
        (
            "escape::x32_getpid",
            "stdio",
            || call(libc::SYS_getpid | 0x4000_0000, [0; 6]),
            killed,
        ),
        (
            "tmppath::unlink",
            "stdio tmppath",
            || {
                call(
                    libc::SYS_unlink,
                    [c"/nonexistent-exile".as_ptr() as _, 0, 0, 0, 0, 0],
                )
            },
            |_| Expected::errno(Errno::ENOENT),
        ),
        (
            "tmppath::unlink_denied",
            "stdio",
            || {
                call(
                    libc::SYS_unlink,
                    [c"/nonexistent-exile".as_ptr() as _, 0, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "tty::tiocgwinsz",
            "stdio tty",
            || call(libc::SYS_ioctl, [-1, libc::TIOCGWINSZ as _, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EBADF),
        ),
        (
            "tty::tiocgwinsz_denied",
            "stdio",
            || call(libc::SYS_ioctl, [-1, libc::TIOCGWINSZ as _, 0, 0, 0, 0]),
            killed,
        ),
        (
            "dns::udp_socket",
            "stdio dns",
            || {
                call(
                    libc::SYS_socket,
                    [libc::AF_INET as _, libc::SOCK_DGRAM as _, 0, 0, 0, 0],
                )
            },
            ok,
        ),
        (
            "dns::bind_denied",
            "stdio dns",
            || call(libc::SYS_bind, [-1, 0, 0, 0, 0, 0]),
            killed,
        ),
        (
            "flock::fcntl_setlk",
            "stdio flock",
            || call(libc::SYS_fcntl, [-1, libc::F_SETLK as _, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EBADF),
        ),
        (
            "flock::flock",
            "stdio flock",
            || call(libc::SYS_flock, [-1, libc::LOCK_SH as _, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EBADF),
        ),
        (
            "flock::flock_denied",
            "stdio",
            || call(libc::SYS_flock, [-1, libc::LOCK_SH as _, 0, 0, 0, 0]),
            killed,
        ),
        (
            "sendfd::sendmsg",
            "stdio sendfd",
            || call(libc::SYS_sendmsg, [-1, 0, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EBADF),
        ),
        (
            "recvfd::recvmsg",
            "stdio recvfd",
            || call(libc::SYS_recvmsg, [-1, 0, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EBADF),
        ),
        (
            "sendfd::socket_denied",
            "stdio sendfd recvfd",
            || {
                call(
                    libc::SYS_socket,
                    [libc::AF_UNIX as _, libc::SOCK_STREAM as _, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "vminfo::getcpu",
            "stdio vminfo",
            || call(libc::SYS_getcpu, [0; 6]),
            ok,
        ),
        // vminfo's calls are all in stdio too (see the vow's docs): no denied case.
        (
            "vminfo::sysinfo",
            "stdio vminfo",
            || {
                let mut info = std::mem::MaybeUninit::<libc::sysinfo>::uninit();
                call(libc::SYS_sysinfo, [info.as_mut_ptr() as _, 0, 0, 0, 0, 0])
            },
            ok,
        ),
        (
            "unveil::landlock_abi",
            "stdio unveil",
            || call(libc::SYS_landlock_create_ruleset, [0, 0, 1, 0, 0, 0]),
            |ctx| {
                if ctx.features.landlock.abi > 0 {
                    Expected::Ok
                } else {
                    Expected::Skip("no Landlock".into())
                }
            },
        ),
        (
            "unveil::restrict_self_denied",
            "stdio",
            || call(libc::SYS_landlock_restrict_self, [-1, 0, 0, 0, 0, 0]),
            killed,
        ),
        (
            "mcast::ip_add_membership",
            "stdio inet mcast",
            || {
                // SAFETY: socket, then setsockopt with a NULL value (the kernel says EFAULT/EINVAL if it gets through).
                unsafe {
                    let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
                    sys(libc::setsockopt(
                        s,
                        libc::IPPROTO_IP,
                        libc::IP_ADD_MEMBERSHIP,
                        std::ptr::null(),
                        0,
                    ) as _)
                }
            },
            |_| Expected::errno(Errno::EINVAL),
        ),
        (
            "mcast::ip_add_membership_denied",
            "stdio inet",
            || {
                // SAFETY: as above.
                unsafe {
                    let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
                    sys(libc::setsockopt(
                        s,
                        libc::IPPROTO_IP,
                        libc::IP_ADD_MEMBERSHIP,
                        std::ptr::null(),
                        0,
                    ) as _)
                }
            },
            killed,
        ),
        (
            "seccomp_install::prctl_set_seccomp",
            "stdio seccomp_install",
            || call(libc::SYS_prctl, [libc::PR_SET_SECCOMP as _, 2, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EFAULT),
        ),
        (
            "settime::clock_settime",
            "stdio settime",
            || {
                call(
                    libc::SYS_clock_settime,
                    [libc::CLOCK_REALTIME as _, 0, 0, 0, 0, 0],
                )
            },
            |_| Expected::errno(Errno::EFAULT),
        ),
        (
            "prctl::set_seccomp_allowed",
            "stdio prctl",
            || call(libc::SYS_prctl, [libc::PR_SET_SECCOMP as _, 2, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EFAULT),
        ),
        ("escape::int80_i386_getpid", "stdio", int80_getpid, killed),
        // exile.h defects.
        (
            "defect_4_ioctl_vow_allows_tcgets",
            "stdio ioctl",
            || call(libc::SYS_ioctl, [-1, libc::TCGETS as _, 0, 0, 0, 0]),
            |_| Expected::errno(Errno::EBADF),
        ),
        (
            "defect_5_o_directory_under_rpath",
            "stdio rpath",
            || {
                // SAFETY: a NUL-terminated literal path.
                sys(unsafe {
                    libc::open(
                        c"/proc".as_ptr(),
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    )
                } as _)
            },
            ok,
        ),
        (
            "defect_6_tcp_nodelay_allowed",
            "stdio inet",
            || {
                // SAFETY: plain socket + setsockopt with a valid int pointer.
                unsafe {
                    let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
                    let one: libc::c_int = 1;
                    sys(libc::setsockopt(
                        s,
                        libc::IPPROTO_TCP,
                        libc::TCP_NODELAY,
                        (&one as *const libc::c_int).cast(),
                        4,
                    ) as _)
                }
            },
            ok,
        ),
        (
            "defect_6_so_debug_denied",
            "stdio inet",
            || {
                // SAFETY: plain socket + setsockopt with a valid int pointer.
                unsafe {
                    let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
                    let one: libc::c_int = 1;
                    sys(libc::setsockopt(
                        s,
                        libc::SOL_SOCKET,
                        libc::SO_DEBUG,
                        (&one as *const libc::c_int).cast(),
                        4,
                    ) as _)
                }
            },
            killed,
        ),
        (
            "defect_7_clone_newuser_denied",
            "stdio clone thread",
            || {
                call(
                    libc::SYS_clone,
                    [(libc::CLONE_NEWUSER | libc::SIGCHLD) as _, 0, 0, 0, 0, 0],
                )
            },
            killed,
        ),
        (
            "defect_9_stdio_println",
            "stdio",
            || {
                println!("exile: println under stdio alone");
                eprintln!("exile: eprintln under stdio alone");
                Observed::Ok
            },
            ok,
        ),
    ]
}

/// getpid through the i386 compat entry (`int 0x80`, nr 20): a foreign
/// architecture for the filter.
fn int80_getpid() -> Observed {
    #[cfg(target_arch = "x86_64")]
    {
        let mut ret: i64 = 20;
        // SAFETY: i386 getpid takes no arguments and touches no memory.
        unsafe { std::arch::asm!("int 0x80", inlateout("rax") ret, options(nostack)) };
        if ret < 0 {
            Observed::Errno(-ret as i32)
        } else {
            Observed::Ok
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Observed::Value("not x86_64".into())
    }
}

/// All vow probes.
pub fn probes(p: &mut Vec<Probe>) {
    for (name, vows, op, expect) in cases() {
        p.push(Probe::new(
            format!("vow::{name}"),
            move |_| with_vows(vows, op),
            expect,
        ));
    }
    // exile.h defect 8: a second vow() call narrows and does not die.
    p.push(Probe::new(
        "vow::defect_8_second_vow_narrows",
        |_| {
            if let Err(e) = exile::vow("stdio rpath seccomp_install") {
                return Observed::Value(format!("first: {e}"));
            }
            if let Err(e) = exile::vow("stdio") {
                return Observed::Value(format!("second: {e}"));
            }
            // rpath is gone now.
            open_flags(libc::O_RDONLY)
        },
        killed,
    ));
    // exile.h defect 15: a thread started before apply is filtered too (TSYNC).
    p.push(Probe::new(
        "vow::defect_15_tsync_filters_existing_thread",
        |_| {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let t = std::thread::spawn(move || {
                let _ = rx.recv();
                call(libc::SYS_setpgid, [0; 6])
            });
            if let Err(o) = apply(&Policy::new().vows("stdio thread".parse().expect("vows"))) {
                return o;
            }
            let _ = tx.send(());
            // Without KILL_PROCESS (before 4.14) the violation kills only
            // the thread, and std's join panics ("threads should not
            // terminate unexpectedly"). A silent hook: the default one may
            // walk a backtrace (RUST_BACKTRACE) with calls stdio forbids.
            std::panic::set_hook(Box::new(|_| {}));
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.join())) {
                Ok(Ok(o)) => o,
                Ok(Err(_)) => Observed::Value("thread panicked".into()),
                Err(_) => Observed::Value("the thread alone was killed".into()),
            }
        },
        |ctx| {
            if !ctx.features.tsync {
                Expected::Skip("no TSYNC on this kernel".into())
            } else if ctx.features.kill_process {
                Expected::signal(Signal::SIGSYS)
            } else {
                // KILL_THREAD: the filtered thread dies, the process lives.
                Expected::value("the thread alone was killed")
            }
        },
    ));
    // exile.h defect 16: an unknown vow is a typed error, not abort().
    p.push(Probe::new(
        "vow::defect_16_unknown_vow_is_an_error",
        |_| match "stdio frobnicate".parse::<Vows>() {
            Ok(_) => Observed::Ok,
            Err(e) => Observed::Value(
                if e.to_string().contains("frobnicate") {
                    "error names it"
                } else {
                    "error"
                }
                .into(),
            ),
        },
        |_| Expected::value("error names it"),
    ));
    // Violation actions.
    for (name, action, expect) in [
        (
            "errno",
            Action::Errno(Errno::EPERM as u16),
            Expected::errno(Errno::EPERM),
        ),
        ("log", Action::Log, Expected::Ok),
    ] {
        p.push(Probe::new(
            format!("vow::action::{name}"),
            move |_| match apply(
                &Policy::new()
                    .vows("stdio".parse().expect("vows"))
                    .violation(action),
            ) {
                Ok(_) => call(libc::SYS_setpgid, [0; 6]),
                Err(o) => o,
            },
            move |ctx| {
                if action == Action::Log && !ctx.features.ret_log {
                    // Log is permissive: without SECCOMP_RET_LOG (4.14) a
                    // Hard policy must refuse rather than kill or allow.
                    Expected::policy_error("unavailable:seccomp")
                } else {
                    expect.clone()
                }
            },
        ));
    }
    // Trap: apply installs exile's SIGSYS handler, which names the call on
    // stderr and then dies of SIGSYS.
    p.push(Probe::new(
        "vow::action::trap",
        |_| trap_report(None),
        |_| {
            Expected::value(format!(
                "signal SIGSYS, stderr: exile: seccomp denied system call setpgid ({})",
                libc::SYS_setpgid
            ))
        },
    ));
    // Prepared here, applied in a forked child: the child must not be able
    // to signal the preparing process (stdio's self-signal rule names the
    // preparer's pid; in another process it is left out).
    p.push(Probe::new(
        "vow::stdio::child_cannot_signal_preparer",
        |_| {
            let prepared = match Policy::new().vows("stdio".parse().expect("vows")).prepare() {
                Ok(p) => p,
                Err(e) => return Observed::Value(format!("prepare: {e}")),
            };
            // SAFETY: the probe child is single-threaded; the grandchild
            // applies (no allocation) and makes system calls only.
            match unsafe { nix::unistd::fork() } {
                Err(e) => Observed::Errno(e as i32),
                Ok(nix::unistd::ForkResult::Child) => {
                    let code = match prepared.apply() {
                        // SAFETY: kill with signal 0 only checks permission.
                        Ok(_) => match unsafe { libc::kill(libc::getppid(), 0) } {
                            0 => 0,
                            _ => 2,
                        },
                        Err(_) => 3,
                    };
                    // SAFETY: leave at once.
                    unsafe { libc::_exit(code) }
                }
                Ok(nix::unistd::ForkResult::Parent { child }) => {
                    match nix::sys::wait::waitpid(child, None) {
                        Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => {
                            Observed::Signal(sig as i32)
                        }
                        Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => {
                            Observed::Value("the preparer could be signalled".into())
                        }
                        other => Observed::Value(format!("{other:?}")),
                    }
                }
            }
        },
        killed,
    ));
    // A SIGSYS handler the program installed before apply is kept.
    p.push(Probe::new(
        "vow::action::trap_keeps_own_handler",
        |_| trap_report(Some(own_sigsys_handler)),
        |_| Expected::value("exit 77, stderr: own handler"),
    ));
}

extern "C" fn own_sigsys_handler(_: libc::c_int) {
    let msg = b"own handler\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(77);
    }
}

/// In a grandchild with stderr on a pipe: optionally install `handler` for
/// SIGSYS, apply `stdio` with the trap action and call setpgid (denied).
/// Returns how it ended and what it wrote to stderr.
fn trap_report(handler: Option<extern "C" fn(libc::c_int)>) -> Observed {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let (rd, wr) = match nix::unistd::pipe() {
        Ok(p) => p,
        Err(e) => return Observed::Errno(e as i32),
    };
    // SAFETY: the probe child is single-threaded; the grandchild makes
    // system calls only until it dies.
    match unsafe { nix::unistd::fork() } {
        Err(e) => Observed::Errno(e as i32),
        Ok(nix::unistd::ForkResult::Child) => {
            // SAFETY: dup2 of a pipe end onto stderr, then the handler (a
            // plain function pointer) with sigaction's signal() form.
            unsafe {
                libc::dup2(wr.as_raw_fd(), 2);
                if let Some(h) = handler {
                    libc::signal(libc::SIGSYS, h as libc::sighandler_t);
                }
            }
            let policy = Policy::new()
                .vows("stdio".parse().expect("vows"))
                .violation(Action::Trap);
            if policy.prepare().and_then(|p| p.apply()).is_ok() {
                call(libc::SYS_setpgid, [0; 6]);
            }
            // SAFETY: leave at once.
            unsafe { libc::_exit(3) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(wr);
            let mut text = String::new();
            let _ = std::fs::File::from(rd).read_to_string(&mut text);
            let how = match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Signaled(_, sig, _)) => format!("signal {sig}"),
                Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => format!("exit {code}"),
                other => format!("{other:?}"),
            };
            Observed::Value(format!("{how}, stderr: {}", text.trim_end()))
        }
    }
}
