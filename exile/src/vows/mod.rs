//! Vows: pledge()-style promises compiled to a seccomp rule table.
//!
//! A process vows what it will keep doing — `"stdio rpath inet"` — and the
//! filter built from the vows kills it (or fails the call) when it does
//! anything else. The names are exile.h's, so every exile.h vow string
//! parses unchanged, plus the OpenBSD/Cosmopolitan promises that mean
//! something on Linux.
//!
//! ```
//! use exile::seccomp::rules::{Action, Arch};
//! use exile::vows::{filter_spec, VowOptions, Vows};
//!
//! let vows: Vows = "stdio rpath".parse()?;
//! let spec = filter_spec(vows, &VowOptions::default())?;
//! let arch = Arch::native().audit_arch();
//! let write = libc::SYS_write as u32;
//! assert_eq!(spec.evaluate(arch, write, &[1, 0, 0, 0, 0, 0]), Action::Allow);
//! // O_WRONLY needs wpath.
//! let openat = libc::SYS_openat as u32;
//! let o_wronly = libc::O_WRONLY as u64;
//! assert_eq!(spec.evaluate(arch, openat, &[0, 0, o_wronly, 0, 0, 0]), Action::KillProcess);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # How vows combine
//!
//! Vows are OR'ed: a call is allowed when any made vow grants it, with the
//! argument conditions of that grant. The one place where the combination
//! itself matters is `open`/`openat` ([`open_flag_rules`]): `rpath` allows
//! the read-only access mode, `wpath` write-only, both together read-write;
//! `cpath` adds `O_CREAT` (and `O_TMPFILE`) to *those* access modes, `wpath`
//! adds `O_TRUNC`. So `rpath cpath` lets `O_RDONLY|O_CREAT` through but not
//! `O_WRONLY`.
//!
//! Every grant is a line of the declarative [`table::TABLE`]; this module
//! only turns the lines that apply into a [`FilterSpec`].
//!
//! # What a filter cannot check
//!
//! Seccomp sees the six register arguments, never memory: not paths, not
//! socket addresses, not `openat2`'s or `clone3`'s argument structures, not
//! `SCM_RIGHTS` control messages. Path and port limits are Landlock's (the
//! `fs` module); `openat2` and `clone3` return `ENOSYS` so libc falls back to
//! the filterable `openat` and `clone`.
//!
//! # Judgment calls
//!
//! Where exile.h, OpenBSD and Linux disagree, the choice and its reason is
//! documented on the vow's constant; in short:
//!
//! - `stdio` allows `newfstatat`/`statx` with `AT_EMPTY_PATH` (glibc's
//!   `fstat`, Rust's `File::metadata`; exile.h's defect 9), `ioctl(TCGETS)`
//!   (`isatty`, which glibc's `printf` calls on a terminal or `/dev/null`),
//!   `uname` (OpenBSD's stdio allows the same sysctls), `rseq`,
//!   `set_robust_list` and `set_tid_address` (libc registers them in every
//!   process and thread), `personality` as a query only (setting
//!   `READ_IMPLIES_EXEC` would defeat the `PROT_EXEC` check), `memfd_create`
//!   without `MFD_EXEC`, `sendto` to a NULL address only, and signals to
//!   itself only.
//! - File locks are `flock`'s, System V semaphores/queues and POSIX queues
//!   are `shm`'s (exile.h had them in `stdio`).
//! - `sendfd`/`recvfd` cannot see `SCM_RIGHTS`; `tmppath` cannot see `/tmp`;
//!   `dns` cannot see port 53. Each grants what it honestly can.
//! - `dns` fails `socket(AF_UNIX)` and `socket(AF_NETLINK)` with
//!   `EAFNOSUPPORT` (glibc falls back) instead of killing.
//! - `seccomp_install` includes the Landlock ABI *query*, which creates
//!   nothing (exile.h's defect 8); the other Landlock calls are `unveil`'s.
//! - In no vow: `io_uring_*`, `ptrace`, the mount API, `chroot`,
//!   `pivot_root`, `unshare`, `setns`, `bpf`, `perf_event_open`,
//!   `memfd_secret`, `pidfd_*`, `process_vm_*`, `process_madvise`, `kcmp`,
//!   `userfaultfd`, `reboot`, modules and `kexec`, keyrings, `quotactl`,
//!   `acct`, `swapon`/`swapoff`, `iopl`/`ioperm`, `vhangup`,
//!   `lookup_dcookie`, `name_to_handle_at`/`open_by_handle_at`, AIO
//!   (`io_setup`…), and `seccomp()` outside `seccomp_install`.
//!
//! # The filter belongs to one process
//!
//! [`VowOptions::self_pid`] lets `stdio` signal the process itself
//! (`raise`, `abort`): the pid is a constant in the filter. A child forked
//! after the filter is in force keeps its parent's filter, in which its own
//! pid is *not* "self"; a child that wants self-signalling must build its
//! own filter with its own pid.

mod consts;
pub mod table;

use std::fmt;
use std::str::FromStr;

use bitflags::bitflags;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::seccomp::rules::{Action, ArgCond, FilterSpec, Rule};

use self::consts::{
    EACCES, O_ACCMODE, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TMPFILE_BIT, O_TRUNC, O_WRONLY,
};
use self::table::{Check, Grant, TABLE};

