//! `Command` integration: apply a policy in `pre_exec`.

use std::ffi::OsStr;
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use super::os;
use crate::{Error, Fs, Policy, Prepared, Vows};

/// Spawn a program under a policy: `Command::new("tar").sandbox(prepared)`.
///
/// The policy is applied in the child between `fork` and `execve`
/// (`pre_exec`), so the program runs under it from its first instruction;
/// what survives `execve` stays in force (namespaces, no_new_privs,
/// resource limits, capabilities, Landlock, seccomp). `apply` makes only
/// system calls, which is what `pre_exec` allows.
///
/// When `apply` fails, the spawn fails: std carries only an errno from the
/// child to the parent, so `spawn()` returns
/// `io::Error::from_raw_os_error(errno)` of the failing step, and the full
/// message (`exile: the sandbox policy could not be applied before exec:
/// …`) is written to the child's stderr — whatever the `Command`'s stderr
/// is.
///
/// With `close_fds` in the policy, std's own close-on-exec error pipe is
/// closed too: a failure (of a later apply step or of `execve`) then shows
/// as the child exiting with status 1 instead of an error from `spawn`,
/// with the message on stderr as above.
///
/// *Vows, path rules and dynamically linked programs:* the policy is in
/// force from `execve` on, so the program's dynamic loader runs under it:
/// it needs `execve` itself (vow `exec`), `mmap` with `PROT_EXEC`
/// (`prot_exec`), opening its libraries (`rpath`, and path rules on the
/// library directories), and execute rights on the program and the loader.
/// [`DynamicProgram`] lists exactly that and adds it to a [`Policy`].
///
/// ```no_run
/// use std::process::Command;
/// use exile::CommandExt;
///
/// let prepared = exile::Policy::new().no_new_fds().prepare()?;
/// let status = Command::new("/bin/true").sandbox(prepared).status()?;
/// assert!(status.success());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait CommandExt {
    /// Apply `prepared` in the child before `execve`.
    ///
    /// Takes the policy by value or as an `Arc` (it lives as long as the
    /// `Command` and is applied again for every spawn).
    ///
    /// ```no_run
    /// use std::process::Command;
    /// use std::sync::Arc;
    /// use exile::CommandExt;
    ///
    /// let prepared = Arc::new(exile::Policy::new().prepare()?);
    /// let a = Command::new("/bin/echo").arg("a").sandbox(prepared.clone()).output()?;
    /// let b = Command::new("/bin/echo").arg("b").sandbox(prepared).output()?;
    /// assert_eq!((a.stdout, b.stdout), (b"a\n".to_vec(), b"b\n".to_vec()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn sandbox(&mut self, prepared: impl Into<Arc<Prepared>>) -> &mut Self;
}

impl CommandExt for Command {
    fn sandbox(&mut self, prepared: impl Into<Arc<Prepared>>) -> &mut Command {
        let prepared: Arc<Prepared> = prepared.into();
        let hook = move || -> io::Result<()> {
            match prepared.apply() {
                Ok(_) => Ok(()),
                Err(err) => {
                    tell_stderr(&err);
                    let errno = err.errno().map_or(libc::EPERM, |e| e as i32);
                    Err(io::Error::from_raw_os_error(errno))
                }
            }
        };
        // SAFETY: the hook runs in the forked child before execve and does
        // only what is allowed there: `apply` makes system calls without
        // allocating or locking; `tell_stderr` formats into a stack buffer
        // and calls write(2); `from_raw_os_error` does not allocate.
        unsafe { self.pre_exec(hook) }
    }
}

