//! The examples, run as a user runs them, and the [`DynamicProgram`] helper
//! they build on.
//!
//! Every policy is applied in a spawned child (a `Command` with
//! [`CommandExt::sandbox`], or an example's own process), never in this
//! test process: seccomp and Landlock cannot be undone.
//!
//! # Finding the examples
//!
//! Cargo gives integration tests the paths of the package's binaries
//! (`CARGO_BIN_EXE_*`) but not of its examples. `cargo test` without a
//! target filter builds the examples, `cargo test --test examples` does
//! not; and an example binary left over from an older build would make the
//! tests lie. So the tests ask cargo itself, once per run: `cargo build
//! --workspace --examples --message-format=json`, with the cargo that runs
//! the tests (`$CARGO`) and this test binary's profile, and take each
//! executable's path from cargo's JSON messages. After `cargo test
//! --workspace` (CI) that is a no-op: the same packages are selected, so
//! dependency features unify the same way and every artifact is fresh
//! (`-p exile` instead would build the examples a second time against
//! differently unified dependencies). Cargo holds its build lock only while
//! compiling, not while tests run, so this nested build does not wait for
//! the outer one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use exile::launch::DynamicProgram;
use exile::{CommandExt, Fs, Policy};

// ------------------------------------------------------------ helpers

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("exile-examples-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The path of the example `name`, built (once per test run) by cargo.
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<BTreeMap<String, PathBuf>, String>> = OnceLock::new();
    match BUILT.get_or_init(build_examples) {
        Ok(built) => built
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("cargo built no example {name:?}: {built:?}")),
        Err(e) => panic!("{e}"),
    }
}

/// `cargo build --examples` with this test binary's cargo and profile;
/// the executables by example name, from cargo's JSON messages.
fn build_examples() -> Result<BTreeMap<String, PathBuf>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // This binary is <target dir>/<profile dir>/deps/examples-HASH.
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "--quiet",
        "--workspace",
        "--examples",
        "--message-format=json-render-diagnostics",
    ])
    .arg("--manifest-path")
    .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
    .stdin(Stdio::null())
    .stderr(Stdio::inherit());
    match profile_dir {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd.output().map_err(|e| format!("running {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", out.status));
    }
    let mut built = BTreeMap::new();
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(msg) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let is_example = msg["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "example"));
        if msg["reason"] == "compiler-artifact" && is_example {
            if let (Some(name), Some(exe)) =
                (msg["target"]["name"].as_str(), msg["executable"].as_str())
            {
                built.insert(name.to_owned(), PathBuf::from(exe));
            }
        }
    }
    Ok(built)
}

/// Run a command; its output, with a readable panic message on failure to spawn.
fn output(cmd: &mut Command) -> std::process::Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"))
}

// ------------------------------------------- DynamicProgram with Command

/// `/bin/cat`, a dynamically linked program in every base system.
fn cat() -> DynamicProgram {
    let cat = DynamicProgram::new("/bin/cat").unwrap();
    assert!(
        cat.loader().is_some(),
        "/bin/cat is expected to be dynamically linked"
    );
    cat
}

/// A directory with a file `data.txt`.
fn data_fixture() -> (TempDir, PathBuf) {
    let dir = TempDir::new("data");
    let file = dir.path().join("data.txt");
    std::fs::write(&file, "hello\n").unwrap();
    (dir, file)
}

/// Run `cat FILE` under `policy` plus a read rule on the file.
fn run_cat(
    cat: &DynamicProgram,
    file: &Path,
    policy: Policy,
) -> std::io::Result<std::process::Output> {
    let prepared = policy.allow_path(file, Fs::READ_FILE).prepare().unwrap();
    cat.command()
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .sandbox(prepared)
        .output()
}

#[test]
fn dynamic_program_runs_cat_under_vows_and_path_rules() {
    let cat = cat();
    let (_dir, file) = data_fixture();
    let policy = cat.policy(Policy::new().no_network(), "stdio rpath".parse().unwrap());
    let out = run_cat(&cat, &file, policy).unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello\n");
}