bitflags! {
    /// A set of vows (promises).
    ///
    /// Parse one from a string with [`str::parse`] (exile.h's and OpenBSD's
    /// spelling: `"stdio rpath inet"`), print one with `Display`, compile
    /// one with [`filter_spec`]. What every vow grants is listed on its
    /// constant; the exact argument checks are in [`table::TABLE`].
    ///
    /// ```
    /// use exile::vows::Vows;
    /// let v: Vows = "stdio   rpath\tinet".parse()?;
    /// assert_eq!(v, Vows::STDIO | Vows::RPATH | Vows::INET);
    /// assert_eq!(v.to_string(), "stdio rpath inet");
    /// # Ok::<(), exile::vows::VowParseError>(())
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct Vows: u64 {
        /// `stdio`: what every program needs to compute and talk over the
        /// descriptors it holds.
        ///
        /// - I/O on held descriptors: `read write readv writev pread64
        ///   pwrite64 preadv(2) pwritev(2) close close_range lseek dup dup2
        ///   dup3 pipe pipe2 fsync fdatasync sync_file_range ftruncate
        ///   fadvise64 readahead sendfile splice tee copy_file_range fstat`;
        ///   waiting: `poll ppoll select pselect6 epoll_*`; `eventfd(2)
        ///   timerfd_* signalfd(4)`.
        /// - Memory: `brk munmap mremap madvise msync mincore mlock* munlock*
        ///   pkey_alloc pkey_free mseal shmdt`, and `mmap mprotect
        ///   pkey_mprotect` **without `PROT_EXEC`** ([`PROT_EXEC`](Vows::PROT_EXEC)
        ///   lifts that); `memfd_create` without `MFD_EXEC`.
        /// - Signals: `rt_sig* sigaltstack getitimer setitimer alarm pause`;
        ///   `kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo` **to the
        ///   process itself only** (first argument equal to
        ///   [`VowOptions::self_pid`]; with no `self_pid`, not at all).
        ///   `kill(0, …)` (the process group) and other pids need `proc`.
        /// - Time: `clock_gettime clock_getres clock_nanosleep nanosleep
        ///   gettimeofday time timer_*`.
        /// - Identity queries: `get[e][ug]id getres[ug]id getgroups getpid
        ///   gettid getppid getpgid getpgrp getsid capget`.
        /// - Life cycle and runtime: `exit exit_group wait4 waitid
        ///   sched_yield sched_getaffinity` (any pid: glibc's
        ///   `pthread_getattr_np` asks for a thread's tid) `getcpu restart_syscall
        ///   set_tid_address set_robust_list rseq futex futex_waitv
        ///   getrandom uname getcwd umask getrusage sysinfo times`;
        ///   `prlimit64`/`getrlimit` reading the own limits only (new limit
        ///   NULL, pid 0 or self).
        /// - `newfstatat` with `AT_EMPTY_PATH` and `statx` with
        ///   `AT_EMPTY_PATH`: glibc's `fstat()` is `newfstatat(fd, "",
        ///   AT_EMPTY_PATH)` and Rust's `File::metadata()` is `statx(fd, "",
        ///   AT_EMPTY_PATH)` (exile.h's defect 9 killed the first `printf`).
        ///   The path is in memory, so the filter cannot insist it is empty:
        ///   `newfstatat(dirfd, "name", AT_EMPTY_PATH)` stats a path. That
        ///   reveals metadata (existence, size, owner, times), never
        ///   contents; Landlock does not restrict stat either.
        /// - `fcntl`: `F_DUPFD F_DUPFD_CLOEXEC F_GETFD F_SETFD F_GETFL
        ///   F_SETFL F_GETPIPE_SZ F_SETPIPE_SZ F_GET_SEALS F_ADD_SEALS`, by
        ///   equality. Locks need `flock`.
        /// - `ioctl`: `FIONREAD FIONBIO FIOCLEX FIONCLEX` and `TCGETS`, by
        ///   equality. `TCGETS` is `isatty()`: glibc's stdio calls it on a
        ///   character-device stdout, Rust's `IsTerminal` calls it; it only
        ///   reads. (exile.h and OpenBSD's list has no TCGETS; OpenBSD
        ///   allows isatty under stdio by a separate check.)
        /// - `prctl`: `PR_GET_NAME PR_SET_NAME PR_GET_NO_NEW_PRIVS
        ///   PR_SET_NO_NEW_PRIVS PR_CAPBSET_READ PR_GET_SECCOMP
        ///   PR_GET_DUMPABLE`, `PR_SET_DUMPABLE` to 0 only, `PR_SET_VMA`
        ///   anonymous names. (These are also what a second
        ///   [`Prepared::apply`](crate::Prepared::apply) needs.)
        /// - `arch_prctl` (x86_64): `ARCH_GET_FS ARCH_GET_GS` only.
        /// - `personality(0xffffffff)` (the query) only: setting
        ///   `READ_IMPLIES_EXEC` would make every readable mapping
        ///   executable.
        /// - Sockets already held: `recvfrom recvmsg recvmmsg sendmsg
        ///   sendmmsg shutdown`, `sendto` with a NULL address (connected
        ///   sockets; like OpenBSD), `socketpair(AF_UNIX)`.
        ///
        /// Differences from exile.h's stdio: file locks moved to `flock`,
        /// System V semaphores/message queues and POSIX message queues moved
        /// to `shm`, `fcntl` and `prctl` restricted by command, kill only to
        /// self, `sendto` only unaddressed; added `newfstatat`/`statx` with
        /// `AT_EMPTY_PATH`, `TCGETS`, `uname`, `rseq`, `set_tid_address`.
        const STDIO = 1 << 0;
        /// `rpath`: read the filesystem.
        ///
        /// `open`/`openat` read-only: access mode `O_RDONLY`, no `O_CREAT`,
        /// no `O_TRUNC`, no `__O_TMPFILE`; `O_DIRECTORY` is fine (exile.h's
        /// defect 5 tested the whole `O_TMPFILE` mask, which contains
        /// `O_DIRECTORY`, and so broke `opendir()`). `stat lstat newfstatat
        /// statx statfs fstatfs access faccessat faccessat2 getdents
        /// getdents64 chdir fchdir readlink readlinkat getxattr lgetxattr
        /// fgetxattr listxattr llistxattr flistxattr getxattrat
        /// listxattrat`. `openat2` fails with `ENOSYS`.
        const RPATH = 1 << 1;
        /// `wpath`: write the filesystem.
        ///
        /// `open`/`openat` with access mode `O_WRONLY` (`O_RDWR` with
        /// `rpath`), `O_TRUNC` and `O_APPEND`; `O_CREAT` only with `cpath`.
        /// `truncate fallocate`. `openat2` fails with `ENOSYS`.
        const WPATH = 1 << 2;
        /// `cpath`: create and remove names.
        ///
        /// Lifts the `O_CREAT`/`__O_TMPFILE` ban for the access modes that
        /// `rpath`/`wpath` allow. `rename renameat renameat2 mkdir mkdirat
        /// rmdir link linkat unlink unlinkat symlink symlinkat`; `creat`
        /// with `wpath` as well (it opens for writing).
        const CPATH = 1 << 3;
        /// `dpath`: `mknod mknodat` (device nodes still need `CAP_MKNOD`).
        const DPATH = 1 << 4;
        /// `tmppath`: create fresh temporary files and remove files.
        ///
        /// OpenBSD limits it to `/tmp`; seccomp cannot see paths, so on
        /// Linux the limit to a directory comes from a Landlock rule (pair
        /// the vow with one). What the vow grants: `open`/`openat` with
        /// both `O_CREAT` and `O_EXCL` and access mode `O_WRONLY` or
        /// `O_RDWR` (mkstemp(): it can only create a *new* file, never open
        /// an existing one), or with `__O_TMPFILE` (an unnamed file);
        /// `unlink`, `unlinkat` without `AT_REMOVEDIR`; `stat lstat
        /// newfstatat statx`.
        const TMPPATH = 1 << 5;
        /// `flock`: `flock`, and `fcntl` `F_GETLK F_SETLK F_SETLKW
        /// F_OFD_GETLK F_OFD_SETLK F_OFD_SETLKW`.
        const FLOCK = 1 << 6;
        /// `fattr`: change file attributes: `chmod fchmod fchmodat
        /// fchmodat2 utime utimes futimesat utimensat setxattr lsetxattr
        /// fsetxattr removexattr lremovexattr fremovexattr setxattrat
        /// removexattrat`.
        const FATTR = 1 << 7;
        /// `chown`: `chown fchown lchown fchownat`.
        const CHOWN = 1 << 8;
        /// `fsnotify`: `inotify_init inotify_init1 inotify_add_watch
        /// inotify_rm_watch fanotify_init fanotify_mark`, `fcntl(F_NOTIFY)`.
        const FSNOTIFY = 1 << 9;
        /// `inet`: IPv4 and IPv6 TCP and UDP.
        ///
        /// `socket` checked by domain, type and protocol: `AF_INET`/
        /// `AF_INET6` with `SOCK_STREAM` (protocol 0 or `IPPROTO_TCP`) or
        /// `SOCK_DGRAM` (0 or `IPPROTO_UDP`), `SOCK_NONBLOCK`/`SOCK_CLOEXEC`
        /// allowed; not raw, packet, ICMP, SCTP or MPTCP sockets. `bind
        /// listen accept accept4 connect getsockname getpeername getsockopt
        /// sendto`. `setsockopt` by **level and name** (exile.h's defect 6
        /// compared the name only, so `TCP_NODELAY`, 1 at `IPPROTO_TCP`, was
        /// denied as `SO_DEBUG`, 1 at `SOL_SOCKET`): the lists in
        /// [`table::SOCKOPT_SOCKET`], [`table::SOCKOPT_IP`],
        /// [`table::SOCKOPT_IPV6`], [`table::SOCKOPT_TCP`],
        /// [`table::SOCKOPT_UDP`]. Addresses and ports are in memory: limit
        /// them with Landlock network rules or a network namespace.
        const INET = 1 << 10;
        /// `unix`: `AF_UNIX` stream, datagram and seqpacket sockets
        /// (protocol 0), `socketpair(AF_UNIX)`, `bind listen accept accept4
        /// connect getsockname getpeername getsockopt sendto`, and the
        /// `SOL_SOCKET` options of [`table::SOCKOPT_SOCKET`].
        const UNIX = 1 << 11;
        /// `dns`: what glibc's resolver does.
        ///
        /// OpenBSD's `dns` lets only port 53 through, in the kernel; a
        /// filter cannot see the port, so on Linux this is an IPv4/IPv6 TCP
        /// and UDP *client* (sockets as `inet`, `connect getsockname
        /// getpeername getsockopt sendto`, the `inet` socket options) with
        /// no `bind`, `listen` or `accept`. `socket(AF_UNIX)` and
        /// `socket(AF_NETLINK)` fail with `EAFNOSUPPORT` instead of killing:
        /// glibc first asks nscd over `AF_UNIX`, and `getaddrinfo()` asks
        /// rtnetlink for local addresses; both fall back. Reading
        /// `/etc/resolv.conf`, `/etc/hosts` and `/etc/nsswitch.conf` needs
        /// `rpath`.
        const DNS = 1 << 12;
        /// `mcast`: multicast membership and options — `setsockopt` at
        /// `IPPROTO_IP`/`IPPROTO_IPV6` with the names of
        /// [`table::SOCKOPT_IP_MCAST`] and [`table::SOCKOPT_IPV6_MCAST`].
        /// Sockets come from `inet`.
        const MCAST = 1 << 13;
        /// `sendfd`: `sendmsg sendmmsg`.
        ///
        /// Honestly: a filter cannot tell a message that carries
        /// descriptors (`SCM_RIGHTS`, in memory) from one that does not,
        /// and `stdio` already allows `sendmsg` (OpenBSD's stdio does too,
        /// and refuses `SCM_RIGHTS` in its kernel). So this vow adds nothing
        /// to `stdio`; it exists so OpenBSD promise strings parse and keep
        /// their meaning where stdio is not made. Keep descriptors from
        /// moving with Landlock's scoping or by not holding Unix sockets.
        const SENDFD = 1 << 14;
        /// `recvfd`: `recvmsg recvmmsg`; the same caveat as
        /// [`SENDFD`](Vows::SENDFD).
        const RECVFD = 1 << 15;
        /// `tty`: terminal `ioctl`s by equality: `TCGETS TCSETS TCSETSW
        /// TCSETSF TCGETS2 TCSETS2 TCSETSW2 TCSETSF2 TCSBRK TCSBRKP TCXONC
        /// TCFLSH TIOCGWINSZ TIOCSWINSZ TIOCGPGRP TIOCSPGRP TIOCGSID
        /// TIOCOUTQ FIONREAD TIOCGPTN TIOCSPTLCK TIOCGPTPEER`. Never
        /// `TIOCSTI`/`TIOCLINUX` (input injection), `TIOCSCTTY`/`TIOCNOTTY`,
        /// `TIOCSETD`, `TIOCCONS`.
        const TTY = 1 << 16;
        /// `ioctl`: every `ioctl` request except `TIOCSTI` and `TIOCLINUX`,
        /// compared by equality on the 32-bit request (exile.h's defect 4
        /// tested `TIOCSTI` bitwise and so denied `FIONREAD` and `TCGETS`).
        const IOCTL = 1 << 17;
        /// `proc`: `kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo` to
        /// any process (and `kill(0, …)`), `setpgid setsid getpriority
        /// setpriority setrlimit prlimit64 ioprio_get ioprio_set`.
        /// (exile.h's proc has `uname`; here `stdio` has it.)
        const PROC = 1 << 18;
        /// `exec`: `execve execveat`, and on x86_64 `arch_prctl(ARCH_SET_FS)`.
        ///
        /// The filter survives `execve`: the new program runs under it and
        /// its start-up needs `stdio` (`set_tid_address set_robust_list
        /// rseq prlimit64 brk mmap mprotect`), `arch_prctl(ARCH_SET_FS)`
        /// (granted here), and for a dynamically linked program `rpath`
        /// (the loader opens libraries) and `prot_exec` (it maps their
        /// code). Also grants `memfd_create(MFD_EXEC)` with `stdio`.
        const EXEC = 1 << 19;
        /// `prot_exec`: `mmap mprotect pkey_mprotect` with `PROT_EXEC`;
        /// with `stdio`, `memfd_create(MFD_EXEC)`; with `shm`,
        /// `shmat(SHM_EXEC)`.
        const PROT_EXEC = 1 << 20;
        /// `clone`: new processes — `fork vfork`, `clone` with **no**
        /// `CLONE_NEW*` flag (exile.h's defect 7 let namespace flags
        /// through) and no `CLONE_THREAD`. `clone3` fails with `ENOSYS` (its
        /// flags are in memory), so glibc falls back to `clone`. A child
        /// inherits the filter.
        const CLONE = 1 << 21;
        /// `thread`: `clone` with `CLONE_VM` and `CLONE_THREAD` both set and
        /// no `CLONE_NEW*`; `clone3` → `ENOSYS` (glibc's `pthread_create`
        /// then falls back to `clone`); `futex futex_waitv set_robust_list
        /// get_robust_list rseq set_tid_address membarrier
        /// sched_getaffinity gettid`, `map_shadow_stack` (x86_64).
        ///
        /// `std::thread::spawn` works with `stdio thread`.
        /// `std::thread::available_parallelism()` first reads
        /// `/proc/self/cgroup` and the cgroup CPU quota: it needs `rpath`.
        const THREAD = 1 << 22;
        /// `id`: `setuid setgid setreuid setregid setresuid setresgid
        /// setgroups setfsuid setfsgid capset`.
        const ID = 1 << 23;
        /// `sched`: `sched_getparam sched_setparam sched_getscheduler
        /// sched_setscheduler sched_get_priority_max sched_get_priority_min
        /// sched_rr_get_interval sched_getaffinity sched_setaffinity
        /// sched_getattr sched_setattr`.
        const SCHED = 1 << 24;
        /// `shm`: System V IPC — `shmget shmctl shmdt`, `shmat` (with
        /// `SHM_EXEC` only with `prot_exec`), `semget semop semtimedop
        /// semctl msgget msgsnd msgrcv msgctl` — and POSIX message queues
        /// (`mq_*`). (exile.h puts semaphores, message queues and `mq_*`
        /// in stdio.)
        const SHM = 1 << 25;
        /// `prctl`: any `prctl`, any `arch_prctl`.
        const PRCTL = 1 << 26;
        /// `seccomp_install`: what a second vow (a further, narrowing
        /// filter) needs beyond `stdio`: `prctl(PR_SET_SECCOMP)`,
        /// `seccomp(SECCOMP_SET_MODE_FILTER)` without
        /// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`, `seccomp(SECCOMP_GET_ACTION_AVAIL)`,
        /// and the Landlock ABI/errata queries
        /// (`landlock_create_ruleset(NULL, 0, VERSION|ERRATA)`, which create
        /// nothing). exile.h's second vow died on `landlock_create_ruleset`
        /// (defect 8). Other Landlock calls need `unveil`.
        ///
        /// What the second vow's own policy may do is bounded by the first
        /// filter: reuse the first one's [`Features`](crate::Features)
        /// (`Policy::prepare_with`) — `Features::detect` forks a probe child
        /// and reads `/proc`, which this vow does not grant — and add only
        /// the filter, no_new_privs and not-dumpable (both in `stdio`):
        /// closing fds by listing `/proc/self/fd` needs `rpath`, dropping
        /// capabilities needs `id` and `prctl`, namespaces are in no vow.
        const SECCOMP_INSTALL = 1 << 27;
        /// `settime`: `settimeofday clock_settime clock_adjtime adjtimex`
        /// (still needs `CAP_SYS_TIME`).
        const SETTIME = 1 << 28;
        /// `vminfo`: `sysinfo getcpu sched_getaffinity`. On Linux the rest
        /// of what OpenBSD's vminfo reveals lives in `/proc`, which is
        /// `rpath`'s and Landlock's business; `stdio` has these calls too.
        const VMINFO = 1 << 29;
        /// `unveil`: `landlock_create_ruleset landlock_add_rule
        /// landlock_restrict_self`, so a later, narrowing Landlock policy
        /// can be applied (Landlock, like unveil, can only narrow).
        const UNVEIL = 1 << 30;
        /// `error`: no system call. A violation fails with `EACCES` (or
        /// [`VowOptions::errno_override`]) instead of the violation action,
        /// like exile.h.
        const ERROR = 1 << 31;
    }
}

