//! The seccomp engine: compiler against the rule model and against
//! seccompiler (differential, in our interpreter), long jumps, length limit,
//! constant-action paths, installation in forked children, the trap
//! handler, measured figures and disassembly snapshots.

use std::collections::BTreeMap;

use exile::seccomp::bpf::{self, op, SeccompData, SockFilter};
use exile::seccomp::compiler::{compile, compile_linear, stats, CompileError, Stats};
use exile::seccomp::rules::{
    ret, Action, Arch, ArgCond, ArgWidth, CmpOp, FilterSpec, Rule, AUDIT_ARCH_I386, X32_SYSCALL_BIT,
};
use exile::seccomp::{install, syscalls, trap, InstallFlags};
use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------------------
// seccompiler translation

/// Translate a spec to seccompiler. Possible only when every rule has the
/// same action (seccompiler has one match action per filter), that action
/// differs from the default, and the bad-arch action is KILL_PROCESS
/// (seccompiler's fixed choice). Semantic differences handled here:
///
/// - seccompiler's `MaskedEq(m)` compares `(arg & m) == (value & m)`; ours
///   `(arg & m) == value`, which never holds when `value` has bits outside
///   `m`. Such a rule can never match: it is left out.
/// - An empty `Vec` of rules means "always matches" to seccompiler and
///   "no rule, default" to us: a system call whose rules were all left out
///   gets no entry.
/// - An unconditional rule of ours is seccompiler's empty rule list.
/// - `Dword` is our `W32` (low word only, value truncated), `Qword` `W64`.
/// - seccompiler does not reject the x32 range (`nr >= 0x4000_0000` on
///   x86_64): it looks those numbers up like any other. The differential
///   test compares them against that behaviour, not against ours.
fn to_seccompiler(spec: &FilterSpec, matched: Action) -> Vec<SockFilter> {
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let action = |a: Action| match a {
        Action::Allow => SeccompAction::Allow,
        Action::KillProcess => SeccompAction::KillProcess,
        Action::KillThread => SeccompAction::KillThread,
        Action::Errno(e) => SeccompAction::Errno(u32::from(e)),
        Action::Trap => SeccompAction::Trap,
        Action::Log => SeccompAction::Log,
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    'syscall: for (&nr, list) in &spec.syscalls {
        let mut out = Vec::new();
        for rule in list {
            assert_eq!(rule.action, matched);
            if rule.conds.is_empty() {
                rules.insert(i64::from(nr), Vec::new());
                continue 'syscall;
            }
            let mut conds = Vec::new();
            for c in &rule.conds {
                let (len, width_mask) = match c.width {
                    ArgWidth::W32 => (SeccompCmpArgLen::Dword, 0xffff_ffffu64),
                    ArgWidth::W64 => (SeccompCmpArgLen::Qword, u64::MAX),
                };
                let op = match c.op {
                    CmpOp::Eq => SeccompCmpOp::Eq,
                    CmpOp::Ne => SeccompCmpOp::Ne,
                    CmpOp::Lt => SeccompCmpOp::Lt,
                    CmpOp::Le => SeccompCmpOp::Le,
                    CmpOp::Gt => SeccompCmpOp::Gt,
                    CmpOp::Ge => SeccompCmpOp::Ge,
                    CmpOp::MaskedEq(m) => {
                        if c.value & !m & width_mask != 0 {
                            continue; // never holds: drop the rule (below)
                        }
                        SeccompCmpOp::MaskedEq(m)
                    }
                };
                conds.push(SeccompCondition::new(c.arg, len, op, c.value).unwrap());
            }
            if conds.len() == rule.conds.len() {
                out.push(SeccompRule::new(conds).unwrap());
            }
        }
        if !out.is_empty() {
            rules.insert(i64::from(nr), out);
        }
    }
    let arch = match spec.arch {
        Arch::X86_64 => TargetArch::x86_64,
        Arch::Aarch64 => TargetArch::aarch64,
    };
    let filter =
        SeccompFilter::new(rules, action(spec.default_action), action(matched), arch).unwrap();
    let prog: seccompiler::BpfProgram = filter.try_into().unwrap();
    prog.iter()
        .map(|i| SockFilter::jump(i.code, i.k, i.jt, i.jf))
        .collect()
}

/// The two seccompiler behaviours the translation works around, shown.
#[test]
fn seccompiler_differences_are_real() {
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let arch = Arch::X86_64.audit_arch();
    // MaskedEq with value bits outside the mask: seccompiler masks the value.
    let cond = SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::MaskedEq(0b100),
        0b101,
    )
    .unwrap();
    let rules = BTreeMap::from([(39i64, vec![SeccompRule::new(vec![cond]).unwrap()])]);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Errno(1),
        SeccompAction::Allow,
        TargetArch::x86_64,
    )
    .unwrap();
    let prog: seccompiler::BpfProgram = filter.try_into().unwrap();
    let prog: Vec<SockFilter> = prog
        .iter()
        .map(|i| SockFilter::jump(i.code, i.k, i.jt, i.jf))
        .collect();
    assert_eq!(
        verdict(&prog, arch, 39, [0b100, 0, 0, 0, 0, 0]).ret,
        ret::ALLOW
    );
    let mut spec = FilterSpec::new(Action::Errno(1));
    spec.arch = Arch::X86_64;
    spec.add(
        39,
        Rule::new(Action::Allow, vec![ArgCond::masked_eq(0, 0b100, 0b101)]),
    );
    assert_eq!(
        spec.evaluate(arch, 39, &[0b100, 0, 0, 0, 0, 0]),
        Action::Errno(1)
    );
    // x32 numbers: seccompiler looks them up; we reject them.
    assert_eq!(
        verdict(&prog, arch, 39 | X32_SYSCALL_BIT, [0; 6]).ret,
        ret::ERRNO | 1
    );
    spec.bad_arch_action = Action::KillProcess;
    assert_eq!(
        verdict(&compile(&spec).unwrap(), arch, 39 | X32_SYSCALL_BIT, [0; 6]).ret,
        ret::KILL_PROCESS
    );
}

