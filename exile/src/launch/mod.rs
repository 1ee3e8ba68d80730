//! Isolate a single function: run a closure in a forked child under a
//! policy, and get its value back — or exactly what went wrong.
//!
//! ```no_run
//! let prepared = exile::Policy::new().no_new_fds().prepare()?;
//! let n: usize = exile::launch(&prepared, || "untrusted input".split(' ').count())?;
//! assert_eq!(n, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`launch`] forks (a plain `fork()`, no shared memory), the child applies
//! the [`Prepared`] policy, runs the closure and sends its value back
//! serialized with postcard (`T: Serialize + DeserializeOwned`); the parent
//! reads while the child writes (any size), then reaps the child — always,
//! also on timeout, decode errors and when a [`Streaming`] is dropped. The
//! outcome is a `Result<T, LaunchError>`:
//!
//! | what happened in the child | result |
//! |---|---|
//! | the closure returned `v` | `Ok(v)` |
//! | the closure panicked | [`LaunchError::Panicked`] with the message and location |
//! | the policy could not be applied (the closure did not run) | [`LaunchError::Apply`] with the child's [`Error`] |
//! | a signal killed it (a seccomp kill is SIGSYS) | [`LaunchError::Signaled`], with the [`Syscall`] for a seccomp trap |
//! | it ran past [`Launcher::timeout`] | [`LaunchError::TimedOut`] (killed with SIGKILL, reaped) |
//! | it exited without a result (`process::exit`, `_exit`, `exec`) | [`LaunchError::Exited`] |
//! | the result did not decode / could not be encoded | [`LaunchError::Decode`] / [`LaunchError::Encode`] |
//! | `socketpair`, `fork`, `poll` or `waitid` failed in the parent | [`LaunchError::Io`] |
//!
//! This fixes exile.h's `exile_launch` (defect 11: a return value its docs
//! contradict, a leaked stack) and `exile_launch_get` (defect 12: the child
//! is never reaped and a kill cannot be told from success).
//!
//! # The channel is the child's fd 0
//!
//! Parent and child talk through one `AF_UNIX` stream socket pair, created
//! close-on-exec. In the child its end is moved to **fd 0** — a policy's
//! `close_fds` always keeps fds 0, 1 and 2, so the channel survives
//! whatever the keep-list says, and `no_new_fds` does not matter as no fd
//! is opened after `apply` — and the child's copy of the parent's end is
//! closed. Consequences:
//!
//! - the child's stdin *is* its input: [`Input`] reads fd 0, and so would
//!   `std::io::stdin()` (minus anything std had already buffered in the
//!   parent); without [`Launcher::input`] it reads end of file at once;
//! - the closure must not write to fd 0 or close it: results travel there
//!   in frames ([`LaunchError::Decode`] or [`LaunchError::Exited`] follow);
//! - stdout and stderr are the parent's;
//! - a program the closure `exec`s inherits the channel as its stdin, like
//!   any stdin (and the result is then [`LaunchError::Exited`]).
//!
//! The parent feeds input and reads output with non-blocking calls on one
//! `poll` loop, so neither side can block the other however much either
//! sends. It watches the child through a pidfd (Linux 5.3), so a grandchild
//! that inherited the channel cannot keep it waiting; on older kernels it
//! waits for end of stream (a grandchild holding fd 0 then delays the
//! result until it exits — or the timeout).
//!
//! ## Frame protocol (child → parent)
//!
//! A frame is a 1-byte tag, a `u32` little-endian payload length, the payload:
//!
//! | tag | payload | meaning |
//! |---|---|---|
//! | `R` | postcard [`Report`] | `apply` succeeded; what is in force ([`Streaming::report`]) |
//! | `D` | ≤ 64 KiB of bytes | streaming output ([`Output`]) |
//! | `S` | `nr: u32`, `arch: u32` (LE) | the SIGSYS handler: a seccomp trap |
//! | `V` | postcard `T` | final: the value |
//! | `P` | postcard `(String, Option<String>)` | final: panic message and location |
//! | `A` | postcard [`Error`] | final: `apply` failed |
//! | `E` | UTF-8 text | final: serializing the value failed |
//!
//! The parent → child direction carries only the raw input bytes, ended by
//! `shutdown(SHUT_WR)`.
//!
//! # Which system call? Trap versus kill
//!
//! Before applying the policy the child installs a SIGSYS handler
//! (`SA_SIGINFO | SA_RESETHAND | SA_NODEFER`). When a seccomp filter's
//! action is **trap** (`SECCOMP_RET_TRAP`, exile's diagnosis mode), the
//! kernel delivers SIGSYS with `si_code == SYS_SECCOMP`, `si_syscall` and
//! `si_arch`; the handler writes them as an `S` frame (one `write`,
//! async-signal-safe) and re-raises SIGSYS, so the child still dies of
//! SIGSYS and the parent reports
//! `Signaled { signal: SIGSYS, syscall: Some(Syscall { nr, arch, name }) }`.
//!
//! When the action is **kill** (`SECCOMP_RET_KILL_PROCESS`/`_THREAD`, the
//! default), no handler runs. What the parent can know is exactly what
//! `waitid` says: killed by SIGSYS (`CLD_KILLED`, or `CLD_DUMPED` when a
//! core was written) — so `syscall` is `None`. The number is not in
//! `waitid`'s siginfo; `/proc/<pid>/syscall` is gone once the child is dead
//! (and unreadable while it is not dumpable); the kernel logs the kill to
//! the audit log / kmsg (`type=1326 … syscall=N`), which an unprivileged
//! parent cannot read reliably; a core dump would hold it but the default
//! policy is not dumpable; ptrace (`PTRACE_O_TRACESECCOMP` works only with
//! `SECCOMP_RET_TRACE`) would make every launch a tracer. To learn which
//! call a kill policy forbids, run the same closure with the trap action.
//! A SIGSYS sent with `kill()` is reported without a syscall too.
//!
//! # What the closure may do
//!
//! The child is a `fork()` of the calling thread only. In a multi-threaded
//! parent, strictly only async-signal-safe work is safe after `fork()`:
//! `apply` is only system calls, so the sandbox itself is always set up
//! correctly. The closure then runs in a copy of a process whose other
//! threads vanished mid-flight:
//!
//! - **memory allocation is fine** with glibc (its `malloc` is made
//!   fork-safe by atfork handlers) and with musl since 1.2.2;
//! - **locks other threads held at the fork stay locked forever**: Rust's
//!   `stdout`/`stderr` locks (a thread printing at that moment), the
//!   environment lock (`env::set_var` in progress), any `Mutex` of your own.
//!   Touching one deadlocks the child — set a [`Launcher::timeout`] if
//!   other threads may hold locks the closure takes;
//! - the child replaces the panic hook with one that records the location
//!   and prints nothing (the message goes to the parent), so a panic never
//!   waits for the stderr lock (replacing it takes std's hook lock, which is
//!   only held while some thread is panicking);
//! - it ends with `_exit`: no atexit handlers, no destructors, no flush of
//!   buffered stdout — write through [`Output`] or flush yourself;
//! - nothing global is installed in the parent; the child's SIGSYS handler
//!   and panic hook exist only in the child.
//!
//! # Running a program instead: [`CommandExt`]
//!
//! `Command::new("tar").sandbox(prepared)` applies the policy in
//! `pre_exec`, so the program runs under it from its first instruction.
//!
//! *Vows and dynamically linked programs:* the program's dynamic loader
//! runs under the policy too. [`DynamicProgram`] adds what it needs: vows
//! `stdio rpath exec prot_exec`, read and execute on the program, its
//! loader (`PT_INTERP`) and the library directories, read on
//! `/etc/ld.so.cache`.

