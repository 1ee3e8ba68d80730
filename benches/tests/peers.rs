//! The peers' shapes and the kernel-timing machinery.

use exile::seccomp::bpf::{SeccompData, SockFilter};
use exile::seccomp::rules::{Action, ArgCond, FilterSpec, Rule};
use exile_benches::cost::{self, CostError, Probe};
use exile_benches::libseccomp::ScmpCompare;
use exile_benches::peers::{self, Compiler};
use exile_benches::sets;

fn native() -> u32 {
    exile::seccomp::rules::Arch::native().audit_arch()
}

#[test]
#[cfg(target_arch = "x86_64")]
fn exile_h_chain_has_exile_h_shape() {
    let mut spec = FilterSpec::new(Action::KillProcess);
    spec.add(39, Rule::allow());
    spec.add(72, Rule::new(Action::Allow, vec![ArgCond::eq(1, 1)]));
    spec.add(72, Rule::new(Action::Allow, vec![ArgCond::eq(1, 2)]));
    let prog = peers::exile_h_chain(&spec).unwrap();
    // prologue 6, getppid entry 3, two fcntl entries of 5, catch-all 2
    assert_eq!(
        prog.len(),
        6 + 3 + 5 + 5 + 2,
        "{}",
        exile::seccomp::bpf::disassemble(&prog)
    );
    let p = [exile::seccomp::bpf::Program::new(&prog).unwrap()];
    let run = |nr, a1| peers::run_stack(&p, &SeccompData::new(native(), nr, [0, a1, 0, 0, 0, 0]));
    // arch (2) + x32 (2) + ld, jeq, ret
    assert_eq!(run(39, 0), (Action::Allow.to_ret(), 7));
    // Each skipped entry costs 2: three entries, then ld + ret.
    assert_eq!(run(40, 0), (Action::KillProcess.to_ret(), 4 + 2 * 3 + 2));
    // Second fcntl rule: 2 for getppid, 4 for the failing rule, 5 for its own.
    assert_eq!(run(72, 2), (Action::Allow.to_ret(), 4 + 2 + 4 + 5));
}

#[test]
fn libseccomp_merges_masks_of_one_argument() {
    let rule = Rule::new(
        Action::Allow,
        vec![ArgCond::masked_eq(2, 3, 0), ArgCond::none_of(2, 0o100)],
    );
    let cmps = peers::libseccomp_cmps(&rule).unwrap().unwrap();
    assert_eq!(cmps.len(), 1);
    assert_eq!(cmps[0].op, ScmpCompare::MaskedEq);
    assert_eq!((cmps[0].datum_a, cmps[0].datum_b), (0o103, 0));
    // 32-bit equality looks at the low word only.
    let rule = Rule::new(Action::Allow, vec![ArgCond::eq(1, 5)]);
    let cmps = peers::libseccomp_cmps(&rule).unwrap().unwrap();
    assert_eq!((cmps[0].datum_a, cmps[0].datum_b), (0xffff_ffff, 5));
    // Contradictory masks never hold: no rule.
    let rule = Rule::new(
        Action::Allow,
        vec![ArgCond::masked_eq(0, 1, 1), ArgCond::masked_eq(0, 3, 2)],
    );
    assert_eq!(peers::libseccomp_cmps(&rule).unwrap(), None);
}

#[test]
fn seccompiler_needs_a_filter_per_action() {
    let spec = sets::vow_set(sets::SERVICE);
    let stack = Compiler::Seccompiler.compile(&spec).unwrap();
    assert_eq!(stack.len(), 2, "clone3 and openat2 return ENOSYS");
    let stack = Compiler::Seccompiler
        .compile(&sets::vow_set(sets::STDIO))
        .unwrap();
    assert_eq!(stack.len(), 1);
    // Mixed actions within one call cannot be expressed.
    let mut spec = FilterSpec::new(Action::KillProcess);
    spec.add(1, Rule::new(Action::Allow, vec![ArgCond::eq(0, 1)]));
    spec.add(1, Rule::always(Action::Errno(1)));
    assert!(Compiler::Seccompiler.compile(&spec).is_err());
}

#[test]
fn the_most_severe_verdict_wins() {
    let allow = vec![SockFilter::ret(Action::Allow.to_ret())];
    let errno = vec![SockFilter::ret(Action::Errno(38).to_ret())];
    let kill = vec![SockFilter::ret(Action::KillProcess.to_ret())];
    let stack = vec![allow.clone(), errno.clone(), allow.clone()];
    let p = peers::programs(&stack).unwrap();
    let d = SeccompData::new(native(), 0, [0; 6]);
    assert_eq!(peers::run_stack(&p, &d), (Action::Errno(38).to_ret(), 3));
    let stack = vec![errno, kill, allow];
    let p = peers::programs(&stack).unwrap();
    assert_eq!(peers::run_stack(&p, &d).0, Action::KillProcess.to_ret());
}

#[test]
fn a_child_times_its_loop_under_a_filter() {
    let spec = sets::vow_set(sets::STDIO);
    let stack = Compiler::Exile.compile(&spec).unwrap();
    for probe in Probe::ALL {
        let d = cost::time_in_child(&stack, probe, 1000).unwrap();
        assert!(d.as_nanos() > 0);
        cost::time_in_child(&[], probe, 1000).unwrap();
    }
    // A filter that denies the probe: the child is killed, and that is
    // reported, not timed.
    let mut spec = spec;
    spec.syscalls.remove(&(libc::SYS_getppid as u32));
    let stack = Compiler::Exile.compile(&spec).unwrap();
    assert!(matches!(
        cost::time_in_child(&stack, Probe::Getppid, 10),
        Err(CostError::Killed(libc::SIGSYS))
    ));
    // Every peer's stack installs and allows both probes.
    for set in [sets::vow_set(sets::SERVICE), sets::allow_list_300()] {
        for compiler in Compiler::KERNEL {
            let Ok(stack) = compiler.compile(&set) else {
                continue;
            };
            for probe in Probe::ALL {
                cost::time_in_child(&stack, probe, 10)
                    .unwrap_or_else(|e| panic!("{compiler} / {probe}: {e}"));
            }
        }
    }
}

#[test]
fn median_of_odd_and_even_counts() {
    assert_eq!(cost::median(&mut [3.0, 1.0, 2.0]), 2.0);
    assert_eq!(cost::median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    assert!(cost::median(&mut []).is_nan());
}
