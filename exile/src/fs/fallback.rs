//! The mount-namespace fallback for filesystem rules.
//!
//! Where Landlock is missing (or [`Policy::force_fallback`](crate::Policy::force_fallback)
//! asks for it), the process gets a new root: a private tmpfs that holds
//! nothing but bind mounts of the allowed paths, each remounted read-only,
//! `noexec`, `nodev` and always `nosuid` unless its rights need otherwise.
//! Everything else simply does not exist any more (`ENOENT`).
//!
//! # What `apply` does, step by step
//!
//! It runs after the user namespace (if any) and the private mount
//! namespace were entered, and makes only system calls:
//!
//! 1. mount a small tmpfs (`mode=0755`, `nosuid,nodev,noexec`) on the
//!    *staging directory* chosen at prepare time, and make it unbindable
//!    (so a recursive bind of an allowed ancestor such as `/` does not copy
//!    the half-built root into itself);
//! 2. create the mount points in it: the directories leading to every
//!    allowed path, the path itself (a directory, or an empty file for
//!    anything else), and the symbolic links met on the way to it (so
//!    `/lib64/ld-linux-x86-64.so.2` still resolves when `/lib64` is a link);
//! 3. remount that tmpfs read-only: nothing can be created outside the
//!    allowed paths;
//! 4. for each allowed path, parents first (so a deeper rule's mount sits
//!    on top of its parent's): bind-mount it recursively, check that the
//!    mount shows the very file prepare opened (device and inode), remount
//!    it with its flags, then remount every mount beneath it (copied by the
//!    recursive bind with its own flags) with the same flags;
//! 5. `chdir` into the new root and `pivot_root(".", ".")`, then detach the
//!    old root stacked on it (`umount2(".", MNT_DETACH)`) — no old-root
//!    directory is needed, so none is left behind. Where `pivot_root` is
//!    impossible (`EINVAL`: the root is the initramfs, or the process runs
//!    in a plain `chroot`), the new root is moved onto `/` and `chroot`ed
//!    into instead; the old root then stays underneath it, out of reach
//!    once capabilities are dropped;
//! 6. `chdir` to `/`, then to the policy's working directory.
//!
//! # The staging directory
//!
//! The tmpfs is mounted over an *existing* directory, inside the private
//! mount namespace: nothing is created on disk and nothing is left behind
//! (exile.h created a chroot directory in `/tmp` per run and never removed
//! it). `/tmp` is preferred; a directory that is an allowed path or leads
//! to one is never chosen (the bind sources are resolved from the old root,
//! which the tmpfs would hide), and neither is `/proc`.
//!
//! # What the fallback cannot express
//!
//! Mount flags only know read-only, `noexec` and `nodev`: a mount always
//! lets its files be read and its directories be listed, a writable mount
//! grants every write right (exile.h's ALL_WRITE), an exec mount
//! [`Fs::EXECUTE`], a dev mount [`Fs::IOCTL_DEV`]. Prepare lists, per
//! rule, what the mounts would grant beyond the rights Landlock would grant
//! at that path (the rule's own, plus those of rules on its ancestors and
//! on the same file); [`Policy::prepare`](crate::Policy::prepare) refuses
//! that under [`Requirement::Hard`](crate::Requirement::Hard) and reports
//! it under best effort. Device creation is never counted: a user
//! namespace cannot create device nodes (as real root without one, drop
//! capabilities).
//!
//! The flags hold against a process without `CAP_SYS_ADMIN` in its user
//! namespace; one that keeps it can remount them: drop capabilities (or
//! forbid `mount` with a seccomp filter) after the fallback.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::{CStr, CString, OsStr, OsString};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::{Fs, Kind, PathRule};
use crate::error::{Error, Step};

/// Pages the tmpfs of the new root may hold besides long symbolic links:
/// it only holds directories, empty files and links, so it stays small.
const TMPFS_SPARE_PAGES: usize = 16;

/// A symbolic link target longer than this takes a page of the tmpfs
/// (shorter ones are stored in the inode).
const TMPFS_INLINE_LINK: usize = 127;

/// Where the new root is preferably staged, before any other directory.
const PREFERRED_STAGING: [&str; 10] = [
    "/tmp", "/mnt", "/run", "/var/tmp", "/media", "/srv", "/opt", "/boot", "/home", "/dev",
];

/// How deep the search for a staging directory goes below `/`.
const STAGING_SEARCH_DEPTH: usize = 3;

/// At most this many symbolic links are followed in one path (as the kernel).
const MAX_SYMLINKS: usize = 40;

/// The rights a writable mount grants: exile.h's ALL_WRITE (never device
/// creation, which a user namespace denies).
const WRITE_SET: Fs = Fs::ALL_WRITE;

/// The rights that make a rule's mount writable.
const NEEDS_RW: Fs = WRITE_SET.union(Fs::DEV);

/// The rights that make a rule's mount allow devices.
const NEEDS_DEV: Fs = Fs::DEV.union(Fs::IOCTL_DEV);

/// The rights that mean something on a non-directory.
const FILE_RIGHTS: Fs = Fs::READ_FILE
    .union(Fs::WRITE_FILE)
    .union(Fs::EXECUTE)
    .union(Fs::TRUNCATE)
    .union(Fs::IOCTL_DEV);

/// `statvfs()` `f_flag` bits (`ST_*` of `<sys/statvfs.h>`, the kernel's values).
mod st {
    pub(super) const RDONLY: libc::c_ulong = 0x0001;
    pub(super) const NOSUID: libc::c_ulong = 0x0002;
    pub(super) const NODEV: libc::c_ulong = 0x0004;
    pub(super) const NOEXEC: libc::c_ulong = 0x0008;
    pub(super) const NOATIME: libc::c_ulong = 0x0400;
    pub(super) const NODIRATIME: libc::c_ulong = 0x0800;
    pub(super) const RELATIME: libc::c_ulong = 0x1000;
    pub(super) const NOSYMFOLLOW: libc::c_ulong = 0x2000;
}

/// The per-mount flags a bind remount must keep: in an unprivileged user
/// namespace the flags of mounts inherited from the parent namespace are
/// locked, and a remount that would clear one fails with `EPERM`.
const KEPT_FLAGS: libc::c_ulong = libc::MS_RDONLY
    | libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME
    | libc::MS_NOSYMFOLLOW;

