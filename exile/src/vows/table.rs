//! The vow table: which vow grants which system call, under which argument
//! conditions. One declarative list, [`TABLE`], so a change to what a vow
//! means is a reviewed diff of data, not of code.
//!
//! Reading an entry: [`Grant::when`] says which vows it belongs to,
//! [`Grant::syscalls`] the calls, [`Grant::check`] the argument conditions
//! (see [`Check`]) and [`Grant::note`] why. Grants are OR'ed: a call is
//! allowed when any grant of a made vow allows it. Open flags are the one
//! place where the *combination* of vows matters ([`Check::OpenFlags`]).

use crate::seccomp::rules::{ArgCond, ArgWidth, CmpOp};

use super::consts::*;
use super::Vows;

/// A system call as the table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Syscall {
    /// The name (`"openat"`), as in `man 2`.
    pub name: &'static str,
    /// The number on the architecture this crate is compiled for.
    pub nr: u32,
}

impl Syscall {
    /// A syscall from its `SYS_*` constant name (the `SYS_` prefix is
    /// dropped) and number.
    pub const fn new(sys_name: &'static str, nr: i64) -> Syscall {
        Syscall {
            name: strip_sys(sys_name),
            nr: nr as u32,
        }
    }
}

/// `"SYS_read"` → `"read"`, at compile time.
const fn strip_sys(s: &'static str) -> &'static str {
    let b = s.as_bytes();
    if b.len() > 4 && b[0] == b'S' && b[1] == b'Y' && b[2] == b'S' && b[3] == b'_' {
        let (_, rest) = b.split_at(4);
        match core::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => s,
        }
    } else {
        s
    }
}

/// Which vows a grant belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Granted when any of these vows is made.
    Any(Vows),
    /// Granted only when all of these vows are made (e.g. `creat` needs both
    /// `wpath` and `cpath`).
    All(Vows),
}

impl When {
    /// Whether a vow set fulfils this condition.
    pub const fn holds(self, vows: Vows) -> bool {
        match self {
            When::Any(v) => vows.intersects(v),
            When::All(v) => vows.contains(v),
        }
    }
}

/// The argument conditions of a grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Allowed whatever the arguments.
    Always,
    /// Allowed when every condition holds.
    If(&'static [ArgCond]),
    /// Allowed when argument `arg` (32-bit) equals one of `values` and every
    /// condition in `and` holds. One rule per value: request allow-lists
    /// (ioctl, fcntl, prctl, socket options) compare by *equality*.
    OneOf {
        /// The argument compared with `values`.
        arg: u8,
        /// The allowed values.
        values: &'static [u64],
        /// Further conditions, ANDed with each value's.
        and: &'static [ArgCond],
    },
    /// Allowed when argument `arg` (32-bit) is the pid of the process the
    /// filter is built for ([`VowOptions::self_pid`](super::VowOptions)),
    /// and every condition in `and` holds. No rule at all when `self_pid` is
    /// not given.
    SelfPid {
        /// The pid argument.
        arg: u8,
        /// Further conditions.
        and: &'static [ArgCond],
    },
    /// Not allowed, but failed with `errno` instead of the violation action
    /// when every condition in `conds` holds, so that libc falls back (e.g.
    /// `openat2` → `ENOSYS` → `openat`). Such rules come after every allow
    /// rule of the call, so another vow's grant still wins.
    Fail {
        /// The errno returned.
        errno: u16,
        /// When the call fails that way (empty: always).
        conds: &'static [ArgCond],
    },
    /// `open`-style flags in argument `arg`, checked against the combination
    /// of `rpath`, `wpath`, `cpath` and `tmppath`; see
    /// [`open_flag_rules`](super::open_flag_rules).
    OpenFlags {
        /// The flags argument (1 for `open`, 2 for `openat`).
        arg: u8,
    },
}

/// One line of the table: these vows grant these calls under this check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The vows the grant belongs to.
    pub when: When,
    /// The system calls granted.
    pub syscalls: &'static [Syscall],
    /// The argument conditions.
    pub check: Check,
    /// Why the grant is there, or what it deliberately leaves out.
    pub note: &'static str,
}

/// `SYS_*` numbers: every `libc` one, plus the unified numbers (the same on
/// every architecture since Linux 5.1) that `libc` lacks on some targets.
#[allow(non_upper_case_globals)]
mod sysno {
    pub use libc::*;
    pub const SYS_futex_waitv: i64 = 449;
    pub const SYS_fchmodat2: i64 = 452;
    pub const SYS_mseal: i64 = 462;
    pub const SYS_setxattrat: i64 = 463;
    pub const SYS_getxattrat: i64 = 464;
    pub const SYS_listxattrat: i64 = 465;
    pub const SYS_removexattrat: i64 = 466;
    #[cfg(target_arch = "x86_64")]
    pub const SYS_map_shadow_stack: i64 = 453;
    // arm64 keeps these asm-generic calls; `libc` has no constant for them.
    #[cfg(target_arch = "aarch64")]
    pub const SYS_renameat: i64 = 38;
    #[cfg(target_arch = "aarch64")]
    pub const SYS_sync_file_range: i64 = 84;
    #[cfg(target_arch = "aarch64")]
    pub const SYS_getrlimit: i64 = 163;
    #[cfg(target_arch = "aarch64")]
    pub const SYS_setrlimit: i64 = 164;
}