// ---------------------------------------------------------------------------
// Generators

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0u64..8,
        1 => select(vec![
            u64::from(u32::MAX),
            u64::MAX,
            1 << 32,
            (1 << 32) + 1,
            1 << 63,
            0x8000_0000,
            0xffff_ffff_0000_0000,
        ]),
        2 => any::<u32>().prop_map(u64::from),
        2 => any::<u64>(),
        2 => (0u64..4, 0u64..8).prop_map(|(h, l)| h << 32 | l),
    ]
}

fn mask() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => (0u32..64).prop_map(|b| 1u64 << b),
        1 => select(vec![0, u64::MAX, 0xffff_ffff, 0xffff_ffff_0000_0000, 0x3, 0xf0]),
        2 => any::<u64>(),
        1 => 0u64..16,
        1 => (0u64..4, 0u64..16).prop_map(|(h, l)| h << 32 | l),
    ]
}

fn cond() -> impl Strategy<Value = ArgCond> {
    let op = prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        mask().prop_map(CmpOp::MaskedEq),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge),
    ];
    let width = prop_oneof![Just(ArgWidth::W32), Just(ArgWidth::W64)];
    (0u8..6, width, op, value(), any::<bool>()).prop_map(|(arg, width, op, value, subset)| {
        // Half the masked comparisons can hold: value within the mask.
        let value = match op {
            CmpOp::MaskedEq(m) if subset => value & m,
            _ => value,
        };
        ArgCond::new(arg, width, op, value)
    })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Allow),
        (1u16..=4095).prop_map(Action::Errno),
        select(vec![1u16, 13, 38]).prop_map(Action::Errno),
        Just(Action::KillProcess),
        Just(Action::Trap),
        Just(Action::Log),
    ]
}

fn nr() -> impl Strategy<Value = u32> {
    prop_oneof![
        6 => 0u32..24,
        4 => 0u32..480,
        1 => X32_SYSCALL_BIT..X32_SYSCALL_BIT + 4,
        1 => any::<u32>(),
    ]
}

fn arch() -> impl Strategy<Value = Arch> {
    prop_oneof![3 => Just(Arch::X86_64), 1 => Just(Arch::Aarch64)]
}

/// The rules of one system call: 0–4 random rules (0–3 conditions each),
/// or (a third of the time) up to `max_switch` rules that all test one
/// argument for equality with small constants, plus 0–2 other conditions:
/// the shape of allow-lists (ioctl, fcntl, setsockopt), which the compiler
/// turns into a search over the constants.
fn rules(
    action: impl Strategy<Value = Action> + Clone + 'static,
    max_switch: usize,
) -> BoxedStrategy<Vec<Rule>> {
    use proptest::collection::vec;
    let random = vec(
        (vec(cond(), 0..=3), action.clone()).prop_map(|(conds, a)| Rule::new(a, conds)),
        0..=4,
    );
    let switch = (
        0u8..6,
        vec((0u64..7, vec(cond(), 0..=2), action), 1..=max_switch),
    )
        .prop_map(|(arg, items)| {
            items
                .into_iter()
                .map(|(c, mut conds, a)| {
                    conds.push(ArgCond::eq(arg, c));
                    Rule::new(a, conds)
                })
                .collect()
        });
    prop_oneof![2 => random, 1 => switch].boxed()
}

/// Specs with per-rule actions.
fn mixed_spec() -> impl Strategy<Value = FilterSpec> {
    let rule_action = prop_oneof![2 => Just(Action::Allow), 1 => action()];
    let syscalls = proptest::collection::btree_map(nr(), rules(rule_action, 10), 0..14);
    (arch(), action(), action(), syscalls).prop_map(|(arch, default_action, bad, syscalls)| {
        FilterSpec {
            arch,
            default_action,
            bad_arch_action: bad,
            syscalls,
        }
    })
}

/// Specs seccompiler can express: one match action, a different default,
/// KILL_PROCESS for a foreign architecture. Returns the match action too.
fn seccompiler_spec() -> impl Strategy<Value = (FilterSpec, Action)> {
    (arch(), action(), action())
        .prop_filter("seccompiler needs distinct actions", |(_, m, d)| m != d)
        .prop_flat_map(|(arch, matched, default_action)| {
            let syscalls = proptest::collection::btree_map(nr(), rules(Just(matched), 4), 0..14);
            syscalls.prop_map(move |syscalls| {
                (
                    FilterSpec {
                        arch,
                        default_action,
                        bad_arch_action: Action::KillProcess,
                        syscalls,
                    },
                    matched,
                )
            })
        })
}

/// Inputs biased toward the spec: its numbers and their neighbours, the
/// constants of its conditions and their neighbours, high-word changes.
fn inputs(spec: &FilterSpec) -> impl Strategy<Value = Vec<(u32, u32, [u64; 6])>> {
    let mut nrs: Vec<u32> = vec![0, X32_SYSCALL_BIT, u32::MAX];
    let mut consts: Vec<u64> = vec![0, 1, u64::MAX, u64::from(u32::MAX), 1 << 32];
    for (&nr, rules) in &spec.syscalls {
        nrs.extend([
            nr,
            nr.wrapping_add(1),
            nr.wrapping_sub(1),
            nr | X32_SYSCALL_BIT,
        ]);
        for c in rules.iter().flat_map(|r| &r.conds) {
            let v = c.value;
            consts.extend([
                v,
                v.wrapping_add(1),
                v.wrapping_sub(1),
                v ^ (1 << 32),
                v.wrapping_add(1 << 32),
                v.wrapping_sub(1 << 32),
                v & 0xffff_ffff,
                v | 0xffff_ffff_0000_0000,
            ]);
            if let CmpOp::MaskedEq(m) = c.op {
                consts.extend([m, v & m, v | !m, (v & m) ^ (m & m.wrapping_neg()), !m]);
            }
        }
    }
    let native = spec.arch.audit_arch();
    let arch = prop_oneof![
        8 => Just(native),
        1 => select(vec![AUDIT_ARCH_I386, Arch::X86_64.audit_arch(), Arch::Aarch64.audit_arch()]),
        1 => any::<u32>(),
    ];
    let nr = prop_oneof![4 => select(nrs), 1 => 0u32..500, 1 => any::<u32>()];
    let arg = prop_oneof![4 => select(consts), 1 => any::<u64>()];
    let args = [
        arg.clone(),
        arg.clone(),
        arg.clone(),
        arg.clone(),
        arg.clone(),
        arg,
    ];
    proptest::collection::vec((arch, nr, args), 1..24)
}