use std::fmt;
use std::io::{self, Read};
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Prepared, Report};

mod child;
mod command;
mod frame;
mod os;
mod parent;

pub use child::{Input, Output};
pub use command::{CommandExt, DynamicProgram};

use parent::{Core, Source};

/// Run `f` in a forked child under `prepared` and return its value.
///
/// The short form of [`Launcher::new(prepared).run(f)`](Launcher::run): no
/// input, no timeout. See the [module docs](self) for what the closure may
/// do and every outcome.
///
/// ```no_run
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Summary { words: usize, longest: String }
///
/// let prepared = exile::Policy::new().no_new_fds().prepare()?;
/// let text = "a parser of untrusted input";
/// let summary = exile::launch(&prepared, || Summary {
///     words: text.split(' ').count(),
///     longest: text.split(' ').max_by_key(|w| w.len()).unwrap_or("").to_owned(),
/// })?;
/// assert_eq!(summary.words, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn launch<T, F>(prepared: &Prepared, f: F) -> Result<T, LaunchError>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> T,
{
    Launcher::new(prepared).run(f)
}

/// Run `f` in a forked child under `prepared`; read what it writes to its
/// [`Output`] as it writes it.
///
/// The short form of [`Launcher::new(prepared).stream(..)`](Launcher::stream)
/// without input or timeout.
///
/// ```no_run
/// use std::io::{BufRead, BufReader, Write};
///
/// let prepared = exile::Policy::new().prepare()?;
/// let stream = exile::launch_stream(&prepared, |out: &mut exile::launch::Output| {
///     for i in 0..1000 {
///         writeln!(out, "record {i}").unwrap();
///     }
///     1000u32
/// })?;
/// let mut reader = BufReader::new(stream);
/// let mut first = String::new();
/// reader.read_line(&mut first)?;
/// assert_eq!(first, "record 0\n");
/// let count = reader.into_inner().wait()?; // the rest is discarded
/// assert_eq!(count, 1000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn launch_stream<T, F>(prepared: &Prepared, f: F) -> Result<Streaming<T>, LaunchError>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce(&mut Output) -> T,
{
    Launcher::new(prepared).stream(move |_, out| f(out))
}