/// Every vow name with its flag, in canonical (display) order.
const NAMES: &[(&str, Vows)] = &[
    ("stdio", Vows::STDIO),
    ("rpath", Vows::RPATH),
    ("wpath", Vows::WPATH),
    ("cpath", Vows::CPATH),
    ("dpath", Vows::DPATH),
    ("tmppath", Vows::TMPPATH),
    ("flock", Vows::FLOCK),
    ("fattr", Vows::FATTR),
    ("chown", Vows::CHOWN),
    ("fsnotify", Vows::FSNOTIFY),
    ("inet", Vows::INET),
    ("unix", Vows::UNIX),
    ("dns", Vows::DNS),
    ("mcast", Vows::MCAST),
    ("sendfd", Vows::SENDFD),
    ("recvfd", Vows::RECVFD),
    ("tty", Vows::TTY),
    ("ioctl", Vows::IOCTL),
    ("proc", Vows::PROC),
    ("exec", Vows::EXEC),
    ("prot_exec", Vows::PROT_EXEC),
    ("clone", Vows::CLONE),
    ("thread", Vows::THREAD),
    ("id", Vows::ID),
    ("sched", Vows::SCHED),
    ("shm", Vows::SHM),
    ("prctl", Vows::PRCTL),
    ("seccomp_install", Vows::SECCOMP_INSTALL),
    ("settime", Vows::SETTIME),
    ("vminfo", Vows::VMINFO),
    ("unveil", Vows::UNVEIL),
    ("error", Vows::ERROR),
];

