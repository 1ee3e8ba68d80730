//! What a filter costs in the kernel: a forked child installs a filter
//! stack, then times a loop of one system call.
//!
//! The child sets no_new_privs (with or without a filter, so every
//! configuration runs under the same conditions), installs the programs
//! with [`exile::seccomp::install()`] (no flags: the kernel's default
//! speculation mitigations), runs the call a few times to warm up, times
//! `iters` calls with [`Instant`], writes the nanoseconds to a pipe and
//! exits. Between `fork` and `_exit` it only makes system calls: no
//! allocation, no lock, so it is sound in a multi-threaded parent.

use std::fmt;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use exile::seccomp::bpf::SockFilter;
use exile::seccomp::InstallFlags;

/// The system call a loop repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    /// `getppid()`: allowed without argument checks by every set, so a
    /// constant action (kernels ≥ 5.11 skip the filter for it).
    Getppid,
    /// `fcntl(fd, F_GETFD)`: under the vow sets an argument-checked call
    /// (the filter runs on every kernel); constant in the allow-list.
    FcntlGetfd,
}

impl Probe {
    /// Both probes.
    pub const ALL: [Probe; 2] = [Probe::Getppid, Probe::FcntlGetfd];

    /// Its name in tables.
    pub const fn name(self) -> &'static str {
        match self {
            Probe::Getppid => "getppid",
            Probe::FcntlGetfd => "fcntl(F_GETFD)",
        }
    }

    /// Make the call once (`fd` is a valid descriptor for fcntl).
    #[inline(always)]
    fn call(self, fd: libc::c_int) -> libc::c_long {
        match self {
            // SAFETY: getppid takes no argument and cannot fail.
            Probe::Getppid => unsafe { libc::syscall(libc::SYS_getppid) },
            // SAFETY: fcntl(F_GETFD) only reads the descriptor's flags.
            Probe::FcntlGetfd => unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFD) },
        }
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a timing failed.
#[derive(Debug)]
pub enum CostError {
    /// pipe, fork, read or waitpid failed.
    Os(&'static str, std::io::Error),
    /// The child could not set no_new_privs or install a filter (its errno).
    Install(i32),
    /// The probe failed in the child (a filter denied it with an errno).
    ProbeFailed(i32),
    /// The child was killed (SIGSYS: a filter denied a call it made).
    Killed(i32),
    /// The child exited with an unexpected status.
    Exit(i32),
}

impl fmt::Display for CostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CostError::Os(what, e) => write!(f, "{what}: {e}"),
            CostError::Install(e) => write!(
                f,
                "installing the filter failed: {}",
                std::io::Error::from_raw_os_error(*e)
            ),
            CostError::ProbeFailed(e) => write!(
                f,
                "the probed call failed under the filter: {}",
                std::io::Error::from_raw_os_error(*e)
            ),
            CostError::Killed(sig) => write!(f, "child killed by signal {sig}"),
            CostError::Exit(code) => write!(f, "child exited with {code}"),
        }
    }
}

impl std::error::Error for CostError {}

const EXIT_INSTALL: i32 = 3;
const EXIT_PROBE: i32 = 4;

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Write all of `bytes` to `fd` (raw `write`, async-signal-safe).
fn write_all(fd: libc::c_int, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a live buffer of `bytes.len()` bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// The child's side; never returns.
fn child(stack: &[Vec<SockFilter>], probe: Probe, iters: u64, out: libc::c_int) -> ! {
    let fail = |code: i32, e: i32| -> ! {
        let word = (u64::from(code as u32) << 32 | u64::from(e as u32)) | 1 << 63;
        write_all(out, &word.to_ne_bytes());
        // SAFETY: _exit ends the child without running the parent's
        // atexit handlers or destructors.
        unsafe { libc::_exit(code) }
    };
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) takes integers only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        fail(EXIT_INSTALL, errno());
    }
    for prog in stack {
        if let Err(e) = exile::seccomp::install(prog, InstallFlags::empty()) {
            fail(EXIT_INSTALL, e as i32);
        }
    }
    for _ in 0..iters.min(1000) {
        if std::hint::black_box(probe.call(out)) < 0 {
            fail(EXIT_PROBE, errno());
        }
    }
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(probe.call(std::hint::black_box(out)));
    }
    let nanos = start.elapsed().as_nanos().min(u128::from(u64::MAX >> 1)) as u64;
    write_all(out, &nanos.to_ne_bytes());
    // SAFETY: as above.
    unsafe { libc::_exit(0) }
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> Result<(OwnedFd, OwnedFd), CostError> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(CostError::Os("pipe2", std::io::Error::last_os_error()));
    }
    // SAFETY: both descriptors were just created and are owned here only.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Fork a child that installs `stack` (nothing when empty), then time
