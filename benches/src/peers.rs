//! The same [`FilterSpec`] compiled by each compiler compared.
//!
//! | [`Compiler`] | what it is |
//! |---|---|
//! | [`Exile`](Compiler::Exile) | [`exile::seccomp::compiler::compile`]: binary search over ranges |
//! | [`Seccompiler`](Compiler::Seccompiler) | rust-vmm's `seccompiler` 0.5: a linear scan in number order |
//! | [`ExileH`](Compiler::ExileH) | the chain the C library exile.h emits ([`exile_h_chain`]) |
//! | [`Linear`](Compiler::Linear) | [`exile::seccomp::compiler::compile_linear`]: exile's own linear reference |
//! | [`Libseccomp`](Compiler::Libseccomp) | libseccomp with `SCMP_FLTATR_CTL_OPTIMIZE=2` (binary tree), loaded at run time |
//!
//! A compiler's output is a [`Stack`] of programs: seccompiler has one match
//! action per filter, so a spec whose rules use two actions (the vow sets'
//! `ENOSYS` for `clone3` and `openat2`) needs a second filter. The kernel
//! runs every filter of a stack and keeps the most severe verdict; the
//! figures count every instruction of every filter, because that is what a
//! seccompiler user installs to get these semantics.

use std::collections::BTreeMap;
use std::fmt;

use exile::seccomp::bpf::{self, offset, op, SeccompData, SockFilter, MAX_INSNS};
use exile::seccomp::compiler::{compile, compile_linear};
use exile::seccomp::rules::{
    Action, Arch, ArgCond, ArgWidth, CmpOp, FilterSpec, Rule, X32_SYSCALL_BIT,
};

use crate::libseccomp::{self, ScmpArgCmp, ScmpCompare, ScmpFilter, ScmpRule};

/// Programs installed together, in installation order.
pub type Stack = Vec<Vec<SockFilter>>;

/// A filter compiler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compiler {
    /// exile's compiler.
    Exile,
    /// rust-vmm seccompiler.
    Seccompiler,
    /// The exile.h chain.
    ExileH,
    /// exile's linear reference compiler.
    Linear,
    /// libseccomp, binary tree.
    Libseccomp,
}

impl Compiler {
    /// Every compiler, exile first.
    pub const ALL: [Compiler; 5] = [
        Compiler::Exile,
        Compiler::Seccompiler,
        Compiler::ExileH,
        Compiler::Linear,
        Compiler::Libseccomp,
    ];

    /// The compilers exile is compared with in the kernel (`syscall_cost`):
    /// the peers of the issue, without exile's own linear reference.
    pub const KERNEL: [Compiler; 4] = [
        Compiler::Exile,
        Compiler::Seccompiler,
        Compiler::ExileH,
        Compiler::Libseccomp,
    ];

    /// Its name in tables and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Compiler::Exile => "exile",
            Compiler::Seccompiler => "seccompiler",
            Compiler::ExileH => "exile.h",
            Compiler::Linear => "exile-linear",
            Compiler::Libseccomp => "libseccomp-tree",
        }
    }

    /// Compile `spec`.
    pub fn compile(self, spec: &FilterSpec) -> Result<Stack, PeerError> {
        match self {
            Compiler::Exile => Ok(vec![
                compile(spec).map_err(|e| PeerError::Failed(e.to_string()))?
            ]),
            Compiler::Linear => Ok(vec![
                compile_linear(spec).map_err(|e| PeerError::Failed(e.to_string()))?
            ]),
            Compiler::Seccompiler => seccompiler_stack(spec),
            Compiler::ExileH => exile_h_chain(spec).map(|p| vec![p]),
            Compiler::Libseccomp => libseccomp_tree(spec).map(|p| vec![p]),
        }
    }
}

impl fmt::Display for Compiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a compiler gave no program for a spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeerError {
    /// The compiler is not available here (libseccomp not installed).
    Unavailable(String),
    /// The spec uses something the compiler cannot express with the same
    /// semantics.
    Inexpressible(String),
    /// The program would pass the kernel's 4096-instruction limit.
    TooLong(usize),
    /// The compiler failed.
    Failed(String),
}

