//! Classic BPF as seccomp uses it: the instruction format, a validator that
//! accepts exactly what the kernel accepts, an interpreter that counts the
//! instructions it executes, and a disassembler.
//!
//! The interpreter is the test oracle of the compiler and the instrument of
//! the benchmarks: [`run`] returns the filter's return value, the number of
//! instructions executed and which words of [`SeccompData`] were loaded.
//!
//! ```
//! use exile::seccomp::bpf::{self, op, SeccompData, SockFilter};
//! use exile::seccomp::rules::ret;
//!
//! // Allow system call 39, fail everything else with EPERM.
//! let prog = [
//!     SockFilter::stmt(op::LD | op::W | op::ABS, bpf::offset::NR),
//!     SockFilter::jump(op::JMP | op::JEQ | op::K, 39, 0, 1),
//!     SockFilter::stmt(op::RET | op::K, ret::ALLOW),
//!     SockFilter::stmt(op::RET | op::K, ret::ERRNO | 1),
//! ];
//! let verdict = bpf::run(&prog, &SeccompData::new(0, 39, [0; 6]))?;
//! assert_eq!((verdict.ret, verdict.executed), (ret::ALLOW, 3));
//! assert_eq!(bpf::run(&prog, &SeccompData::new(0, 40, [0; 6]))?.ret, ret::ERRNO | 1);
//! # Ok::<(), bpf::EvalError>(())
//! ```

use std::fmt::Write as _;

use super::rules::{ret, Action, AUDIT_ARCH_I386};

/// Classic BPF opcode parts (`linux/bpf_common.h`, `linux/filter.h`).
///
/// An opcode is the OR of a class, and for loads a size and a mode, for
/// ALU and jumps an operation and a source.
pub mod op {
    /// Class: load into A.
    pub const LD: u16 = 0x00;
    /// Class: load into X.
    pub const LDX: u16 = 0x01;
    /// Class: store A into scratch memory.
    pub const ST: u16 = 0x02;
    /// Class: store X into scratch memory.
    pub const STX: u16 = 0x03;
    /// Class: arithmetic and logic on A.
    pub const ALU: u16 = 0x04;
    /// Class: jumps.
    pub const JMP: u16 = 0x05;
    /// Class: return.
    pub const RET: u16 = 0x06;
    /// Class: register transfers.
    pub const MISC: u16 = 0x07;

    /// Size: 32-bit word.
    pub const W: u16 = 0x00;
    /// Size: 16-bit half word (not accepted by seccomp).
    pub const H: u16 = 0x08;
    /// Size: byte (not accepted by seccomp).
    pub const B: u16 = 0x10;

    /// Mode: immediate `k`.
    pub const IMM: u16 = 0x00;
    /// Mode: absolute offset `k` into the data (`seccomp_data`).
    pub const ABS: u16 = 0x20;
    /// Mode: indirect offset X + `k` (not accepted by seccomp).
    pub const IND: u16 = 0x40;
    /// Mode: scratch memory word `M[k]`.
    pub const MEM: u16 = 0x60;
    /// Mode: length of the data (`sizeof(struct seccomp_data)`).
    pub const LEN: u16 = 0x80;
    /// Mode: IP header length trick (not accepted by seccomp).
    pub const MSH: u16 = 0xa0;

    /// ALU: A + src.
    pub const ADD: u16 = 0x00;
    /// ALU: A - src.
    pub const SUB: u16 = 0x10;
    /// ALU: A * src.
    pub const MUL: u16 = 0x20;
    /// ALU: A / src.
    pub const DIV: u16 = 0x30;
    /// ALU: A | src.
    pub const OR: u16 = 0x40;
    /// ALU: A & src.
    pub const AND: u16 = 0x50;
    /// ALU: A << src.
    pub const LSH: u16 = 0x60;
    /// ALU: A >> src.
    pub const RSH: u16 = 0x70;
    /// ALU: -A.
    pub const NEG: u16 = 0x80;
    /// ALU: A % src (not accepted by seccomp).
    pub const MOD: u16 = 0x90;
    /// ALU: A ^ src.
    pub const XOR: u16 = 0xa0;

    /// Jump: always, by `k`.
    pub const JA: u16 = 0x00;
    /// Jump: A == src.
    pub const JEQ: u16 = 0x10;
    /// Jump: A > src (unsigned).
    pub const JGT: u16 = 0x20;
    /// Jump: A >= src (unsigned).
    pub const JGE: u16 = 0x30;
    /// Jump: A & src != 0.
    pub const JSET: u16 = 0x40;

    /// Source: the constant `k`.
    pub const K: u16 = 0x00;
    /// Source: register X.
    pub const X: u16 = 0x08;
    /// Return source: register A.
    pub const A: u16 = 0x10;

    /// MISC: X = A.
    pub const TAX: u16 = 0x00;
    /// MISC: A = X.
    pub const TXA: u16 = 0x80;
}

/// Offsets of the words of `struct seccomp_data` (for `LD W ABS`).
///
/// The 64-bit fields are little-endian on every architecture this crate
/// targets (x86_64, aarch64): the low word comes first.
pub mod offset {
    /// The system call number.
    pub const NR: u32 = 0;
    /// The `AUDIT_ARCH_*` value.
    pub const ARCH: u32 = 4;
    /// Low word of the instruction pointer.
    pub const IP_LO: u32 = 8;
    /// High word of the instruction pointer.
    pub const IP_HI: u32 = 12;
    /// Start of `args[0]`.
    pub const ARGS: u32 = 16;

