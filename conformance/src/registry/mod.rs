//! Every probe, by name. Names are hierarchical: `process::…`, `caps::…`,
//! `fds::…`, `rlimit::…`, `ns::…`, `features::…`, `fs::…`, `net::…`,
//! `vow::…`, `seccomp::rule::…`, `escape::…`.

pub mod escape;
pub mod fs;
pub mod net;
pub mod rules;
pub mod vows;

use std::collections::BTreeMap;

use exile::features::{LandlockStatus, UsernsBlock, UsernsStep};
use exile::{Capability, Features, Mechanism, Namespaces, Policy, Requirement, Status};
use nix::errno::Errno;
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};

use crate::probe::{apply, observe, Ctx, Expected, Observed, Probe};

/// All probes of the suite.
pub fn all() -> Vec<Probe> {
    let mut probes = Vec::new();
    process_probes(&mut probes);
    caps_probes(&mut probes);
    fd_probes(&mut probes);
    ns_probes(&mut probes);
    feature_probes(&mut probes);
    fs::probes(&mut probes);
    net::probes(&mut probes);
    vows::probes(&mut probes);
    rules::probes(&mut probes);
    escape::probes(&mut probes);
    probes
}

/// Expected outcome for a policy that needs a user namespace when the
/// probe identity lacks CAP_SYS_ADMIN: the Hard error if they are blocked.
fn needs_userns(ctx: &Ctx, when_ok: Expected) -> Expected {
    match (&ctx.features.user_namespaces, ctx.features.cap_sys_admin) {
        (Err(_), false) => Expected::policy_error("unavailable:user namespace"),
        _ => when_ok,
    }
}

fn prctl_get(option: libc::c_int) -> Observed {
    // SAFETY: a PR_GET_* prctl with no pointer arguments.
    let r = unsafe { libc::prctl(option, 0, 0, 0, 0) };
    if r < 0 {
        Observed::Errno(Errno::last() as i32)
    } else {
        Observed::Value(r.to_string())
    }
}

fn process_probes(p: &mut Vec<Probe>) {
    p.push(Probe::new(
        "process::no_new_privs::set",
        |_| match apply(&Policy::empty().no_new_privs(true)) {
            Ok(_) => prctl_get(libc::PR_GET_NO_NEW_PRIVS),
            Err(o) => o,
        },
        |_| Expected::value("1"),
    ));
    p.push(Probe::new(
        "process::no_new_privs::left_alone",
        |_| {
            if let Err(o) = apply(&Policy::empty().no_new_privs(false)) {
                return o;
            }
            prctl_get(libc::PR_GET_NO_NEW_PRIVS)
        },
        // The harness never sets no_new_privs itself, so an untouched child
        // reads 0 — unless a persona filter is installed first.
        |ctx| {
            // (seccompiler's installer sets no_new_privs before the persona filter).
            let preset = harness_has_nnp() || ctx.persona.is_some();
            Expected::value(if preset { "1" } else { "0" })
        },
    ));
    p.push(Probe::new(
        "process::dumpable::cleared",
        |_| {
            // SAFETY: PR_SET_DUMPABLE with an integer.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
            match apply(&Policy::empty().not_dumpable(true)) {
                Ok(_) => prctl_get(libc::PR_GET_DUMPABLE),
                Err(o) => o,
            }
        },
        |_| Expected::value("0"),
    ));
    p.push(Probe::new(
        "process::dumpable::left_alone",
        |_| {
            // SAFETY: PR_SET_DUMPABLE with an integer.
            unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
            match apply(&Policy::empty().not_dumpable(false)) {
                Ok(_) => prctl_get(libc::PR_GET_DUMPABLE),
                Err(o) => o,
            }
        },
        |_| Expected::value("1"),
    ));
    p.push(Probe::new(
        "process::default_policy::report",
        |_| match apply(&Policy::new()) {
            Ok(report) => Observed::Value(format!(
                "nnp={} not_dumpable={}",
                report.status(Mechanism::NoNewPrivs).is_enforced(),
                report.status(Mechanism::NotDumpable).is_enforced()
            )),
            Err(o) => o,
        },
        |_| Expected::value("nnp=true not_dumpable=true"),
    ));
}

fn harness_has_nnp() -> bool {
    // SAFETY: a PR_GET_* prctl with no pointer arguments.
    unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 }
}

/// The capability sets of the calling process from /proc/self/status, in hex.
fn cap_sets() -> Observed {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Observed::Errno(Errno::last() as i32);
    };
    let mut out = Vec::new();
    for key in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        let value = status
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
            .map(|v| u64::from_str_radix(v.trim(), 16).unwrap_or(u64::MAX));
        match value {
            Some(v) => out.push(format!("{key}={v:x}")),
            None => out.push(format!("{key}=?")),
        }
    }
    Observed::Value(out.join(" "))
}

