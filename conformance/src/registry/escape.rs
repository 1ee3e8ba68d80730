//! The escape corpus (`escape::…`): every known way around a seccomp or
//! Landlock sandbox, tried from inside one. Each case must *fail* in a
//! precise way; without the policy each would succeed or at least reach the
//! kernel (run with `EXILE_ESCAPE_CONTROL=1` in the environment to leave
//! the policy out: every case then fails its expectation — the control that
//! shows each case can fail).
//!
//! Two policies:
//!
//! - **S** = `Policy::new().vows("stdio rpath")` (some cases add vows, named
//!   in the table, so that the *only* thing missing is the escape itself;
//!   violations kill the process: `SIGSYS`, or `EACCES` under `error`);
//! - **P** = `Policy::new()`, vows `stdio rpath wpath cpath`, and path rules:
//!   a fixture dir `r/` read-only ([`Fs::READ`]), its sub-dir `r/w/`
//!   read-write (`READ | ALL_WRITE`; without `TRUNCATE` on Landlock ABI < 3)
//!   — and, for `proc_allowed::…`, `/proc` read-only. Next to `r/` lies
//!   `outside/secret`, reachable by no rule. `escape::fs::…` uses the backend exile picks (Landlock where
//!   the kernel has it, the mount-namespace fallback otherwise);
//!   `escape::fs::fallback::…` forces the fallback.
//!
//! Landlock denies with `EACCES`, or `EXDEV` when only the missing `REFER`
//! right stops a rename or link. The fallback denies with `EROFS` (read-only
//! bind mount), `ENOENT` (not in the new root) or `EXDEV` (another mount).
//!
//! | case | attempts | expected |
//! |---|---|---|
//! | `x32::openat` | S; `openat` through the x32 ABI (`nr \| 0x4000_0000`), allowed natively | `SIGSYS` |
//! | `x32::under_error_vow` | S + `error`; x32 `getpid`: a foreign ABI is killed even where violations only fail | `SIGSYS` |
//! | `int80::unshare` | S; i386 `unshare(CLONE_NEWUSER)` through `int 0x80` | `SIGSYS` |
//! | `openat2` | S; `openat2` of an allowed file (flags in memory, unfilterable) | `ENOSYS` (libc falls back to `openat`) |
//! | `clone3::no_clone_vow` | S; `clone3(CLONE_NEWUSER)` | `SIGSYS` |
//! | `clone3::newuser` | S + `clone thread`; `clone3(CLONE_NEWUSER)` | `ENOSYS` |
//! | `clone::newnet` | S + `clone`; `clone(CLONE_NEWNET)` | `SIGSYS` |
//! | `unshare::mount` | S; `unshare(CLONE_NEWNS)` | `SIGSYS` |
//! | `setns` | S; `setns` into a namespace fd opened before the policy | `SIGSYS` |
//! | `io_uring::enter`, `io_uring::register` | S + every vow but `error`; io_uring does I/O no filter sees | `SIGSYS` |
//! | `io_uring::under_error_vow` | S + `error`; `io_uring_setup` | `EACCES` |
//! | `ptrace::seize_parent` | S; `PTRACE_SEIZE` of the parent | `SIGSYS` |
//! | `ptrace::traceme` | S; `PTRACE_TRACEME` | `SIGSYS` |
//! | `process_vm_writev`, `process_vm_readv` | S; the parent's memory | `SIGSYS` |
//! | `pidfd_getfd` | S; steal an fd of a process outside | `SIGSYS` |
//! | `kcmp` | S; compare another process's fds | `SIGSYS` |
//! | `ioctl::tiocsti`, `ioctl::tioclinux` | S + `tty ioctl`; terminal input injection | `SIGSYS` |
//! | `ioctl::tiocsti_high_bits` | S + `tty ioctl`; `TIOCSTI` with bit 32 set (the kernel truncates `cmd` to 32 bits) | `SIGSYS` |
//! | `memfd::mfd_exec` | S; `memfd_create(MFD_EXEC)` | `SIGSYS` |
//! | `memfd::execveat` | S; a memfd holding a program, `execveat(AT_EMPTY_PATH)` | `SIGSYS` |
//! | `personality::read_implies_exec` | S; `personality(READ_IMPLIES_EXEC)` (every readable mapping executable) | `SIGSYS` |
//! | `userfaultfd` | S; `userfaultfd` (race widening for kernel exploits) | `SIGSYS` |
//! | `bpf` | S; `bpf(BPF_MAP_CREATE)` | `SIGSYS` |
//! | `bpf::under_error_vow` | S + `error`; `bpf` | `EACCES` |
//! | `perf_event_open` | S | `SIGSYS` |
//! | `keyctl`, `add_key`, `request_key` | S; the kernel keyrings (shared beyond the sandbox) | `SIGSYS` |
//! | `mount`, `umount2`, `pivot_root`, `chroot`, `fsopen`, `open_tree` | S; the mount table | `SIGSYS` |
//! | `open_by_handle_at` | S; open by file handle, bypassing paths ("shocker") | `SIGSYS` |
//! | `init_module` | S; load kernel code | `SIGSYS` |
//! | `socket::packet`, `socket::netlink` | S + `inet`; raw link-layer and netlink sockets | `SIGSYS` |
//! | `seccomp::second_filter_allows_all` | S + `seccomp_install`; install an allow-everything filter, then a denied `socket` | `SIGSYS` |
//! | `seccomp::second_filter_tsync` | the same with `TSYNC` | `SIGSYS` |
//! | `seccomp::second_filter_prctl` | the same through `prctl(PR_SET_SECCOMP)` | `SIGSYS` |
//! | `seccomp::user_notif` | S + `seccomp_install`; a filter that hands the denied call to a supervisor (`USER_NOTIF`) | `SIGSYS` (or the install fails with `EINVAL` before 5.0) |
//! | `seccomp::spec_allow` | S + `seccomp_install`; a filter with `SPEC_ALLOW` (disables speculation mitigations) | `SIGSYS` |
//! | `seccomp::without_vow` | S; `seccomp(SET_MODE_FILTER)` | `SIGSYS` |
//! | `thread::before_policy` | S; a thread started before the policy makes a denied call | `SIGSYS` (TSYNC; the thread alone dies under `KILL_THREAD`; no TSYNC: the policy must refuse) |
//! | `fs::write_readonly` | P; open `r/file` for writing | Landlock `EACCES`, fallback `EROFS` |
//! | `fs::truncate_readonly` | P; `truncate(r/file)` | Landlock `EACCES` (ABI < 3: `ok`, the documented gap the report lists), fallback `EROFS` |
//! | `fs::link_into_writable` | P; hard-link `r/file` into `r/w/`, gaining write access (refer) | `EXDEV` |
//! | `fs::rename_into_writable` | P; rename `r/file` into `r/w/` | Landlock `EACCES`, fallback `EXDEV` |
//! | `fs::rename_out`, `fs::link_out` | P; move or link `r/w/file` into `outside/` | Landlock `EACCES`, fallback `ENOENT` |
//! | `fs::symlink_out` | P; open `r/link` → `outside/secret` (made before the policy) | Landlock `EACCES`, fallback `ENOENT` |
//! | `fs::symlink_made_out` | P; create `r/w/link` → `outside/secret`, open it | Landlock `EACCES`, fallback `ENOENT` |
//! | `fs::dotdot` | P; open `r/w/../../outside/secret` | Landlock `EACCES`, fallback `ENOENT` |
//! | `fs::dotdot_from_cwd` | P; `chdir(r/w)`, open `../../outside/secret` | Landlock `EACCES`, fallback `ENOENT` |
//! | `fs::proc_self_root` | P; open `/proc/self/root/…/outside/secret` | Landlock `EACCES`, fallback `ENOENT` |
//! | `fs::proc_self_fd_reopen` | P; reopen a read-only fd of `r/file` for writing through `/proc/self/fd` | Landlock `EACCES`, fallback `ENOENT` (no `/proc` in the new root) |
//! | `fs::proc_pid_root` | P; `/proc/<outsider>/root/…/outside/secret` (an *outsider*: a dumpable process of the same uid forked before the policy) | Landlock `EACCES`, fallback `ENOENT` |
//! | `fs::proc_pid_fd` | P; `/proc/<outsider>/fd/N`, N open on `outside/secret` | Landlock `EACCES`, fallback `ENOENT` |
//! | `fs::proc_allowed::pid_root`, `fs::proc_allowed::pid_fd` | P + `/proc` read-only; the same two | `EACCES` (Landlock; on the fallback the ptrace check across user namespaces; as root without one, prepare refuses the rule: `path`) |
//! | `fs::inherited_dirfd` | P; `openat(fd of outside/ opened before the policy, "secret")` | Landlock `EACCES`; fallback: skipped (see below) |
//! | `fs::received_dirfd` | P; an outsider sends a dir fd of `outside/` over a unix socket (`SCM_RIGHTS`; `stdio` has `recvmsg`, a filter cannot see the fds), then `openat(fd, "secret")` | Landlock `EACCES`; fallback: skipped |
//! | `fs::thread_before_policy` | P; a thread started before the policy opens `r/file` for writing | Landlock ABI ≥ 8 `EACCES` (TSYNC); ABI < 8: the Hard policy must refuse at apply (`apply:filesystem:EINVAL`); fallback: the namespace cannot be entered by a multi-threaded process (`apply:user namespace:EINVAL`, as root `apply:mount namespace:EINVAL`) |
//!
//! What the cases prove: seccomp's arch guard (x32, i386), the
//! deliberately unfilterable calls (`openat2`, `clone3` → `ENOSYS`, so libc
//! falls back to calls whose arguments the filter sees), the calls in no
//! vow, argument checks that compare exactly the bits the kernel uses, that
//! stacked filters can only narrow (the kernel takes the most restrictive
//! verdict), that TSYNC reaches threads started earlier; and for path rules
//! that Landlock checks the *resolved* object of every open — however it is
//! named (symlink, `..`, `/proc` magic links, a directory fd from outside) —
//! and forbids reparenting a file into a hierarchy with more rights.
//!
//! A mount namespace cannot restrict descriptors opened outside it: a
//! directory fd from before the policy or from another process keeps
//! reaching the old tree. Those two cases are skipped on the fallback with
//! that reason (close inherited fds, or use Landlock).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use exile::{Features, Fs, Policy, Vows};
use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::fixture;
use crate::probe::{apply, call, sys, Ctx, Expected, Identity, Observed, Probe};

