//! Putting a compiled program in force, and a SIGSYS handler for the trap
//! action.
//!
//! [`install`] makes no allocation and takes no lock: it is one system call
//! (two with the `prctl` fallback), so it may run after `fork()` in a
//! multi-threaded parent and in `Command::pre_exec`. The caller must have
//! set `no_new_privs` (or hold `CAP_SYS_ADMIN`) first, or the kernel
//! refuses with `EACCES`.
//!
//! ```no_run
//! use exile::seccomp::{compiler, install, InstallFlags};
//! use exile::seccomp::rules::{Action, FilterSpec, Rule};
//!
//! let mut spec = FilterSpec::new(Action::Errno(libc::EPERM as u16));
//! spec.add(libc::SYS_exit_group as u32, Rule::allow());
//! let prog = compiler::compile(&spec)?;
//! // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) has no memory-safety preconditions.
//! unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
//! install(&prog, InstallFlags::TSYNC)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use nix::errno::Errno;

use super::bpf::{SockFilter, MAX_INSNS};

bitflags::bitflags! {
    /// `SECCOMP_FILTER_FLAG_*` for [`install`].
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct InstallFlags: u32 {
        /// Apply the filter to every thread of the process (Linux 3.17).
        /// Fails if a thread cannot take it (another filter tree, or not
        /// no_new_privs).
        const TSYNC = 1 << 0;
        /// Log every action but ALLOW (Linux 4.14).
        const LOG = 1 << 1;
        /// Do not force the speculative store bypass mitigation (Linux 4.17).
        const SPEC_ALLOW = 1 << 2;
    }
}

/// Install `prog` as a seccomp filter of the calling thread (of every thread
/// with [`InstallFlags::TSYNC`]).
///
/// Uses `seccomp(SECCOMP_SET_MODE_FILTER)`; where that system call does not
/// exist (`ENOSYS`: before Linux 3.17, or hidden by an older filter) and no
/// flag is asked for, falls back to `prctl(PR_SET_SECCOMP,
/// SECCOMP_MODE_FILTER)`. Flags cannot be honoured by the fallback, so with
/// flags a missing `seccomp()` is the error `ENOSYS`.
///
/// Errors: the kernel's (`EACCES` without no_new_privs, `EINVAL` for a
/// program it refuses or an unknown flag, `EFAULT`, `ENOMEM`); `EINVAL` for
/// an empty program or one longer than 4096 instructions; `ESRCH` when TSYNC
/// finds a thread that cannot be synchronised (the kernel returns that
/// thread's id; like `SECCOMP_FILTER_FLAG_TSYNC_ESRCH`, it is reported as
/// `ESRCH`). On error no filter was installed.
///
/// No allocation, no lock.
pub fn install(prog: &[SockFilter], flags: InstallFlags) -> Result<(), Errno> {
    if prog.is_empty() || prog.len() > MAX_INSNS {
        return Err(Errno::EINVAL);
    }
    let fprog = libc::sock_fprog {
        // At most 4096: fits.
        len: prog.len() as libc::c_ushort,
        // SockFilter is #[repr(C)] with the fields of sock_filter; the kernel
        // only reads through this pointer.
        filter: prog.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER, flags, &fprog) reads `fprog`
    // and the `len` instructions it points to, which live for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            libc::c_ulong::from(flags.bits()),
            &fprog as *const libc::sock_fprog,
        )
    };
    if r == 0 {
        return Ok(());
    }
    if r > 0 {
        // TSYNC: thread `r` could not be synchronised; nothing installed.
        return Err(Errno::ESRCH);
    }
    let err = Errno::last();
    if err != Errno::ENOSYS || !flags.is_empty() {
        return Err(err);
    }
    // SAFETY: prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) reads
    // `fprog` and its instructions, which live for the call.
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const libc::sock_fprog,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// A SIGSYS handler for [`Action::Trap`](super::rules::Action::Trap): it
/// names the denied system call on stderr.
///
/// ```text
/// exile: seccomp denied system call ptrace (101)
/// ```
///
/// [`Prepared::apply`](crate::Prepared::apply) installs it in
/// [`TrapMode::Kill`](trap::TrapMode::Kill) by itself when the filter can trap and SIGSYS still
/// has its default action; call [`install_trap_handler_with`](trap::install_trap_handler_with) before
/// `apply` to choose [`TrapMode::Return`](trap::TrapMode::Return) (apply keeps a handler it finds).
///
/// In [`TrapMode::Kill`](trap::TrapMode::Kill) (what [`install_trap_handler`](trap::install_trap_handler) sets) the process
/// then dies of SIGSYS, as with `KILL_PROCESS`, so a parent sees the signal.
/// In [`TrapMode::Return`](trap::TrapMode::Return) the denied call returns `-1` with `ENOSYS`
/// instead and the program goes on (a diagnosis mode: every denied call is
/// reported, none is fatal).
///
/// The handler is async-signal-safe: `write(2)` of a message assembled in a
/// stack buffer from the static [`syscalls`](super::syscalls) table, no
/// allocation, no formatting machinery. The system calls it makes in kill
/// mode (`write`, `rt_sigprocmask`, `getpid`, `gettid`, `tgkill`) go
/// through the filter like any other; a call the filter denies with a trap
/// kills the process with SIGSYS at once (the signal is reset to its
/// default action on delivery), and if `tgkill` is denied with an errno the
/// handler re-executes the denied system call, which traps again into the
/// default action.
pub mod trap {
    use std::sync::atomic::{AtomicU8, Ordering};