impl Vows {
    /// Every vow: `(name, flag)`, in canonical order (the order `Display`
    /// uses).
    ///
    /// ```
    /// use exile::vows::Vows;
    /// assert!(Vows::names().any(|(name, flag)| name == "prot_exec" && flag == Vows::PROT_EXEC));
    /// ```
    pub fn names() -> impl Iterator<Item = (&'static str, Vows)> {
        NAMES.iter().copied()
    }

    /// The name of a single vow (`None` for a set of several or none).
    ///
    /// ```
    /// use exile::vows::Vows;
    /// assert_eq!(Vows::SECCOMP_INSTALL.name(), Some("seccomp_install"));
    /// assert_eq!((Vows::STDIO | Vows::RPATH).name(), None);
    /// ```
    pub fn name(self) -> Option<&'static str> {
        NAMES.iter().find(|&&(_, f)| f == self).map(|&(n, _)| n)
    }

    /// The vow called `name` (exactly, lower case).
    pub fn from_vow_name(name: &str) -> Option<Vows> {
        NAMES.iter().find(|&&(n, _)| n == name).map(|&(_, f)| f)
    }
}

/// The valid names, space-separated, for error messages.
fn valid_names() -> String {
    let mut s = String::new();
    for (i, (name, _)) in NAMES.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(name);
    }
    s
}