/// `EXILE_ESCAPE_CONTROL=1`: run every escape case without its policy.
static CONTROL: AtomicBool = AtomicBool::new(false);

const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
const SECCOMP_FILTER_FLAG_TSYNC: libc::c_long = 1;
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: libc::c_long = 4;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_long = 8;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const X32_SYSCALL_BIT: libc::c_long = 0x4000_0000;
const MFD_EXEC: libc::c_long = 0x10;
const READ_IMPLIES_EXEC: libc::c_long = 0x0040_0000;
const OPEN_TREE_CLONE: libc::c_long = 1;
const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
const KEY_SPEC_PROCESS_KEYRING: libc::c_long = -2;
const KCMP_FILE: libc::c_long = 0;
const TIOCLINUX: libc::c_long = 0x541C;

fn ptr<T>(p: *const T) -> libc::c_long {
    p as libc::c_long
}

fn errno_of<T>(r: Result<T, Errno>) -> Observed {
    match r {
        Ok(_) => Observed::Ok,
        Err(e) => Observed::Errno(e as i32),
    }
}

/// Put `policy` in force (unless this is a control run).
fn enforce(policy: &Policy) -> Result<(), Observed> {
    if CONTROL.load(Ordering::Relaxed) {
        return Ok(());
    }
    apply(policy).map(drop)
}

fn vows_policy(vows: &str) -> Result<Policy, Observed> {
    let v: Vows = vows
        .parse()
        .map_err(|e| Observed::Value(format!("parse {vows:?}: {e}")))?;
    Ok(Policy::new().vows(v))
}

/// Apply `Policy::new().vows(vows)`, then run `op`.
fn under(vows: &str, op: impl FnOnce() -> Observed) -> Observed {
    match vows_policy(vows).and_then(|p| enforce(&p)) {
        Ok(()) => op(),
        Err(o) => o,
    }
}

fn killed(_: &Ctx) -> Expected {
    Expected::signal(Signal::SIGSYS)
}

fn errno(e: Errno) -> Expected {
    Expected::errno(e)
}

/// Run `f` in a forked child of the probe child (same identity) and bring
/// back what it observed: a case whose target is "the parent" targets the
/// probe child, never the harness.
fn in_grandchild(f: impl FnOnce() -> Observed) -> Observed {
    match crate::probe::in_child(Identity::Invoker, Duration::from_secs(10), f) {
        Ok(o) | Err(o) => o,
    }
}

// ---------------------------------------------------------------------------
// An outsider: a process forked before the policy, so outside the sandbox.
// ---------------------------------------------------------------------------

/// A process of the same uid, forked before the policy (so not confined),
/// dumpable like any ordinary process. It runs `job` with its end of a unix
/// socket pair, then waits until the sandboxed side is gone.
struct Outsider {
    pid: libc::pid_t,
    sock: OwnedFd,
}

