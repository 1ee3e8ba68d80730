//! The probe mechanism: fork, let the child apply a policy and make one
//! operation, bring back what happened, compare with the expectation.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use exile::seccomp::compiler::CompileError;
use exile::{Error, Features, Policy, Report};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Gid, Pid, Uid};
use serde::{Deserialize, Serialize};

/// The uid/gid unprivileged probes run as (`nobody`).
pub const UNPRIV_ID: u32 = 65534;

/// How long a probe child may take before it is killed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// What a probe child observed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// The operation succeeded.
    Ok,
    /// The operation failed with this errno.
    Errno(i32),
    /// The child was killed by this signal.
    Signal(i32),
    /// The child exited with this code without reporting.
    Exit(i32),
    /// The policy failed to prepare or apply: error kind and message.
    PolicyError {
        /// A short stable kind, see [`error_kind`].
        kind: String,
        /// The error's message.
        message: String,
    },
    /// The operation produced a value (a read-back), rendered as text.
    Value(String),
    /// The child did not finish in time and was killed.
    Timeout,
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Ok => f.write_str("ok"),
            Observed::Errno(e) => write!(f, "errno({})", errno_name(*e)),
            Observed::Signal(s) => write!(f, "signal({})", signal_name(*s)),
            Observed::Exit(c) => write!(f, "exit({c})"),
            Observed::PolicyError { kind, message } => write!(f, "policy error {kind}: {message}"),
            Observed::Value(v) => write!(f, "value({v})"),
            Observed::Timeout => f.write_str("timeout"),
        }
    }
}

/// What a probe expects, computed from the detected features.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// Success.
    Ok,
    /// Failure with this errno.
    Errno(i32),
    /// Killed by this signal.
    Signal(i32),
    /// The policy fails with an error whose kind starts with this.
    PolicyError(String),
    /// This exact value.
    Value(String),
    /// The probe does not apply here, and why.
    Skip(String),
}

impl Expected {
    /// An errno expectation.
    pub fn errno(e: Errno) -> Expected {
        Expected::Errno(e as i32)
    }

    /// A signal expectation.
    pub fn signal(s: Signal) -> Expected {
        Expected::Signal(s as i32)
    }

    /// A policy-error expectation (kind prefix, see [`error_kind`]).
    pub fn policy_error(kind: &str) -> Expected {
        Expected::PolicyError(kind.to_owned())
    }

    /// A value expectation.
    pub fn value(v: impl Into<String>) -> Expected {
        Expected::Value(v.into())
    }