/// Something to create in the tmpfs before it is made read-only.
#[derive(Debug)]
enum Node {
    /// A directory (a mount point, or on the way to one).
    Dir(CString),
    /// An empty regular file: the mount point of a non-directory.
    File(CString),
    /// A symbolic link met while resolving an allowed path.
    Symlink {
        /// Where the link is (in the staging tmpfs).
        at: CString,
        /// What it points to (verbatim).
        target: CString,
    },
}

/// A remount of a mount that a recursive bind copied from beneath an
/// allowed directory.
#[derive(Debug)]
struct Remount {
    /// The mount point, in the staging tmpfs.
    target: CString,
    /// `MS_REMOUNT | MS_BIND | …`.
    flags: libc::c_ulong,
}

/// One bind mount of an allowed path.
#[derive(Debug)]
struct Bind {
    /// The canonical path in the old root.
    source: CString,
    /// The same path in the staging tmpfs.
    target: CString,
    /// Device of the file prepare opened.
    dev: u64,
    /// Inode of the file prepare opened.
    ino: u64,
    /// The remount flags: `MS_REMOUNT | MS_BIND | MS_NOSUID | …`.
    flags: libc::c_ulong,
    /// Mounts beneath the path, remounted with the same restrictions.
    submounts: Vec<Remount>,
}

/// Everything the fallback's apply needs, computed at prepare time.
#[derive(Debug)]
pub(crate) struct FallbackPlan {
    /// The directory the tmpfs is mounted on before it becomes the root.
    staging: CString,
    /// The tmpfs options (`mode=0755,size=…`).
    tmpfs_data: CString,
    /// Mount points and links to create in the tmpfs, parents first.
    nodes: Vec<Node>,
    /// Bind mounts, parents first.
    binds: Vec<Bind>,
    /// The working directory in the new root.
    chdir: CString,
    /// Per rule: what the mounts grant beyond it.
    excess: Vec<(usize, Fs)>,
    /// The first rule whose bind would show a procfs in the new root (the
    /// rule's own file is on one, or a proc mount lies beneath it).
    procfs: Option<PathBuf>,
}

/// A rule's path as the new root will hold it.
#[derive(Debug)]
struct Resolved {
    /// The path with every symbolic link resolved.
    canonical: PathBuf,
    /// The symbolic links met on the way: (where, what it says).
    links: Vec<(PathBuf, PathBuf)>,
    /// Device of the rule's file.
    dev: u64,
    /// Inode of the rule's file.
    ino: u64,
    /// The flags of the mount the rule's file is on (kept by the remount).
    kept: libc::c_ulong,
}

/// One mount point of the new root (rules on the same path share it).
#[derive(Debug)]
struct Site {
    canonical: PathBuf,
    kind: Kind,
    dev: u64,
    ino: u64,
    kept: libc::c_ulong,
    /// The rights Landlock would grant here.
    effective: Fs,
}

/// A line of `/proc/self/mountinfo`: a mount point and its flags.
#[derive(Debug)]
struct MountEntry {
    point: PathBuf,
    flags: libc::c_ulong,
    /// The filesystem type is `proc`.
    procfs: bool,
}