fn outsider(job: impl FnOnce(RawFd)) -> Result<Outsider, Observed> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } < 0
    {
        return Err(Observed::Value(format!("socketpair: {}", Errno::last())));
    }
    // SAFETY: both fds were just created and are owned here.
    let (mine, theirs) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the probe child is single-threaded; the outsider only makes
    // system calls (and runs `job`) before _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Observed::Value(format!("fork: {}", Errno::last())));
    }
    if pid == 0 {
        drop(mine);
        // SAFETY: closing the harness's result pipe (the outsider must not
        // hold it open), and prctls with integer arguments.
        unsafe {
            libc::close(crate::probe::report_fd());
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        }
        // Ready: the sandboxed side may look at this process now.
        write_i32(theirs.as_raw_fd(), 0);
        job(theirs.as_raw_fd());
        let mut b = [0u8; 1];
        // SAFETY: read into a local buffer; returns at EOF (the sandboxed
        // side exited) or on error.
        while unsafe { libc::read(theirs.as_raw_fd(), b.as_mut_ptr().cast(), 1) } > 0 {}
        // SAFETY: leave at once.
        unsafe { libc::_exit(0) }
    }
    drop(theirs);
    read_i32(mine.as_raw_fd())?;
    Ok(Outsider { pid, sock: mine })
}

fn read_i32(fd: RawFd) -> Result<i32, Observed> {
    let mut b = [0u8; 4];
    // SAFETY: read into a local buffer of 4 bytes.
    let n = unsafe { libc::read(fd, b.as_mut_ptr().cast(), 4) };
    if n == 4 {
        Ok(i32::from_ne_bytes(b))
    } else {
        Err(Observed::Value(format!("outsider: short read {n}")))
    }
}

fn write_i32(fd: RawFd, v: i32) {
    let b = v.to_ne_bytes();
    // SAFETY: write from a local buffer.
    unsafe { libc::write(fd, b.as_ptr().cast(), 4) };
}

fn c_path(p: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

fn open_raw(p: &Path, flags: libc::c_int) -> libc::c_int {
    let c = c_path(p);
    // SAFETY: a NUL-terminated path.
    unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o644) }
}

fn open(p: &Path, flags: libc::c_int) -> Observed {
    let fd = open_raw(p, flags);
    if fd >= 0 {
        // SAFETY: closing the fd just opened.
        unsafe { libc::close(fd) };
    }
    sys(fd as libc::c_long)
}

// ---------------------------------------------------------------------------
// seccomp cases
// ---------------------------------------------------------------------------

/// A one-instruction classic BPF program: `ret k`.
struct Prog {
    insns: [libc::sock_filter; 4],
    len: u16,
}

impl Prog {
    fn ret(k: u32) -> Prog {
        let ret = libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k,
        };
        Prog {
            insns: [ret; 4],
            len: 1,
        }
    }

    /// `nr == target ? k_match : ALLOW`.
    fn on_nr(target: libc::c_long, k_match: u32) -> Prog {
        let ld = libc::sock_filter {
            code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
            jt: 0,
            jf: 0,
            k: 0, // offsetof(struct seccomp_data, nr)
        };
        let jeq = libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: target as u32,
        };
        let ret = |k| libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k,
        };
        Prog {
            insns: [ld, jeq, ret(k_match), ret(SECCOMP_RET_ALLOW)],
            len: 4,
        }
    }

    fn fprog(&self) -> libc::sock_fprog {
        libc::sock_fprog {
            len: self.len,
            filter: self.insns.as_ptr().cast_mut(),
        }
    }
}

