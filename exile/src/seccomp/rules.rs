//! The rule model: what a seccomp filter should decide, independent of how
//! it is compiled to BPF.
//!
//! A [`FilterSpec`] maps system call numbers to an ordered list of
//! [`Rule`]s. For a call, the first rule whose conditions all hold decides
//! the [`Action`]; when no rule holds (or the call has no entry) the
//! filter's `default_action` decides. A foreign architecture (and, on
//! x86_64, the x32 system call range) gets `bad_arch_action`.
//!
//! ```
//! use exile::seccomp::rules::{Action, ArgCond, FilterSpec, Rule};
//!
//! let mut spec = FilterSpec::new(Action::KillProcess);
//! spec.add(libc::SYS_getpid as u32, Rule::allow());
//! // write(2, ...) only: argument 0 equal to 2.
//! spec.add(libc::SYS_write as u32, Rule::new(Action::Allow, vec![ArgCond::eq(0, 2)]));
//! assert_eq!(spec.syscalls.len(), 2);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `SECCOMP_RET_*` values (the action part of a filter's return value).
pub mod ret {
    /// Kill the whole process (Linux 4.14).
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// Kill the calling thread.
    pub const KILL_THREAD: u32 = 0x0000_0000;
    /// Send SIGSYS to the thread.
    pub const TRAP: u32 = 0x0003_0000;
    /// Fail with the errno in the low 16 bits.
    pub const ERRNO: u32 = 0x0005_0000;
    /// Hand the call to a user-space supervisor (Linux 5.0).
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    /// Notify a ptrace tracer.
    pub const TRACE: u32 = 0x7ff0_0000;
    /// Allow after logging (Linux 4.14).
    pub const LOG: u32 = 0x7ffc_0000;
    /// Allow.
    pub const ALLOW: u32 = 0x7fff_0000;
    /// Mask of the action part of a return value.
    pub const ACTION_FULL: u32 = 0xffff_0000;
    /// Mask of the data part (errno value, trap data).
    pub const DATA: u32 = 0x0000_ffff;
}

/// What the filter does with a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Action {
    /// Let the call through.
    Allow,
    /// Kill the process with SIGSYS.
    KillProcess,
    /// Kill only the calling thread with SIGSYS (what kernels before 4.14 do
    /// for "kill").
    KillThread,
    /// Fail the call with this errno (1..=4095).
    Errno(u16),
    /// Deliver SIGSYS to the thread (a handler can report the call).
    Trap,
    /// Allow, but log the call (permissive mode).
    Log,
}

impl Action {
    /// The `SECCOMP_RET_*` value a filter returns for this action.
    ///
    /// ```
    /// use exile::seccomp::rules::{ret, Action};
    /// assert_eq!(Action::Errno(13).to_ret(), ret::ERRNO | 13);
    /// ```
    pub const fn to_ret(self) -> u32 {
        match self {
            Action::Allow => ret::ALLOW,
            Action::KillProcess => ret::KILL_PROCESS,
            Action::KillThread => ret::KILL_THREAD,
            Action::Errno(e) => ret::ERRNO | (e as u32 & ret::DATA),
            Action::Trap => ret::TRAP,
            Action::Log => ret::LOG,
        }
    }

    /// The action a `SECCOMP_RET_*` value stands for, if it is one of ours.
    pub const fn from_ret(value: u32) -> Option<Action> {
        match value & ret::ACTION_FULL {
            ret::ALLOW => Some(Action::Allow),
            ret::KILL_PROCESS => Some(Action::KillProcess),
            ret::KILL_THREAD => Some(Action::KillThread),
            ret::ERRNO => Some(Action::Errno((value & ret::DATA) as u16)),
            ret::TRAP => Some(Action::Trap),
            ret::LOG => Some(Action::Log),
            _ => None,
        }
    }
}

/// How many bits of an argument a condition looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArgWidth {
    /// The low 32 bits only (C `int`, `unsigned int`: the upper half of the
    /// register is not defined by the ABI and must be ignored).
    W32,
    /// All 64 bits (pointers, `long`, `size_t`, `off_t`).
    W64,
}

/// A comparison of an argument with a constant. All comparisons are unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    /// `arg == value`
    Eq,
    /// `arg != value`
    Ne,
    /// `(arg & mask) == value`
    MaskedEq(u64),
    /// `arg < value`
    Lt,
    /// `arg <= value`
    Le,
    /// `arg > value`
    Gt,
    /// `arg >= value`
    Ge,
}

/// A condition on one system call argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArgCond {
    /// Argument index, 0..=5.
    pub arg: u8,
    /// How many bits are compared.
    pub width: ArgWidth,
    /// The comparison.
    pub op: CmpOp,
    /// The constant compared with (for `W32`, only its low 32 bits count).
    pub value: u64,
}

impl ArgCond {
    /// A condition with every field given.
    pub const fn new(arg: u8, width: ArgWidth, op: CmpOp, value: u64) -> ArgCond {
        ArgCond {
            arg,
            width,
            op,
            value,
        }
    }

    /// 32-bit `arg == value` (the common case: flags, fds, commands).
    pub const fn eq(arg: u8, value: u64) -> ArgCond {
        ArgCond::new(arg, ArgWidth::W32, CmpOp::Eq, value)
    }

    /// 32-bit `(arg & mask) == value`.
    pub const fn masked_eq(arg: u8, mask: u64, value: u64) -> ArgCond {
        ArgCond::new(arg, ArgWidth::W32, CmpOp::MaskedEq(mask), value)
    }