    use nix::errno::Errno;
    use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};

    use crate::seccomp::rules::Arch;
    use crate::seccomp::syscalls;

    /// What the handler does after reporting.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum TrapMode {
        /// Die of SIGSYS (the default).
        Kill,
        /// Make the denied call fail with `ENOSYS` and return to the program.
        Return,
    }

    /// `si_code` of a SIGSYS sent by a seccomp trap.
    const SYS_SECCOMP: libc::c_int = 1;

    static MODE: AtomicU8 = AtomicU8::new(0);

    /// Install the handler in [`TrapMode::Kill`].
    ///
    /// Also unblocks SIGSYS in the calling thread (a blocked SIGSYS would
    /// kill without a report). Threads created later inherit that mask.
    pub fn install_trap_handler() -> Result<(), Errno> {
        install_trap_handler_with(TrapMode::Kill)
    }

    /// Install the handler with the given mode.
    pub fn install_trap_handler_with(mode: TrapMode) -> Result<(), Errno> {
        MODE.store(mode as u8, Ordering::SeqCst);
        let flags = match mode {
            // Reset to the default action on delivery and leave SIGSYS
            // unblocked in the handler: re-raising it kills.
            TrapMode::Kill => SaFlags::SA_SIGINFO | SaFlags::SA_RESETHAND | SaFlags::SA_NODEFER,
            TrapMode::Return => SaFlags::SA_SIGINFO,
        };
        let action = SigAction::new(SigHandler::SigAction(on_sigsys), flags, SigSet::empty());
        // SAFETY: rt_sigaction; the handler only makes async-signal-safe
        // calls and touches no Rust state but an atomic.
        unsafe { signal::sigaction(Signal::SIGSYS, &action) }?;
        let mut set = SigSet::empty();
        set.add(Signal::SIGSYS);
        signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None)
    }

    /// Append `bytes` to `buf` at `*len`, as far as it fits.
    fn put(buf: &mut [u8], len: &mut usize, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = buf.get_mut(*len) {
                *slot = b;
                *len += 1;
            }
        }
    }

    /// The report line for system call `nr` of architecture `arch`, into
    /// `buf`; returns its length. No allocation.
    pub(crate) fn message(buf: &mut [u8; 128], nr: u32, arch: u32) -> usize {
        let mut len = 0;
        put(buf, &mut len, b"exile: seccomp denied system call ");
        let name = if arch == Arch::native().audit_arch() {
            syscalls::name(nr)
        } else {
            None
        };
        put(buf, &mut len, name.unwrap_or("?").as_bytes());
        put(buf, &mut len, b" (");
        let mut digits = [0u8; 10];
        let mut n = nr;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        put(buf, &mut len, &digits[i..]);
        put(buf, &mut len, b")\n");
        len
    }

    extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        if info.is_null() {
            return;
        }
        // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t; for
        // SIGSYS with si_code SYS_SECCOMP the `_sigsys` union member is the
        // one filled in.
        let (code, nr, arch, call_addr) = unsafe {
            let info = &*info;
            (
                info.si_code,
                info.si_syscall() as u32,
                info.si_arch(),
                info.si_call_addr() as usize,
            )
        };
        let mode = MODE.load(Ordering::SeqCst);
        if code == SYS_SECCOMP {
            let mut buf = [0u8; 128];
            let len = message(&mut buf, nr, arch);
            // SAFETY: write(2) from a live stack buffer; async-signal-safe.
            let _ = unsafe { libc::write(libc::STDERR_FILENO, buf.as_ptr().cast(), len) };
        }
        if mode == TrapMode::Return as u8 {
            if code == SYS_SECCOMP {
                set_return(ctx, -i64::from(libc::ENOSYS));
            }
            return;
        }
        // Kill: SA_RESETHAND restored the default action, SA_NODEFER left
        // SIGSYS unblocked.
        // SAFETY: raise is async-signal-safe.
        unsafe { libc::raise(libc::SIGSYS) };
        // Still alive: the filter failed tgkill with an errno. Re-execute
        // the trapped call; it traps again, into the default action.
        if code != SYS_SECCOMP || !rewind(ctx, call_addr) {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(128 + libc::SIGSYS) };
        }
    }

    /// Set the return value register of the interrupted context.
    fn set_return(ctx: *mut libc::c_void, value: i64) {
        if ctx.is_null() {
            return;
        }
        let uc = ctx.cast::<libc::ucontext_t>();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: with SA_SIGINFO the third argument is the ucontext_t the
        // kernel saved; rt_sigreturn restores registers from it.
        unsafe {
            (*uc).uc_mcontext.gregs[libc::REG_RAX as usize] = value;
        }
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above; x0 holds the return value.
        unsafe {
            (*uc).uc_mcontext.regs[0] = value as u64 as _;
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        let _ = (uc, value);
    }

    /// Move the interrupted context back onto its system call instruction
    /// (which ends at `call_addr`); false where that is not known.
    fn rewind(ctx: *mut libc::c_void, call_addr: usize) -> bool {
        if ctx.is_null() {
            return false;
        }
        let uc = ctx.cast::<libc::ucontext_t>();
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `set_return`. `syscall` is 2 bytes long; the kernel
        // rolled the registers back to their values at the call.
        unsafe {
            let rip = &mut (*uc).uc_mcontext.gregs[libc::REG_RIP as usize];
            if *rip as usize != call_addr {
                return false;
            }
            *rip -= 2;
            true
        }
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as in `set_return`. `svc #0` is 4 bytes long.
        unsafe {
            let pc = &mut (*uc).uc_mcontext.pc;
            if *pc as usize != call_addr {
                return false;
            }
            *pc -= 4;
            true
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        {
            let _ = (uc, call_addr);
            false
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn message_format() {
            let mut buf = [0u8; 128];
            let arch = Arch::native().audit_arch();
            let n = message(&mut buf, libc::SYS_getppid as u32, arch);
            let expected = format!(
                "exile: seccomp denied system call getppid ({})\n",
                libc::SYS_getppid
            );
            assert_eq!(&buf[..n], expected.as_bytes());
            let n = message(&mut buf, 0, arch);
            #[cfg(target_arch = "x86_64")]
            assert_eq!(&buf[..n], b"exile: seccomp denied system call read (0)\n");
            let _ = n;
            let n = message(&mut buf, u32::MAX, 0x4000_0003);
            assert_eq!(
                &buf[..n],
                b"exile: seccomp denied system call ? (4294967295)\n"
            );
        }
    }
}
