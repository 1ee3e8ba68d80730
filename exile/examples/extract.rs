//! Extract a tar archive in a sandbox that can read the archive and write
//! only under the target directory — and cannot reach the network.
//!
//! ```sh
//! cargo run --example extract -- ARCHIVE TARGET_DIR
//! cargo run --example extract -- --demo [DIR]
//! cargo run --example extract -- --gnu-tar ARCHIVE TARGET_DIR
//! cargo run --example extract -- --gnu-tar --demo [DIR]
//! ```
//!
//! `--fallback` (with any of these) enforces the path rules with the
//! mount-namespace fallback even where Landlock works, as on a kernel
//! without Landlock.
//!
//! # What it demonstrates
//!
//! Archive extraction is the classic place where untrusted input names
//! files: an entry called `../x`, an absolute `/home/me/.bashrc`, a symlink
//! `link -> /somewhere` followed by an entry `link/x` that is written
//! *through* it, a hard link to a file outside. Extractors defend with path
//! sanitizers, and every few years one has a hole. Here the sandbox does
//! the refusing: the extractor is deliberately naive — it joins each
//! entry's raw name to the target directory (so `..` climbs out and an
//! absolute name replaces the target), creates symlinks as they come and
//! follows them when it writes — and still nothing outside the target is
//! touched, because the kernel refuses:
//!
//! - Landlock (or, on kernels without it, a mount namespace that contains
//!   only the allowed paths) allows reading the archive, and reading,
//!   creating, writing and removing under the target directory; every other
//!   path is refused with `EACCES` (a hard link from outside: `EXDEV`);
//! - seccomp vows `stdio rpath wpath cpath`: no `exec`, no sockets, no
//!   `ptrace`… (a violation kills the extractor);
//! - no network (a network namespace, or Landlock's TCP/UDP rules), no
//!   capabilities, no_new_privs.
//!
//! The default engine unpacks with the `tar` crate's reader *and our own*
//! `std::fs` calls (the crate's `unpack_in` has its own sanitizer, which is
//! exactly what this example does not rely on) in a child made with
//! [`exile::Launcher`]: the policy is applied there, never in this
//! process, and the child sends back, entry by entry, what was extracted
//! and what was refused with which errno.
//!
//! `--gnu-tar` runs `/usr/bin/tar --absolute-names` instead (which turns off
//! GNU tar's own `..` and `/` protection) as a sandboxed `Command`, with
//! [`exile::launch::DynamicProgram`] adding what its dynamic loader needs.
//!
//! `--demo` builds a malicious archive in `DIR` (default: a fresh temporary
//! directory, removed afterwards), extracts it into `DIR/target`, prints
//! what was extracted and what was refused, and checks the sentinel files
//! outside the target: the exit status is 0 only when nothing outside was
//! written. Without `--demo` the exit status is 0 when every entry was
//! extracted, 2 when some were refused.
//!
//! If this kernel can enforce neither Landlock nor the mount-namespace
//! fallback, the policy (every mechanism `Requirement::Hard`) fails to
//! prepare and the example exits with the reason, before extracting
//! anything.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use exile::launch::DynamicProgram;
use exile::{CommandExt, Fs, Launcher, Policy, Vows};
use nix::errno::Errno;
use serde::{Deserialize, Serialize};

/// What happened to one entry of the archive.
#[derive(Debug, Serialize, Deserialize)]
struct Outcome {
    /// The entry's name as stored in the archive.
    name: String,
    /// `file`, `dir`, `symlink -> T`, `hardlink -> T`, …
    kind: String,
    /// Where the naive join put it.
    dest: String,
    /// Bytes written, or the errno that refused it.
    result: Result<u64, i32>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let (gnu_tar, fallback) = (flag("--gnu-tar"), flag("--fallback"));
    let rest: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !["--gnu-tar", "--fallback"].contains(a))
        .collect();
    let engine = Engine { gnu_tar, fallback };
    let result = match rest.as_slice() {
        ["--demo"] => demo(None, engine),
        ["--demo", dir] => demo(Some(Path::new(dir)), engine),
        [archive, target] if !archive.starts_with('-') => {
            extract_cli(Path::new(archive), Path::new(target), engine)
        }
        _ => {
            eprintln!(
                "usage: extract [--gnu-tar] [--fallback] ARCHIVE TARGET_DIR\n       extract [--gnu-tar] [--fallback] --demo [DIR]"
            );
            return ExitCode::from(64);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("extract: {e}");
            ExitCode::FAILURE
        }
    }
}

type Error = Box<dyn std::error::Error>;

/// How to extract.
#[derive(Clone, Copy, Debug)]
struct Engine {
    /// Run GNU tar instead of the naive unpacker.
    gnu_tar: bool,
    /// Force the mount-namespace fallback.
    fallback: bool,
}

