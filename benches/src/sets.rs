//! The rule sets every compiler is measured on.
//!
//! Three vow sets, compiled to a [`FilterSpec`] by
//! [`exile::vows::filter_spec`] with the default options (violation kills
//! the process, no self-signalling), and a custom allow-list of 300 system
//! calls without argument checks (the size of the filter in libseccomp's
//! binary-tree measurements, and of a container runtime's default profile).

use exile::seccomp::rules::{Action, FilterSpec, Rule};
use exile::seccomp::syscalls;
use exile::vows::{filter_spec, VowOptions, Vows};

/// `stdio`: the smallest useful vow set.
pub const STDIO: &str = "stdio";
/// A file-processing tool.
pub const FILES: &str = "stdio rpath wpath cpath";
/// A networked service that spawns programs.
pub const SERVICE: &str = "stdio rpath wpath cpath inet unix thread proc exec prot_exec";
/// Name of the custom allow-list.
pub const ALLOW_300: &str = "allow-list 300";

/// How many system calls [`allow_list_300`] allows.
pub const ALLOW_LIST_LEN: usize = 300;

/// System calls a container runtime's default profile refuses (Docker's
/// list, x86_64 names): the allow-list takes the first 300 of the others in
/// number order, so it has holes where real allow-lists have them.
const CONTAINER_DENIED: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "ioperm",
    "iopl",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "mount_setattr",
    "move_mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "personality",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "query_module",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "swapoff",
    "swapon",
    "sysfs",
    "_sysctl",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
    "vhangup",
];

/// A rule set to measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    /// Its name in tables (`"stdio rpath wpath cpath"`, `"allow-list 300"`).
    pub name: &'static str,
    /// The rules.
    pub spec: FilterSpec,
}

/// The [`FilterSpec`] of a vow string, with [`VowOptions::default`].
///
/// # Panics
///
/// If `vows` does not parse (the names here are constants).
pub fn vow_set(vows: &str) -> FilterSpec {
    let parsed: Vows = vows
        .parse()
        .unwrap_or_else(|e| panic!("vow set {vows:?}: {e}"));
    filter_spec(parsed, &VowOptions::default()).unwrap_or_else(|e| panic!("vow set {vows:?}: {e}"))
}

/// 300 system calls allowed without argument checks; everything else kills
/// the process.
pub fn allow_list_300() -> FilterSpec {
    let mut spec = FilterSpec::new(Action::KillProcess);
    let allowed = syscalls::all()
        .iter()
        .filter(|(name, _)| !CONTAINER_DENIED.contains(name))
        .take(ALLOW_LIST_LEN);
    for &(_, nr) in allowed {
        spec.add(nr, Rule::allow());
    }
    spec
}

/// The four sets, smallest first.
pub fn all() -> Vec<RuleSet> {
    vec![
        RuleSet {
            name: STDIO,
            spec: vow_set(STDIO),
        },
        RuleSet {
            name: FILES,
            spec: vow_set(FILES),
        },
        RuleSet {
            name: SERVICE,
            spec: vow_set(SERVICE),
        },
        RuleSet {
            name: ALLOW_300,
            spec: allow_list_300(),
        },
    ]
}

/// Whether a system call's entry in `spec` checks arguments (its first rule
/// has conditions). A call without an entry, or whose first rule is
/// unconditional, has a constant action.
pub fn is_checked(spec: &FilterSpec, nr: u32) -> bool {
    spec.syscalls
        .get(&nr)
        .and_then(|rules| rules.first())
        .is_some_and(|r| !r.conds.is_empty())
}

/// The system calls of `spec` that are allowed whatever their arguments.
pub fn constant_allowed(spec: &FilterSpec) -> Vec<u32> {
    spec.syscalls
        .iter()
        .filter(|(_, rules)| {
            rules
                .first()
                .is_some_and(|r| r.conds.is_empty() && r.action == Action::Allow)
        })
        .map(|(&nr, _)| nr)
        .collect()
}
