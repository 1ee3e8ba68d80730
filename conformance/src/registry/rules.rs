//! Manual seccomp rules ([`Policy::syscall_rule`]) in the kernel:
//! `seccomp::rule::<case>`.
//!
//! The vows only compare 32-bit flags and commands, so these probes cover the
//! rest of what the BPF compiler emits: every comparison at both widths
//! around its boundaries (high word greater, equal and less; low word at 0
//! and `u32::MAX`), masks with and without high bits, conditions that can
//! never or always hold, rule order, conjunctions over several arguments,
//! the equality switch, and a program long enough to need trampolines (more
//! than 255 instructions between a jump and its target); also the limits:
//! errno 4095 works, errno 0 or 4096, argument 6 and a program past 4096
//! instructions are typed errors before anything is installed.
//!
//! Each case installs its rules on `getppid`, which ignores its arguments,
//! so the filter sees any 64-bit register value without side effects; a
//! matching rule fails the call with its own errno. The child makes every
//! call of the case and reports the results as one line (`ok EDOM ok …`),
//! compared with the line the table expects. The table is checked against
//! exile's rule model ([`FilterSpec::evaluate`]) in the unit tests below, so
//! a probe failure points at the compiled program or the kernel.
//!
//! [`FilterSpec::evaluate`]: exile::seccomp::rules::FilterSpec::evaluate

use std::sync::Arc;

use exile::seccomp::rules::{Action, ArgCond, ArgWidth, CmpOp, Rule};
use exile::Policy;
use nix::errno::Errno;

use crate::probe::{apply, call, Expected, Observed, Probe};

/// The system call the rules are put on: it ignores its arguments.
const NR: libc::c_long = libc::SYS_getppid;

/// One probe: rules in order (first match wins) and the calls to make.
struct Case {
    name: &'static str,
    /// (errno of the rule, its conditions, all must hold).
    rules: Vec<(Errno, Vec<ArgCond>)>,
    /// (arguments, the errno expected, `None` for success).
    calls: Vec<([u64; 6], Option<Errno>)>,
}

const EDOM: Option<Errno> = Some(Errno::EDOM);
const ERANGE: Option<Errno> = Some(Errno::ERANGE);
const EILSEQ: Option<Errno> = Some(Errno::EILSEQ);
const OK: Option<Errno> = None;

/// A 32-bit condition on argument 0.
fn w32(op: CmpOp, value: u64) -> ArgCond {
    ArgCond::new(0, ArgWidth::W32, op, value)
}

/// A 64-bit condition on argument 0.
fn w64(op: CmpOp, value: u64) -> ArgCond {
    ArgCond::new(0, ArgWidth::W64, op, value)
}

/// Arguments with `a0` first and zeros after it.
fn a0(a0: u64) -> [u64; 6] {
    [a0, 0, 0, 0, 0, 0]
}

/// A case with one rule failing with EDOM.
fn one(name: &'static str, cond: ArgCond, calls: &[(u64, Option<Errno>)]) -> Case {
    Case {
        name,
        rules: vec![(Errno::EDOM, vec![cond])],
        calls: calls.iter().map(|&(a, e)| (a0(a), e)).collect(),
    }
}