impl PeerError {
    /// Whether this is "not installed here" rather than a real failure.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, PeerError::Unavailable(_))
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Unavailable(why) => f.write_str(why),
            PeerError::Inexpressible(why) => write!(f, "cannot express: {why}"),
            PeerError::TooLong(n) => write!(f, "{n} instructions: over the kernel's 4096"),
            PeerError::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

impl std::error::Error for PeerError {}

// ---------------------------------------------------------------------------
// Running a stack

/// How severe an action is when filters disagree: the kernel keeps the
/// verdict whose action part is lowest as a signed 32-bit number
/// (`KILL_PROCESS` < `KILL_THREAD` < `TRAP` < `ERRNO` < … < `ALLOW`); on a
/// tie the filter installed last (run first) wins.
fn severity(ret: u32) -> i32 {
    (ret & 0xffff_0000) as i32
}

/// The verdict of a stack on `data` and the instructions executed by all
/// its filters. Programs must be valid (see [`bpf::Program::new`]).
pub fn run_stack(programs: &[bpf::Program<'_>], data: &SeccompData) -> (u32, usize) {
    let mut ret = None::<u32>;
    let mut executed = 0;
    // Newest first, as the kernel runs them.
    for p in programs.iter().rev() {
        let v = p.run(data);
        executed += v.executed;
        ret = Some(match ret {
            Some(r) if severity(r) <= severity(v.ret) => r,
            _ => v.ret,
        });
    }
    (ret.unwrap_or(Action::Allow.to_ret()), executed)
}

/// Validate every program of a stack.
pub fn programs(stack: &Stack) -> Result<Vec<bpf::Program<'_>>, bpf::EvalError> {
    stack.iter().map(|p| bpf::Program::new(p)).collect()
}

// ---------------------------------------------------------------------------
// seccompiler

/// Translate `spec` to seccompiler filters (one per action a rule uses).
///
/// - The main filter: every call with rules, `match = Allow`, `mismatch =
///   default`. A call whose rules take another action X is listed here too,
///   with the same conditions, so that this filter does not kill it.
/// - One filter per such action X: its calls, `match = X`, `mismatch =
///   Allow`. The stack's verdict is then X exactly when an X rule holds.
///   These come first in the stack (installed first): they allow
///   `seccomp()`, which the main filter, installed last, refuses.
///
/// That is exact when a call's rules are all Allow, or all one action X
/// (the vow sets: `clone3` and `openat2` get `ENOSYS`). A call mixing Allow
/// and X rules would need the negation of the Allow conditions:
/// [`PeerError::Inexpressible`]. So is a foreign-architecture action other
/// than `KILL_PROCESS` (seccompiler's fixed choice) and an `Allow` default.
///
/// Semantic differences bridged (see `exile/tests/seccomp_engine.rs`):
/// seccompiler's `MaskedEq(m)` compares `(arg & m) == (value & m)`, ours
/// `(arg & m) == value` (never true with value bits outside the mask: such
/// a rule is dropped); seccompiler's empty rule list means "always"; it
/// does not reject x32 numbers but looks them up, which gives the default
/// action — the same verdict when the default is `KILL_PROCESS`, as in
/// every set here.
pub fn seccompiler_stack(spec: &FilterSpec) -> Result<Stack, PeerError> {
    use seccompiler::{SeccompAction, SeccompFilter, TargetArch};

    if spec.bad_arch_action != Action::KillProcess {
        return Err(PeerError::Inexpressible(
            "seccompiler kills the process on a foreign architecture".into(),
        ));
    }
    if spec.default_action == Action::Allow {
        return Err(PeerError::Inexpressible(
            "an Allow default: seccompiler needs distinct match and mismatch actions".into(),
        ));
    }
    let action = |a: Action| match a {
        Action::Allow => SeccompAction::Allow,
        Action::KillProcess => SeccompAction::KillProcess,
        Action::KillThread => SeccompAction::KillThread,
        Action::Errno(e) => SeccompAction::Errno(u32::from(e)),
        Action::Trap => SeccompAction::Trap,
        Action::Log => SeccompAction::Log,
    };
    let arch = match spec.arch {
        Arch::X86_64 => TargetArch::x86_64,
        Arch::Aarch64 => TargetArch::aarch64,
    };
    let mut allow: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = BTreeMap::new();
    let mut others: BTreeMap<Action, BTreeMap<i64, Vec<seccompiler::SeccompRule>>> =
        BTreeMap::new();
    for (&nr, rules) in &spec.syscalls {
        let Some((act, rules)) = single_action(spec, nr, rules)? else {
            continue;
        };
        let Some(translated) = seccompiler_rules(&rules)? else {
            continue; // no rule can hold: the default decides
        };
        allow.insert(i64::from(nr), translated.clone());
        if act != Action::Allow {
            others
                .entry(act)
                .or_default()
                .insert(i64::from(nr), translated);
        }
    }
    let build = |rules, mismatch: Action, matched: Action| -> Result<Vec<SockFilter>, PeerError> {
        let filter = SeccompFilter::new(rules, action(mismatch), action(matched), arch)
            .map_err(|e| PeerError::Failed(e.to_string()))?;
        let prog: seccompiler::BpfProgram = filter
            .try_into()
            .map_err(|e: seccompiler::BackendError| PeerError::Failed(e.to_string()))?;
        Ok(prog
            .iter()
            .map(|i| SockFilter::jump(i.code, i.k, i.jt, i.jf))
            .collect())
    };
    // The filters of the other actions first: they allow seccomp(), which
    // the main filter (installed last) does not.
    let mut stack = Vec::new();
    for (act, rules) in others {
        stack.push(build(rules, Action::Allow, act)?);
    }
    stack.push(build(allow, spec.default_action, Action::Allow)?);
    Ok(stack)
}

/// The rules of a call reduced to one action, or an error when they mix
/// actions. Rules whose action is the default are dropped when nothing
/// follows them that could change the verdict. `None`: no rule left.
fn single_action(
    spec: &FilterSpec,
    nr: u32,
    rules: &[Rule],
) -> Result<Option<(Action, Vec<Rule>)>, PeerError> {
    if spec.arch == Arch::X86_64 && nr >= X32_SYSCALL_BIT {
        return Err(PeerError::Inexpressible(format!(
            "a rule for x32 number {nr:#x}"
        )));
    }
    let mut kept: Vec<Rule> = rules.to_vec();
    while kept.last().is_some_and(|r| r.action == spec.default_action) {
        kept.pop();
    }
    let Some(first) = kept.first() else {
        return Ok(None);
    };
    let act = first.action;
    if kept.iter().any(|r| r.action != act) {
        return Err(PeerError::Inexpressible(format!(
            "system call {nr} mixes actions {:?}",
            kept.iter().map(|r| r.action).collect::<Vec<_>>()
        )));
    }
    Ok(Some((act, kept)))
}

/// Whether a condition can never hold (a masked value with bits outside
/// its mask).
fn never_holds(c: &ArgCond) -> bool {
    let width = match c.width {
        ArgWidth::W32 => 0xffff_ffffu64,
        ArgWidth::W64 => u64::MAX,
    };
    matches!(c.op, CmpOp::MaskedEq(m) if c.value & !m & width != 0)
}

/// seccompiler rules for one call (one action); `None` when none can hold.
fn seccompiler_rules(rules: &[Rule]) -> Result<Option<Vec<seccompiler::SeccompRule>>, PeerError> {
    use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};