fn path_error(path: &Path, problem: impl Into<String>) -> Error {
    Error::Path {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

impl FallbackPlan {
    /// Plan the new root for `rules` (empty with `no_fs`), with the working
    /// directory `chdir` (default `/`).
    ///
    /// Errors ([`Error::Path`]): a rule's path cannot be resolved to the
    /// file it opened; `chdir` is not a directory inside an allowed
    /// directory; no staging directory can be found; `/proc` (needed to list
    /// the mounts beneath allowed directories) is not mounted.
    pub(crate) fn prepare(rules: &[PathRule], chdir: Option<&Path>) -> Result<FallbackPlan, Error> {
        let resolved = rules
            .iter()
            .map(resolve_rule)
            .collect::<Result<Vec<_>, _>>()?;
        let sites = sites(rules, &resolved);

        let site_of = |i: usize| sites.iter().find(|s| s.canonical == resolved[i].canonical);
        let mut excess = Vec::with_capacity(rules.len());
        for i in 0..rules.len() {
            if let Some(site) = site_of(i) {
                let flags = remount_flags(site.effective, site.kind, site.kept);
                excess.push((i, granted(flags, site.kind) - site.effective));
            }
        }

        let mounts = if sites.iter().any(|s| s.kind == Kind::Dir) {
            read_mountinfo()?
        } else {
            Vec::new()
        };
        let procfs = rules.iter().zip(&resolved).find_map(|(rule, r)| {
            // fstatfs works on the rule's O_PATH fd since Linux 3.12.
            let on_proc = nix::sys::statfs::fstatfs(&rule.fd)
                .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
            let proc_beneath = rule.kind == Kind::Dir
                && mounts
                    .iter()
                    .any(|m| m.procfs && m.point.starts_with(&r.canonical));
            (on_proc || proc_beneath).then(|| rule.path.clone())
        });
        let avoid: Vec<&Path> = sites.iter().map(|s| s.canonical.as_path()).collect();
        let staging = choose_staging(&avoid)?;
        let chdir = working_directory(chdir, &sites)?;
        let in_staging = |p: &Path| -> Result<CString, Error> {
            let mut bytes = staging.as_os_str().as_bytes().to_vec();
            if p != Path::new("/") {
                bytes.extend_from_slice(p.as_os_str().as_bytes());
            }
            CString::new(bytes).map_err(|_| path_error(p, "the path contains a NUL byte"))
        };

        // Mount points and links, parents first.
        let mut dirs = BTreeSet::new();
        let mut files = BTreeSet::new();
        let mut links = BTreeMap::new();
        for site in &sites {
            dirs.extend(site.canonical.ancestors().skip(1).map(Path::to_path_buf));
            if site.kind == Kind::Dir {
                dirs.insert(site.canonical.clone());
            } else {
                files.insert(site.canonical.clone());
            }
        }
        for r in &resolved {
            for (at, target) in &r.links {
                dirs.extend(at.ancestors().skip(1).map(Path::to_path_buf));
                links.insert(at.clone(), target.clone());
            }
        }
        dirs.remove(Path::new("/"));
        let mut nodes = Vec::new();
        for d in &dirs {
            nodes.push(Node::Dir(in_staging(d)?));
        }
        for f in files.iter().filter(|f| !dirs.contains(*f)) {
            nodes.push(Node::File(in_staging(f)?));
        }
        for (at, target) in &links {
            if dirs.contains(at) || files.contains(at) {
                continue;
            }
            let target = CString::new(target.as_os_str().as_bytes())
                .map_err(|_| path_error(at, "the symbolic link contains a NUL byte"))?;
            nodes.push(Node::Symlink {
                at: in_staging(at)?,
                target,
            });
        }

        // Bind mounts, parents first.
        let mut binds = Vec::with_capacity(sites.len());
        for site in &sites {
            let flags = remount_flags(site.effective, site.kind, site.kept);
            let own = rule_flags(site.effective, site.kind);
            let mut beneath: BTreeMap<usize, BTreeMap<&Path, libc::c_ulong>> = BTreeMap::new();
            if site.kind == Kind::Dir {
                for m in &mounts {
                    if m.point != site.canonical && m.point.starts_with(&site.canonical) {
                        // The last line for a mount point is the mount on top.
                        beneath
                            .entry(m.point.components().count())
                            .or_default()
                            .insert(&m.point, own | (m.flags & KEPT_FLAGS));
                    }
                }
            }
            let mut submounts = Vec::new();
            for (point, flags) in beneath.values().flatten() {
                submounts.push(Remount {
                    target: in_staging(point)?,
                    flags: libc::MS_REMOUNT | libc::MS_BIND | flags,
                });
            }
            binds.push(Bind {
                source: CString::new(site.canonical.as_os_str().as_bytes())
                    .map_err(|_| path_error(&site.canonical, "the path contains a NUL byte"))?,
                target: in_staging(&site.canonical)?,
                dev: site.dev,
                ino: site.ino,
                flags,
                submounts,
            });
        }

        // Room for every long link, and some spare.
        let long_links = links
            .values()
            .filter(|t| t.as_os_str().len() > TMPFS_INLINE_LINK)
            .count();
        // SAFETY: sysconf only reads a constant of the system.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let size = (TMPFS_SPARE_PAGES + long_links) * page.max(4096);
        let tmpfs_data = CString::new(format!("mode=0755,size={size}"))
            .map_err(|_| path_error(&staging, "bad tmpfs options"))?;

        Ok(FallbackPlan {
            staging: CString::new(staging.as_os_str().as_bytes())
                .map_err(|_| path_error(&staging, "the path contains a NUL byte"))?,
            tmpfs_data,
            nodes,
            binds,
            chdir: CString::new(chdir.as_os_str().as_bytes())
                .map_err(|_| path_error(&chdir, "the path contains a NUL byte"))?,
            excess,
            procfs,
        })
    }

    /// The first rule (its path as given) whose bind would show a procfs
    /// in the new root: its file is on one, or a proc mount lies beneath
    /// it. Without a user namespace between the sandbox and the host, such
    /// a procfs reaches outside (`/proc/PID/root`, `/proc/PID/fd/N`).
    pub(crate) fn exposes_procfs(&self) -> Option<&Path> {
        self.procfs.as_deref()
    }

    /// Per rule (its index in `rules`): the rights the fallback would grant
    /// beyond the rights Landlock would grant at that path (the rule's own,
    /// those of rules on its ancestors and those of rules on the same file).
    /// Empty sets are included.
    pub(crate) fn excess(&self) -> Vec<(usize, Fs)> {
        self.excess.clone()
    }

    /// Fds the plan needs through `close_fds`: none.
    ///
    /// The plan keeps no fd on purpose: an `O_PATH` fd of an allowed path,
    /// left open in the sandboxed process, would reach the *original* mount
    /// (writable, executable) and its parent directories (`openat(fd,
    /// "..")`), around the new root. Apply binds from the canonical path in
    /// the old root instead and checks the result is the file prepare
    /// opened (device and inode).
    pub(crate) fn fds(&self) -> Vec<RawFd> {
        Vec::new()
    }

    /// Build the new root and pivot into it. Runs inside `apply`, after the
    /// user and mount namespaces were entered: system calls only (no
    /// allocation). See the [module documentation](self) for the steps.
    pub(crate) fn apply(&self) -> Result<(), (Step, Errno)> {
        let staging = self.staging.as_c_str();
        let fail = |step: Step| move |e: Errno| (step, e);

        // 1. The tmpfs, unbindable.
        sys_mount(
            Some(c"exile"),
            staging,
            Some(c"tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            Some(&self.tmpfs_data),
        )
        .map_err(fail(Step::MountTmpfs))?;
        sys_mount(None, staging, None, libc::MS_UNBINDABLE, None)
            .map_err(fail(Step::MountTmpfs))?;

        // 2. Mount points and links.
        for node in &self.nodes {
            let r = match node {
                Node::Dir(path) => sys_mkdir(path),
                Node::File(path) => sys_mknod_file(path),
                Node::Symlink { at, target } => sys_symlink(target, at),
            };
            match r {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err((Step::MakeMountPoint, e)),
            }
        }

        // 3. Nothing else can be created in the new root.
        sys_mount(
            None,
            staging,
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            None,
        )
        .map_err(fail(Step::MountTmpfs))?;

        // 4. The allowed paths, parents first.
        for bind in &self.binds {
            sys_mount(
                Some(&bind.source),
                &bind.target,
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
            )
            .map_err(fail(Step::BindMount))?;
            // The path may have been swapped since prepare (a rename, a
            // symbolic link): only the file prepare opened may be mounted.
            if sys_lstat_id(&bind.target).map_err(fail(Step::BindMount))? != (bind.dev, bind.ino) {
                return Err((Step::BindMount, Errno::ESTALE));
            }
            sys_mount(None, &bind.target, None, bind.flags, None)
                .map_err(fail(Step::RemountBind))?;
            for sub in &bind.submounts {
                match sys_mount(None, &sub.target, None, sub.flags, None) {
                    // Gone since prepare, covered, or unreachable (for the
                    // sandbox as well): what is reachable there is already
                    // restricted by the mount above.
                    Ok(())
                    | Err(Errno::ENOENT | Errno::ENOTDIR | Errno::EINVAL | Errno::EACCES) => {}
                    Err(e) => return Err((Step::RemountBind, e)),
                }
            }
        }

        // 5. Into the new root; the old root is detached.
        sys_chdir(staging).map_err(fail(Step::PivotRoot))?;
        match sys_pivot_root(c".", c".") {
            Ok(()) => sys_umount2(c".", libc::MNT_DETACH).map_err(fail(Step::DetachOldRoot))?,
            Err(Errno::EINVAL) => {
                // The root is the initramfs or a plain chroot directory.
                sys_mount(Some(c"."), c"/", None, libc::MS_MOVE, None)
                    .map_err(fail(Step::PivotRoot))?;
                sys_chroot(c".").map_err(fail(Step::PivotRoot))?;
            }
            Err(e) => return Err((Step::PivotRoot, e)),
        }

        // 6. The working directory.
        sys_chdir(c"/").map_err(fail(Step::Chdir))?;
        sys_chdir(&self.chdir).map_err(fail(Step::Chdir))?;
        Ok(())
    }
}

/// Resolve a rule's path and check it still names the file prepare opened.
fn resolve_rule(rule: &PathRule) -> Result<Resolved, Error> {
    let st = nix::sys::stat::fstat(&rule.fd)
        .map_err(|e| path_error(&rule.path, format!("fstat: {e}")))?;
    let (canonical, links) = resolve(&rule.path).map_err(|p| path_error(&rule.path, p))?;
    let now = nix::sys::stat::lstat(&canonical).map_err(|e| {
        path_error(
            &rule.path,
            format!("resolves to {}: {e}", canonical.display()),
        )
    })?;
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Err(path_error(
            &rule.path,
            format!(
                "resolves to {}, which is not the file opened for the rule (was it renamed or replaced meanwhile?)",
                canonical.display()
            ),
        ));
    }
    let mut fs = MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `fs` is valid for writes of one statvfs; the fd is open.
    let r = unsafe { libc::fstatvfs(rule.fd.as_raw_fd(), fs.as_mut_ptr()) };
    if r < 0 {
        return Err(path_error(
            &rule.path,
            format!("fstatvfs: {}", Errno::last()),
        ));
    }
    // SAFETY: fstatvfs succeeded, so it filled `fs`.
    let fs = unsafe { fs.assume_init() };
    Ok(Resolved {
        canonical,
        links,
        dev: st.st_dev,
        ino: st.st_ino,
        kept: kept_flags(fs.f_flag),
    })
}

/// Resolve every symbolic link of an absolute path, as the kernel would
/// (`..` after a link is resolved physically): the canonical path and the
/// links met on the way, in order.
fn resolve(path: &Path) -> Result<(PathBuf, Vec<(PathBuf, PathBuf)>), String> {
    fn parts(p: &Path) -> impl DoubleEndedIterator<Item = OsString> + '_ {
        p.as_os_str()
            .as_bytes()
            .split(|b| *b == b'/')
            .filter(|s| !s.is_empty() && *s != b".")
            .map(|s| OsStr::from_bytes(s).to_owned())
    }
    let mut todo: VecDeque<OsString> = parts(path).collect();
    let mut current = PathBuf::from("/");
    let mut links = Vec::new();
    while let Some(part) = todo.pop_front() {
        if part == ".." {
            current.pop();
            continue;
        }
        let next = current.join(&part);
        let meta = std::fs::symlink_metadata(&next)
            .map_err(|e| format!("cannot resolve {}: {e}", next.display()))?;
        if !meta.file_type().is_symlink() {
            current = next;
            continue;
        }
        if links.len() >= MAX_SYMLINKS {
            return Err(format!(
                "more than {MAX_SYMLINKS} symbolic links to resolve"
            ));
        }
        let target =
            std::fs::read_link(&next).map_err(|e| format!("readlink {}: {e}", next.display()))?;
        if target.is_absolute() {
            current = PathBuf::from("/");
        }
        for p in parts(&target).rev() {
            todo.push_front(p);
        }
        links.push((next, target));
    }
    Ok((current, links))
}

/// Group rules by canonical path, with the rights Landlock would grant
/// there; sorted parents first.
fn sites(rules: &[PathRule], resolved: &[Resolved]) -> Vec<Site> {
    let mut sites: Vec<Site> = Vec::new();
    for (rule, r) in rules.iter().zip(resolved) {
        if let Some(site) = sites.iter_mut().find(|s| s.canonical == r.canonical) {
            site.kept |= r.kept;
            continue;
        }
        sites.push(Site {
            canonical: r.canonical.clone(),
            kind: rule.kind,
            dev: r.dev,
            ino: r.ino,
            kept: r.kept,
            effective: Fs::empty(),
        });
    }
    for site in &mut sites {
        for (rule, r) in rules.iter().zip(resolved) {
            if site.canonical.starts_with(&r.canonical) || (r.dev, r.ino) == (site.dev, site.ino) {
                site.effective |= rule.rights;
            }
        }
        if site.kind != Kind::Dir {
            site.effective &= FILE_RIGHTS;
        }
    }
    sites.sort_by(|a, b| {
        let depth = |s: &Site| s.canonical.components().count();
        depth(a)
            .cmp(&depth(b))
            .then_with(|| a.canonical.cmp(&b.canonical))
    });
    sites
}

/// The mount flags a rule's rights ask for (before the kept flags).
fn rule_flags(rights: Fs, kind: Kind) -> libc::c_ulong {
    let mut flags = libc::MS_NOSUID;
    if !rights.intersects(NEEDS_RW) {
        flags |= libc::MS_RDONLY;
    }
    if !rights.contains(Fs::EXECUTE) {
        flags |= libc::MS_NOEXEC;
    }
    if !rights.intersects(NEEDS_DEV) && kind != Kind::Device {
        flags |= libc::MS_NODEV;
    }
    flags
}

/// The full remount flags of a bind mount: the rule's, plus what the
/// original mount has and a remount must keep.
fn remount_flags(rights: Fs, kind: Kind, kept: libc::c_ulong) -> libc::c_ulong {
    libc::MS_REMOUNT | libc::MS_BIND | rule_flags(rights, kind) | (kept & KEPT_FLAGS)
}

/// The rights a mount with `flags` grants on a file of `kind` (and, for a
/// directory, beneath it). Device creation is never counted: a user
/// namespace cannot create devices.
fn granted(flags: libc::c_ulong, kind: Kind) -> Fs {
    let rw = flags & libc::MS_RDONLY == 0;
    let exec = flags & libc::MS_NOEXEC == 0;
    let dev = flags & libc::MS_NODEV == 0;
    let mut fs = Fs::READ_FILE | Fs::READ_DIR;
    if rw {
        fs |= WRITE_SET;
    }
    if exec {
        fs |= Fs::EXECUTE;
    }
    if dev {
        fs |= Fs::IOCTL_DEV;
    }
    if kind != Kind::Dir {
        fs &= FILE_RIGHTS;
    }
    fs
}

/// `statvfs` flags → the `MS_*` flags a remount must keep.
fn kept_flags(st_flags: libc::c_ulong) -> libc::c_ulong {
    let map = [
        (st::RDONLY, libc::MS_RDONLY),
        (st::NOSUID, libc::MS_NOSUID),
        (st::NODEV, libc::MS_NODEV),
        (st::NOEXEC, libc::MS_NOEXEC),
        (st::NOATIME, libc::MS_NOATIME),
        (st::NODIRATIME, libc::MS_NODIRATIME),
        (st::RELATIME, libc::MS_RELATIME),
        (st::NOSYMFOLLOW, libc::MS_NOSYMFOLLOW),
    ];
    map.iter()
        .filter(|(s, _)| st_flags & s != 0)
        .fold(0, |acc, (_, m)| acc | m)
}

/// The per-mount options of a mountinfo line → `MS_*` flags.
fn option_flags(options: &[u8]) -> libc::c_ulong {
    options
        .split(|b| *b == b',')
        .map(|o| match o {
            b"ro" => libc::MS_RDONLY,
            b"nosuid" => libc::MS_NOSUID,
            b"nodev" => libc::MS_NODEV,
            b"noexec" => libc::MS_NOEXEC,
            b"noatime" => libc::MS_NOATIME,
            b"nodiratime" => libc::MS_NODIRATIME,
            b"relatime" => libc::MS_RELATIME,
            b"nosymfollow" => libc::MS_NOSYMFOLLOW,
            _ => 0,
        })
        .fold(0, |acc, f| acc | f)
}

/// Undo mountinfo's octal escapes (`\040` for a space, …).
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// Parse mountinfo text: each mount point with its per-mount flags, in the
/// kernel's order (a later line for the same point is mounted on top).
fn parse_mountinfo(text: &[u8]) -> Vec<MountEntry> {
    text.split(|b| *b == b'\n')
        .filter_map(|line| {
            let mut fields = line.split(|b| *b == b' ');
            let point = fields.nth(4)?;
            let options = fields.next()?;
            // Optional fields, then "-", then the filesystem type.
            let fstype = fields.skip_while(|f| *f != b"-").nth(1);
            Some(MountEntry {
                point: PathBuf::from(OsStr::from_bytes(&unescape(point))),
                flags: option_flags(options),
                procfs: fstype == Some(b"proc"),
            })
        })
        .collect()
}

/// The mounts of this namespace, from `/proc/self/mountinfo`.
fn read_mountinfo() -> Result<Vec<MountEntry>, Error> {
    let path = Path::new("/proc/self/mountinfo");
    let text = std::fs::read(path).map_err(|e| {
        path_error(
            path,
            format!("the mount-namespace fallback needs /proc mounted, to restrict the mounts beneath allowed directories: {e}"),
        )
    })?;
    Ok(parse_mountinfo(&text))
}

/// Choose the directory the new root is built on: an existing directory
/// (not a link), neither `/proc` nor in it, that is no allowed path and
/// leads to none. `/tmp` first, then the other usual ones, then a
/// breadth-first search below `/`.
fn choose_staging(avoid: &[&Path]) -> Result<PathBuf, Error> {
    let is_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let usable = |p: &Path| {
        p != Path::new("/")
            && !p.starts_with("/proc")
            && is_dir(p)
            && !avoid.iter().any(|a| a.starts_with(p))
    };
    if let Some(p) = PREFERRED_STAGING.iter().map(Path::new).find(|p| usable(p)) {
        return Ok(p.to_owned());
    }
    let mut level = vec![PathBuf::from("/")];
    for _ in 0..STAGING_SEARCH_DEPTH {
        let mut next = Vec::new();
        for dir in &level {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut children: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| is_dir(p) && !p.starts_with("/proc"))
                .collect();
            children.sort();
            if let Some(p) = children.iter().find(|p| usable(p)) {
                return Ok(p.clone());
            }
            next.extend(children);
        }
        level = next;
    }
    Err(path_error(
        Path::new("/"),
        "the mount-namespace fallback found no directory to build the new root on (every directory near / is an allowed path or leads to one)",
    ))
}

