//! Thin wrappers over the raw system calls exile needs and that neither `std`
//! nor `nix` wraps without allocating.
//!
//! Every function here is allocation-free and async-signal-safe, so it can be
//! used from [`Prepared::apply`](crate::Prepared::apply) after `fork()` and in
//! `Command::pre_exec`. Each `unsafe` block is a single system call.

use std::ffi::CStr;
use std::os::fd::RawFd;

use nix::errno::Errno;

/// Result of a raw system call: the return value or the errno.
pub(crate) type SysResult<T> = Result<T, Errno>;

/// `ret`, or the thread's errno when `ret` is negative.
pub(crate) fn check(ret: libc::c_long) -> SysResult<libc::c_long> {
    if ret < 0 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

/// `prctl(option, a2, a3, a4, a5)`.
pub(crate) fn prctl(
    option: libc::c_int,
    a2: libc::c_ulong,
    a3: libc::c_ulong,
    a4: libc::c_ulong,
    a5: libc::c_ulong,
) -> SysResult<libc::c_int> {
    // SAFETY: prctl with integer arguments only; callers never pass options
    // that interpret these integers as pointers to memory they do not own.
    let r = unsafe { libc::prctl(option, a2, a3, a4, a5) };
    check(r as libc::c_long).map(|v| v as libc::c_int)
}

/// `close_range(first, last, flags)` (Linux 5.9).
pub(crate) fn close_range(first: u32, last: u32, flags: u32) -> SysResult<()> {
    // SAFETY: close_range only takes integers; closing fds the caller asked
    // to close is the purpose of the call.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) };
    check(r).map(|_| ())
}

/// `close(fd)`, ignoring EINTR (Linux always releases the fd).
pub(crate) fn close(fd: RawFd) -> SysResult<()> {
    // SAFETY: closing an integer fd; the caller owns it.
    let r = unsafe { libc::close(fd) };
    match check(r as libc::c_long) {
        Err(Errno::EINTR) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// `fcntl(fd, F_GETFD)`: whether `fd` is open.
pub(crate) fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// `open(path, flags | O_CLOEXEC)`.
pub(crate) fn open(path: &CStr, flags: libc::c_int) -> SysResult<RawFd> {
    // SAFETY: `path` is a valid NUL-terminated string for the whole call.
    let r = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    check(r as libc::c_long).map(|v| v as RawFd)
}

/// Write all of `buf` to `fd` (retrying short writes and EINTR).
pub(crate) fn write_all(fd: RawFd, mut buf: &[u8]) -> SysResult<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        let r = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        match check(r as libc::c_long) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => buf = &buf[n as usize..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Read into `buf`, retrying EINTR; returns the number of bytes read.
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> SysResult<usize> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match check(r as libc::c_long) {
            Err(Errno::EINTR) => {}
            other => return other.map(|n| n as usize),
        }
    }
}

/// Open `path` write-only and write `content` to it in one `write`.
pub(crate) fn write_file(path: &CStr, content: &[u8]) -> SysResult<()> {
    let fd = open(path, libc::O_WRONLY)?;
    let r = write_all(fd, content);
    let _ = close(fd);
    r
}

/// `getdents64(fd, buf)`: returns the number of bytes filled.
pub(crate) fn getdents64(fd: RawFd, buf: &mut [u8]) -> SysResult<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let r = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
    check(r).map(|n| n as usize)
}

/// `unshare(flags)`.
pub(crate) fn unshare(flags: libc::c_int) -> SysResult<()> {
    // SAFETY: unshare takes only an integer.
    let r = unsafe { libc::unshare(flags) };
    check(r as libc::c_long).map(|_| ())
}

/// `prlimit64(0, resource, &new, NULL)`: set a resource limit of this process.
pub(crate) fn setrlimit(resource: libc::c_int, soft: u64, hard: u64) -> SysResult<()> {
    let lim = libc::rlimit64 {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `lim` is a valid rlimit64 for the call; the old-limit pointer is NULL.
    let r = unsafe {
        libc::syscall(
            libc::SYS_prlimit64,
            0,
            resource,
            &lim as *const libc::rlimit64,
            std::ptr::null_mut::<libc::rlimit64>(),
        )
    };
    check(r).map(|_| ())
}

/// Capability sets as the kernel's version-3 capget/capset see them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// `capget` for the calling thread.
pub(crate) fn capget() -> SysResult<CapSets> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array, as version 3 requires.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut hdr as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    check(r)?;
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// `capset` for the calling thread.
pub(crate) fn capset(sets: CapSets) -> SysResult<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header and a two-element data array, as version 3 requires.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    check(r).map(|_| ())
}

/// `seccomp(op, flags, args)` with a pointer argument (may be NULL).
pub(crate) fn seccomp(
    op: libc::c_uint,
    flags: libc::c_uint,
    args: *const libc::c_void,
) -> SysResult<libc::c_long> {
    // SAFETY: `args` is either NULL (a probe that expects EFAULT/EINVAL) or
    // points to the structure `op` expects, valid for the call.
    let r = unsafe { libc::syscall(libc::SYS_seccomp, op, flags, args) };
    check(r)
}

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`: the ABI version.
pub(crate) fn landlock_abi_version() -> SysResult<libc::c_long> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with the VERSION flag the kernel reads no memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    check(r)
}

/// `mount(NULL, target, NULL, flags, NULL)`: a propagation or remount change.
pub(crate) fn mount_flags(target: &CStr, flags: libc::c_ulong) -> SysResult<()> {
    // SAFETY: `target` is NUL-terminated; source, type and data are NULL,
    // which the kernel accepts for propagation changes.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            target.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    check(r as libc::c_long).map(|_| ())
}

/// `fork()`. The child must only make async-signal-safe calls.
///
/// Returns 0 in the child and the child's pid in the parent.
pub(crate) fn fork() -> SysResult<libc::pid_t> {
    // SAFETY: callers only run async-signal-safe code in the child and end
    // it with `exit_now`.
    let r = unsafe { libc::fork() };
    check(r as libc::c_long).map(|v| v as libc::pid_t)
}

/// `_exit(code)`: leave a forked child without running atexit handlers.
pub(crate) fn exit_now(code: libc::c_int) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}

/// `waitpid(pid, &status, 0)`, retrying EINTR; returns the wait status.
pub(crate) fn waitpid(pid: libc::pid_t) -> SysResult<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer for the call.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        match check(r as libc::c_long) {
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
            Ok(_) => return Ok(status),
        }
    }
}

/// `pipe2(O_CLOEXEC)`: (read end, write end).
pub(crate) fn pipe() -> SysResult<(RawFd, RawFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid two-element out-array.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    check(r as libc::c_long).map(|_| (fds[0], fds[1]))
}

/// `landlock_restrict_self(ruleset_fd, flags)`.
pub(crate) fn landlock_restrict_self(ruleset_fd: RawFd, flags: u32) -> SysResult<()> {
    // SAFETY: integers only; the kernel validates the fd.
    let r = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset_fd, flags) };
    check(r).map(|_| ())
}

/// Whether SIGSYS has its default disposition (no handler installed, not
/// ignored): `rt_sigaction(SIGSYS, NULL, &old)`.
pub(crate) fn sigsys_is_default() -> SysResult<bool> {
    // SAFETY: an all-zero sigaction is a valid out-buffer.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `old` is a valid out-pointer.
    let r = unsafe { libc::sigaction(libc::SIGSYS, std::ptr::null(), &mut old) };
    check(r as libc::c_long).map(|_| old.sa_sigaction == libc::SIG_DFL)
}

/// The number of threads of the calling process (field 20 of
/// `/proc/self/stat`), read into a stack buffer.
pub(crate) fn thread_count() -> SysResult<u64> {
    let fd = open(c"/proc/self/stat", libc::O_RDONLY)?;
    let mut buf = [0u8; 1024];
    let r = read(fd, &mut buf);
    let _ = close(fd);
    let text = &buf[..r?];
    // After the last ')' (the command name may hold anything): " S ppid …";
    // num_threads is the 18th field from there.
    let close_paren = text.iter().rposition(|&b| b == b')').ok_or(Errno::EINVAL)?;
    let field = text[close_paren + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty())
        .nth(17)
        .ok_or(Errno::EINVAL)?;
    let mut n: u64 = 0;
    for &b in field {
        if !b.is_ascii_digit() {
            return Err(Errno::EINVAL);
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Ok(n)
}

#[cfg(test)]
mod thread_count_tests {
    #[test]
    fn counts_this_process_threads() {
        let before = super::thread_count().unwrap();
        assert!(before >= 1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let _ = rx.recv();
        });
        assert!(super::thread_count().unwrap() >= 2);
        tx.send(()).unwrap();
        t.join().unwrap();
    }
}
