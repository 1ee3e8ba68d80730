//! The claims of `benches/RESULTS.md`, checked on the interpreter's
//! (deterministic) counts:
//!
//! - exile's worst case over the calls without argument checks is at most
//!   24 executed instructions, for every set;
//! - exile's mean over the constant-allowed calls is below every peer's,
//!   for every set;
//! - exile's program is no longer than seccompiler's.

use exile_benches::measure::{self, Figures};
use exile_benches::peers::Compiler;
use exile_benches::sets;

fn figures(compiler: Compiler, spec: &exile::seccomp::rules::FilterSpec) -> Option<Figures> {
    match compiler.compile(spec) {
        Ok(stack) => Some(measure::measure(&stack, spec).expect("verdicts agree with the spec")),
        Err(e) if e.is_unavailable() => {
            eprintln!("{compiler}: {e}");
            None
        }
        Err(e) => panic!("{compiler}: {e}"),
    }
}

#[test]
fn exile_worst_case_is_at_most_24() {
    for set in sets::all() {
        let f = figures(Compiler::Exile, &set.spec).unwrap();
        assert!(f.worst <= 24, "{}: worst {} > 24", set.name, f.worst);
    }
}

#[test]
fn exile_mean_is_below_every_peer() {
    for set in sets::all() {
        let ours = figures(Compiler::Exile, &set.spec).unwrap();
        for peer in Compiler::ALL.into_iter().filter(|&c| c != Compiler::Exile) {
            let Some(theirs) = figures(peer, &set.spec) else {
                continue;
            };
            assert!(
                ours.mean < theirs.mean,
                "{}: exile mean {} >= {peer} mean {}",
                set.name,
                ours.mean,
                theirs.mean
            );
        }
    }
}

#[test]
fn exile_is_no_longer_than_seccompiler() {
    for set in sets::all() {
        let ours = figures(Compiler::Exile, &set.spec).unwrap();
        let theirs = figures(Compiler::Seccompiler, &set.spec).unwrap();
        assert!(
            ours.len <= theirs.len,
            "{}: exile {} instructions > seccompiler {}",
            set.name,
            ours.len,
            theirs.len
        );
    }
}

#[test]
fn constant_allowed_calls_stay_constant_in_exile() {
    // Kernels >= 5.11 skip the filter for them only if their path loads
    // nothing but the number and the architecture.
    for set in sets::all() {
        let prog = exile::seccomp::compiler::compile(&set.spec).unwrap();
        let stats = exile::seccomp::compiler::stats(&prog, &set.spec).unwrap();
        assert!(stats.allowed_paths_constant, "{}", set.name);
    }
}

#[test]
fn the_sets_are_what_the_tables_say() {
    let all = sets::all();
    assert_eq!(all.len(), 4);
    let list = &all[3].spec;
    assert_eq!(list.syscalls.len(), sets::ALLOW_LIST_LEN);
    assert!(list
        .syscalls
        .values()
        .all(|r| r.len() == 1 && r[0].conds.is_empty()));
    for set in &all[..3] {
        // The probes of syscall_cost: getppid constant, fcntl(F_GETFD)
        // argument-checked, both allowed.
        let getppid = libc::SYS_getppid as u32;
        let fcntl = libc::SYS_fcntl as u32;
        assert!(
            sets::constant_allowed(&set.spec).contains(&getppid),
            "{}",
            set.name
        );
        assert!(sets::is_checked(&set.spec, fcntl), "{}", set.name);
        let arch = set.spec.arch.audit_arch();
        let args = [1, libc::F_GETFD as u64, 0, 0, 0, 0];
        assert_eq!(
            set.spec.evaluate(arch, fcntl, &args),
            exile::seccomp::rules::Action::Allow
        );
    }
    assert!(sets::constant_allowed(list).contains(&(libc::SYS_fcntl as u32)));
}

#[test]
fn filter_cost_output_is_deterministic() {
    let a: Vec<String> = measure::table().iter().map(measure::json_line).collect();
    let b: Vec<String> = measure::table().iter().map(measure::json_line).collect();
    assert_eq!(a, b);
    assert_eq!(a.len(), 4 * Compiler::ALL.len());
    for line in &a {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        if v.get("skipped").is_some() {
            continue;
        }
        for k in ["set", "compiler", "len", "mean", "worst", "denied"] {
            assert!(keys.contains(&k), "{line}");
        }
        assert_eq!(keys.len(), 6, "{line}");
    }
}
