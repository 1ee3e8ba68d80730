//! Instruction counts from exile's interpreter: what a filter costs per
//! system call on a kernel that runs it (every kernel for argument-checked
//! and denied calls; kernels before 5.11, which have no constant-action
//! cache, for every call).

use exile::seccomp::bpf::SeccompData;
use exile::seccomp::rules::{Action, Arch, FilterSpec, X32_SYSCALL_BIT};
use exile::seccomp::syscalls;

use crate::peers::{self, Stack};
use crate::sets;

/// Cost figures of one compiler's output for one set (all arguments 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figures {
    /// Instructions in all the filters of the stack.
    pub len: usize,
    /// Filters in the stack (seccompiler needs one per action).
    pub filters: usize,
    /// Mean instructions executed by the constant-allowed calls (allowed
    /// whatever their arguments).
    pub mean: f64,
    /// Most instructions executed by any call without argument checks:
    /// every number in `0..=max(MAX_NR, highest listed)` whose action does
    /// not depend on arguments, plus numbers past the table and the x32
    /// range.
    pub worst: usize,
    /// Mean instructions executed by a denied number (no rule, or a constant
    /// non-allow action) in `0..=max`.
    pub denied: f64,
    /// Mean instructions executed by the argument-checked calls (arguments
    /// 0: indicative only, the path depends on the arguments).
    pub checked: f64,
}

/// A verdict that differs from the spec's: the figures would compare
/// unlike things.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// System call number.
    pub nr: u32,
    /// Arguments.
    pub args: [u64; 6],
    /// What the spec says.
    pub expected: u32,
    /// What the stack returned.
    pub got: u32,
}

/// Why figures could not be taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeasureError {
    /// A program the kernel would refuse.
    Invalid(String),
    /// A verdict that differs from the spec.
    Mismatch(Mismatch),
}

impl std::fmt::Display for MeasureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeasureError::Invalid(e) => write!(f, "invalid program: {e}"),
            MeasureError::Mismatch(m) => write!(
                f,
                "nr {} args {:x?}: spec says {:#x}, program returns {:#x}",
                m.nr, m.args, m.expected, m.got
            ),
        }
    }
}

impl std::error::Error for MeasureError {}

/// The highest number measured: the table's highest, or the spec's.
pub fn upper(spec: &FilterSpec) -> u32 {
    let listed = spec
        .syscalls
        .keys()
        .copied()
        .filter(|&nr| !(spec.arch == Arch::X86_64 && nr >= X32_SYSCALL_BIT))
        .max()
        .unwrap_or(0);
    syscalls::MAX_NR.max(listed)
}

/// Numbers past the table that every figure of `worst` includes.
pub fn extra_numbers(spec: &FilterSpec) -> [u32; 4] {
    [upper(spec) + 1, 0x3fff_ffff, X32_SYSCALL_BIT, u32::MAX]
}

/// Measure `stack` (compiled from `spec`) with the interpreter. Every
/// verdict on the way is checked against [`FilterSpec::evaluate`].
pub fn measure(stack: &Stack, spec: &FilterSpec) -> Result<Figures, MeasureError> {
    let programs = peers::programs(stack).map_err(|e| MeasureError::Invalid(e.to_string()))?;
    let arch = spec.arch.audit_arch();
    let top = upper(spec);
    let (mut allowed, mut sum_allowed) = (0usize, 0usize);
    let (mut denied, mut sum_denied) = (0usize, 0usize);
    let (mut checked, mut sum_checked) = (0usize, 0usize);
    let mut worst = 0;
    let args = [0u64; 6];
    for nr in (0..=top).chain(extra_numbers(spec)) {
        let (ret, executed) = peers::run_stack(&programs, &SeccompData::new(arch, nr, args));
        let expected = spec.evaluate(arch, nr, &args).to_ret();
        if ret != expected {
            return Err(MeasureError::Mismatch(Mismatch {
                nr,
                args,
                expected,
                got: ret,
            }));
        }
        let in_table = nr <= top;
        let x32 = spec.arch == Arch::X86_64 && nr >= X32_SYSCALL_BIT;
        if !x32 && sets::is_checked(spec, nr) {
            checked += 1;
            sum_checked += executed;
            continue;
        }
        worst = worst.max(executed);
        if !in_table {
            continue;
        }
        if ret == Action::Allow.to_ret() {
            allowed += 1;
            sum_allowed += executed;
        } else {
            denied += 1;
            sum_denied += executed;
        }
    }
    let mean = |sum: usize, n: usize| {
        if n == 0 {
            0.0
        } else {
            sum as f64 / n as f64
        }
    };
    Ok(Figures {
        len: stack.iter().map(Vec::len).sum(),
        filters: stack.len(),
        mean: mean(sum_allowed, allowed),
        worst,
        denied: mean(sum_denied, denied),
        checked: mean(sum_checked, checked),
    })
}