#[test]
fn dynamic_program_with_the_namespace_fallback() {
    let cat = cat();
    let (_dir, file) = data_fixture();
    let policy = cat
        .policy(Policy::new(), "stdio rpath".parse().unwrap())
        .allow_path(&file, Fs::READ_FILE)
        .force_fallback();
    let prepared = match policy.prepare() {
        Ok(p) => p,
        // No user namespaces for an unprivileged run: nothing to show here.
        Err(e @ exile::Error::Unavailable { .. }) => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let out = output(cat.command().arg(&file).sandbox(prepared));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello\n");

    // Why the library directories get execute: without it the fallback
    // mounts them `noexec`, and the loader cannot map libc's code.
    let mut policy = Policy::new().vows(cat.vows()).force_fallback();
    for (path, rights) in cat.path_rules() {
        let rights = if path.is_dir() {
            *rights - Fs::EXECUTE
        } else {
            *rights
        };
        policy = policy.allow_path(path, rights);
    }
    let out = run_cat(&cat, &file, policy).unwrap();
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("failed to map segment"), "{stderr}");
}

/// `stdio` lets a process signal itself, by a pid constant in the filter;
/// a policy prepared in one process and applied in another (every
/// `Command` and `launch`) must not turn that into "may signal the
/// preparing process".
#[test]
fn a_sandboxed_command_cannot_signal_the_process_that_prepared_its_policy() {
    let sh = DynamicProgram::new("/bin/sh").unwrap();
    let prepared = sh
        .policy(Policy::new(), "stdio".parse().unwrap())
        .violation(exile::seccomp::rules::Action::Errno(libc::EPERM as u16))
        .prepare()
        .unwrap();
    // kill -0: the permission check only, no signal is sent.
    let out = output(
        sh.command()
            .args(["-c", "kill -0 $PPID && echo parent-signalable"])
            .sandbox(prepared),
    );
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"));
}

#[test]
fn without_the_helper_the_program_never_starts() {
    let cat = cat();
    let (_dir, file) = data_fixture();
    let run = |policy| run_cat(&cat, &file, policy);

    // Vows without `exec`: the execve is a violation, the child dies of SIGSYS.
    let out = run(cat.allow_paths(Policy::new().vows("stdio rpath".parse().unwrap()))).unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{out:?}");

    // `exec` but no `prot_exec`: the loader dies mapping libc's code.
    let out =
        run(cat.allow_paths(Policy::new().vows("stdio rpath exec".parse().unwrap()))).unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{out:?}");
    assert!(out.stdout.is_empty());

    // Every vow, but a path rule for the data only: Landlock refuses to
    // execute the program, the spawn fails with EACCES.
    let err = run(Policy::new().vows(cat.vows())).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EACCES), "{err}");

    // The program and its loader, but not the library directories: the
    // loader cannot open libc and gives up with status 127.
    let mut policy = Policy::new().vows(cat.vows());
    for (path, rights) in cat.path_rules() {
        if rights.contains(Fs::EXECUTE | Fs::READ_FILE) && !path.is_dir() {
            policy = policy.allow_path(path, *rights);
        }
    }
    let out = run(policy).unwrap();
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error while loading shared libraries"),
        "{stderr}"
    );

    // With the helper, the same policy works.
    let out = run(cat.policy(Policy::new(), "stdio rpath".parse().unwrap())).unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello\n");
}

// ------------------------------------------------------------ extract