/// `extract ARCHIVE TARGET_DIR`.
fn extract_cli(archive: &Path, target: &Path, engine: Engine) -> Result<ExitCode, Error> {
    let refused = extract(archive, target, engine)?;
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Extract `archive` into `target` (created if missing) in the sandbox;
/// print what happened. Returns how many entries were refused.
fn extract(archive: &Path, target: &Path, engine: Engine) -> Result<usize, Error> {
    fs::create_dir_all(target)?;
    // Path rules take absolute paths of files that exist.
    let archive = fs::canonicalize(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let target = fs::canonicalize(target)?;
    println!(
        "extracting {} into {} ({})",
        archive.display(),
        target.display(),
        if engine.gnu_tar {
            "GNU tar --absolute-names, a sandboxed Command"
        } else {
            "a naive unpacker in a sandboxed child"
        }
    );
    // What both engines may do: read the archive, write under the target.
    let mut policy = Policy::new()
        .no_network()
        .drop_capabilities()
        .allow_path(&archive, Fs::READ_FILE)
        .allow_path(&target, Fs::READ | Fs::ALL_WRITE);
    if engine.fallback {
        policy = policy.force_fallback();
    }
    if engine.gnu_tar {
        run_gnu_tar(policy, &archive, &target)
    } else {
        run_naive(policy, &archive, &target)
    }
}

/// The `tar` crate's reader, our own naive `std::fs` calls, in a child
/// under the policy.
fn run_naive(policy: Policy, archive: &Path, target: &Path) -> Result<usize, Error> {
    let prepared = policy
        .vows("stdio rpath wpath cpath".parse()?)
        .prepare()
        .map_err(|e| format!("the sandbox cannot be set up on this system: {e}"))?;
    let stream = Launcher::new(&prepared)
        .timeout(Duration::from_secs(60))
        .stream(|_input, _output| unpack_naively(archive, target))?;
    let (outcomes, report) = stream.wait_with_report();
    let outcomes = outcomes?;
    if let Some(report) = report {
        println!("sandbox in force in the extracting child:");
        // The mechanisms the policy asked for (the report lists all).
        for line in report.to_string().lines() {
            if !line.trim_end().ends_with(" -") {
                println!("  {line}");
            }
        }
    }
    let mut refused = 0;
    for o in &outcomes {
        match o.result {
            Ok(bytes) => println!("extracted  {} [{}, {bytes} bytes]", o.name, o.kind),
            Err(errno) => {
                refused += 1;
                println!(
                    "REFUSED    {} [{}]: {} (naive path {})",
                    o.name,
                    o.kind,
                    Errno::from_raw(errno),
                    o.dest
                );
            }
        }
    }
    println!("{} extracted, {refused} refused", outcomes.len() - refused);
    Ok(refused)
}

/// Unpack every entry the naive way: `target.join(raw name)`, no checks.
/// Runs in the sandboxed child; never stops at a refused entry.
fn unpack_naively(archive: &Path, target: &Path) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let errno = |e: io::Error| e.raw_os_error().unwrap_or(libc::EIO);
    let file = match File::open(archive) {
        Ok(f) => f,
        Err(e) => {
            outcomes.push(Outcome {
                name: archive.display().to_string(),
                kind: "archive".into(),
                dest: String::new(),
                result: Err(errno(e)),
            });
            return outcomes;
        }
    };
    let mut ar = tar::Archive::new(file);
    let entries = match ar.entries() {
        Ok(entries) => entries,
        Err(e) => {
            outcomes.push(Outcome {
                name: archive.display().to_string(),
                kind: "archive".into(),
                dest: String::new(),
                result: Err(errno(e)),
            });
            return outcomes;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                outcomes.push(Outcome {
                    name: "(corrupt archive)".into(),
                    kind: e.to_string(),
                    dest: String::new(),
                    result: Err(errno(e)),
                });
                break;
            }
        };
        let raw_name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw_name).into_owned();
        // The naive join: `..` climbs out, an absolute name replaces `target`.
        let dest = target.join(OsStr::from_bytes(&raw_name));
        let link = entry
            .link_name_bytes()
            .map(|l| PathBuf::from(OsStr::from_bytes(&l)));
        let entry_type = entry.header().entry_type();
        let (kind, result) = match entry_type {
            tar::EntryType::Directory => ("dir".to_owned(), fs::create_dir_all(&dest).map(|()| 0)),
            tar::EntryType::Regular | tar::EntryType::Continuous => (
                "file".to_owned(),
                (|| {
                    if let Some(parent) = dest.parent() {
                        fs::create_dir_all(parent)?;
                    }
                    // Follows a symlink at `dest`, as a naive extractor does.
                    let mut out = File::create(&dest)?;
                    io::copy(&mut entry, &mut out)
                })(),
            ),
            tar::EntryType::Symlink => {
                let link = link.unwrap_or_default();
                (
                    format!("symlink -> {}", link.display()),
                    std::os::unix::fs::symlink(&link, &dest).map(|()| 0),
                )
            }
            tar::EntryType::Link => {
                let link = link.unwrap_or_default();
                (
                    format!("hardlink -> {}", link.display()),
                    // The link target is joined the same naive way.
                    fs::hard_link(target.join(&link), &dest).map(|()| 0),
                )
            }
            // Devices, fifos, …: not extracted (not refused either).
            _ => continue,
        };
        outcomes.push(Outcome {
            name,
            kind,
            dest: dest.display().to_string(),
            result: result.map_err(errno),
        });
    }
    outcomes
}