/// Options of a launch: input, timeout.
///
/// ```no_run
/// use std::time::Duration;
///
/// let prepared = exile::Policy::new().prepare()?;
/// let result = exile::Launcher::new(&prepared)
///     .timeout(Duration::from_secs(5))
///     .run(|| 6 * 7);
/// assert_eq!(result?, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Launcher<'a> {
    prepared: &'a Prepared,
    timeout: Option<Duration>,
    input: Source,
}

impl fmt::Debug for Launcher<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = match &self.input {
            Source::None => "none".to_owned(),
            Source::Bytes(b) => format!("{} bytes", b.len()),
            Source::Reader(_) => "a reader".to_owned(),
        };
        f.debug_struct("Launcher")
            .field("timeout", &self.timeout)
            .field("input", &input)
            .finish_non_exhaustive()
    }
}

impl<'a> Launcher<'a> {
    /// A launcher for `prepared`: no input, no timeout.
    ///
    /// ```no_run
    /// let prepared = exile::Policy::new().prepare()?;
    /// let n = exile::Launcher::new(&prepared).run(|| 1 + 1)?;
    /// # assert_eq!(n, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(prepared: &'a Prepared) -> Launcher<'a> {
        Launcher {
            prepared,
            timeout: None,
            input: Source::None,
        }
    }

    /// Kill the child (SIGKILL) and reap it if it has not finished after
    /// `timeout`; the result is then [`LaunchError::TimedOut`]. The clock
    /// starts at the fork. For a [`Streaming`] it covers the whole stream.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let prepared = exile::Policy::new().prepare()?;
    /// let r = exile::Launcher::new(&prepared)
    ///     .timeout(Duration::from_millis(100))
    ///     .run(|| -> u8 { loop { std::hint::spin_loop() } });
    /// assert!(matches!(r, Err(exile::LaunchError::TimedOut { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Launcher<'a> {
        self.timeout = Some(timeout);
        self
    }

    /// Give the child these bytes as its input (exile.h's second pipe):
    /// the closure reads them from its [`Input`] (or fd 0), then end of file.
    ///
    /// ```no_run
    /// use std::io::Read;
    /// let prepared = exile::Policy::new().prepare()?;
    /// let len = exile::Launcher::new(&prepared)
    ///     .input(vec![1u8, 2, 3])
    ///     .run_with_input(|input| input.read_to_end(&mut Vec::new()).unwrap_or(0))?;
    /// assert_eq!(len, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn input(mut self, bytes: impl Into<Vec<u8>>) -> Launcher<'a> {
        self.input = Source::Bytes(bytes.into());
        self
    }

    /// Give the child what `reader` yields as its input, read in the
    /// parent as the child consumes it (so any size streams through).
    ///
    /// The reader is read on the parent's poll loop: a reader that blocks
    /// (a socket, a terminal) delays reading the child's output and the
    /// timeout until it returns. A read error kills the child and the
    /// result is [`LaunchError::Io`].
    ///
    /// ```no_run
    /// use std::io::Read;
    /// let prepared = exile::Policy::new().prepare()?;
    /// let file = std::fs::File::open("/etc/hostname")?;
    /// let lines = exile::Launcher::new(&prepared)
    ///     .input_reader(file)
    ///     .run_with_input(|input| {
    ///         let mut s = String::new();
    ///         input.read_to_string(&mut s).map(|_| s.lines().count()).unwrap_or(0)
    ///     })?;
    /// # let _ = lines;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn input_reader(mut self, reader: impl Read + Send + 'static) -> Launcher<'a> {
        self.input = Source::Reader(Box::new(reader));
        self
    }

    /// Run `f` in the child and return its value.
    ///
    /// ```no_run
    /// let prepared = exile::Policy::new().prepare()?;
    /// let v: Vec<u64> = exile::Launcher::new(&prepared).run(|| (1..=3).collect())?;
    /// assert_eq!(v, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run<T, F>(self, f: F) -> Result<T, LaunchError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        self.stream(|_, _| f())?.wait()
    }

    /// Run `f` in the child with a reader of the [input](Launcher::input)
    /// and return its value.
    ///
    /// ```no_run
    /// use std::io::Read;
    /// let prepared = exile::Policy::new().prepare()?;
    /// let sum = exile::Launcher::new(&prepared)
    ///     .input(vec![1u8, 2, 3])
    ///     .run_with_input(|input| {
    ///         let mut bytes = Vec::new();
    ///         input.read_to_end(&mut bytes).map(|_| bytes.iter().map(|&b| u32::from(b)).sum::<u32>()).ok()
    ///     })?;
    /// assert_eq!(sum, Some(6));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_with_input<T, F>(self, f: F) -> Result<T, LaunchError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&mut Input) -> T,
    {
        self.stream(|input, _| f(input))?.wait()
    }

    /// Start `f` in the child with its [`Input`] and [`Output`]; the
    /// returned [`Streaming`] reads the output as it is written, feeds the
    /// input as it is consumed, and [`wait`](Streaming::wait)s for the value.
    ///
    /// ```no_run
    /// use std::io::{Read, Write};
    /// let prepared = exile::Policy::new().prepare()?;
    /// let mut stream = exile::Launcher::new(&prepared)
    ///     .input("shout this")
    ///     .stream(|input, output| {
    ///         let mut buf = [0u8; 4096];
    ///         let mut total = 0u64;
    ///         while let Ok(n @ 1..) = input.read(&mut buf) {
    ///             output.write_all(&buf[..n].to_ascii_uppercase()).unwrap();
    ///             total += n as u64;
    ///         }
    ///         total
    ///     })?;
    /// let mut echoed = String::new();
    /// stream.read_to_string(&mut echoed)?;
    /// assert_eq!(echoed, "SHOUT THIS");
    /// assert_eq!(stream.wait()?, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream<T, F>(self, f: F) -> Result<Streaming<T>, LaunchError>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(&mut Input, &mut Output) -> T,
    {
        let (parent_end, child_end) = os::socketpair().map_err(|e| LaunchError::Io {
            op: "socketpair",
            source: e.into(),
        })?;
        let pid = os::fork().map_err(|e| LaunchError::Io {
            op: "fork",
            source: e.into(),
        })?;
        if pid == 0 {
            child::run(
                self.prepared,
                parent_end.as_raw_fd(),
                child_end.as_raw_fd(),
                f,
            );
        }
        drop(child_end);
        Ok(Streaming {
            core: Core::new(pid, parent_end, self.input, self.timeout),
            _value: PhantomData,
        })
    }
}