/// A vow string that does not parse (exile.h aborts the process instead:
/// its defect 16).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum VowParseError {
    /// The string has no vow name at all.
    #[error("no vow given; valid vows: {}", valid_names())]
    Empty,
    /// A word is not a vow name.
    #[error("unknown vow `{word}`; valid vows: {}", valid_names())]
    Unknown {
        /// The word that is not a vow.
        word: String,
    },
}

impl FromStr for Vows {
    type Err = VowParseError;

    /// Parse whitespace-separated vow names (any amount and kind of
    /// whitespace; repeating a name is fine). An empty string and an
    /// unknown name are errors.
    fn from_str(s: &str) -> Result<Vows, VowParseError> {
        let mut vows = Vows::empty();
        let mut any = false;
        for word in s.split_whitespace() {
            any = true;
            vows |= Vows::from_vow_name(word).ok_or_else(|| VowParseError::Unknown {
                word: word.to_owned(),
            })?;
        }
        if any {
            Ok(vows)
        } else {
            Err(VowParseError::Empty)
        }
    }
}

impl fmt::Display for Vows {
    /// The canonical space-separated names; parses back to the same set.
    /// The empty set prints as the empty string (which does not parse:
    /// an empty vow string is refused as a likely mistake).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for &(name, flag) in NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl Serialize for Vows {
    /// As the vow string (`"stdio rpath"`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Vows {
    /// From the vow string; here the empty string is the empty set, so that
    /// every `Vows` round-trips.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Vows, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s.trim().is_empty() {
            return Ok(Vows::empty());
        }
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How a vow set is turned into a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VowOptions {
    /// What a violation does (default [`Action::KillProcess`]). Kernels
    /// before 4.14 know no KILL_PROCESS: pass [`Action::KillThread`] there.
    /// [`Action::Errno`], [`Action::Trap`] (a SIGSYS handler can name the
    /// call) and [`Action::Log`] (permissive: allow and log) are accepted;
    /// [`Action::Allow`] is refused. The `error` vow overrides this.
    pub violation: Action,
    /// The errno the `error` vow makes violations fail with, instead of
    /// `EACCES` (1..=4095). Without the `error` vow it is not used.
    pub errno_override: Option<u16>,
    /// The pid of the process that will apply the filter: `stdio` then
    /// allows `kill`/`tkill`/`tgkill`/`rt_sigqueueinfo`/
    /// `rt_tgsigqueueinfo` whose first argument is this pid (signals to
    /// itself: `raise()`, `abort()`). `None`: no self-signalling under
    /// `stdio` (only `proc` allows signals). A process forked after the
    /// filter is applied has another pid: it is not "self" in its parent's
    /// filter.
    pub self_pid: Option<u32>,
}