/// The working directory in the new root: `/`, or a directory inside an
/// allowed directory (by its canonical path, which is where it will be).
fn working_directory(chdir: Option<&Path>, sites: &[Site]) -> Result<PathBuf, Error> {
    let Some(dir) = chdir else {
        return Ok(PathBuf::from("/"));
    };
    if !dir.is_absolute() {
        return Err(path_error(
            dir,
            "the working directory must be an absolute path",
        ));
    }
    let canonical = std::fs::canonicalize(dir).map_err(|e| {
        path_error(
            dir,
            format!("the working directory cannot be resolved: {e}"),
        )
    })?;
    if !canonical.is_dir() {
        return Err(path_error(dir, "the working directory is not a directory"));
    }
    let inside = canonical == Path::new("/")
        || sites
            .iter()
            .any(|s| s.kind == Kind::Dir && canonical.starts_with(&s.canonical));
    if !inside {
        return Err(path_error(
            dir,
            "with the mount-namespace fallback the working directory must lie inside an allowed directory (nothing else exists in the new root)",
        ));
    }
    Ok(canonical)
}

fn opt_ptr(s: Option<&CStr>) -> *const libc::c_char {
    s.map_or(std::ptr::null(), CStr::as_ptr)
}

fn check(r: libc::c_int) -> Result<(), Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(())
    }
}