/// What `extract --demo` aims at outside the target directory.
fn assert_nothing_escaped(root: &Path) {
    for path in [
        root.join("escape.txt"),
        root.join("newdir"),
        root.join("outside/absolute.txt"),
        root.join("outside/through.txt"),
    ] {
        assert!(
            path.symlink_metadata().is_err(),
            "{} was written outside the target",
            path.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(root.join("outside/secret.txt")).unwrap(),
        "the original secret\n",
        "the file outside the target was changed"
    );
    let outside: Vec<_> = std::fs::read_dir(root.join("outside"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, ["secret.txt"], "new files outside the target");
}

/// The benign entries of the demo archive, extracted.
fn assert_benign_extracted(target: &Path) {
    for (name, text) in [
        ("readme.txt", "a benign file\n"),
        ("docs/guide.txt", "another benign file\n"),
        ("last.txt", "the last benign file\n"),
    ] {
        assert_eq!(
            std::fs::read_to_string(target.join(name)).unwrap_or_default(),
            text,
            "{name}"
        );
    }
}

/// `extract [flags] --demo DIR`: its stdout, after checking the exit status.
fn run_extract_demo(flags: &[&str], dir: &Path) -> Option<String> {
    let out = output(
        Command::new(example("extract"))
            .args(flags)
            .arg("--demo")
            .arg(dir),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("the sandbox cannot be set up on this system") {
        // Fail closed (e.g. unprivileged without user namespaces): nothing extracted.
        eprintln!("skipped: {stderr}");
        assert!(!dir.join("target/readme.txt").exists());
        return None;
    }
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("OK: nothing outside the target directory was written"));
    Some(stdout)
}

/// The report line for an entry: `REFUSED    NAME [...]: ERRNO...`.
fn refused_line<'a>(stdout: &'a str, name: &str, kind: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("REFUSED    {name} [{kind}")))
        .unwrap_or_else(|| panic!("no REFUSED line for {name} [{kind}] in\n{stdout}"))
}

#[test]
fn extract_demo_the_sandbox_refuses_every_escape() {
    let dir = TempDir::new("extract");
    let Some(stdout) = run_extract_demo(&[], dir.path()) else {
        return;
    };
    let root = std::fs::canonicalize(dir.path()).unwrap();
    assert_nothing_escaped(&root);
    assert_benign_extracted(&root.join("target"));
    // Symlinks are only names: creating them inside the target is fine.
    assert!(root
        .join("target/link")
        .symlink_metadata()
        .unwrap()
        .is_symlink());

    let landlock = stdout.contains("[Landlock ABI");
    let absolute = root.join("outside/absolute.txt");
    for (name, kind, errno) in [
        ("../escape.txt", "file", "EACCES"),
        ("../newdir/file.txt", "file", "EACCES"),
        (absolute.to_str().unwrap(), "file", "EACCES"),
        ("link/through.txt", "file", "EACCES"),
        ("secret-link", "file", "EACCES"),
        ("hardlink", "hardlink", "EXDEV"),
    ] {
        let line = refused_line(&stdout, name, kind);
        if landlock {
            assert!(line.contains(&format!("]: {errno}: ")), "{line}");
        }
    }
    assert!(stdout.contains("6 extracted, 6 refused"), "{stdout}");
    assert!(stdout.contains("filesystem           enforced"), "{stdout}");
    assert!(stdout.contains("seccomp filter       enforced"), "{stdout}");
}

#[test]
fn extract_demo_with_the_namespace_fallback() {
    let dir = TempDir::new("extract-fallback");
    let Some(stdout) = run_extract_demo(&["--fallback"], dir.path()) else {
        return;
    };
    let root = std::fs::canonicalize(dir.path()).unwrap();
    assert_nothing_escaped(&root);
    assert_benign_extracted(&root.join("target"));
    assert!(stdout.contains("[mount-namespace fallback]"), "{stdout}");
    assert!(stdout.contains("6 extracted, 6 refused"), "{stdout}");
}

#[test]
fn extract_demo_gnu_tar_without_its_own_protection() {
    if !Path::new("/usr/bin/tar").exists() {
        eprintln!("skipped: no /usr/bin/tar");
        return;
    }
    let dir = TempDir::new("extract-gnu");
    let Some(stdout) = run_extract_demo(&["--gnu-tar"], dir.path()) else {
        return;
    };
    let root = std::fs::canonicalize(dir.path()).unwrap();
    assert_nothing_escaped(&root);
    assert_benign_extracted(&root.join("target"));
    for name in ["../escape.txt", "link/through.txt", "hardlink"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("REFUSED    {name}: "))),
            "{name} not refused in\n{stdout}"
        );
    }
}