fn cases() -> Vec<Case> {
    use CmpOp::*;
    let mut v = vec![
        // 32-bit: the high word of the register never counts.
        one(
            "w32_eq",
            w32(Eq, 7),
            &[
                (7, EDOM),
                (8, OK),
                (0x1_0000_0007, EDOM),
                (0xffff_ffff_0000_0007, EDOM),
            ],
        ),
        one(
            "w32_ne",
            w32(Ne, 7),
            &[(7, OK), (0x5_0000_0007, OK), (8, EDOM), (0, EDOM)],
        ),
        one(
            "w32_masked",
            w32(MaskedEq(0xf0), 0x30),
            &[
                (0x35, EDOM),
                (0x30, EDOM),
                (0x45, OK),
                (0x1_0000_0030, EDOM),
                (0, OK),
            ],
        ),
        one(
            "w32_masked_single_bit",
            w32(MaskedEq(0x4), 0x4),
            &[(0x4, EDOM), (0xff, EDOM), (0x3, OK), (0x1_0000_0000, OK)],
        ),
        one(
            "w32_none_of",
            w32(MaskedEq(0x6), 0),
            &[
                (0x8, EDOM),
                (0x2, OK),
                (0x4, OK),
                (0x1_0000_0000, EDOM),
                (0, EDOM),
            ],
        ),
        one(
            "w32_masked_all_bits",
            w32(MaskedEq(0xffff_ffff), 9),
            &[(9, EDOM), (0x1_0000_0009, EDOM), (10, OK)],
        ),
        one(
            "w32_gt",
            w32(Gt, 10),
            &[
                (10, OK),
                (11, EDOM),
                (0x1_0000_0005, OK),
                (0xffff_ffff, EDOM),
            ],
        ),
        one(
            "w32_ge",
            w32(Ge, 10),
            &[(9, OK), (10, EDOM), (0x1_0000_0009, OK)],
        ),
        one(
            "w32_lt",
            w32(Lt, 10),
            &[
                (9, EDOM),
                (10, OK),
                (0x1_0000_0009, EDOM),
                (0xffff_ffff, OK),
            ],
        ),
        one(
            "w32_le",
            w32(Le, 10),
            &[(10, EDOM), (11, OK), (0, EDOM), (0x1_0000_000b, OK)],
        ),
        // 64-bit equality and masks: both words.
        one(
            "w64_eq",
            w64(Eq, 0x1_0000_0005),
            &[
                (0x1_0000_0005, EDOM),
                (5, OK),
                (0x2_0000_0005, OK),
                (0x1_0000_0006, OK),
            ],
        ),
        one(
            "w64_ne",
            w64(Ne, 0x1_0000_0005),
            &[
                (0x1_0000_0005, OK),
                (5, EDOM),
                (0x2_0000_0005, EDOM),
                (0x1_0000_0006, EDOM),
            ],
        ),
        one(
            "w64_masked_both_words",
            w64(MaskedEq(0xff00_0000_0000_00ff), 0x0100_0000_0000_0001),
            &[
                (0x0100_0000_1234_0001, EDOM),
                (0x01ff_ffff_ffff_ff01, EDOM),
                (0x0200_0000_0000_0001, OK),
                (0x0100_0000_0000_0002, OK),
                (1, OK),
            ],
        ),
        one(
            "w64_masked_low_word_only",
            w64(MaskedEq(0xff), 0x01),
            &[(0xffff_0000_0000_0001, EDOM), (0x2, OK), (0x101, EDOM)],
        ),
        one(
            "w64_masked_high_word_only",
            w64(MaskedEq(0xffff_0000_0000_0000), 0x8000_0000_0000_0000),
            &[
                (0x8000_0000_dead_beef, EDOM),
                (0x8001_0000_0000_0000, OK),
                (0, OK),
            ],
        ),
        // 64-bit ranges, high word neither 0 nor u32::MAX: a three-way
        // test of the high word, then the low word when they are equal.
        one(
            "w64_gt",
            w64(Gt, 0x5_0000_0005),
            &[
                (0x6_0000_0000, EDOM),
                (0x5_0000_0006, EDOM),
                (0x5_0000_0005, OK),
                (0x4_ffff_ffff, OK),
                (0x5, OK),
            ],
        ),
        one(
            "w64_ge",
            w64(Ge, 0x5_0000_0005),
            &[
                (0x5_0000_0005, EDOM),
                (0x6_0000_0000, EDOM),
                (0x5_0000_0004, OK),
                (0x4_ffff_ffff, OK),
            ],
        ),
        one(
            "w64_lt",
            w64(Lt, 0x5_0000_0005),
            &[
                (0x5_0000_0004, EDOM),
                (0x4_ffff_ffff, EDOM),
                (0x5_0000_0005, OK),
                (0x6_0000_0000, OK),
            ],
        ),
        one(
            "w64_le",
            w64(Le, 0x5_0000_0005),
            &[
                (0x5_0000_0005, EDOM),
                (0, EDOM),
                (0x5_0000_0006, OK),
                (0x6_0000_0000, OK),
            ],
        ),
        // High word 0 or u32::MAX, low word 0 or u32::MAX: the shortcuts.
        one(
            "w64_gt_high_zero",
            w64(Gt, 5),
            &[
                (6, EDOM),
                (5, OK),
                (0x1_0000_0000, EDOM),
                (0x1_0000_0004, EDOM),
            ],
        ),
        one(
            "w64_lt_high_zero",
            w64(Lt, 5),
            &[(4, EDOM), (5, OK), (0x1_0000_0004, OK)],
        ),
        one(
            "w64_gt_low_max",
            w64(Gt, 0x1_ffff_ffff),
            &[
                (0x2_0000_0000, EDOM),
                (0x1_ffff_ffff, OK),
                (0x1_0000_0000, OK),
            ],
        ),
        one(
            "w64_ge_low_zero",
            w64(Ge, 0x1_0000_0000),
            &[
                (0x1_0000_0000, EDOM),
                (0x7_0000_0000, EDOM),
                (0xffff_ffff, OK),
            ],
        ),
        one(
            "w64_lt_low_zero",
            w64(Lt, 0x1_0000_0000),
            &[(0xffff_ffff, EDOM), (0, EDOM), (0x1_0000_0000, OK)],
        ),
        one(
            "w64_le_low_max",
            w64(Le, 0xffff_ffff),
            &[(0xffff_ffff, EDOM), (0x1_0000_0000, OK)],
        ),
        one(
            "w64_gt_high_max",
            w64(Gt, 0xffff_ffff_0000_0000),
            &[
                (0xffff_ffff_0000_0001, EDOM),
                (0xffff_ffff_0000_0000, OK),
                (0xffff_fffe_ffff_ffff, OK),
            ],
        ),
        one(
            "w64_le_high_max",
            w64(Le, 0xffff_ffff_0000_0005),
            &[
                (0xffff_ffff_0000_0005, EDOM),
                (0xffff_ffff_0000_0006, OK),
                (5, EDOM),
            ],
        ),
        one(
            "w64_ge_high_max",
            w64(Ge, 0xffff_ffff_0000_0005),
            &[
                (0xffff_ffff_0000_0005, EDOM),
                (0xffff_ffff_ffff_ffff, EDOM),
                (0xffff_fffe_ffff_ffff, OK),
            ],
        ),
        // Conditions that never or always hold: the first two rules can
        // never match (a value bit outside the mask, above u64::MAX), the
        // third always does and ends the list.
        Case {
            name: "never_and_always",
            rules: vec![
                (Errno::EDOM, vec![w32(MaskedEq(0x0f), 0x10)]),
                (Errno::ERANGE, vec![w64(Gt, u64::MAX)]),
                (Errno::EILSEQ, vec![w64(Ge, 0), w32(MaskedEq(0), 0)]),
                (Errno::ENOTTY, vec![w32(Eq, 0)]),
            ],
            calls: vec![(a0(0x10), EILSEQ), (a0(0), EILSEQ), (a0(u64::MAX), EILSEQ)],
        },
        Case {
            name: "never_only",
            rules: vec![
                (Errno::EDOM, vec![w32(Lt, 0)]),
                (Errno::ERANGE, vec![w64(MaskedEq(0x0f), 0x1_0000_0000)]),
            ],
            calls: vec![(a0(0), OK), (a0(0x1_0000_0000), OK)],
        },
        Case {
            name: "first_match_wins",
            rules: vec![
                (Errno::EDOM, vec![w32(Eq, 1)]),
                (Errno::ERANGE, vec![w32(Lt, 5)]),
                (Errno::EILSEQ, vec![]),
            ],
            calls: vec![
                (a0(1), EDOM),
                (a0(2), ERANGE),
                (a0(0), ERANGE),
                (a0(7), EILSEQ),
            ],
        },
        Case {
            name: "conjunction_over_args",
            rules: vec![(
                Errno::EDOM,
                vec![
                    ArgCond::eq(0, 1),
                    ArgCond::new(5, ArgWidth::W64, Gt, 100),
                    ArgCond::new(3, ArgWidth::W32, Ne, 9),
                ],
            )],
            calls: vec![
                ([1, 0, 0, 0, 0, 101], EDOM),
                ([1, 0, 0, 0, 0, 100], OK),
                ([2, 0, 0, 0, 0, 101], OK),
                ([1, 0, 0, 9, 0, 101], OK),
                ([1, 0, 0, 0x1_0000_0009, 0, 101], OK),
                ([1, 7, 7, 8, 7, 0x1_0000_0000], EDOM),
            ],
        },
        // Several conjunctions with an equality on argument 0: compiled as
        // a search over the constants, then each one's other conditions.
        Case {
            name: "switch_on_an_argument",
            rules: vec![
                (Errno::EDOM, vec![ArgCond::eq(0, 1), ArgCond::eq(1, 10)]),
                (Errno::EDOM, vec![ArgCond::eq(0, 2)]),
                (Errno::EDOM, vec![ArgCond::eq(0, 3), ArgCond::eq(1, 30)]),
                (Errno::EDOM, vec![ArgCond::eq(0, 3), ArgCond::eq(2, 30)]),
                (Errno::ERANGE, vec![ArgCond::eq(0, 3)]),
            ],
            calls: vec![
                ([1, 10, 0, 0, 0, 0], EDOM),
                ([1, 11, 0, 0, 0, 0], OK),
                ([2, 0, 0, 0, 0, 0], EDOM),
                ([0x1_0000_0002, 5, 0, 0, 0, 0], EDOM),
                ([3, 30, 0, 0, 0, 0], EDOM),
                ([3, 0, 30, 0, 0, 0], EDOM),
                ([3, 31, 0, 0, 0, 0], ERANGE),
                ([4, 10, 0, 0, 0, 0], OK),
                ([0, 10, 0, 0, 0, 0], OK),
            ],
        },
        // Two conditions on one word: the second reuses the loaded word.
        Case {
            name: "range_on_one_argument",
            rules: vec![(Errno::EDOM, vec![w32(Ge, 10), w32(Le, 20)])],
            calls: vec![(a0(9), OK), (a0(10), EDOM), (a0(20), EDOM), (a0(21), OK)],
        },
        Case {
            name: "masks_on_one_argument",
            rules: vec![
                (
                    Errno::EDOM,
                    vec![w32(MaskedEq(0xf0), 0x30), ArgCond::eq(1, 1)],
                ),
                (Errno::ERANGE, vec![w32(MaskedEq(0xf0), 0x40)]),
                (Errno::EILSEQ, vec![w32(MaskedEq(0x0f), 0x01)]),
            ],
            calls: vec![
                ([0x31, 1, 0, 0, 0, 0], EDOM),
                ([0x31, 0, 0, 0, 0, 0], EILSEQ),
                ([0x41, 0, 0, 0, 0, 0], ERANGE),
                ([0x52, 1, 0, 0, 0, 0], OK),
            ],
        },
    ];
    v.push(long_program());
    v
}