    /// Offset of the low 32 bits of argument `i` (0..=5).
    pub const fn arg_lo(i: u8) -> u32 {
        ARGS + 8 * i as u32
    }

    /// Offset of the high 32 bits of argument `i` (0..=5).
    pub const fn arg_hi(i: u8) -> u32 {
        arg_lo(i) + 4
    }
}

/// `sizeof(struct seccomp_data)`: what `LD W LEN` loads.
pub const SECCOMP_DATA_SIZE: u32 = 64;
/// The longest program the kernel accepts (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;
/// Number of scratch memory words (`BPF_MEMWORDS`).
pub const MEM_WORDS: u32 = 16;

/// One classic BPF instruction, layout-identical to the kernel's
/// `struct sock_filter` (and to `libc::sock_filter`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SockFilter {
    /// Opcode (see [`op`]).
    pub code: u16,
    /// Jump offset when the condition holds (relative to the next instruction).
    pub jt: u8,
    /// Jump offset when the condition does not hold.
    pub jf: u8,
    /// The constant operand.
    pub k: u32,
}

impl SockFilter {
    /// A non-jump instruction (`BPF_STMT`).
    pub const fn stmt(code: u16, k: u32) -> SockFilter {
        SockFilter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// A jump instruction (`BPF_JUMP`).
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
        SockFilter { code, jt, jf, k }
    }

    /// `ld [offset]`: load a word of `seccomp_data` into A.
    pub const fn load(offset: u32) -> SockFilter {
        SockFilter::stmt(op::LD | op::W | op::ABS, offset)
    }

    /// `ret #value`: return a constant.
    pub const fn ret(value: u32) -> SockFilter {
        SockFilter::stmt(op::RET | op::K, value)
    }

    /// `ja +offset`: unconditional jump.
    pub const fn ja(offset: u32) -> SockFilter {
        SockFilter::stmt(op::JMP | op::JA, offset)
    }
}

/// The data a seccomp filter examines, layout-identical to the kernel's
/// `struct seccomp_data` (64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SeccompData {
    /// System call number.
    pub nr: u32,
    /// `AUDIT_ARCH_*` of the calling convention.
    pub arch: u32,
    /// Address of the system call instruction.
    pub instruction_pointer: u64,
    /// The six arguments, as 64-bit registers.
    pub args: [u64; 6],
}

impl SeccompData {
    /// Data for a call; the instruction pointer is 0.
    pub const fn new(arch: u32, nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch,
            instruction_pointer: 0,
            args,
        }
    }

    /// The 32-bit word at byte `offset` (aligned, < 64), in the machine's
    /// byte order as the kernel's `LD W ABS` reads it; `None` otherwise.
    pub fn word(&self, offset: u32) -> Option<u32> {
        if offset % 4 != 0 || offset >= SECCOMP_DATA_SIZE {
            return None;
        }
        let half = |v: u64, high: bool| -> u32 {
            let bytes = v.to_ne_bytes();
            let part = if high { &bytes[4..] } else { &bytes[..4] };
            u32::from_ne_bytes([part[0], part[1], part[2], part[3]])
        };
        Some(match offset {
            0 => self.nr,
            4 => self.arch,
            8 | 12 => half(self.instruction_pointer, offset == 12),
            _ => {
                let i = ((offset - 16) / 8) as usize;
                half(self.args[i], offset % 8 == 4)
            }
        })
    }
}

/// Why a program would be refused by the kernel (`EINVAL` from
/// `seccomp(SECCOMP_SET_MODE_FILTER)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The program has no instruction.
    #[error("the BPF program is empty")]
    Empty,
    /// More than [`MAX_INSNS`] instructions.
    #[error("the BPF program has {len} instructions; the kernel accepts at most 4096")]
    TooLong {
        /// The program's length.
        len: usize,
    },
    /// An opcode seccomp does not accept (e.g. `BPF_MOD`, byte loads, `LD IND`).
    #[error("instruction {pc}: opcode {code:#06x} is not accepted by seccomp")]
    BadOpcode {
        /// Index of the instruction.
        pc: usize,
        /// Its opcode.
        code: u16,
    },
    /// A jump whose target is past the last instruction.
    #[error("instruction {pc}: jump target out of the program")]
    JumpOutOfRange {
        /// Index of the jump.
        pc: usize,
    },
    /// The last instruction is not a `RET`.
    #[error("the BPF program does not end with a RET instruction")]
    NoFinalRet,
    /// `LD W ABS` of an unaligned offset or one past `seccomp_data`.
    #[error(
        "instruction {pc}: load of offset {k}, which is unaligned or past seccomp_data (64 bytes)"
    )]
    BadLoadOffset {
        /// Index of the load.
        pc: usize,
        /// The offset.
        k: u32,
    },
    /// Division by the constant 0.
    #[error("instruction {pc}: division by the constant zero")]
    DivisionByZero {
        /// Index of the division.
        pc: usize,
    },
    /// A shift by a constant of 32 or more.
    #[error("instruction {pc}: shift by {k} (at most 31)")]
    BadShift {
        /// Index of the shift.
        pc: usize,
        /// The shift count.
        k: u32,
    },
    /// Scratch memory index past `M[15]`.
    #[error("instruction {pc}: scratch memory word {k} does not exist (M[0..16])")]
    BadMemSlot {
        /// Index of the instruction.
        pc: usize,
        /// The slot.
        k: u32,
    },
    /// A load of a scratch word not stored on every path before it.
    #[error("instruction {pc}: scratch memory word {k} may be read before it is written")]
    UninitializedMem {
        /// Index of the load.
        pc: usize,
        /// The slot.
        k: u32,
    },
}

