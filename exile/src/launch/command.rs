//! `Command` integration: apply a policy in `pre_exec`.

use std::fmt::{self, Write as _};
use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::sync::Arc;

use super::os;
use crate::{Error, Prepared};

/// Spawn a program under a policy: `Command::new("tar").sandbox(prepared)`.
///
/// The policy is applied in the child between `fork` and `execve`
/// (`pre_exec`), so the program runs under it from its first instruction;
/// what survives `execve` stays in force (namespaces, no_new_privs,
/// resource limits, capabilities, Landlock, seccomp). `apply` makes only
/// system calls, which is what `pre_exec` allows.
///
/// When `apply` fails, the spawn fails: std carries only an errno from the
/// child to the parent, so `spawn()` returns
/// `io::Error::from_raw_os_error(errno)` of the failing step, and the full
/// message (`exile: the sandbox policy could not be applied before exec:
/// …`) is written to the child's stderr — whatever the `Command`'s stderr
/// is.
///
/// With `close_fds` in the policy, std's own close-on-exec error pipe is
/// closed too: a failure (of a later apply step or of `execve`) then shows
/// as the child exiting with status 1 instead of an error from `spawn`,
/// with the message on stderr as above.
///
/// *Vows and dynamically linked programs:* the dynamic loader needs
/// `execve`, `mmap` with `PROT_EXEC` and read access to the libraries; a
/// vow helper for this will be documented here once vows land.
///
/// ```no_run
/// use std::process::Command;
/// use exile::CommandExt;
///
/// let prepared = exile::Policy::new().no_new_fds().prepare()?;
/// let status = Command::new("/bin/true").sandbox(prepared).status()?;
/// assert!(status.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait CommandExt {
    /// Apply `prepared` in the child before `execve`.
    ///
    /// Takes the policy by value or as an `Arc` (it lives as long as the
    /// `Command` and is applied again for every spawn).
    ///
    /// ```no_run
    /// use std::process::Command;
    /// use std::sync::Arc;
    /// use exile::CommandExt;
    ///
    /// let prepared = Arc::new(exile::Policy::new().prepare()?);
    /// let a = Command::new("/bin/echo").arg("a").sandbox(prepared.clone()).output()?;
    /// let b = Command::new("/bin/echo").arg("b").sandbox(prepared).output()?;
    /// assert_eq!((a.stdout, b.stdout), (b"a\n".to_vec(), b"b\n".to_vec()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn sandbox(&mut self, prepared: impl Into<Arc<Prepared>>) -> &mut Self;
}

impl CommandExt for Command {
    fn sandbox(&mut self, prepared: impl Into<Arc<Prepared>>) -> &mut Command {
        let prepared: Arc<Prepared> = prepared.into();
        let hook = move || -> io::Result<()> {
            match prepared.apply() {
                Ok(_) => Ok(()),
                Err(err) => {
                    tell_stderr(&err);
                    let errno = err.errno().map_or(libc::EPERM, |e| e as i32);
                    Err(io::Error::from_raw_os_error(errno))
                }
            }
        };
        // SAFETY: the hook runs in the forked child before execve and does
        // only what is allowed there: `apply` makes system calls without
        // allocating or locking; `tell_stderr` formats into a stack buffer
        // and calls write(2); `from_raw_os_error` does not allocate.
        unsafe { self.pre_exec(hook) }
    }
}

/// A `fmt::Write` into a fixed buffer that drops what does not fit.
struct StackText {
    buf: [u8; 1024],
    len: usize,
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Write the error to fd 2 without allocating.
fn tell_stderr(err: &Error) {
    let mut text = StackText {
        buf: [0; 1024],
        len: 0,
    };
    let _ = writeln!(
        text,
        "exile: the sandbox policy could not be applied before exec: {err}"
    );
    if text.len == text.buf.len() {
        text.buf[text.len - 1] = b'\n';
    }
    let _ = os::write_all(libc::STDERR_FILENO, &text.buf[..text.len]);
}