    let fail = |e: seccompiler::BackendError| PeerError::Failed(e.to_string());
    let mut out = Vec::new();
    for rule in rules {
        if rule.conds.is_empty() {
            // Always holds: seccompiler's empty chain.
            return Ok(Some(Vec::new()));
        }
        if rule.conds.iter().any(never_holds) {
            continue;
        }
        let mut conds = Vec::with_capacity(rule.conds.len());
        for c in &rule.conds {
            let len = match c.width {
                ArgWidth::W32 => SeccompCmpArgLen::Dword,
                ArgWidth::W64 => SeccompCmpArgLen::Qword,
            };
            let op = match c.op {
                CmpOp::Eq => SeccompCmpOp::Eq,
                CmpOp::Ne => SeccompCmpOp::Ne,
                CmpOp::Lt => SeccompCmpOp::Lt,
                CmpOp::Le => SeccompCmpOp::Le,
                CmpOp::Gt => SeccompCmpOp::Gt,
                CmpOp::Ge => SeccompCmpOp::Ge,
                CmpOp::MaskedEq(m) => SeccompCmpOp::MaskedEq(m),
            };
            conds.push(SeccompCondition::new(c.arg, len, op, c.value).map_err(fail)?);
        }
        out.push(SeccompRule::new(conds).map_err(fail)?);
    }
    Ok((!out.is_empty()).then_some(out))
}