/// A `fmt::Write` into a fixed buffer that drops what does not fit.
struct StackText {
    buf: [u8; 1024],
    len: usize,
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Write the error to fd 2 without allocating.
fn tell_stderr(err: &Error) {
    let mut text = StackText {
        buf: [0; 1024],
        len: 0,
    };
    let _ = writeln!(
        text,
        "exile: the sandbox policy could not be applied before exec: {err}"
    );
    if text.len == text.buf.len() {
        text.buf[text.len - 1] = b'\n';
    }
    let _ = os::write_all(libc::STDERR_FILENO, &text.buf[..text.len]);
}

/// What a program's dynamic loader needs to start it under a policy: the
/// vows and path rules to add for [`CommandExt::sandbox`].
///
/// A policy applied before `execve` is in force while the new program's
/// dynamic loader (`ld.so`) sets it up, so a policy that allows only what
/// the program itself does kills it — or fails its `execve` — before its
/// `main` runs. What the loader needs:
///
/// - **vows** ([`vows`](DynamicProgram::vows), [`LOADER_VOWS`](DynamicProgram::LOADER_VOWS)):
///   `exec` (the `execve` itself), `stdio` (`mmap`, `mprotect`, `brk`,
///   `read`, `close`, …), `rpath` (it opens the libraries read-only) and
///   `prot_exec` (it maps their code executable). A statically linked
///   program needs only `stdio exec`;
/// - **path rules** ([`path_rules`](DynamicProgram::path_rules)): read
///   and execute on the program (the kernel opens it for `execve` with
///   both) and on its loader (the `PT_INTERP` of its ELF header, e.g.
///   `/lib64/ld-linux-x86-64.so.2`); read on the library directories that
///   exist — `/lib`, `/lib64`, `/usr/lib`, `/usr/lib64` and those listed in
///   `/etc/ld.so.conf` (with its `include`s) — on `/etc/ld.so.cache`, and
///   on `/etc/ld.so.preload` and the libraries it names, where it exists.
///   The library directories get execute too: Landlock checks that right
///   only on `execve` (mapping code is the `prot_exec` vow's business),
///   but the mount-namespace fallback expresses "no execute" as a
///   `noexec` mount, where the loader could not map a library's code. So
///   the rules work with both backends, at the price that under Landlock
///   a file in a library directory may be `execve`d too (under the same
///   policy: vows, no_new_privs).
///
/// A `#!` script gets the same for its interpreter (the `#!` line is
/// followed, as the kernel does, up to 4 levels). Not covered: libraries
/// found through `LD_LIBRARY_PATH` or the program's own `RUNPATH` outside
/// those directories, and programs the program itself executes (e.g.
/// `#!/usr/bin/env python3` runs `python3`): add rules for them with
/// [`Policy::allow_path`] — or make a `DynamicProgram` for each and add
/// its [`path_rules`](DynamicProgram::path_rules) too.
///
/// ```
/// use exile::launch::DynamicProgram;
/// use exile::{CommandExt, Fs, Policy};
///
/// let ls = DynamicProgram::new("ls")?; // searched in PATH, like a shell does
/// let prepared = ls
///     // What ls itself does (list a directory), plus what its loader needs.
///     .policy(Policy::new().no_network(), "stdio rpath".parse()?)
///     .allow_path("/etc", Fs::READ)
///     .prepare()?;
/// // Run exactly the file the rules name.
/// let out = ls.command().arg("/etc").sandbox(prepared).output()?;
/// assert!(out.status.success(), "{out:?}");
/// assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l == "passwd"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Without it the same policy stops `ls` before it lists anything: with
/// vows but no `exec`, `execve` is a violation (the child is killed by
/// SIGSYS); with `exec` but no `prot_exec`, the loader is killed mapping
/// libc; with path rules but none for the program, `execve` fails with
/// `EACCES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicProgram {
    /// The program as it will be executed (absolute).
    path: PathBuf,
    /// Its ELF interpreter (`PT_INTERP`), or that of its `#!` interpreter.
    loader: Option<PathBuf>,
    /// The `#!` interpreters in the order the kernel follows them.
    script_interpreters: Vec<PathBuf>,
    /// The path rules, in order, one per path.
    rules: Vec<(PathBuf, Fs)>,
}

/// The library directories a dynamic loader searches by default.
const LIBRARY_DIRS: [&str; 4] = ["/lib", "/lib64", "/usr/lib", "/usr/lib64"];

/// How many `#!` levels the kernel follows (`BINPRM_MAX_RECURSION`).
const MAX_SCRIPT_DEPTH: usize = 4;