/// The outcome of running a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The returned value (`SECCOMP_RET_*` action | data).
    pub ret: u32,
    /// Instructions executed, the final `RET` included.
    pub executed: usize,
    /// Which words of `seccomp_data` were loaded by `LD W ABS`: bit `i` for
    /// byte offset `4 * i` (bit 0: `nr`, bit 1: `arch`, bits 2-3: the
    /// instruction pointer, bits 4.. the arguments).
    pub loaded: u16,
}

impl Verdict {
    /// The returned value as an [`Action`], if it is one of ours.
    pub const fn action(&self) -> Option<Action> {
        Action::from_ret(self.ret)
    }

    /// Whether the path loaded nothing but `nr` and `arch` — what the
    /// kernel (≥ 5.11) requires to treat a call as constant-action.
    pub const fn loaded_only_nr_arch(&self) -> bool {
        self.loaded & !0b11 == 0
    }
}

const fn class(code: u16) -> u16 {
    code & 0x07
}

/// Whether seccomp accepts this opcode at all (`seccomp_check_filter`
/// after `bpf_check_classic`).
const fn opcode_allowed(code: u16) -> bool {
    use op::*;
    matches!(
        code,
        0x20 /* LD|W|ABS */
            | 0x80 /* LD|W|LEN */
            | 0x81 /* LDX|W|LEN */
            | 0x00 /* LD|IMM */
            | 0x01 /* LDX|IMM */
            | 0x60 /* LD|MEM */
            | 0x61 /* LDX|MEM */
            | 0x02 /* ST */
            | 0x03 /* STX */
            | 0x06 /* RET|K */
            | 0x16 /* RET|A */
            | 0x07 /* MISC|TAX */
            | 0x87 /* MISC|TXA */
            | 0x84 /* ALU|NEG */
            | 0x05 /* JMP|JA */
    ) || (class(code) == ALU
        && matches!(
            code & 0xf0,
            ADD | SUB | MUL | DIV | AND | OR | XOR | LSH | RSH
        )
        && code & !0xf8 == ALU)
        || (class(code) == JMP
            && matches!(code & 0xf0, JEQ | JGT | JGE | JSET)
            && code & !0xf8 == JMP)
}

const fn is_cond_jump(code: u16) -> bool {
    class(code) == op::JMP && code & 0xf0 != op::JA
}

/// Check a program the way the kernel does before accepting it as a seccomp
/// filter (`bpf_check_classic`, `check_load_and_stores`,
/// `seccomp_check_filter`).
///
/// ```
/// use exile::seccomp::bpf::{validate, EvalError, SockFilter};
/// assert_eq!(validate(&[]), Err(EvalError::Empty));
/// assert_eq!(validate(&[SockFilter::load(0)]), Err(EvalError::NoFinalRet));
/// assert_eq!(validate(&[SockFilter::ret(0x7fff_0000)]), Ok(()));
/// ```
pub fn validate(prog: &[SockFilter]) -> Result<(), EvalError> {
    let len = prog.len();
    if len == 0 {
        return Err(EvalError::Empty);
    }
    if len > MAX_INSNS {
        return Err(EvalError::TooLong { len });
    }
    for (pc, ins) in prog.iter().enumerate() {
        let code = ins.code;
        if !opcode_allowed(code) {
            return Err(EvalError::BadOpcode { pc, code });
        }
        let remaining = len - pc - 1;
        match code {
            c if c == op::ALU | op::DIV | op::K && ins.k == 0 => {
                return Err(EvalError::DivisionByZero { pc })
            }
            c if (c == op::ALU | op::LSH | op::K || c == op::ALU | op::RSH | op::K)
                && ins.k >= 32 =>
            {
                return Err(EvalError::BadShift { pc, k: ins.k })
            }
            c if (c == op::LD | op::MEM
                || c == op::LDX | op::MEM
                || c == op::ST
                || c == op::STX)
                && ins.k >= MEM_WORDS =>
            {
                return Err(EvalError::BadMemSlot { pc, k: ins.k })
            }
            c if c == op::JMP | op::JA && ins.k as usize >= remaining => {
                return Err(EvalError::JumpOutOfRange { pc })
            }
            c if is_cond_jump(c)
                && (usize::from(ins.jt) >= remaining || usize::from(ins.jf) >= remaining) =>
            {
                return Err(EvalError::JumpOutOfRange { pc })
            }
            c if c == op::LD | op::W | op::ABS
                && (ins.k >= SECCOMP_DATA_SIZE || ins.k % 4 != 0) =>
            {
                return Err(EvalError::BadLoadOffset { pc, k: ins.k })
            }
            _ => {}
        }
    }
    let last = prog[len - 1].code;
    if last != op::RET | op::K && last != op::RET | op::A {
        return Err(EvalError::NoFinalRet);
    }
    check_load_and_stores(prog)
}

