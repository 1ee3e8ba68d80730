//! The child side of `launch`: channel on fd 0, SIGSYS handler, apply,
//! run the closure, send the result, `_exit`.

use std::any::Any;
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use serde::Serialize;

use super::frame::{self, CHUNK, HEADER};
use super::os;
use crate::Prepared;

/// The child's end of the channel, always fd 0: the policy's `close_fds`
/// keeps fds 0, 1 and 2 whatever its keep-list says.
pub(crate) const CHANNEL: RawFd = 0;

/// Exit codes of the child when it cannot report through the channel (the
/// parent reports them as [`LaunchError::Exited`](super::LaunchError::Exited)).
pub(crate) mod code {
    /// The value was sent.
    pub(crate) const OK: i32 = 0;
    /// The closure panicked (frame `P` sent).
    pub(crate) const PANIC: i32 = 101;
    /// `apply` failed (frame `A` sent).
    pub(crate) const APPLY: i32 = 125;
    /// Moving the channel to fd 0 failed.
    pub(crate) const SETUP: i32 = 126;
    /// Writing to the channel failed (the closure closed fd 0, or the parent is gone).
    pub(crate) const CHANNEL: i32 = 127;
    /// The SIGSYS handler could not re-raise SIGSYS (a filter returned an errno for `tgkill`).
    pub(crate) const SIGSYS_NOT_RAISED: i32 = 159;
}

/// Set while a frame is being written, so that the SIGSYS handler does not
/// write into the middle of it (only possible when the closure's threads
/// trap while another thread writes).
static IN_FRAME: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Where the last panic on this thread happened (set by the child's hook).
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Write one complete frame (header included) to the channel.
fn send(bytes: &[u8]) -> Result<(), Errno> {
    IN_FRAME.store(true, Ordering::SeqCst);
    let r = os::write_all(CHANNEL, bytes);
    IN_FRAME.store(false, Ordering::SeqCst);
    r
}

/// Serialize `value` into a frame in `buf` (no allocation) and send it;
/// fall back to an allocated buffer when `buf` is too small.
fn send_small<V: Serialize>(tag: u8, value: &V, buf: &mut [u8]) -> Result<(), Errno> {
    let len = match postcard::to_slice(value, &mut buf[HEADER..]) {
        Ok(payload) => payload.len(),
        Err(_) => {
            let payload = postcard::to_allocvec(value).map_err(|_| Errno::EMSGSIZE)?;
            let mut frame = frame::header(tag, payload.len() as u32).to_vec();
            frame.extend_from_slice(&payload);
            return send(&frame);
        }
    };
    buf[..HEADER].copy_from_slice(&frame::header(tag, len as u32));
    send(&buf[..HEADER + len])
}

/// Serialize a value into a complete frame.
fn value_frame<T: Serialize>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    let mut bytes = postcard::to_extend(value, frame::header(frame::VALUE, 0).to_vec())?;
    let len =
        u32::try_from(bytes.len() - HEADER).map_err(|_| postcard::Error::SerializeBufferFull)?;
    bytes[1..HEADER].copy_from_slice(&len.to_le_bytes());
    Ok(bytes)
}

/// The text of a panic payload (`&str` and `String` payloads; others as std prints them).
fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

fn send_panic(message: &str, location: Option<&str>) -> Result<(), Errno> {
    let payload = postcard::to_allocvec(&(message, location)).map_err(|_| Errno::EMSGSIZE)?;
    let mut bytes = frame::header(frame::PANIC, payload.len() as u32).to_vec();
    bytes.extend_from_slice(&payload);
    send(&bytes)
}

/// `seccomp`'s `SYS_SECCOMP` si_code of a SIGSYS from a trap action.
const SYS_SECCOMP: libc::c_int = 1;

/// The head of `siginfo_t` for SIGSYS (`_sigsys` in the kernel's union,
/// which starts at pointer alignment after three ints).
#[repr(C)]
struct SigsysInfo {
    signo: libc::c_int,
    errno: libc::c_int,
    code: libc::c_int,
    call_addr: *mut libc::c_void,
    syscall: libc::c_int,
    arch: libc::c_uint,
}