/// 120 conjunctions (argument 0 equal to a constant, argument 1 above a
/// 64-bit bound) and one rule after them: more than 255 instructions lie
/// between the early jumps and the shared returns, so the compiler must
/// insert trampolines.
fn long_program() -> Case {
    let key = |i: u64| i * 7 + 1;
    let bound = |i: u64| i * 0x1_0000_0000 + i;
    let mut rules: Vec<(Errno, Vec<ArgCond>)> = (0..120)
        .map(|i| {
            (
                Errno::EDOM,
                vec![
                    ArgCond::eq(0, key(i)),
                    ArgCond::new(1, ArgWidth::W64, CmpOp::Gt, bound(i)),
                ],
            )
        })
        .collect();
    rules.push((
        Errno::ERANGE,
        vec![ArgCond::new(2, ArgWidth::W64, CmpOp::Eq, 0xdead_0000_beef)],
    ));
    let calls = vec![
        ([key(0), 1, 0, 0, 0, 0], EDOM),
        ([key(0), 0, 0, 0, 0, 0], OK),
        ([key(60), bound(60), 0, 0, 0, 0], OK),
        ([key(60), bound(60) + 1, 0, 0, 0, 0], EDOM),
        ([key(119), bound(119) + 0x1_0000_0000, 0, 0, 0, 0], EDOM),
        (
            [key(119), bound(119) - 1, 0xdead_0000_beef, 0, 0, 0],
            ERANGE,
        ),
        ([key(119) + 1, u64::MAX, 0, 0, 0, 0], OK),
        ([key(119) + 1, u64::MAX, 0xdead_0000_beef, 0, 0, 0], ERANGE),
        ([key(1), bound(1) + 1, 0xdead_0000_beef, 0, 0, 0], EDOM),
    ];
    Case {
        name: "long_program",
        rules,
        calls,
    }
}