/// The kernel's `check_load_and_stores`: every `M[k]` read must follow a
/// write on every path. Reproduces the kernel's data flow exactly (a RET
/// does not reset the set of valid words for the next instruction).
fn check_load_and_stores(prog: &[SockFilter]) -> Result<(), EvalError> {
    if !prog
        .iter()
        .any(|i| i.code == op::LD | op::MEM || i.code == op::LDX | op::MEM)
    {
        return Ok(());
    }
    let mut masks = vec![u16::MAX; prog.len()];
    let mut valid: u16 = 0;
    for (pc, ins) in prog.iter().enumerate() {
        valid &= masks[pc];
        let code = ins.code;
        if code == op::ST || code == op::STX {
            valid |= 1 << ins.k;
        } else if code == op::LD | op::MEM || code == op::LDX | op::MEM {
            if valid & (1 << ins.k) == 0 {
                return Err(EvalError::UninitializedMem { pc, k: ins.k });
            }
        } else if code == op::JMP | op::JA {
            masks[pc + 1 + ins.k as usize] &= valid;
            valid = u16::MAX;
        } else if is_cond_jump(code) {
            masks[pc + 1 + usize::from(ins.jt)] &= valid;
            masks[pc + 1 + usize::from(ins.jf)] &= valid;
            valid = u16::MAX;
        }
    }
    Ok(())
}

/// A program that passed [`validate`]: it can be run any number of times
/// without checking it again (what benchmarks want).
#[derive(Clone, Copy, Debug)]
pub struct Program<'a> {
    insns: &'a [SockFilter],
}

impl<'a> Program<'a> {
    /// Validate `prog`.
    pub fn new(prog: &'a [SockFilter]) -> Result<Program<'a>, EvalError> {
        validate(prog)?;
        Ok(Program { insns: prog })
    }

    /// The instructions.
    pub fn insns(&self) -> &'a [SockFilter] {
        self.insns
    }

    /// Run the program on `data`.
    ///
    /// Semantics follow the kernel's translation of classic BPF: A and X
    /// start at 0; arithmetic is 32-bit and wraps; a shift by X uses the low
    /// 5 bits of X; a division by X = 0 ends the program returning 0
    /// (`SECCOMP_RET_KILL_THREAD`).
    pub fn run(&self, data: &SeccompData) -> Verdict {
        let prog = self.insns;
        let (mut a, mut x) = (0u32, 0u32);
        let mut mem = [0u32; MEM_WORDS as usize];
        let mut pc = 0usize;
        let mut executed = 0usize;
        let mut loaded = 0u16;
        loop {
            // `validate` guarantees every jump stays inside the program and
            // the last instruction returns, so `pc` is always in range.
            let ins = prog[pc];
            executed += 1;
            pc += 1;
            let k = ins.k;
            match class(ins.code) {
                op::LD | op::LDX => {
                    let value = match ins.code & 0xe0 {
                        op::ABS => {
                            loaded |= 1 << (k / 4);
                            data.word(k).unwrap_or(0)
                        }
                        op::LEN => SECCOMP_DATA_SIZE,
                        op::MEM => mem[k as usize],
                        _ => k,
                    };
                    if class(ins.code) == op::LD {
                        a = value;
                    } else {
                        x = value;
                    }
                }
                op::ST => mem[k as usize] = a,
                op::STX => mem[k as usize] = x,
                op::ALU => {
                    let src = if ins.code & op::X != 0 { x } else { k };
                    a = match ins.code & 0xf0 {
                        op::ADD => a.wrapping_add(src),
                        op::SUB => a.wrapping_sub(src),
                        op::MUL => a.wrapping_mul(src),
                        op::DIV => match a.checked_div(src) {
                            Some(q) => q,
                            None => {
                                return Verdict {
                                    ret: 0,
                                    executed,
                                    loaded,
                                }
                            }
                        },
                        op::AND => a & src,
                        op::OR => a | src,
                        op::XOR => a ^ src,
                        op::LSH => a.wrapping_shl(src),
                        op::RSH => a.wrapping_shr(src),
                        _ => a.wrapping_neg(), // NEG
                    };
                }
                op::JMP => {
                    let op_ = ins.code & 0xf0;
                    if op_ == op::JA {
                        pc += k as usize;
                    } else {
                        let src = if ins.code & op::X != 0 { x } else { k };
                        let taken = match op_ {
                            op::JEQ => a == src,
                            op::JGT => a > src,
                            op::JGE => a >= src,
                            _ => a & src != 0, // JSET
                        };
                        pc += usize::from(if taken { ins.jt } else { ins.jf });
                    }
                }
                op::RET => {
                    let ret = if ins.code & op::A != 0 { a } else { k };
                    return Verdict {
                        ret,
                        executed,
                        loaded,
                    };
                }
                _ => {
                    // MISC
                    if ins.code & op::TXA != 0 {
                        a = x;
                    } else {
                        x = a;
                    }
                }
            }
        }
    }
}

/// Validate `prog` like the kernel, then run it on `data`.
///
/// See [`Program::run`] for the semantics; use [`Program`] to validate once
/// and run many times.
pub fn run(prog: &[SockFilter], data: &SeccompData) -> Result<Verdict, EvalError> {
    Ok(Program::new(prog)?.run(data))
}

/// What the accumulator is known to hold before an instruction (used to
/// print constants symbolically).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holds {
    Nr,
    Arch,
    Other,
}