/// A running sandboxed child: read its [`Output`] with [`Read`], then
/// [`wait`](Streaming::wait) for its value.
///
/// Reading returns the bytes the closure wrote, in order, and end of file
/// when the closure is done (or the child died); an error of kind
/// `TimedOut` when the [timeout](Launcher::timeout) killed it. `wait`
/// discards output not read yet and returns the same outcome as
/// [`launch`]. Dropping a `Streaming` without waiting kills the child
/// (SIGKILL) and reaps it.
///
/// ```no_run
/// use std::io::Read;
/// let prepared = exile::Policy::new().prepare()?;
/// let mut stream = exile::launch_stream(&prepared, |out| {
///     std::io::Write::write_all(out, &vec![7u8; 10 << 20]).is_ok()
/// })?;
/// let mut total = 0;
/// let mut buf = vec![0u8; 1 << 16];
/// loop {
///     let n = stream.read(&mut buf)?;
///     if n == 0 { break; }
///     total += n;
/// }
/// assert_eq!(total, 10 << 20);
/// assert!(stream.wait()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Streaming<T> {
    core: Core,
    _value: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Streaming<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming")
            .field("core", &self.core)
            .finish()
    }
}

impl<T> Read for Streaming<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.core.read_data(buf)
    }
}

impl<T: DeserializeOwned> Streaming<T> {
    /// Wait for the closure's value (discarding unread output) and reap the child.
    ///
    /// ```no_run
    /// let prepared = exile::Policy::new().prepare()?;
    /// let stream = exile::launch_stream(&prepared, |_out| "done".to_owned())?;
    /// assert_eq!(stream.wait()?, "done");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait(self) -> Result<T, LaunchError> {
        self.wait_with_report().0
    }

    /// [`wait`](Streaming::wait), and also return the [`Report`] of what
    /// the policy put in force in the child (`None` when `apply` failed or
    /// the child died before sending it).
    ///
    /// ```no_run
    /// let prepared = exile::Policy::new().prepare()?;
    /// let (value, report) = exile::launch_stream(&prepared, |_| 1u8)?.wait_with_report();
    /// assert_eq!(value?, 1);
    /// assert!(report.unwrap().status(exile::Mechanism::NoNewPrivs).is_enforced());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_with_report(mut self) -> (Result<T, LaunchError>, Option<Report>) {
        let result = self.core.finish().and_then(|bytes| decode(&bytes));
        (result, self.core.report.take())
    }
}