/// `mount(source, target, fstype, flags, data)`.
fn sys_mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    // SAFETY: every pointer is NULL or a NUL-terminated string that lives
    // for the whole call; tmpfs reads `data` as a string.
    let r = unsafe {
        libc::mount(
            opt_ptr(source),
            target.as_ptr(),
            opt_ptr(fstype),
            flags,
            opt_ptr(data).cast(),
        )
    };
    check(r)
}

/// `mkdir(path, 0755)`.
fn sys_mkdir(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated for the whole call.
    check(unsafe { libc::mkdir(path.as_ptr(), 0o755) })
}

/// `mknod(path, S_IFREG | 0644)`: an empty file as a mount point.
fn sys_mknod_file(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated for the whole call; a regular file
    // needs no device number.
    check(unsafe { libc::mknod(path.as_ptr(), libc::S_IFREG | 0o644, 0) })
}

/// `symlink(target, at)`.
fn sys_symlink(target: &CStr, at: &CStr) -> Result<(), Errno> {
    // SAFETY: both strings are NUL-terminated for the whole call.
    check(unsafe { libc::symlink(target.as_ptr(), at.as_ptr()) })
}

/// `chdir(path)`.
fn sys_chdir(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated for the whole call.
    check(unsafe { libc::chdir(path.as_ptr()) })
}