impl DynamicProgram {
    /// The vows a dynamically linked program's loader needs:
    /// `stdio rpath exec prot_exec`.
    pub const LOADER_VOWS: Vows = Vows::STDIO
        .union(Vows::RPATH)
        .union(Vows::EXEC)
        .union(Vows::PROT_EXEC);

    /// The vows a statically linked program needs to be executed and
    /// start: `stdio exec`.
    pub const STATIC_VOWS: Vows = Vows::STDIO.union(Vows::EXEC);

    /// Find `program` and work out what its loader needs.
    ///
    /// A name without `/` is searched in `PATH` (an executable regular
    /// file, like `execvp`; `/usr/local/bin:/usr/bin:/bin` without
    /// `PATH`); a relative path is taken from the current directory. The
    /// program is read now: its ELF program headers (for `PT_INTERP`) or
    /// its `#!` line. [`Error::Path`] when it is not found, cannot be read,
    /// or is neither an ELF executable nor a `#!` script.
    pub fn new(program: impl AsRef<Path>) -> Result<DynamicProgram, Error> {
        let path = resolve(program.as_ref())?;
        let mut this = DynamicProgram {
            path: path.clone(),
            loader: None,
            script_interpreters: Vec::new(),
            rules: Vec::new(),
        };
        let mut next = path;
        for depth in 0.. {
            this.add_rule(&next, Fs::READ_FILE | Fs::EXECUTE);
            match inspect(&next)? {
                Executable::Elf { interpreter } => {
                    if let Some(loader) = interpreter {
                        this.add_rule(&loader, Fs::READ_FILE | Fs::EXECUTE);
                        this.loader = Some(loader);
                    }
                    break;
                }
                Executable::Script { interpreter } => {
                    if depth == MAX_SCRIPT_DEPTH {
                        return Err(path_error(
                            &next,
                            format!("more than {MAX_SCRIPT_DEPTH} levels of #! interpreters"),
                        ));
                    }
                    this.script_interpreters.push(interpreter.clone());
                    next = interpreter;
                }
            }
        }
        if this.loader.is_some() {
            this.add_library_rules();
        }
        Ok(this)
    }

    /// The program's absolute path: what [`command`](DynamicProgram::command)
    /// executes and what the path rules name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The dynamic loader (`PT_INTERP`) of the program — or of its `#!`
    /// interpreter; `None` for a statically linked program.
    pub fn loader(&self) -> Option<&Path> {
        self.loader.as_deref()
    }

    /// The `#!` interpreters, in the order the kernel follows them (empty
    /// for an ELF program).
    pub fn script_interpreters(&self) -> &[PathBuf] {
        &self.script_interpreters
    }

    /// The vows the program needs to be executed and loaded:
    /// [`LOADER_VOWS`](DynamicProgram::LOADER_VOWS) for a dynamically
    /// linked program, [`STATIC_VOWS`](DynamicProgram::STATIC_VOWS) for a
    /// static one.
    pub fn vows(&self) -> Vows {
        if self.loader.is_some() {
            DynamicProgram::LOADER_VOWS
        } else {
            DynamicProgram::STATIC_VOWS
        }
    }

    /// The path rules the program and its loader need (only paths that
    /// exist now; each path once).
    pub fn path_rules(&self) -> &[(PathBuf, Fs)] {
        &self.rules
    }

    /// A `Command` for [`path`](DynamicProgram::path), so the file that runs
    /// is the one the rules were made for (not another one found in `PATH`).
    pub fn command(&self) -> Command {
        Command::new(&self.path)
    }

    /// Add the [`path_rules`](DynamicProgram::path_rules) to `policy` (for
    /// a policy without vows, or with vows set elsewhere that include
    /// [`vows`](DynamicProgram::vows)).
    pub fn allow_paths(&self, policy: Policy) -> Policy {
        self.rules.iter().fold(policy, |policy, (path, rights)| {
            policy.allow_path(path, *rights)
        })
    }

    /// `policy` with the vows `vows` plus what the loader needs
    /// ([`vows`](DynamicProgram::vows)), and the [`path_rules`](DynamicProgram::path_rules).
    ///
    /// `vows` are what the program itself does (e.g. `wpath cpath` for an
    /// extractor). [`Policy::vows`] replaces the set, so set the vows here,
    /// not on `policy` and not again afterwards.
    pub fn policy(&self, policy: Policy, vows: Vows) -> Policy {
        self.allow_paths(policy.vows(vows | self.vows()))
    }

