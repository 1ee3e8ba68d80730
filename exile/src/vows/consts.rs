//! Numeric constants the vow table compares arguments with.
//!
//! Values come from the kernel's UAPI headers. Where the `libc` crate has a
//! constant on every architecture we build for (x86_64, aarch64), it is used;
//! the rest (newer flags, `asm-generic` socket options, arch_prctl codes) are
//! written out here with the header they come from. The unit tests in
//! `vows/mod.rs` cross-check them against `libc` where it has them.

// Some values are here only to be named in docs and tests (the ones never
// granted), so not every constant is read by the table.
#![allow(dead_code)]
// `libc`'s types differ by target (ioctl requests are `c_ulong` on glibc,
// `c_int` on musl): the casts are needed somewhere even where clippy sees none.
#![allow(clippy::unnecessary_cast)]

// ---- memory -------------------------------------------------------------

/// `PROT_EXEC` (`asm-generic/mman-common.h`).
pub const PROT_EXEC: u64 = libc::PROT_EXEC as u64;
/// `MFD_EXEC` (`linux/memfd.h`, Linux 6.3): an executable memfd.
pub const MFD_EXEC: u64 = 0x0010;
/// `SHM_EXEC` (`linux/shm.h`): shmat with execute permission.
pub const SHM_EXEC: u64 = 0o100000;

// ---- files --------------------------------------------------------------

/// `O_ACCMODE`: the access-mode field of open flags.
pub const O_ACCMODE: u64 = libc::O_ACCMODE as u64;
pub const O_RDONLY: u64 = libc::O_RDONLY as u64;
pub const O_WRONLY: u64 = libc::O_WRONLY as u64;
pub const O_RDWR: u64 = libc::O_RDWR as u64;
pub const O_CREAT: u64 = libc::O_CREAT as u64;
pub const O_EXCL: u64 = libc::O_EXCL as u64;
pub const O_TRUNC: u64 = libc::O_TRUNC as u64;
/// `__O_TMPFILE`: the bit that makes `O_TMPFILE` (which is
/// `__O_TMPFILE | O_DIRECTORY`). Testing the whole `O_TMPFILE` mask is
/// exile.h's defect 5: it matches every `O_DIRECTORY` open.
pub const O_TMPFILE_BIT: u64 = (libc::O_TMPFILE & !libc::O_DIRECTORY) as u64;
/// `AT_EMPTY_PATH` (`linux/fcntl.h`).
pub const AT_EMPTY_PATH: u64 = libc::AT_EMPTY_PATH as u64;

// ---- fcntl commands (`asm-generic/fcntl.h`, `linux/fcntl.h`) -------------

pub const F_DUPFD: u64 = libc::F_DUPFD as u64;
pub const F_GETFD: u64 = libc::F_GETFD as u64;
pub const F_SETFD: u64 = libc::F_SETFD as u64;
pub const F_GETFL: u64 = libc::F_GETFL as u64;
pub const F_SETFL: u64 = libc::F_SETFL as u64;
pub const F_GETLK: u64 = libc::F_GETLK as u64;
pub const F_SETLK: u64 = libc::F_SETLK as u64;
pub const F_SETLKW: u64 = libc::F_SETLKW as u64;
pub const F_OFD_GETLK: u64 = 36;
pub const F_OFD_SETLK: u64 = 37;
pub const F_OFD_SETLKW: u64 = 38;
pub const F_NOTIFY: u64 = 1026;
pub const F_DUPFD_CLOEXEC: u64 = 1030;
pub const F_SETPIPE_SZ: u64 = 1031;
pub const F_GETPIPE_SZ: u64 = 1032;
pub const F_ADD_SEALS: u64 = 1033;
pub const F_GET_SEALS: u64 = 1034;

// ---- prctl options (`linux/prctl.h`) -------------------------------------