/// `iters` calls of `probe` in it. Returns the child's elapsed time for the
/// loop.
pub fn time_in_child(
    stack: &[Vec<SockFilter>],
    probe: Probe,
    iters: u64,
) -> Result<Duration, CostError> {
    let (read_end, write_end) = pipe()?;
    // SAFETY: the child only makes system calls (prctl, seccomp, the probe,
    // clock_gettime, write) and _exits: no allocation or lock after fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(CostError::Os("fork", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        use std::os::fd::AsRawFd;
        child(stack, probe, iters, write_end.as_raw_fd());
    }
    drop(write_end);
    finish(pid, read_end)
}

/// Fork a child that runs `f` and sends back the duration it returns (or
/// its error code, reported as [`CostError::Install`]). Returns what the
/// child measured, not the fork.
///
/// Unlike [`time_in_child`], `f` may allocate: glibc's `fork` leaves the
/// allocator usable in the child. Used for things that cannot be undone,
/// like [`Prepared::apply`](exile::Prepared::apply).
pub fn measure_in_child<F>(f: F) -> Result<Duration, CostError>
where
    F: FnOnce() -> Result<Duration, i32>,
{
    let (read_end, write_end) = pipe()?;
    // SAFETY: the child runs `f`, writes 8 bytes and _exits; see above for
    // allocation after fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(CostError::Os("fork", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        use std::os::fd::AsRawFd;
        let out = write_end.as_raw_fd();
        let word = match f() {
            Ok(d) => d.as_nanos().min(u128::from(u64::MAX >> 1)) as u64,
            Err(e) => (u64::from(EXIT_INSTALL as u32) << 32 | u64::from(e as u32)) | 1 << 63,
        };
        write_all(out, &word.to_ne_bytes());
        // SAFETY: _exit ends the child without running the parent's
        // destructors.
        unsafe { libc::_exit(0) }
    }
    drop(write_end);
    finish(pid, read_end)
}

/// Read the child's word and reap it.
fn finish(pid: libc::pid_t, read_end: OwnedFd) -> Result<Duration, CostError> {
    let mut word = [0u8; 8];
    let mut file = std::fs::File::from(read_end);
    let read = file.read_exact(&mut word);
    let mut status = 0;
    loop {
        // SAFETY: `pid` is our child; `status` a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if errno() != libc::EINTR {
            return Err(CostError::Os("waitpid", std::io::Error::last_os_error()));
        }
    }
    if libc::WIFSIGNALED(status) {
        return Err(CostError::Killed(libc::WTERMSIG(status)));
    }
    let value = u64::from_ne_bytes(word);
    if read.is_ok() && value & (1 << 63) != 0 {
        let code = ((value >> 32) & 0x7fff_ffff) as i32;
        let e = value as u32 as i32;
        return Err(match code {
            EXIT_INSTALL => CostError::Install(e),
            _ => CostError::ProbeFailed(e),
        });
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    if code != 0 {
        return Err(CostError::Exit(code));
    }
    read.map_err(|e| CostError::Os("read", e))?;
    Ok(Duration::from_nanos(value))
}

/// The median of `rounds` timings of `iters` calls, in nanoseconds per call.
pub fn ns_per_call(
    stack: &[Vec<SockFilter>],
    probe: Probe,
    iters: u64,
    rounds: usize,
) -> Result<f64, CostError> {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        samples.push(time_in_child(stack, probe, iters)?.as_nanos() as f64 / iters.max(1) as f64);
    }
    Ok(median(&mut samples))
}

/// The median (the mean of the middle two for an even count).
pub fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