/// `&[Syscall]` from `SYS_*` names; an element may carry `#[cfg(...)]`.
macro_rules! sys {
    ($($(#[$m:meta])* $s:ident),* $(,)?) => {
        &[$($(#[$m])* Syscall::new(stringify!($s), sysno::$s as i64)),*]
    };
}

const fn any(v: Vows) -> When {
    When::Any(v)
}

const fn all(v: Vows) -> When {
    When::All(v)
}

/// 64-bit `arg == 0` (a NULL pointer).
const fn null(arg: u8) -> ArgCond {
    ArgCond::new(arg, ArgWidth::W64, CmpOp::Eq, 0)
}

/// 32-bit `arg != value`.
const fn ne(arg: u8, value: u64) -> ArgCond {
    ArgCond::new(arg, ArgWidth::W32, CmpOp::Ne, value)
}

/// 32-bit: every bit of `bits` set.
const fn all_of(arg: u8, bits: u64) -> ArgCond {
    ArgCond::masked_eq(arg, bits, bits)
}

/// socket(2) type argument equal to `ty` once `SOCK_NONBLOCK|SOCK_CLOEXEC`
/// are masked off.
const fn sock_type(ty: u64) -> ArgCond {
    ArgCond::masked_eq(1, SOCK_TYPE_MASK, ty)
}

// ---- allow-lists compared by equality --------------------------------------

/// fcntl commands under `stdio`: descriptor flags, status flags, dup, pipe
/// size and memfd seals. No locks (`flock`), no F_SETOWN/F_SETSIG (signals
/// to other processes), no leases, no F_NOTIFY (`fsnotify`).
pub const FCNTL_STDIO: &[u64] = &[
    F_DUPFD,
    F_GETFD,
    F_SETFD,
    F_GETFL,
    F_SETFL,
    F_DUPFD_CLOEXEC,
    F_GETPIPE_SZ,
    F_SETPIPE_SZ,
    F_GET_SEALS,
    F_ADD_SEALS,
];

/// fcntl lock commands under `flock`.
pub const FCNTL_FLOCK: &[u64] = &[
    F_GETLK,
    F_SETLK,
    F_SETLKW,
    F_OFD_GETLK,
    F_OFD_SETLK,
    F_OFD_SETLKW,
];

/// prctl options under `stdio` that take no argument check.
pub const PRCTL_STDIO: &[u64] = &[
    PR_GET_NAME,
    PR_SET_NAME,
    PR_GET_NO_NEW_PRIVS,
    PR_SET_NO_NEW_PRIVS,
    PR_CAPBSET_READ,
    PR_GET_SECCOMP,
    PR_GET_DUMPABLE,
];

/// ioctl requests under `stdio`.
pub const IOCTL_STDIO: &[u64] = &[FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, TCGETS];

/// ioctl requests under `tty`: terminal attributes, window size, job
/// control, flushing and breaks, and the pseudo-terminal master calls. Not
/// TIOCSTI/TIOCLINUX (input injection), TIOCSCTTY/TIOCNOTTY (controlling
/// terminal changes), TIOCSETD (line discipline), TIOCCONS, modem lines.
pub const IOCTL_TTY: &[u64] = &[
    TCGETS,
    TCSETS,
    TCSETSW,
    TCSETSF,
    TCGETS2,
    TCSETS2,
    TCSETSW2,
    TCSETSF2,
    TCSBRK,
    TCSBRKP,
    TCXONC,
    TCFLSH,
    TIOCGWINSZ,
    TIOCSWINSZ,
    TIOCGPGRP,
    TIOCSPGRP,
    TIOCGSID,
    TIOCOUTQ,
    FIONREAD,
    TIOCGPTN,
    TIOCSPTLCK,
    TIOCGPTPEER,
];

/// setsockopt `SOL_SOCKET` options under `inet`, `unix` and `dns`. Not
/// SO_DEBUG, SO_BINDTODEVICE, SO_MARK, SO_PRIORITY, SO_*BUFFORCE (need
/// privileges or reach other interfaces), SO_ATTACH_FILTER/SO_ATTACH_BPF
/// (in-kernel programs).
pub const SOCKOPT_SOCKET: &[u64] = &[
    so::SO_REUSEADDR,
    so::SO_TYPE,
    so::SO_ERROR,
    so::SO_BROADCAST,
    so::SO_SNDBUF,
    so::SO_RCVBUF,
    so::SO_KEEPALIVE,
    so::SO_OOBINLINE,
    so::SO_LINGER,
    so::SO_REUSEPORT,
    so::SO_PASSCRED,
    so::SO_RCVLOWAT,
    so::SO_SNDLOWAT,
    so::SO_RCVTIMEO_OLD,
    so::SO_SNDTIMEO_OLD,
    so::SO_RCVTIMEO_NEW,
    so::SO_SNDTIMEO_NEW,
    so::SO_TIMESTAMP_OLD,
    so::SO_TIMESTAMP_NEW,
    so::SO_TIMESTAMPNS_OLD,
    so::SO_TIMESTAMPNS_NEW,
];

/// setsockopt `IPPROTO_IP` options under `inet` and `dns`.
pub const SOCKOPT_IP: &[u64] = &[
    ip::IP_TOS,
    ip::IP_TTL,
    ip::IP_PKTINFO,
    ip::IP_MTU_DISCOVER,
    ip::IP_RECVERR,
    ip::IP_RECVTOS,
    ip::IP_BIND_ADDRESS_NO_PORT,
];

/// setsockopt `IPPROTO_IPV6` options under `inet` and `dns`.
pub const SOCKOPT_IPV6: &[u64] = &[
    ipv6::IPV6_V6ONLY,
    ipv6::IPV6_UNICAST_HOPS,
    ipv6::IPV6_MTU_DISCOVER,
    ipv6::IPV6_RECVERR,
    ipv6::IPV6_RECVPKTINFO,
    ipv6::IPV6_DONTFRAG,
    ipv6::IPV6_RECVTCLASS,
    ipv6::IPV6_TCLASS,
];

/// setsockopt `IPPROTO_TCP` options under `inet` and `dns`. Not TCP_ULP
/// (attaches kTLS), TCP_CONGESTION (may load a module), TCP_REPAIR*
/// (privileged), TCP_MD5SIG/TCP_AO (keys).
pub const SOCKOPT_TCP: &[u64] = &[
    tcp::TCP_NODELAY,
    tcp::TCP_MAXSEG,
    tcp::TCP_CORK,
    tcp::TCP_KEEPIDLE,
    tcp::TCP_KEEPINTVL,
    tcp::TCP_KEEPCNT,
    tcp::TCP_DEFER_ACCEPT,
    tcp::TCP_QUICKACK,
    tcp::TCP_USER_TIMEOUT,
    tcp::TCP_FASTOPEN,
    tcp::TCP_NOTSENT_LOWAT,
];

/// setsockopt `IPPROTO_UDP` options under `inet` (GSO/GRO, used by QUIC).
pub const SOCKOPT_UDP: &[u64] = &[udp::UDP_SEGMENT, udp::UDP_GRO];

/// setsockopt `IPPROTO_IP` multicast options under `mcast`.
pub const SOCKOPT_IP_MCAST: &[u64] = &[
    ip::IP_MULTICAST_IF,
    ip::IP_MULTICAST_TTL,
    ip::IP_MULTICAST_LOOP,
    ip::IP_MULTICAST_ALL,
    ip::IP_ADD_MEMBERSHIP,
    ip::IP_DROP_MEMBERSHIP,
    ip::IP_ADD_SOURCE_MEMBERSHIP,
    ip::IP_DROP_SOURCE_MEMBERSHIP,
    ip::IP_BLOCK_SOURCE,
    ip::IP_UNBLOCK_SOURCE,
    ip::MCAST_JOIN_GROUP,
    ip::MCAST_LEAVE_GROUP,
    ip::MCAST_JOIN_SOURCE_GROUP,
    ip::MCAST_LEAVE_SOURCE_GROUP,
    ip::MCAST_BLOCK_SOURCE,
    ip::MCAST_UNBLOCK_SOURCE,
];

/// setsockopt `IPPROTO_IPV6` multicast options under `mcast`.
pub const SOCKOPT_IPV6_MCAST: &[u64] = &[
    ipv6::IPV6_MULTICAST_IF,
    ipv6::IPV6_MULTICAST_HOPS,
    ipv6::IPV6_MULTICAST_LOOP,
    ipv6::IPV6_MULTICAST_ALL,
    ipv6::IPV6_ADD_MEMBERSHIP,
    ipv6::IPV6_DROP_MEMBERSHIP,
    ip::MCAST_JOIN_GROUP,
    ip::MCAST_LEAVE_GROUP,
    ip::MCAST_JOIN_SOURCE_GROUP,
    ip::MCAST_LEAVE_SOURCE_GROUP,
    ip::MCAST_BLOCK_SOURCE,
    ip::MCAST_UNBLOCK_SOURCE,
];

const INET_PLUS: Vows = Vows::INET.union(Vows::DNS);
const SOCKETS: Vows = Vows::INET.union(Vows::UNIX).union(Vows::DNS);
const PATHS: Vows = Vows::RPATH
    .union(Vows::WPATH)
    .union(Vows::CPATH)
    .union(Vows::TMPPATH);
const PROCS: Vows = Vows::CLONE.union(Vows::THREAD);

/// The table. Order inside a call does not change the verdict (grants are
/// OR'ed; `Fail` rules are placed after the allow rules).
pub static TABLE: &[Grant] = &[
    // ======================================================================
    // stdio
    // ======================================================================
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64,
            SYS_preadv, SYS_pwritev, SYS_preadv2, SYS_pwritev2,
            SYS_close, SYS_close_range, SYS_lseek, SYS_dup, SYS_dup3, SYS_pipe2,
            SYS_fsync, SYS_fdatasync, SYS_sync_file_range, SYS_ftruncate, SYS_fadvise64,
            SYS_readahead, SYS_sendfile, SYS_splice, SYS_tee, SYS_copy_file_range,
            SYS_fstat,
        ],
        check: Check::Always,
        note: "I/O on descriptors the process already holds; their access modes limit it",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_ppoll, SYS_pselect6, SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_pwait,
            SYS_epoll_pwait2, SYS_eventfd2, SYS_timerfd_create, SYS_timerfd_settime,
            SYS_timerfd_gettime, SYS_signalfd4,
        ],
        check: Check::Always,
        note: "waiting for descriptors, event and timer descriptors",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_brk, SYS_munmap, SYS_mremap, SYS_madvise, SYS_msync, SYS_mincore,
            SYS_mlock, SYS_mlock2, SYS_munlock, SYS_mlockall, SYS_munlockall,
            SYS_pkey_alloc, SYS_pkey_free, SYS_mseal, SYS_shmdt,
        ],
        check: Check::Always,
        note: "memory management of the process's own address space",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_mmap, SYS_mprotect, SYS_pkey_mprotect],
        check: Check::If(&[ArgCond::none_of(2, PROT_EXEC)]),
        note: "mappings without PROT_EXEC; `prot_exec` lifts the restriction",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_memfd_create],
        check: Check::If(&[ArgCond::none_of(1, MFD_EXEC)]),
        note: "anonymous memory files, not explicitly executable (MFD_EXEC needs `exec` or `prot_exec`)",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_rt_sigpending,
            SYS_rt_sigtimedwait, SYS_rt_sigsuspend, SYS_sigaltstack,
            SYS_getitimer, SYS_setitimer,
        ],
        check: Check::Always,
        note: "the process's own signal state",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_kill, SYS_tkill, SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo],
        check: Check::SelfPid { arg: 0, and: &[] },
        note: "signals to the process itself (raise, abort); needs VowOptions::self_pid; others need `proc`",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_clock_gettime, SYS_clock_getres, SYS_clock_nanosleep, SYS_nanosleep,
            SYS_gettimeofday, SYS_timer_create, SYS_timer_settime, SYS_timer_gettime,
            SYS_timer_getoverrun, SYS_timer_delete,
        ],
        check: Check::Always,
        note: "clocks, sleeping, the process's timers",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_getresuid, SYS_getresgid,
            SYS_getgroups, SYS_getpid, SYS_gettid, SYS_getppid, SYS_getpgid, SYS_getsid,
            SYS_capget,
        ],
        check: Check::Always,
        note: "identity queries",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_exit, SYS_exit_group, SYS_wait4, SYS_waitid, SYS_sched_yield,
            SYS_sched_getaffinity, SYS_getcpu, SYS_restart_syscall,
            SYS_set_tid_address, SYS_set_robust_list, SYS_rseq, SYS_futex, SYS_futex_waitv,
            SYS_getrandom, SYS_uname, SYS_getcwd, SYS_umask, SYS_getrusage, SYS_sysinfo,
            SYS_times, SYS_getrlimit,
        ],
        check: Check::Always,
        note: "process life cycle and what libc and std do in every process and thread \
               (set_tid_address, set_robust_list and rseq are registered at every start)",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_prlimit64],
        check: Check::If(&[ArgCond::eq(0, 0), null(2)]),
        note: "reading the process's own limits (getrlimit); setting them needs `proc`",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_prlimit64],
        check: Check::SelfPid { arg: 0, and: &[null(2)] },
        note: "reading the own limits by pid",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_newfstatat],
        check: Check::If(&[all_of(3, AT_EMPTY_PATH)]),
        note: "glibc's fstat() is newfstatat(fd, \"\", AT_EMPTY_PATH) (exile.h defect 9); \
               with a non-empty path this stats a path: metadata only, see the stdio docs",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_statx],
        check: Check::If(&[all_of(2, AT_EMPTY_PATH)]),
        note: "Rust's File::metadata() is statx(fd, \"\", AT_EMPTY_PATH)",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_fcntl],
        check: Check::OneOf { arg: 1, values: FCNTL_STDIO, and: &[] },
        note: "descriptor and status flags, dup, pipe size, seals",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_ioctl],
        check: Check::OneOf { arg: 1, values: IOCTL_STDIO, and: &[] },
        note: "FIONREAD FIONBIO FIOCLEX FIONCLEX, and TCGETS: isatty(), which glibc's stdio \
               and Rust's IsTerminal call",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_prctl],
        check: Check::OneOf { arg: 0, values: PRCTL_STDIO, and: &[] },
        note: "thread name, no_new_privs, seccomp and dumpable queries, bounding-set reads",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_prctl],
        check: Check::If(&[ArgCond::eq(0, PR_SET_DUMPABLE), ArgCond::eq(1, 0)]),
        note: "making the process not dumpable (never dumpable again)",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_prctl],
        check: Check::If(&[ArgCond::eq(0, PR_SET_VMA), ArgCond::eq(1, PR_SET_VMA_ANON_NAME)]),
        note: "naming anonymous mappings (glibc's malloc can)",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_personality],
        check: Check::If(&[ArgCond::eq(0, PERSONALITY_QUERY)]),
        note: "query only: setting READ_IMPLIES_EXEC would make every PROT_READ mapping executable",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_socketpair],
        check: Check::If(&[ArgCond::eq(0, AF_UNIX)]),
        note: "connected AF_UNIX pairs only",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_sendto],
        check: Check::If(&[null(4)]),
        note: "on connected sockets only (NULL address), like OpenBSD; addressed sends need a socket vow",
    },
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg, SYS_sendmsg, SYS_sendmmsg, SYS_shutdown,
        ],
        check: Check::Always,
        note: "messages on sockets already held; a filter cannot see msg_name or SCM_RIGHTS \
               (they are in memory), see `sendfd`",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![
            SYS_dup2, SYS_pipe, SYS_poll, SYS_select, SYS_epoll_create, SYS_epoll_wait,
            SYS_eventfd, SYS_signalfd, SYS_pause, SYS_alarm, SYS_time, SYS_getpgrp,
        ],
        check: Check::Always,
        note: "x86_64 legacy forms of stdio calls",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::STDIO),
        syscalls: sys![SYS_arch_prctl],
        check: Check::OneOf { arg: 0, values: &[ARCH_GET_FS, ARCH_GET_GS], and: &[] },
        note: "reading the thread's own FS/GS base",
    },
    // ======================================================================
    // rpath, wpath, cpath, dpath, tmppath
    // ======================================================================
    Grant {
        when: any(PATHS),
        syscalls: sys![SYS_openat],
        check: Check::OpenFlags { arg: 2 },
        note: "access mode and O_CREAT/O_TRUNC/__O_TMPFILE from the combination of path vows",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(PATHS),
        syscalls: sys![SYS_open],
        check: Check::OpenFlags { arg: 1 },
        note: "as openat",
    },
    Grant {
        when: any(PATHS),
        syscalls: sys![SYS_openat2],
        check: Check::Fail { errno: ENOSYS, conds: &[] },
        note: "its flags are in memory: ENOSYS makes libc fall back to openat",
    },
    Grant {
        when: any(Vows::RPATH),
        syscalls: sys![
            SYS_newfstatat, SYS_statx, SYS_statfs, SYS_fstatfs, SYS_faccessat, SYS_faccessat2,
            SYS_getdents64, SYS_chdir, SYS_fchdir, SYS_readlinkat, SYS_getxattr, SYS_lgetxattr,
            SYS_fgetxattr, SYS_listxattr, SYS_llistxattr, SYS_flistxattr, SYS_getxattrat,
            SYS_listxattrat,
        ],
        check: Check::Always,
        note: "reading paths: metadata, directories, links, extended attributes",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::RPATH),
        syscalls: sys![SYS_stat, SYS_lstat, SYS_access, SYS_getdents, SYS_readlink],
        check: Check::Always,
        note: "x86_64 legacy forms",
    },
    Grant {
        when: any(Vows::WPATH),
        syscalls: sys![SYS_truncate, SYS_fallocate],
        check: Check::Always,
        note: "writing files by path or descriptor",
    },
    Grant {
        when: any(Vows::CPATH),
        syscalls: sys![
            SYS_renameat, SYS_renameat2, SYS_mkdirat, SYS_linkat, SYS_unlinkat, SYS_symlinkat,
        ],
        check: Check::Always,
        note: "creating, renaming and removing names",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::CPATH),
        syscalls: sys![SYS_rename, SYS_mkdir, SYS_rmdir, SYS_link, SYS_unlink, SYS_symlink],
        check: Check::Always,
        note: "x86_64 legacy forms",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: all(Vows::WPATH.union(Vows::CPATH)),
        syscalls: sys![SYS_creat],
        check: Check::Always,
        note: "creat() is open(O_CREAT|O_WRONLY|O_TRUNC): both wpath and cpath",
    },
    Grant {
        when: any(Vows::DPATH),
        syscalls: sys![SYS_mknodat],
        check: Check::Always,
        note: "device nodes and FIFOs (devices still need CAP_MKNOD)",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::DPATH),
        syscalls: sys![SYS_mknod],
        check: Check::Always,
        note: "x86_64 legacy form",
    },
    Grant {
        when: any(Vows::TMPPATH),
        syscalls: sys![SYS_unlinkat],
        check: Check::If(&[ArgCond::eq(2, 0)]),
        note: "removing files (not directories); the temporary directory is Landlock's business",
    },
    Grant {
        when: any(Vows::TMPPATH),
        syscalls: sys![SYS_newfstatat, SYS_statx],
        check: Check::Always,
        note: "checking the temporary directory",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::TMPPATH),
        syscalls: sys![SYS_unlink, SYS_stat, SYS_lstat],
        check: Check::Always,
        note: "x86_64 legacy forms",
    },
    // ======================================================================
    // fattr, chown, flock, fsnotify
    // ======================================================================
    Grant {
        when: any(Vows::FATTR),
        syscalls: sys![
            SYS_fchmod, SYS_fchmodat, SYS_fchmodat2, SYS_utimensat, SYS_setxattr,
            SYS_lsetxattr, SYS_fsetxattr, SYS_removexattr, SYS_lremovexattr,
            SYS_fremovexattr, SYS_setxattrat, SYS_removexattrat,
        ],
        check: Check::Always,
        note: "modes, times, extended attributes",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::FATTR),
        syscalls: sys![SYS_chmod, SYS_utime, SYS_utimes, SYS_futimesat],
        check: Check::Always,
        note: "x86_64 legacy forms",
    },
    Grant {
        when: any(Vows::CHOWN),
        syscalls: sys![SYS_fchown, SYS_fchownat],
        check: Check::Always,
        note: "owners and groups",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::CHOWN),
        syscalls: sys![SYS_chown, SYS_lchown],
        check: Check::Always,
        note: "x86_64 legacy forms",
    },
    Grant {
        when: any(Vows::FLOCK),
        syscalls: sys![SYS_flock],
        check: Check::Always,
        note: "advisory whole-file locks",
    },
    Grant {
        when: any(Vows::FLOCK),
        syscalls: sys![SYS_fcntl],
        check: Check::OneOf { arg: 1, values: FCNTL_FLOCK, and: &[] },
        note: "POSIX and open-file-description record locks",
    },
    Grant {
        when: any(Vows::FSNOTIFY),
        syscalls: sys![
            SYS_inotify_init1, SYS_inotify_add_watch, SYS_inotify_rm_watch, SYS_fanotify_init,
            SYS_fanotify_mark,
        ],
        check: Check::Always,
        note: "file change notification",
    },
    Grant {
        when: any(Vows::FSNOTIFY),
        syscalls: sys![SYS_fcntl],
        check: Check::If(&[ArgCond::eq(1, F_NOTIFY)]),
        note: "dnotify",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::FSNOTIFY),
        syscalls: sys![SYS_inotify_init],
        check: Check::Always,
        note: "x86_64 legacy form",
    },
    // ======================================================================
    // Sockets: inet, unix, dns, mcast, sendfd, recvfd
    // ======================================================================
    Grant {
        when: any(INET_PLUS),
        syscalls: sys![SYS_socket],
        check: Check::OneOf {
            arg: 2,
            values: &[IPPROTO_IP, IPPROTO_TCP],
            and: &[ArgCond::eq(0, AF_INET), sock_type(SOCK_STREAM)],
        },
        note: "TCP over IPv4",
    },
    Grant {
        when: any(INET_PLUS),
        syscalls: sys![SYS_socket],
        check: Check::OneOf {
            arg: 2,
            values: &[IPPROTO_IP, IPPROTO_TCP],
            and: &[ArgCond::eq(0, AF_INET6), sock_type(SOCK_STREAM)],
        },
        note: "TCP over IPv6",
    },
    Grant {
        when: any(INET_PLUS),
        syscalls: sys![SYS_socket],
        check: Check::OneOf {
            arg: 2,
            values: &[IPPROTO_IP, IPPROTO_UDP],
            and: &[ArgCond::eq(0, AF_INET), sock_type(SOCK_DGRAM)],
        },
        note: "UDP over IPv4 (not ICMP ping sockets, not UDP-Lite)",
    },
    Grant {
        when: any(INET_PLUS),
        syscalls: sys![SYS_socket],
        check: Check::OneOf {
            arg: 2,
            values: &[IPPROTO_IP, IPPROTO_UDP],
            and: &[ArgCond::eq(0, AF_INET6), sock_type(SOCK_DGRAM)],
        },
        note: "UDP over IPv6",
    },
    Grant {
        when: any(Vows::UNIX),
        syscalls: sys![SYS_socket],
        check: Check::If(&[ArgCond::eq(0, AF_UNIX), sock_type(SOCK_STREAM), ArgCond::eq(2, 0)]),
        note: "AF_UNIX stream sockets",
    },
    Grant {
        when: any(Vows::UNIX),
        syscalls: sys![SYS_socket],
        check: Check::If(&[ArgCond::eq(0, AF_UNIX), sock_type(SOCK_DGRAM), ArgCond::eq(2, 0)]),
        note: "AF_UNIX datagram sockets",
    },
    Grant {
        when: any(Vows::UNIX),
        syscalls: sys![SYS_socket],
        check: Check::If(&[ArgCond::eq(0, AF_UNIX), sock_type(SOCK_SEQPACKET), ArgCond::eq(2, 0)]),
        note: "AF_UNIX seqpacket sockets",
    },
    Grant {
        when: any(Vows::UNIX),
        syscalls: sys![SYS_socketpair],
        check: Check::If(&[ArgCond::eq(0, AF_UNIX)]),
        note: "as stdio",
    },
    Grant {
        when: any(Vows::INET.union(Vows::UNIX)),
        syscalls: sys![SYS_bind, SYS_listen, SYS_accept, SYS_accept4],
        check: Check::Always,
        note: "servers; the address is in memory: ports and paths are Landlock's (ABI 4+) or a \
               network namespace's business",
    },
    Grant {
        when: any(SOCKETS),
        syscalls: sys![SYS_connect, SYS_getsockname, SYS_getpeername, SYS_getsockopt, SYS_sendto],
        check: Check::Always,
        note: "clients; getsockopt only reads",
    },
    Grant {
        when: any(SOCKETS),
        syscalls: sys![SYS_setsockopt],
        check: Check::OneOf { arg: 2, values: SOCKOPT_SOCKET, and: &[ArgCond::eq(1, SOL_SOCKET)] },
        note: "SOL_SOCKET options by level and name (exile.h defect 6: name only)",
    },
    Grant {
        when: any(INET_PLUS),
        syscalls: sys![SYS_setsockopt],
        check: Check::OneOf { arg: 2, values: SOCKOPT_IP, and: &[ArgCond::eq(1, IPPROTO_IP)] },
        note: "IPPROTO_IP options",
    },
    Grant {
        when: any(INET_PLUS),
        syscalls: sys![SYS_setsockopt],
        check: Check::OneOf { arg: 2, values: SOCKOPT_IPV6, and: &[ArgCond::eq(1, IPPROTO_IPV6)] },
        note: "IPPROTO_IPV6 options",
    },
    Grant {
        when: any(INET_PLUS),
        syscalls: sys![SYS_setsockopt],
        check: Check::OneOf { arg: 2, values: SOCKOPT_TCP, and: &[ArgCond::eq(1, IPPROTO_TCP)] },
        note: "IPPROTO_TCP options (TCP_NODELAY is 1, like SO_DEBUG: the level tells them apart)",
    },
    Grant {
        when: any(INET_PLUS),
        syscalls: sys![SYS_setsockopt],
        check: Check::OneOf { arg: 2, values: SOCKOPT_UDP, and: &[ArgCond::eq(1, IPPROTO_UDP)] },
        note: "IPPROTO_UDP options",
    },
    Grant {
        when: any(Vows::DNS),
        syscalls: sys![SYS_socket],
        check: Check::Fail { errno: EAFNOSUPPORT, conds: &[ArgCond::eq(0, AF_UNIX)] },
        note: "glibc tries nscd (and nss-resolve systemd-resolved) over AF_UNIX first: refusing \
               softly makes it fall back to DNS instead of killing the resolver",
    },
    Grant {
        when: any(Vows::DNS),
        syscalls: sys![SYS_socket],
        check: Check::Fail { errno: EAFNOSUPPORT, conds: &[ArgCond::eq(0, AF_NETLINK)] },
        note: "getaddrinfo() asks rtnetlink for local addresses; without it, it assumes both \
               families (route changes over netlink stay out of reach)",
    },
    Grant {
        when: any(Vows::MCAST),
        syscalls: sys![SYS_setsockopt],
        check: Check::OneOf {
            arg: 2,
            values: SOCKOPT_IP_MCAST,
            and: &[ArgCond::eq(1, IPPROTO_IP)],
        },
        note: "IPv4 multicast membership and options",
    },
    Grant {
        when: any(Vows::MCAST),
        syscalls: sys![SYS_setsockopt],
        check: Check::OneOf {
            arg: 2,
            values: SOCKOPT_IPV6_MCAST,
            and: &[ArgCond::eq(1, IPPROTO_IPV6)],
        },
        note: "IPv6 multicast membership and options",
    },
    Grant {
        when: any(Vows::SENDFD),
        syscalls: sys![SYS_sendmsg, SYS_sendmmsg],
        check: Check::Always,
        note: "the calls that can carry SCM_RIGHTS; stdio has them too (see the vow's docs)",
    },
    Grant {
        when: any(Vows::RECVFD),
        syscalls: sys![SYS_recvmsg, SYS_recvmmsg],
        check: Check::Always,
        note: "the calls that can carry SCM_RIGHTS; stdio has them too (see the vow's docs)",
    },
    // ======================================================================
    // tty, ioctl
    // ======================================================================
    Grant {
        when: any(Vows::TTY),
        syscalls: sys![SYS_ioctl],
        check: Check::OneOf { arg: 1, values: IOCTL_TTY, and: &[] },
        note: "terminal requests by equality",
    },
    Grant {
        when: any(Vows::IOCTL),
        syscalls: sys![SYS_ioctl],
        check: Check::If(&[ne(1, TIOCSTI), ne(1, TIOCLINUX)]),
        note: "any request but TIOCSTI and TIOCLINUX, compared by equality (exile.h defect 4 \
               tested TIOCSTI bitwise and denied FIONREAD and TCGETS)",
    },
    // ======================================================================
    // Processes: proc, exec, prot_exec, clone, thread, id, sched, shm
    // ======================================================================
    Grant {
        when: any(Vows::PROC),
        syscalls: sys![
            SYS_kill, SYS_tkill, SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo,
            SYS_setpgid, SYS_setsid, SYS_getpriority, SYS_setpriority, SYS_prlimit64,
            SYS_setrlimit, SYS_ioprio_get, SYS_ioprio_set,
        ],
        check: Check::Always,
        note: "signals to any process the credentials allow, process groups and sessions, \
               priorities and limits",
    },
    Grant {
        when: any(Vows::EXEC),
        syscalls: sys![SYS_execve, SYS_execveat],
        check: Check::Always,
        note: "the filter stays in force in the new program",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::EXEC),
        syscalls: sys![SYS_arch_prctl],
        check: Check::If(&[ArgCond::eq(0, ARCH_SET_FS)]),
        note: "a new program's libc sets its thread pointer first thing",
    },
    Grant {
        when: any(Vows::PROT_EXEC),
        syscalls: sys![SYS_mmap, SYS_mprotect, SYS_pkey_mprotect],
        check: Check::Always,
        note: "executable mappings (JITs, the dynamic loader of an exec'd program)",
    },
    Grant {
        when: all(Vows::STDIO.union(Vows::PROT_EXEC)),
        syscalls: sys![SYS_memfd_create],
        check: Check::Always,
        note: "MFD_EXEC memfds",
    },
    Grant {
        when: all(Vows::STDIO.union(Vows::EXEC)),
        syscalls: sys![SYS_memfd_create],
        check: Check::Always,
        note: "MFD_EXEC memfds",
    },
    Grant {
        when: any(Vows::CLONE),
        syscalls: sys![SYS_clone],
        check: Check::If(&[ArgCond::none_of(0, CLONE_NEW_ANY | CLONE_THREAD)]),
        note: "new processes (fork, vfork, posix_spawn), no namespaces (exile.h defect 7)",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::CLONE),
        syscalls: sys![SYS_fork, SYS_vfork],
        check: Check::Always,
        note: "x86_64 legacy forms",
    },
    Grant {
        when: any(Vows::THREAD),
        syscalls: sys![SYS_clone],
        check: Check::If(&[
            all_of(0, CLONE_VM | CLONE_THREAD),
            ArgCond::none_of(0, CLONE_NEW_ANY),
        ]),
        note: "threads: CLONE_VM and CLONE_THREAD both set, no namespaces",
    },
    Grant {
        when: any(PROCS),
        syscalls: sys![SYS_clone3],
        check: Check::Fail { errno: ENOSYS, conds: &[] },
        note: "its flags are in memory: ENOSYS makes libc fall back to clone",
    },
    Grant {
        when: any(Vows::THREAD),
        syscalls: sys![
            SYS_futex, SYS_futex_waitv, SYS_set_robust_list, SYS_get_robust_list, SYS_rseq,
            SYS_set_tid_address, SYS_membarrier, SYS_sched_getaffinity, SYS_gettid,
        ],
        check: Check::Always,
        note: "what a thread library does",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::THREAD),
        syscalls: sys![SYS_map_shadow_stack],
        check: Check::Always,
        note: "thread shadow stacks where user shadow stacks are on",
    },
    Grant {
        when: any(Vows::ID),
        syscalls: sys![
            SYS_setuid, SYS_setgid, SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid,
            SYS_setgroups, SYS_setfsuid, SYS_setfsgid, SYS_capset,
        ],
        check: Check::Always,
        note: "changing credentials and capability sets",
    },
    Grant {
        when: any(Vows::SCHED),
        syscalls: sys![
            SYS_sched_getparam, SYS_sched_setparam, SYS_sched_getscheduler,
            SYS_sched_setscheduler, SYS_sched_get_priority_max, SYS_sched_get_priority_min,
            SYS_sched_rr_get_interval, SYS_sched_getaffinity, SYS_sched_setaffinity,
            SYS_sched_getattr, SYS_sched_setattr,
        ],
        check: Check::Always,
        note: "scheduling policy, priority and affinity",
    },
    Grant {
        when: any(Vows::SHM),
        syscalls: sys![
            SYS_shmget, SYS_shmctl, SYS_shmdt, SYS_semget, SYS_semop, SYS_semtimedop,
            SYS_semctl, SYS_msgget, SYS_msgsnd, SYS_msgrcv, SYS_msgctl, SYS_mq_open,
            SYS_mq_unlink, SYS_mq_timedsend, SYS_mq_timedreceive, SYS_mq_notify,
            SYS_mq_getsetattr,
        ],
        check: Check::Always,
        note: "System V shared memory, semaphores and message queues; POSIX message queues",
    },
    Grant {
        when: any(Vows::SHM),
        syscalls: sys![SYS_shmat],
        check: Check::If(&[ArgCond::none_of(2, SHM_EXEC)]),
        note: "attaching without SHM_EXEC",
    },
    Grant {
        when: all(Vows::SHM.union(Vows::PROT_EXEC)),
        syscalls: sys![SYS_shmat],
        check: Check::Always,
        note: "SHM_EXEC attachments",
    },
    // ======================================================================
    // prctl, seccomp_install, unveil, settime, vminfo
    // ======================================================================
    Grant {
        when: any(Vows::PRCTL),
        syscalls: sys![SYS_prctl],
        check: Check::Always,
        note: "any prctl",
    },
    #[cfg(target_arch = "x86_64")]
    Grant {
        when: any(Vows::PRCTL),
        syscalls: sys![SYS_arch_prctl],
        check: Check::Always,
        note: "any arch_prctl",
    },
    Grant {
        when: any(Vows::SECCOMP_INSTALL),
        syscalls: sys![SYS_prctl],
        check: Check::If(&[ArgCond::eq(0, PR_SET_SECCOMP)]),
        note: "installing a further filter (it can only narrow)",
    },
    Grant {
        when: any(Vows::SECCOMP_INSTALL),
        syscalls: sys![SYS_seccomp],
        check: Check::If(&[
            ArgCond::eq(0, SECCOMP_SET_MODE_FILTER),
            ArgCond::none_of(1, SECCOMP_FILTER_FLAG_SPEC_ALLOW),
        ]),
        note: "a further filter, with TSYNC if wanted; not SPEC_ALLOW (it weakens the task)",
    },
    Grant {
        when: any(Vows::SECCOMP_INSTALL),
        syscalls: sys![SYS_seccomp],
        check: Check::If(&[ArgCond::eq(0, SECCOMP_GET_ACTION_AVAIL)]),
        note: "which actions the kernel knows (feature detection)",
    },
    Grant {
        when: any(Vows::SECCOMP_INSTALL.union(Vows::UNVEIL)),
        syscalls: sys![SYS_landlock_create_ruleset],
        check: Check::OneOf {
            arg: 2,
            values: &[LANDLOCK_CREATE_RULESET_VERSION, LANDLOCK_CREATE_RULESET_ERRATA],
            and: &[],
        },
        note: "the Landlock ABI and errata queries: they create nothing (exile.h defect 8 died here)",
    },
    Grant {
        when: any(Vows::UNVEIL),
        syscalls: sys![SYS_landlock_create_ruleset, SYS_landlock_add_rule, SYS_landlock_restrict_self],
        check: Check::Always,
        note: "a further, narrowing, Landlock ruleset",
    },
    Grant {
        when: any(Vows::SETTIME),
        syscalls: sys![SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime, SYS_adjtimex],
        check: Check::Always,
        note: "setting and adjusting clocks (still needs CAP_SYS_TIME)",
    },
    Grant {
        when: any(Vows::VMINFO),
        syscalls: sys![SYS_sysinfo, SYS_getcpu, SYS_sched_getaffinity],
        check: Check::Always,
        note: "memory, load and CPU information (stdio has these too)",
    },
];