pub const PR_GET_DUMPABLE: u64 = 3;
pub const PR_SET_DUMPABLE: u64 = 4;
pub const PR_SET_NAME: u64 = 15;
pub const PR_GET_NAME: u64 = 16;
pub const PR_GET_SECCOMP: u64 = 21;
pub const PR_SET_SECCOMP: u64 = 22;
pub const PR_CAPBSET_READ: u64 = 23;
pub const PR_SET_NO_NEW_PRIVS: u64 = 38;
pub const PR_GET_NO_NEW_PRIVS: u64 = 39;
/// `PR_SET_VMA` (Linux 5.17): name an anonymous mapping.
pub const PR_SET_VMA: u64 = 0x5356_4d41;
pub const PR_SET_VMA_ANON_NAME: u64 = 0;

// ---- arch_prctl codes (`asm/prctl.h`, x86_64) ----------------------------

pub const ARCH_SET_FS: u64 = 0x1002;
pub const ARCH_GET_FS: u64 = 0x1003;
pub const ARCH_GET_GS: u64 = 0x1004;

// ---- personality ----------------------------------------------------------

/// `personality(0xffffffff)` only reads the current persona.
pub const PERSONALITY_QUERY: u64 = 0xffff_ffff;

// ---- seccomp() and Landlock ----------------------------------------------

pub const SECCOMP_SET_MODE_FILTER: u64 = 1;
pub const SECCOMP_GET_ACTION_AVAIL: u64 = 2;
/// `SECCOMP_FILTER_FLAG_SPEC_ALLOW`: turns the speculative-store-bypass
/// mitigation off for the task. Never granted.
pub const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u64 = 4;
/// `LANDLOCK_CREATE_RULESET_VERSION`: landlock_create_ruleset(NULL, 0, this)
/// returns the ABI version and creates nothing.
pub const LANDLOCK_CREATE_RULESET_VERSION: u64 = 1;
/// `LANDLOCK_CREATE_RULESET_ERRATA` (Linux 6.15): the errata query.
pub const LANDLOCK_CREATE_RULESET_ERRATA: u64 = 2;

// ---- clone flags (`linux/sched.h`) ----------------------------------------

pub const CLONE_VM: u64 = libc::CLONE_VM as u64;
pub const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;
/// `CLONE_NEWTIME` (Linux 5.6). In `clone()` this bit lies in the
/// exit-signal byte, so clone() cannot ask for it; it is in the mask anyway.
pub const CLONE_NEWTIME: u64 = 0x0000_0080;
/// Every namespace-creating clone flag (exile.h's defect 7 let them through).
pub const CLONE_NEW_ANY: u64 = libc::CLONE_NEWNS as u64
    | libc::CLONE_NEWCGROUP as u64
    | libc::CLONE_NEWUTS as u64
    | libc::CLONE_NEWIPC as u64
    | libc::CLONE_NEWUSER as u64
    | libc::CLONE_NEWPID as u64
    | libc::CLONE_NEWNET as u64
    | CLONE_NEWTIME;

// ---- sockets ----------------------------------------------------------------

pub const AF_UNIX: u64 = libc::AF_UNIX as u64;
pub const AF_INET: u64 = libc::AF_INET as u64;
pub const AF_INET6: u64 = libc::AF_INET6 as u64;
pub const AF_NETLINK: u64 = libc::AF_NETLINK as u64;
pub const SOCK_STREAM: u64 = libc::SOCK_STREAM as u64;
pub const SOCK_DGRAM: u64 = libc::SOCK_DGRAM as u64;
pub const SOCK_SEQPACKET: u64 = libc::SOCK_SEQPACKET as u64;
/// The socket type with `SOCK_NONBLOCK` and `SOCK_CLOEXEC` masked off: any
/// other bit left over makes the comparison fail (and the kernel refuse).
pub const SOCK_TYPE_MASK: u64 = !((libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) as u64) & 0xffff_ffff;
pub const IPPROTO_IP: u64 = 0;
pub const IPPROTO_TCP: u64 = 6;
pub const IPPROTO_UDP: u64 = 17;
pub const IPPROTO_IPV6: u64 = 41;
pub const SOL_SOCKET: u64 = 1;

