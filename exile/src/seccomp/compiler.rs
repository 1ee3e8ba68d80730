//! [`FilterSpec`] → classic BPF.
//!
//! [`compile`] builds the program this crate installs:
//!
//! 1. **Architecture check**: load `arch`; a foreign architecture returns
//!    `bad_arch_action`.
//! 2. **Dispatch** on `nr` by a binary search over *ranges of consecutive
//!    numbers with the same outcome* (as Chromium's sandbox does): the whole
//!    `u32` space is cut into ranges that each either return a constant
//!    action or enter the argument-check block of a system call. Numbers
//!    without an entry return `default_action`; on x86_64 the x32 range
//!    (`nr >= 0x4000_0000`) is the last range and returns `bad_arch_action`,
//!    so rejecting it costs a comparison only on the paths of the highest
//!    numbers. The search tree is an optimal alphabetic tree weighted by the
//!    listed system calls (each listed number weighs 8, a range of unlisted
//!    numbers 1), with a balanced tree as fallback when that tree would be
//!    deeper than 18 or there are more than 640 ranges. With ~150 allowed
//!    calls, a constant call executes about 10 instructions on average and
//!    13 at worst (the plain linear chain of [`compile_linear`]: 81 and
//!    156; exile.h's own chain, which reloads the number and returns in
//!    every entry, about twice that — see `benches/RESULTS.md`).
//! 3. **Argument checks**: one block per distinct rule list (system calls
//!    with identical rules share it); rules in order, first match wins,
//!    conditions ANDed, falling through to the default. 64-bit conditions
//!    compare the high word, then the low word; 32-bit ones only the low word.
//!    Conditions that always or never hold are folded, dead rules dropped,
//!    reloads of the same word (and of the same masked word) skipped,
//!    single-bit and zero masks use `JSET`. Consecutive rules with the same
//!    action that all test one argument for equality (allow-lists of ioctl
//!    requests, fcntl commands, setsockopt levels and options) are
//!    dispatched by a search over the constants instead of one test each.
//! 4. **Shared returns**: one `RET` per distinct value at the end. A jump
//!    farther than 255 instructions goes through a trampoline placed next to
//!    it: a copy of the `RET` when the target is a return (costs no extra
//!    executed instruction), a `JA` otherwise.
//!
//! A system call whose rules reduce to one unconditional action is a leaf of
//! the search: its path loads only `arch` and `nr`, so kernels ≥ 5.11 can
//! prove it constant and skip the filter for it entirely.
//!
//! ```
//! use exile::seccomp::compiler::compile;
//! use exile::seccomp::rules::{Action, ArgCond, FilterSpec, Rule};
//!
//! let mut spec = FilterSpec::new(Action::KillProcess);
//! spec.add(libc::SYS_getpid as u32, Rule::allow());
//! spec.add(libc::SYS_write as u32, Rule::new(Action::Allow, vec![ArgCond::eq(0, 2)]));
//! let prog = compile(&spec)?;
//! assert!(prog.len() < 20);
//! # Ok::<(), exile::seccomp::compiler::CompileError>(())
//! ```

use std::collections::HashMap;

use super::bpf::{self, offset, op, SockFilter, MAX_INSNS};
use super::rules::{Action, Arch, ArgCond, ArgWidth, CmpOp, FilterSpec, Rule, X32_SYSCALL_BIT};

/// Why a [`FilterSpec`] cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
pub enum CompileError {
    /// The program would pass the kernel's limit of 4096 instructions.
    #[error(
        "the seccomp filter needs {len} BPF instructions but the kernel accepts at most 4096; \
         give fewer system calls their own argument conditions or merge rules"
    )]
    TooLong {
        /// Instructions the program would need (at least).
        len: usize,
    },
    /// A condition names an argument past the sixth.
    #[error(
        "a condition of system call {nr} tests argument {arg}, but system calls have \
         arguments 0 to 5"
    )]
    BadArg {
        /// The system call.
        nr: u32,
        /// The argument index given.
        arg: u8,
    },
    /// An `Errno` action with 0 (the call would seem to succeed without
    /// running) or a value past 4095 (the kernel's `MAX_ERRNO`).
    #[error("errno {errno} in {place} is invalid: use 1 to 4095 (e.g. libc::EPERM)")]
    BadErrno {
        /// The value given.
        errno: u16,
        /// Where it was found: `"the default action"`, `"the bad-arch action"`
        /// or `"a rule of system call N"`.
        place: String,
    },
}

/// Weight of one listed system call in the search tree (see the module doc).
const LISTED_WEIGHT: u32 = 8;
/// Weight of a range of numbers without an entry.
const GAP_WEIGHT: u32 = 1;
/// Limits on the search tree.
#[derive(Clone, Copy, Debug)]
struct Tuning {
    /// Deepest optimal tree accepted before falling back to a balanced one.
    max_depth: u32,
    /// Above this many ranges the optimal tree (quadratic time and memory)
    /// is not computed: balanced tree.
    max_optimal_leaves: usize,
}

const TUNING: Tuning = Tuning {
    max_depth: 18,
    max_optimal_leaves: 640,
};

// ---------------------------------------------------------------------------
// Validation and normalisation

fn check_action(action: Action, place: impl FnOnce() -> String) -> Result<(), CompileError> {
    match action {
        Action::Errno(e) if e == 0 || e > 4095 => Err(CompileError::BadErrno {
            errno: e,
            place: place(),
        }),
        _ => Ok(()),
    }
}

fn validate(spec: &FilterSpec) -> Result<(), CompileError> {
    check_action(spec.default_action, || "the default action".into())?;
    check_action(spec.bad_arch_action, || "the bad-arch action".into())?;
    for (&nr, rules) in &spec.syscalls {
        for rule in rules {
            check_action(rule.action, || format!("a rule of system call {nr}"))?;
            if let Some(c) = rule.conds.iter().find(|c| c.arg > 5) {
                return Err(CompileError::BadArg { nr, arg: c.arg });
            }
        }
    }
    Ok(())
}

/// Whether a test always holds, never holds, or must be compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tri {
    Always,
    Never,
    Test,
}

/// A comparison of one 32-bit word with a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmp32 {
    Eq(u32),
    Ne(u32),
    /// `(word & mask) == value`
    Masked(u32, u32),
    Gt(u32),
    Ge(u32),
    Lt(u32),
    Le(u32),
}