/// `chroot(path)`.
fn sys_chroot(path: &CStr) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated for the whole call.
    check(unsafe { libc::chroot(path.as_ptr()) })
}

/// `pivot_root(new_root, put_old)` (no libc wrapper).
fn sys_pivot_root(new_root: &CStr, put_old: &CStr) -> Result<(), Errno> {
    // SAFETY: both strings are NUL-terminated for the whole call.
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
    check(if r < 0 { -1 } else { 0 })
}

/// `umount2(path, flags)`.
fn sys_umount2(path: &CStr, flags: libc::c_int) -> Result<(), Errno> {
    // SAFETY: `path` is NUL-terminated for the whole call.
    check(unsafe { libc::umount2(path.as_ptr(), flags) })
}

/// `lstat(path)`: (device, inode).
fn sys_lstat_id(path: &CStr) -> Result<(u64, u64), Errno> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is NUL-terminated, `st` is valid for writes of one stat.
    check(unsafe { libc::lstat(path.as_ptr(), st.as_mut_ptr()) })?;
    // SAFETY: lstat succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    Ok((st.st_dev, st.st_ino))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::open_rule;

    /// A fresh directory under the temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir()
                .join(format!("exile-fallback-unit-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn excess_of(path: &Path, rights: Fs) -> Fs {
        let rules = vec![open_rule(path, rights).unwrap()];
        let plan = FallbackPlan::prepare(&rules, None).unwrap();
        assert_eq!(plan.excess().len(), 1);
        plan.excess()[0].1
    }

    #[test]
    fn read_only_dir_has_no_excess() {
        let s = Scratch::new("ro");
        assert_eq!(excess_of(&s.0, Fs::READ), Fs::empty());
        assert_eq!(excess_of(&s.0, Fs::READ | Fs::EXEC), Fs::empty());
    }

    #[test]
    fn write_file_only_dir_grants_read_and_the_write_set() {
        let s = Scratch::new("wo");
        assert_eq!(
            excess_of(&s.0, Fs::WRITE_FILE),
            Fs::READ | Fs::TRUNCATE | Fs::CREATE | Fs::REMOVE | Fs::REFER
        );
        // The whole write set with read: exactly what a rw mount grants.
        assert_eq!(excess_of(&s.0, Fs::READ | Fs::ALL_WRITE), Fs::empty());
        // Device creation is never granted (user namespace): not excess,
        // but it makes the mount writable.
        assert_eq!(
            excess_of(&s.0, Fs::READ | Fs::ALL_WRITE | Fs::DEV),
            Fs::IOCTL_DEV
        );
    }

    #[test]
    fn exec_file() {
        let s = Scratch::new("exec");
        let file = s.0.join("prog");
        std::fs::write(&file, b"#!/bin/sh\n").unwrap();
        assert_eq!(excess_of(&file, Fs::READ_FILE | Fs::EXECUTE), Fs::empty());
        assert_eq!(excess_of(&file, Fs::EXECUTE), Fs::READ_FILE);
        assert_eq!(
            excess_of(&file, Fs::WRITE_FILE),
            Fs::READ_FILE | Fs::TRUNCATE
        );
        // Pure: what the flags grant on a file.
        let flags = remount_flags(Fs::EXECUTE, Kind::File, 0);
        assert_eq!(granted(flags, Kind::File), Fs::READ_FILE | Fs::EXECUTE);
    }

    #[test]
    fn device_file() {
        // Pure: a device node is never mounted nodev, so ioctl is granted.
        let flags = remount_flags(Fs::READ_FILE | Fs::WRITE_FILE, Kind::Device, 0);
        assert_eq!(flags & libc::MS_NODEV, 0);
        assert_eq!(
            granted(flags, Kind::Device) - (Fs::READ_FILE | Fs::WRITE_FILE),
            Fs::TRUNCATE | Fs::IOCTL_DEV
        );
        let flags = remount_flags(Fs::READ_FILE | Fs::IOCTL_DEV, Kind::Device, 0);
        assert_eq!(granted(flags, Kind::Device), Fs::READ_FILE | Fs::IOCTL_DEV);
        // Through prepare, on /dev/null (its mount may itself be nodev).
        let e = excess_of(Path::new("/dev/null"), Fs::READ_FILE | Fs::WRITE_FILE);
        assert!(
            e.contains(Fs::TRUNCATE) && (Fs::TRUNCATE | Fs::IOCTL_DEV).contains(e),
            "{e}"
        );
    }

    #[test]
    fn flags_follow_rights() {
        let ro = rule_flags(Fs::READ, Kind::Dir);
        assert_eq!(
            ro,
            libc::MS_NOSUID | libc::MS_RDONLY | libc::MS_NOEXEC | libc::MS_NODEV
        );
        let rw = rule_flags(Fs::READ | Fs::MAKE_REG, Kind::Dir);
        assert_eq!(rw & libc::MS_RDONLY, 0);
        let dev = rule_flags(Fs::READ | Fs::IOCTL_DEV, Kind::Dir);
        assert_eq!(dev & libc::MS_NODEV, 0);
        let exec = rule_flags(Fs::EXEC, Kind::File);
        assert_eq!(exec & libc::MS_NOEXEC, 0);
        // A read-only, noexec original mount stays so, and so does its atime.
        let kept = kept_flags(st::RDONLY | st::NOEXEC | st::NOATIME | st::NODIRATIME);
        let flags = remount_flags(Fs::READ | Fs::ALL_WRITE | Fs::EXEC, Kind::Dir, kept);
        for f in [
            libc::MS_RDONLY,
            libc::MS_NOEXEC,
            libc::MS_NOATIME,
            libc::MS_NODIRATIME,
        ] {
            assert_ne!(flags & f, 0, "{f:#x}");
        }
        assert_eq!(granted(flags, Kind::Dir), Fs::READ);
    }

    #[test]
    fn nested_rules_inherit_and_mount_parents_first() {
        let s = Scratch::new("nested");
        let deep = s.0.join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        let rules = vec![
            open_rule(&deep, Fs::WRITE_FILE | Fs::READ_FILE).unwrap(),
            open_rule(&s.0, Fs::READ | Fs::EXEC).unwrap(),
        ];
        let plan = FallbackPlan::prepare(&rules, Some(&deep)).unwrap();
        assert_eq!(plan.binds.len(), 2);
        assert!(plan.binds[0].source.as_bytes().len() < plan.binds[1].source.as_bytes().len());
        // The deep rule inherits READ|EXEC: only the rest of the write set is excess.
        let e = plan.excess();
        assert_eq!(
            e[0],
            (0, Fs::TRUNCATE | Fs::CREATE | Fs::REMOVE | Fs::REFER)
        );
        assert_eq!(e[1], (1, Fs::empty()));
        assert_eq!(plan.chdir.as_bytes(), deep.as_os_str().as_bytes());
        // The staging directory does not lead to an allowed path.
        let staging = Path::new(OsStr::from_bytes(plan.staging.as_bytes()));
        assert!(!s.0.starts_with(staging), "{}", staging.display());
    }

    #[test]
    fn rules_on_the_same_path_share_one_mount_with_their_union() {
        let s = Scratch::new("same");
        let rules = vec![
            open_rule(&s.0, Fs::READ).unwrap(),
            open_rule(&s.0, Fs::WRITE_FILE).unwrap(),
        ];
        let plan = FallbackPlan::prepare(&rules, None).unwrap();
        assert_eq!(plan.binds.len(), 1);
        let rest = Fs::TRUNCATE | Fs::CREATE | Fs::REMOVE | Fs::REFER;
        assert_eq!(plan.excess(), vec![(0, rest), (1, rest)]);
    }

    #[test]
    fn symlinks_are_resolved_and_recorded() {
        let s = Scratch::new("links");
        std::fs::create_dir_all(s.0.join("real/sub")).unwrap();
        std::os::unix::fs::symlink("real", s.0.join("rel")).unwrap();
        std::os::unix::fs::symlink(s.0.join("rel/sub"), s.0.join("abs")).unwrap();
        let (canonical, links) = resolve(&s.0.join("abs/./../sub")).unwrap();
        let base = std::fs::canonicalize(&s.0).unwrap();
        assert_eq!(canonical, base.join("real/sub"));
        assert!(links
            .iter()
            .any(|(at, t)| at.ends_with("abs") && t.is_absolute()));
        assert!(links
            .iter()
            .any(|(at, t)| at.ends_with("rel") && t == Path::new("real")));
        std::os::unix::fs::symlink("loop", s.0.join("loop")).unwrap();
        assert!(resolve(&s.0.join("loop"))
            .unwrap_err()
            .contains("symbolic links"));
    }

    #[test]
    fn chdir_must_be_inside_an_allowed_directory() {
        let s = Scratch::new("chdir");
        std::fs::create_dir_all(s.0.join("in/deeper")).unwrap();
        std::fs::create_dir_all(s.0.join("out")).unwrap();
        std::fs::write(s.0.join("in/file"), b"x").unwrap();
        let rules = vec![open_rule(&s.0.join("in"), Fs::READ).unwrap()];
        assert!(FallbackPlan::prepare(&rules, Some(&s.0.join("in/deeper"))).is_ok());
        for bad in ["out", "in/file", "missing"] {
            let err = FallbackPlan::prepare(&rules, Some(&s.0.join(bad))).unwrap_err();
            assert!(matches!(err, Error::Path { .. }), "{bad}: {err}");
        }
        assert!(FallbackPlan::prepare(&rules, Some(Path::new("relative"))).is_err());
        // no_fs: only / exists.
        assert!(FallbackPlan::prepare(&[], Some(Path::new("/"))).is_ok());
        assert!(FallbackPlan::prepare(&[], Some(&s.0)).is_err());
    }

    #[test]
    fn no_fs_plan_is_an_empty_root() {
        let plan = FallbackPlan::prepare(&[], None).unwrap();
        assert!(plan.nodes.is_empty() && plan.binds.is_empty() && plan.excess().is_empty());
        assert!(plan.fds().is_empty());
        assert_eq!(plan.chdir.as_bytes(), b"/");
    }

    #[test]
    fn mountinfo_lines_are_parsed() {
        let text = b"22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n\
                     27 1 254:0 / / ro,noatime - ext4 /dev/vda rw\n\
                     30 27 0:27 / /with\\040space rw - tmpfs tmpfs rw\n\
                     garbage\n";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].point, Path::new("/proc"));
        assert_eq!(
            m[0].flags,
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RELATIME
        );
        assert_eq!(m[1].flags, libc::MS_RDONLY | libc::MS_NOATIME);
        assert_eq!(
            m.iter().map(|e| e.procfs).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert_eq!(m[2].point, Path::new("/with space"));
        assert_eq!(unescape(b"a\\134b\\"), b"a\\b\\");
    }

    #[test]
    fn staging_avoids_allowed_paths() {
        let tmp = Path::new("/tmp/x");
        let s = choose_staging(&[tmp]).unwrap();
        assert!(!tmp.starts_with(&s) && !s.starts_with("/proc") && s != Path::new("/"));
        assert_eq!(
            choose_staging(&[Path::new("/")]).unwrap(),
            Path::new("/tmp")
        );
    }

    /// Fork; the child runs `f` and exits 0, or 1 after writing the failure
    /// through a pipe.
    fn in_child(f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
        use std::io::{Read, Write};
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        // SAFETY: the child runs `f` and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            drop(r);
            let code = match f() {
                Ok(()) => 0,
                Err(msg) => {
                    let _ = std::fs::File::from(w).write_all(msg.as_bytes());
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
        } else {
            Err(format!("status {status:#x}: {msg}"))
        }
    }

    /// Long symbolic links take a page of the tmpfs each: the tmpfs is
    /// sized for them. Applied directly in a child (root only).
    #[test]
    fn many_long_symlinks_fit_in_the_new_root() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let s = Scratch::new("longlinks");
        let long = s.0.join("d".repeat(150));
        std::fs::create_dir_all(long.join("real")).unwrap();
        std::fs::write(long.join("real/file"), b"end").unwrap();
        let n = TMPFS_SPARE_PAGES + 8;
        // link0 -> <long>/link1 -> … -> <long>/real
        for i in 0..n {
            let next = if i + 1 == n {
                long.join("real")
            } else {
                long.join(format!("link{}", i + 1))
            };
            std::os::unix::fs::symlink(&next, long.join(format!("link{i}"))).unwrap();
        }
        let entry = long.join("link0");
        let rules = vec![open_rule(&entry, Fs::READ).unwrap()];
        let plan = FallbackPlan::prepare(&rules, None).unwrap();
        in_child(|| {
            use nix::mount::{mount, MsFlags};
            let none = None::<&str>;
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(|e| e.to_string())?;
            mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
                .map_err(|e| e.to_string())?;
            plan.apply()
                .map_err(|(step, e)| format!("apply: {step}: {e}"))?;
            match std::fs::read(entry.join("file")) {
                Ok(t) if t == b"end" => Ok(()),
                other => Err(format!("read through {n} links: {other:?}")),
            }
        })
        .unwrap();
    }

    /// Where `pivot_root` is impossible (here: the process root is a plain
    /// chroot directory, not a mount point — as for the initramfs, whose
    /// rootfs has no parent mount), apply moves the new root onto `/` and
    /// chroots. `Policy` cannot reach this in a plain chroot today (making
    /// `/` private fails there), so the plan is applied directly. Root only.
    #[test]
    fn without_pivot_root_the_new_root_is_moved_and_chrooted() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let s = Scratch::new("chroot");
        let jail = s.0.join("jail");
        let ro = s.0.join("ro");
        std::fs::create_dir_all(&jail).unwrap();
        std::fs::create_dir_all(&ro).unwrap();
        std::fs::write(ro.join("readable"), b"hello").unwrap();
        in_child(|| {
            use nix::mount::{mount, MsFlags};
            let none = None::<&str>;
            let err = |what: &str| {
                let what = what.to_owned();
                move |e: Errno| format!("{what}: {e}")
            };
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(err("unshare"))?;
            mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)
                .map_err(err("private"))?;
            mount(Some("jail"), &jail, Some("tmpfs"), MsFlags::empty(), none)
                .map_err(err("tmpfs"))?;
            let root = jail.join("root");
            for d in ["host", "proc"] {
                std::fs::create_dir_all(root.join(d)).map_err(|e| e.to_string())?;
            }
            let rbind = MsFlags::MS_BIND | MsFlags::MS_REC;
            mount(Some("/"), &root.join("host"), none, rbind, none).map_err(err("bind /"))?;
            mount(Some("/proc"), &root.join("proc"), none, rbind, none)
                .map_err(err("bind /proc"))?;
            nix::unistd::chroot(&root).map_err(err("chroot"))?;
            nix::unistd::chdir("/").map_err(err("chdir"))?;

            let inner = Path::new("/host").join(ro.strip_prefix("/").unwrap());
            let rules = vec![open_rule(&inner, Fs::READ).map_err(|e| e.to_string())?];
            let plan = FallbackPlan::prepare(&rules, Some(&inner)).map_err(|e| e.to_string())?;
            // The process root is not a mount point: pivot_root into a
            // fresh mount fails with EINVAL.
            std::fs::create_dir("/probe").map_err(|e| format!("mkdir /probe: {e}"))?;
            mount(
                Some("probe"),
                "/probe",
                Some("tmpfs"),
                MsFlags::empty(),
                none,
            )
            .map_err(err("tmpfs on /probe"))?;
            nix::unistd::chdir("/probe").map_err(err("chdir /probe"))?;
            let probe = sys_pivot_root(c".", c".");
            nix::unistd::chdir("/").map_err(err("chdir"))?;
            nix::mount::umount("/probe").map_err(err("umount /probe"))?;
            if probe != Err(Errno::EINVAL) {
                return Err(format!("pivot_root probe: {probe:?}"));
            }
            plan.apply()
                .map_err(|(step, e)| format!("apply: {step}: {e}"))?;

            let text = std::fs::read("readable").map_err(|e| format!("read: {e}"))?;
            if text != b"hello" {
                return Err(format!("{text:?}"));
            }
            let gone = |p: &str| std::fs::metadata(p).err().and_then(|e| e.raw_os_error());
            for p in ["/host/etc/passwd", "/proc/self/status", "/jail"] {
                if gone(p) != Some(libc::ENOENT) {
                    return Err(format!("{p} is reachable"));
                }
            }
            match std::fs::create_dir("/x").map_err(|e| e.raw_os_error()) {
                Err(Some(libc::EROFS)) => Ok(()),
                other => Err(format!("mkdir /x: {other:?}")),
            }
        })
        .unwrap();
    }
}