/// `cases` cases with a fast random generator (ChaCha, the default, takes
/// most of the time of these tests in debug builds).
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::with_cases(cases)
    }
}

fn verdict(prog: &[SockFilter], arch: u32, nr: u32, args: [u64; 6]) -> bpf::Verdict {
    bpf::run(prog, &SeccompData::new(arch, nr, args)).expect("the program must validate")
}

// ---------------------------------------------------------------------------
// Differential and model tests

proptest! {
    #![proptest_config(config(6_000))]

    /// Ours, seccompiler's and the model agree on every input (x32 numbers:
    /// see `to_seccompiler`).
    #[test]
    fn differential_against_seccompiler(
        (spec, matched, queries) in seccompiler_spec()
            .prop_flat_map(|(spec, m)| { let q = inputs(&spec); (Just(spec), Just(m), q) })
    ) {
        let ours = compile(&spec).unwrap();
        let theirs = to_seccompiler(&spec, matched);
        // What seccompiler does with x32 numbers: an ordinary lookup.
        let mut no_x32 = spec.clone();
        no_x32.arch = Arch::Aarch64;
        for (arch, nr, args) in queries {
            let expected = spec.evaluate(arch, nr, &args).to_ret();
            let o = verdict(&ours, arch, nr, args);
            let t = verdict(&theirs, arch, nr, args);
            prop_assert_eq!(o.ret, expected, "ours: arch {:#x} nr {} args {:x?}", arch, nr, args);
            let x32 = spec.arch == Arch::X86_64 && arch == spec.arch.audit_arch() && nr >= X32_SYSCALL_BIT;
            let expected_theirs = if x32 {
                no_x32.evaluate(Arch::Aarch64.audit_arch(), nr, &args).to_ret()
            } else {
                expected
            };
            prop_assert_eq!(t.ret, expected_theirs, "seccompiler: arch {:#x} nr {} args {:x?}", arch, nr, args);
        }
    }
}