impl Default for VowOptions {
    fn default() -> Self {
        VowOptions {
            violation: Action::KillProcess,
            errno_override: None,
            self_pid: None,
        }
    }
}

impl VowOptions {
    /// The defaults, with [`self_pid`](VowOptions::self_pid) set to the
    /// calling process's pid: for a filter the caller will apply to itself.
    pub fn for_current_process() -> VowOptions {
        VowOptions {
            self_pid: Some(std::process::id()),
            ..VowOptions::default()
        }
    }
}

/// Options that cannot make a filter.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error,
)]
pub enum VowOptionsError {
    /// `violation` is [`Action::Allow`]: the filter would allow everything.
    #[error("the violation action cannot be Allow: use Log for a permissive filter")]
    AllowViolation,
    /// An errno outside 1..=4095 (0 would fake success without running the
    /// call).
    #[error("errno {0} is outside 1..=4095")]
    BadErrno(u16),
}

fn check_errno(e: u16) -> Result<u16, VowOptionsError> {
    if (1..=4095).contains(&e) {
        Ok(e)
    } else {
        Err(VowOptionsError::BadErrno(e))
    }
}

/// The action a filter for `vows` takes on a call no vow grants.
///
/// With the `error` vow: `Errno(errno_override or EACCES)`; otherwise
/// `options.violation`.
pub fn default_action(vows: Vows, options: &VowOptions) -> Result<Action, VowOptionsError> {
    if vows.contains(Vows::ERROR) {
        return Ok(Action::Errno(check_errno(
            options.errno_override.unwrap_or(EACCES),
        )?));
    }
    match options.violation {
        Action::Allow => Err(VowOptionsError::AllowViolation),
        Action::Errno(e) => Ok(Action::Errno(check_errno(e)?)),
        other => Ok(other),
    }
}

/// The rules for `open`-style flags in argument `arg` that `vows` allow.
///
/// - access mode (`flags & O_ACCMODE`): `O_RDONLY` with `rpath`,
///   `O_WRONLY` with `wpath`, `O_RDWR` with both; the invalid mode 3 never;
/// - `O_CREAT` and `__O_TMPFILE` only with `cpath`; `O_TRUNC` only with
///   `wpath` (Linux truncates even an `O_RDONLY` open);
/// - `O_DIRECTORY`, `O_APPEND`, `O_CLOEXEC`, `O_NOFOLLOW`, `O_PATH`, … are
///   free;
/// - `tmppath` adds: `O_CREAT|O_EXCL` with `O_WRONLY` or `O_RDWR` (a new
///   file only), and `__O_TMPFILE` with `O_WRONLY` or `O_RDWR`.
///
/// ```
/// use exile::seccomp::rules::Rule;
/// use exile::vows::{open_flag_rules, Vows};
/// let rules = open_flag_rules(Vows::RPATH | Vows::CPATH, 2);
/// let ok = |flags: i32| rules.iter().any(|r: &Rule| r.matches(&[0, 0, flags as u64, 0, 0, 0]));
/// assert!(ok(libc::O_RDONLY | libc::O_CREAT));
/// assert!(ok(libc::O_RDONLY | libc::O_DIRECTORY));
/// assert!(!ok(libc::O_WRONLY));
/// ```
pub fn open_flag_rules(vows: Vows, arg: u8) -> Vec<Rule> {
    let r = vows.contains(Vows::RPATH);
    let w = vows.contains(Vows::WPATH);
    let c = vows.contains(Vows::CPATH);
    let mut modes = Vec::new();
    if r {
        modes.push(O_RDONLY);
    }
    if w {
        modes.push(O_WRONLY);
    }
    if r && w {
        modes.push(O_RDWR);
    }
    let mut forbidden = 0;
    if !c {
        forbidden |= O_CREAT | O_TMPFILE_BIT;
    }
    if !w {
        forbidden |= O_TRUNC;
    }
    let mut rules = Vec::new();
    for mode in modes {
        let mut conds = vec![ArgCond::masked_eq(arg, O_ACCMODE, mode)];
        if forbidden != 0 {
            conds.push(ArgCond::none_of(arg, forbidden));
        }
        rules.push(Rule::new(Action::Allow, conds));
    }
    if vows.contains(Vows::TMPPATH) {
        for mode in [O_WRONLY, O_RDWR] {
            rules.push(Rule::new(
                Action::Allow,
                vec![
                    ArgCond::masked_eq(arg, O_ACCMODE, mode),
                    ArgCond::masked_eq(arg, O_CREAT | O_EXCL, O_CREAT | O_EXCL),
                ],
            ));
        }
        for mode in [O_WRONLY, O_RDWR] {
            rules.push(Rule::new(
                Action::Allow,
                vec![
                    ArgCond::masked_eq(arg, O_ACCMODE, mode),
                    ArgCond::masked_eq(arg, O_TMPFILE_BIT, O_TMPFILE_BIT),
                ],
            ));
        }
    }
    rules
}

