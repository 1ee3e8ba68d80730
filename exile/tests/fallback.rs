//! The mount-namespace fallback (`Policy::force_fallback`), through the
//! public API: reads, writes, exec, rename, mknod, `no_fs`, `chdir`, nested
//! rules, a `/` rule with its submounts, a path swapped after prepare, no
//! allocation in apply, and nothing left behind after 1,000 runs. (The
//! branch for roots where `pivot_root` is impossible is tested in the
//! module's unit tests.)
//!
//! Every policy is applied in a forked child, never in the test process;
//! each scenario runs as root and again as uid/gid 65534 (the child drops
//! to it before `prepare`, so the fallback goes through an unprivileged
//! user namespace). The child reports a failure as a message through a
//! pipe. Tests take one lock first (fork from a quiet process; the fixture
//! and the 1,000-run count are not disturbed by other tests).

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::CString;
use std::fmt::Debug;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use exile::error::Step;
use exile::report::Via;
use exile::{Error, Fs, Mechanism, Policy, Requirement, Status};
use nix::errno::Errno;

// ---------------------------------------------------------------------------
// Counting allocator (only counts while COUNTING is set, in a child).

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

// ---------------------------------------------------------------------------
// Harness.

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Who the child is when it prepares and applies the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Root,
    Nobody,
}

const BOTH: [Who; 2] = [Who::Root, Who::Nobody];
const NOBODY: libc::uid_t = 65534;

/// Drop to uid/gid 65534 with no supplementary groups.
fn become_nobody() -> Result<(), String> {
    // SAFETY: plain credential syscalls on this (single-threaded) child.
    let r = unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            -1
        } else if libc::setresgid(NOBODY, NOBODY, NOBODY) != 0 {
            -2
        } else {
            libc::setresuid(NOBODY, NOBODY, NOBODY)
        }
    };
    if r != 0 {
        return Err(format!("dropping to 65534 ({r}): {}", Errno::last()));
    }
    Ok(())
}

/// Fork; the child becomes `who`, runs `f` and exits 0, or 1 after writing
/// the failure through a pipe. Returns the child's verdict.
fn in_child(who: Who, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
    // SAFETY: the child runs the scenario and leaves with _exit; the test
    // process holds the lock, so no other test thread is working.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", Errno::last());
    if pid == 0 {
        drop(r);
        let result = match who {
            Who::Root => Ok(()),
            Who::Nobody => become_nobody(),
        }
        .and_then(|()| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .unwrap_or_else(|_| Err("the scenario panicked".into()))
        });
        let code = match result {
            Ok(()) => 0,
            Err(msg) => {
                let mut w = std::fs::File::from(w);
                let _ = w.write_all(msg.as_bytes());
                1
            }
        };
        // SAFETY: leave the child without running the parent's destructors.
        unsafe { libc::_exit(code) }
    }
    drop(w);
    let mut msg = String::new();
    let _ = std::fs::File::from(r).read_to_string(&mut msg);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if !msg.is_empty() {
        Err(msg)
    } else if libc::WIFSIGNALED(status) {
        Err(format!(
            "the child was killed by signal {}",
            libc::WTERMSIG(status)
        ))
    } else {
        Err(format!(
            "the child exited with {}",
            libc::WEXITSTATUS(status)
        ))
    }
}