fn holds_before(prog: &[SockFilter]) -> Vec<Option<Holds>> {
    // Forward data flow (jumps only go forward): None = not reached yet.
    let mut state: Vec<Option<Holds>> = vec![None; prog.len() + 1];
    let merge = |slot: &mut Option<Holds>, h: Holds| {
        *slot = Some(match *slot {
            None => h,
            Some(old) if old == h => h,
            Some(_) => Holds::Other,
        });
    };
    if !prog.is_empty() {
        state[0] = Some(Holds::Other);
    }
    for (pc, ins) in prog.iter().enumerate() {
        let Some(cur) = state[pc] else { continue };
        let code = ins.code;
        let after = match class(code) {
            op::LD if code == op::LD | op::W | op::ABS => match ins.k {
                offset::NR => Holds::Nr,
                offset::ARCH => Holds::Arch,
                _ => Holds::Other,
            },
            op::LD | op::ALU => Holds::Other,
            op::MISC if code & op::TXA != 0 => Holds::Other,
            _ => cur,
        };
        let mut go = |target: usize| {
            if let Some(slot) = state.get_mut(target) {
                merge(slot, after);
            }
        };
        match class(code) {
            op::RET => {}
            op::JMP if code & 0xf0 == op::JA => go(pc + 1 + ins.k as usize),
            op::JMP => {
                go(pc + 1 + usize::from(ins.jt));
                go(pc + 1 + usize::from(ins.jf));
            }
            _ => go(pc + 1),
        }
    }
    state.truncate(prog.len());
    state
}

/// Symbolic name of a `seccomp_data` offset.
fn field_name(k: u32) -> String {
    match k {
        offset::NR => "nr".into(),
        offset::ARCH => "arch".into(),
        offset::IP_LO => "ip_lo".into(),
        offset::IP_HI => "ip_hi".into(),
        16..=63 if k % 4 == 0 => format!(
            "arg{}_{}",
            (k - 16) / 8,
            if k % 8 == 0 { "lo" } else { "hi" }
        ),
        _ => format!("{k:#x}"),
    }
}

/// Symbolic form of a return value (`ALLOW`, `ERRNO(13)`, …).
pub fn ret_name(value: u32) -> String {
    let data = value & ret::DATA;
    match value & ret::ACTION_FULL {
        ret::KILL_PROCESS => "KILL_PROCESS".into(),
        ret::KILL_THREAD => "KILL_THREAD".into(),
        ret::TRAP => format!("TRAP({data})"),
        ret::ERRNO => format!("ERRNO({data})"),
        ret::USER_NOTIF => "USER_NOTIF".into(),
        ret::TRACE => format!("TRACE({data})"),
        ret::LOG => "LOG".into(),
        ret::ALLOW => "ALLOW".into(),
        _ => format!("{value:#010x}"),
    }
}

fn arch_name(k: u32) -> Option<&'static str> {
    match k {
        0xc000_003e => Some("AUDIT_ARCH_X86_64"),
        0xc000_00b7 => Some("AUDIT_ARCH_AARCH64"),
        AUDIT_ARCH_I386 => Some("AUDIT_ARCH_I386"),
        _ => None,
    }
}