// ---------------------------------------------------------------------------
// The exile.h chain

/// Where a jump of the chain goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tgt {
    /// The next instruction.
    Next,
    /// The condition holds: the next condition (or the entry's `RET`).
    Holds,
    /// The condition fails: the next entry.
    Fails,
}

/// One instruction of an entry; jumps with symbolic targets.
#[derive(Clone, Copy, Debug)]
enum Ins {
    Ld(u32),
    And(u32),
    Jmp(u16, u32, Tgt, Tgt),
}

/// One condition as exile.h writes argument filters: every check loads its
/// word again; 64-bit values (which exile.h has no macro for) high word
/// first.
fn naive_cond(c: &ArgCond) -> Vec<Ins> {
    use Tgt::*;
    let (lo, hi) = (offset::arg_lo(c.arg), offset::arg_hi(c.arg));
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let mut v = Vec::new();
    if c.width == ArgWidth::W64 {
        v.push(Ins::Ld(hi));
        match c.op {
            CmpOp::Eq => v.push(Ins::Jmp(op::JEQ, vh, Next, Fails)),
            CmpOp::Ne => v.push(Ins::Jmp(op::JEQ, vh, Next, Holds)),
            CmpOp::MaskedEq(m) => {
                v.push(Ins::And((m >> 32) as u32));
                v.push(Ins::Jmp(op::JEQ, vh, Next, Fails));
            }
            CmpOp::Gt | CmpOp::Ge => {
                v.push(Ins::Jmp(op::JGT, vh, Holds, Next));
                v.push(Ins::Jmp(op::JEQ, vh, Next, Fails));
            }
            CmpOp::Lt | CmpOp::Le => {
                v.push(Ins::Jmp(op::JGT, vh, Fails, Next));
                v.push(Ins::Jmp(op::JEQ, vh, Next, Holds));
            }
        }
    }
    v.push(Ins::Ld(lo));
    if let CmpOp::MaskedEq(m) = c.op {
        v.push(Ins::And(m as u32));
    }
    v.push(match c.op {
        CmpOp::Eq | CmpOp::MaskedEq(_) => Ins::Jmp(op::JEQ, vl, Holds, Fails),
        CmpOp::Ne => Ins::Jmp(op::JEQ, vl, Fails, Holds),
        CmpOp::Gt => Ins::Jmp(op::JGT, vl, Holds, Fails),
        CmpOp::Ge => Ins::Jmp(op::JGE, vl, Holds, Fails),
        CmpOp::Lt => Ins::Jmp(op::JGE, vl, Fails, Holds),
        CmpOp::Le => Ins::Jmp(op::JGT, vl, Fails, Holds),
    });
    v
}

/// One entry: `ld nr; jeq nr, 0, <next entry>; <conditions>; ret action`.
fn chain_entry(nr: u32, rule: &Rule) -> Result<Vec<SockFilter>, PeerError> {
    // (instruction, index of the end of its condition)
    let mut body: Vec<(Ins, usize)> = Vec::new();
    let mut pos = 2; // after ld nr; jeq nr
    for c in &rule.conds {
        let code = naive_cond(c);
        let end = pos + code.len();
        body.extend(code.into_iter().map(|i| (i, end)));
        pos = end;
    }
    let len = pos + 1; // + ret
    let resolve = |at: usize, t: Tgt, cond_end: usize| -> Result<u8, PeerError> {
        let target = match t {
            Tgt::Next => at + 1,
            Tgt::Holds => cond_end,
            Tgt::Fails => len,
        };
        u8::try_from(target - (at + 1))
            .map_err(|_| PeerError::Failed(format!("entry of {nr} too long for a jump")))
    };
    let mut out = Vec::with_capacity(len);
    out.push(SockFilter::load(offset::NR));
    out.push(SockFilter::jump(
        op::JMP | op::JEQ | op::K,
        nr,
        0,
        resolve(1, Tgt::Fails, 0)?,
    ));
    for (i, (ins, end)) in body.into_iter().enumerate() {
        let at = i + 2;
        out.push(match ins {
            Ins::Ld(off) => SockFilter::load(off),
            Ins::And(m) => SockFilter::stmt(op::ALU | op::AND | op::K, m),
            Ins::Jmp(code, k, jt, jf) => SockFilter::jump(
                op::JMP | code | op::K,
                k,
                resolve(at, jt, end)?,
                resolve(at, jf, end)?,
            ),
        });
    }
    out.push(SockFilter::ret(rule.action.to_ret()));
    Ok(out)
}