impl Cmp32 {
    fn classify(self) -> Tri {
        match self {
            Cmp32::Masked(m, v) if v & !m != 0 => Tri::Never,
            Cmp32::Masked(0, _) | Cmp32::Ge(0) | Cmp32::Le(u32::MAX) => Tri::Always,
            Cmp32::Gt(u32::MAX) | Cmp32::Lt(0) => Tri::Never,
            _ => Tri::Test,
        }
    }

    fn from_op(op: CmpOp, value: u32) -> Cmp32 {
        match op {
            CmpOp::Eq => Cmp32::Eq(value),
            CmpOp::Ne => Cmp32::Ne(value),
            CmpOp::MaskedEq(m) => Cmp32::Masked(m as u32, value),
            CmpOp::Gt => Cmp32::Gt(value),
            CmpOp::Ge => Cmp32::Ge(value),
            CmpOp::Lt => Cmp32::Lt(value),
            CmpOp::Le => Cmp32::Le(value),
        }
    }
}

fn classify(c: &ArgCond) -> Tri {
    match c.width {
        ArgWidth::W32 => Cmp32::from_op(c.op, c.value as u32).classify(),
        ArgWidth::W64 => match (c.op, c.value) {
            (CmpOp::MaskedEq(m), v) if v & !m != 0 => Tri::Never,
            (CmpOp::MaskedEq(0), _) | (CmpOp::Ge, 0) | (CmpOp::Le, u64::MAX) => Tri::Always,
            (CmpOp::Gt, u64::MAX) | (CmpOp::Lt, 0) => Tri::Never,
            _ => Tri::Test,
        },
    }
}

/// A rule after folding: every condition needs code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct NRule {
    conds: Vec<ArgCond>,
    action: Action,
}

/// An argument-check block: rules, then the action when none holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Block {
    rules: Vec<NRule>,
    fallthrough: Action,
}

/// What a system call number leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Outcome {
    Ret(u32),
    Block(usize),
}

/// Fold the rules of one system call: a constant action, or a block.
fn normalize(rules: &[Rule], default: Action) -> Result<Block, Action> {
    let mut out: Vec<NRule> = Vec::new();
    let mut fallthrough = default;
    for rule in rules {
        let mut conds: Vec<ArgCond> = Vec::with_capacity(rule.conds.len());
        let mut dead = false;
        for c in &rule.conds {
            match classify(c) {
                Tri::Always => {}
                Tri::Never => dead = true,
                Tri::Test => {
                    // W32 conditions only look at the low words.
                    let c = match c.width {
                        ArgWidth::W32 => ArgCond {
                            value: c.value & 0xffff_ffff,
                            op: match c.op {
                                CmpOp::MaskedEq(m) => CmpOp::MaskedEq(m & 0xffff_ffff),
                                o => o,
                            },
                            ..*c
                        },
                        ArgWidth::W64 => *c,
                    };
                    if !conds.contains(&c) {
                        conds.push(c);
                    }
                }
            }
        }
        if dead {
            continue;
        }
        if conds.is_empty() {
            fallthrough = rule.action;
            break;
        }
        // Group the conditions on one argument (64-bit ones first: they end
        // with the low word loaded, which a 32-bit one can reuse).
        conds.sort_by_key(|c| (c.arg, c.width == ArgWidth::W32));
        out.push(NRule {
            conds,
            action: rule.action,
        });
    }
    while out.last().is_some_and(|r| r.action == fallthrough) {
        out.pop();
    }
    if out.is_empty() {
        Err(fallthrough)
    } else {
        Ok(Block {
            rules: out,
            fallthrough,
        })
    }
}

// ---------------------------------------------------------------------------
// Intermediate code with labels, and the assembler

type Label = usize;

#[derive(Clone, Copy, Debug)]
enum Item {
    Bind(Label),
    Ld(u32),
    And(u32),
    Jmp {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Ja(Label),
    Ret(u32),
}

/// What the accumulator holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AState {
    Unknown,
    /// The word at this offset of `seccomp_data`.
    Word(u32),
    /// That word ANDed with a mask.
    Masked(u32, u32),
}

fn meet(a: Option<AState>, b: Option<AState>) -> Option<AState> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) if x == y => Some(x),
        _ => Some(AState::Unknown),
    }
}

/// Emits labelled code and tracks the accumulator to skip reloads.
struct Emitter {
    items: Vec<Item>,
    /// A before the next item; `None` when the point is unreachable.
    a: Option<AState>,
    /// Meet of A over the jumps emitted so far to each label.
    incoming: Vec<Option<AState>>,
    /// Shared return labels, in order of first use.
    rets: Vec<(u32, Label)>,
    /// Return value of each return label.
    ret_of: HashMap<Label, u32>,
}

impl Emitter {
    fn new() -> Emitter {
        Emitter {
            items: Vec::new(),
            a: Some(AState::Unknown),
            incoming: Vec::new(),
            rets: Vec::new(),
            ret_of: HashMap::new(),
        }
    }

    fn label(&mut self) -> Label {
        self.incoming.push(None);
        self.incoming.len() - 1
    }

    fn ret_label(&mut self, value: u32) -> Label {
        if let Some(&(_, l)) = self.rets.iter().find(|(v, _)| *v == value) {
            return l;
        }
        let l = self.label();
        self.rets.push((value, l));
        self.ret_of.insert(l, value);
        l
    }

    fn bind(&mut self, l: Label) {
        self.a = meet(self.a, self.incoming[l]).or(Some(AState::Unknown));
        self.items.push(Item::Bind(l));
    }

    fn ld(&mut self, off: u32) {
        if self.a != Some(AState::Word(off)) {
            self.items.push(Item::Ld(off));
            self.a = Some(AState::Word(off));
        }
    }

    /// Load even when A is known to hold the word (naive code).
    fn ld_always(&mut self, off: u32) {
        self.items.push(Item::Ld(off));
        self.a = Some(AState::Word(off));
    }

    fn and(&mut self, mask: u32) {
        self.items.push(Item::And(mask));
        self.a = Some(match self.a {
            Some(AState::Word(off)) => AState::Masked(off, mask),
            _ => AState::Unknown,
        });
    }

    /// A = word(off) & mask, reusing what A holds when possible.
    fn ld_masked(&mut self, off: u32, mask: u32) {
        if self.a != Some(AState::Masked(off, mask)) {
            self.ld(off);
            self.and(mask);
        }
    }