/// `SOL_SOCKET` options (`asm-generic/socket.h`; x86_64 and aarch64 use it).
pub mod so {
    pub const SO_DEBUG: u64 = 1;
    pub const SO_REUSEADDR: u64 = 2;
    pub const SO_TYPE: u64 = 3;
    pub const SO_ERROR: u64 = 4;
    pub const SO_BROADCAST: u64 = 6;
    pub const SO_SNDBUF: u64 = 7;
    pub const SO_RCVBUF: u64 = 8;
    pub const SO_KEEPALIVE: u64 = 9;
    pub const SO_OOBINLINE: u64 = 10;
    pub const SO_LINGER: u64 = 13;
    pub const SO_REUSEPORT: u64 = 15;
    pub const SO_PASSCRED: u64 = 16;
    pub const SO_RCVLOWAT: u64 = 18;
    pub const SO_SNDLOWAT: u64 = 19;
    pub const SO_RCVTIMEO_OLD: u64 = 20;
    pub const SO_SNDTIMEO_OLD: u64 = 21;
    pub const SO_BINDTODEVICE: u64 = 25;
    pub const SO_ATTACH_FILTER: u64 = 26;
    pub const SO_TIMESTAMP_OLD: u64 = 29;
    pub const SO_TIMESTAMPNS_OLD: u64 = 35;
    pub const SO_ATTACH_BPF: u64 = 50;
    pub const SO_TIMESTAMP_NEW: u64 = 63;
    pub const SO_TIMESTAMPNS_NEW: u64 = 64;
    pub const SO_RCVTIMEO_NEW: u64 = 66;
    pub const SO_SNDTIMEO_NEW: u64 = 67;
}

/// `IPPROTO_IP` options (`linux/in.h`).
pub mod ip {
    pub const IP_TOS: u64 = 1;
    pub const IP_TTL: u64 = 2;
    pub const IP_PKTINFO: u64 = 8;
    pub const IP_MTU_DISCOVER: u64 = 10;
    pub const IP_RECVERR: u64 = 11;
    pub const IP_RECVTOS: u64 = 13;
    pub const IP_BIND_ADDRESS_NO_PORT: u64 = 24;
    pub const IP_MULTICAST_IF: u64 = 32;
    pub const IP_MULTICAST_TTL: u64 = 33;
    pub const IP_MULTICAST_LOOP: u64 = 34;
    pub const IP_ADD_MEMBERSHIP: u64 = 35;
    pub const IP_DROP_MEMBERSHIP: u64 = 36;
    pub const IP_UNBLOCK_SOURCE: u64 = 37;
    pub const IP_BLOCK_SOURCE: u64 = 38;
    pub const IP_ADD_SOURCE_MEMBERSHIP: u64 = 39;
    pub const IP_DROP_SOURCE_MEMBERSHIP: u64 = 40;
    pub const IP_MULTICAST_ALL: u64 = 49;
    /// `MCAST_*` (RFC 3678) work at both `IPPROTO_IP` and `IPPROTO_IPV6`.
    pub const MCAST_JOIN_GROUP: u64 = 42;
    pub const MCAST_BLOCK_SOURCE: u64 = 43;
    pub const MCAST_UNBLOCK_SOURCE: u64 = 44;
    pub const MCAST_LEAVE_GROUP: u64 = 45;
    pub const MCAST_JOIN_SOURCE_GROUP: u64 = 46;
    pub const MCAST_LEAVE_SOURCE_GROUP: u64 = 47;
}

/// `IPPROTO_IPV6` options (`linux/in6.h`).
pub mod ipv6 {
    pub const IPV6_UNICAST_HOPS: u64 = 16;
    pub const IPV6_MULTICAST_IF: u64 = 17;
    pub const IPV6_MULTICAST_HOPS: u64 = 18;
    pub const IPV6_MULTICAST_LOOP: u64 = 19;
    pub const IPV6_ADD_MEMBERSHIP: u64 = 20;
    pub const IPV6_DROP_MEMBERSHIP: u64 = 21;
    pub const IPV6_MTU_DISCOVER: u64 = 23;
    pub const IPV6_RECVERR: u64 = 25;
    pub const IPV6_V6ONLY: u64 = 26;
    pub const IPV6_MULTICAST_ALL: u64 = 29;
    pub const IPV6_RECVPKTINFO: u64 = 49;
    pub const IPV6_DONTFRAG: u64 = 62;
    pub const IPV6_RECVTCLASS: u64 = 66;
    pub const IPV6_TCLASS: u64 = 67;
}