/// GNU tar with its own protection off (`--absolute-names`), as a
/// sandboxed `Command`.
fn run_gnu_tar(policy: Policy, archive: &Path, target: &Path) -> Result<usize, Error> {
    let tar = DynamicProgram::new("tar")?;
    // tar's own work: read the archive, create and write files, set their
    // times and modes (`fattr`). `error`: a call outside the vows fails with
    // EACCES instead of killing tar (glibc's user-name lookup tries nscd's
    // unix socket, then falls back).
    let vows: Vows = "stdio rpath wpath cpath fattr error".parse()?;
    let prepared = tar
        .policy(policy, vows)
        .prepare()
        .map_err(|e| format!("the sandbox cannot be set up on this system: {e}"))?;
    println!(
        "running {} under vows `{}` (`{vows}` + what its loader needs) and {} more path rules for the loader",
        tar.path().display(),
        vows | tar.vows(),
        tar.path_rules().len()
    );
    let out = tar
        .command()
        .arg0("tar")
        .args(["--absolute-names", "--no-same-owner", "-xvf"])
        .arg(archive)
        .arg("-C")
        .arg(target)
        .env("LC_ALL", "C")
        .sandbox(prepared)
        .output()?;
    // tar -v lists each member as it extracts it; an error names the file
    // as `tar: NAME: what failed: strerror`.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("tar: "))
        .filter(|l| !l.starts_with("Exiting with failure"))
        .collect();
    let about = |name: &str| {
        errors
            .iter()
            .find(|e| e.strip_prefix(name).is_some_and(|r| r.starts_with(": ")))
            .copied()
    };
    let mut refused = 0;
    for member in stdout.lines() {
        match about(member) {
            Some(error) => {
                refused += 1;
                println!("REFUSED    {error}");
            }
            None => println!("extracted  {member}"),
        }
    }
    for error in &errors {
        if !stdout.lines().any(|m| about(m) == Some(*error)) {
            println!("tar says   {error}");
        }
    }
    println!("tar: {}; {refused} members refused", out.status);
    Ok(refused)
}

// ---------------------------------------------------------------- demo

/// The sentinels outside the target that the malicious archive aims at.
struct Layout {
    root: PathBuf,
    archive: PathBuf,
    target: PathBuf,
    outside: PathBuf,
    secret: PathBuf,
}

const SECRET: &str = "the original secret\n";

impl Layout {
    fn new(root: &Path) -> io::Result<Layout> {
        let root = fs::canonicalize(root)?;
        let outside = root.join("outside");
        fs::create_dir_all(&outside)?;
        let secret = outside.join("secret.txt");
        fs::write(&secret, SECRET)?;
        Ok(Layout {
            archive: root.join("evil.tar"),
            target: root.join("target"),
            outside,
            secret,
            root,
        })
    }

    /// Paths the archive tries to create outside the target.
    fn must_not_exist(&self) -> [PathBuf; 4] {
        [
            self.root.join("escape.txt"),
            self.outside.join("absolute.txt"),
            self.outside.join("through.txt"),
            self.root.join("newdir"),
        ]
    }
}

/// `extract --demo [DIR]`.
fn demo(dir: Option<&Path>, engine: Engine) -> Result<ExitCode, Error> {
    let (root, remove) = match dir {
        Some(dir) => {
            fs::create_dir_all(dir)?;
            (dir.to_owned(), false)
        }
        None => {
            let dir =
                std::env::temp_dir().join(format!("exile-extract-demo-{}", std::process::id()));
            fs::create_dir_all(&dir)?;
            (dir, true)
        }
    };
    let result = run_demo(&root, engine);
    if remove {
        let _ = fs::remove_dir_all(&root);
    }
    result
}

