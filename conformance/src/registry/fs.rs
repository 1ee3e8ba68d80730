//! Filesystem probes: every right allowed and denied, on Landlock
//! (`fs::landlock::<right>::<case>`) and on the mount-namespace fallback
//! forced on this kernel (`fs::fallback::<right>::<case>`); bad input;
//! Landlock hidden by seccomp; TCP port rules.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use exile::{Features, Fs, Mechanism, Policy, Requirement, Status};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::fixture;
use crate::probe::{apply, error_kind, Ctx, Expected, Observed, Probe};

/// Which backend a probe forces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Landlock,
    Fallback,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Landlock => "landlock",
            Backend::Fallback => "fallback",
        }
    }

    fn policy(self) -> Policy {
        match self {
            Backend::Landlock => Policy::new(),
            Backend::Fallback => Policy::new().force_fallback(),
        }
    }

    /// What a policy of this backend yields when it cannot be applied here;
    /// `None` when it can.
    fn unavailable(self, ctx: &Ctx) -> Option<Expected> {
        let f = &ctx.features;
        match self {
            Backend::Landlock if f.landlock.abi == 0 => Some(Expected::Skip(format!(
                "Landlock unavailable ({}): the fallback probes cover this kernel",
                f.landlock.status
            ))),
            Backend::Fallback if !f.cap_sys_admin && f.user_namespaces.is_err() => {
                Some(Expected::policy_error("unavailable:"))
            }
            _ => None,
        }
    }
}

/// Paths of a probe's private fixture.
struct Dirs {
    /// Read-only fixture dir with `file` and `sub/`.
    r: PathBuf,
    /// Writable fixture dir with `file`.
    w: PathBuf,
    /// A second writable dir (rename target).
    w2: PathBuf,
    /// Dir holding an executable `true`.
    x: PathBuf,
}

fn dirs() -> Result<Dirs, Observed> {
    let d = fixture::private_dir().map_err(|e| Observed::Value(format!("fixture: {e}")))?;
    let mk = |p: &Path| {
        std::fs::create_dir_all(p)
            .map_err(|e| Observed::Value(format!("fixture {}: {e}", p.display())))
    };
    let dirs = Dirs {
        r: d.join("r"),
        w: d.join("w"),
        w2: d.join("w2"),
        x: d.join("x"),
    };
    for p in [&dirs.r, &dirs.w, &dirs.w2, &dirs.x, &dirs.r.join("sub")] {
        mk(p)?;
    }
    let write = |p: PathBuf| {
        std::fs::write(&p, b"exile")
            .map_err(|e| Observed::Value(format!("fixture {}: {e}", p.display())))
    };
    write(dirs.r.join("file"))?;
    write(dirs.w.join("file"))?;
    // /bin/true where it exists; in a VM's initramfs this very (static)
    // binary, which exits 0 at once when started as `.../true`.
    //
    // No std::fs::metadata/copy here: std caches whether statx and
    // copy_file_range work per process, and a probe child under a persona
    // (which hides both) inherits the harness's "available" — both would
    // then fail with ENOSYS. Plain open/read/write behave alike everywhere.
    let exe = dirs.x.join("true");
    let (source, mut from) = match std::fs::File::open("/bin/true") {
        Ok(f) => (PathBuf::from("/bin/true"), f),
        Err(_) => {
            let me = std::env::current_exe()
                .map_err(|e| Observed::Value(format!("fixture: current_exe: {e}")))?;
            let f = std::fs::File::open(&me)
                .map_err(|e| Observed::Value(format!("fixture open {}: {e}", me.display())))?;
            (me, f)
        }
    };
    let copy_err =
        |e: std::io::Error| Observed::Value(format!("fixture copy {}: {e}", source.display()));
    let mut to = std::fs::File::create(&exe).map_err(copy_err)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut from, &mut buf).map_err(copy_err)?;
        if n == 0 {
            break;
        }
        std::io::Write::write_all(&mut to, &buf[..n]).map_err(copy_err)?;
    }
    drop(to);
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Observed::Value(format!("fixture chmod: {e}")))?;
    Ok(dirs)
}

fn errno_of<T>(r: Result<T, Errno>) -> Observed {
    match r {
        Ok(_) => Observed::Ok,
        Err(e) => Observed::Errno(e as i32),
    }
}

fn open(p: &Path, flags: OFlag) -> Observed {
    errno_of(nix::fcntl::open(
        p,
        flags | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    ))
}