fn caps_probes(p: &mut Vec<Probe>) {
    p.push(Probe::new(
        "caps::drop_all",
        |_| match apply(&Policy::new().drop_capabilities()) {
            Ok(_) => cap_sets(),
            Err(o) => o,
        },
        |ctx| {
            let ok = Expected::value("CapInh=0 CapPrm=0 CapEff=0 CapBnd=0 CapAmb=0");
            if ctx.features.cap_setpcap {
                ok
            } else {
                needs_userns(ctx, ok)
            }
        },
    ));
    p.push(Probe::new(
        "caps::keep_net_bind_service",
        |_| match apply(&Policy::new().keep_capabilities(&[Capability::NET_BIND_SERVICE])) {
            Ok(_) => cap_sets(),
            Err(o) => o,
        },
        |ctx| {
            let bit = Capability::NET_BIND_SERVICE.bit();
            // Root keeps the capability it has; unprivileged, the automatic
            // user namespace grants every capability inside, then one is kept.
            let ok = Expected::value(format!(
                "CapInh={bit:x} CapPrm={bit:x} CapEff={bit:x} CapBnd={bit:x} CapAmb=0"
            ));
            if ctx.features.cap_setpcap {
                ok
            } else {
                needs_userns(ctx, ok)
            }
        },
    ));
    p.push(Probe::new(
        "caps::drop_all::without_userns_hard",
        |_| match apply(
            &Policy::new()
                .namespaces(Namespaces::empty())
                .drop_capabilities(),
        ) {
            Ok(_) => cap_sets(),
            Err(o) => o,
        },
        |ctx| {
            if ctx.features.cap_setpcap {
                Expected::value("CapInh=0 CapPrm=0 CapEff=0 CapBnd=0 CapAmb=0")
            } else {
                Expected::policy_error("unavailable:capabilities")
            }
        },
    ));
    p.push(Probe::new(
        "caps::drop_all::without_userns_best_effort",
        |_| {
            let policy = Policy::new()
                .namespaces(Namespaces::empty())
                .requirement_for(Mechanism::Capabilities, Requirement::BestEffort)
                .drop_capabilities();
            match apply(&policy) {
                Ok(report) => {
                    let sets = cap_sets();
                    let status = match report.status(Mechanism::Capabilities) {
                        Status::Enforced => "enforced",
                        Status::Partial { .. } => "partial",
                        _ => "other",
                    };
                    match sets {
                        Observed::Value(v) => {
                            let eff = v
                                .split(' ')
                                .find(|s| s.starts_with("CapEff="))
                                .unwrap_or("")
                                .to_owned();
                            Observed::Value(format!("{status} {eff}"))
                        }
                        other => other,
                    }
                }
                Err(o) => o,
            }
        },
        |ctx| {
            if ctx.features.cap_setpcap {
                Expected::value("enforced CapEff=0")
            } else {
                Expected::value("partial CapEff=0")
            }
        },
    ));
}

fn open_dev_null() -> Result<i32, Errno> {
    nix::fcntl::open(
        "/dev/null",
        nix::fcntl::OFlag::O_RDONLY,
        nix::sys::stat::Mode::empty(),
    )
    .map(std::os::fd::IntoRawFd::into_raw_fd)
}

fn fd_state(fd: i32) -> &'static str {
    // SAFETY: F_GETFD reads descriptor flags only.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0 {
        "open"
    } else {
        "closed"
    }
}

/// Install a seccomp filter (with no_new_privs) that fails `syscalls` with `errno`.
pub fn fail_syscalls(syscalls: &[i64], errno: Errno) -> Result<(), String> {
    let rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> =
        syscalls.iter().map(|&nr| (nr, vec![])).collect();
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(errno as u32),
        TargetArch::x86_64,
    )
    .map_err(|e| e.to_string())?;
    let prog: BpfProgram = filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())?;
    // SAFETY: PR_SET_NO_NEW_PRIVS with integers.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    seccompiler::apply_filter(&prog).map_err(|e| e.to_string())
}

fn close_fds_probe(hide_close_range: bool) -> Observed {
    if hide_close_range {
        if let Err(e) = fail_syscalls(&[libc::SYS_close_range], Errno::ENOSYS) {
            return Observed::Value(format!("filter: {e}"));
        }
    }
    let (a, b) = match (open_dev_null(), open_dev_null()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Observed::Errno(e as i32),
    };
    let features = Features::detect();
    let policy = Policy::empty().close_fds(&[b, crate::probe::report_fd()]);
    match policy.prepare_with(&features).and_then(|p| p.apply()) {
        Ok(_) => Observed::Value(format!(
            "close_range={} closed={} kept={}",
            features.close_range,
            fd_state(a),
            fd_state(b)
        )),
        Err(e) => Observed::PolicyError {
            kind: crate::probe::error_kind(&e),
            message: e.to_string(),
        },
    }
}

