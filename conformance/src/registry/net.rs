//! Network probes: Landlock TCP port rules and `no_network`, on loopback
//! inside the probe (the probe child first enters its own network
//! namespace when it can, so ports never clash with the host).

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};

use exile::{Mechanism, Namespaces, Policy};
use nix::errno::Errno;

use crate::probe::{apply, Ctx, Expected, Observed, Probe};

fn io_errno<T>(r: std::io::Result<T>) -> Observed {
    match r {
        Ok(_) => Observed::Ok,
        Err(e) => Observed::Errno(e.raw_os_error().unwrap_or(0)),
    }
}

fn bind(port: u16) -> Observed {
    io_errno(TcpListener::bind(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        port,
    )))
}

/// Connect to `port` on loopback where a listener was opened before the
/// policy: Ok, or the errno of connect.
fn connect(port: u16) -> Observed {
    io_errno(TcpStream::connect(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        port,
    )))
}

/// A private network namespace with loopback up, when the identity can have
/// one (root, or a user namespace); otherwise the host's loopback.
fn private_loopback() {
    let ns = if nix::unistd::geteuid().is_root() {
        Namespaces::NETWORK
    } else {
        Namespaces::USER | Namespaces::NETWORK
    };
    if apply(&Policy::empty().namespaces(ns)).is_ok() {
        // Bring lo up: SIOCSIFFLAGS on a dgram socket.
        if let Ok(sock) = std::net::UdpSocket::bind("0.0.0.0:0") {
            let mut req = [0u8; 40];
            req[..2].copy_from_slice(b"lo");
            let flags = (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as i16;
            req[16..18].copy_from_slice(&flags.to_ne_bytes());
            // SAFETY: SIOCSIFFLAGS reads an ifreq-sized buffer we own.
            unsafe {
                libc::ioctl(
                    std::os::fd::AsRawFd::as_raw_fd(&sock),
                    libc::SIOCSIFFLAGS,
                    req.as_mut_ptr(),
                )
            };
        }
    }
}

fn needs_abi4(ctx: &Ctx, when: Expected) -> Expected {
    if ctx.features.landlock.abi < 4 {
        Expected::policy_error("unavailable:tcp port rules")
    } else {
        when
    }
}

/// All network probes.
pub fn probes(p: &mut Vec<Probe>) {
    const ALLOWED: u16 = 47_001;
    const OTHER: u16 = 47_002;
    p.push(Probe::new(
        "net::tcp_bind::allowed_port",
        |_| {
            private_loopback();
            match apply(&Policy::new().allow_tcp_bind(ALLOWED)) {
                Ok(_) => bind(ALLOWED),
                Err(o) => o,
            }
        },
        |ctx| needs_abi4(ctx, Expected::Ok),
    ));
    p.push(Probe::new(
        "net::tcp_bind::other_port",
        |_| {
            private_loopback();
            match apply(&Policy::new().allow_tcp_bind(ALLOWED)) {
                Ok(_) => bind(OTHER),
                Err(o) => o,
            }
        },
        |ctx| needs_abi4(ctx, Expected::errno(Errno::EACCES)),
    ));
    for (name, port, ok) in [
        ("allowed_port", ALLOWED, true),
        ("other_port", OTHER, false),
    ] {
        p.push(Probe::new(
            format!("net::tcp_connect::{name}"),
            move |_| {
                private_loopback();
                // Listeners on both ports exist before the policy.
                let _a = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, ALLOWED));
                let _b = TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, OTHER));
                match apply(&Policy::new().allow_tcp_connect(ALLOWED)) {
                    Ok(_) => connect(port),
                    Err(o) => o,
                }
            },
            move |ctx| {
                needs_abi4(
                    ctx,
                    if ok {
                        Expected::Ok
                    } else {
                        Expected::errno(Errno::EACCES)
                    },
                )
            },
        ));
    }
    p.push(Probe::new(
        "net::no_network::only_lo",
        |_| match apply(&Policy::new().no_network()) {
            Ok(report) => {
                let names: Vec<String> = nix::net::if_::if_nameindex()
                    .map(|l| {
                        l.iter()
                            .map(|i| i.name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                Observed::Value(format!(
                    "via={:?} ifs={}",
                    report.entry(Mechanism::Network).via,
                    names.join(",")
                ))
            }
            Err(o) => o,
        },
        |ctx| {
            let f = &ctx.features;
            if f.cap_sys_admin || f.user_namespaces.is_ok() {
                Expected::value("via=Some(NetworkNamespace) ifs=lo")
            } else if f.landlock.abi >= 10 {
                Expected::value(format!(
                    "via=Some(Landlock {{ abi: {} }}) ifs=lo",
                    f.landlock.abi
                ))
            } else {
                Expected::policy_error("unavailable:no network")
            }
        },
    ));
    // Without namespaces (simulated: unshare fails), no_network falls back
    // to Landlock TCP denial, and the report says so.
    p.push(Probe::new(
        "net::no_network::landlock_when_namespaces_blocked",
        |_| {
            if let Err(e) = super::fail_syscalls(&[libc::SYS_unshare], Errno::EPERM) {
                return Observed::Value(format!("filter: {e}"));
            }
            let policy = Policy::new()
                .requirement_for(Mechanism::Network, exile::Requirement::BestEffort)
                .no_network();
            match apply(&policy) {
                Ok(report) => {
                    let via = report.entry(Mechanism::Network).via;
                    Observed::Value(format!("via={via:?} bind={}", bind(OTHER)))
                }
                Err(o) => o,
            }
        },
        |ctx| {
            let f = &ctx.features;
            if f.cap_sys_admin {
                // Root needs no user namespace: the network namespace works.
                Expected::value(format!("via=Some(NetworkNamespace) bind={}", Observed::Ok))
            } else if f.landlock.abi >= 4 {
                Expected::value(format!(
                    "via=Some(Landlock {{ abi: {} }}) bind={}",
                    f.landlock.abi,
                    Observed::Errno(Errno::EACCES as i32)
                ))
            } else {
                Expected::value("via=None bind=ok")
            }
        },
    ));
}