    fn reach(&mut self, l: Label) {
        self.incoming[l] = meet(self.incoming[l], self.a);
    }

    fn jmp(&mut self, code: u16, k: u32, jt: Label, jf: Label) {
        if jt == jf {
            return self.goto(jt);
        }
        self.reach(jt);
        self.reach(jf);
        self.items.push(Item::Jmp {
            code: op::JMP | code | op::K,
            k,
            jt,
            jf,
        });
        self.a = None;
    }

    /// Unconditional transfer; to a return label it is the `RET` itself.
    fn goto(&mut self, l: Label) {
        if let Some(&v) = self.ret_of.get(&l) {
            self.items.push(Item::Ret(v));
        } else {
            self.reach(l);
            self.items.push(Item::Ja(l));
        }
        self.a = None;
    }

    /// Bind the shared returns some jump uses, and assemble.
    fn finish(mut self) -> Result<Vec<SockFilter>, CompileError> {
        for (v, l) in std::mem::take(&mut self.rets) {
            if self.incoming[l].is_some() {
                self.items.push(Item::Bind(l));
                self.items.push(Item::Ret(v));
            }
        }
        assemble(&self.items, &self.ret_of, self.incoming.len())
    }
}

/// Longest conditional jump.
const MAX_JUMP: usize = 255;

/// Resolve labels, back to front, inserting trampolines where a conditional
/// jump would pass 255 instructions.
fn assemble(
    items: &[Item],
    ret_of: &HashMap<Label, u32>,
    labels: usize,
) -> Result<Vec<SockFilter>, CompileError> {
    // The program is built reversed: index i of `rev` is instruction
    // `len - 1 - i`; a jump pushed at `p` to `t` has offset `p - t - 1`.
    let mut rev: Vec<SockFilter> = Vec::with_capacity(items.len() + 16);
    // Position of the instruction each label names.
    let mut pos: Vec<Option<usize>> = vec![None; labels];
    // Nearest trampoline (JA to the label, or copy of its RET).
    let mut near: Vec<Option<usize>> = vec![None; labels];
    let label_of_ret: HashMap<u32, Label> = ret_of.iter().map(|(&l, &v)| (v, l)).collect();

    for item in items.iter().rev() {
        match *item {
            Item::Bind(l) => pos[l] = rev.len().checked_sub(1),
            Item::Ld(off) => rev.push(SockFilter::load(off)),
            Item::And(m) => rev.push(SockFilter::stmt(op::ALU | op::AND | op::K, m)),
            Item::Ret(v) => {
                // Falling through to the same RET does the same.
                if rev.last() == Some(&SockFilter::ret(v)) {
                    continue;
                }
                // Any RET serves jumps to the shared one of its value.
                if let Some(&l) = label_of_ret.get(&v) {
                    near[l] = Some(rev.len());
                }
                rev.push(SockFilter::ret(v));
            }
            Item::Ja(l) => {
                let t = target(&pos, l);
                let off = rev.len() - t - 1;
                if off > 0 {
                    rev.push(SockFilter::ja(off as u32));
                }
            }
            Item::Jmp { code, k, jt, jf } => loop {
                let p = rev.len();
                let reach = |l: Label| -> Option<u8> {
                    let direct = p - target(&pos, l) - 1;
                    if direct <= MAX_JUMP {
                        return Some(direct as u8);
                    }
                    let t = near[l]?;
                    u8::try_from(p - t - 1).ok()
                };
                match (reach(jt), reach(jf)) {
                    (Some(t), Some(f)) => {
                        rev.push(SockFilter::jump(code, k, t, f));
                        break;
                    }
                    (None, _) => push_trampoline(&mut rev, &pos, &mut near, ret_of, jt),
                    (_, None) => push_trampoline(&mut rev, &pos, &mut near, ret_of, jf),
                }
            },
        }
    }
    if rev.len() > MAX_INSNS {
        return Err(CompileError::TooLong { len: rev.len() });
    }
    rev.reverse();
    Ok(rev)
}

fn target(pos: &[Option<usize>], l: Label) -> usize {
    // Every label is bound after its jumps (all jumps go forward) and
    // before at least one instruction; the emitters guarantee it.
    debug_assert!(pos[l].is_some(), "label {l} used but not bound");
    pos[l].unwrap_or(0)
}

fn push_trampoline(
    rev: &mut Vec<SockFilter>,
    pos: &[Option<usize>],
    near: &mut [Option<usize>],
    ret_of: &HashMap<Label, u32>,
    l: Label,
) {
    let ins = match ret_of.get(&l) {
        Some(&v) => SockFilter::ret(v),
        None => SockFilter::ja((rev.len() - target(pos, l) - 1) as u32),
    };
    near[l] = Some(rev.len());
    rev.push(ins);
}

// ---------------------------------------------------------------------------
// Conditions

/// `word(off) <cmp>` → `t` / `f`. `cmp` must classify as [`Tri::Test`].
fn emit32(e: &mut Emitter, off: u32, cmp: Cmp32, t: Label, f: Label) {
    match cmp.classify() {
        Tri::Always => return e.goto(t),
        Tri::Never => return e.goto(f),
        Tri::Test => {}
    }
    if let Cmp32::Masked(m, v) = cmp {
        if m != u32::MAX && v != 0 && !(v == m && m.is_power_of_two()) {
            e.ld_masked(off, m);
            return e.jmp(op::JEQ, v, t, f);
        }
    }
    e.ld(off);
    match cmp {
        Cmp32::Eq(v) => e.jmp(op::JEQ, v, t, f),
        Cmp32::Ne(v) => e.jmp(op::JEQ, v, f, t),
        Cmp32::Masked(u32::MAX, v) => e.jmp(op::JEQ, v, t, f),
        Cmp32::Masked(m, 0) => e.jmp(op::JSET, m, f, t),
        Cmp32::Masked(m, v) if v == m && m.is_power_of_two() => e.jmp(op::JSET, m, t, f),
        Cmp32::Masked(m, v) => {
            // Not reached: handled above.
            e.and(m);
            e.jmp(op::JEQ, v, t, f);
        }
        Cmp32::Gt(v) => e.jmp(op::JGT, v, t, f),
        Cmp32::Ge(v) => e.jmp(op::JGE, v, t, f),
        Cmp32::Lt(v) => e.jmp(op::JGE, v, f, t),
        Cmp32::Le(v) => e.jmp(op::JGT, v, f, t),
    }
}

