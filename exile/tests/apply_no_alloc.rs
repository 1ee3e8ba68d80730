//! `Prepared::apply` must not allocate: it runs after `fork()` in
//! multi-threaded parents and in `Command::pre_exec`. A counting global
//! allocator checks it, in a forked child (the policy cannot be undone).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use exile::{Namespaces, Policy, Requirement, Resource};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Fork; in the child count allocations during `apply`; exit with the count
/// (255 when apply failed).
fn allocations_during_apply(policy: Policy) -> i32 {
    let prepared = policy.prepare().expect("prepare");
    // SAFETY: the child only calls apply (no allocation is the point) and _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        COUNTING.store(true, Ordering::Relaxed);
        let ok = prepared.apply().is_ok();
        COUNTING.store(false, Ordering::Relaxed);
        let n = ALLOCATIONS.load(Ordering::Relaxed).min(254) as i32;
        // SAFETY: leave the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { n } else { 255 }) }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
    libc::WEXITSTATUS(status)
}

#[test]
fn apply_of_process_hardening_does_not_allocate() {
    let policy = Policy::new()
        .close_fds(&[])
        .rlimit(Resource::Core, 0, 0)
        .no_new_fds()
        .drop_capabilities()
        .requirement(Requirement::BestEffort);
    assert_eq!(allocations_during_apply(policy), 0);
}

#[test]
fn apply_of_namespaces_does_not_allocate() {
    let policy = Policy::new()
        .namespaces(
            Namespaces::USER
                | Namespaces::NETWORK
                | Namespaces::IPC
                | Namespaces::UTS
                | Namespaces::MOUNT,
        )
        .requirement(Requirement::BestEffort);
    assert_eq!(allocations_during_apply(policy), 0);
}