fn fd_probes(p: &mut Vec<Probe>) {
    p.push(Probe::new(
        "fds::close_unkept",
        |_| close_fds_probe(false),
        |ctx| {
            Expected::value(format!(
                "close_range={} closed=closed kept=open",
                ctx.features.close_range
            ))
        },
    ));
    p.push(Probe::new(
        "fds::close_unkept::proc_fallback",
        |_| close_fds_probe(true),
        |_| Expected::value("close_range=false closed=closed kept=open"),
    ));
    p.push(Probe::new(
        "fds::keep_list_not_open",
        |_| match apply(&Policy::empty().close_fds(&[4000])) {
            Ok(_) => Observed::Ok,
            Err(o) => o,
        },
        |_| Expected::policy_error("keep_fd_not_open"),
    ));
    p.push(Probe::new(
        "rlimit::no_new_fds::open_fails",
        |_| match apply(&Policy::empty().no_new_fds()) {
            Ok(_) => observe(open_dev_null()),
            Err(o) => o,
        },
        |_| Expected::errno(Errno::EMFILE),
    ));
    p.push(Probe::new(
        "rlimit::no_new_fds::socket_fails",
        |_| match apply(&Policy::empty().no_new_fds()) {
            Ok(_) => observe(nix::sys::socket::socket(
                nix::sys::socket::AddressFamily::Unix,
                nix::sys::socket::SockType::Stream,
                nix::sys::socket::SockFlag::empty(),
                None,
            )),
            Err(o) => o,
        },
        |_| Expected::errno(Errno::EMFILE),
    ));
}

fn read_map(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|e| format!("unreadable: {e}"))
}

fn ns_probes(p: &mut Vec<Probe>) {
    for (name, inside) in [("map_root", Some(0u32)), ("map_own", None)] {
        p.push(Probe::new(
            format!("ns::user::{name}"),
            move |_| {
                let mut policy = Policy::new().namespaces(Namespaces::USER);
                if let Some(id) = inside {
                    policy = policy.map_uid(id).map_gid(id);
                }
                match apply(&policy) {
                    Ok(_) => Observed::Value(format!(
                        "uid_map={} gid_map={} setgroups={}",
                        read_map("/proc/self/uid_map"),
                        read_map("/proc/self/gid_map"),
                        read_map("/proc/self/setgroups")
                    )),
                    Err(o) => o,
                }
            },
            move |ctx| {
                if ctx.features.user_namespaces.is_err() {
                    return Expected::policy_error("unavailable:user namespace");
                }
                let (uin, gin) = inside.map_or((ctx.uid, ctx.gid), |i| (i, i));
                Expected::value(format!(
                    "uid_map={uin} {} 1 gid_map={gin} {} 1 setgroups=deny",
                    ctx.uid, ctx.gid
                ))
            },
        ));
    }
    p.push(Probe::new(
        "ns::user::id_not_owned",
        |_| match apply(&Policy::new().namespaces(Namespaces::USER).uid_map(0, 12345)) {
            Ok(_) => Observed::Ok,
            Err(o) => o,
        },
        |_| Expected::policy_error("id_not_owned"),
    ));
    p.push(Probe::new(
        "ns::user::map_without_namespace",
        |_| match apply(&Policy::empty().map_uid(0)) {
            Ok(_) => Observed::Ok,
            Err(o) => o,
        },
        |_| Expected::policy_error("conflict"),
    ));
    p.push(Probe::new(
        "ns::net::only_lo",
        |_| match apply(&Policy::new().namespaces(Namespaces::NETWORK | Namespaces::AUTOMATIC)) {
            Ok(_) => match nix::net::if_::if_nameindex() {
                Ok(list) => {
                    let names: Vec<String> = list
                        .iter()
                        .map(|i| i.name().to_string_lossy().into_owned())
                        .collect();
                    Observed::Value(names.join(","))
                }
                Err(e) => Observed::Errno(e as i32),
            },
            Err(o) => o,
        },
        |ctx| needs_userns(ctx, Expected::value("lo")),
    ));
    p.push(Probe::new(
        "ns::net::report_auto_user",
        |_| match apply(&Policy::new().namespaces(Namespaces::NETWORK | Namespaces::AUTOMATIC)) {
            Ok(r) => Observed::Value(format!(
                "net={} user_added_for={:?}",
                r.status(Mechanism::NetworkNamespace).is_enforced(),
                r.entry(Mechanism::UserNamespace).added_for
            )),
            Err(o) => o,
        },
        |ctx| {
            if ctx.features.cap_sys_admin {
                Expected::value("net=true user_added_for=None")
            } else {
                needs_userns(
                    ctx,
                    Expected::value("net=true user_added_for=Some(NetworkNamespace)"),
                )
            }
        },
    ));
    p.push(Probe::new(
        "ns::uts::private_hostname",
        |_| match apply(&Policy::new().namespaces(Namespaces::UTS | Namespaces::AUTOMATIC)) {
            Ok(_) => observe(nix::unistd::sethostname("exile-probe")),
            Err(o) => o,
        },
        |ctx| needs_userns(ctx, Expected::Ok),
    ));
    p.push(Probe::new(
        "ns::net::without_automatic_unprivileged",
        |_| match apply(&Policy::new().namespaces(Namespaces::NETWORK)) {
            Ok(_) => Observed::Ok,
            Err(o) => o,
        },
        |ctx| {
            if ctx.features.cap_sys_admin {
                Expected::Ok
            } else {
                Expected::policy_error("unavailable:network namespace")
            }
        },
    ));
    // User namespaces blocked (simulated by a seccomp filter failing unshare
    // with EPERM): Hard fails at prepare with the reason, best effort goes on.
    // User namespaces blocked by a seccomp filter failing unshare with
    // EPERM — or, on a kernel where they are blocked already (the matrix's
    // no-userns row), by that: the reason must name the real cause.
    p.push(Probe::new(
        "ns::user::blocked::hard",
        |_| {
            if let Err(e) = fail_syscalls(&[libc::SYS_unshare], Errno::EPERM) {
                return Observed::Value(format!("filter: {e}"));
            }
            match Policy::new()
                .namespaces(Namespaces::USER)
                .prepare()
                .and_then(|p| p.apply())
            {
                Ok(_) => Observed::Ok,
                Err(exile::Error::Unavailable { mechanism, reason }) => Observed::Value(format!(
                    "unavailable:{} reason={}",
                    mechanism.label(),
                    userns_reason(&reason)
                )),
                Err(e) => Observed::Value(format!("other error: {e}")),
            }
        },
        |ctx| {
            Expected::value(format!(
                "unavailable:user namespace reason={}",
                blocked_reason(ctx)
            ))
        },
    ));
    p.push(Probe::new(
        "ns::user::blocked::best_effort",
        |_| {
            if let Err(e) = fail_syscalls(&[libc::SYS_unshare], Errno::EPERM) {
                return Observed::Value(format!("filter: {e}"));
            }
            let policy = Policy::new()
                .namespaces(Namespaces::USER)
                .requirement_for(Mechanism::UserNamespace, Requirement::BestEffort);
            match apply(&policy) {
                Ok(report) => Observed::Value(match report.status(Mechanism::UserNamespace) {
                    Status::NotEnforced(reason) => {
                        format!("not_enforced:{}", userns_reason(&reason))
                    }
                    other => format!("{other:?}"),
                }),
                Err(o) => o,
            }
        },
        |ctx| Expected::value(format!("not_enforced:{}", blocked_reason(ctx))),
    ));
}

