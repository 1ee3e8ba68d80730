//! The parent side of `launch`: feed the input, read and parse frames,
//! enforce the timeout, reap the child — always, whatever happens.

use std::io::{self, Read};
use std::ops::Range;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use super::frame::{self, HEADER};
use super::os::{self, Exit};
use super::{LaunchError, Syscall};
use crate::{Error, Report};

/// Where the child's input comes from.
pub(crate) enum Source {
    /// No input: the child reads end of file at once.
    None,
    /// These bytes.
    Bytes(Vec<u8>),
    /// Whatever this reader gives, pulled as the child takes it.
    Reader(Box<dyn Read + Send>),
}

/// A final frame, decoded except for the value.
#[derive(Debug)]
pub(crate) enum Final {
    /// Postcard bytes of the value.
    Value(Vec<u8>),
    /// The closure panicked.
    Panic {
        message: String,
        location: Option<String>,
    },
    /// `apply` failed.
    Apply(Error),
    /// The value could not be serialized.
    Encode(String),
}

/// What the parent knows about one launched child.
pub(crate) struct Core {
    pid: libc::pid_t,
    sock: OwnedFd,
    pidfd: Option<OwnedFd>,
    /// The exit status, once reaped. Never kill the pid after this.
    exit: Option<Exit>,

    input: Source,
    in_buf: Vec<u8>,
    in_pos: usize,
    /// The write direction of the channel is still open.
    in_open: bool,

    deadline: Option<Instant>,
    timeout: Option<Duration>,
    timed_out: bool,

    buf: Vec<u8>,
    /// Start of the unparsed bytes in `buf`.
    pos: usize,
    /// Data bytes of a parsed data frame not yet handed out (inside `buf`).
    data: Range<usize>,
    /// The channel reached end of stream (or the child exited and it was drained).
    eof: bool,
    /// The pidfd said the child exited.
    child_exited: bool,