/// The rules one grant contributes for one of its calls.
fn grant_rules(grant: &Grant, vows: Vows, options: &VowOptions) -> Vec<Rule> {
    match grant.check {
        Check::Always => vec![Rule::allow()],
        Check::If(conds) => vec![Rule::new(Action::Allow, conds.to_vec())],
        Check::OneOf { arg, values, and } => values
            .iter()
            .map(|&v| {
                let mut conds = Vec::with_capacity(and.len() + 1);
                conds.extend_from_slice(and);
                conds.push(ArgCond::eq(arg, v));
                Rule::new(Action::Allow, conds)
            })
            .collect(),
        Check::SelfPid { arg, and } => match options.self_pid {
            Some(pid) => {
                let mut conds = vec![ArgCond::eq(arg, u64::from(pid))];
                conds.extend_from_slice(and);
                vec![Rule::new(Action::Allow, conds)]
            }
            None => Vec::new(),
        },
        Check::Fail { errno, conds } => vec![Rule::new(Action::Errno(errno), conds.to_vec())],
        Check::OpenFlags { arg } => open_flag_rules(vows, arg),
    }
}

/// Order and simplify one call's rules: allow rules first (so a grant
/// always beats a soft `Fail`), duplicates dropped, and an unconditional
/// allow alone (so the kernel can cache the call as always allowed).
fn finish(rules: Vec<Rule>) -> Vec<Rule> {
    let (allows, others): (Vec<Rule>, Vec<Rule>) =
        rules.into_iter().partition(|r| r.action == Action::Allow);
    if allows.iter().any(|r| r.conds.is_empty()) {
        return vec![Rule::allow()];
    }
    let mut out: Vec<Rule> = Vec::with_capacity(allows.len() + others.len());
    for rule in allows.into_iter().chain(others) {
        if out.last().is_some_and(|r| r.conds.is_empty()) {
            break; // everything after an unconditional rule is unreachable
        }
        if !out.contains(&rule) {
            out.push(rule);
        }
    }
    out
}

/// Compile a vow set to a rule table for the native architecture.
///
/// The default action is [`default_action`]; the bad-architecture action is
/// `KillThread` when the violation action is `KillThread` (a pre-4.14
/// kernel) and `KillProcess` otherwise. Callers may add their own rules to
/// the result (a manual rule placed first wins).
///
/// ```
/// use exile::seccomp::rules::{Action, Arch};
/// use exile::vows::{filter_spec, VowOptions, Vows};
///
/// let spec = filter_spec("stdio error".parse()?, &VowOptions::default())?;
/// assert_eq!(spec.default_action, Action::Errno(libc::EACCES as u16));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn filter_spec(vows: Vows, options: &VowOptions) -> Result<FilterSpec, VowOptionsError> {
    let mut spec = FilterSpec::new(default_action(vows, options)?);
    spec.bad_arch_action = match options.violation {
        Action::KillThread => Action::KillThread,
        _ => Action::KillProcess,
    };
    let mut per_call: std::collections::BTreeMap<u32, Vec<Rule>> = Default::default();
    for grant in TABLE.iter().filter(|g| g.when.holds(vows)) {
        let rules = grant_rules(grant, vows, options);
        for sc in grant.syscalls {
            per_call
                .entry(sc.nr)
                .or_default()
                .extend(rules.iter().cloned());
        }
    }
    for (nr, rules) in per_call {
        let rules = finish(rules);
        if !rules.is_empty() {
            spec.syscalls.insert(nr, rules);
        }
    }
    Ok(spec)
}