proptest! {
    #![proptest_config(config(4_000))]

    /// `compile` and `compile_linear` agree with `FilterSpec::evaluate`, and
    /// constant-allowed calls load only `nr` and `arch`.
    #[test]
    fn compilers_agree_with_model(
        (spec, queries) in mixed_spec().prop_flat_map(|s| { let q = inputs(&s); (Just(s), q) })
    ) {
        let ours = compile(&spec).unwrap();
        let linear = compile_linear(&spec).unwrap();
        for (arch, nr, args) in queries {
            let expected = spec.evaluate(arch, nr, &args).to_ret();
            let o = verdict(&ours, arch, nr, args);
            prop_assert_eq!(o.ret, expected, "compile: arch {:#x} nr {} args {:x?}\n{}", arch, nr, args, bpf::disassemble(&ours));
            prop_assert_eq!(verdict(&linear, arch, nr, args).ret, expected, "linear: arch {:#x} nr {}", arch, nr);
            let constant = spec.syscalls.get(&nr).map_or(true, |r| r.first().map_or(true, |r| r.conds.is_empty()));
            if constant {
                prop_assert!(o.loaded_only_nr_arch(), "nr {} loaded {:#b}", nr, o.loaded);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Long jumps, length limit, constant paths

/// A spec whose argument-check blocks span far more than 255 instructions.
fn long_jump_spec() -> FilterSpec {
    let mut spec = FilterSpec::new(Action::Errno(1));
    spec.default_action = Action::Allow;
    for nr in 0..300u32 {
        if nr % 2 == 0 {
            spec.add(nr, Rule::always(Action::Errno(13)));
        } else if nr % 5 == 1 {
            let v = u64::from(nr) << 33 | 7;
            spec.add(
                nr,
                Rule::new(
                    Action::Errno(38),
                    vec![
                        ArgCond::new(0, ArgWidth::W64, CmpOp::Gt, v),
                        ArgCond::new(1, ArgWidth::W64, CmpOp::Ne, v),
                        ArgCond::eq(2, u64::from(nr)),
                    ],
                ),
            );
            spec.add(nr, Rule::new(Action::KillProcess, vec![ArgCond::eq(3, 1)]));
        }
    }
    spec
}

#[test]
fn long_jumps_keep_semantics() {
    let spec = long_jump_spec();
    let prog = compile(&spec).unwrap();
    assert!(prog.len() > 600, "{}", prog.len());
    // Trampolines: JAs to far blocks, RET copies for far returns.
    let jas = prog.iter().filter(|i| i.code == op::JMP | op::JA).count();
    let rets = prog.iter().filter(|i| i.code == op::RET | op::K).count();
    assert!(jas > 0, "no JA trampoline in\n{}", bpf::disassemble(&prog));
    assert!(rets > 4, "no RET copies");
    let linear = compile_linear(&spec).unwrap();
    let arch = spec.arch.audit_arch();
    let mut checked = 0;
    for nr in (0..310).chain([X32_SYSCALL_BIT, u32::MAX]) {
        let v = u64::from(nr) << 33 | 7;
        for args in [
            [0; 6],
            [v + 1, 0, u64::from(nr), 0, 0, 0],
            [v + 1, v, u64::from(nr), 1, 0, 0],
            [v + 1, 0, u64::from(nr), 1, 0, 0],
            [v, 0, u64::from(nr), 1, 0, 0],
            [v + (1 << 32), 1, u64::from(nr) | 1 << 40, 0, 0, 0],
        ] {
            for a in [arch, AUDIT_ARCH_I386] {
                let expected = spec.evaluate(a, nr, &args).to_ret();
                assert_eq!(
                    verdict(&prog, a, nr, args).ret,
                    expected,
                    "nr {nr} {args:x?}"
                );
                assert_eq!(
                    verdict(&linear, a, nr, args).ret,
                    expected,
                    "linear nr {nr}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 3000);
}

#[test]
fn too_long_is_an_error() {
    let mut spec = FilterSpec::new(Action::KillProcess);
    for nr in 0..1000u32 {
        let conds = (0..5)
            .map(|a| {
                ArgCond::new(
                    a,
                    ArgWidth::W64,
                    CmpOp::Eq,
                    u64::from(nr) << 32 | u64::from(a),
                )
            })
            .collect();
        spec.add(nr, Rule::new(Action::Allow, conds));
    }
    match compile(&spec) {
        Err(CompileError::TooLong { len }) => assert!(len > 4096, "{len}"),
        other => panic!("expected TooLong, got {:?}", other.map(|p| p.len())),
    }
    assert!(matches!(
        compile_linear(&spec),
        Err(CompileError::TooLong { .. })
    ));
    let msg = compile(&spec).unwrap_err().to_string();
    assert!(msg.contains("4096"), "{msg}");
}

#[test]
fn constant_allowed_paths_load_only_nr_and_arch() {
    let spec = mixed_realistic_spec();
    let prog = compile(&spec).unwrap();
    let arch = spec.arch.audit_arch();
    let mut constant_allowed = 0;
    for nr in 0..=syscalls::MAX_NR + 10 {
        let v = verdict(&prog, arch, nr, [u64::MAX; 6]);
        let checked = spec
            .syscalls
            .get(&nr)
            .and_then(|r| r.first())
            .is_some_and(|r| !r.conds.is_empty());
        if checked {
            assert!(!v.loaded_only_nr_arch(), "nr {nr} checks no argument");
        } else {
            // Constant: never an argument or the instruction pointer.
            assert_eq!(v.loaded & !0b11, 0, "nr {nr}");
            if v.ret == ret::ALLOW {
                constant_allowed += 1;
            }
        }
    }
    assert!(constant_allowed > 100, "{constant_allowed}");
    assert!(stats(&prog, &spec).unwrap().allowed_paths_constant);
}

// ---------------------------------------------------------------------------
// Realistic specs and figures

/// About 150 system calls a stdio-and-files program needs.
const ALLOWED: &[&str] = &[
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "lseek",
    "fstat",
    "newfstatat",
    "statx",
    "stat",
    "lstat",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "munmap",
    "brk",
    "mremap",
    "madvise",
    "msync",
    "mincore",
    "mlock",
    "munlock",
    "mlock2",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigsuspend",
    "sigaltstack",
    "pipe",
    "pipe2",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "getitimer",
    "setitimer",
    "alarm",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "getpid",
    "getppid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "getpgrp",
    "getpgid",
    "getsid",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "socketpair",
    "exit",
    "exit_group",
    "wait4",
    "waitid",
    "fsync",
    "fdatasync",
    "ftruncate",
    "getcwd",
    "umask",
    "getrlimit",
    "prlimit64",
    "getrusage",
    "sysinfo",
    "times",
    "eventfd",
    "eventfd2",
    "signalfd",
    "signalfd4",
    "getrandom",
    "memfd_create",
    "sched_yield",
    "sched_getaffinity",
    "futex",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "set_tid_address",
    "restart_syscall",
    "uname",
    "access",
    "faccessat",
    "faccessat2",
    "getdents",
    "getdents64",
    "chdir",
    "fchdir",
    "readlink",
    "readlinkat",
    "statfs",
    "fstatfs",
    "getxattr",
    "lgetxattr",
    "fgetxattr",
    "listxattr",
    "llistxattr",
    "flistxattr",
    "flock",
    "fadvise64",
    "sync_file_range",
    "splice",
    "tee",
    "vmsplice",
    "copy_file_range",
    "sendfile",
    "semget",
    "semop",
    "semtimedop",
    "msgget",
    "msgsnd",
    "msgrcv",
    "shmdt",
    "mq_open",
    "mq_timedsend",
    "mq_timedreceive",
];

fn allow_spec(default_action: Action) -> FilterSpec {
    let mut spec = FilterSpec::new(default_action);
    for name in ALLOWED {
        if let Some(nr) = syscalls::by_name(name) {
            spec.add(nr, Rule::allow());
        }
    }
    spec
}

fn nr_of(name: &str) -> u32 {
    syscalls::by_name(name).unwrap_or_else(|| panic!("{name}"))
}

/// The allow list plus argument-checked calls like the vows produce.
fn mixed_realistic_spec() -> FilterSpec {
    let mut spec = allow_spec(Action::Errno(libc::EACCES as u16));
    let prot_exec = u64::from(libc::PROT_EXEC as u32);
    for name in ["mmap", "mprotect"] {
        let arg = 2;
        spec.add(
            nr_of(name),
            Rule::new(Action::Allow, vec![ArgCond::none_of(arg, prot_exec)]),
        );
    }
    for cmd in [
        libc::F_GETFD,
        libc::F_SETFD,
        libc::F_GETFL,
        libc::F_SETFL,
        libc::F_DUPFD_CLOEXEC,
    ] {
        spec.add(
            nr_of("fcntl"),
            Rule::new(Action::Allow, vec![ArgCond::eq(1, cmd as u64)]),
        );
    }
    for req in [
        libc::FIONREAD,
        libc::FIONBIO,
        libc::FIOCLEX,
        libc::FIONCLEX,
        libc::TCGETS,
    ] {
        spec.add(
            nr_of("ioctl"),
            // The request type differs between libcs (u64 on glibc).
            #[allow(clippy::unnecessary_cast)]
            Rule::new(Action::Allow, vec![ArgCond::eq(1, req as u64)]),
        );
    }
    let write_flags = (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) as u64;
    spec.add(
        nr_of("openat"),
        Rule::new(Action::Allow, vec![ArgCond::none_of(2, write_flags)]),
    );
    spec.add(
        nr_of("openat2"),
        Rule::always(Action::Errno(libc::ENOSYS as u16)),
    );
    spec.add(
        nr_of("clone3"),
        Rule::always(Action::Errno(libc::ENOSYS as u16)),
    );
    let ns_flags = (libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWNET) as u64;
    spec.add(
        nr_of("clone"),
        Rule::new(
            Action::Allow,
            vec![
                ArgCond::masked_eq(
                    0,
                    (libc::CLONE_VM | libc::CLONE_THREAD) as u64,
                    (libc::CLONE_VM | libc::CLONE_THREAD) as u64,
                ),
                ArgCond::none_of(0, ns_flags),
            ],
        ),
    );
    for domain in [libc::AF_UNIX, libc::AF_INET, libc::AF_INET6] {
        spec.add(
            nr_of("socket"),
            Rule::new(Action::Allow, vec![ArgCond::eq(0, domain as u64)]),
        );
    }
    spec.add(
        nr_of("prctl"),
        Rule::new(
            Action::Allow,
            vec![ArgCond::eq(0, libc::PR_SET_NAME as u64)],
        ),
    );
    spec.add(
        nr_of("kill"),
        Rule::new(
            Action::Allow,
            vec![ArgCond::new(0, ArgWidth::W32, CmpOp::Eq, 0)],
        ),
    );
    spec.add(
        nr_of("lseek"),
        Rule::new(
            Action::Errno(libc::EINVAL as u16),
            vec![ArgCond::new(1, ArgWidth::W64, CmpOp::Ge, 1 << 40)],
        ),
    );
    spec
}

/// The mixed spec in a form seccompiler can express (one match action).
fn mixed_allow_only(spec: &FilterSpec) -> FilterSpec {
    let mut s = spec.clone();
    s.syscalls
        .retain(|_, rules| rules.iter().all(|r| r.action == Action::Allow));
    s
}

fn row(name: &str, s: &Stats) -> String {
    format!(
        "{name:<12} len {:>4}  allowed mean {:>6.2} worst {:>3}  denied mean {:>6.2}  worst {:>3}  checked mean {:>6.2}",
        s.len, s.mean_allowed, s.worst_allowed, s.mean_denied, s.worst, s.mean_checked
    )
}

#[test]
fn figures() {
    for (label, spec) in [
        ("150 allowed", allow_spec(Action::KillProcess)),
        ("mixed", mixed_allow_only(&mixed_realistic_spec())),
    ] {
        let ours = compile(&spec).unwrap();
        let linear = compile_linear(&spec).unwrap();
        let theirs = to_seccompiler(&spec, Action::Allow);
        let (o, l, t) = (
            stats(&ours, &spec).unwrap(),
            stats(&linear, &spec).unwrap(),
            stats(&theirs, &spec).unwrap(),
        );
        println!("{label} ({} syscalls with rules):", spec.syscalls.len());
        println!("  {}", row("compile", &o));
        println!("  {}", row("linear", &l));
        println!("  {}", row("seccompiler", &t));
        assert!(o.worst <= 24, "{label}: worst {}", o.worst);
        assert!(o.mean_allowed * 5.0 < l.mean_allowed, "{label}");
        assert!(o.mean_allowed * 5.0 < t.mean_allowed, "{label}");
        assert!(o.allowed_paths_constant);
        assert!(
            o.len <= l.len && o.len <= t.len,
            "{label}: {} {} {}",
            o.len,
            l.len,
            t.len
        );
    }
    // The full mixed spec (several actions), ours vs linear.
    let spec = mixed_realistic_spec();
    let (o, l) = (
        stats(&compile(&spec).unwrap(), &spec).unwrap(),
        stats(&compile_linear(&spec).unwrap(), &spec).unwrap(),
    );
    println!("mixed, all actions:");
    println!("  {}", row("compile", &o));
    println!("  {}", row("linear", &l));
    assert!(o.worst <= 24);
}

#[test]
fn worst_case_bound_over_sizes() {
    // Allow sets of every size, spread over the table: the worst constant
    // path stays within 24 instructions.
    let all = syscalls::all();
    for step in [1, 2, 3, 5, 7] {
        for default_action in [Action::KillProcess, Action::Errno(1)] {
            let mut spec = FilterSpec::new(default_action);
            for &(_, nr) in all.iter().step_by(step) {
                spec.add(nr, Rule::allow());
            }
            let s = stats(&compile(&spec).unwrap(), &spec).unwrap();
            assert!(s.worst <= 24, "step {step}: {s:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// Snapshots

#[cfg(target_arch = "x86_64")]
#[test]
fn disassembly_snapshot() {
    let mut spec = FilterSpec::new(Action::KillProcess);
    for name in [
        "read",
        "write",
        "close",
        "fstat",
        "exit_group",
        "getpid",
        "gettid",
    ] {
        spec.add(nr_of(name), Rule::allow());
    }
    spec.add(
        nr_of("ptrace"),
        Rule::always(Action::Errno(libc::EPERM as u16)),
    );
    spec.add(
        nr_of("mmap"),
        Rule::new(
            Action::Allow,
            vec![ArgCond::none_of(2, libc::PROT_EXEC as u64)],
        ),
    );
    for cmd in [libc::F_GETFD, libc::F_SETFD] {
        spec.add(
            nr_of("fcntl"),
            Rule::new(Action::Allow, vec![ArgCond::eq(1, cmd as u64)]),
        );
    }
    spec.add(
        nr_of("lseek"),
        Rule::new(
            Action::Errno(libc::EINVAL as u16),
            vec![ArgCond::new(1, ArgWidth::W64, CmpOp::Ge, 1 << 40)],
        ),
    );
    spec.add(
        nr_of("pread64"),
        Rule::new(
            Action::Allow,
            vec![ArgCond::new(3, ArgWidth::W64, CmpOp::Lt, 0x1_0000_0010)],
        ),
    );
    spec.add(
        nr_of("openat2"),
        Rule::always(Action::Errno(libc::ENOSYS as u16)),
    );
    insta::assert_snapshot!("compile_small", bpf::disassemble(&compile(&spec).unwrap()));
    insta::assert_snapshot!(
        "compile_linear_small",
        bpf::disassemble(&compile_linear(&spec).unwrap())
    );
}

// ---------------------------------------------------------------------------
// Installation in forked children (never in the test process: a filter
// cannot be removed)

/// Run `f` in a forked child with core dumps off; return the wait status.
fn in_child(f: impl FnOnce() -> i32) -> libc::c_int {
    // SAFETY: fork; the child runs `f` and leaves with _exit, never returning
    // into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit with a valid struct.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        // SAFETY: _exit ends the child without running the parent's atexit
        // handlers or destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    status
}

fn exit_code(status: libc::c_int) -> Option<i32> {
    libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status))
}

fn killed_by(status: libc::c_int) -> Option<i32> {
    libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status))
}

fn no_new_privs() -> bool {
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS, 1) has no memory effects.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 }
}

/// `syscall(nr, args)` → Ok(value) or Err(errno).
fn sys(nr: libc::c_long, a: [u64; 3]) -> Result<i64, i32> {
    // SAFETY: only called with system calls whose arguments are plain
    // integers (no pointers are dereferenced by the kernel).
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2]) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

fn errno_spec() -> FilterSpec {
    let mut spec = FilterSpec::new(Action::Allow);
    spec.add(
        libc::SYS_getppid as u32,
        Rule::always(Action::Errno(libc::EPERM as u16)),
    );
    // getpriority(which, who): PRIO_PGRP refused (32-bit condition).
    spec.add(
        libc::SYS_getpriority as u32,
        Rule::new(
            Action::Errno(libc::EACCES as u16),
            vec![ArgCond::eq(0, libc::PRIO_PGRP as u64)],
        ),
    );
    // lseek(fd, offset, whence): offsets ≥ 2^34 refused (64-bit condition).
    spec.add(
        libc::SYS_lseek as u32,
        Rule::new(
            Action::Errno(libc::EDOM as u16),
            vec![ArgCond::new(1, ArgWidth::W64, CmpOp::Ge, 1 << 34)],
        ),
    );
    spec
}

#[test]
fn installed_filter_denies_and_allows_with_tsync() {
    use std::sync::atomic::{AtomicI32, Ordering};
    static INSTALLED: AtomicI32 = AtomicI32::new(0);
    static THREAD_RESULT: AtomicI32 = AtomicI32::new(0);

    let prog = compile(&errno_spec()).unwrap();
    let status = in_child(|| {
        if !no_new_privs() {
            return 2;
        }
        // A thread that exists before the filter: TSYNC must cover it.
        let other = std::thread::spawn(|| {
            while INSTALLED.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            let r = match sys(libc::SYS_getppid, [0; 3]) {
                Err(e) => e,
                Ok(_) => -1,
            };
            THREAD_RESULT.store(r, Ordering::SeqCst);
        });
        if install(&prog, InstallFlags::TSYNC).is_err() {
            return 3;
        }
        INSTALLED.store(1, Ordering::SeqCst);
        if other.join().is_err() || THREAD_RESULT.load(Ordering::SeqCst) != libc::EPERM {
            return 4;
        }
        if sys(libc::SYS_getppid, [0; 3]) != Err(libc::EPERM) {
            return 5;
        }
        if sys(libc::SYS_getpid, [0; 3]).is_err() {
            return 6;
        }
        if sys(libc::SYS_getpriority, [libc::PRIO_PROCESS as u64, 0, 0]).is_err() {
            return 7;
        }
        if sys(libc::SYS_getpriority, [libc::PRIO_PGRP as u64, 0, 0]) != Err(libc::EACCES) {
            return 8;
        }
        // The low word alone does not decide a 32-bit condition's upper half.
        if sys(
            libc::SYS_getpriority,
            [1 << 32 | libc::PRIO_PGRP as u64, 0, 0],
        ) != Err(libc::EACCES)
        {
            return 9;
        }
        // A regular file (lseek on /dev/null always returns 0).
        let Ok(file) = std::fs::File::open("/proc/self/exe") else {
            return 10;
        };
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file) as u64;
        if sys(libc::SYS_lseek, [fd, 5, libc::SEEK_SET as u64]) != Ok(5) {
            return 11;
        }
        if sys(libc::SYS_lseek, [fd, 1 << 34, libc::SEEK_SET as u64]) != Err(libc::EDOM) {
            return 12;
        }
        0
    });
    assert_eq!(exit_code(status), Some(0), "status {status:#x}");
}

#[test]
fn tsync_reports_a_thread_that_cannot_sync() {
    use std::sync::atomic::{AtomicI32, Ordering};
    static STATE: AtomicI32 = AtomicI32::new(0);

    let own = compile(&FilterSpec::new(Action::Allow)).unwrap();
    let prog = compile(&errno_spec()).unwrap();
    let status = in_child(move || {
        if !no_new_privs() {
            return 2;
        }
        // A thread with a filter of its own: its filter tree is no
        // ancestor of ours, so TSYNC cannot move it.
        let other = std::thread::spawn(move || {
            STATE.store(
                if install(&own, InstallFlags::empty()).is_ok() {
                    1
                } else {
                    -1
                },
                Ordering::SeqCst,
            );
            while STATE.load(Ordering::SeqCst) != 2 {
                std::thread::yield_now();
            }
        });
        while STATE.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        if STATE.load(Ordering::SeqCst) != 1 {
            return 3;
        }
        let r = install(&prog, InstallFlags::TSYNC);
        STATE.store(2, Ordering::SeqCst);
        let _ = other.join();
        if r != Err(nix::errno::Errno::ESRCH) {
            return 4;
        }
        // Nothing was installed: getppid still works.
        if sys(libc::SYS_getppid, [0; 3]).is_err() {
            return 5;
        }
        0
    });
    assert_eq!(exit_code(status), Some(0), "status {status:#x}");
}

#[test]
fn kill_process_ends_the_child_with_sigsys() {
    let mut spec = FilterSpec::new(Action::Allow);
    spec.add(libc::SYS_getppid as u32, Rule::always(Action::KillProcess));
    let prog = compile(&spec).unwrap();
    let status = in_child(|| {
        if !no_new_privs() || install(&prog, InstallFlags::empty()).is_err() {
            return 2;
        }
        let _ = sys(libc::SYS_getppid, [0; 3]);
        3
    });
    assert_eq!(killed_by(status), Some(libc::SIGSYS), "status {status:#x}");
}

#[test]
fn install_refuses_bad_programs_without_installing() {
    assert_eq!(
        install(&[], InstallFlags::empty()),
        Err(nix::errno::Errno::EINVAL)
    );
    let long = vec![SockFilter::ret(ret::ALLOW); 4097];
    assert_eq!(
        install(&long, InstallFlags::empty()),
        Err(nix::errno::Errno::EINVAL)
    );
    // The kernel refuses what our validator refuses (in a child).
    let bad = [SockFilter::load(2), SockFilter::ret(ret::ALLOW)];
    assert!(bpf::validate(&bad).is_err());
    let status = in_child(|| {
        if !no_new_privs() {
            return 2;
        }
        match install(&bad, InstallFlags::empty()) {
            Err(nix::errno::Errno::EINVAL) => 0,
            _ => 3,
        }
    });
    assert_eq!(exit_code(status), Some(0));
}

/// `n` system calls with distinct three-condition checks.
fn heavy_spec(n: u32) -> FilterSpec {
    let mut spec = FilterSpec::new(Action::Allow);
    for nr in 0..n {
        spec.add(
            nr,
            Rule::new(
                Action::Errno(1 + (nr % 100) as u16),
                vec![
                    ArgCond::new(0, ArgWidth::W64, CmpOp::Eq, u64::from(nr) << 32 | 1),
                    ArgCond::new(1, ArgWidth::W64, CmpOp::Ne, 5),
                    ArgCond::new(2, ArgWidth::W32, CmpOp::Gt, 7),
                ],
            ),
        );
        spec.add(
            nr,
            Rule::new(Action::KillProcess, vec![ArgCond::masked_eq(3, 0xf0, 0x30)]),
        );
    }
    spec
}

/// The largest `heavy_spec` that fits in 4096 instructions.
fn largest_heavy_spec() -> (FilterSpec, Vec<SockFilter>) {
    let mut n = 460;
    loop {
        let spec = heavy_spec(n);
        match compile(&spec) {
            Ok(prog) => return (spec, prog),
            Err(CompileError::TooLong { len }) => {
                assert!(len > 4096);
                n -= 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn near_the_length_limit() {
    let (spec, prog) = largest_heavy_spec();
    assert!(prog.len() > 4000 && prog.len() <= 4096, "{}", prog.len());
    assert!(matches!(
        compile(&heavy_spec(spec.syscalls.len() as u32 + 1)),
        Err(CompileError::TooLong { .. })
    ));
    let arch = spec.arch.audit_arch();
    for nr in 0..spec.syscalls.len() as u32 + 2 {
        let hit = u64::from(nr) << 32 | 1;
        for args in [
            [0; 6],
            [hit, 0, 8, 0, 0, 0],
            [hit, 5, 8, 0x30, 0, 0],
            [hit, 0, 7, 0x3f, 0, 0],
            [hit ^ 1 << 40, 1 << 32 | 5, 1 << 32 | 8, 0, 0, 0],
        ] {
            assert_eq!(
                verdict(&prog, arch, nr, args).ret,
                spec.evaluate(arch, nr, &args).to_ret(),
                "nr {nr} {args:x?}"
            );
        }
    }
}

#[test]
fn prctl_fallback_when_seccomp_is_missing() {
    // A first filter hides seccomp() (ENOSYS), as on kernels before 3.17.
    let mut hide = FilterSpec::new(Action::Allow);
    hide.add(
        libc::SYS_seccomp as u32,
        Rule::always(Action::Errno(libc::ENOSYS as u16)),
    );
    let hide = compile(&hide).unwrap();
    let prog = compile(&errno_spec()).unwrap();
    let status = in_child(|| {
        if !no_new_privs() || install(&hide, InstallFlags::empty()).is_err() {
            return 2;
        }
        // TSYNC needs seccomp(): refused, nothing installed.
        if install(&prog, InstallFlags::TSYNC) != Err(nix::errno::Errno::ENOSYS) {
            return 3;
        }
        if sys(libc::SYS_getppid, [0; 3]).is_err() {
            return 4;
        }
        // Without flags: prctl(PR_SET_SECCOMP).
        if install(&prog, InstallFlags::empty()).is_err() {
            return 5;
        }
        if sys(libc::SYS_getppid, [0; 3]) != Err(libc::EPERM) {
            return 6;
        }
        0
    });
    assert_eq!(exit_code(status), Some(0), "status {status:#x}");
}

#[test]
fn kernel_accepts_compiled_programs() {
    let mut specs = vec![
        largest_heavy_spec().0,
        long_jump_spec(),
        allow_spec(Action::KillProcess),
        mixed_realistic_spec(),
        errno_spec(),
    ];
    for s in &mut specs {
        s.add_first(libc::SYS_exit_group as u32, Rule::allow());
        s.add_first(libc::SYS_exit as u32, Rule::allow());
    }
    for spec in &specs {
        for prog in [compile(spec).unwrap(), compile_linear(spec).unwrap()] {
            let status = in_child(|| {
                if !no_new_privs() {
                    return 2;
                }
                match install(&prog, InstallFlags::TSYNC) {
                    Ok(()) => 0,
                    Err(e) => 10 + (e as i32).min(100),
                }
            });
            assert_eq!(exit_code(status), Some(0), "len {}", prog.len());
        }
    }
}

/// Read everything from `fd` until EOF.
fn read_all(fd: libc::c_int) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: read into a live buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Run `f` in a child whose stderr is a pipe; return (status, stderr).
fn in_child_capturing_stderr(f: impl FnOnce() -> i32) -> (libc::c_int, String) {
    let mut fds = [0; 2];
    // SAFETY: pipe with a valid array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let status = in_child(|| {
        // SAFETY: dup2/close of fds we own in the child.
        unsafe {
            libc::dup2(fds[1], libc::STDERR_FILENO);
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
        f()
    });
    // SAFETY: close our write end so read sees EOF.
    unsafe { libc::close(fds[1]) };
    let text = read_all(fds[0]);
    // SAFETY: close the read end.
    unsafe { libc::close(fds[0]) };
    (status, text)
}

fn trap_spec() -> Vec<SockFilter> {
    let mut spec = FilterSpec::new(Action::Allow);
    spec.add(libc::SYS_getppid as u32, Rule::always(Action::Trap));
    compile(&spec).unwrap()
}

#[test]
fn trap_handler_names_the_call_and_kills() {
    let prog = trap_spec();
    let (status, stderr) = in_child_capturing_stderr(|| {
        if trap::install_trap_handler().is_err() {
            return 2;
        }
        if !no_new_privs() || install(&prog, InstallFlags::empty()).is_err() {
            return 3;
        }
        let _ = sys(libc::SYS_getppid, [0; 3]);
        4
    });
    assert_eq!(
        killed_by(status),
        Some(libc::SIGSYS),
        "status {status:#x}, stderr {stderr:?}"
    );
    assert_eq!(
        stderr,
        format!(
            "exile: seccomp denied system call getppid ({})\n",
            libc::SYS_getppid
        )
    );
}

#[test]
fn trap_handler_can_return_enosys() {
    let prog = trap_spec();
    let (status, stderr) = in_child_capturing_stderr(|| {
        if trap::install_trap_handler_with(trap::TrapMode::Return).is_err() {
            return 2;
        }
        if !no_new_privs() || install(&prog, InstallFlags::empty()).is_err() {
            return 3;
        }
        if sys(libc::SYS_getppid, [0; 3]) != Err(libc::ENOSYS) {
            return 4;
        }
        if sys(libc::SYS_getppid, [0; 3]) != Err(libc::ENOSYS) {
            return 5;
        }
        if sys(libc::SYS_getpid, [0; 3]).is_err() {
            return 6;
        }
        0
    });
    assert_eq!(
        exit_code(status),
        Some(0),
        "status {status:#x}, stderr {stderr:?}"
    );
    let line = format!(
        "exile: seccomp denied system call getppid ({})\n",
        libc::SYS_getppid
    );
    assert_eq!(stderr, line.repeat(2));
}

#[test]
fn trap_handler_kills_when_tgkill_is_refused() {
    // The filter fails the handler's own tgkill with an errno: the handler
    // re-executes the trapped call, which now meets the default action.
    let mut spec = FilterSpec::new(Action::Allow);
    spec.add(libc::SYS_getppid as u32, Rule::always(Action::Trap));
    spec.add(
        libc::SYS_tgkill as u32,
        Rule::always(Action::Errno(libc::EPERM as u16)),
    );
    let prog = compile(&spec).unwrap();
    let (status, stderr) = in_child_capturing_stderr(|| {
        if trap::install_trap_handler().is_err() {
            return 2;
        }
        if !no_new_privs() || install(&prog, InstallFlags::empty()).is_err() {
            return 3;
        }
        let _ = sys(libc::SYS_getppid, [0; 3]);
        4
    });
    assert_eq!(
        killed_by(status),
        Some(libc::SIGSYS),
        "status {status:#x}, stderr {stderr:?}"
    );
    assert!(
        stderr.starts_with("exile: seccomp denied system call getppid"),
        "{stderr:?}"
    );
}

/// `syscall(nr, a0..a5)` with all six argument registers set.
fn sys6(nr: libc::c_long, a: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: only used with getpriority, which reads two integers and
    // dereferences no pointer; the other registers are ignored by it.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

/// Rules for getpriority whose actions are ALLOW or an errno the real call
/// never returns (1000 and up), so the child survives and every verdict is
/// observable.
fn getpriority_spec() -> impl Strategy<Value = FilterSpec> {
    let action = prop_oneof![
        Just(Action::Allow),
        (1000u16..=4095).prop_map(Action::Errno)
    ];
    let rule = (proptest::collection::vec(cond(), 0..=3), action)
        .prop_map(|(conds, action)| Rule::new(action, conds));
    (proptest::collection::vec(rule, 1..=4), 1000u16..=4095).prop_map(|(rules, e)| {
        let mut spec = FilterSpec::new(Action::Allow);
        spec.syscalls.insert(libc::SYS_getpriority as u32, rules);
        // Some rules' fallthrough is an errno too.
        if e % 2 == 0 {
            spec.add(libc::SYS_getpriority as u32, Rule::always(Action::Errno(e)));
        }
        spec
    })
}

proptest! {
    #![proptest_config(config(200))]

    /// The kernel runs our programs as our interpreter does: the same
    /// verdict for real system calls with all six argument registers set
    /// (checks the layout of 64-bit arguments in seccomp_data).
    #[test]
    fn kernel_agrees_with_interpreter(
        (spec, queries) in getpriority_spec().prop_flat_map(|s| { let q = inputs(&s); (Just(s), q) })
    ) {
        let nr = libc::SYS_getpriority as u32;
        let arch = spec.arch.audit_arch();
        for prog in [compile(&spec).unwrap(), compile_linear(&spec).unwrap()] {
            let args: Vec<[u64; 6]> = queries.iter().map(|q| q.2).collect();
            let expected: Vec<u32> = args.iter().map(|a| verdict(&prog, arch, nr, *a).ret).collect();
            for (a, &e) in args.iter().zip(&expected) {
                prop_assert_eq!(e, spec.evaluate(arch, nr, a).to_ret());
            }
            let status = in_child(|| {
                if !no_new_privs() || install(&prog, InstallFlags::empty()).is_err() {
                    return 2;
                }
                for (i, (a, &e)) in args.iter().zip(&expected).enumerate() {
                    let got = sys6(libc::SYS_getpriority, *a);
                    let ok = if e == ret::ALLOW {
                        !matches!(got, Err(errno) if errno >= 1000)
                    } else {
                        got == Err((e & ret::DATA) as i32)
                    };
                    if !ok {
                        return 10 + i as i32;
                    }
                }
                0
            });
            prop_assert_eq!(exit_code(status), Some(0), "status {:#x}", status);
        }
    }
}