/// Fork, execve `path`, and report how it went: Ok for exit 0, the errno of
/// a failed execve otherwise.
fn exec(path: &Path) -> Observed {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return Observed::Value("bad path".into());
    };
    let argv = [c.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    // SAFETY: the grandchild only calls execve and _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Observed::Errno(Errno::last() as i32);
    }
    if pid == 0 {
        // SAFETY: argv and envp are NULL-terminated arrays of valid C strings.
        unsafe { libc::execve(c.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        let e = Errno::last() as i32;
        // SAFETY: leave the grandchild at once, reporting the errno.
        unsafe { libc::_exit(100 + e.min(150)) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    match libc::WEXITSTATUS(status) {
        0 => Observed::Ok,
        code if code >= 100 => Observed::Errno(code - 100),
        code => Observed::Exit(code),
    }
}

/// Read-and-execute rules for the dynamic loader and libc.
fn loader_rules(mut p: Policy) -> Policy {
    for dir in ["/usr", "/lib", "/lib64", "/bin"] {
        if std::fs::File::open(dir).is_ok() {
            p = p.allow_path(dir, Fs::READ | Fs::EXEC);
        }
    }
    p
}

/// One right: the rule of the allowed case, the rule of the denied case and
/// the operation. Expectations per backend.
struct RightCase {
    right: &'static str,
    /// Rights for the allowed case, on the backend.
    allow: fn(Backend) -> Fs,
    /// Rights for the denied case.
    deny: fn(Backend) -> Fs,
    /// Which fixture dir the rule is on (and the rename source).
    rule_dir: fn(&Dirs) -> PathBuf,
    /// The operation, after apply.
    op: fn(&Dirs) -> Observed,
    /// Extra rules (e.g. the loader for exec, the rename target).
    extra: fn(Policy, &Dirs, Fs) -> Policy,
    /// Expected result of the allowed case.
    allowed: fn(Backend, &Features) -> Expected,
    /// Expected result of the denied case.
    denied: fn(Backend, &Features) -> Expected,
}

fn no_extra(p: Policy, _: &Dirs, _: Fs) -> Policy {
    p
}

fn errno(e: Errno) -> Expected {
    Expected::errno(e)
}

/// Landlock EACCES / fallback EROFS: the exact errno of each mechanism for
/// a write-ish operation on a read-only rule.
fn ro_denied(b: Backend, _: &Features) -> Expected {
    match b {
        Backend::Landlock => errno(Errno::EACCES),
        Backend::Fallback => errno(Errno::EROFS),
    }
}

fn ok(_: Backend, _: &Features) -> Expected {
    Expected::Ok
}

/// What the fallback can express for a writable directory.
const RW: Fs = Fs::READ.union(Fs::ALL_WRITE);

fn cases() -> Vec<RightCase> {
    vec![
        RightCase {
            right: "read_file",
            allow: |_| Fs::READ,
            deny: |b| {
                if b == Backend::Landlock {
                    Fs::READ_DIR
                } else {
                    Fs::READ
                }
            },
            rule_dir: |d| d.r.clone(),
            op: |d| open(&d.r.join("file"), OFlag::O_RDONLY),
            extra: no_extra,
            allowed: ok,
            // The fallback cannot deny reading a mounted path: its denied
            // case reads a path outside every rule (absent from the new root).
            denied: |b, _| match b {
                Backend::Landlock => errno(Errno::EACCES),
                Backend::Fallback => Expected::Ok,
            },
        },
        RightCase {
            right: "read_outside",
            allow: |_| Fs::READ,
            deny: |_| Fs::READ,
            rule_dir: |d| d.r.clone(),
            op: |d| open(&d.w.join("file"), OFlag::O_RDONLY),
            extra: no_extra,
            allowed: |b, _| match b {
                Backend::Landlock => errno(Errno::EACCES),
                Backend::Fallback => errno(Errno::ENOENT),
            },
            denied: |b, _| match b {
                Backend::Landlock => errno(Errno::EACCES),
                Backend::Fallback => errno(Errno::ENOENT),
            },
        },
        RightCase {
            right: "read_dir",
            allow: |_| Fs::READ,
            deny: |b| {
                if b == Backend::Landlock {
                    Fs::READ_FILE
                } else {
                    Fs::READ
                }
            },
            rule_dir: |d| d.r.clone(),
            op: |d| open(&d.r.join("sub"), OFlag::O_RDONLY | OFlag::O_DIRECTORY),
            extra: no_extra,
            allowed: ok,
            denied: |b, _| match b {
                Backend::Landlock => errno(Errno::EACCES),
                Backend::Fallback => Expected::Ok,
            },
        },
        RightCase {
            right: "write_file",
            allow: |b| {
                if b == Backend::Landlock {
                    Fs::READ | Fs::WRITE_FILE
                } else {
                    RW
                }
            },
            deny: |_| Fs::READ,
            rule_dir: |d| d.w.clone(),
            op: |d| open(&d.w.join("file"), OFlag::O_WRONLY),
            extra: no_extra,
            allowed: ok,
            denied: ro_denied,
        },
        RightCase {
            right: "truncate",
            allow: |b| {
                if b == Backend::Landlock {
                    Fs::READ | Fs::WRITE_FILE | Fs::TRUNCATE
                } else {
                    RW
                }
            },
            deny: |b| {
                if b == Backend::Landlock {
                    Fs::READ | Fs::WRITE_FILE
                } else {
                    Fs::READ
                }
            },
            rule_dir: |d| d.w.clone(),
            op: |d| errno_of(nix::unistd::truncate(&d.w.join("file"), 0)),
            extra: no_extra,
            allowed: |b, f| match b {
                // Naming TRUNCATE on a kernel that cannot restrict it: Hard fails.
                Backend::Landlock if f.landlock.abi < 3 => {
                    Expected::policy_error("unavailable:filesystem")
                }
                _ => Expected::Ok,
            },
            denied: |b, f| match b {
                // Not named by the rule: unrestricted before ABI 3 (listed in the report).
                Backend::Landlock if f.landlock.abi < 3 => Expected::Ok,
                other => ro_denied(other, f),
            },
        },
        RightCase {
            right: "create",
            allow: |b| {
                if b == Backend::Landlock {
                    Fs::READ | Fs::MAKE_DIR
                } else {
                    RW
                }
            },
            deny: |_| Fs::READ,
            rule_dir: |d| d.w.clone(),
            op: |d| {
                errno_of(nix::unistd::mkdir(
                    &d.w.join("new"),
                    Mode::from_bits_truncate(0o755),
                ))
            },
            extra: no_extra,
            allowed: ok,
            denied: ro_denied,
        },
        RightCase {
            right: "make_fifo",
            allow: |b| {
                if b == Backend::Landlock {
                    Fs::READ | Fs::MAKE_FIFO
                } else {
                    RW
                }
            },
            deny: |_| Fs::READ,
            rule_dir: |d| d.w.clone(),
            op: |d| {
                errno_of(nix::unistd::mkfifo(
                    &d.w.join("fifo"),
                    Mode::from_bits_truncate(0o644),
                ))
            },
            extra: no_extra,
            allowed: ok,
            denied: ro_denied,
        },
        RightCase {
            right: "remove",
            allow: |b| {
                if b == Backend::Landlock {
                    Fs::READ | Fs::REMOVE_FILE
                } else {
                    RW
                }
            },
            deny: |_| Fs::READ,
            rule_dir: |d| d.w.clone(),
            op: |d| errno_of(nix::unistd::unlink(&d.w.join("file"))),
            extra: no_extra,
            allowed: ok,
            denied: ro_denied,
        },
        RightCase {
            right: "exec",
            allow: |_| Fs::READ | Fs::EXEC,
            deny: |_| Fs::READ,
            rule_dir: |d| d.x.clone(),
            op: |d| exec(&d.x.join("true")),
            extra: |p, _, _| loader_rules(p),
            allowed: ok,
            denied: |_, _| errno(Errno::EACCES),
        },
        RightCase {
            right: "ioctl_dev",
            allow: |b| {
                if b == Backend::Landlock {
                    Fs::READ_FILE | Fs::WRITE_FILE | Fs::IOCTL_DEV
                } else {
                    Fs::READ_FILE | Fs::WRITE_FILE | Fs::TRUNCATE | Fs::IOCTL_DEV
                }
            },
            deny: |_| Fs::READ_FILE | Fs::WRITE_FILE,
            rule_dir: |_| PathBuf::from("/dev/null"),
            op: |_| {
                // TCGETS on /dev/null: ENOTTY from the driver when the ioctl
                // gets through, EACCES when Landlock stops it.
                match nix::fcntl::open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
                {
                    Err(e) => Observed::Errno(e as i32),
                    Ok(fd) => {
                        let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
                        // SAFETY: TCGETS writes one termios into `t`.
                        let r = unsafe {
                            libc::ioctl(
                                std::os::fd::AsRawFd::as_raw_fd(&fd),
                                libc::TCGETS,
                                t.as_mut_ptr(),
                            )
                        };
                        errno_of(if r < 0 { Err(Errno::last()) } else { Ok(()) })
                    }
                }
            },
            extra: no_extra,
            allowed: |b, f| match b {
                Backend::Landlock if f.landlock.abi < 5 => {
                    Expected::policy_error("unavailable:filesystem")
                }
                _ => errno(Errno::ENOTTY),
            },
            denied: |b, f| match b {
                Backend::Landlock if f.landlock.abi >= 5 => errno(Errno::EACCES),
                // Not restrictable before ABI 5 (reported as unrestricted).
                Backend::Landlock => errno(Errno::ENOTTY),
                // The fallback cannot express read+write on a device without
                // ioctl: the Hard policy is refused.
                Backend::Fallback => Expected::policy_error("path"),
            },
        },
        RightCase {
            right: "refer",
            allow: |b| {
                if b == Backend::Landlock {
                    Fs::READ | Fs::REMOVE_FILE | Fs::MAKE_REG | Fs::REFER
                } else {
                    RW
                }
            },
            deny: |b| {
                if b == Backend::Landlock {
                    Fs::READ | Fs::REMOVE_FILE | Fs::MAKE_REG
                } else {
                    RW
                }
            },
            rule_dir: |d| d.w.clone(),
            op: |d| {
                errno_of(
                    std::fs::rename(d.w.join("file"), d.w2.join("moved"))
                        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0))),
                )
            },
            extra: |p, d, rights| p.allow_path(&d.w2, rights),
            // Landlock ABI 1 denies reparenting always; the fallback's two
            // rules are two mounts, so a rename between them is EXDEV.
            allowed: |b, f| match b {
                Backend::Landlock if f.landlock.abi >= 2 => Expected::Ok,
                _ => errno(Errno::EXDEV),
            },
            denied: |_, _| errno(Errno::EXDEV),
        },
    ]
}