/// The names of the calls `vows` allow, at least under some arguments
/// (sorted, each once). Calls that only fail softly (`openat2`, `clone3`)
/// are not listed; self-signalling counts as allowed.
///
/// ```
/// use exile::vows::{allowed_syscall_names, Vows};
/// let names = allowed_syscall_names(Vows::STDIO);
/// assert!(names.contains(&"write"));
/// assert!(!names.contains(&"openat"));
/// ```
pub fn allowed_syscall_names(vows: Vows) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = TABLE
        .iter()
        .filter(|g| g.when.holds(vows) && !matches!(g.check, Check::Fail { .. }))
        .filter(|g| match g.check {
            Check::OpenFlags { arg } => !open_flag_rules(vows, arg).is_empty(),
            _ => true,
        })
        .flat_map(|g| g.syscalls.iter().map(|s| s.name))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The name of a call that appears in the vow table (`None` for calls no
/// vow mentions).
pub fn syscall_name(nr: u32) -> Option<&'static str> {
    TABLE
        .iter()
        .flat_map(|g| g.syscalls.iter())
        .find(|s| s.nr == nr)
        .map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::consts::*;
    use super::table::*;
    use super::*;

    #[test]
    fn constants_match_libc() {
        assert_eq!(SOL_SOCKET, libc::SOL_SOCKET as u64);
        assert_eq!(IPPROTO_TCP, libc::IPPROTO_TCP as u64);
        assert_eq!(IPPROTO_UDP, libc::IPPROTO_UDP as u64);
        assert_eq!(IPPROTO_IPV6, libc::IPPROTO_IPV6 as u64);
        assert_eq!(so::SO_DEBUG, libc::SO_DEBUG as u64);
        assert_eq!(so::SO_REUSEADDR, libc::SO_REUSEADDR as u64);
        assert_eq!(so::SO_REUSEPORT, libc::SO_REUSEPORT as u64);
        assert_eq!(so::SO_KEEPALIVE, libc::SO_KEEPALIVE as u64);
        assert_eq!(so::SO_LINGER, libc::SO_LINGER as u64);
        assert_eq!(so::SO_BINDTODEVICE, libc::SO_BINDTODEVICE as u64);
        assert_eq!(so::SO_PASSCRED, libc::SO_PASSCRED as u64);
        assert_eq!(so::SO_RCVTIMEO_OLD, libc::SO_RCVTIMEO as u64);
        assert_eq!(so::SO_SNDTIMEO_OLD, libc::SO_SNDTIMEO as u64);
        assert_eq!(tcp::TCP_NODELAY, libc::TCP_NODELAY as u64);
        assert_eq!(tcp::TCP_KEEPIDLE, libc::TCP_KEEPIDLE as u64);
        assert_eq!(tcp::TCP_USER_TIMEOUT, libc::TCP_USER_TIMEOUT as u64);
        assert_eq!(tcp::TCP_ULP, libc::TCP_ULP as u64);
        assert_eq!(ip::IP_RECVERR, libc::IP_RECVERR as u64);
        assert_eq!(ip::IP_ADD_MEMBERSHIP, libc::IP_ADD_MEMBERSHIP as u64);
        assert_eq!(ip::MCAST_JOIN_GROUP, libc::MCAST_JOIN_GROUP as u64);
        assert_eq!(ipv6::IPV6_V6ONLY, libc::IPV6_V6ONLY as u64);
        assert_eq!(ipv6::IPV6_ADD_MEMBERSHIP, libc::IPV6_ADD_MEMBERSHIP as u64);
        assert_eq!(ipv6::IPV6_RECVERR, libc::IPV6_RECVERR as u64);
        assert_eq!(udp::UDP_GRO, libc::UDP_GRO as u64);
        assert_eq!(F_OFD_SETLK, libc::F_OFD_SETLK as u64);
        assert_eq!(F_DUPFD_CLOEXEC, libc::F_DUPFD_CLOEXEC as u64);
        assert_eq!(F_GETPIPE_SZ, libc::F_GETPIPE_SZ as u64);
        assert_eq!(F_ADD_SEALS, libc::F_ADD_SEALS as u64);
        assert_eq!(F_NOTIFY, libc::F_NOTIFY as u64);
        assert_eq!(PR_SET_SECCOMP, libc::PR_SET_SECCOMP as u64);
        assert_eq!(PR_SET_NO_NEW_PRIVS, libc::PR_SET_NO_NEW_PRIVS as u64);
        assert_eq!(PR_CAPBSET_READ, libc::PR_CAPBSET_READ as u64);
        assert_eq!(PR_SET_DUMPABLE, libc::PR_SET_DUMPABLE as u64);
        assert_eq!(PR_SET_NAME, libc::PR_SET_NAME as u64);
        assert_eq!(MFD_EXEC, libc::MFD_EXEC as u64);
        assert_eq!(SHM_EXEC, libc::SHM_EXEC as u64);
        assert_eq!(O_TMPFILE_BIT, 0o20000000);
        assert_eq!(CLONE_NEWTIME, libc::CLONE_NEWTIME as u64);
        assert_eq!(SOCK_TYPE_MASK & (libc::SOCK_NONBLOCK as u64), 0);
        assert_eq!(SOCK_TYPE_MASK & SOCK_STREAM, SOCK_STREAM);
    }

    #[test]
    fn names_cover_every_bit_once() {
        let mut seen = Vows::empty();
        for (name, flag) in Vows::names() {
            assert_eq!(flag.bits().count_ones(), 1, "{name}");
            assert!(!seen.intersects(flag), "{name} twice");
            seen |= flag;
        }
        assert_eq!(seen, Vows::all());
    }

    #[test]
    fn strip_sys_prefix() {
        assert_eq!(Syscall::new("SYS_read", 0).name, "read");
        assert_eq!(Syscall::new("read", 0).name, "read");
        assert_eq!(Syscall::new("SYS_", 0).name, "SYS_");
    }

    #[test]
    fn finish_puts_allows_first_and_collapses() {
        let fail = Rule::new(Action::Errno(38), vec![]);
        let cond = Rule::new(Action::Allow, vec![ArgCond::eq(0, 1)]);
        assert_eq!(
            finish(vec![fail.clone(), cond.clone(), cond.clone()]),
            vec![cond.clone(), fail.clone()]
        );
        assert_eq!(finish(vec![cond, Rule::allow(), fail]), vec![Rule::allow()]);
    }
}