/// SIGSYS handler (installed with SA_SIGINFO | SA_RESETHAND | SA_NODEFER):
/// for a seccomp trap, send a syscall frame; then die of SIGSYS.
/// Async-signal-safe: two `write`s at most and `raise`.
extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    if !info.is_null() {
        // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t, and a
        // SIGSYS's union holds the `_sigsys` fields laid out as SigsysInfo
        // (smaller than siginfo_t, same alignment).
        let info = unsafe { &*info.cast::<SigsysInfo>() };
        if info.code == SYS_SECCOMP && !IN_FRAME.load(Ordering::SeqCst) {
            let bytes = frame::syscall_frame(info.syscall as u32, info.arch);
            let _ = os::write_all(CHANNEL, &bytes);
        }
    }
    // SA_RESETHAND made the action the default again and SA_NODEFER left
    // SIGSYS unblocked: raising it ends the process with SIGSYS (and if the
    // filter traps tgkill too, that trap does the same).
    // SAFETY: raise is async-signal-safe.
    unsafe { libc::raise(libc::SIGSYS) };
    os::exit(code::SIGSYS_NOT_RAISED)
}

fn install_sigsys_handler() {
    let action = SigAction::new(
        SigHandler::SigAction(on_sigsys),
        SaFlags::SA_SIGINFO | SaFlags::SA_RESETHAND | SaFlags::SA_NODEFER,
        SigSet::empty(),
    );
    // SAFETY: rt_sigaction; the handler is async-signal-safe.
    let _ = unsafe { signal::sigaction(Signal::SIGSYS, &action) };
    let mut set = SigSet::empty();
    set.add(Signal::SIGSYS);
    // A SIGSYS blocked by the forking thread would bypass the handler.
    let _ = signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None);
}

/// Close the child's copy of the parent's end and move the child's end to fd 0.
fn setup_channel(parent_end: RawFd, child_end: RawFd) -> Result<(), Errno> {
    os::close(parent_end);
    if child_end == CHANNEL {
        os::clear_cloexec(CHANNEL)
    } else {
        os::dup2(child_end, CHANNEL)?;
        os::close(child_end);
        Ok(())
    }
}

fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| l.to_string());
        if cfg!(panic = "abort") {
            // No unwinding will bring the payload back: report now.
            let message = payload_message(info.payload());
            let _ = send_panic(&message, location.as_deref());
        } else {
            let _ = PANIC_LOCATION.try_with(|l| *l.borrow_mut() = location);
        }
    }));
}

/// The child: never returns.
pub(crate) fn run<T, F>(prepared: &Prepared, parent_end: RawFd, child_end: RawFd, f: F) -> !
where
    T: Serialize,
    F: FnOnce(&mut Input, &mut Output) -> T,
{
    // Until the closure runs: system calls only (see `Prepared::apply`).
    if setup_channel(parent_end, child_end).is_err() {
        os::exit(code::SETUP);
    }
    install_sigsys_handler();
    let mut small = [0u8; 4096];
    match prepared.apply() {
        Err(err) => {
            let _ = send_small(frame::APPLY, &err, &mut small);
            os::exit(code::APPLY);
        }
        Ok(report) => {
            if send_small(frame::REPORT, &report, &mut small).is_err() {
                os::exit(code::CHANNEL);
            }
        }
    }

    install_panic_hook();
    let mut input = Input { _private: () };
    let mut output = Output::new();
    let result = panic::catch_unwind(AssertUnwindSafe(|| f(&mut input, &mut output)));
    let value = match result {
        Ok(value) => value,
        Err(payload) => {
            let _ = output.flush();
            let message = payload_message(&*payload);
            let location = PANIC_LOCATION
                .try_with(|l| l.borrow_mut().take())
                .ok()
                .flatten();
            // Dropping the payload could panic again: leave it to _exit.
            std::mem::forget(payload);
            let _ = send_panic(&message, location.as_deref());
            os::exit(code::PANIC);
        }
    };
    if output.flush().is_err() {
        os::exit(code::CHANNEL);
    }
    // A user Serialize impl may panic or fail: report both.
    let sent = match panic::catch_unwind(AssertUnwindSafe(|| value_frame(&value))) {
        Ok(Ok(bytes)) => send(&bytes),
        Ok(Err(e)) => {
            let text = e.to_string();
            let mut bytes = frame::header(frame::ENCODE, text.len() as u32).to_vec();
            bytes.extend_from_slice(text.as_bytes());
            send(&bytes)
        }
        Err(payload) => {
            let message = format!(
                "serializing the result panicked: {}",
                payload_message(&*payload)
            );
            std::mem::forget(payload);
            let location = PANIC_LOCATION
                .try_with(|l| l.borrow_mut().take())
                .ok()
                .flatten();
            let _ = send_panic(&message, location.as_deref());
            os::exit(code::PANIC);
        }
    };
    // The value is not dropped: the process ends here, destructors do not run.
    std::mem::forget(value);
    os::exit(if sent.is_ok() {
        code::OK
    } else {
        code::CHANNEL
    })
}