/// The rights probes of one backend.
fn right_probes(p: &mut Vec<Probe>, backend: Backend) {
    for case in cases() {
        for (kind, allowed) in [("allowed", true), ("denied", false)] {
            let name = format!("fs::{}::{}::{kind}", backend.name(), case.right);
            let rights_of = if allowed { case.allow } else { case.deny };
            let (rule_dir, op, extra) = (case.rule_dir, case.op, case.extra);
            let expect = if allowed { case.allowed } else { case.denied };
            p.push(Probe::new(
                name,
                move |_| {
                    let d = match dirs() {
                        Ok(d) => d,
                        Err(o) => return o,
                    };
                    let rights = rights_of(backend);
                    let policy = extra(
                        backend.policy().allow_path(rule_dir(&d), rights),
                        &d,
                        rights,
                    );
                    match apply(&policy) {
                        Ok(_) => op(&d),
                        Err(o) => o,
                    }
                },
                move |ctx| {
                    // A rule the backend cannot express is refused by
                    // prepare before it looks at namespaces.
                    match expect(backend, &ctx.features) {
                        Expected::PolicyError(kind) if kind == "path" => {
                            Expected::PolicyError(kind)
                        }
                        e => backend.unavailable(ctx).unwrap_or(e),
                    }
                },
            ));
        }
    }
}