/// How a call's result is written in the probe's value line.
fn render(result: Option<Errno>) -> String {
    result.map_or_else(|| "ok".to_owned(), |e| format!("{e:?}"))
}

fn policy(case: &Case) -> Policy {
    case.rules
        .iter()
        .fold(Policy::empty().no_new_privs(true), |p, (e, conds)| {
            p.syscall_rule(
                NR as u32,
                Rule::new(Action::Errno(*e as u16), conds.clone()),
            )
        })
}

/// Make system call `nr` with `args`; its result as a word of the line.
fn call_word(nr: libc::c_long, args: &[u64; 6]) -> String {
    match call(nr, args.map(|a| a as libc::c_long)) {
        Observed::Ok => render(None),
        Observed::Errno(e) => render(Some(Errno::from_raw(e))),
        other => other.to_string(),
    }
}

fn run(case: &Case) -> Observed {
    if let Err(o) = apply(&policy(case)) {
        return o;
    }
    let seen: Vec<String> = case
        .calls
        .iter()
        .map(|(args, _)| call_word(NR, args))
        .collect();
    Observed::Value(seen.join(" "))
}

fn expected(case: &Case) -> Expected {
    let line: Vec<String> = case.calls.iter().map(|&(_, e)| render(e)).collect();
    Expected::value(line.join(" "))
}