/// The program exile.h (`exile_enable_syscall_policy`) builds for `spec`.
///
/// ```text
/// ld [arch]; jeq AUDIT_ARCH, 1, 0; ret KILL     arch check
/// ld [nr]; jge 0x40000000, 0, 1; ret KILL       x32 check (x86_64)
/// per rule, calls in table (number) order:
///   ld [nr]; jeq NR, 0, <next>; <argument checks>; ret ACTION
/// ld [nr]; ret DEFAULT                          the catch-all rule
/// ```
///
/// Every entry reloads the number, a call with several rules gets one
/// entry per rule, each with its own `ret`, and argument checks reload
/// their word: skipping an entry costs 2 instructions.
/// ([`compile_linear`] is a tighter chain: one `jeq` per call, numbers
/// reloaded only after argument checks, shared returns.) exile.h itself
/// aborts above 1024 instructions; the kernel's limit of 4096 is applied
/// here.
pub fn exile_h_chain(spec: &FilterSpec) -> Result<Vec<SockFilter>, PeerError> {
    let bad = spec.bad_arch_action.to_ret();
    let mut prog = vec![
        SockFilter::load(offset::ARCH),
        SockFilter::jump(op::JMP | op::JEQ | op::K, spec.arch.audit_arch(), 1, 0),
        SockFilter::ret(bad),
    ];
    if spec.arch == Arch::X86_64 {
        prog.push(SockFilter::load(offset::NR));
        prog.push(SockFilter::jump(
            op::JMP | op::JGE | op::K,
            X32_SYSCALL_BIT,
            0,
            1,
        ));
        prog.push(SockFilter::ret(bad));
    }
    for (&nr, rules) in &spec.syscalls {
        if spec.arch == Arch::X86_64 && nr >= X32_SYSCALL_BIT {
            continue; // rejected by the x32 check already
        }
        for rule in rules {
            prog.extend(chain_entry(nr, rule)?);
        }
    }
    prog.push(SockFilter::load(offset::NR));
    prog.push(SockFilter::ret(spec.default_action.to_ret()));
    if prog.len() > MAX_INSNS {
        return Err(PeerError::TooLong(prog.len()));
    }
    Ok(prog)
}

// ---------------------------------------------------------------------------
// libseccomp