impl<T> Streaming<T> {
    /// The [`Report`] the child sent after applying the policy, once the
    /// reader has got past it (it precedes all output).
    ///
    /// ```no_run
    /// use std::io::Read;
    /// let prepared = exile::Policy::new().prepare()?;
    /// let mut stream = exile::launch_stream(&prepared, |out| {
    ///     std::io::Write::write_all(out, b"x").is_ok()
    /// })?;
    /// let mut byte = [0u8; 1];
    /// stream.read_exact(&mut byte)?;
    /// assert!(stream.report().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn report(&self) -> Option<&Report> {
        self.core.report.as_ref()
    }

    /// The child's process id (valid until it is reaped by `wait` or drop).
    ///
    /// ```no_run
    /// let prepared = exile::Policy::new().prepare()?;
    /// let stream = exile::launch_stream(&prepared, |_| ())?;
    /// println!("child {}", stream.id());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn id(&self) -> u32 {
        self.core.pid() as u32
    }
}

/// Decode a value frame's payload: exactly one `T`, nothing after it.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, LaunchError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(LaunchError::Decode(format!(
            "{} bytes left after the value (the child's type differs from the parent's?)",
            rest.len()
        ))),
        Err(e) => Err(LaunchError::Decode(format!(
            "{e} ({} bytes; the child's type differs from the parent's?)",
            bytes.len()
        ))),
    }
}

/// A system call a seccomp filter trapped in the child.
///
/// ```
/// # fn f(err: exile::LaunchError) {
/// if let exile::LaunchError::Signaled { syscall: Some(call), .. } = &err {
///     eprintln!("forbidden: {}", call.name.unwrap_or("(unknown)"));
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Syscall {
    /// The system call number (`si_syscall`).
    pub nr: u32,
    /// The ABI it was made with (`si_arch`, an `AUDIT_ARCH_*` value).
    pub arch: u32,
    /// Its name, for the native ABI when exile's table knows the number.
    pub name: Option<&'static str>,
}

/// `AUDIT_ARCH_*` of the architecture exile is built for.
const NATIVE_AUDIT_ARCH: u32 = crate::seccomp::rules::Arch::native().audit_arch();