/// Apply `policy`, then make system call `nr` with zero arguments.
fn apply_then_call(policy: &Policy, nr: libc::c_long) -> Observed {
    match apply(policy) {
        Ok(_) => call(nr, [0; 6]),
        Err(o) => o,
    }
}

/// Apply one rule on [`NR`] and make the call with zero arguments.
fn apply_one(rule: Rule) -> Observed {
    let policy = Policy::empty()
        .no_new_privs(true)
        .syscall_rule(NR as u32, rule);
    apply_then_call(&policy, NR)
}

/// Rules the compiler must refuse (a typed error, nothing installed), and
/// the largest valid errno.
fn limit_probes(p: &mut Vec<Probe>) {
    p.push(Probe::new(
        "seccomp::rule::errno_4095_is_the_largest",
        |_| apply_one(Rule::always(Action::Errno(4095))),
        |_| Expected::Errno(4095),
    ));
    for (name, errno) in [("errno_0_is_an_error", 0), ("errno_4096_is_an_error", 4096)] {
        p.push(Probe::new(
            format!("seccomp::rule::{name}"),
            move |_| apply_one(Rule::always(Action::Errno(errno))),
            |_| Expected::policy_error("seccomp:bad_errno"),
        ));
    }
    p.push(Probe::new(
        "seccomp::rule::arg_6_is_an_error",
        |_| {
            apply_one(Rule::new(
                Action::Errno(Errno::EDOM as u16),
                vec![ArgCond::eq(6, 0)],
            ))
        },
        |_| Expected::policy_error("seccomp:bad_arg"),
    ));
    // 1500 rules of two 64-bit conditions each: far past 4096 instructions.
    p.push(Probe::new(
        "seccomp::rule::too_long_is_an_error",
        |_| {
            let policy = (0..1500u64).fold(Policy::empty().no_new_privs(true), |p, i| {
                p.syscall_rule(
                    NR as u32,
                    Rule::new(
                        Action::Errno(Errno::EDOM as u16),
                        vec![
                            ArgCond::new(0, ArgWidth::W64, CmpOp::Gt, i << 33),
                            ArgCond::new(1, ArgWidth::W64, CmpOp::Eq, i << 32 | i),
                        ],
                    ),
                )
            });
            apply_then_call(&policy, NR)
        },
        |_| Expected::policy_error("seccomp:too_long"),
    ));
}

/// A manual rule cannot open the x32 ABI: an x32 number (`nr | 0x4000_0000`)
/// gets the bad-arch action (kill) even when a rule allows it.
#[cfg(target_arch = "x86_64")]
fn x32_probe(p: &mut Vec<Probe>) {
    const X32: libc::c_long = 0x4000_0000;
    p.push(Probe::new(
        "seccomp::rule::x32_number_is_killed_despite_a_rule",
        |_| {
            let policy = Policy::empty()
                .no_new_privs(true)
                .syscall_rule((X32 | NR) as u32, Rule::allow());
            apply_then_call(&policy, X32 | NR)
        },
        |_| Expected::signal(nix::sys::signal::Signal::SIGSYS),
    ));
}

/// System calls that ignore their arguments and get the same rules in
/// [`shared_block_probe`]: the compiler emits one block for all of them.
const SHARED: [libc::c_long; 3] = [libc::SYS_getppid, libc::SYS_getpid, libc::SYS_gettid];

/// The rules of [`shared_block_probe`].
fn shared_rules() -> Vec<Rule> {
    vec![
        Rule::new(
            Action::Errno(Errno::EDOM as u16),
            vec![
                ArgCond::eq(0, 1),
                ArgCond::new(1, ArgWidth::W64, CmpOp::Gt, 0x1_0000_0005),
            ],
        ),
        Rule::new(Action::Errno(Errno::ERANGE as u16), vec![ArgCond::eq(0, 2)]),
    ]
}