/// High word compared with `v`: greater → `g`, equal → `eq`, less → `l`.
fn three_way(e: &mut Emitter, off: u32, v: u32, g: Label, eq: Label, l: Label) {
    if g == eq && v == 0 {
        return e.goto(g);
    }
    if eq == l && v == u32::MAX {
        return e.goto(l);
    }
    e.ld(off);
    if g == eq {
        e.jmp(op::JGE, v, g, l);
    } else if eq == l {
        e.jmp(op::JGT, v, g, l);
    } else if v == 0 {
        e.jmp(op::JEQ, 0, eq, g);
    } else if v == u32::MAX {
        e.jmp(op::JEQ, v, eq, l);
    } else {
        let mid = e.label();
        e.jmp(op::JGT, v, g, mid);
        e.bind(mid);
        e.jmp(op::JEQ, v, eq, l);
    }
}

/// One condition (classified [`Tri::Test`]) → `t` / `f`.
fn emit_cond(e: &mut Emitter, c: &ArgCond, t: Label, f: Label) {
    let lo = offset::arg_lo(c.arg);
    let hi = offset::arg_hi(c.arg);
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    match c.width {
        ArgWidth::W32 => emit32(e, lo, Cmp32::from_op(c.op, vl), t, f),
        ArgWidth::W64 => match c.op {
            CmpOp::Eq | CmpOp::Ne => {
                let next = e.label();
                let differ = if c.op == CmpOp::Eq { f } else { t };
                e.ld(hi);
                e.jmp(op::JEQ, vh, next, differ);
                e.bind(next);
                emit32(e, lo, Cmp32::from_op(c.op, vl), t, f);
            }
            CmpOp::MaskedEq(m) => {
                let high = Cmp32::Masked((m >> 32) as u32, vh);
                if high.classify() == Tri::Test {
                    let next = e.label();
                    emit32(e, hi, high, next, f);
                    e.bind(next);
                }
                emit32(e, lo, Cmp32::Masked(m as u32, vl), t, f);
            }
            CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
                let low = Cmp32::from_op(c.op, vl);
                let (g, l) = if matches!(c.op, CmpOp::Gt | CmpOp::Ge) {
                    (t, f)
                } else {
                    (f, t)
                };
                match low.classify() {
                    Tri::Always => three_way(e, hi, vh, g, t, l),
                    Tri::Never => three_way(e, hi, vh, g, f, l),
                    Tri::Test => {
                        let next = e.label();
                        three_way(e, hi, vh, g, next, l);
                        e.bind(next);
                        emit32(e, lo, low, t, f);
                    }
                }
            }
        },
    }
}

/// The rules of a block, by runs of consecutive rules with the same
/// action: a run holds if any of its rules holds (the order inside a run
/// does not matter), so it is compiled as a whole by [`emit_any`].
fn emit_block(e: &mut Emitter, block: &Block) {
    let mut rest = &block.rules[..];
    while let Some(first) = rest.first() {
        let run = rest.iter().take_while(|r| r.action == first.action).count();
        let conjs: Vec<&[ArgCond]> = rest[..run].iter().map(|r| &r.conds[..]).collect();
        let fail = e.label();
        let success = e.ret_label(first.action.to_ret());
        emit_any(e, &conjs, success, fail);
        e.bind(fail);
        rest = &rest[run..];
    }
    let l = e.ret_label(block.fallthrough.to_ret());
    e.goto(l);
}

/// `t` if any of the conjunctions (each non-empty) holds, else `f`.
///
/// When every conjunction tests one argument word for equality (a 32-bit
/// `Eq`), the word's value selects the conjunctions that can still hold by
/// a search over the constants (equalities with different constants
/// exclude each other), and only their remaining conditions are tested.
/// `ioctl`/`fcntl` allow-lists and `(level, option)` pairs cost a few
/// comparisons instead of one per rule.
fn emit_any(e: &mut Emitter, conjs: &[&[ArgCond]], t: Label, f: Label) {
    if conjs.len() > 1 {
        if let Some(arg) = switch_arg(conjs) {
            return emit_switch_on(e, arg, conjs, t, f);
        }
    }
    for (i, conj) in conjs.iter().enumerate() {
        let fail = if i + 1 == conjs.len() { f } else { e.label() };
        emit_all(e, conj, t, fail);
        if fail != f {
            e.bind(fail);
        }
    }
}

/// `t` if every condition holds, else `f`.
fn emit_all(e: &mut Emitter, conj: &[ArgCond], t: Label, f: Label) {
    let last = conj.len() - 1;
    for (i, c) in conj.iter().enumerate() {
        if i == last {
            emit_cond(e, c, t, f);
        } else {
            let next = e.label();
            emit_cond(e, c, next, f);
            e.bind(next);
        }
    }
}

fn eq32_on(c: &ArgCond, arg: u8) -> Option<u32> {
    (c.arg == arg && c.width == ArgWidth::W32 && c.op == CmpOp::Eq).then_some(c.value as u32)
}

/// An argument that every conjunction compares (32-bit) for equality; the
/// one with the most distinct constants.
fn switch_arg(conjs: &[&[ArgCond]]) -> Option<u8> {
    (0..6u8)
        .filter(|&a| {
            conjs
                .iter()
                .all(|c| c.iter().any(|c| eq32_on(c, a).is_some()))
        })
        .max_by_key(|&a| {
            let mut values: Vec<u32> = conjs
                .iter()
                .filter_map(|c| c.iter().find_map(|c| eq32_on(c, a)))
                .collect();
            values.sort_unstable();
            values.dedup();
            (values.len(), std::cmp::Reverse(a))
        })
}