    /// Whether `observed` meets this expectation.
    pub fn matches(&self, observed: &Observed) -> bool {
        match (self, observed) {
            (Expected::Ok, Observed::Ok) => true,
            (Expected::Errno(a), Observed::Errno(b)) => a == b,
            (Expected::Signal(a), Observed::Signal(b)) => a == b,
            (Expected::PolicyError(prefix), Observed::PolicyError { kind, .. }) => {
                kind.starts_with(prefix.as_str())
            }
            (Expected::Value(a), Observed::Value(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Ok => f.write_str("ok"),
            Expected::Errno(e) => write!(f, "errno({})", errno_name(*e)),
            Expected::Signal(s) => write!(f, "signal({})", signal_name(*s)),
            Expected::PolicyError(k) => write!(f, "policy error {k}*"),
            Expected::Value(v) => write!(f, "value({v})"),
            Expected::Skip(why) => write!(f, "skip ({why})"),
        }
    }
}

/// `EPERM: Operation not permitted`, or the number when nix has no name.
fn errno_name(e: i32) -> String {
    match Errno::from_raw(e) {
        Errno::UnknownErrno => e.to_string(),
        known => known.to_string(),
    }
}

fn signal_name(s: i32) -> String {
    Signal::try_from(s).map_or_else(|_| s.to_string(), |sig| sig.as_str().to_owned())
}

/// A short, stable description of an exile error for expectations:
/// `unavailable:<mechanism>`, `apply:<mechanism>:<ERRNO>`, `keep_fd_not_open`,
/// `id_not_owned`, `conflict`, `seccomp:bad_errno`, …
pub fn error_kind(e: &Error) -> String {
    match e {
        Error::Unavailable { mechanism, .. } => format!("unavailable:{}", mechanism.label()),
        Error::Apply {
            mechanism, errno, ..
        } => {
            format!("apply:{}:{}", mechanism.label(), Errno::from_raw(*errno))
        }
        Error::KeepFdNotOpen { .. } => "keep_fd_not_open".into(),
        Error::InvalidFd { .. } => "invalid_fd".into(),
        Error::IdNotOwned { .. } => "id_not_owned".into(),
        Error::Conflict(_) => "conflict".into(),
        Error::Rlimit { .. } => "rlimit".into(),
        Error::UnknownCapability(_) => "unknown_capability".into(),
        Error::Path { .. } => "path".into(),
        Error::Probe { .. } => "probe".into(),
        Error::Landlock(_) => "landlock".into(),
        Error::Seccomp(e) => match e {
            CompileError::BadErrno { .. } => "seccomp:bad_errno".into(),
            CompileError::BadArg { .. } => "seccomp:bad_arg".into(),
            CompileError::TooLong { .. } => "seccomp:too_long".into(),
        },
        Error::VowOptions(_) => "vow_options".into(),
        other => format!("other:{other}"),
    }
}

/// Who runs a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// Whoever started the harness (root in CI).
    Invoker,
    /// uid/gid 65534, dropped to in the child (only when started as root).
    Unprivileged,
}

/// What expectations are computed from.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Features as detected by the identity that runs the probe.
    pub features: Features,
    /// Who runs the probe.
    pub identity: Identity,
    /// The effective uid in the probe child (before any namespace).
    pub uid: u32,
    /// The effective gid in the probe child.
    pub gid: u32,
    /// The emulated kernel, if any.
    pub persona: Option<crate::persona::Persona>,
}

impl Ctx {
    /// Whether the probe runs as root (uid 0).
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// The body of a probe: runs in the forked child, after the identity switch.
pub type Body = Arc<dyn Fn(&Ctx) -> Observed + Send + Sync>;
/// The expectation of a probe, from the context.
pub type Expect = Arc<dyn Fn(&Ctx) -> Expected + Send + Sync>;

/// One probe of the registry.
#[derive(Clone)]
pub struct Probe {
    /// Hierarchical name, e.g. `ns::user::map_root`.
    pub name: String,
    /// What happens in the child.
    pub body: Body,
    /// What should happen.
    pub expected: Expect,
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Probe {
    /// A probe from a name, a body and an expectation.
    pub fn new(
        name: impl Into<String>,
        body: impl Fn(&Ctx) -> Observed + Send + Sync + 'static,
        expected: impl Fn(&Ctx) -> Expected + Send + Sync + 'static,
    ) -> Probe {
        Probe {
            name: name.into(),
            body: Arc::new(body),
            expected: Arc::new(expected),
        }
    }
}

/// Prepare and apply a policy in the probe child; on error, the
/// [`Observed::PolicyError`] to report.
pub fn apply(policy: &Policy) -> Result<Report, Observed> {
    policy
        .prepare()
        .and_then(|p| p.apply())
        .map_err(|e| Observed::PolicyError {
            kind: error_kind(&e),
            message: e.to_string(),
        })
}

/// The errno of a failed libc-style call (-1 return), as an observation.
pub fn observe<T>(r: Result<T, Errno>) -> Observed {
    match r {
        Ok(_) => Observed::Ok,
        Err(e) => Observed::Errno(e as i32),
    }
}

/// A raw system call's return value as an observation: negative is the
/// errno, anything else success.
pub fn sys(r: libc::c_long) -> Observed {
    if r < 0 {
        // The raw value: nix maps errnos it has no name for to 0.
        Observed::Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Observed::Ok
    }
}

/// A raw system call with up to 6 integer arguments, observed.
pub fn call(nr: libc::c_long, a: [libc::c_long; 6]) -> Observed {
    // SAFETY: probes pass integers, NULL, or pointers to live locals; the
    // kernel validates them (the point is what the sandbox lets through).
    sys(unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) })
}