/// Install `prog` with `seccomp(SET_MODE_FILTER, flags)`; the result is
/// the syscall's return value (a listener fd with NEW_LISTENER).
fn install(prog: &Prog, flags: libc::c_long) -> Result<libc::c_long, Errno> {
    let fprog = prog.fprog();
    // SAFETY: PR_SET_NO_NEW_PRIVS with integers (a stdio prctl).
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    // SAFETY: `fprog` points at `prog`'s instructions, alive for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

fn socket_inet() -> Observed {
    call(
        libc::SYS_socket,
        [libc::AF_INET as _, libc::SOCK_STREAM as _, 0, 0, 0, 0],
    )
}

/// i386 `unshare(flags)` through `int 0x80` (i386 nr 310).
fn int80_unshare(flags: libc::c_long) -> Observed {
    #[cfg(target_arch = "x86_64")]
    {
        let mut ret: i64 = 310;
        // SAFETY: the i386 unshare takes one integer in ebx; rbx is saved
        // and restored around the call (LLVM reserves it); the compat entry
        // clobbers r8-r11.
        unsafe {
            std::arch::asm!(
                "xchg {b}, rbx",
                "int 0x80",
                "xchg {b}, rbx",
                b = inout(reg) flags as u64 => _,
                inlateout("rax") ret,
                out("r8") _, out("r9") _, out("r10") _, out("r11") _,
                options(nostack),
            )
        };
        if ret < 0 {
            Observed::Errno(-ret as i32)
        } else {
            Observed::Ok
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = flags;
        Observed::Value("not x86_64".into())
    }
}

/// `clone3(CLONE_NEWUSER)`; a child that starts exits at once.
fn clone3_newuser() -> Observed {
    // struct clone_args (v0, 64 bytes): flags, pidfd, child_tid,
    // parent_tid, exit_signal, stack, stack_size, tls.
    let args: [u64; 8] = [
        libc::CLONE_NEWUSER as u64,
        0,
        0,
        0,
        libc::SIGCHLD as u64,
        0,
        0,
        0,
    ];
    // SAFETY: `args` is a valid clone_args of the size passed; the child
    // (return 0) shares nothing and leaves at once with _exit.
    let r = unsafe { libc::syscall(libc::SYS_clone3, args.as_ptr(), 64usize) };
    reap_fork_result(r)
}

/// After a fork-like call: in the child, leave; in the parent, reap.
fn reap_fork_result(r: libc::c_long) -> Observed {
    if r == 0 {
        // SAFETY: the child of a fork-like call leaves at once.
        unsafe { libc::_exit(0) }
    }
    if r > 0 {
        let mut st = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(r as libc::pid_t, &mut st, libc::__WALL) };
    }
    sys(r)
}

/// A memfd holding an executable (this binary, or /bin/true).
fn memfd_program() -> Result<OwnedFd, Observed> {
    let source = if Path::new("/bin/true").exists() {
        PathBuf::from("/bin/true")
    } else {
        std::env::current_exe().map_err(|e| Observed::Value(format!("current_exe: {e}")))?
    };
    let bytes = std::fs::read(&source).map_err(|e| Observed::Value(format!("read: {e}")))?;
    // SAFETY: a NUL-terminated name, integer flags.
    let fd = unsafe { libc::memfd_create(c"true".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Observed::Value(format!("memfd_create: {}", Errno::last())));
    }
    // SAFETY: the fd was just created and is owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, &bytes)
        .map_err(|e| Observed::Value(format!("write memfd: {e}")))?;
    Ok(OwnedFd::from(file))
}

type Body = Box<dyn Fn(&Ctx) -> Observed + Send + Sync>;
type Expect = fn(&Ctx) -> Expected;

fn seccomp_cases() -> Vec<(&'static str, Body, Expect)> {
    const S: &str = "stdio rpath";
    const ALL_BUT_ERROR: &str = "stdio rpath wpath cpath dpath fattr chown flock fsnotify inet \
         unix dns mcast sendfd recvfd tty ioctl proc exec prot_exec clone thread id sched shm \
         prctl seccomp_install unveil settime vminfo tmppath";
    fn b(f: impl Fn(&Ctx) -> Observed + Send + Sync + 'static) -> Body {
        Box::new(f)
    }
    vec![
        (
            "x32::openat",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_openat | X32_SYSCALL_BIT,
                        [
                            libc::AT_FDCWD as _,
                            ptr(c"/proc/self/stat".as_ptr()),
                            (libc::O_RDONLY | libc::O_CLOEXEC) as _,
                            0,
                            0,
                            0,
                        ],
                    )
                })
            }),
            killed,
        ),
        (
            "x32::under_error_vow",
            b(|_| {
                under("stdio rpath error", || {
                    call(libc::SYS_getpid | X32_SYSCALL_BIT, [0; 6])
                })
            }),
            killed,
        ),
        (
            "int80::unshare",
            b(|_| under(S, || int80_unshare(libc::CLONE_NEWUSER as _))),
            killed,
        ),
        (
            "openat2",
            b(|_| {
                under(S, || {
                    // struct open_how { flags, mode, resolve }
                    let how: [u64; 3] = [(libc::O_RDONLY | libc::O_CLOEXEC) as u64, 0, 0];
                    call(
                        libc::SYS_openat2,
                        [
                            libc::AT_FDCWD as _,
                            ptr(c"/proc/self/stat".as_ptr()),
                            ptr(how.as_ptr()),
                            24,
                            0,
                            0,
                        ],
                    )
                })
            }),
            |_| errno(Errno::ENOSYS),
        ),
        (
            "clone3::no_clone_vow",
            b(|_| under(S, clone3_newuser)),
            killed,
        ),
        (
            "clone3::newuser",
            b(|_| under("stdio rpath clone thread", clone3_newuser)),
            |_| errno(Errno::ENOSYS),
        ),
        (
            "clone::newnet",
            b(|_| {
                under("stdio rpath clone", || {
                    // SAFETY: a fork-like clone (no CLONE_VM): the child
                    // leaves at once.
                    let r = unsafe {
                        libc::syscall(
                            libc::SYS_clone,
                            (libc::CLONE_NEWNET | libc::SIGCHLD) as libc::c_long,
                            0,
                            0,
                            0,
                            0,
                        )
                    };
                    reap_fork_result(r)
                })
            }),
            killed,
        ),
        (
            "unshare::mount",
            b(|_| {
                under(S, || {
                    call(libc::SYS_unshare, [libc::CLONE_NEWNS as _, 0, 0, 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "setns",
            b(|_| {
                let fd = open_raw(Path::new("/proc/self/ns/net"), libc::O_RDONLY);
                under(S, || {
                    call(
                        libc::SYS_setns,
                        [fd as _, libc::CLONE_NEWNET as _, 0, 0, 0, 0],
                    )
                })
            }),
            killed,
        ),
        (
            "io_uring::enter",
            b(|_| {
                under(ALL_BUT_ERROR, || {
                    call(libc::SYS_io_uring_enter, [-1, 1, 0, 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "io_uring::register",
            b(|_| {
                under(ALL_BUT_ERROR, || {
                    call(libc::SYS_io_uring_register, [-1, 0, 0, 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "io_uring::under_error_vow",
            b(|_| {
                under("stdio rpath error", || {
                    let mut params = [0u8; 120];
                    call(
                        libc::SYS_io_uring_setup,
                        [1, ptr(params.as_mut_ptr()), 0, 0, 0, 0],
                    )
                })
            }),
            |_| errno(Errno::EACCES),
        ),
        (
            "ptrace::seize_parent",
            b(|_| {
                in_grandchild(|| {
                    under(S, || {
                        // SAFETY: getppid has no arguments.
                        let parent = unsafe { libc::getppid() };
                        call(
                            libc::SYS_ptrace,
                            [libc::PTRACE_SEIZE as _, parent as _, 0, 0, 0, 0],
                        )
                    })
                })
            }),
            killed,
        ),
        (
            "ptrace::traceme",
            b(|_| {
                in_grandchild(|| {
                    under(S, || {
                        call(libc::SYS_ptrace, [libc::PTRACE_TRACEME as _, 0, 0, 0, 0, 0])
                    })
                })
            }),
            killed,
        ),
        (
            "process_vm_writev",
            b(|_| {
                in_grandchild(|| {
                    under(S, || {
                        // SAFETY: getppid has no arguments.
                        let parent = unsafe { libc::getppid() };
                        // Zero iovecs: nothing is written even without the policy.
                        call(libc::SYS_process_vm_writev, [parent as _, 0, 0, 0, 0, 0])
                    })
                })
            }),
            killed,
        ),
        (
            "process_vm_readv",
            b(|_| {
                in_grandchild(|| {
                    under(S, || {
                        // SAFETY: getppid has no arguments.
                        let parent = unsafe { libc::getppid() };
                        call(libc::SYS_process_vm_readv, [parent as _, 0, 0, 0, 0, 0])
                    })
                })
            }),
            killed,
        ),
        (
            "pidfd_getfd",
            b(|_| {
                let out = match outsider(|_| {}) {
                    Ok(o) => o,
                    Err(o) => return o,
                };
                // pidfd_open may be missing (before 5.3): the filter decides
                // on the number alone, so -1 serves as well.
                // SAFETY: pidfd_open with integers.
                let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, out.pid, 0) };
                under(S, || call(libc::SYS_pidfd_getfd, [pidfd, 0, 0, 0, 0, 0]))
            }),
            killed,
        ),
        (
            "kcmp",
            b(|_| {
                let out = match outsider(|_| {}) {
                    Ok(o) => o,
                    Err(o) => return o,
                };
                under(S, || {
                    call(
                        libc::SYS_kcmp,
                        [std::process::id() as _, out.pid as _, KCMP_FILE, 0, 0, 0],
                    )
                })
            }),
            killed,
        ),
        (
            "ioctl::tiocsti",
            b(|_| {
                under("stdio rpath tty ioctl", || {
                    let c = b'x';
                    call(libc::SYS_ioctl, [-1, libc::TIOCSTI as _, ptr(&c), 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "ioctl::tiocsti_high_bits",
            b(|_| {
                under("stdio rpath tty ioctl", || {
                    let c = b'x';
                    call(
                        libc::SYS_ioctl,
                        [
                            -1,
                            (libc::TIOCSTI as libc::c_long) | (1 << 32),
                            ptr(&c),
                            0,
                            0,
                            0,
                        ],
                    )
                })
            }),
            killed,
        ),
        (
            "ioctl::tioclinux",
            b(|_| {
                under("stdio rpath tty ioctl", || {
                    call(libc::SYS_ioctl, [-1, TIOCLINUX, 0, 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "memfd::mfd_exec",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_memfd_create,
                        [
                            ptr(c"x".as_ptr()),
                            MFD_EXEC | libc::MFD_CLOEXEC as libc::c_long,
                            0,
                            0,
                            0,
                            0,
                        ],
                    )
                })
            }),
            killed,
        ),
        (
            "memfd::execveat",
            b(|_| {
                let fd = match memfd_program() {
                    Ok(fd) => fd,
                    Err(o) => return o,
                };
                in_grandchild(move || {
                    under(S, || {
                        // argv[0] ends in /true: where the program is this binary, it exits at once.
                        let argv = [c"/bin/true".as_ptr(), std::ptr::null()];
                        let envp = [std::ptr::null::<libc::c_char>()];
                        // Without the policy the program runs (and exits 0 as
                        // the grandchild: reported as exit(0)).
                        call(
                            libc::SYS_execveat,
                            [
                                fd.as_raw_fd() as _,
                                ptr(c"".as_ptr()),
                                ptr(argv.as_ptr()),
                                ptr(envp.as_ptr()),
                                libc::AT_EMPTY_PATH as _,
                                0,
                            ],
                        )
                    })
                })
            }),
            killed,
        ),
        (
            "personality::read_implies_exec",
            b(|_| {
                under(S, || {
                    call(libc::SYS_personality, [READ_IMPLIES_EXEC, 0, 0, 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "userfaultfd",
            b(|_| {
                under(S, || {
                    call(libc::SYS_userfaultfd, [libc::O_CLOEXEC as _, 0, 0, 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "bpf",
            b(|_| under(S, || call(libc::SYS_bpf, [0, 0, 0, 0, 0, 0]))),
            killed,
        ),
        (
            "bpf::under_error_vow",
            b(|_| {
                under("stdio rpath error", || {
                    call(libc::SYS_bpf, [0, 0, 0, 0, 0, 0])
                })
            }),
            |_| errno(Errno::EACCES),
        ),
        (
            "perf_event_open",
            b(|_| under(S, || call(libc::SYS_perf_event_open, [0, 0, -1, -1, 0, 0]))),
            killed,
        ),
        (
            "keyctl",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_keyctl,
                        [KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0, 0, 0, 0],
                    )
                })
            }),
            killed,
        ),
        (
            "add_key",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_add_key,
                        [
                            ptr(c"user".as_ptr()),
                            ptr(c"exile-escape".as_ptr()),
                            ptr(c"x".as_ptr()),
                            1,
                            KEY_SPEC_PROCESS_KEYRING,
                            0,
                        ],
                    )
                })
            }),
            killed,
        ),
        (
            "request_key",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_request_key,
                        [
                            ptr(c"user".as_ptr()),
                            ptr(c"exile-escape".as_ptr()),
                            0,
                            0,
                            0,
                            0,
                        ],
                    )
                })
            }),
            killed,
        ),
        (
            "mount",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_mount,
                        [
                            ptr(c"none".as_ptr()),
                            ptr(c"/nonexistent-exile".as_ptr()),
                            ptr(c"tmpfs".as_ptr()),
                            0,
                            0,
                            0,
                        ],
                    )
                })
            }),
            killed,
        ),
        (
            "umount2",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_umount2,
                        [ptr(c"/nonexistent-exile".as_ptr()), 0, 0, 0, 0, 0],
                    )
                })
            }),
            killed,
        ),
        (
            "pivot_root",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_pivot_root,
                        [
                            ptr(c"/nonexistent-exile".as_ptr()),
                            ptr(c"/nonexistent-exile".as_ptr()),
                            0,
                            0,
                            0,
                            0,
                        ],
                    )
                })
            }),
            killed,
        ),
        (
            "chroot",
            b(|_| {
                under(S, || {
                    call(libc::SYS_chroot, [ptr(c"/".as_ptr()), 0, 0, 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "fsopen",
            b(|_| {
                under(S, || {
                    call(libc::SYS_fsopen, [ptr(c"tmpfs".as_ptr()), 0, 0, 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "open_tree",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_open_tree,
                        [
                            libc::AT_FDCWD as _,
                            ptr(c"/proc".as_ptr()),
                            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_long,
                            0,
                            0,
                            0,
                        ],
                    )
                })
            }),
            killed,
        ),
        (
            "open_by_handle_at",
            b(|_| {
                under(S, || {
                    call(
                        libc::SYS_open_by_handle_at,
                        [libc::AT_FDCWD as _, 0, libc::O_RDONLY as _, 0, 0, 0],
                    )
                })
            }),
            killed,
        ),
        (
            "init_module",
            b(|_| {
                under(S, || {
                    call(libc::SYS_init_module, [0, 0, ptr(c"".as_ptr()), 0, 0, 0])
                })
            }),
            killed,
        ),
        (
            "socket::packet",
            b(|_| {
                under("stdio rpath inet", || {
                    call(
                        libc::SYS_socket,
                        [libc::AF_PACKET as _, libc::SOCK_RAW as _, 0, 0, 0, 0],
                    )
                })
            }),
            killed,
        ),
        (
            "socket::netlink",
            b(|_| {
                under("stdio rpath inet", || {
                    call(
                        libc::SYS_socket,
                        [libc::AF_NETLINK as _, libc::SOCK_RAW as _, 0, 0, 0, 0],
                    )
                })
            }),
            killed,
        ),
        (
            "seccomp::second_filter_allows_all",
            b(|_| {
                under("stdio rpath seccomp_install", || {
                    match install(&Prog::ret(SECCOMP_RET_ALLOW), 0) {
                        Ok(_) => socket_inet(),
                        Err(e) => Observed::Value(format!("second filter refused: {e}")),
                    }
                })
            }),
            killed,
        ),
        (
            "seccomp::second_filter_tsync",
            b(|_| {
                under("stdio rpath seccomp_install", || {
                    match install(&Prog::ret(SECCOMP_RET_ALLOW), SECCOMP_FILTER_FLAG_TSYNC) {
                        Ok(_) => socket_inet(),
                        Err(e) => Observed::Value(format!("second filter refused: {e}")),
                    }
                })
            }),
            killed,
        ),
        (
            "seccomp::second_filter_prctl",
            b(|_| {
                under("stdio rpath seccomp_install", || {
                    let prog = Prog::ret(SECCOMP_RET_ALLOW);
                    let fprog = prog.fprog();
                    // SAFETY: PR_SET_NO_NEW_PRIVS with integers, then
                    // `fprog` points at `prog`, alive for the call.
                    let r = unsafe {
                        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                        libc::prctl(
                            libc::PR_SET_SECCOMP,
                            libc::SECCOMP_MODE_FILTER,
                            &fprog as *const libc::sock_fprog,
                        )
                    };
                    if r < 0 {
                        Observed::Value(format!("second filter refused: {}", Errno::last()))
                    } else {
                        socket_inet()
                    }
                })
            }),
            killed,
        ),
        (
            "seccomp::user_notif",
            b(|_| {
                under("stdio rpath seccomp_install", || {
                    let prog = Prog::on_nr(libc::SYS_socket, SECCOMP_RET_USER_NOTIF);
                    match install(&prog, SECCOMP_FILTER_FLAG_NEW_LISTENER) {
                        Ok(listener) => {
                            // No supervisor answers: with the listener closed
                            // a notified call fails with ENOSYS.
                            // SAFETY: closing the listener fd just returned.
                            unsafe { libc::close(listener as libc::c_int) };
                            socket_inet()
                        }
                        Err(e) => Observed::Value(format!("second filter refused: {e:?}")),
                    }
                })
            }),
            |ctx| {
                if ctx.features.user_notif {
                    Expected::signal(Signal::SIGSYS)
                } else {
                    Expected::value("second filter refused: EINVAL")
                }
            },
        ),
        (
            "seccomp::spec_allow",
            b(|_| {
                under("stdio rpath seccomp_install", || {
                    match install(
                        &Prog::ret(SECCOMP_RET_ALLOW),
                        SECCOMP_FILTER_FLAG_SPEC_ALLOW,
                    ) {
                        Ok(_) => Observed::Ok,
                        Err(e) => Observed::Errno(e as i32),
                    }
                })
            }),
            killed,
        ),
        (
            "seccomp::without_vow",
            b(|_| {
                under(S, || match install(&Prog::ret(SECCOMP_RET_ALLOW), 0) {
                    Ok(_) => Observed::Ok,
                    Err(e) => Observed::Errno(e as i32),
                })
            }),
            killed,
        ),
        (
            "thread::before_policy",
            b(|_| match vows_policy(S) {
                Ok(policy) => thread_before(&policy, socket_inet),
                Err(o) => o,
            }),
            |ctx| {
                let f = &ctx.features;
                if !f.tsync {
                    // Other threads cannot be filtered: a Hard policy must
                    // refuse at apply, where the threads are counted.
                    Expected::policy_error("apply:seccomp filter:EINVAL")
                } else if !f.kill_process {
                    Expected::value("thread killed")
                } else {
                    Expected::signal(Signal::SIGSYS)
                }
            },
        ),
    ]
}

/// Start a thread, apply `policy`, then let the thread run `op`: its
/// observation, `thread killed` if it died alone, or the process's fate.
fn thread_before(policy: &Policy, op: impl FnOnce() -> Observed + Send + 'static) -> Observed {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (res_tx, res_rx) = mpsc::channel::<Observed>();
    let spawned = std::thread::Builder::new().spawn(move || {
        if go_rx.recv().is_ok() {
            let _ = res_tx.send(op());
        }
    });
    if let Err(e) = spawned {
        return Observed::Value(format!("spawn: {e}"));
    }
    if let Err(o) = enforce(policy) {
        return o;
    }
    let _ = go_tx.send(());
    match res_rx.recv_timeout(Duration::from_secs(3)) {
        Ok(o) => o,
        Err(_) => Observed::Value("thread killed".into()),
    }
}

// ---------------------------------------------------------------------------
// Path-rule cases
// ---------------------------------------------------------------------------

/// Which backend a path case asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    /// What exile picks: Landlock where the kernel has it.
    Auto,
    /// `force_fallback()`.
    Fallback,
}

/// What actually enforces the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effective {
    Landlock(u8),
    Fallback,
}

impl Backend {
    fn effective(self, f: &Features) -> Effective {
        match self {
            Backend::Auto if f.landlock.abi >= 1 => Effective::Landlock(f.landlock.abi),
            _ => Effective::Fallback,
        }
    }

    /// The expectation when the policy cannot be applied here at all.
    fn unavailable(self, ctx: &Ctx) -> Option<Expected> {
        let f = &ctx.features;
        (self.effective(f) == Effective::Fallback && !f.cap_sys_admin && f.user_namespaces.is_err())
            .then(|| Expected::policy_error("unavailable:"))
    }
}

/// The fixture of a path case.
struct Tree {
    /// `r/`: read-only.
    r: PathBuf,
    /// `r/w/`: read-write.
    w: PathBuf,
    /// `outside/`: no rule.
    outside: PathBuf,
    /// `/proc` is allowed (read-only) too.
    proc_allowed: bool,
}

impl Tree {
    fn r_file(&self) -> PathBuf {
        self.r.join("file")
    }

    fn secret(&self) -> PathBuf {
        self.outside.join("secret")
    }
}

fn tree(proc_allowed: bool) -> Result<Tree, Observed> {
    let d = fixture::private_dir().map_err(|e| Observed::Value(format!("fixture: {e}")))?;
    let t = Tree {
        r: d.join("r"),
        w: d.join("r").join("w"),
        outside: d.join("outside"),
        proc_allowed,
    };
    let fail = |what: &str, e: std::io::Error| Observed::Value(format!("fixture {what}: {e}"));
    std::fs::create_dir_all(&t.w).map_err(|e| fail("r/w", e))?;
    std::fs::create_dir_all(&t.outside).map_err(|e| fail("outside", e))?;
    for f in [t.r_file(), t.w.join("file"), t.secret()] {
        std::fs::write(&f, b"exile").map_err(|e| fail("file", e))?;
    }
    std::os::unix::fs::symlink(t.secret(), t.r.join("link")).map_err(|e| fail("link", e))?;
    Ok(t)
}

/// The read-write rights of `r/w/` on this backend.
fn rw_rights(effective: Effective) -> Fs {
    let rw = Fs::READ | Fs::ALL_WRITE;
    match effective {
        // TRUNCATE cannot be restricted before ABI 3: naming it fails a Hard policy.
        Effective::Landlock(abi) if abi < 3 => rw - Fs::TRUNCATE,
        _ => rw,
    }
}

fn fs_policy(t: &Tree, backend: Backend, ctx: &Ctx) -> Result<Policy, Observed> {
    let effective = backend.effective(&ctx.features);
    let mut p = vows_policy("stdio rpath wpath cpath")?
        .allow_path(&t.r, Fs::READ)
        .allow_path(&t.w, rw_rights(effective));
    if t.proc_allowed {
        p = p.allow_path("/proc", Fs::READ);
    }
    if backend == Backend::Fallback {
        p = p.force_fallback();
    }
    Ok(p)
}

/// `outside/secret` through the root of process `pid`.
fn via_proc_root(pid: &str, t: &Tree) -> PathBuf {
    let secret = t.secret();
    Path::new("/proc")
        .join(pid)
        .join("root")
        .join(secret.strip_prefix("/").unwrap_or(&secret))
}

/// Receive one fd over `sock` (SCM_RIGHTS).
fn recv_fd(sock: RawFd) -> Result<OwnedFd, Observed> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(|e| Observed::Errno(e as i32))?;
    let cmsgs = msg
        .cmsgs()
        .map_err(|e| Observed::Value(format!("cmsgs: {e}")))?;
    for c in cmsgs {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(Observed::Value("no fd received".into()))
}

/// Send `fd` over `sock` (SCM_RIGHTS).
fn send_fd(sock: RawFd, fd: RawFd) {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let iov = [std::io::IoSlice::new(b"f")];
    let fds = [fd];
    let _ = sendmsg::<()>(
        sock,
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    );
}

/// One path case: its operation (fixture and context given; setup before
/// the policy returns a closure run after it) and its expectation on
/// Landlock (with the ABI) and on the fallback.
struct FsCase {
    name: &'static str,
    /// The policy also allows reading `/proc`.
    proc: bool,
    run: fn(&Tree, &Ctx, Backend) -> Observed,
    landlock: fn(u8) -> Expected,
    fallback: fn(&Ctx) -> Expected,
}

/// Apply the path policy and run `op`.
fn with_fs(t: &Tree, ctx: &Ctx, backend: Backend, op: impl FnOnce() -> Observed) -> Observed {
    match fs_policy(t, backend, ctx).and_then(|p| enforce(&p)) {
        Ok(()) => op(),
        Err(o) => o,
    }
}

fn eacces(_: u8) -> Expected {
    errno(Errno::EACCES)
}

/// Open `outside/secret` through `/proc/<outsider>/root`.
fn proc_pid_root(t: &Tree, ctx: &Ctx, b: Backend) -> Observed {
    let out = match outsider(|_| {}) {
        Ok(o) => o,
        Err(o) => return o,
    };
    let path = via_proc_root(&out.pid.to_string(), t);
    with_fs(t, ctx, b, || open(&path, libc::O_RDONLY))
}

/// Open `outside/secret` through `/proc/<outsider>/fd/N`.
fn proc_pid_fd(t: &Tree, ctx: &Ctx, b: Backend) -> Observed {
    let secret = t.secret();
    let out = match outsider(move |sock| {
        let fd = open_raw(&secret, libc::O_RDONLY);
        write_i32(sock, fd);
    }) {
        Ok(o) => o,
        Err(o) => return o,
    };
    let fd = match read_i32(out.sock.as_raw_fd()) {
        Ok(fd) if fd >= 0 => fd,
        Ok(fd) => return Observed::Value(format!("outsider open: {fd}")),
        Err(o) => return o,
    };
    let path = PathBuf::from(format!("/proc/{}/fd/{fd}", out.pid));
    with_fs(t, ctx, b, || open(&path, libc::O_RDONLY))
}

fn fs_cases() -> Vec<FsCase> {
    vec![
        FsCase {
            proc: false,
            name: "write_readonly",
            run: |t, ctx, b| with_fs(t, ctx, b, || open(&t.r_file(), libc::O_WRONLY)),
            landlock: eacces,
            fallback: |_| errno(Errno::EROFS),
        },
        FsCase {
            proc: false,
            name: "truncate_readonly",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    let c = c_path(&t.r_file());
                    // SAFETY: a NUL-terminated path.
                    sys(unsafe { libc::truncate(c.as_ptr(), 0) } as _)
                })
            },
            // Before ABI 3 Landlock cannot restrict truncate (the report
            // lists it as unrestricted): the documented gap.
            landlock: |abi| {
                if abi >= 3 {
                    errno(Errno::EACCES)
                } else {
                    Expected::Ok
                }
            },
            fallback: |_| errno(Errno::EROFS),
        },
        FsCase {
            proc: false,
            name: "link_into_writable",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    let to = t.w.join("hard");
                    match nix::unistd::linkat(
                        nix::fcntl::AT_FDCWD,
                        &t.r_file(),
                        nix::fcntl::AT_FDCWD,
                        &to,
                        nix::fcntl::AtFlags::empty(),
                    ) {
                        // Linked: the read-only file is now writable through r/w.
                        Ok(()) => open(&to, libc::O_WRONLY),
                        Err(e) => Observed::Errno(e as i32),
                    }
                })
            },
            landlock: |_| errno(Errno::EXDEV),
            fallback: |_| errno(Errno::EXDEV),
        },
        FsCase {
            proc: false,
            name: "rename_into_writable",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    let to = t.w.join("moved");
                    match std::fs::rename(t.r_file(), &to) {
                        Ok(()) => open(&to, libc::O_WRONLY),
                        Err(e) => Observed::Errno(e.raw_os_error().unwrap_or(0)),
                    }
                })
            },
            landlock: eacces,
            fallback: |_| errno(Errno::EXDEV),
        },
        FsCase {
            proc: false,
            name: "rename_out",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    errno_of(
                        std::fs::rename(t.w.join("file"), t.outside.join("moved"))
                            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0))),
                    )
                })
            },
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "link_out",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    errno_of(
                        std::fs::hard_link(t.w.join("file"), t.outside.join("hard"))
                            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0))),
                    )
                })
            },
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "symlink_out",
            run: |t, ctx, b| with_fs(t, ctx, b, || open(&t.r.join("link"), libc::O_RDONLY)),
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "symlink_made_out",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    let link = t.w.join("link");
                    match std::os::unix::fs::symlink(t.secret(), &link) {
                        Ok(()) => open(&link, libc::O_RDONLY),
                        Err(e) => Observed::Value(format!("symlink: {e}")),
                    }
                })
            },
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "dotdot",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    open(
                        &t.w.join("..").join("..").join("outside").join("secret"),
                        libc::O_RDONLY,
                    )
                })
            },
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "dotdot_from_cwd",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || match nix::unistd::chdir(&t.w) {
                    Ok(()) => open(Path::new("../../outside/secret"), libc::O_RDONLY),
                    Err(e) => Observed::Value(format!("chdir: {e}")),
                })
            },
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "proc_self_root",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    open(&via_proc_root("self", t), libc::O_RDONLY)
                })
            },
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "proc_self_fd_reopen",
            run: |t, ctx, b| {
                with_fs(t, ctx, b, || {
                    let fd = open_raw(&t.r_file(), libc::O_RDONLY);
                    if fd < 0 {
                        return Observed::Value(format!("open r/file: {}", Errno::last()));
                    }
                    open(Path::new(&format!("/proc/self/fd/{fd}")), libc::O_WRONLY)
                })
            },
            landlock: eacces,
            // No /proc in the new root.
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "proc_pid_root",
            run: proc_pid_root,
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        FsCase {
            proc: false,
            name: "proc_pid_fd",
            run: proc_pid_fd,
            landlock: eacces,
            fallback: |_| errno(Errno::ENOENT),
        },
        // With /proc readable, the fallback binds the host's /proc: the
        // magic links of a process outside lead out of the new root. In a
        // user namespace the kernel's ptrace check denies them (EACCES: the
        // outsider's user namespace is not the sandbox's); without one (root
        // with CAP_SYS_ADMIN) nothing would, so prepare refuses a rule that
        // exposes /proc there (a `path` error).
        FsCase {
            proc: true,
            name: "proc_allowed::pid_root",
            run: proc_pid_root,
            landlock: eacces,
            fallback: proc_rule_on_fallback,
        },
        FsCase {
            proc: true,
            name: "proc_allowed::pid_fd",
            run: proc_pid_fd,
            landlock: eacces,
            fallback: proc_rule_on_fallback,
        },
        FsCase {
            proc: false,
            name: "inherited_dirfd",
            run: |t, ctx, b| {
                let dir = open_raw(&t.outside, libc::O_RDONLY | libc::O_DIRECTORY);
                if dir < 0 {
                    return Observed::Value(format!("open outside: {}", Errno::last()));
                }
                with_fs(t, ctx, b, || {
                    // SAFETY: a NUL-terminated relative path and a live dir fd.
                    let fd = unsafe {
                        libc::openat(dir, c"secret".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC)
                    };
                    sys(fd as _)
                })
            },
            landlock: eacces,
            fallback: |_| {
                Expected::Skip(
                    "a mount namespace cannot restrict a directory fd opened outside it (Landlock can; or close inherited fds)".into(),
                )
            },
        },
        FsCase {
            proc: false,
            name: "received_dirfd",
            run: |t, ctx, b| {
                let outside = t.outside.clone();
                let out = match outsider(move |sock| {
                    // Wait until the sandbox is in force, then send.
                    if read_i32(sock).is_ok() {
                        let dir = open_raw(&outside, libc::O_RDONLY | libc::O_DIRECTORY);
                        send_fd(sock, dir);
                    }
                }) {
                    Ok(o) => o,
                    Err(o) => return o,
                };
                with_fs(t, ctx, b, || {
                    write_i32(out.sock.as_raw_fd(), 1);
                    match recv_fd(out.sock.as_raw_fd()) {
                        Ok(dir) => {
                            // SAFETY: a NUL-terminated relative path and a live dir fd.
                            let fd = unsafe {
                                libc::openat(
                                    dir.as_raw_fd(),
                                    c"secret".as_ptr(),
                                    libc::O_RDONLY | libc::O_CLOEXEC,
                                )
                            };
                            sys(fd as _)
                        }
                        Err(o) => o,
                    }
                })
            },
            landlock: eacces,
            fallback: |_| {
                Expected::Skip(
                    "a mount namespace cannot restrict a directory fd received from outside it (Landlock can)".into(),
                )
            },
        },
        FsCase {
            proc: false,
            name: "thread_before_policy",
            run: |t, ctx, b| {
                let policy = match fs_policy(t, b, ctx) {
                    Ok(p) => p,
                    Err(o) => return o,
                };
                let file = t.r_file();
                thread_before(&policy, move || open(&file, libc::O_WRONLY))
            },
            landlock: |abi| {
                if abi >= 8 {
                    errno(Errno::EACCES)
                } else {
                    // Landlock cannot restrict other threads before ABI 8
                    // (LANDLOCK_RESTRICT_SELF_TSYNC): a Hard policy must
                    // refuse at apply, where the threads are counted.
                    Expected::policy_error("apply:filesystem:EINVAL")
                }
            },
            // unshare() of the user or mount namespace needs a single thread.
            fallback: |ctx| {
                if ctx.features.cap_sys_admin {
                    Expected::policy_error("apply:mount namespace:EINVAL")
                } else {
                    Expected::policy_error("apply:user namespace:EINVAL")
                }
            },
        },
    ]
}