fn emit_switch_on(e: &mut Emitter, arg: u8, conjs: &[&[ArgCond]], t: Label, f: Label) {
    // Constant → the other conditions of each conjunction with it; an empty
    // remainder means the constant alone decides.
    let mut groups: Vec<(u32, Vec<Vec<ArgCond>>, bool)> = Vec::new();
    for conj in conjs {
        let Some(i) = conj.iter().position(|c| eq32_on(c, arg).is_some()) else {
            continue; // not reached: every conjunction has one
        };
        let v = conj[i].value as u32;
        let rest: Vec<ArgCond> = conj
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, c)| *c)
            .collect();
        let g = match groups.iter().position(|g| g.0 == v) {
            Some(g) => g,
            None => {
                groups.push((v, Vec::new(), false));
                groups.len() - 1
            }
        };
        if rest.is_empty() {
            groups[g].2 = true;
        } else {
            groups[g].1.push(rest);
        }
    }
    groups.sort_by_key(|g| g.0);
    let keys: Vec<(u32, Label)> = groups
        .iter()
        .map(|(v, _, always)| (*v, if *always { t } else { e.label() }))
        .collect();
    e.ld(offset::arg_lo(arg));
    emit_switch(e, &keys, f);
    for ((_, rests, always), &(_, l)) in groups.iter().zip(&keys) {
        if !always {
            e.bind(l);
            let conjs: Vec<&[ArgCond]> = rests.iter().map(|r| &r[..]).collect();
            emit_any(e, &conjs, t, f);
        }
    }
}

/// Jump to the label of A's value among `keys` (sorted, distinct), `f` if
/// none: JGE halves, then a chain of at most three JEQs.
fn emit_switch(e: &mut Emitter, keys: &[(u32, Label)], f: Label) {
    if keys.len() <= 3 {
        for (i, &(v, l)) in keys.iter().enumerate() {
            if i + 1 == keys.len() {
                e.jmp(op::JEQ, v, l, f);
            } else {
                let next = e.label();
                e.jmp(op::JEQ, v, l, next);
                e.bind(next);
            }
        }
        return;
    }
    let k = keys.len() / 2;
    let (left, right) = (e.label(), e.label());
    e.jmp(op::JGE, keys[k].0, right, left);
    e.bind(left);
    emit_switch(e, &keys[..k], f);
    e.bind(right);
    emit_switch(e, &keys[k..], f);
}

// ---------------------------------------------------------------------------
// The search tree

/// A range of system call numbers from `lo` to the next range's `lo - 1`.
#[derive(Clone, Copy, Debug)]
struct Range {
    lo: u32,
    outcome: Outcome,
    weight: u32,
}

fn ranges(spec: &FilterSpec, outcomes: &[(u32, Outcome)]) -> Vec<Range> {
    let default = Outcome::Ret(spec.default_action.to_ret());
    let mut out: Vec<Range> = Vec::new();
    let mut push = |lo: u32, outcome: Outcome, weight: u32| match out.last_mut() {
        Some(last) if last.outcome == outcome => last.weight = last.weight.saturating_add(weight),
        _ => out.push(Range {
            lo,
            outcome,
            weight,
        }),
    };
    // Next number not covered yet; None once past u32::MAX.
    let mut next: Option<u32> = Some(0);
    for &(nr, outcome) in outcomes {
        if let Some(n) = next {
            if nr > n {
                push(n, default, GAP_WEIGHT);
            }
        }
        push(nr, outcome, LISTED_WEIGHT);
        next = nr.checked_add(1);
    }
    let x86 = spec.arch == Arch::X86_64;
    if let Some(n) = next {
        if !x86 || n < X32_SYSCALL_BIT {
            push(n, default, GAP_WEIGHT);
        }
    }
    if x86 {
        push(
            X32_SYSCALL_BIT,
            Outcome::Ret(spec.bad_arch_action.to_ret()),
            GAP_WEIGHT,
        );
    }
    out
}

/// Split points of the search tree over `n` leaves: `split[(i, j)]` = k
/// means the subtree of leaves `i..=j` tests `nr >= lo(k + 1)`.
struct Tree {
    n: usize,
    split: Vec<u16>,
}

impl Tree {
    fn at(&self, i: usize, j: usize) -> usize {
        self.split[i * self.n + j] as usize
    }

    fn depth(&self, i: usize, j: usize) -> u32 {
        if i == j {
            return 0;
        }
        let k = self.at(i, j);
        1 + self.depth(i, k).max(self.depth(k + 1, j))
    }

    /// Optimal alphabetic tree (Knuth's O(n²) dynamic programme): minimises
    /// the sum over leaves of weight × depth.
    fn optimal(leaves: &[Range]) -> Tree {
        let n = leaves.len();
        // Weights are u32, fewer than 2^16 leaves: no u64 overflow.
        let mut prefix = vec![0u64; n + 1];
        for (i, r) in leaves.iter().enumerate() {
            prefix[i + 1] = prefix[i] + u64::from(r.weight);
        }
        let mut cost = vec![0u64; n * n];
        let mut split = vec![0u16; n * n];
        for i in 0..n {
            split[i * n + i] = i as u16;
        }
        for len in 2..=n {
            for i in 0..=n - len {
                let j = i + len - 1;
                // Knuth: the best root lies between the neighbours' roots.
                let lo = (split[i * n + j - 1] as usize).max(i);
                let hi = (split[(i + 1) * n + j] as usize).clamp(lo, j - 1);
                let mut best = (u64::MAX, lo);
                for k in lo..=hi {
                    let c = cost[i * n + k] + cost[(k + 1) * n + j];
                    if c < best.0 {
                        best = (c, k);
                    }
                }
                cost[i * n + j] = best.0 + prefix[j + 1] - prefix[i];
                split[i * n + j] = best.1 as u16;
            }
        }
        Tree { n, split }
    }
}

/// Emit the search over leaves `i..=j` in preorder (the left subtree right
/// after its comparison); `None`: a balanced tree.
fn emit_tree(
    e: &mut Emitter,
    tree: Option<&Tree>,
    leaves: &[Range],
    leaf: &[Label],
    i: usize,
    j: usize,
) {
    if i == j {
        return e.goto(leaf[i]);
    }
    let k = tree.map_or(i + (j - i) / 2, |t| t.at(i, j));
    let left = if i == k { leaf[i] } else { e.label() };
    let right = if k + 1 == j { leaf[j] } else { e.label() };
    e.jmp(op::JGE, leaves[k + 1].lo, right, left);
    if i != k {
        e.bind(left);
        emit_tree(e, tree, leaves, leaf, i, k);
    }
    if k + 1 != j {
        e.bind(right);
        emit_tree(e, tree, leaves, leaf, k + 1, j);
    }
}

fn prologue(e: &mut Emitter, spec: &FilterSpec) {
    let bad = e.ret_label(spec.bad_arch_action.to_ret());
    let ok = e.label();
    e.ld(offset::ARCH);
    e.jmp(op::JEQ, spec.arch.audit_arch(), ok, bad);
    e.bind(ok);
}

