//! The Landlock backend: path rules, TCP port rules and scopes in one
//! ruleset, built with the `landlock` crate at prepare time and enforced
//! with `landlock_restrict_self` at apply time.
//!
//! The ruleset handles every right the running ABI knows, so what no rule
//! grants is denied. Rights the ABI does not know cannot be restricted:
//! those a policy names make a Hard policy fail at prepare time; the others
//! are listed by [`Report::fs_unrestricted`](crate::Report::fs_unrestricted).

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use landlock::{
    AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, Ruleset,
    RulesetAttr, RulesetCreatedAttr,
};
use nix::errno::Errno;

use super::{Fs, Kind, NetRules, PathRule, Scope};
use crate::error::{Error, Step};

/// Rights that apply to a non-directory.
const FILE_RIGHTS: Fs = Fs::READ_FILE
    .union(Fs::WRITE_FILE)
    .union(Fs::EXECUTE)
    .union(Fs::TRUNCATE)
    .union(Fs::IOCTL_DEV)
    .union(Fs::RESOLVE_UNIX);

/// `LANDLOCK_RESTRICT_SELF_TSYNC` (ABI 8): restrict every thread.
const RESTRICT_SELF_TSYNC: u32 = 8;

/// A created ruleset, ready for `landlock_restrict_self`.
#[derive(Clone, Debug)]
pub(crate) struct LandlockPlan {
    ruleset: Arc<OwnedFd>,
    flags: u32,
}

fn ll_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Landlock(format!("{what}: {e}"))
}

/// Whether the ABI can restrict TCP (ABI 4) and UDP (ABI 10).
pub(crate) fn net_support(abi: u8) -> (bool, bool) {
    (abi >= 4, abi >= 10)
}

impl LandlockPlan {
    /// Build the ruleset for the running ABI `abi` (≥ 1).
    ///
    /// `restrict_fs`: handle filesystem rights (path rules or no_fs).
    pub(crate) fn prepare(
        rules: &[PathRule],
        restrict_fs: bool,
        net: &NetRules,
        scopes: Scope,
        abi: u8,
    ) -> Result<LandlockPlan, Error> {
        let handled = if restrict_fs {
            Fs::handled_by_abi(abi)
        } else {
            Fs::empty()
        };
        let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
        if !handled.is_empty() {
            let access = BitFlags::<AccessFs>::from_bits_truncate(handled.bits());
            ruleset = ruleset
                .handle_access(access)
                .map_err(|e| ll_error("handling filesystem rights", e))?;
        }
        let restrict_net =
            net.restrict_tcp || !net.tcp_bind.is_empty() || !net.tcp_connect.is_empty();
        let (tcp, udp) = net_support(abi);
        if restrict_net && tcp {
            let mut access = AccessNet::BindTcp | AccessNet::ConnectTcp;
            if udp && net.restrict_udp {
                access |= AccessNet::BindUdp | AccessNet::ConnectSendUdp;
            }
            ruleset = ruleset
                .handle_access(access)
                .map_err(|e| ll_error("handling network rights", e))?;
        }
        if !scopes.is_empty() && abi >= 6 {
            let mut s = BitFlags::<landlock::Scope>::empty();
            if scopes.contains(Scope::ABSTRACT_UNIX_SOCKET) {
                s |= landlock::Scope::AbstractUnixSocket;
            }
            if scopes.contains(Scope::SIGNAL) {
                s |= landlock::Scope::Signal;
            }
            ruleset = ruleset.scope(s).map_err(|e| ll_error("scoping", e))?;
        }
        let mut created = ruleset
            .create()
            .map_err(|e| ll_error("creating the ruleset", e))?;
        if !handled.is_empty() {
            for rule in rules {
                let mut allowed = rule.rights & handled;
                if rule.kind != Kind::Dir {
                    allowed &= FILE_RIGHTS;
                }
                if allowed.is_empty() {
                    continue;
                }
                let access = BitFlags::<AccessFs>::from_bits_truncate(allowed.bits());
                created = created
                    .add_rule(PathBeneath::new(&rule.fd, access))
                    .map_err(|e| {
                        ll_error(&format!("adding the rule for {}", rule.path.display()), e)
                    })?;
            }
        }
        if restrict_net && tcp {
            for &port in &net.tcp_bind {
                created = created
                    .add_rule(NetPort::new(port, AccessNet::BindTcp))
                    .map_err(|e| ll_error(&format!("allowing TCP bind on port {port}"), e))?;
            }
            for &port in &net.tcp_connect {
                created = created
                    .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
                    .map_err(|e| ll_error(&format!("allowing TCP connect to port {port}"), e))?;
            }
        }
        let fd: Option<OwnedFd> = created.into();
        let fd = fd.ok_or_else(|| Error::Landlock("the kernel returned no ruleset".into()))?;
        Ok(LandlockPlan {
            ruleset: Arc::new(fd),
            flags: if abi >= 8 { RESTRICT_SELF_TSYNC } else { 0 },
        })
    }

    /// The ruleset fd (it must survive `close_fds`).
    pub(crate) fn fd(&self) -> i32 {
        self.ruleset.as_raw_fd()
    }

    /// `landlock_restrict_self(ruleset, flags)`: system call only.
    pub(crate) fn restrict_self(&self) -> Result<(), (Step, Errno)> {
        crate::sys::landlock_restrict_self(self.ruleset.as_raw_fd(), self.flags)
            .map_err(|e| (Step::LandlockRestrictSelf, e))
    }
}