    /// Add a rule, merging the rights of a path already listed.
    fn add_rule(&mut self, path: &Path, rights: Fs) {
        match self.rules.iter_mut().find(|(p, _)| p == path) {
            Some((_, r)) => *r |= rights,
            None => self.rules.push((path.to_owned(), rights)),
        }
    }

    /// The library directories, the loader's cache and its preload list.
    fn add_library_rules(&mut self) {
        let mut dirs: Vec<PathBuf> = LIBRARY_DIRS.iter().map(PathBuf::from).collect();
        read_ld_so_conf(Path::new("/etc/ld.so.conf"), 0, &mut dirs);
        for dir in dirs {
            if dir.is_absolute() && dir.is_dir() {
                self.add_rule(&dir, Fs::READ | Fs::EXEC);
            }
        }
        let cache = Path::new("/etc/ld.so.cache");
        if cache.is_file() {
            self.add_rule(cache, Fs::READ_FILE);
        }
        let preload = Path::new("/etc/ld.so.preload");
        if preload.is_file() {
            self.add_rule(preload, Fs::READ_FILE);
            let text = std::fs::read(preload).unwrap_or_default();
            for name in text.split(|b| b" \t\n:".contains(b)) {
                let lib = Path::new(OsStr::from_bytes(name));
                if lib.is_absolute() && lib.is_file() {
                    self.add_rule(lib, Fs::READ_FILE);
                }
            }
        }
    }
}

fn path_error(path: &Path, problem: impl Into<String>) -> Error {
    Error::Path {
        path: path.to_owned(),
        problem: problem.into(),
    }
}

/// Make `program` absolute: search `PATH` for a bare name.
fn resolve(program: &Path) -> Result<PathBuf, Error> {
    let bytes = program.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(path_error(program, "the program name is empty"));
    }
    if bytes.contains(&b'/') {
        if program.is_absolute() {
            return Ok(program.to_owned());
        }
        let cwd = std::env::current_dir()
            .map_err(|e| path_error(program, format!("the current directory: {e}")))?;
        return Ok(cwd.join(program));
    }
    let search = std::env::var_os("PATH");
    let search = search
        .as_deref()
        .unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    for dir in std::env::split_paths(search) {
        let candidate = dir.join(program);
        if is_executable_file(&candidate) {
            return Ok(if candidate.is_absolute() {
                candidate
            } else {
                std::env::current_dir().map_or(candidate.clone(), |cwd| cwd.join(&candidate))
            });
        }
    }
    Err(path_error(
        program,
        format!("not found in PATH ({})", Path::new(search).display()),
    ))
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What `execve` does with a file.
enum Executable {
    /// An ELF executable and its `PT_INTERP`.
    Elf { interpreter: Option<PathBuf> },
    /// A `#!` script and its interpreter.
    Script { interpreter: PathBuf },
}