/// Whether `nr` is rejected as x32 before any rule is looked at.
fn is_x32(spec: &FilterSpec, nr: u32) -> bool {
    spec.arch == Arch::X86_64 && nr >= X32_SYSCALL_BIT
}

/// Compile `spec` to the optimised program described in the module doc.
///
/// Errors: an argument index past 5 ([`CompileError::BadArg`]), an errno
/// of 0 or past 4095 ([`CompileError::BadErrno`]), more than 4096
/// instructions ([`CompileError::TooLong`]).
pub fn compile(spec: &FilterSpec) -> Result<Vec<SockFilter>, CompileError> {
    compile_tuned(spec, TUNING)
}

fn compile_tuned(spec: &FilterSpec, tuning: Tuning) -> Result<Vec<SockFilter>, CompileError> {
    validate(spec)?;
    let mut blocks: Vec<Block> = Vec::new();
    let mut block_ids: HashMap<Block, usize> = HashMap::new();
    let mut outcomes: Vec<(u32, Outcome)> = Vec::with_capacity(spec.syscalls.len());
    for (&nr, rules) in &spec.syscalls {
        if is_x32(spec, nr) {
            continue;
        }
        let outcome = match normalize(rules, spec.default_action) {
            Err(action) => Outcome::Ret(action.to_ret()),
            Ok(block) => {
                let id = *block_ids.entry(block.clone()).or_insert_with(|| {
                    blocks.push(block);
                    blocks.len() - 1
                });
                Outcome::Block(id)
            }
        };
        outcomes.push((nr, outcome));
    }
    let leaves = ranges(spec, &outcomes);
    // Each range but one costs a comparison.
    if leaves.len() > MAX_INSNS {
        return Err(CompileError::TooLong {
            len: leaves.len() + 3,
        });
    }
    // The optimal tree unless there are too many ranges for its quadratic
    // table or it gets too deep; a balanced tree otherwise.
    let tree = Some(&leaves)
        .filter(|l| l.len() <= tuning.max_optimal_leaves)
        .map(|l| Tree::optimal(l))
        .filter(|t| t.depth(0, leaves.len() - 1) <= tuning.max_depth);

    let mut e = Emitter::new();
    prologue(&mut e, spec);
    if leaves.len() > 1 {
        e.ld(offset::NR);
    }
    let block_labels: Vec<Label> = (0..blocks.len()).map(|_| e.label()).collect();
    let leaf: Vec<Label> = leaves
        .iter()
        .map(|r| match r.outcome {
            Outcome::Ret(v) => e.ret_label(v),
            Outcome::Block(b) => block_labels[b],
        })
        .collect();
    emit_tree(&mut e, tree.as_ref(), &leaves, &leaf, 0, leaves.len() - 1);
    for (b, block) in blocks.iter().enumerate() {
        e.bind(block_labels[b]);
        emit_block(&mut e, block);
    }
    e.finish()
}

// ---------------------------------------------------------------------------
// The linear reference

/// One condition, compiled naively (no folding, no JSET), seccompiler-style.
fn emit_cond_naive(e: &mut Emitter, c: &ArgCond, t: Label, f: Label) {
    let lo = offset::arg_lo(c.arg);
    let hi = offset::arg_hi(c.arg);
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let w64 = c.width == ArgWidth::W64;
    // For 64 bits: the high word decides unless equal.
    if w64 {
        let next = e.label();
        e.ld_always(hi);
        match c.op {
            CmpOp::Eq => e.jmp(op::JEQ, vh, next, f),
            CmpOp::Ne => e.jmp(op::JEQ, vh, next, t),
            CmpOp::MaskedEq(m) => {
                e.and((m >> 32) as u32);
                e.jmp(op::JEQ, vh, next, f);
            }
            CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
                let (g, l) = if matches!(c.op, CmpOp::Gt | CmpOp::Ge) {
                    (t, f)
                } else {
                    (f, t)
                };
                let mid = e.label();
                e.jmp(op::JGT, vh, g, mid);
                e.bind(mid);
                e.jmp(op::JEQ, vh, next, l);
            }
        }
        e.bind(next);
    }
    e.ld_always(lo);
    match c.op {
        CmpOp::Eq => e.jmp(op::JEQ, vl, t, f),
        CmpOp::Ne => e.jmp(op::JEQ, vl, f, t),
        CmpOp::MaskedEq(m) => {
            e.and(m as u32);
            e.jmp(op::JEQ, vl, t, f);
        }
        CmpOp::Gt => e.jmp(op::JGT, vl, t, f),
        CmpOp::Ge => e.jmp(op::JGE, vl, t, f),
        CmpOp::Lt => e.jmp(op::JGE, vl, f, t),
        CmpOp::Le => e.jmp(op::JGT, vl, f, t),
    }
}

/// Compile `spec` as a plain linear chain: the architecture check, the x32
/// check on x86_64, then for each system call in number order a `JEQ nr`
/// followed by its argument checks, and the default at the end; returns
/// are shared.
///
/// Same semantics as [`compile`], no optimisation but long jumps; the
/// straightforward reference encoding in tests and a peer in benchmarks.
/// (Leaner than exile.h's chain, which reloads the number and ends every
/// entry in its own `RET`; the benches model that one separately.)
pub fn compile_linear(spec: &FilterSpec) -> Result<Vec<SockFilter>, CompileError> {
    validate(spec)?;
    let mut e = Emitter::new();
    prologue(&mut e, spec);
    e.ld(offset::NR);
    let bad = e.ret_label(spec.bad_arch_action.to_ret());
    let default = e.ret_label(spec.default_action.to_ret());
    if spec.arch == Arch::X86_64 {
        let next = e.label();
        e.jmp(op::JGE, X32_SYSCALL_BIT, bad, next);
        e.bind(next);
    }
    for (&nr, rules) in &spec.syscalls {
        if is_x32(spec, nr) {
            continue;
        }
        let skip = e.label();
        e.ld(offset::NR);
        if let Some(first) = rules.first().filter(|r| r.conds.is_empty()) {
            let l = e.ret_label(first.action.to_ret());
            e.jmp(op::JEQ, nr, l, skip);
            e.bind(skip);
            continue;
        }
        let matched = e.label();
        e.jmp(op::JEQ, nr, matched, skip);
        e.bind(matched);
        let mut unconditional = false;
        for rule in rules {
            let success = e.ret_label(rule.action.to_ret());
            if rule.conds.is_empty() {
                e.goto(success);
                unconditional = true;
                break;
            }
            let fail = e.label();
            for (i, c) in rule.conds.iter().enumerate() {
                if i + 1 == rule.conds.len() {
                    emit_cond_naive(&mut e, c, success, fail);
                } else {
                    let next = e.label();
                    emit_cond_naive(&mut e, c, next, fail);
                    e.bind(next);
                }
            }
            e.bind(fail);
        }
        if !unconditional {
            e.goto(default);
        }
        e.bind(skip);
    }
    e.goto(default);
    e.finish()
}