    pub(crate) report: Option<Report>,
    syscall: Option<Syscall>,
    fin: Option<Final>,
    /// A protocol error; the child has been killed.
    broken: Option<String>,
    /// An I/O error of the parent; the child has been killed.
    failed: Option<(&'static str, io::Error)>,
    /// `waitid` failed: the exit status is unknown.
    reap_failed: Option<io::Error>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("pid", &self.pid)
            .field("exit", &self.exit)
            .field("timed_out", &self.timed_out)
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

const READ_CHUNK: usize = 64 * 1024;

impl Core {
    pub(crate) fn new(
        pid: libc::pid_t,
        sock: OwnedFd,
        input: Source,
        timeout: Option<Duration>,
    ) -> Core {
        let pidfd = os::pidfd_open(pid);
        let (in_buf, input) = match input {
            Source::Bytes(bytes) => (bytes, Source::None),
            other => (Vec::new(), other),
        };
        let mut core = Core {
            pid,
            sock,
            pidfd,
            exit: None,
            input,
            in_buf,
            in_pos: 0,
            in_open: true,
            deadline: timeout.map(|t| Instant::now() + t),
            timeout,
            timed_out: false,
            buf: Vec::new(),
            pos: 0,
            data: 0..0,
            eof: false,
            child_exited: false,
            report: None,
            syscall: None,
            fin: None,
            broken: None,
            failed: None,
            reap_failed: None,
        };
        core.refill_input();
        core
    }

    /// Nothing more will come from the child: a final frame, end of
    /// stream, a timeout or an error.
    fn done(&self) -> bool {
        self.fin.is_some()
            || self.eof
            || self.timed_out
            || self.broken.is_some()
            || self.failed.is_some()
    }

    fn kill(&mut self) {
        if self.exit.is_none() {
            os::kill(self.pid, libc::SIGKILL);
        }
    }

    fn fail(&mut self, op: &'static str, err: io::Error) {
        self.kill();
        self.failed.get_or_insert((op, err));
    }

    fn protocol_error(&mut self, why: String) {
        self.kill();
        self.broken.get_or_insert(why);
    }

    /// Keep `in_buf[in_pos..]` non-empty while there is input; close the
    /// write direction when there is none left.
    fn refill_input(&mut self) {
        if !self.in_open || self.in_pos < self.in_buf.len() {
            return;
        }
        self.in_buf.clear();
        self.in_pos = 0;
        if let Source::Reader(reader) = &mut self.input {
            self.in_buf.resize(READ_CHUNK, 0);
            let n = loop {
                match reader.read(&mut self.in_buf) {
                    Ok(n) => break Some(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.in_buf.clear();
                        self.fail("reading the launch input", e);
                        break None;
                    }
                }
            };
            self.in_buf.truncate(n.unwrap_or(0));
            if n.unwrap_or(0) > 0 {
                return;
            }
        }
        self.input = Source::None;
        self.in_open = false;
        os::shutdown_write(self.sock.as_raw_fd());
    }

    fn write_input(&mut self) {
        while self.in_open && self.in_pos < self.in_buf.len() {
            match os::send_nonblocking(self.sock.as_raw_fd(), &self.in_buf[self.in_pos..]) {
                Ok(n) => {
                    self.in_pos += n;
                    self.refill_input();
                }
                Err(Errno::EAGAIN) => return,
                // The child closed its end (or exited): the rest is not wanted.
                Err(_) => {
                    self.in_open = false;
                    self.in_buf = Vec::new();
                    self.input = Source::None;
                }
            }
        }
    }

    /// Read what is available: false when nothing was (EAGAIN, end of stream, error).
    fn read_some(&mut self) -> bool {
        if self.pos == self.buf.len() && self.data.is_empty() {
            self.buf.clear();
            self.pos = 0;
            self.data = 0..0;
        } else if self.data.is_empty() && self.pos > READ_CHUNK && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
            self.data = 0..0;
        }
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let r = os::recv_nonblocking(self.sock.as_raw_fd(), &mut self.buf[old..]);
        let n = *r.as_ref().unwrap_or(&0);
        self.buf.truncate(old + n);
        match r {
            Ok(0) | Err(Errno::ECONNRESET) => {
                self.eof = true;
                false
            }
            Ok(_) => true,
            Err(Errno::EAGAIN) => false,
            Err(e) => {
                self.fail("reading from the child", e.into());
                false
            }
        }
    }

    /// Wait for the channel or the child once (bounded by the deadline), and
    /// move input and output along.
    fn pump(&mut self) {
        if self.done() {
            return;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            // Checked on every round: a child that streams without pause
            // never lets poll time out.
            self.kill();
            self.timed_out = true;
            return;
        }
        let sock = self.sock.as_raw_fd();
        let mut fds = [
            libc::pollfd {
                fd: sock,
                events: libc::POLLIN
                    | if self.in_open && self.in_pos < self.in_buf.len() {
                        libc::POLLOUT
                    } else {
                        0
                    },
                revents: 0,
            },
            libc::pollfd {
                fd: self.pidfd.as_ref().map_or(-1, |p| p.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let timeout_ms = match self.deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                // Round up so the deadline is really past when poll times out.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int
            }
        };
        match os::poll(&mut fds, timeout_ms) {
            Ok(0) => {
                if self.deadline.is_some_and(|d| Instant::now() >= d) {
                    self.kill();
                    self.timed_out = true;
                }
                return;
            }
            Ok(_) => {}
            Err(Errno::EINTR) => return,
            Err(e) => {
                self.fail("poll", e.into());
                return;
            }
        }
        let (ev, child) = (fds[0].revents, fds[1].revents);
        if ev & libc::POLLOUT != 0 {
            self.write_input();
        } else if ev & (libc::POLLERR | libc::POLLHUP) != 0 && self.in_open {
            // The child's end is gone: stop offering input.
            self.write_input();
        }
        if ev & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            self.read_some();
        }
        if child & libc::POLLIN != 0 {
            // The child exited. What it wrote is in the socket buffer; a
            // grandchild holding the channel cannot keep us waiting for
            // end of stream.
            self.child_exited = true;
            while !self.eof && self.failed.is_none() && self.read_some() {}
            self.eof = true;
        }
    }

    /// Parse the next complete frame. Data frames set `self.data`;
    /// other frames are stored. Returns false when no complete frame is buffered.
    fn parse(&mut self) -> bool {
        if self.fin.is_some() || self.broken.is_some() {
            return false;
        }
        let Some((tag, len)) = frame::parse_header(&self.buf[self.pos..]) else {
            return false;
        };
        if !frame::known(tag) {
            self.protocol_error(format!(
                "unknown frame tag {tag:#04x} (did the closure write to fd 0?)"
            ));
            return false;
        }
        let start = self.pos + HEADER;
        if self.buf.len() - start < len {
            return false;
        }
        let payload = start..start + len;
        self.pos = payload.end;
        let bytes = &self.buf[payload.clone()];
        match tag {
            frame::DATA => self.data = payload,
            frame::REPORT => match postcard::from_bytes(bytes) {
                Ok(report) => self.report = Some(report),
                Err(e) => self.protocol_error(format!("report frame: {e}")),
            },
            frame::SYSCALL => match frame::parse_syscall(bytes) {
                Some((nr, arch)) => self.syscall = Some(Syscall::new(nr, arch)),
                None => self.protocol_error(format!("syscall frame of {len} bytes")),
            },
            frame::VALUE => self.fin = Some(Final::Value(bytes.to_vec())),
            frame::PANIC => match postcard::from_bytes::<(String, Option<String>)>(bytes) {
                Ok((message, location)) => self.fin = Some(Final::Panic { message, location }),
                Err(e) => self.protocol_error(format!("panic frame: {e}")),
            },
            frame::APPLY => match postcard::from_bytes(bytes) {
                Ok(err) => self.fin = Some(Final::Apply(err)),
                Err(e) => self.protocol_error(format!("apply-error frame: {e}")),
            },
            frame::ENCODE => {
                self.fin = Some(Final::Encode(String::from_utf8_lossy(bytes).into_owned()))
            }
            _ => self.protocol_error(format!("unexpected frame tag {tag:#04x}")),
        }
        true
    }

    /// Streaming: copy pending data bytes into `out`, reading and parsing
    /// as needed. `Ok(0)` once the data ends.
    pub(crate) fn read_data(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.data.is_empty() {
                let n = out.len().min(self.data.len());
                out[..n].copy_from_slice(&self.buf[self.data.start..self.data.start + n]);
                self.data.start += n;
                return Ok(n);
            }
            if out.is_empty() {
                return Ok(0);
            }
            if self.parse() {
                continue;
            }
            if self.timed_out {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the sandboxed child timed out and was killed",
                ));
            }
            if let Some(why) = &self.broken {
                return Err(io::Error::new(io::ErrorKind::InvalidData, why.clone()));
            }
            if let Some((op, e)) = &self.failed {
                return Err(io::Error::new(e.kind(), format!("{op}: {e}")));
            }
            if self.done() {
                return Ok(0);
            }
            self.pump();
        }
    }

    /// Read (discarding data) until a final frame, end of stream, timeout or error.
    fn run_to_end(&mut self) {
        loop {
            while self.parse() {
                self.data = 0..0;
            }
            if self.done() {
                return;
            }
            self.pump();
        }
    }

    /// Reap the child; kill it first when the deadline passes.
    fn reap(&mut self) {
        if self.exit.is_some() {
            return;
        }
        if !self.timed_out {
            if let Some(deadline) = self.deadline {
                if !self.wait_until(deadline) {
                    self.kill();
                    // Only a timeout if the closure did not finish.
                    self.timed_out = self.fin.is_none();
                }
            }
        }
        loop {
            match os::waitid(self.pid, false) {
                Ok(Some(exit)) => {
                    self.exit = Some(exit);
                    return;
                }
                Ok(None) => {}
                Err(e) => {
                    // ECHILD: SIGCHLD is ignored or someone else reaped it.
                    // Either way the pid is no longer ours to kill.
                    self.exit = Some(Exit::Code(-1));
                    self.reap_failed = Some(e.into());
                    return;
                }
            }
        }
    }

    /// Wait for the child to exit until `deadline`: true if it did.
    fn wait_until(&mut self, deadline: Instant) -> bool {
        if self.child_exited {
            return true;
        }
        if let Some(pidfd) = &self.pidfd {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
                let mut fds = [libc::pollfd {
                    fd: pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                }];
                match os::poll(&mut fds, ms) {
                    Ok(0) if Instant::now() >= deadline => return false,
                    Ok(0) | Err(Errno::EINTR) => {}
                    Ok(_) => return true,
                    Err(_) => break,
                }
            }
        }
        // No pidfd: poll waitid.
        let mut nap = Duration::from_micros(200);
        loop {
            match os::waitid(self.pid, true) {
                Ok(Some(exit)) => {
                    self.exit = Some(exit);
                    return true;
                }
                Ok(None) => {}
                Err(_) => return true,
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            std::thread::sleep(nap.min(left));
            nap = (nap * 2).min(Duration::from_millis(20));
        }
    }

    /// Run to the end, reap, and turn what happened into the outcome.
    pub(crate) fn finish(&mut self) -> Result<Vec<u8>, LaunchError> {
        self.run_to_end();
        self.reap();
        if let Some(why) = self.broken.take() {
            return Err(LaunchError::Decode(why));
        }
        if let Some((op, source)) = self.failed.take() {
            return Err(LaunchError::Io { op, source });
        }
        match self.fin.take() {
            Some(Final::Value(bytes)) => return Ok(bytes),
            Some(Final::Panic { message, location }) => {
                return Err(LaunchError::Panicked { message, location })
            }
            Some(Final::Apply(err)) => return Err(LaunchError::Apply(err)),
            Some(Final::Encode(why)) => return Err(LaunchError::Encode(why)),
            None => {}
        }
        if let Some(source) = self.reap_failed.take() {
            return Err(LaunchError::Io {
                op: "waitid (is SIGCHLD ignored, or does a handler reap every child?)",
                source,
            });
        }
        if self.timed_out {
            return Err(LaunchError::TimedOut {
                after: self.timeout.unwrap_or_default(),
            });
        }
        Err(match self.exit {
            Some(Exit::Signal {
                signal,
                core_dumped,
            }) => LaunchError::Signaled {
                signal,
                core_dumped,
                syscall: if signal == libc::SIGSYS {
                    self.syscall
                } else {
                    None
                },
            },
            Some(Exit::Code(code)) => LaunchError::Exited { code },
            None => LaunchError::Exited { code: -1 },
        })
    }

    /// The child's pid.
    pub(crate) fn pid(&self) -> libc::pid_t {
        self.pid
    }
}

impl Drop for Core {
    /// Never leave a zombie: kill the child if it is still running, and reap it.
    fn drop(&mut self) {
        if self.exit.is_none() {
            self.kill();
            self.deadline = None;
            self.reap();
        }
    }
}