/// Read the head of `path`: an ELF program's interpreter or a script's `#!` line.
fn inspect(path: &Path) -> Result<Executable, Error> {
    let file = File::open(path).map_err(|e| path_error(path, format!("cannot be read: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| path_error(path, format!("fstat: {e}")))?;
    if !meta.is_file() {
        return Err(path_error(path, "is not a regular file"));
    }
    let mut head = [0u8; 256];
    let n = read_at(&file, &mut head, 0).map_err(|e| path_error(path, format!("read: {e}")))?;
    let head = &head[..n];
    if let Some(line) = head.strip_prefix(b"#!") {
        // The kernel: the first word after `#!` (blanks skipped) up to a
        // blank or the end of the line is the interpreter.
        let line = line.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let word = line
            .split(|&b| b == b' ' || b == b'\t')
            .find(|w| !w.is_empty())
            .unwrap_or(&[]);
        let interpreter = PathBuf::from(OsStr::from_bytes(word));
        if !interpreter.is_absolute() {
            return Err(path_error(
                path,
                format!(
                    "its #! line names no absolute interpreter ({:?})",
                    interpreter
                ),
            ));
        }
        return Ok(Executable::Script { interpreter });
    }
    let interpreter = elf_interpreter(&file, head)
        .ok_or_else(|| path_error(path, "is neither an ELF executable nor a #! script"))?;
    Ok(Executable::Elf {
        interpreter: interpreter.map(|b| PathBuf::from(OsStr::from_bytes(&b))),
    })
}

/// `read_at` until `buf` is full or end of file.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The `PT_INTERP` of an ELF file (32 or 64 bit, either byte order):
/// `None` if `head` is not ELF, `Some(None)` for an ELF file without one.
fn elf_interpreter(file: &File, head: &[u8]) -> Option<Option<Vec<u8>>> {
    const PT_INTERP: u32 = 3;
    if head.get(..4)? != b"\x7fELF" {
        return None;
    }
    let wide = match head.get(4)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let big = match head.get(5)? {
        1 => false,
        2 => true,
        _ => return None,
    };
    let uint = |bytes: &[u8], at: usize, len: usize| -> Option<u64> {
        let b = bytes.get(at..at + len)?;
        let mut v = 0u64;
        for i in 0..len {
            let byte = if big { b[i] } else { b[len - 1 - i] };
            v = v << 8 | u64::from(byte);
        }
        Some(v)
    };
    let (phoff, phentsize, phnum) = if wide {
        (
            uint(head, 0x20, 8)?,
            uint(head, 0x36, 2)?,
            uint(head, 0x38, 2)?,
        )
    } else {
        (
            uint(head, 0x1c, 4)?,
            uint(head, 0x2a, 2)?,
            uint(head, 0x2c, 2)?,
        )
    };
    let min_entry = if wide { 0x38 } else { 0x20 };
    if phnum == 0 {
        return Some(None);
    }
    if phentsize < min_entry {
        return None;
    }
    let mut table = vec![0u8; usize::try_from(phentsize * phnum).ok()?];
    if read_at(file, &mut table, phoff).ok()? != table.len() {
        return None;
    }
    for entry in table.chunks_exact(phentsize as usize) {
        if uint(entry, 0, 4)? != u64::from(PT_INTERP) {
            continue;
        }
        let (offset, size) = if wide {
            (uint(entry, 0x08, 8)?, uint(entry, 0x20, 8)?)
        } else {
            (uint(entry, 0x04, 4)?, uint(entry, 0x10, 4)?)
        };
        let mut name = vec![0u8; usize::try_from(size.min(4096)).ok()?];
        let n = read_at(file, &mut name, offset).ok()?;
        name.truncate(n);
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        name.truncate(end);
        return Some(Some(name));
    }
    Some(None)
}

/// Collect the library directories of an `ld.so.conf` file, following its
/// `include` lines (glob patterns in the last component, relative to the
/// including file's directory) up to a small depth.
fn read_ld_so_conf(conf: &Path, depth: u8, dirs: &mut Vec<PathBuf>) {
    if depth > 8 {
        return;
    }
    let Ok(text) = std::fs::read(conf) else {
        return;
    };
    for line in text.split(|&b| b == b'\n') {
        let line = line.split(|&b| b == b'#').next().unwrap_or(&[]);
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix(b"include") {
            if rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
                for pattern in rest.split(|b| b.is_ascii_whitespace()) {
                    if pattern.is_empty() {
                        continue;
                    }
                    let pattern = Path::new(OsStr::from_bytes(pattern));
                    let pattern = match conf.parent() {
                        Some(parent) if !pattern.is_absolute() => parent.join(pattern),
                        _ => pattern.to_owned(),
                    };
                    for file in glob_last(&pattern) {
                        read_ld_so_conf(&file, depth + 1, dirs);
                    }
                }
                continue;
            }
        }
        if line.starts_with(b"hwcap") {
            continue;
        }
        // libc5's `dir=TYPE` suffix.
        let dir = line
            .split(|&b| b == b'=')
            .next()
            .unwrap_or(&[])
            .trim_ascii();
        let dir = PathBuf::from(OsStr::from_bytes(dir));
        if dir.is_absolute() && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
}

/// The files matching `pattern`, whose last component may hold `*` and
/// `?`, sorted (as glob(3) returns them).
fn glob_last(pattern: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else {
        return Vec::new();
    };
    let name = name.as_bytes();
    if !name.contains(&b'*') && !name.contains(&b'?') {
        return vec![pattern.to_owned()];
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name();
            // As glob(3): a leading dot must be matched explicitly.
            (name.starts_with(b".") || !n.as_bytes().starts_with(b"."))
                && wildcard(name, n.as_bytes())
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Match `name` against a pattern of literal bytes, `*` and `?`.
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| wildcard(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && wildcard(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && wildcard(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_glob() {
        assert!(wildcard(b"*.conf", b"libc.conf"));
        assert!(wildcard(b"*.conf", b".conf"));
        assert!(!wildcard(b"*.conf", b"libc.conf.bak"));
        assert!(wildcard(b"a?c*", b"abcdef"));
        assert!(!wildcard(b"a?c", b"ac"));
        assert!(wildcard(b"*", b""));
    }

    #[test]
    fn ld_so_conf_includes_are_followed() {
        let dir = std::env::temp_dir().join(format!("exile-ldconf-{}", std::process::id()));
        let d = dir.join("ld.so.conf.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            dir.join("ld.so.conf"),
            "# comment\n/opt/one\ninclude ld.so.conf.d/*.conf\nhwcap 0 nosegneg\n",
        )
        .unwrap();
        std::fs::write(d.join("b.conf"), "/opt/b # trailing\n").unwrap();
        std::fs::write(d.join("a.conf"), "  /opt/a=libc6\nrelative/ignored\n").unwrap();
        std::fs::write(d.join("c.txt"), "/opt/not-included\n").unwrap();
        let mut dirs = Vec::new();
        read_ld_so_conf(&dir.join("ld.so.conf"), 0, &mut dirs);
        std::fs::remove_dir_all(&dir).unwrap();
        let want: Vec<PathBuf> = ["/opt/one", "/opt/a", "/opt/b"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(dirs, want);
    }

    #[test]
    fn a_bare_name_is_found_in_path_and_a_missing_one_is_an_error() {
        let sh = resolve(Path::new("sh")).unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{sh:?}");
        let err = resolve(Path::new("no-such-program-exile")).unwrap_err();
        assert!(err.to_string().contains("not found in PATH"), "{err}");
        assert!(DynamicProgram::new("/etc/passwd")
            .unwrap_err()
            .to_string()
            .contains("neither an ELF executable nor a #! script"));
    }

    #[test]
    fn a_dynamic_program_gets_its_loader_and_the_library_directories() {
        let sh = DynamicProgram::new("/bin/sh").unwrap();
        let loader = sh.loader().expect("/bin/sh is dynamically linked");
        assert!(loader.is_absolute());
        assert_eq!(sh.vows(), DynamicProgram::LOADER_VOWS);
        let rights = |p: &Path| sh.path_rules().iter().find(|(q, _)| q == p).map(|r| r.1);
        assert_eq!(
            rights(Path::new("/bin/sh")),
            Some(Fs::READ_FILE | Fs::EXECUTE)
        );
        assert_eq!(rights(loader), Some(Fs::READ_FILE | Fs::EXECUTE));
        assert_eq!(rights(Path::new("/usr/lib")), Some(Fs::READ | Fs::EXEC));
        assert!(sh.path_rules().iter().all(|(p, _)| p.exists()));
    }

    #[test]
    fn a_script_gets_its_interpreter() {
        let dir = std::env::temp_dir().join(format!("exile-script-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s");
        std::fs::write(&script, "#!  /bin/sh -e\necho hi\n").unwrap();
        let p = DynamicProgram::new(&script).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(p.script_interpreters(), [PathBuf::from("/bin/sh")]);
        assert!(p.loader().is_some());
        assert_eq!(p.path_rules()[0], (script, Fs::READ_FILE | Fs::EXECUTE));
        assert_eq!(
            p.path_rules()[1],
            (PathBuf::from("/bin/sh"), Fs::READ_FILE | Fs::EXECUTE)
        );
    }
}
