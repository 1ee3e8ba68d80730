//! The compiled program of every single vow, and of the common
//! `stdio rpath wpath cpath inet unix thread` set, as disassembly snapshots:
//! every change to the vow tables or the compiler is a reviewed diff.
//! Also the bound: ≤ 24 executed instructions for any system call
//! without argument checks.

use exile::seccomp::bpf::disassemble;
use exile::seccomp::compiler::{compile, compile_linear, stats};
use exile::vows::{filter_spec, VowOptions, Vows};

fn options() -> VowOptions {
    // No self pid: snapshots must not depend on the test's pid.
    VowOptions {
        self_pid: None,
        ..VowOptions::default()
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn every_single_vow() {
    for (name, vow) in Vows::names() {
        let spec = filter_spec(vow, &options()).expect("spec");
        let prog = compile(&spec).expect("compile");
        insta::assert_snapshot!(format!("vow_{name}"), disassemble(&prog));
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn common_set() {
    let vows: Vows = "stdio rpath wpath cpath inet unix thread".parse().unwrap();
    let spec = filter_spec(vows, &options()).expect("spec");
    let prog = compile(&spec).expect("compile");
    insta::assert_snapshot!("vow_common_set", disassemble(&prog));
}

#[test]
fn worst_case_instructions_for_unchecked_syscalls() {
    let vows: Vows = "stdio rpath wpath cpath inet unix thread".parse().unwrap();
    let spec = filter_spec(vows, &options()).expect("spec");
    let ours = stats(&compile(&spec).unwrap(), &spec).unwrap();
    let linear = stats(&compile_linear(&spec).unwrap(), &spec).unwrap();
    println!("ours:   {ours:?}");
    println!("linear: {linear:?}");
    assert!(
        ours.worst_allowed <= 24,
        "worst allowed path {} > 24",
        ours.worst_allowed
    );
    assert!(ours.worst <= 24, "worst constant path {} > 24", ours.worst);
    assert!(
        ours.allowed_paths_constant,
        "an allowed path loads arguments"
    );
    assert!(ours.mean_allowed < linear.mean_allowed);
}