/// Run the scenario as root and as 65534; panic with every failure.
fn as_both(name: &str, scenario: impl Fn(Who) -> Result<(), String>) {
    let failures: Vec<String> = BOTH
        .iter()
        .filter_map(|&who| {
            in_child(who, || scenario(who))
                .err()
                .map(|e| format!("{name} as {who:?}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Prepare and apply `policy`; check the fallback is what enforces it.
fn sandbox(policy: Policy) -> Result<(), String> {
    let prepared = policy.prepare().map_err(|e| format!("prepare: {e}"))?;
    let report = prepared.apply().map_err(|e| format!("apply: {e}"))?;
    let entry = report.entry(Mechanism::Filesystem);
    if entry.status != Status::Enforced || entry.via != Some(Via::MountNamespace) {
        return Err(format!(
            "filesystem not enforced by the fallback: {entry:?}"
        ));
    }
    Ok(())
}

fn expect_err<T: Debug>(what: &str, r: io::Result<T>, want: Errno) -> Result<(), String> {
    match r {
        Ok(v) => Err(format!("{what}: succeeded ({v:?}), expected {want}")),
        Err(e) if e.raw_os_error() == Some(want as i32) => Ok(()),
        Err(e) => Err(format!("{what}: {e}, expected {want}")),
    }
}

fn expect_ok<T>(what: &str, r: io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: {e}"))
}

fn errno_result(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("no NUL")
}

// ---------------------------------------------------------------------------
// Fixture: a fresh directory under the temp dir, removed on drop.

/// ```text
/// <root>/            0755
///   ro/              0755  readable ("hello", 0644), writable (0666), sub/
///   rw/              0777  sub/ (0777)
///   rw2/             0777
///   bin/true         0755  a copy of /bin/true
///   secret           0644  never allowed
/// ```
struct Fixture {
    root: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "exile-fallback-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod")
        };
        for d in ["ro/sub", "rw/sub", "rw2", "bin"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        mode(&root, 0o755);
        for d in ["rw", "rw/sub", "rw2"] {
            mode(&root.join(d), 0o777);
        }
        std::fs::write(root.join("ro/readable"), b"hello").expect("write");
        std::fs::write(root.join("ro/writable"), b"").expect("write");
        mode(&root.join("ro/writable"), 0o666);
        std::fs::write(root.join("ro/sub/inner"), b"inner").expect("write");
        std::fs::write(root.join("secret"), b"secret").expect("write");
        std::fs::copy("/bin/true", root.join("bin/true")).expect("copy /bin/true");
        mode(&root.join("bin/true"), 0o755);
        Fixture { root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The policy every scenario starts from.
fn fallback() -> Policy {
    Policy::new().force_fallback()
}

// ---------------------------------------------------------------------------
// Scenarios.

#[test]
fn read_allowed_and_everything_else_missing() {
    let _g = serial();
    let fx = Fixture::new("read");
    as_both("read", |_| {
        sandbox(fallback().allow_path(fx.path("ro"), Fs::READ))?;
        let text = expect_ok("read ro/readable", std::fs::read(fx.path("ro/readable")))?;
        if text != b"hello" {
            return Err(format!("ro/readable: {text:?}"));
        }
        expect_ok("list ro", std::fs::read_dir(fx.path("ro")))?;
        expect_err(
            "read secret",
            std::fs::read(fx.path("secret")),
            Errno::ENOENT,
        )?;
        expect_err(
            "read /etc/passwd",
            std::fs::read("/etc/passwd"),
            Errno::ENOENT,
        )?;
        expect_err("exec dir", std::fs::metadata(fx.path("bin")), Errno::ENOENT)?;
        // The root holds only the way to the rule.
        let top: Vec<_> = expect_ok("list /", std::fs::read_dir("/"))?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        let first = fx
            .root
            .components()
            .nth(1)
            .map(|c| c.as_os_str().to_owned());
        if top.len() != 1 || Some(&top[0]) != first.as_ref() {
            return Err(format!("/ holds {top:?}"));
        }
        Ok(())
    });
}

#[test]
fn file_and_device_rules() {
    let _g = serial();
    let fx = Fixture::new("files");
    as_both("files", |_| {
        sandbox(
            fallback()
                .allow_path(fx.path("ro/writable"), Fs::READ_FILE)
                .allow_path(
                    "/dev/null",
                    Fs::READ_FILE | Fs::WRITE_FILE | Fs::TRUNCATE | Fs::IOCTL_DEV,
                ),
        )?;
        expect_ok("read the file rule", std::fs::read(fx.path("ro/writable")))?;
        let open_w = |p: &Path| std::fs::OpenOptions::new().write(true).open(p);
        // Mode 0666: only the read-only mount refuses.
        expect_err(
            "write the file rule",
            open_w(&fx.path("ro/writable")),
            Errno::EROFS,
        )?;
        expect_err(
            "its sibling",
            std::fs::read(fx.path("ro/readable")),
            Errno::ENOENT,
        )?;
        let mut null = expect_ok("open /dev/null", open_w(Path::new("/dev/null")))?;
        expect_ok("write /dev/null", null.write_all(b"x"))?;
        expect_err("/dev/zero", std::fs::File::open("/dev/zero"), Errno::ENOENT)
    });
}

#[test]
fn the_original_mounts_locked_flags_are_kept() {
    // A noexec, nodev, nosuid, noatime mount: in the user namespace its
    // flags are locked, so the remount must keep them (or fail with EPERM);
    // as root they are kept too. EXECUTE asked there is not granted.
    let _g = serial();
    let fx = Fixture::new("locked");
    let dir = fx.path("rw2");
    for who in BOTH {
        in_child(Who::Root, || {
            use nix::mount::MsFlags;
            let none = None::<&str>;
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(|e| e.to_string())?;
            nix::mount::mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
                .map_err(|e| format!("private: {e}"))?;
            let flags =
                MsFlags::MS_NOEXEC | MsFlags::MS_NODEV | MsFlags::MS_NOSUID | MsFlags::MS_NOATIME;
            nix::mount::mount(
                Some("locked"),
                &dir,
                Some("tmpfs"),
                flags,
                Some("mode=0777"),
            )
            .map_err(|e| format!("tmpfs: {e}"))?;
            std::fs::write(dir.join("prog"), b"").map_err(|e| e.to_string())?;
            std::fs::set_permissions(dir.join("prog"), std::fs::Permissions::from_mode(0o777))
                .map_err(|e| e.to_string())?;
            if who == Who::Nobody {
                become_nobody()?;
            }
            sandbox(fallback().allow_path(&dir, Fs::READ | Fs::ALL_WRITE | Fs::EXEC))?;
            let st = nix::sys::statvfs::statvfs(&dir).map_err(|e| e.to_string())?;
            use nix::sys::statvfs::FsFlags;
            let want =
                FsFlags::ST_NOEXEC | FsFlags::ST_NODEV | FsFlags::ST_NOSUID | FsFlags::ST_NOATIME;
            if !st.flags().contains(want) || st.flags().contains(FsFlags::ST_RDONLY) {
                return Err(format!("{who:?}: flags {:?}", st.flags()));
            }
            expect_ok("write", std::fs::write(dir.join("new"), b"x"))?;
            match exec(&dir.join("prog")) {
                Err(e) if e.contains("Permission denied") => Ok(()),
                other => Err(format!("{who:?}: exec on a noexec original: {other:?}")),
            }
        })
        .unwrap_or_else(|e| panic!("as {who:?}: {e}"));
    }
}

#[test]
fn write_to_a_read_only_rule_is_erofs() {
    let _g = serial();
    let fx = Fixture::new("erofs");
    as_both("erofs", |_| {
        sandbox(fallback().allow_path(fx.path("ro"), Fs::READ))?;
        let open_w = |p: PathBuf| std::fs::OpenOptions::new().write(true).open(p);
        expect_err(
            "open ro/writable for writing",
            open_w(fx.path("ro/writable")),
            Errno::EROFS,
        )?;
        expect_err(
            "create in ro",
            std::fs::write(fx.path("ro/new"), b"x"),
            Errno::EROFS,
        )?;
        expect_err(
            "mkdir in ro",
            std::fs::create_dir(fx.path("ro/d")),
            Errno::EROFS,
        )?;
        expect_err(
            "unlink in ro",
            std::fs::remove_file(fx.path("ro/readable")),
            Errno::EROFS,
        )?;
        // Outside the rules the root tmpfs is read-only too.
        expect_err("mkdir /new", std::fs::create_dir("/new"), Errno::EROFS)?;
        Ok(())
    });
    assert_eq!(std::fs::read(fx.path("ro/readable")).unwrap(), b"hello");
}

/// The sandboxed process holds capabilities in the user namespace the
/// fallback created (or is root): it must not be able to undo the binds —
/// remount a read-only rule read-write or executable, unmount a rule to
/// reach what is below, or mount something new.
#[test]
fn the_fallback_mounts_cannot_be_undone() {
    let _g = serial();
    let fx = Fixture::new("undo");
    as_both("undo", |_| {
        sandbox(fallback().allow_path(fx.path("ro"), Fs::READ))?;
        let ro = cstr(&fx.path("ro"));
        let remount = |flags: libc::c_ulong| {
            // SAFETY: NUL-terminated path; null source/type/data.
            errno_result(unsafe {
                libc::mount(
                    std::ptr::null(),
                    ro.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REMOUNT | libc::MS_BIND | flags,
                    std::ptr::null(),
                )
            })
        };
        expect_err("remount ro read-write", remount(0), Errno::EPERM)?;
        expect_err("remount ro exec", remount(libc::MS_RDONLY), Errno::EPERM)?;
        // SAFETY: NUL-terminated path.
        let umount = errno_result(unsafe { libc::umount2(ro.as_ptr(), libc::MNT_DETACH) });
        expect_err("umount ro", umount, Errno::EPERM)?;
        let tmpfs = c"tmpfs";
        // SAFETY: NUL-terminated strings; null data.
        let mounted = errno_result(unsafe {
            libc::mount(
                tmpfs.as_ptr(),
                ro.as_ptr(),
                tmpfs.as_ptr(),
                0,
                std::ptr::null(),
            )
        });
        expect_err("mount a tmpfs over ro", mounted, Errno::EPERM)?;
        expect_err(
            "open ro/writable for writing",
            std::fs::OpenOptions::new()
                .write(true)
                .open(fx.path("ro/writable")),
            Errno::EROFS,
        )?;
        Ok(())
    });
}

/// Keeping CAP_SYS_ADMIN would make the fallback undoable: a typed
/// conflict at prepare. Without a keep-list, the report says capabilities
/// were added for the filesystem rules.
#[test]
fn the_fallback_drops_cap_sys_admin() {
    let _g = serial();
    let fx = Fixture::new("sysadmin");
    let err = fallback()
        .allow_path(fx.path("ro"), Fs::READ)
        .keep_capabilities(&[exile::Capability::SYS_ADMIN])
        .prepare()
        .expect_err("keeping CAP_SYS_ADMIN with the fallback");
    assert!(
        matches!(
            err,
            Error::Conflict(exile::error::Conflict::FallbackKeepsSysAdmin)
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("CAP_SYS_ADMIN"), "{err}");
    as_both("sysadmin", |_| {
        let prepared = fallback()
            .allow_path(fx.path("ro"), Fs::READ)
            .prepare()
            .map_err(|e| format!("prepare: {e}"))?;
        let report = prepared.apply().map_err(|e| format!("apply: {e}"))?;
        let caps = report.entry(Mechanism::Capabilities);
        if caps.status != Status::Enforced || caps.added_for != Some(Mechanism::Filesystem) {
            return Err(format!(
                "capabilities not dropped for the fallback: {caps:?}"
            ));
        }
        // /proc is not among the rules: ask capget(2) directly.
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        let mut header = Header {
            version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
            pid: 0,
        };
        let mut data = [Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        // SAFETY: a valid header and the two-element array version 3 wants.
        let r = unsafe {
            libc::syscall(
                libc::SYS_capget,
                &mut header as *mut Header,
                data.as_mut_ptr(),
            )
        };
        errno_result(r as libc::c_int).map_err(|e| format!("capget: {e}"))?;
        let admin = 1u32 << 21;
        if data[0].effective & admin != 0 || data[0].permitted & admin != 0 {
            return Err(format!(
                "CAP_SYS_ADMIN still held: {:#x}",
                data[0].permitted
            ));
        }
        Ok(())
    });
}

#[test]
fn create_and_remove_in_a_writable_dir() {
    let _g = serial();
    let fx = Fixture::new("rw");
    as_both("rw", |who| {
        sandbox(fallback().allow_path(fx.path("rw"), Fs::READ | Fs::ALL_WRITE))?;
        let f = fx.path("rw/file");
        expect_ok("create", std::fs::write(&f, b"data"))?;
        expect_ok("mkdir", std::fs::create_dir(fx.path("rw/dir")))?;
        expect_ok("rename within", std::fs::rename(&f, fx.path("rw/sub/file")))?;
        expect_ok(
            "symlink",
            std::os::unix::fs::symlink("sub/file", fx.path("rw/link")),
        )?;
        expect_ok("unlink link", std::fs::remove_file(fx.path("rw/link")))?;
        expect_ok("unlink", std::fs::remove_file(fx.path("rw/sub/file")))?;
        expect_ok("rmdir", std::fs::remove_dir(fx.path("rw/dir")))?;
        // Not executable: the rule has no EXECUTE.
        let script = fx.path(&format!("rw/script-{who:?}"));
        expect_ok(
            "create script",
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o755)
                .open(&script),
        )?;
        let prog = cstr(&script);
        let argv = [prog.as_ptr(), std::ptr::null()];
        // SAFETY: NULL-terminated argv of valid strings; returns on failure.
        let r = errno_result(unsafe { libc::execv(prog.as_ptr(), argv.as_ptr()) });
        expect_err("exec in a noexec rule", r, Errno::EACCES)?;
        Ok(())
    });
    assert!(std::fs::read_dir(fx.path("rw/sub"))
        .unwrap()
        .next()
        .is_none());
    assert!(!fx.path("rw/dir").exists() && !fx.path("rw/file").exists());
}

/// Exec a file; if exec works the child *is* `true` and exits 0.
fn exec(path: &Path) -> Result<(), String> {
    let prog = cstr(path);
    let argv = [prog.as_ptr(), std::ptr::null()];
    // SAFETY: NULL-terminated argv of valid strings; returns only on failure.
    let r = unsafe { libc::execv(prog.as_ptr(), argv.as_ptr()) };
    Err(format!(
        "exec {}: {r} {}",
        path.display(),
        io::Error::last_os_error()
    ))
}

#[test]
fn exec_allowed() {
    let _g = serial();
    let fx = Fixture::new("exec");
    // /lib64 and /lib are symbolic links on merged-/usr systems: the new
    // root gets the same links, so the ELF interpreter's path (and the link
    // it is) still resolve.
    as_both("exec allowed", |_| {
        sandbox(
            fallback()
                .allow_path("/usr", Fs::READ | Fs::EXEC)
                .allow_path("/lib64", Fs::READ | Fs::EXEC)
                .allow_path("/lib", Fs::READ | Fs::EXEC)
                .allow_path(fx.path("bin"), Fs::READ | Fs::EXEC),
        )?;
        exec(&fx.path("bin/true"))
    });
}

#[test]
fn exec_denied_without_execute() {
    let _g = serial();
    let fx = Fixture::new("noexec");
    as_both("exec denied", |_| {
        sandbox(
            fallback()
                .allow_path("/usr", Fs::READ | Fs::EXEC)
                .allow_path("/lib64", Fs::READ | Fs::EXEC)
                .allow_path("/lib", Fs::READ | Fs::EXEC)
                .allow_path(fx.path("bin"), Fs::READ),
        )?;
        match exec(&fx.path("bin/true")) {
            Err(e) if e.contains("Permission denied") => Ok(()),
            other => Err(format!("expected EACCES: {other:?}")),
        }
    });
}

#[test]
fn rename_across_two_allowed_dirs_is_exdev() {
    let _g = serial();
    let fx = Fixture::new("exdev");
    as_both("exdev", |_| {
        sandbox(
            fallback()
                .allow_path(fx.path("rw"), Fs::READ | Fs::ALL_WRITE)
                .allow_path(fx.path("rw2"), Fs::READ | Fs::ALL_WRITE),
        )?;
        expect_ok("create", std::fs::write(fx.path("rw/a"), b"a"))?;
        expect_err(
            "rename to the other mount",
            std::fs::rename(fx.path("rw/a"), fx.path("rw2/a")),
            Errno::EXDEV,
        )?;
        expect_ok("cleanup", std::fs::remove_file(fx.path("rw/a")))
    });
}

#[test]
fn mknod_of_a_device_is_denied() {
    let _g = serial();
    let fx = Fixture::new("mknod");
    as_both("mknod", |_| {
        // As real root there is no user namespace: the capability to create
        // devices must be dropped (the fallback cannot deny it by itself).
        sandbox(
            fallback()
                .allow_path(fx.path("rw"), Fs::READ | Fs::ALL_WRITE)
                .drop_capabilities(),
        )?;
        let node = cstr(&fx.path("rw/null"));
        // SAFETY: a valid path; mknod only reads it.
        let r = errno_result(unsafe {
            libc::mknod(node.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3))
        });
        expect_err("mknod a char device", r, Errno::EPERM)?;
        // A fifo is part of ALL_WRITE.
        let fifo = cstr(&fx.path("rw/fifo"));
        // SAFETY: a valid path; mkfifo only reads it.
        let r = errno_result(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) });
        expect_ok("mkfifo", r)?;
        expect_ok("unlink fifo", std::fs::remove_file(fx.path("rw/fifo")))
    });
}

#[test]
fn no_fs_leaves_an_empty_read_only_root_and_stdin_open() {
    let _g = serial();
    as_both("no_fs", |_| {
        // stdin: a pipe with data in it.
        let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
        nix::unistd::write(&w, b"ping").map_err(|e| format!("write: {e}"))?;
        drop(w);
        // SAFETY: dup2 onto fd 0; the old stdin is replaced on purpose.
        let dup = errno_result(unsafe { libc::dup2(r.as_raw_fd(), 0) });
        expect_ok("dup2", dup)?;
        drop(r);
        sandbox(fallback().no_fs())?;
        expect_err(
            "open /etc/passwd",
            std::fs::read("/etc/passwd"),
            Errno::ENOENT,
        )?;
        let entries = expect_ok("list /", std::fs::read_dir("/"))?.count();
        if entries != 0 {
            return Err(format!("/ has {entries} entries"));
        }
        expect_err("mkdir /x", std::fs::create_dir("/x"), Errno::EROFS)?;
        let cwd = expect_ok("getcwd", std::env::current_dir())?;
        if cwd != Path::new("/") {
            return Err(format!("cwd {}", cwd.display()));
        }
        // SAFETY: fd 0 is borrowed for one read and not closed.
        let mut stdin = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
        let mut buf = [0u8; 8];
        let n = expect_ok("read stdin", stdin.read(&mut buf))?;
        if &buf[..n] != b"ping" {
            return Err(format!("stdin gave {:?}", &buf[..n]));
        }
        Ok(())
    });
}

#[test]
fn chdir_is_honoured() {
    let _g = serial();
    let fx = Fixture::new("chdir");
    as_both("chdir", |_| {
        sandbox(
            fallback()
                .allow_path(fx.path("ro"), Fs::READ)
                .chdir(fx.path("ro/sub")),
        )?;
        let cwd = expect_ok("getcwd", std::env::current_dir())?;
        let want = std::fs::canonicalize(fx.path("ro/sub")).unwrap_or_default();
        if cwd != want {
            return Err(format!(
                "cwd {} instead of {}",
                cwd.display(),
                want.display()
            ));
        }
        let text = expect_ok("read a relative path", std::fs::read("inner"))?;
        (text == b"inner")
            .then_some(())
            .ok_or("wrong content".into())
    });
    // Outside every allowed directory: refused at prepare, with the path.
    let err = fallback()
        .allow_path(fx.path("ro"), Fs::READ)
        .chdir(fx.path("rw"))
        .prepare()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Path { path, .. } if path == &fx.path("rw")),
        "{err}"
    );
}

#[test]
fn nested_rules_mount_the_deeper_one_on_top() {
    let _g = serial();
    let fx = Fixture::new("nested");
    as_both("nested", |_| {
        sandbox(
            fallback()
                .allow_path(fx.path("rw"), Fs::READ | Fs::ALL_WRITE)
                .allow_path(&fx.root, Fs::READ),
        )?;
        expect_ok(
            "read secret (under the READ rule)",
            std::fs::read(fx.path("secret")),
        )?;
        expect_err(
            "write under the READ rule",
            std::fs::write(fx.path("new"), b"x"),
            Errno::EROFS,
        )?;
        expect_ok(
            "write under the deeper rule",
            std::fs::write(fx.path("rw/new"), b"x"),
        )?;
        expect_ok("cleanup", std::fs::remove_file(fx.path("rw/new")))
    });
}

#[test]
fn root_rule_restricts_its_submounts_and_shows_the_real_tree() {
    let _g = serial();
    let fx = Fixture::new("slash");
    let mnt_outside: Vec<_> = std::fs::read_dir("/mnt")
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let shm = Path::new("/dev/shm");
    let shm_is_mount = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/dev/shm") && l.contains(" - tmpfs "));
    as_both("slash", |who| {
        let policy = fallback()
            .allow_path("/", Fs::READ | Fs::EXEC)
            .allow_path(fx.path("rw"), Fs::READ | Fs::ALL_WRITE);
        // Root without a user namespace would see the host's /proc, whose
        // /proc/PID/root reaches outside: refused; with one it works.
        let policy = if matches!(who, Who::Root) {
            match policy.clone().prepare() {
                Err(Error::Path { path, .. }) if path == Path::new("/") => {}
                other => return Err(format!("root, / rule, no user namespace: {other:?}")),
            }
            policy.namespaces(exile::Namespaces::USER)
        } else {
            policy
        };
        sandbox(policy)?;
        expect_ok("read /etc/passwd", std::fs::read("/etc/passwd"))?;
        expect_err(
            "write /etc",
            std::fs::write("/etc/exile-x", b"x"),
            Errno::EROFS,
        )?;
        expect_ok("write the rw rule", std::fs::write(fx.path("rw/x"), b"x"))?;
        expect_ok("cleanup", std::fs::remove_file(fx.path("rw/x")))?;
        if shm_is_mount {
            // A writable submount of /, copied by the recursive bind.
            expect_err(
                "write /dev/shm",
                std::fs::write(shm.join("exile-x"), b"x"),
                Errno::EROFS,
            )?;
        }
        // The staging directory (here not /tmp, which leads to a rule) is
        // not copied into the new root: the real one shows.
        if let Ok(d) = std::fs::read_dir("/mnt") {
            let inside: Vec<_> = d.filter_map(Result::ok).map(|e| e.file_name()).collect();
            if inside != mnt_outside {
                return Err(format!("/mnt shows {inside:?}, not {mnt_outside:?}"));
            }
        }
        Ok(())
    });
}

#[test]
fn a_path_swapped_after_prepare_is_refused() {
    let _g = serial();
    let fx = Fixture::new("swap");
    as_both("swap", |who| {
        let dir = fx.path(&format!("rw/swap-{who:?}"));
        expect_ok("mkdir", std::fs::create_dir(&dir))?;
        let prepared = fallback()
            .allow_path(&dir, Fs::READ)
            .prepare()
            .map_err(|e| format!("prepare: {e}"))?;
        // Replace the directory by a symbolic link to the secret's directory.
        let old = fx.path(&format!("rw/old-{who:?}"));
        expect_ok("rename", std::fs::rename(&dir, old))?;
        expect_ok("symlink", std::os::unix::fs::symlink(&fx.root, &dir))?;
        match prepared.apply() {
            Err(Error::Apply {
                step: Step::BindMount,
                errno,
                ..
            }) if errno == Errno::ESTALE as i32 => Ok(()),
            other => Err(format!("apply should refuse the swapped path: {other:?}")),
        }
    });
}

#[test]
fn hard_refuses_and_best_effort_reports_what_the_mounts_grant_beyond() {
    let _g = serial();
    let fx = Fixture::new("excess");
    let err = fallback()
        .allow_path(fx.path("rw"), Fs::WRITE_FILE)
        .prepare()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Path { path, .. } if path == &fx.path("rw")),
        "{err}"
    );
    let prepared = fallback()
        .allow_path(fx.path("rw"), Fs::WRITE_FILE)
        .requirement_for(Mechanism::Filesystem, Requirement::BestEffort)
        .prepare()
        .unwrap();
    in_child(Who::Root, || {
        let report = prepared.apply().map_err(|e| e.to_string())?;
        match report.status(Mechanism::Filesystem) {
            Status::Partial { .. } => Ok(()),
            other => Err(format!("expected a partial status: {other:?}")),
        }
    })
    .unwrap();
}