/// Switch the calling (child) process to `identity`.
pub fn become_identity(identity: Identity) -> Result<(), Errno> {
    if identity == Identity::Unprivileged {
        let id = Gid::from_raw(UNPRIV_ID);
        nix::unistd::setgroups(&[id])?;
        nix::unistd::setresgid(id, id, id)?;
        let uid = Uid::from_raw(UNPRIV_ID);
        nix::unistd::setresuid(uid, uid, uid)?;
    }
    Ok(())
}

static REPORT_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// In a probe child: the fd results travel back on. A probe that closes fds
/// must keep it.
pub fn report_fd() -> i32 {
    REPORT_FD.load(std::sync::atomic::Ordering::Relaxed)
}

/// Run `f` in a forked child as `identity` and bring back its result
/// (serialized as JSON through a pipe). Killed after `timeout`.
pub fn in_child<T, F>(identity: Identity, timeout: Duration, f: F) -> Result<T, Observed>
where
    T: Serialize + for<'de> Deserialize<'de>,
    F: FnOnce() -> T,
{
    let (rd, wr) = nix::unistd::pipe().map_err(|e| Observed::Errno(e as i32))?;
    // SAFETY: the harness's child only runs the probe body and exits with
    // _exit; the allocator is fork-safe with glibc, and the child never
    // touches locks other threads might hold (no stdio, no env).
    match unsafe { fork() } {
        Err(e) => Err(Observed::Errno(e as i32)),
        Ok(ForkResult::Child) => {
            drop(rd);
            REPORT_FD.store(wr.as_raw_fd(), std::sync::atomic::Ordering::Relaxed);
            let persona_ok = crate::persona::enter_in_child().is_ok();
            let code = match become_identity(identity) {
                _ if !persona_ok => 102,
                Err(_) => 100,
                Ok(()) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                    Ok(value) => {
                        let bytes = serde_json::to_vec(&value).unwrap_or_default();
                        let mut rest = &bytes[..];
                        while !rest.is_empty() {
                            match nix::unistd::write(&wr, rest) {
                                Ok(n) => rest = &rest[n..],
                                Err(Errno::EINTR) => {}
                                Err(_) => break,
                            }
                        }
                        0
                    }
                    Err(_) => 101,
                },
            };
            // SAFETY: leave the child at once, without running destructors
            // or atexit handlers that belong to the parent.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => {
            drop(wr);
            let out = read_with_deadline(rd, Instant::now() + timeout);
            let status = match out {
                Ok(_) => wait(child),
                Err(()) => {
                    let _ = kill(child, Signal::SIGKILL);
                    let _ = wait(child);
                    crate::fixture::remove_for(child.as_raw());
                    return Err(Observed::Timeout);
                }
            };
            crate::fixture::remove_for(child.as_raw());
            let bytes = out.unwrap_or_default();
            match status {
                WaitStatus::Signaled(_, sig, _) => Err(Observed::Signal(sig as i32)),
                WaitStatus::Exited(_, 0) if !bytes.is_empty() => serde_json::from_slice(&bytes)
                    .map_err(|e| Observed::Value(format!("undecodable child output: {e}"))),
                WaitStatus::Exited(_, code) => Err(Observed::Exit(code)),
                other => Err(Observed::Value(format!("unexpected wait status {other:?}"))),
            }
        }
    }
}

fn wait(child: Pid) -> WaitStatus {
    loop {
        match waitpid(child, Some(WaitPidFlag::__WALL)) {
            Err(Errno::EINTR) => continue,
            Ok(s) => return s,
            Err(_) => return WaitStatus::StillAlive,
        }
    }
}

fn read_with_deadline(fd: OwnedFd, deadline: Instant) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(());
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Err(Errno::EINTR) | Ok(0) => continue,
            Err(_) => return Err(()),
            Ok(_) => {}
        }
        match nix::unistd::read(&fd, &mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => {}
            Err(_) => return Ok(out),
        }
    }
}

/// Run one probe as `identity`: fork, run the body, bring back the observation.
pub fn run_probe(probe: &Probe, ctx: &Ctx) -> Observed {
    let body = probe.body.clone();
    let c = ctx.clone();
    match in_child(ctx.identity, PROBE_TIMEOUT, move || body(&c)) {
        Ok(observed) => observed,
        Err(observed) => observed,
    }
}
