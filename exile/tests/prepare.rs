//! `prepare()` validates without changing the calling process: bad input is a
//! typed error, never a panic. (Nothing here is applied: policies are only
//! applied in forked children, see the conformance suite.)

use exile::error::{Conflict, IdKind};
use exile::features::LandlockStatus;
use exile::{Capability, Error, Features, Mechanism, Namespaces, Policy, Requirement, Resource};
use nix::errno::Errno;

#[test]
fn keep_list_fd_not_open() {
    let err = Policy::new().close_fds(&[4321]).prepare().unwrap_err();
    assert_eq!(err, Error::KeepFdNotOpen { fd: 4321 });
    assert!(err.to_string().contains("4321"), "{err}");
}

#[test]
fn keep_list_negative_fd() {
    let err = Policy::new().close_fds(&[-3]).prepare().unwrap_err();
    assert_eq!(err, Error::InvalidFd { fd: -3 });
}

#[test]
fn keep_list_open_fd_is_fine() {
    let file = std::fs::File::open("/dev/null").unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    Policy::new().close_fds(&[fd]).prepare().unwrap();
}

#[test]
fn uid_map_with_id_not_owned() {
    let own = nix::unistd::geteuid().as_raw();
    let other = own.wrapping_add(4242);
    let err = Policy::new()
        .namespaces(Namespaces::USER)
        .uid_map(0, other)
        .prepare()
        .unwrap_err();
    assert_eq!(
        err,
        Error::IdNotOwned {
            kind: IdKind::Uid,
            id: other,
            own
        }
    );
}

#[test]
fn gid_map_with_id_not_owned() {
    let own = nix::unistd::getegid().as_raw();
    let other = own.wrapping_add(17);
    let err = Policy::new()
        .namespaces(Namespaces::USER)
        .gid_map(0, other)
        .prepare()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::IdNotOwned {
                kind: IdKind::Gid,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn id_map_without_user_namespace_conflicts() {
    let err = Policy::new()
        .namespaces(Namespaces::empty())
        .map_uid(0)
        .prepare()
        .unwrap_err();
    assert_eq!(err, Error::Conflict(Conflict::IdMapWithoutUserNamespace));
}

#[test]
fn rlimit_soft_above_hard() {
    let err = Policy::new()
        .rlimit(Resource::Core, 10, 5)
        .prepare()
        .unwrap_err();
    match err {
        Error::Rlimit { resource, problem } => {
            assert_eq!(resource, "RLIMIT_CORE");
            assert!(problem.contains("soft limit 10"), "{problem}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn unknown_capability_name() {
    assert!(
        matches!("CAP_FLY".parse::<Capability>(), Err(Error::UnknownCapability(n)) if n == "CAP_FLY")
    );
}

#[test]
fn hard_namespace_without_privilege_or_userns_is_refused_at_prepare() {
    // Features as an unprivileged process on a machine where user
    // namespaces are blocked would see them.
    let mut features = Features::detect();
    features.cap_sys_admin = false;
    features.user_namespaces = Err(exile::features::UsernsBlock::MaxUserNamespacesZero);
    let err = Policy::new()
        .namespaces(Namespaces::NETWORK | Namespaces::AUTOMATIC)
        .prepare_with(&features)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unavailable {
                mechanism: Mechanism::UserNamespace,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("max_user_namespaces"), "{err}");

    // Best effort: prepared, and the report says what is missing and why.
    let prepared = Policy::new()
        .namespaces(Namespaces::NETWORK | Namespaces::AUTOMATIC)
        .requirement(Requirement::BestEffort)
        .prepare_with(&features)
        .unwrap();
    let _ = prepared;
}

#[test]
fn features_agree_with_the_kernel() {
    let f = Features::detect();
    // Landlock: the raw syscall decides.
    // SAFETY: landlock_create_ruleset with the VERSION flag reads no memory.
    let raw = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    if raw >= 0 {
        assert_eq!(i64::from(f.landlock.abi), raw);
        assert_eq!(f.landlock.status, LandlockStatus::Enabled);
    } else {
        assert_eq!(f.landlock.abi, 0);
        match Errno::last() {
            Errno::ENOSYS => assert_eq!(f.landlock.status, LandlockStatus::NotBuilt),
            Errno::EOPNOTSUPP => assert_eq!(f.landlock.status, LandlockStatus::NotEnabled),
            e => assert_eq!(f.landlock.status, LandlockStatus::Error(e as i32)),
        }
    }
    // close_range: closing nothing succeeds where it exists.
    // SAFETY: close_range over an fd range that holds no open fd.
    let cr = unsafe { libc::syscall(libc::SYS_close_range, u32::MAX, u32::MAX, 0) };
    assert_eq!(f.close_range, cr == 0);
    // KILL_PROCESS availability.
    let action: u32 = 0x8000_0000;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32.
    let avail = unsafe { libc::syscall(libc::SYS_seccomp, 2, 0, &action as *const u32) };
    assert_eq!(f.kill_process, avail == 0);
    // The features round-trip through JSON (the VM protocol).
    let json = serde_json::to_string(&f).unwrap();
    let back: Features = serde_json::from_str(&json).unwrap();
    assert_eq!(back, f);
}