/// All filesystem probes.
pub fn probes(p: &mut Vec<Probe>) {
    right_probes(p, Backend::Landlock);
    right_probes(p, Backend::Fallback);
    for backend in [Backend::Landlock, Backend::Fallback] {
        let b = backend.name();
        p.push(Probe::new(
            format!("fs::{b}::no_fs::open_denied"),
            move |_| {
                // A file that exists everywhere (also in a VM's initramfs).
                let d = match dirs() {
                    Ok(d) => d,
                    Err(o) => return o,
                };
                match apply(&backend.policy().no_fs()) {
                    Ok(_) => open(&d.r.join("file"), OFlag::O_RDONLY),
                    Err(o) => o,
                }
            },
            move |ctx| {
                backend.unavailable(ctx).unwrap_or(match backend {
                    Backend::Landlock => errno(Errno::EACCES),
                    Backend::Fallback => errno(Errno::ENOENT),
                })
            },
        ));
        // exile.h defect 3: no_fs closed stdin.
        p.push(Probe::new(
            format!("fs::{b}::no_fs::defect_3_stdin_stays_open"),
            move |_| match apply(&backend.policy().no_fs()) {
                // SAFETY: F_GETFD on fd 0 reads flags only.
                Ok(_) => errno_of(if unsafe { libc::fcntl(0, libc::F_GETFD) } >= 0 {
                    Ok(())
                } else {
                    Err(Errno::last())
                }),
                Err(o) => o,
            },
            move |ctx| backend.unavailable(ctx).unwrap_or(Expected::Ok),
        ));
    }
    p.push(Probe::new(
        "fs::fallback::inexpressible::hard",
        |_| {
            let d = match dirs() {
                Ok(d) => d,
                Err(o) => return o,
            };
            match apply(
                &Policy::new()
                    .force_fallback()
                    .allow_path(&d.w, Fs::READ | Fs::WRITE_FILE),
            ) {
                Ok(_) => Observed::Ok,
                Err(o) => o,
            }
        },
        |_| Expected::policy_error("path"),
    ));
    p.push(Probe::new(
        "fs::fallback::inexpressible::best_effort_reported",
        |_| {
            let d = match dirs() {
                Ok(d) => d,
                Err(o) => return o,
            };
            let policy = Policy::new()
                .force_fallback()
                .requirement_for(Mechanism::Filesystem, Requirement::BestEffort)
                .allow_path(&d.w, Fs::READ | Fs::WRITE_FILE);
            match apply(&policy) {
                Ok(report) => Observed::Value(match report.status(Mechanism::Filesystem) {
                    Status::Partial {
                        missing: exile::report::Missing::FsRights(extra),
                        ..
                    } => format!("partial: {}", extra.contains(Fs::REMOVE_FILE)),
                    Status::NotEnforced(_) => "not_enforced".to_owned(),
                    other => format!("{other:?}"),
                }),
                Err(o) => o,
            }
        },
        |ctx| {
            // Best effort: where the fallback is impossible (no user
            // namespaces, no CAP_SYS_ADMIN) the report says not enforced.
            match Backend::Fallback.unavailable(ctx) {
                Some(_) => Expected::value("not_enforced"),
                None => Expected::value("partial: true"),
            }
        },
    ));
    // Landlock hidden by a seccomp filter: the same policy is enforced by
    // the fallback, and the report says so.
    p.push(Probe::new(
        "fs::landlock_hidden::fallback_enforces",
        |_| {
            if let Err(e) =
                super::fail_syscalls(&[libc::SYS_landlock_create_ruleset], Errno::ENOSYS)
            {
                return Observed::Value(format!("filter: {e}"));
            }
            let d = match dirs() {
                Ok(d) => d,
                Err(o) => return o,
            };
            match apply(&Policy::new().allow_path(&d.r, Fs::READ)) {
                Ok(report) => {
                    let via = report.entry(Mechanism::Filesystem).via;
                    let write = open(&d.r.join("file"), OFlag::O_WRONLY);
                    let outside = open(&d.w.join("file"), OFlag::O_RDONLY);
                    Observed::Value(format!("via={via:?} write={write} outside={outside}"))
                }
                Err(o) => o,
            }
        },
        |ctx| {
            Backend::Fallback
                .unavailable(ctx)
                .unwrap_or(Expected::value(format!(
                    "via=Some(MountNamespace) write={} outside={}",
                    Observed::Errno(Errno::EROFS as i32),
                    Observed::Errno(Errno::ENOENT as i32)
                )))
        },
    ));
    bad_input(p);
}

