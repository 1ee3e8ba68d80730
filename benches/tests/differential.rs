//! Every compiler gives the verdict of the spec on a sample of (arch, nr,
//! args) for every set, so the figures compare like with like.

use exile::seccomp::bpf::SeccompData;
use exile::seccomp::rules::{ArgWidth, CmpOp, FilterSpec, X32_SYSCALL_BIT};
use exile_benches::peers::{self, Compiler};
use exile_benches::{measure, sets};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Values around a condition's constant that land on both sides of it.
fn near(width: ArgWidth, op: CmpOp, value: u64) -> Vec<u64> {
    let high = 0xdead_beef_0000_0000u64;
    let mut v = vec![
        value,
        value ^ 1,
        value.wrapping_add(1),
        value.wrapping_sub(1),
        value | high,
        value ^ (1 << 32),
        0,
        u64::MAX,
    ];
    if let CmpOp::MaskedEq(m) = op {
        v.push(value | !m);
        for bit in 0..64 {
            if m & (1 << bit) != 0 {
                v.push(value ^ (1 << bit));
            }
        }
    }
    if width == ArgWidth::W32 {
        v.push((value & 0xffff_ffff) | high);
    }
    v
}

/// Arguments for one call: zeros, each rule made to hold, each of its
/// conditions disturbed, and random values.
fn samples(spec: &FilterSpec, nr: u32, rng: &mut Rng) -> Vec<[u64; 6]> {
    let mut out = vec![[0u64; 6], [u64::MAX; 6]];
    for rule in spec.syscalls.get(&nr).into_iter().flatten() {
        // Arguments that satisfy every condition of the rule (when they can).
        let mut holds = [0u64; 6];
        for c in &rule.conds {
            let a = usize::from(c.arg);
            holds[a] = match c.op {
                CmpOp::Eq | CmpOp::Ge | CmpOp::Le => c.value,
                CmpOp::MaskedEq(_) => holds[a] | c.value,
                CmpOp::Ne => c.value ^ 1,
                CmpOp::Gt => c.value.wrapping_add(1),
                CmpOp::Lt => c.value.wrapping_sub(1),
            };
        }
        out.push(holds);
        for c in &rule.conds {
            for x in near(c.width, c.op, c.value) {
                let mut args = holds;
                args[usize::from(c.arg)] = x;
                out.push(args);
            }
        }
    }
    for _ in 0..8 {
        let mut args = [0u64; 6];
        for a in &mut args {
            *a = match rng.next() % 4 {
                0 => rng.next(),
                1 => rng.next() & 0xffff_ffff,
                2 => rng.next() % 64,
                _ => 1 << (rng.next() % 64),
            };
        }
        out.push(args);
    }
    out
}

#[test]
fn every_compiler_agrees_with_the_spec() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0usize;
    let mut skipped = Vec::new();
    for set in sets::all() {
        let spec = &set.spec;
        let native = spec.arch.audit_arch();
        let mut nrs: Vec<u32> = spec.syscalls.keys().copied().collect();
        nrs.extend([
            0,
            1,
            101,
            435,
            500,
            0x3fff_ffff,
            X32_SYSCALL_BIT,
            X32_SYSCALL_BIT + 39,
            u32::MAX,
        ]);
        let inputs: Vec<(u32, [u64; 6])> = nrs
            .iter()
            .flat_map(|&nr| {
                samples(spec, nr, &mut rng)
                    .into_iter()
                    .map(move |a| (nr, a))
            })
            .collect();
        for compiler in Compiler::ALL {
            let stack = match compiler.compile(spec) {
                Ok(s) => s,
                Err(e) if e.is_unavailable() => {
                    skipped.push(format!("{compiler}: {e}"));
                    continue;
                }
                Err(e) => panic!("{} / {compiler}: {e}", set.name),
            };
            let programs = peers::programs(&stack).expect("valid programs");
            for &(nr, args) in &inputs {
                for arch in [native, 0x4000_0003, 0xc000_00b7, 0xc000_003e] {
                    let (ret, _) = peers::run_stack(&programs, &SeccompData::new(arch, nr, args));
                    let want = spec.evaluate(arch, nr, &args).to_ret();
                    assert_eq!(
                        ret, want,
                        "{} / {compiler}: arch {arch:#x} nr {nr} args {args:x?}",
                        set.name
                    );
                    checked += 1;
                }
            }
        }
    }
    skipped.dedup();
    for s in &skipped {
        eprintln!("skipped: {s}");
    }
    eprintln!("{checked} verdicts compared");
    assert!(checked > 100_000, "only {checked} verdicts compared");
}

/// The figures themselves are taken only after every number's verdict was
/// checked (`measure` refuses a program that disagrees with the spec).
#[test]
fn measure_rejects_a_wrong_program() {
    let spec = sets::vow_set(sets::STDIO);
    let mut other = spec.clone();
    other.syscalls.remove(&(libc::SYS_getppid as u32));
    let stack = Compiler::Exile.compile(&other).unwrap();
    let err = measure::measure(&stack, &spec).unwrap_err();
    assert!(matches!(err, measure::MeasureError::Mismatch(m) if m.nr == libc::SYS_getppid as u32));
}