#[test]
fn extract_a_benign_archive() {
    let dir = TempDir::new("extract-benign");
    let archive = dir.path().join("ok.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&archive).unwrap());
    for (name, text) in [("a.txt", "alpha\n"), ("sub/b.txt", "beta\n")] {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, text.as_bytes()).unwrap();
    }
    b.into_inner().unwrap();
    let target = dir.path().join("out");
    let out = output(Command::new(example("extract")).arg(&archive).arg(&target));
    let stdout = String::from_utf8_lossy(&out.stdout);
    if String::from_utf8_lossy(&out.stderr).contains("cannot be set up") {
        return;
    }
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("2 extracted, 0 refused"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(target.join("a.txt")).unwrap(),
        "alpha\n"
    );
    assert_eq!(
        std::fs::read_to_string(target.join("sub/b.txt")).unwrap(),
        "beta\n"
    );
    // A refused entry makes the exit status 2, like tar.
    let evil = TempDir::new("extract-evil");
    run_extract_demo(&[], evil.path());
    let out = output(
        Command::new(example("extract"))
            .arg(evil.path().join("evil.tar"))
            .arg(evil.path().join("again")),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

// ------------------------------------------------------------ webapp

/// A running `webapp`, killed (by its pid) and reaped on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Start `webapp DIR --port 0 [flags]`; `None` when the sandbox cannot
    /// be set up on this system (it then exits without serving).
    fn start(dir: &Path, flags: &[&str]) -> Option<Server> {
        let mut child = Command::new(example("webapp"))
            .arg(dir)
            .args(["--port", "0"])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // The first line, read on a thread so a hung server cannot hang the test.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep draining the request log so the server never blocks on it.
            for _ in lines {}
        });
        let first = rx.recv_timeout(Duration::from_secs(20));
        let line = match first {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut stderr);
                }
                let status = child.wait().unwrap();
                if stderr.contains("the sandbox cannot be set up on this system") {
                    eprintln!("skipped: {stderr}");
                    return None;
                }
                panic!("webapp printed no first line ({other:?}), {status}: {stderr}");
            }
        };
        let port = line
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Some(Server { child, port })
    }

    /// `GET path`: status code and body.
    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no end of headers: {response:?}"));
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, body.to_owned())
    }

    fn assert_alive(&mut self) {
        assert!(self.child.try_wait().unwrap().is_none(), "the server died");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn webapp_serves_and_refuses(flags: &[&str]) {
    let site = TempDir::new("site");
    std::fs::write(site.path().join("hello.txt"), "hello, world\n").unwrap();
    std::fs::write(site.path().join("index.html"), "<h1>hi</h1>\n").unwrap();
    let Some(mut server) = Server::start(site.path(), flags) else {
        return;
    };
    let started = Instant::now();

    assert_eq!(server.get("/hello.txt"), (200, "hello, world\n".to_owned()));
    assert_eq!(server.get("/"), (200, "<h1>hi</h1>\n".to_owned()));

    // The naive join names /etc/passwd; the sandbox refuses to read it:
    // EACCES from Landlock, or ENOENT where the fallback's filesystem
    // holds only the served directory.
    let (status, body) = server.get("/../../../../../../../../../../etc/passwd");
    assert!(!body.contains("root:"), "{body}");
    if flags.contains(&"--fallback") {
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("ENOENT"), "{body}");
    } else {
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("EACCES"), "{body}");
    }
    server.assert_alive();

    // Spawning a process is outside the vows: clone fails with EPERM.
    let (status, body) = server.get("/cgi/ls");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("EPERM"), "{body}");
    assert!(body.contains("seccomp"), "{body}");
    server.assert_alive();

    assert_eq!(server.get("/missing.txt").0, 404);
    assert_eq!(server.get("/hello.txt"), (200, "hello, world\n".to_owned()));
    server.assert_alive();
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn webapp_serves_its_directory_and_refuses_the_rest() {
    webapp_serves_and_refuses(&[]);
}

#[test]
fn webapp_with_the_namespace_fallback() {
    webapp_serves_and_refuses(&["--fallback"]);
}