fn bad_input(p: &mut Vec<Probe>) {
    type Setup = fn(&Dirs) -> Result<Policy, Observed>;
    let cases: [(&str, Setup); 4] = [
        ("relative_path", |_| {
            Ok(Policy::new().allow_path("etc", Fs::READ))
        }),
        ("missing_path", |d| {
            Ok(Policy::new().allow_path(d.r.join("nope"), Fs::READ))
        }),
        ("dangling_symlink", |d| {
            let link = d.r.join("dangling");
            std::os::unix::fs::symlink(d.r.join("nowhere"), &link)
                .map_err(|e| Observed::Value(e.to_string()))?;
            Ok(Policy::new().allow_path(link, Fs::READ))
        }),
        ("file_with_dev_rights", |d| {
            Ok(Policy::new().allow_path(d.r.join("file"), Fs::READ | Fs::DEV))
        }),
    ];
    for (name, setup) in cases {
        p.push(Probe::new(
            format!("fs::bad_input::{name}"),
            move |_| {
                let d = match dirs() {
                    Ok(d) => d,
                    Err(o) => return o,
                };
                let policy = match setup(&d) {
                    Ok(p) => p,
                    Err(o) => return o,
                };
                match policy.prepare() {
                    Ok(_) => Observed::Ok,
                    Err(e) => Observed::PolicyError {
                        kind: error_kind(&e),
                        message: e.to_string(),
                    },
                }
            },
            |_| Expected::policy_error("path"),
        ));
    }
    p.push(Probe::new(
        "fs::bad_input::no_fs_with_rules",
        |_| match Policy::new().no_fs().allow_path("/usr", Fs::READ).prepare() {
            Ok(_) => Observed::Ok,
            Err(e) => Observed::PolicyError {
                kind: error_kind(&e),
                message: e.to_string(),
            },
        },
        |_| Expected::policy_error("conflict"),
    ));
}