/// Instructions executed for the two calls `syscall_cost` times:
/// `getppid()` and `fcntl(3, F_GETFD)`.
pub fn probe_counts(stack: &Stack, spec: &FilterSpec) -> Result<(usize, usize), MeasureError> {
    let programs = peers::programs(stack).map_err(|e| MeasureError::Invalid(e.to_string()))?;
    let arch = spec.arch.audit_arch();
    let run = |nr: libc::c_long, args: [u64; 6]| {
        peers::run_stack(&programs, &SeccompData::new(arch, nr as u32, args)).1
    };
    Ok((
        run(libc::SYS_getppid, [0; 6]),
        run(libc::SYS_fcntl, [3, libc::F_GETFD as u64, 0, 0, 0, 0]),
    ))
}

/// Markdown: instructions executed by the `syscall_cost` probes, per set
/// (rows) and compiler (columns).
pub fn probe_markdown() -> String {
    let mut out = String::from("| set | probe |");
    for c in peers::Compiler::ALL {
        out.push_str(&format!(" {c} |"));
    }
    out.push_str("\n|---|---|");
    for _ in peers::Compiler::ALL {
        out.push_str("---:|");
    }
    out.push('\n');
    for set in sets::all() {
        let counts: Vec<Option<(usize, usize)>> = peers::Compiler::ALL
            .iter()
            .map(|c| {
                c.compile(&set.spec)
                    .ok()
                    .and_then(|s| probe_counts(&s, &set.spec).ok())
            })
            .collect();
        for (i, probe) in ["getppid", "fcntl(F_GETFD)"].iter().enumerate() {
            out.push_str(&format!("| {} | {probe} |", set.name));
            for c in &counts {
                let cell = c.map_or("–".to_owned(), |(g, f)| {
                    (if i == 0 { g } else { f }).to_string()
                });
                out.push_str(&format!(" {cell} |"));
            }
            out.push('\n');
        }
    }
    out
}

/// One row of the filter-cost table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Set name.
    pub set: &'static str,
    /// Compiler.
    pub compiler: peers::Compiler,
    /// The figures, or why there are none.
    pub figures: Result<Figures, String>,
}

/// Every set × compiler. A compiler that is not available here (libseccomp)
/// gets an `Err` row saying it was skipped.
pub fn table() -> Vec<Row> {
    let mut rows = Vec::new();
    for set in sets::all() {
        for compiler in peers::Compiler::ALL {
            let figures = compiler
                .compile(&set.spec)
                .map_err(|e| e.to_string())
                .and_then(|stack| measure(&stack, &set.spec).map_err(|e| e.to_string()));
            rows.push(Row {
                set: set.name,
                compiler,
                figures,
            });
        }
    }
    rows
}

/// A figure with at most two decimals, trailing zeros dropped
/// (deterministic: the same digits on every machine).
pub fn num(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

/// A row as one JSON line: `{"set","compiler","len","mean","worst","denied"}`
/// (`"skipped"` instead of the figures when there are none).
pub fn json_line(row: &Row) -> String {
    let esc = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    match &row.figures {
        Ok(f) => format!(
            "{{\"set\":{},\"compiler\":{},\"len\":{},\"mean\":{},\"worst\":{},\"denied\":{}}}",
            esc(row.set),
            esc(row.compiler.name()),
            f.len,
            num(f.mean),
            f.worst,
            num(f.denied)
        ),
        Err(why) => format!(
            "{{\"set\":{},\"compiler\":{},\"skipped\":{}}}",
            esc(row.set),
            esc(row.compiler.name()),
            esc(why)
        ),
    }
}

/// The rows as a markdown table.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| set | compiler | len | filters | mean allowed | worst | denied (mean) | arg-checked (mean, args 0) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        match &r.figures {
            Ok(f) => out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.set,
                r.compiler,
                f.len,
                f.filters,
                num(f.mean),
                f.worst,
                num(f.denied),
                if f.checked == 0.0 {
                    "–".to_owned()
                } else {
                    num(f.checked)
                }
            )),
            Err(why) => out.push_str(&format!(
                "| {} | {} | {why} | | | | | |\n",
                r.set, r.compiler
            )),
        }
    }
    out
}