impl Syscall {
    fn new(nr: u32, arch: u32) -> Syscall {
        let name = if arch == NATIVE_AUDIT_ARCH {
            crate::seccomp::syscalls::name(nr)
        } else {
            None
        };
        Syscall { nr, arch, name }
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "{name} (nr {})", self.nr),
            None if self.arch == NATIVE_AUDIT_ARCH => {
                write!(f, "system call nr {}", self.nr)
            }
            None => write!(
                f,
                "system call nr {} of the foreign ABI {:#x}",
                self.nr, self.arch
            ),
        }
    }
}

/// Why a launched closure gave no value.
///
/// ```no_run
/// let prepared = exile::Policy::new().prepare()?;
/// match exile::launch(&prepared, || -> u8 { panic!("bad input") }) {
///     Err(exile::LaunchError::Panicked { message, .. }) => assert_eq!(message, "bad input"),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), exile::Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum LaunchError {
    /// The closure panicked.
    Panicked {
        /// The panic message (`&str` and `String` payloads; `Box<dyn Any>` otherwise).
        message: String,
        /// `file:line:column` of the panic.
        location: Option<String>,
    },
    /// A signal killed the child.
    Signaled {
        /// The signal number (`libc::SIGSYS` for a seccomp kill or trap).
        signal: i32,
        /// A core dump was written.
        core_dumped: bool,
        /// For SIGSYS from a seccomp *trap*: the system call. `None` for the
        /// kill action, whose victim cannot report it (see the module docs).
        syscall: Option<Syscall>,
    },
    /// The policy could not be applied in the child; the closure did not run.
    Apply(Error),
    /// The child ran past the timeout; it was killed with SIGKILL and reaped.
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// What the child sent could not be decoded (the child was killed and reaped).
    Decode(String),
    /// The child could not serialize the closure's value.
    Encode(String),
    /// The child exited without sending a result (`process::exit`, `_exit`,
    /// a successful `exec`, or closing fd 0).
    Exited {
        /// The exit code.
        code: i32,
    },
    /// A system call of the parent failed (`socketpair`, `fork`, `poll`,
    /// `waitid`, reading the input).
    Io {
        /// What failed.
        op: &'static str,
        /// The error.
        source: io::Error,
    },
}

/// The name of a signal, like `SIGSYS`.
fn signal_name(signal: i32) -> Option<&'static str> {
    nix::sys::signal::Signal::try_from(signal)
        .ok()
        .map(|s| s.as_str())
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::Panicked { message, location } => {
                write!(f, "the sandboxed function panicked: {message}")?;
                if let Some(at) = location {
                    write!(f, " (at {at})")?;
                }
                Ok(())
            }
            LaunchError::Signaled {
                signal,
                core_dumped,
                syscall,
            } => {
                write!(f, "the sandboxed child was killed by signal {signal}")?;
                if let Some(name) = signal_name(*signal) {
                    write!(f, " ({name})")?;
                }
                if *core_dumped {
                    f.write_str(", core dumped")?;
                }
                match (syscall, *signal == libc::SIGSYS) {
                    (Some(call), _) => write!(
                        f,
                        ": the seccomp filter forbids {call}; allow it in the policy or avoid the call"
                    ),
                    (None, true) => f.write_str(
                        ": most likely a seccomp filter killed it for a forbidden system call; \
                         the kill action does not say which — use the trap action to get its name",
                    ),
                    (None, false) => Ok(()),
                }
            }
            LaunchError::Apply(err) => write!(
                f,
                "the policy could not be applied in the child (the function did not run): {err}"
            ),
            LaunchError::TimedOut { after } => write!(
                f,
                "the sandboxed child did not finish within {after:?} and was killed"
            ),
            LaunchError::Decode(why) => {
                write!(
                    f,
                    "the sandboxed child's result could not be decoded: {why}"
                )
            }
            LaunchError::Encode(why) => write!(
                f,
                "the sandboxed child could not serialize its result: {why}"
            ),
            LaunchError::Exited { code } => write!(
                f,
                "the sandboxed child exited with code {code} without returning a result \
                 (did the function call process::exit or exec, or close fd 0?)"
            ),
            LaunchError::Io { op, source } => write!(f, "launch: {op} failed: {source}"),
        }
    }
}

impl std::error::Error for LaunchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LaunchError::Apply(err) => Some(err),
            LaunchError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