/// A `/proc` rule under the fallback: EACCES inside a user namespace;
/// refused by prepare where none is used (root with CAP_SYS_ADMIN).
fn proc_rule_on_fallback(ctx: &Ctx) -> Expected {
    if ctx.features.cap_sys_admin {
        Expected::policy_error("path")
    } else {
        errno(Errno::EACCES)
    }
}

/// All escape probes.
pub fn probes(p: &mut Vec<Probe>) {
    CONTROL.store(
        std::env::var_os("EXILE_ESCAPE_CONTROL").is_some_and(|v| v == "1"),
        Ordering::Relaxed,
    );
    for (name, body, expect) in seccomp_cases() {
        p.push(Probe::new(format!("escape::{name}"), body, expect));
    }
    for backend in [Backend::Auto, Backend::Fallback] {
        let prefix = match backend {
            Backend::Auto => "escape::fs::",
            Backend::Fallback => "escape::fs::fallback::",
        };
        for case in fs_cases() {
            let FsCase {
                name,
                proc,
                run,
                landlock,
                fallback,
            } = case;
            p.push(Probe::new(
                format!("{prefix}{name}"),
                move |ctx| match tree(proc) {
                    Ok(t) => run(&t, ctx, backend),
                    Err(o) => o,
                },
                move |ctx| {
                    if let Some(e) = backend.unavailable(ctx) {
                        return e;
                    }
                    match backend.effective(&ctx.features) {
                        Effective::Landlock(abi) => landlock(abi),
                        Effective::Fallback => fallback(ctx),
                    }
                },
            ));
        }
    }
}