/// libseccomp comparisons for one rule; `None` when the rule can never
/// hold.
///
/// libseccomp compares whole 64-bit arguments; a 32-bit condition of ours
/// looks at the low word only, so `arg == v` (32-bit) becomes
/// `(arg & 0xffffffff) == v` (`SCMP_CMP_MASKED_EQ`). 32-bit `!=`, `<`, `>`
/// have no such form: [`PeerError::Inexpressible`]. Two masked comparisons
/// of one argument (the open-flags rules: access mode, and no `O_CREAT`)
/// are merged into one: `(a & m1) == v1 && (a & m2) == v2` is
/// `(a & (m1|m2)) == (v1|v2)` — libseccomp refuses two comparisons of the
/// same argument in one rule.
pub fn libseccomp_cmps(rule: &Rule) -> Result<Option<Vec<ScmpArgCmp>>, PeerError> {
    let mut out: Vec<ScmpArgCmp> = Vec::new();
    for c in &rule.conds {
        if never_holds(c) {
            return Ok(None);
        }
        let arg = libc::c_uint::from(c.arg);
        let cmp = match (c.width, c.op) {
            (ArgWidth::W64, CmpOp::MaskedEq(m)) => masked(arg, m, c.value),
            (ArgWidth::W64, op) => ScmpArgCmp {
                arg,
                op: match op {
                    CmpOp::Eq => ScmpCompare::Eq,
                    CmpOp::Ne => ScmpCompare::Ne,
                    CmpOp::Lt => ScmpCompare::Lt,
                    CmpOp::Le => ScmpCompare::Le,
                    CmpOp::Gt => ScmpCompare::Gt,
                    CmpOp::Ge => ScmpCompare::Ge,
                    CmpOp::MaskedEq(_) => unreachable!("matched above"),
                },
                datum_a: c.value,
                datum_b: 0,
            },
            (ArgWidth::W32, CmpOp::Eq) => masked(arg, 0xffff_ffff, c.value & 0xffff_ffff),
            (ArgWidth::W32, CmpOp::MaskedEq(m)) => {
                masked(arg, m & 0xffff_ffff, c.value & 0xffff_ffff)
            }
            (ArgWidth::W32, op) => {
                return Err(PeerError::Inexpressible(format!(
                    "32-bit {op:?} (libseccomp compares 64 bits)"
                )))
            }
        };
        match out.iter_mut().find(|o| o.arg == cmp.arg) {
            None => out.push(cmp),
            Some(prev) => {
                if prev.op != ScmpCompare::MaskedEq || cmp.op != ScmpCompare::MaskedEq {
                    return Err(PeerError::Inexpressible(format!(
                        "two comparisons of argument {arg} that are not both masks"
                    )));
                }
                let (m1, v1, m2, v2) = (prev.datum_a, prev.datum_b, cmp.datum_a, cmp.datum_b);
                if (v1 ^ v2) & m1 & m2 != 0 {
                    return Ok(None); // contradictory: never holds
                }
                *prev = masked(arg, m1 | m2, v1 | v2);
            }
        }
    }
    Ok(Some(out))
}

fn masked(arg: libc::c_uint, mask: u64, value: u64) -> ScmpArgCmp {
    // A full 64-bit mask is plain equality (fewer instructions).
    if mask == u64::MAX {
        return ScmpArgCmp {
            arg,
            op: ScmpCompare::Eq,
            datum_a: value,
            datum_b: 0,
        };
    }
    ScmpArgCmp {
        arg,
        op: ScmpCompare::MaskedEq,
        datum_a: mask,
        datum_b: value,
    }
}

/// The libseccomp rules of `spec` (one action per call, see
/// [`seccompiler_stack`] for why mixed calls are refused: libseccomp has no
/// rule order, only per-argument decision trees).
pub fn libseccomp_filter(spec: &FilterSpec, optimize: u32) -> Result<ScmpFilter, PeerError> {
    let mut rules = Vec::new();
    for (&nr, list) in &spec.syscalls {
        let Some((act, list)) = single_action(spec, nr, list)? else {
            continue;
        };
        for rule in &list {
            let Some(cmps) = libseccomp_cmps(rule)? else {
                continue;
            };
            let unconditional = cmps.is_empty();
            rules.push(ScmpRule {
                action: act.to_ret(),
                nr,
                cmps,
            });
            if unconditional {
                break;
            }
        }
    }
    Ok(ScmpFilter {
        default_action: spec.default_action.to_ret(),
        bad_arch_action: spec.bad_arch_action.to_ret(),
        optimize,
        rules,
    })
}

/// `spec` compiled by libseccomp as a binary tree
/// (`SCMP_FLTATR_CTL_OPTIMIZE = 2`).
pub fn libseccomp_tree(spec: &FilterSpec) -> Result<Vec<SockFilter>, PeerError> {
    if spec.arch != Arch::native() {
        return Err(PeerError::Inexpressible(
            "libseccomp is used for the native architecture only".into(),
        ));
    }
    let filter = libseccomp_filter(spec, 2)?;
    libseccomp::export(&filter).map_err(|e| match e {
        libseccomp::LibError::NotFound(why) => PeerError::Unavailable(format!("skipped: {why}")),
        other => PeerError::Failed(other.to_string()),
    })
}