/// `IPPROTO_TCP` options (`linux/tcp.h`).
pub mod tcp {
    pub const TCP_NODELAY: u64 = 1;
    pub const TCP_MAXSEG: u64 = 2;
    pub const TCP_CORK: u64 = 3;
    pub const TCP_KEEPIDLE: u64 = 4;
    pub const TCP_KEEPINTVL: u64 = 5;
    pub const TCP_KEEPCNT: u64 = 6;
    pub const TCP_DEFER_ACCEPT: u64 = 9;
    pub const TCP_QUICKACK: u64 = 12;
    pub const TCP_USER_TIMEOUT: u64 = 18;
    pub const TCP_FASTOPEN: u64 = 23;
    pub const TCP_NOTSENT_LOWAT: u64 = 25;
    /// Attaches an upper-layer protocol (kTLS): never granted.
    pub const TCP_ULP: u64 = 31;
}

/// `IPPROTO_UDP` options (`linux/udp.h`).
pub mod udp {
    pub const UDP_SEGMENT: u64 = 103;
    pub const UDP_GRO: u64 = 104;
}

// ---- ioctl requests (from `libc`, the asm-generic values) -------------------

pub const FIONREAD: u64 = libc::FIONREAD as u64;
pub const FIONBIO: u64 = libc::FIONBIO as u64;
pub const FIOCLEX: u64 = libc::FIOCLEX as u64;
pub const FIONCLEX: u64 = libc::FIONCLEX as u64;
pub const TCGETS: u64 = libc::TCGETS as u64;
pub const TCSETS: u64 = libc::TCSETS as u64;
pub const TCSETSW: u64 = libc::TCSETSW as u64;
pub const TCSETSF: u64 = libc::TCSETSF as u64;
pub const TCGETS2: u64 = libc::TCGETS2 as u64 & 0xffff_ffff;
pub const TCSETS2: u64 = libc::TCSETS2 as u64 & 0xffff_ffff;
pub const TCSETSW2: u64 = libc::TCSETSW2 as u64 & 0xffff_ffff;
pub const TCSETSF2: u64 = libc::TCSETSF2 as u64 & 0xffff_ffff;
pub const TCSBRK: u64 = libc::TCSBRK as u64;
pub const TCSBRKP: u64 = libc::TCSBRKP as u64;
pub const TCXONC: u64 = libc::TCXONC as u64;
pub const TCFLSH: u64 = libc::TCFLSH as u64;
pub const TIOCGWINSZ: u64 = libc::TIOCGWINSZ as u64;
pub const TIOCSWINSZ: u64 = libc::TIOCSWINSZ as u64;
pub const TIOCGPGRP: u64 = libc::TIOCGPGRP as u64;
pub const TIOCSPGRP: u64 = libc::TIOCSPGRP as u64;
pub const TIOCGSID: u64 = libc::TIOCGSID as u64;
pub const TIOCOUTQ: u64 = libc::TIOCOUTQ as u64;
pub const TIOCGPTN: u64 = libc::TIOCGPTN as u64 & 0xffff_ffff;
pub const TIOCSPTLCK: u64 = libc::TIOCSPTLCK as u64 & 0xffff_ffff;
pub const TIOCGPTPEER: u64 = libc::TIOCGPTPEER as u64;
/// Fakes terminal input: the classic sandbox escape. Never granted.
pub const TIOCSTI: u64 = libc::TIOCSTI as u64;
/// Virtual-console control (selection paste, i.e. input injection too).
/// Never granted.
pub const TIOCLINUX: u64 = libc::TIOCLINUX as u64;

// ---- errno values -----------------------------------------------------------

pub const ENOSYS: u16 = libc::ENOSYS as u16;
pub const EACCES: u16 = libc::EACCES as u16;
pub const EAFNOSUPPORT: u16 = libc::EAFNOSUPPORT as u16;
