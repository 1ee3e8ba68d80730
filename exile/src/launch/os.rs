//! The system calls of `launch`, each in one `unsafe` block.
//!
//! Everything used in the child before the closure runs (and in the SIGSYS
//! handler) is async-signal-safe and allocation-free: it returns
//! [`Errno`], never an `io::Error` with a message.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::sys::check;
// fork, _exit, read and write are the crate's own wrappers (also
// async-signal-safe and allocation-free).
pub(crate) use crate::sys::{exit_now as exit, fork, read, write_all};

/// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`.
pub(crate) fn socketpair() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` is a valid two-element out-array.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    check(r.into())?;
    // SAFETY: both fds were just created by socketpair and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `close(fd)`; EINTR still releases the fd on Linux.
pub(crate) fn close(fd: RawFd) {
    // SAFETY: the caller owns `fd` and does not use it afterwards.
    unsafe { libc::close(fd) };
}

/// `dup2(old, new)` (clears `FD_CLOEXEC` on `new`).
pub(crate) fn dup2(old: RawFd, new: RawFd) -> Result<(), Errno> {
    // SAFETY: integers only; `new` is replaced on purpose.
    let r = unsafe { libc::dup2(old, new) };
    check(r.into()).map(drop)
}

/// `fcntl(fd, F_SETFD, 0)`: keep `fd` open across `execve`.
pub(crate) fn clear_cloexec(fd: RawFd) -> Result<(), Errno> {
    // SAFETY: F_SETFD only changes the descriptor flags.
    let r = unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
    check(r.into()).map(drop)
}

/// `recv(fd, buf, MSG_DONTWAIT)`: `Ok(0)` is end of stream.
pub(crate) fn recv_nonblocking(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let r = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        match check(r as libc::c_long) {
            Err(Errno::EINTR) => {}
            other => return other.map(|n| n as usize),
        }
    }
}

/// `send(fd, buf, MSG_DONTWAIT | MSG_NOSIGNAL)`: never blocks, never raises SIGPIPE.
pub(crate) fn send_nonblocking(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        let r = unsafe {
            libc::send(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        match check(r as libc::c_long) {
            Err(Errno::EINTR) => {}
            other => return other.map(|n| n as usize),
        }
    }
}

/// `shutdown(fd, SHUT_WR)`: the peer reads end of stream.
pub(crate) fn shutdown_write(fd: RawFd) {
    // SAFETY: integers only.
    unsafe { libc::shutdown(fd, libc::SHUT_WR) };
}

/// `pidfd_open(pid, 0)` (Linux 5.3); `None` where the kernel (or a filter)
/// does not provide it. The fd is close-on-exec.
pub(crate) fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: integers only.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = check(r).ok()? as RawFd;
    // SAFETY: the fd was just returned by pidfd_open and is owned by nobody else.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `poll(fds, timeout_ms)` (EINTR is returned as `Ok(0)` is not: the caller loops).
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> Result<usize, Errno> {
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    check(r.into()).map(|n| n as usize)
}

/// `kill(pid, sig)`. Only called for a child that has not been reaped, so
/// the pid cannot have been reused.
pub(crate) fn kill(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: integers only; `pid` is our own unreaped child.
    unsafe { libc::kill(pid, sig) };
}

/// How a child ended, from `waitid`'s siginfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// `_exit(code)`.
    Code(i32),
    /// Killed by a signal.
    Signal {
        /// The signal.
        signal: i32,
        /// A core dump was written (`CLD_DUMPED`).
        core_dumped: bool,
    },
}

/// `waitid(P_PID, pid, WEXITED [| WNOHANG])`: `Ok(None)` when `nohang` and
/// the child is still running. EINTR is retried.
pub(crate) fn waitid(pid: libc::pid_t, nohang: bool) -> Result<Option<Exit>, Errno> {
    let flags = libc::WEXITED | if nohang { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value (it is plain data).
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid out-pointer for the call.
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        match check(r.into()) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        // SAFETY: waitid filled `info` for a SIGCHLD-style event (or left it
        // zeroed with WNOHANG); si_pid and si_status are the fields it sets.
        let (child, status) = unsafe { (info.si_pid(), info.si_status()) };
        if child == 0 {
            return Ok(None);
        }
        return Ok(Some(match info.si_code {
            libc::CLD_EXITED => Exit::Code(status),
            libc::CLD_DUMPED => Exit::Signal {
                signal: status,
                core_dumped: true,
            },
            _ => Exit::Signal {
                signal: status,
                core_dumped: false,
            },
        }));
    }
}