fn run_demo(root: &Path, engine: Engine) -> Result<ExitCode, Error> {
    let layout = Layout::new(root)?;
    write_malicious_archive(&layout)?;
    println!("demo: a malicious archive at {}", layout.archive.display());
    extract(&layout.archive, &layout.target, engine)?;

    println!("\nchecking outside the target:");
    let mut escaped = false;
    for path in layout.must_not_exist() {
        let exists = path.symlink_metadata().is_ok();
        escaped |= exists;
        println!(
            "  {:<60} {}",
            path.display(),
            if exists {
                "WRITTEN (escaped!)"
            } else {
                "not created"
            }
        );
    }
    let secret = fs::read_to_string(&layout.secret)?;
    let intact = secret == SECRET;
    escaped |= !intact;
    println!(
        "  {:<60} {}",
        layout.secret.display(),
        if intact {
            "unchanged"
        } else {
            "MODIFIED (escaped!)"
        }
    );
    if escaped {
        println!("FAILED: the archive wrote outside the target directory");
        Ok(ExitCode::FAILURE)
    } else {
        println!("OK: nothing outside the target directory was written");
        Ok(ExitCode::SUCCESS)
    }
}

/// Entries a naive extractor would write outside the target, between two
/// benign ones. Names are written into the headers raw: the `tar` crate's
/// builder refuses `..` and absolute paths (rightly).
fn write_malicious_archive(layout: &Layout) -> io::Result<()> {
    let mut b = tar::Builder::new(File::create(&layout.archive)?);
    let outside = layout.outside.as_os_str().as_bytes();
    let join = |a: &[u8], b: &str| [a, b"/", b.as_bytes()].concat();
    use tar::EntryType::{Directory, Link, Regular, Symlink};
    append(&mut b, b"readme.txt", Regular, None, b"a benign file\n")?;
    append(&mut b, b"docs/", Directory, None, b"")?;
    append(
        &mut b,
        b"docs/guide.txt",
        Regular,
        None,
        b"another benign file\n",
    )?;
    // Climb out of the target.
    append(&mut b, b"../escape.txt", Regular, None, b"escaped by ..\n")?;
    append(
        &mut b,
        b"../newdir/file.txt",
        Regular,
        None,
        b"escaped by .. into a new dir\n",
    )?;
    // An absolute name: Path::join replaces the target with it.
    append(
        &mut b,
        &join(outside, "absolute.txt"),
        Regular,
        None,
        b"escaped by an absolute name\n",
    )?;
    // A symlink to a directory outside, then a file written through it.
    append(&mut b, b"link", Symlink, Some(b"../outside"), b"")?;
    append(
        &mut b,
        b"link/through.txt",
        Regular,
        None,
        b"escaped through a symlink\n",
    )?;
    // A symlink to a file outside, then an entry of the same name: a
    // naive File::create follows the symlink and truncates the target.
    append(
        &mut b,
        b"secret-link",
        Symlink,
        Some(&join(outside, "secret.txt")),
        b"",
    )?;
    append(
        &mut b,
        b"secret-link",
        Regular,
        None,
        b"overwritten through a symlink\n",
    )?;
    // A hard link to a file outside (writing to it would change the secret).
    append(
        &mut b,
        b"hardlink",
        Link,
        Some(&join(outside, "secret.txt")),
        b"",
    )?;
    append(
        &mut b,
        b"last.txt",
        Regular,
        None,
        b"the last benign file\n",
    )?;
    b.into_inner()?.sync_all()
}

/// Append an entry with raw name and link name (GNU long-name records
/// for names of 100 bytes and more).
fn append<W: io::Write>(
    b: &mut tar::Builder<W>,
    name: &[u8],
    kind: tar::EntryType,
    link: Option<&[u8]>,
    data: &[u8],
) -> io::Result<()> {
    let long = |b: &mut tar::Builder<W>, kind: tar::EntryType, value: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        raw_field(
            &mut h.as_gnu_mut().expect("gnu header").name,
            b"././@LongLink",
        );
        h.set_size(value.len() as u64 + 1);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, [value, b"\0"].concat().as_slice())
    };
    if name.len() >= 100 {
        long(b, tar::EntryType::GNULongName, name)?;
    }
    if let Some(link) = link.filter(|l| l.len() >= 100) {
        long(b, tar::EntryType::GNULongLink, link)?;
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    let gnu = h.as_gnu_mut().expect("gnu header");
    raw_field(&mut gnu.name, name);
    if let Some(link) = link {
        raw_field(&mut gnu.linkname, link);
    }
    h.set_size(data.len() as u64);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    b.append(&h, data)
}

/// Copy as much of `value` as fits (leaving a NUL) into a header field.
fn raw_field(field: &mut [u8], value: &[u8]) {
    field.fill(0);
    let n = value.len().min(field.len() - 1);
    field[..n].copy_from_slice(&value[..n]);
}