// ---------------------------------------------------------------------------
// Measurements

/// Cost figures of a program for a spec, from the interpreter (all
/// arguments 0). "Constant" system calls are those without argument checks
/// in the spec: no entry, or a first rule without conditions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Program length.
    pub len: usize,
    /// Number of constant-allowed system calls in the spec.
    pub allowed: usize,
    /// Mean instructions executed by a constant-allowed system call.
    pub mean_allowed: f64,
    /// Most instructions executed by a constant-allowed system call.
    pub worst_allowed: usize,
    /// Mean instructions executed by a number without an entry or with a
    /// constant non-allow action, over `0..=max(MAX_NR, highest listed)`.
    pub mean_denied: f64,
    /// Most instructions executed by any constant system call, including
    /// numbers past the table and the x32 range.
    pub worst: usize,
    /// Mean instructions executed by the argument-checked system calls.
    pub mean_checked: f64,
    /// Whether every constant-allowed call's path loads only `arch` and `nr`
    /// (kernels ≥ 5.11 then skip the filter for it).
    pub allowed_paths_constant: bool,
}

/// Measure `prog` (compiled from `spec` by any compiler) with the
/// interpreter.
///
/// ```
/// use exile::seccomp::compiler::{compile, compile_linear, stats};
/// use exile::seccomp::rules::{Action, FilterSpec, Rule};
/// let mut spec = FilterSpec::new(Action::KillProcess);
/// for nr in 0..100 {
///     spec.add(nr, Rule::allow());
/// }
/// let ours = stats(&compile(&spec)?, &spec)?;
/// let linear = stats(&compile_linear(&spec)?, &spec)?;
/// assert!(ours.mean_allowed < linear.mean_allowed);
/// assert!(ours.allowed_paths_constant);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn stats(prog: &[SockFilter], spec: &FilterSpec) -> Result<Stats, bpf::EvalError> {
    let program = bpf::Program::new(prog)?;
    let arch = spec.arch.audit_arch();
    let listed_max = spec
        .syscalls
        .keys()
        .copied()
        .filter(|&nr| !is_x32(spec, nr))
        .max()
        .unwrap_or(0);
    let upper = super::syscalls::MAX_NR.max(listed_max).min(u32::MAX - 1);
    let mut s = Stats {
        len: prog.len(),
        allowed: 0,
        mean_allowed: 0.0,
        worst_allowed: 0,
        mean_denied: 0.0,
        worst: 0,
        mean_checked: 0.0,
        allowed_paths_constant: true,
    };
    let (mut sum_allowed, mut sum_denied, mut denied, mut sum_checked, mut checked) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let extra = [upper + 1, 0x3fff_ffff, X32_SYSCALL_BIT, u32::MAX];
    for nr in (0..=upper).chain(extra) {
        let v = program.run(&bpf::SeccompData::new(arch, nr, [0; 6]));
        let rules = spec.syscalls.get(&nr).filter(|_| !is_x32(spec, nr));
        let is_checked = rules
            .and_then(|r| r.first())
            .is_some_and(|r| !r.conds.is_empty());
        if is_checked {
            sum_checked += v.executed;
            checked += 1;
            continue;
        }
        s.worst = s.worst.max(v.executed);
        if nr > upper {
            continue;
        }
        if v.ret == Action::Allow.to_ret() {
            s.allowed += 1;
            sum_allowed += v.executed;
            s.worst_allowed = s.worst_allowed.max(v.executed);
            s.allowed_paths_constant &= v.loaded_only_nr_arch();
        } else {
            denied += 1;
            sum_denied += v.executed;
        }
    }
    let mean = |sum: usize, n: usize| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
    s.mean_allowed = mean(sum_allowed, s.allowed);
    s.mean_denied = mean(sum_denied, denied);
    s.mean_checked = mean(sum_checked, checked);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::bpf::{run, SeccompData};
    use crate::seccomp::rules::ret;

    fn check_all(spec: &FilterSpec, prog: &[SockFilter], args: &[[u64; 6]]) {
        let arch = spec.arch.audit_arch();
        let mut nrs: Vec<u32> = spec.syscalls.keys().copied().collect();
        nrs.extend([
            0,
            1,
            500,
            0x3fff_ffff,
            X32_SYSCALL_BIT,
            X32_SYSCALL_BIT + 1,
            u32::MAX,
        ]);
        for &nr in &nrs {
            for a in args {
                for ar in [arch, 0x4000_0003, 0xc000_00b7, 0xc000_003e] {
                    let got = run(prog, &SeccompData::new(ar, nr, *a)).unwrap();
                    assert_eq!(
                        Action::from_ret(got.ret),
                        Some(spec.evaluate(ar, nr, a)),
                        "nr {nr} arch {ar:#x} args {a:x?}\n{}",
                        bpf::disassemble(prog)
                    );
                }
            }
        }
    }

    #[test]
    fn empty_spec() {
        let spec = FilterSpec::new(Action::Errno(1));
        let prog = compile(&spec).unwrap();
        check_all(&spec, &prog, &[[0; 6]]);
        check_all(&spec, &compile_linear(&spec).unwrap(), &[[0; 6]]);
        let mut spec = spec;
        spec.arch = Arch::Aarch64;
        let prog = compile(&spec).unwrap();
        check_all(&spec, &prog, &[[0; 6]]);
        assert_eq!(prog.len(), 4, "{}", bpf::disassemble(&prog));
    }

    #[test]
    fn errors() {
        let mut spec = FilterSpec::new(Action::Errno(0));
        assert!(matches!(
            compile(&spec),
            Err(CompileError::BadErrno { errno: 0, .. })
        ));
        spec.default_action = Action::KillProcess;
        spec.add(3, Rule::always(Action::Errno(4096)));
        let err = compile(&spec).unwrap_err();
        assert_eq!(
            err,
            CompileError::BadErrno {
                errno: 4096,
                place: "a rule of system call 3".into()
            }
        );
        assert!(err.to_string().contains("1 to 4095"), "{err}");
        let mut spec = FilterSpec::new(Action::KillProcess);
        spec.add(7, Rule::new(Action::Allow, vec![ArgCond::eq(6, 1)]));
        assert_eq!(compile(&spec), Err(CompileError::BadArg { nr: 7, arg: 6 }));
        assert_eq!(
            compile_linear(&spec),
            Err(CompileError::BadArg { nr: 7, arg: 6 })
        );
    }

    #[test]
    fn constant_calls_are_leaves() {
        let mut spec = FilterSpec::new(Action::KillProcess);
        for nr in [0, 1, 2, 3, 60, 231] {
            spec.add(nr, Rule::allow());
        }
        spec.add(9, Rule::new(Action::Allow, vec![ArgCond::eq(2, 3)]));
        let prog = compile(&spec).unwrap();
        check_all(&spec, &prog, &[[0; 6], [0, 0, 3, 0, 0, 0]]);
        let arch = spec.arch.audit_arch();
        for nr in [0, 1, 2, 3, 60, 231] {
            let v = run(&prog, &SeccompData::new(arch, nr, [0; 6])).unwrap();
            assert_eq!(v.ret, ret::ALLOW);
            assert!(v.loaded_only_nr_arch());
        }
    }

    #[test]
    fn folding() {
        let mut spec = FilterSpec::new(Action::KillProcess);
        // Never: Lt 0 → the rule is dead, the call constant.
        spec.add(
            1,
            Rule::new(
                Action::Allow,
                vec![ArgCond::new(0, ArgWidth::W64, CmpOp::Lt, 0)],
            ),
        );
        // Always: Ge 0 → unconditional allow.
        spec.add(
            2,
            Rule::new(
                Action::Allow,
                vec![ArgCond::new(0, ArgWidth::W32, CmpOp::Ge, 0)],
            ),
        );
        // A rule with the default's action at the end is dropped.
        spec.add(3, Rule::new(Action::KillProcess, vec![ArgCond::eq(0, 1)]));
        let prog = compile(&spec).unwrap();
        check_all(&spec, &prog, &[[0; 6], [1; 6]]);
        assert!(!prog
            .iter()
            .any(|i| i.code == op::LD | op::W | op::ABS && i.k >= 16));
    }

    #[test]
    fn tree_fallbacks_keep_semantics() {
        let mut spec = FilterSpec::new(Action::Errno(1));
        spec.arch = Arch::Aarch64;
        for nr in (0..600).step_by(3) {
            spec.add(nr, Rule::allow());
            spec.add(
                nr + 1,
                Rule::new(Action::Allow, vec![ArgCond::eq(0, u64::from(nr))]),
            );
        }
        let args = [[0; 6], [3; 6], [999; 6]];
        for tuning in [
            TUNING,
            // Too deep: balanced.
            Tuning {
                max_depth: 2,
                ..TUNING
            },
            // Too many ranges: balanced.
            Tuning {
                max_optimal_leaves: 10,
                ..TUNING
            },
        ] {
            let prog = compile_tuned(&spec, tuning).unwrap();
            check_all(&spec, &prog, &args);
            for nr in 0..610 {
                for a in &args {
                    let v = run(&prog, &SeccompData::new(spec.arch.audit_arch(), nr, *a)).unwrap();
                    assert_eq!(
                        Action::from_ret(v.ret),
                        Some(spec.evaluate(spec.arch.audit_arch(), nr, a))
                    );
                }
            }
        }
        // More ranges than instructions: an error, not a huge allocation.
        let mut spec = FilterSpec::new(Action::Errno(1));
        for nr in (0..10_000).step_by(2) {
            spec.add(nr, Rule::allow());
        }
        assert!(matches!(compile(&spec), Err(CompileError::TooLong { .. })));
    }

    #[test]
    fn equality_lists_are_searched() {
        let mut spec = FilterSpec::new(Action::KillProcess);
        // An allow-list of 16 commands, and 24 (level, option) pairs.
        for cmd in 0..16u64 {
            spec.add(16, Rule::new(Action::Allow, vec![ArgCond::eq(1, cmd * 7)]));
        }
        for level in [0u64, 1, 6, 41] {
            for opt in 1..7u64 {
                let conds = vec![ArgCond::eq(2, opt * level + 1), ArgCond::eq(1, level)];
                spec.add(54, Rule::new(Action::Allow, conds));
            }
        }
        // Same-action runs are searched; a different action splits them.
        spec.add(16, Rule::new(Action::Errno(5), vec![ArgCond::eq(1, 500)]));
        spec.add(16, Rule::new(Action::Allow, vec![ArgCond::eq(1, 501)]));
        let prog = compile(&spec).unwrap();
        let mut values: Vec<u64> = (0..600).collect();
        values.extend([1 << 32, 1 << 32 | 7, u64::MAX]);
        let arch = spec.arch.audit_arch();
        let mut worst = 0;
        for nr in [16, 54] {
            for &a1 in &values {
                for a2 in [0, 1, 2, 7, 13, 37, 42, 247] {
                    let args = [0, a1, a2, 0, 0, 0];
                    let v = run(&prog, &SeccompData::new(arch, nr, args)).unwrap();
                    assert_eq!(
                        Action::from_ret(v.ret),
                        Some(spec.evaluate(arch, nr, &args)),
                        "nr {nr} {args:?}"
                    );
                    worst = worst.max(v.executed);
                }
            }
        }
        // A linear chain needs 16 (ioctl) and 48 (setsockopt) comparisons.
        assert!(worst <= 16, "{worst}\n{}", bpf::disassemble(&prog));
    }

    #[test]
    fn shared_blocks() {
        let mut spec = FilterSpec::new(Action::KillProcess);
        for nr in [10, 11, 12, 40] {
            spec.add(nr, Rule::new(Action::Allow, vec![ArgCond::eq(0, 1)]));
        }
        let prog = compile(&spec).unwrap();
        check_all(&spec, &prog, &[[0; 6], [1; 6]]);
        let loads = prog
            .iter()
            .filter(|i| i.k == offset::arg_lo(0) && i.code == 0x20);
        assert_eq!(loads.count(), 1, "{}", bpf::disassemble(&prog));
    }
}