    /// 32-bit `arg & bits == 0`: none of `bits` is set.
    pub const fn none_of(arg: u8, bits: u64) -> ArgCond {
        ArgCond::masked_eq(arg, bits, 0)
    }

    /// Evaluate the condition on a raw 64-bit argument value.
    ///
    /// ```
    /// use exile::seccomp::rules::ArgCond;
    /// // Only the low 32 bits count for a W32 condition.
    /// assert!(ArgCond::eq(0, 5).matches(0xffff_ffff_0000_0005));
    /// ```
    pub const fn matches(&self, arg: u64) -> bool {
        let (a, v) = match self.width {
            ArgWidth::W32 => (arg & 0xffff_ffff, self.value & 0xffff_ffff),
            ArgWidth::W64 => (arg, self.value),
        };
        match self.op {
            CmpOp::Eq => a == v,
            CmpOp::Ne => a != v,
            CmpOp::MaskedEq(mask) => {
                let m = match self.width {
                    ArgWidth::W32 => mask & 0xffff_ffff,
                    ArgWidth::W64 => mask,
                };
                a & m == v
            }
            CmpOp::Lt => a < v,
            CmpOp::Le => a <= v,
            CmpOp::Gt => a > v,
            CmpOp::Ge => a >= v,
        }
    }
}

/// Conditions (all must hold) and the action taken when they do.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    /// Conditions, ANDed; empty means "always".
    pub conds: Vec<ArgCond>,
    /// What happens when every condition holds.
    pub action: Action,
}

impl Rule {
    /// A rule with conditions.
    pub fn new(action: Action, conds: Vec<ArgCond>) -> Rule {
        Rule { conds, action }
    }

    /// An unconditional allow.
    pub fn allow() -> Rule {
        Rule::new(Action::Allow, Vec::new())
    }

    /// An unconditional action.
    pub fn always(action: Action) -> Rule {
        Rule::new(action, Vec::new())
    }

    /// Whether all conditions hold for these arguments.
    pub fn matches(&self, args: &[u64; 6]) -> bool {
        self.conds
            .iter()
            .all(|c| c.matches(args[usize::from(c.arg)]))
    }
}

/// The architecture a filter is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arch {
    /// x86_64 (`AUDIT_ARCH_X86_64`); the x32 range is rejected.
    X86_64,
    /// aarch64 (`AUDIT_ARCH_AARCH64`).
    Aarch64,
}

impl Arch {
    /// The architecture this crate is compiled for.
    pub const fn native() -> Arch {
        #[cfg(target_arch = "aarch64")]
        {
            Arch::Aarch64
        }
        #[cfg(not(target_arch = "aarch64"))]
        {
            Arch::X86_64
        }
    }

    /// The `AUDIT_ARCH_*` value in `seccomp_data.arch`.
    pub const fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => 0xc000_003e,
            Arch::Aarch64 => 0xc000_00b7,
        }
    }
}

/// `AUDIT_ARCH_I386`: the i386 compat ABI (`int 0x80` on x86_64).
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT`: x32 system calls on x86_64 have this bit set.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A whole filter: per-syscall rules plus the defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterSpec {
    /// The architecture accepted; any other gets `bad_arch_action`.
    pub arch: Arch,
    /// Action for a call without an entry, and when no rule of an entry holds.
    pub default_action: Action,
    /// Action for a foreign architecture and (x86_64) the x32 range.
    pub bad_arch_action: Action,
    /// Per system call number: rules in order, first match wins.
    pub syscalls: BTreeMap<u32, Vec<Rule>>,
}

impl FilterSpec {
    /// An empty filter for the native architecture: every call gets
    /// `default_action`; a foreign architecture kills the process.
    pub fn new(default_action: Action) -> FilterSpec {
        FilterSpec {
            arch: Arch::native(),
            default_action,
            bad_arch_action: Action::KillProcess,
            syscalls: BTreeMap::new(),
        }
    }

    /// Append a rule for system call `nr` (after the rules it already has).
    pub fn add(&mut self, nr: u32, rule: Rule) -> &mut Self {
        self.syscalls.entry(nr).or_default().push(rule);
        self
    }

    /// Put a rule for `nr` *before* its existing rules (so it wins).
    pub fn add_first(&mut self, nr: u32, rule: Rule) -> &mut Self {
        self.syscalls.entry(nr).or_default().insert(0, rule);
        self
    }

    /// The action this filter takes, by the model's semantics (no BPF).
    ///
    /// This is the reference the compiled program is tested against.
    ///
    /// ```
    /// use exile::seccomp::rules::{Action, Arch, FilterSpec, Rule};
    /// let mut spec = FilterSpec::new(Action::Errno(1));
    /// spec.add(39, Rule::allow());
    /// let arch = Arch::native().audit_arch();
    /// assert_eq!(spec.evaluate(arch, 39, &[0; 6]), Action::Allow);
    /// assert_eq!(spec.evaluate(arch, 40, &[0; 6]), Action::Errno(1));
    /// ```
    pub fn evaluate(&self, arch: u32, nr: u32, args: &[u64; 6]) -> Action {
        if arch != self.arch.audit_arch() {
            return self.bad_arch_action;
        }
        if self.arch == Arch::X86_64 && nr >= X32_SYSCALL_BIT {
            return self.bad_arch_action;
        }
        self.syscalls
            .get(&nr)
            .and_then(|rules| rules.iter().find(|r| r.matches(args)))
            .map_or(self.default_action, |r| r.action)
    }
}