#[test]
fn apply_does_not_allocate() {
    let _g = serial();
    let fx = Fixture::new("alloc");
    as_both("alloc", |_| {
        let prepared = fallback()
            .allow_path("/usr", Fs::READ | Fs::EXEC)
            .allow_path("/lib64", Fs::READ | Fs::EXEC)
            .allow_path(fx.path("rw"), Fs::READ | Fs::ALL_WRITE)
            .allow_path(fx.path("ro/readable"), Fs::READ_FILE)
            .chdir(fx.path("rw"))
            .prepare()
            .map_err(|e| format!("prepare: {e}"))?;
        COUNTING.store(true, Ordering::Relaxed);
        let r = prepared.apply();
        COUNTING.store(false, Ordering::Relaxed);
        let n = ALLOCATIONS.load(Ordering::Relaxed);
        r.map_err(|e| format!("apply: {e}"))?;
        if n != 0 {
            return Err(format!("apply made {n} allocations"));
        }
        Ok(())
    });
}

/// Entries of a directory, sorted.
fn entries(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn mountinfo() -> String {
    std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo")
}

const RUNS: usize = 1000;

/// In a child with its own mount namespace (shared within, so a mount a
/// grandchild leaks would show here) and its own empty tmpfs on /tmp (so
/// other processes of this machine cannot disturb the count — and a
/// directory the fallback left would land exactly there), run the policy in
/// 1,000 forked grandchildren (fork + apply + _exit) as `who`; compare /tmp
/// and the child's mountinfo before and after.
fn thousand_runs(who: Who) -> Result<String, String> {
    use nix::mount::MsFlags;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(|e| e.to_string())?;
    let none = None::<&str>;
    nix::mount::mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
        .map_err(|e| format!("private: {e}"))?;
    nix::mount::mount(
        Some("tmp"),
        "/tmp",
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=1777"),
    )
    .map_err(|e| format!("tmpfs on /tmp: {e}"))?;
    // Shared: a mount a grandchild failed to keep private would propagate
    // back here and show in this namespace's mountinfo.
    nix::mount::mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_SHARED, none)
        .map_err(|e| format!("shared: {e}"))?;
    if who == Who::Nobody {
        become_nobody()?;
    }
    // Rules outside /tmp, so /tmp is the staging directory.
    let prepared = fallback()
        .allow_path("/usr", Fs::READ | Fs::EXEC)
        .allow_path("/lib64", Fs::READ | Fs::EXEC)
        .allow_path("/etc", Fs::READ)
        .prepare()
        .map_err(|e| format!("prepare: {e}"))?;
    let tmp_before = entries("/tmp");
    let mounts_before = mountinfo();
    let start = Instant::now();
    let mut failed = 0;
    for _ in 0..RUNS {
        // SAFETY: the grandchild only applies (no allocation) and _exits.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", Errno::last()));
        }
        if pid == 0 {
            let code = i32::from(prepared.apply().is_err());
            // SAFETY: leave without running destructors.
            unsafe { libc::_exit(code) }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            failed += 1;
        }
    }
    let elapsed = start.elapsed();
    let tmp_after = entries("/tmp");
    let mounts_after = mountinfo();
    if failed != 0 {
        return Err(format!("{failed} of {RUNS} applies failed"));
    }
    if tmp_after != tmp_before {
        return Err(format!("/tmp changed: {tmp_before:?} → {tmp_after:?}"));
    }
    if mounts_after != mounts_before {
        return Err(format!(
            "mounts leaked:\n{mounts_before}\n→\n{mounts_after}"
        ));
    }
    Ok(format!(
        "{RUNS} runs as {who:?} in {:.2?} ({:.2?} each); /tmp: {} entries before and after; mountinfo: {} lines, unchanged",
        elapsed,
        elapsed / RUNS as u32,
        tmp_before.len(),
        mounts_before.lines().count()
    ))
}

#[test]
fn after_1000_runs_nothing_is_left_in_tmp_and_no_mount_leaks() {
    let _g = serial();
    let host_mounts_before = mountinfo();
    for who in BOTH {
        // The child reports its figures through the failure channel too:
        // use a second pipe for the success line.
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        let w: OwnedFd = w;
        let result = in_child(Who::Root, || {
            let line = thousand_runs(who)?;
            let mut w = std::fs::File::from(w);
            w.write_all(line.as_bytes()).map_err(|e| e.to_string())
        });
        let mut line = String::new();
        let _ = std::fs::File::from(r).read_to_string(&mut line);
        result.unwrap_or_else(|e| panic!("1000 runs as {who:?}: {e}"));
        eprintln!("{line}");
    }
    assert_eq!(
        mountinfo(),
        host_mounts_before,
        "the test process's mount namespace changed"
    );
}