/// `unshare:EPERM` for the seccomp-simulated block, else the block's name.
fn userns_reason(reason: &exile::error::Reason) -> String {
    match reason {
        exile::error::Reason::UserNamespaces(UsernsBlock::Failed {
            step: UsernsStep::Unshare,
            errno,
        }) => format!("unshare:{:?}", Errno::from_raw(*errno)),
        exile::error::Reason::UserNamespaces(block) => format!("{block:?}"),
        other => format!("{other:?}"),
    }
}

/// What blocks user namespaces in the `ns::user::blocked` probes: the
/// kernel's own block where there is one, else the probe's filter.
fn blocked_reason(ctx: &Ctx) -> String {
    match ctx.features.user_namespaces {
        Ok(()) => "unshare:EPERM".to_owned(),
        Err(block) => userns_reason(&exile::error::Reason::UserNamespaces(block)),
    }
}

fn feature_probes(p: &mut Vec<Probe>) {
    p.push(Probe::new(
        "features::landlock_hidden_by_seccomp",
        |_| {
            if let Err(e) = fail_syscalls(&[libc::SYS_landlock_create_ruleset], Errno::ENOSYS) {
                return Observed::Value(format!("filter: {e}"));
            }
            let f = Features::detect();
            Observed::Value(format!(
                "abi={} status={:?}",
                f.landlock.abi, f.landlock.status
            ))
        },
        |_| Expected::value(format!("abi=0 status={:?}", LandlockStatus::NotBuilt)),
    ));
    p.push(Probe::new(
        "features::close_range_hidden_by_seccomp",
        |_| {
            if let Err(e) = fail_syscalls(&[libc::SYS_close_range], Errno::ENOSYS) {
                return Observed::Value(format!("filter: {e}"));
            }
            Observed::Value(format!("close_range={}", Features::detect().close_range))
        },
        |_| Expected::value("close_range=false"),
    ));
}