/// The input bytes, as the sandboxed closure reads them.
///
/// Given to the closure of [`Launcher::run_with_input`](super::Launcher::run_with_input)
/// and [`Launcher::stream`](super::Launcher::stream). It reads fd 0 of the
/// child, which is the launch channel: the bytes of
/// [`Launcher::input`](super::Launcher::input) (or of its reader), then end
/// of file. Without input it is at end of file at once.
///
/// ```no_run
/// use std::io::Read;
///
/// let prepared = exile::Policy::new().prepare()?;
/// let upper = exile::Launcher::new(&prepared)
///     .input("hello")
///     .run_with_input(|input: &mut exile::launch::Input| {
///         let mut text = String::new();
///         input.read_to_string(&mut text).map(|_| text.to_uppercase()).ok()
///     })?;
/// assert_eq!(upper.as_deref(), Some("HELLO"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Input {
    _private: (),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match os::read(CHANNEL, buf) {
            Ok(n) => Ok(n),
            // The parent closed the channel: no more input.
            Err(Errno::ECONNRESET) => Ok(0),
            Err(e) => Err(io::Error::from_raw_os_error(e as i32)),
        }
    }
}

/// The streaming output of the sandboxed closure: what it writes, the parent
/// reads from [`Streaming`](super::Streaming).
///
/// Bytes are buffered and sent in chunks of up to 64 KiB; `flush` sends
/// what is buffered, and everything is flushed before the closure's value.
/// A write fails with `BrokenPipe` when the parent stopped reading (it
/// dropped the [`Streaming`](super::Streaming)).
///
/// ```no_run
/// use std::io::{Read, Write};
///
/// let prepared = exile::Policy::new().prepare()?;
/// let mut stream = exile::launch_stream(&prepared, |out: &mut exile::launch::Output| {
///     for i in 0..3 {
///         writeln!(out, "line {i}").unwrap();
///     }
/// })?;
/// let mut text = String::new();
/// stream.read_to_string(&mut text)?;
/// stream.wait()?;
/// assert_eq!(text, "line 0\nline 1\nline 2\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Output {
    /// A data frame being filled: header space, then up to [`CHUNK`] bytes.
    buf: Vec<u8>,
}

impl Output {
    fn new() -> Output {
        let mut buf = Vec::with_capacity(HEADER + CHUNK);
        buf.extend_from_slice(&frame::header(frame::DATA, 0));
        Output { buf }
    }

    fn send_buffered(&mut self) -> io::Result<()> {
        let len = self.buf.len() - HEADER;
        if len == 0 {
            return Ok(());
        }
        self.buf[..HEADER].copy_from_slice(&frame::header(frame::DATA, len as u32));
        let r = send(&self.buf);
        self.buf.truncate(HEADER);
        r.map_err(|e| io::Error::from_raw_os_error(e as i32))
    }
}

impl Write for Output {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = HEADER + CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == HEADER + CHUNK {
            self.send_buffered()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffered()
    }
}