/// The calls of [`shared_block_probe`], made on each of [`SHARED`].
const SHARED_CALLS: [([u64; 6], Option<Errno>); 4] = [
    ([1, 0x1_0000_0006, 0, 0, 0, 0], EDOM),
    ([1, 0x1_0000_0005, 0, 0, 0, 0], OK),
    ([2, 0, 0, 0, 0, 0], ERANGE),
    ([3, 0, 0, 0, 0, 0], OK),
];

/// Identical rules on several system calls: their numbers lead to one
/// shared argument-check block, which must decide the same for each.
fn shared_block_probe(p: &mut Vec<Probe>) {
    p.push(Probe::new(
        "seccomp::rule::shared_block",
        |_| {
            let mut policy = Policy::empty().no_new_privs(true);
            for nr in SHARED {
                for rule in shared_rules() {
                    policy = policy.syscall_rule(nr as u32, rule);
                }
            }
            if let Err(o) = apply(&policy) {
                return o;
            }
            let mut seen = Vec::new();
            for nr in SHARED {
                seen.extend(SHARED_CALLS.iter().map(|(args, _)| call_word(nr, args)));
            }
            Observed::Value(seen.join(" "))
        },
        |_| {
            let one: Vec<String> = SHARED_CALLS.iter().map(|&(_, e)| render(e)).collect();
            Expected::value(vec![one.join(" "); SHARED.len()].join(" "))
        },
    ));
}

/// Add the `seccomp::rule::` probes.
pub fn probes(p: &mut Vec<Probe>) {
    shared_block_probe(p);
    #[cfg(target_arch = "x86_64")]
    x32_probe(p);
    for case in cases() {
        let case = Arc::new(case);
        let for_body = Arc::clone(&case);
        p.push(Probe::new(
            format!("seccomp::rule::{}", case.name),
            move |_| run(&for_body),
            move |_| expected(&case),
        ));
    }
    limit_probes(p);
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use exile::seccomp::compiler::compile;
    use exile::seccomp::rules::{Arch, FilterSpec};

    use super::*;

    fn spec(case: &Case) -> FilterSpec {
        let mut spec = FilterSpec::new(Action::Allow);
        for (e, conds) in &case.rules {
            spec.add(
                NR as u32,
                Rule::new(Action::Errno(*e as u16), conds.clone()),
            );
        }
        spec
    }

    #[test]
    fn the_table_agrees_with_the_rule_model() {
        let arch = Arch::native().audit_arch();
        for case in cases() {
            let spec = spec(&case);
            for (args, want) in &case.calls {
                let want = want.map_or(Action::Allow, |e| Action::Errno(e as u16));
                assert_eq!(
                    spec.evaluate(arch, NR as u32, args),
                    want,
                    "{}: {args:x?}",
                    case.name
                );
            }
        }
    }

    #[test]
    fn names_are_unique_and_each_case_has_two_outcomes() {
        let mut names = HashSet::new();
        for case in cases() {
            assert!(names.insert(case.name), "duplicate {}", case.name);
            let outcomes: HashSet<String> = case.calls.iter().map(|&(_, e)| render(e)).collect();
            // A case where every call gives the same result could not tell
            // a filter that ignores the arguments from a correct one; only
            // the two about conditions that never or always hold are so.
            if !case.name.starts_with("never_") {
                assert!(outcomes.len() > 1, "{}: one outcome only", case.name);
            }
        }
    }

    #[test]
    fn the_shared_block_is_compiled_once_and_agrees_with_the_model() {
        let mut spec = FilterSpec::new(Action::Allow);
        for nr in SHARED {
            for rule in shared_rules() {
                spec.add(nr as u32, rule);
            }
        }
        let arch = Arch::native().audit_arch();
        for nr in SHARED {
            for (args, want) in &SHARED_CALLS {
                let want = want.map_or(Action::Allow, |e| Action::Errno(e as u16));
                assert_eq!(
                    spec.evaluate(arch, nr as u32, args),
                    want,
                    "{nr}: {args:x?}"
                );
            }
        }
        let prog = compile(&spec).expect("compiles");
        let text = exile::seccomp::bpf::disassemble(&prog);
        assert_eq!(
            text.matches("[arg1_hi]").count(),
            1,
            "block not shared:\n{text}"
        );
    }

    #[test]
    fn the_long_program_needs_trampolines() {
        let prog = compile(&spec(&long_program())).expect("compiles");
        assert!(prog.len() > 2 * 255, "only {} instructions", prog.len());
    }
}