/// A readable listing: one instruction per line with its index, mnemonic,
/// `seccomp_data` fields by name, `SECCOMP_RET_*` values by name, constants
/// compared with `nr` as numbers with the native system call name, and
/// absolute jump targets. Stable output, meant for snapshot tests.
///
/// ```
/// use exile::seccomp::bpf::{disassemble, op, SockFilter};
/// let text = disassemble(&[
///     SockFilter::load(4),
///     SockFilter::jump(op::JMP | op::JEQ | op::K, 0xc000_003e, 1, 0),
///     SockFilter::ret(0x8000_0000),
///     SockFilter::ret(0x7fff_0000),
/// ]);
/// assert_eq!(
///     text,
///     "   0: ld   [arch]\n   1: jeq  #AUDIT_ARCH_X86_64  jt 3  jf 2\n   2: ret  KILL_PROCESS\n   3: ret  ALLOW\n"
/// );
/// ```
pub fn disassemble(prog: &[SockFilter]) -> String {
    let holds = holds_before(prog);
    let mut out = String::new();
    for (pc, ins) in prog.iter().enumerate() {
        let k = ins.k;
        let code = ins.code;
        let text = match class(code) {
            op::LD | op::LDX => {
                let m = if class(code) == op::LD {
                    "ld  "
                } else {
                    "ldx "
                };
                match code & 0xe0 {
                    op::ABS if code & 0x18 == op::W => format!("{m} [{}]", field_name(k)),
                    op::LEN => format!("{m} #len"),
                    op::MEM => format!("{m} M[{k}]"),
                    op::IMM if code & 0x18 == op::W => format!("{m} #{k:#x}"),
                    _ => format!(".word {code:#06x} {} {} {k:#x}", ins.jt, ins.jf),
                }
            }
            op::ST => format!("st   M[{k}]"),
            op::STX => format!("stx  M[{k}]"),
            op::ALU => {
                let name = match code & 0xf0 {
                    op::ADD => "add",
                    op::SUB => "sub",
                    op::MUL => "mul",
                    op::DIV => "div",
                    op::OR => "or",
                    op::AND => "and",
                    op::LSH => "lsh",
                    op::RSH => "rsh",
                    op::NEG => "neg",
                    op::MOD => "mod",
                    op::XOR => "xor",
                    _ => "alu?",
                };
                if code & 0xf0 == op::NEG {
                    "neg".to_string()
                } else if code & op::X != 0 {
                    format!("{name:<4} x")
                } else {
                    format!("{name:<4} #{k:#x}")
                }
            }
            op::JMP => {
                let next = pc + 1;
                if code & 0xf0 == op::JA {
                    format!("ja   {}", next + k as usize)
                } else {
                    let name = match code & 0xf0 {
                        op::JEQ => "jeq",
                        op::JGT => "jgt",
                        op::JGE => "jge",
                        op::JSET => "jset",
                        _ => "j?",
                    };
                    let operand = if code & op::X != 0 {
                        "x".to_string()
                    } else {
                        match holds[pc] {
                            Some(Holds::Arch) => {
                                arch_name(k).map_or_else(|| format!("#{k:#x}"), |n| format!("#{n}"))
                            }
                            Some(Holds::Nr) => match super::syscalls::name(k) {
                                Some(n) => format!("#{k} ({n})"),
                                None => format!("#{k:#x}"),
                            },
                            _ => format!("#{k:#x}"),
                        }
                    };
                    format!(
                        "{name:<4} {operand}  jt {}  jf {}",
                        next + usize::from(ins.jt),
                        next + usize::from(ins.jf)
                    )
                }
            }
            op::RET => {
                if code & op::A != 0 {
                    "ret  a".to_string()
                } else {
                    format!("ret  {}", ret_name(k))
                }
            }
            _ => {
                if code & op::TXA != 0 {
                    "txa".to_string()
                } else {
                    "tax".to_string()
                }
            }
        };
        let _ = writeln!(out, "{pc:4}: {text}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARCH: u32 = 0xc000_003e;

    fn data(nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData::new(ARCH, nr, args)
    }

    fn s(code: u16, k: u32) -> SockFilter {
        SockFilter::stmt(code, k)
    }

    fn j(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
        SockFilter::jump(code, k, jt, jf)
    }

    /// Run and return A via `ret a`.
    fn eval_a(body: &[SockFilter], d: &SeccompData) -> u32 {
        let mut prog = body.to_vec();
        prog.push(s(op::RET | op::A, 0));
        run(&prog, d).unwrap().ret
    }

    #[test]
    fn layout_matches_kernel() {
        assert_eq!(std::mem::size_of::<SockFilter>(), 8);
        assert_eq!(
            std::mem::size_of::<SockFilter>(),
            std::mem::size_of::<libc::sock_filter>()
        );
        assert_eq!(std::mem::size_of::<SeccompData>(), 64);
        assert_eq!(
            std::mem::size_of::<SeccompData>(),
            std::mem::size_of::<libc::seccomp_data>()
        );
        assert_eq!(std::mem::offset_of!(SeccompData, instruction_pointer), 8);
        assert_eq!(std::mem::offset_of!(SeccompData, args), 16);
    }

    #[test]
    fn word_reads_halves() {
        let mut d = data(
            7,
            [0x1111_2222_3333_4444, 0, 0, 0, 0, 0xaaaa_bbbb_cccc_dddd],
        );
        d.instruction_pointer = 0x0102_0304_0506_0708;
        assert_eq!(d.word(0), Some(7));
        assert_eq!(d.word(4), Some(ARCH));
        assert_eq!(d.word(8), Some(0x0506_0708));
        assert_eq!(d.word(12), Some(0x0102_0304));
        assert_eq!(d.word(offset::arg_lo(0)), Some(0x3333_4444));
        assert_eq!(d.word(offset::arg_hi(0)), Some(0x1111_2222));
        assert_eq!(d.word(offset::arg_lo(5)), Some(0xcccc_dddd));
        assert_eq!(d.word(offset::arg_hi(5)), Some(0xaaaa_bbbb));
        assert_eq!(d.word(64), None);
        assert_eq!(d.word(2), None);
    }

    #[test]
    fn loads() {
        let d = data(42, [0xdead_beef_0000_0001, 2, 3, 4, 5, 6]);
        assert_eq!(eval_a(&[s(op::LD | op::W | op::ABS, 0)], &d), 42);
        assert_eq!(eval_a(&[s(op::LD | op::W | op::ABS, 20)], &d), 0xdead_beef);
        assert_eq!(eval_a(&[s(op::LD | op::W | op::LEN, 0)], &d), 64);
        assert_eq!(eval_a(&[s(op::LD | op::IMM, 99)], &d), 99);
        // LDX forms, observed through TXA.
        assert_eq!(
            eval_a(&[s(op::LDX | op::IMM, 5), s(op::MISC | op::TXA, 0)], &d),
            5
        );
        assert_eq!(
            eval_a(
                &[s(op::LDX | op::W | op::LEN, 0), s(op::MISC | op::TXA, 0)],
                &d
            ),
            64
        );
        // Scratch memory.
        assert_eq!(
            eval_a(
                &[
                    s(op::LD | op::IMM, 7),
                    s(op::ST, 3),
                    s(op::LDX | op::IMM, 9),
                    s(op::STX, 15),
                    s(op::LD | op::MEM, 15),
                    s(op::LDX | op::MEM, 3),
                    s(op::ALU | op::SUB | op::X, 0),
                ],
                &d
            ),
            2
        );
        // TAX then arithmetic on X.
        assert_eq!(
            eval_a(
                &[
                    s(op::LD | op::IMM, 3),
                    s(op::MISC | op::TAX, 0),
                    s(op::ALU | op::MUL | op::X, 0),
                ],
                &d
            ),
            9
        );
    }

    #[test]
    fn alu() {
        let d = data(0, [0; 6]);
        let with = |a: u32, code: u16, k: u32| eval_a(&[s(op::LD | op::IMM, a), s(code, k)], &d);
        let with_x = |a: u32, code: u16, x: u32| {
            eval_a(
                &[s(op::LDX | op::IMM, x), s(op::LD | op::IMM, a), s(code, 0)],
                &d,
            )
        };
        assert_eq!(with(u32::MAX, op::ALU | op::ADD | op::K, 2), 1);
        assert_eq!(with(1, op::ALU | op::SUB | op::K, 2), u32::MAX);
        assert_eq!(with(0x8000_0001, op::ALU | op::MUL | op::K, 2), 2);
        assert_eq!(with(7, op::ALU | op::DIV | op::K, 2), 3);
        assert_eq!(with(0b1100, op::ALU | op::AND | op::K, 0b1010), 0b1000);
        assert_eq!(with(0b1100, op::ALU | op::OR | op::K, 0b1010), 0b1110);
        assert_eq!(with(0b1100, op::ALU | op::XOR | op::K, 0b1010), 0b0110);
        assert_eq!(with(1, op::ALU | op::LSH | op::K, 31), 0x8000_0000);
        assert_eq!(with(0x8000_0000, op::ALU | op::RSH | op::K, 31), 1);
        assert_eq!(with(1, op::ALU | op::NEG, 0), u32::MAX);
        assert_eq!(with_x(10, op::ALU | op::ADD | op::X, 5), 15);
        assert_eq!(with_x(10, op::ALU | op::SUB | op::X, 5), 5);
        assert_eq!(with_x(10, op::ALU | op::MUL | op::X, 5), 50);
        assert_eq!(with_x(10, op::ALU | op::DIV | op::X, 5), 2);
        assert_eq!(with_x(6, op::ALU | op::AND | op::X, 3), 2);
        assert_eq!(with_x(6, op::ALU | op::OR | op::X, 3), 7);
        assert_eq!(with_x(6, op::ALU | op::XOR | op::X, 3), 5);
        assert_eq!(with_x(1, op::ALU | op::LSH | op::X, 4), 16);
        assert_eq!(with_x(16, op::ALU | op::RSH | op::X, 4), 1);
        // Shift by X uses the low 5 bits (the kernel's ALU32 semantics).
        assert_eq!(with_x(1, op::ALU | op::LSH | op::X, 33), 2);
        // Division by X == 0 ends the program with 0.
        let prog = [
            s(op::LD | op::IMM, 1),
            s(op::ALU | op::DIV | op::X, 0),
            s(op::RET | op::K, ret::ALLOW),
        ];
        let v = run(&prog, &d).unwrap();
        assert_eq!((v.ret, v.executed), (0, 2));
    }

    #[test]
    fn jumps() {
        let d = data(0, [0; 6]);
        // A = a, X = x; cond jump; ret 1 (true) / ret 2 (false).
        let check = |a: u32, code: u16, k: u32, x: u32| {
            let prog = [
                s(op::LDX | op::IMM, x),
                s(op::LD | op::IMM, a),
                j(code, k, 1, 0),
                s(op::RET | op::K, 2),
                s(op::RET | op::K, 1),
            ];
            run(&prog, &d).unwrap().ret == 1
        };
        let jk = |o: u16| op::JMP | o | op::K;
        let jx = |o: u16| op::JMP | o | op::X;
        assert!(check(5, jk(op::JEQ), 5, 0));
        assert!(!check(5, jk(op::JEQ), 6, 0));
        assert!(check(6, jk(op::JGT), 5, 0));
        assert!(!check(5, jk(op::JGT), 5, 0));
        assert!(check(5, jk(op::JGE), 5, 0));
        assert!(!check(4, jk(op::JGE), 5, 0));
        assert!(check(0b110, jk(op::JSET), 0b010, 0));
        assert!(!check(0b100, jk(op::JSET), 0b010, 0));
        assert!(check(5, jx(op::JEQ), 0, 5));
        assert!(!check(5, jx(op::JEQ), 5, 6));
        assert!(check(6, jx(op::JGT), 0, 5));
        assert!(check(5, jx(op::JGE), 0, 5));
        assert!(!check(4, jx(op::JGE), 0, 5));
        assert!(check(3, jx(op::JSET), 0, 1));
        // Unsigned comparisons.
        assert!(check(0x8000_0000, jk(op::JGT), 1, 0));
        // JA and the executed count.
        let prog = [
            s(op::JMP | op::JA, 1),
            s(op::RET | op::K, 1),
            s(op::RET | op::K, 2),
        ];
        let v = run(&prog, &d).unwrap();
        assert_eq!((v.ret, v.executed, v.loaded), (2, 2, 0));
    }

    #[test]
    fn loaded_words_are_traced() {
        let prog = [
            SockFilter::load(offset::ARCH),
            SockFilter::load(offset::NR),
            SockFilter::load(offset::arg_hi(5)),
            SockFilter::ret(ret::ALLOW),
        ];
        let v = run(&prog, &data(0, [0; 6])).unwrap();
        assert_eq!(v.loaded, 0b11 | 1 << 15);
        assert!(!v.loaded_only_nr_arch());
        let v = run(
            &prog[..2]
                .iter()
                .chain(&prog[3..])
                .copied()
                .collect::<Vec<_>>(),
            &data(0, [0; 6]),
        )
        .unwrap();
        assert!(v.loaded_only_nr_arch());
    }

    #[test]
    fn validation_errors() {
        let r = SockFilter::ret(ret::ALLOW);
        assert_eq!(validate(&[]), Err(EvalError::Empty));
        assert_eq!(
            validate(&vec![r; MAX_INSNS + 1]),
            Err(EvalError::TooLong { len: 4097 })
        );
        assert_eq!(validate(&vec![r; MAX_INSNS]), Ok(()));
        // Opcodes classic BPF has but seccomp refuses.
        for code in [
            op::LD | op::H | op::ABS,
            op::LD | op::B | op::ABS,
            op::LD | op::W | op::IND,
            op::LDX | op::B | op::MSH,
            op::ALU | op::MOD | op::K,
            op::LD | op::W | op::ABS | 0x100,
            0xffff,
        ] {
            assert_eq!(
                validate(&[s(code, 0), r]),
                Err(EvalError::BadOpcode { pc: 0, code }),
                "{code:#x}"
            );
        }
        assert_eq!(validate(&[SockFilter::load(0)]), Err(EvalError::NoFinalRet));
        assert_eq!(
            validate(&[SockFilter::load(2), r]),
            Err(EvalError::BadLoadOffset { pc: 0, k: 2 })
        );
        assert_eq!(
            validate(&[SockFilter::load(64), r]),
            Err(EvalError::BadLoadOffset { pc: 0, k: 64 })
        );
        assert_eq!(validate(&[SockFilter::load(60), r]), Ok(()));
        assert_eq!(
            validate(&[j(op::JMP | op::JEQ | op::K, 0, 1, 0), r]),
            Err(EvalError::JumpOutOfRange { pc: 0 })
        );
        assert_eq!(
            validate(&[j(op::JMP | op::JEQ | op::K, 0, 0, 1), r]),
            Err(EvalError::JumpOutOfRange { pc: 0 })
        );
        assert_eq!(
            validate(&[SockFilter::ja(1), r]),
            Err(EvalError::JumpOutOfRange { pc: 0 })
        );
        assert_eq!(validate(&[SockFilter::ja(0), r]), Ok(()));
        assert_eq!(
            validate(&[s(op::ALU | op::DIV | op::K, 0), r]),
            Err(EvalError::DivisionByZero { pc: 0 })
        );
        assert_eq!(
            validate(&[s(op::ALU | op::LSH | op::K, 32), r]),
            Err(EvalError::BadShift { pc: 0, k: 32 })
        );
        assert_eq!(
            validate(&[s(op::ST, 16), r]),
            Err(EvalError::BadMemSlot { pc: 0, k: 16 })
        );
        assert_eq!(
            validate(&[s(op::LD | op::MEM, 0), r]),
            Err(EvalError::UninitializedMem { pc: 0, k: 0 })
        );
        // A store on only one path does not make the load valid.
        let prog = [
            j(op::JMP | op::JEQ | op::K, 0, 0, 1),
            s(op::ST, 1),
            s(op::LD | op::MEM, 1),
            r,
        ];
        assert_eq!(
            validate(&prog),
            Err(EvalError::UninitializedMem { pc: 2, k: 1 })
        );
        let prog = [
            s(op::ST, 1),
            j(op::JMP | op::JEQ | op::K, 0, 0, 0),
            s(op::LD | op::MEM, 1),
            r,
        ];
        assert_eq!(validate(&prog), Ok(()));
        // RET A is a valid final instruction.
        assert_eq!(validate(&[s(op::RET | op::A, 0)]), Ok(()));
        assert!(EvalError::TooLong { len: 5000 }
            .to_string()
            .contains("4096"));
    }

    #[test]
    fn disassembly_names_things() {
        let prog = [
            SockFilter::load(offset::ARCH),
            j(op::JMP | op::JEQ | op::K, 0xc000_003e, 1, 0),
            SockFilter::ret(ret::KILL_PROCESS),
            SockFilter::load(offset::NR),
            j(op::JMP | op::JGE | op::K, 1, 0, 2),
            SockFilter::load(offset::arg_hi(2)),
            j(op::JMP | op::JSET | op::K, 0x10, 1, 0),
            SockFilter::ret(ret::ERRNO | 13),
            SockFilter::ret(ret::ALLOW),
        ];
        let text = disassemble(&prog);
        assert!(
            text.contains("   1: jeq  #AUDIT_ARCH_X86_64  jt 3  jf 2"),
            "{text}"
        );
        assert!(text.contains("   5: ld   [arg2_hi]"), "{text}");
        assert!(text.contains("   6: jset #0x10  jt 8  jf 7"), "{text}");
        assert!(text.contains("   7: ret  ERRNO(13)"), "{text}");
        #[cfg(target_arch = "x86_64")]
        assert!(text.contains("   4: jge  #1 (write)  jt 5  jf 7"), "{text}");
    }
}
