//! A small web server on loopback that serves the files of one directory,
//! sandboxed after it has bound its socket: it can read that directory,
//! accept connections and answer them — nothing else.
//!
//! ```sh
//! cargo run --example webapp -- DIR [--port N]   # default port 8000; 0 picks a free one
//! cargo run --example webapp -- --demo           # serve a temp dir, make a few requests, stop
//! ```
//!
//! `--fallback` enforces the path rule with the mount-namespace fallback
//! even where Landlock works, as on a kernel without Landlock.
//!
//! The first line on stdout is `listening on http://127.0.0.1:PORT/`,
//! printed once the sandbox is in force; then one line per request.
//!
//! # What it demonstrates
//!
//! The server is deliberately naive. It maps a URL path onto the served
//! directory with a plain `Path::join`, no normalisation, so
//! `GET /../../../../etc/passwd` names `/etc/passwd`; and `GET /cgi/NAME`
//! runs `/bin/NAME`. It is the sandbox that refuses both, not a path
//! sanitizer:
//!
//! - Landlock (or, without it, a mount namespace holding only the served
//!   directory): reading is allowed beneath the served directory and
//!   nowhere else — `/etc/passwd` gives `EACCES`, and no file anywhere may
//!   be executed;
//! - seccomp vows `stdio rpath inet`: no `exec`, no `fork`/`clone`, no
//!   writing or creating files, no `ptrace`…;
//! - no network beyond the socket it already has: the listening socket was
//!   bound *before* the sandbox, so it keeps accepting, while the process
//!   sits in a new network namespace (or under Landlock TCP rules) where it
//!   can neither connect out nor bind anything new;
//! - capabilities dropped, no_new_privs, not dumpable, every inherited fd
//!   but the socket closed.
//!
//! The refused request gets `403 Forbidden` with the errno in the body, and
//! the server lives on.
//!
//! # Why violations fail with EPERM instead of killing
//!
//! A seccomp violation kills the process by default — the safest choice
//! for a batch job, but one request that makes the server step outside its
//! vows would then take the service down for every client. So this server
//! asks for `violation(Action::Errno(EPERM))`: the forbidden system call
//! (here the `clone` behind `Command::spawn`) fails, the request gets a
//! 403, the server keeps serving. EPERM rather than the `error` vow's
//! EACCES, so the response shows which layer said no: `EPERM` is seccomp
//! (a system call outside the vows), `EACCES` is Landlock (a path outside
//! the rules). The price: a compromised server is not killed on its first
//! violation; it can still do only what the vows allow.
//!
//! Unprivileged, the sandbox needs user namespaces (for the network
//! namespace and for dropping the capability bounding set). Where neither
//! Landlock nor the fallback can be had, the policy (every mechanism
//! `Requirement::Hard`) fails to prepare, and the server exits with the
//! reason before serving anything.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use exile::seccomp::rules::Action;
use exile::{Fs, Policy};
use nix::errno::Errno;

type Error = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fallback = args.iter().any(|a| a == "--fallback");
    let rest: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--fallback")
        .collect();
    let result = match rest.as_slice() {
        ["--demo"] => demo(fallback),
        [dir] if !dir.starts_with('-') => serve(Path::new(dir), 8000, fallback),
        [dir, "--port", port] | ["--port", port, dir] => match port.parse() {
            Ok(port) => serve(Path::new(dir), port, fallback),
            Err(_) => Err(format!("not a port number: {port}").into()),
        },
        _ => {
            eprintln!(
                "usage: webapp [--fallback] DIR [--port N]\n       webapp [--fallback] --demo"
            );
            return ExitCode::from(64);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webapp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Bind, sandbox this process, serve forever.
fn serve(dir: &Path, port: u16, fallback: bool) -> Result<(), Error> {
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let port = listener.local_addr()?.port();

    let mut policy = Policy::new();
    if fallback {
        policy = policy.force_fallback();
    }
    let prepared = policy
        .close_fds(&[listener.as_raw_fd()])
        .drop_capabilities()
        .no_network()
        .allow_path(&dir, Fs::READ)
        .vows("stdio rpath inet".parse()?)
        .violation(Action::Errno(libc::EPERM as u16))
        .prepare()
        .map_err(|e| format!("the sandbox cannot be set up on this system: {e}"))?;
    // From here on this process is sandboxed, for good.
    let report = prepared.apply()?;
    eprintln!("sandbox in force:");
    for line in report.to_string().lines() {
        if !line.trim_end().ends_with(" -") {
            eprintln!("  {line}");
        }
    }
    println!(
        "listening on http://127.0.0.1:{port}/ (serving {})",
        dir.display()
    );

    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                if let Err(e) = handle(stream, &dir) {
                    println!("connection error: {e}");
                }
            }
            Err(e) => println!("accept: {e}"),
        }
    }
    Ok(())
}

/// Answer one request (HTTP/1.0 style: one request, then close).
fn handle(stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.take(8192));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 && line.trim_end() != "" {
        line.clear();
    }
    let mut stream = reader.into_inner().into_inner();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, body) = if method != "GET" || !target.starts_with('/') {
        (400, "400 Bad Request\n".to_owned().into_bytes())
    } else if let Some(name) = target.strip_prefix("/cgi/") {
        run_cgi(name)
    } else {
        serve_file(dir, target)
    };
    println!(
        "GET {target} -> {status} {}",
        String::from_utf8_lossy(body.split(|&b| b == b'\n').nth(1).unwrap_or(&[]))
    );
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    write!(
        stream,
        "HTTP/1.0 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

/// The naive mapping: the URL path joined to the served directory.
fn serve_file(dir: &Path, target: &str) -> (u16, Vec<u8>) {
    let mut path: PathBuf = dir.join(target.trim_start_matches('/'));
    if path.is_dir() {
        path.push("index.html");
    }
    match std::fs::read(&path) {
        Ok(bytes) => (200, bytes),
        Err(e) => refusal(&format!("reading {}", path.display()), &e),
    }
}

/// `/cgi/NAME`: run `/bin/NAME`.
fn run_cgi(name: &str) -> (u16, Vec<u8>) {
    let program = format!("/bin/{name}");
    // Pipes only (`Stdio::null()` would open /dev/null, which Landlock
    // refuses first): the first forbidden step is then the `clone`.
    match Command::new(&program)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
    {
        Ok(out) => (200, out.stdout),
        Err(e) => refusal(&format!("running {program}"), &e),
    }
}

/// An error response naming the errno: 403 when the sandbox (or a file
/// mode) said no, 404 for a missing file, 500 otherwise.
fn refusal(what: &str, e: &std::io::Error) -> (u16, Vec<u8>) {
    let errno = e.raw_os_error().map(Errno::from_raw);
    let status = match errno {
        Some(Errno::EACCES | Errno::EPERM) => 403,
        Some(Errno::ENOENT | Errno::ENOTDIR) => 404,
        _ => 500,
    };
    let by = match errno {
        Some(Errno::EACCES) => " (a path outside the rules: Landlock)",
        Some(Errno::EPERM) => " (a system call outside the vows: seccomp)",
        _ => "",
    };
    let errno = errno.map_or_else(|| e.to_string(), |n| format!("{n}"));
    let verdict = match status {
        403 => "refused",
        404 => "not found",
        _ => "failed",
    };
    let body = format!("{status} {verdict}\n{what}: {errno}{by}\n");
    (status, body.into_bytes())
}

// ---------------------------------------------------------------- demo

/// Start this program as a server on a temporary directory, make a few
/// requests, print the answers, stop it.
fn demo(fallback: bool) -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("exile-webapp-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_demo(&dir, fallback);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_demo(dir: &Path, fallback: bool) -> Result<(), Error> {
    std::fs::write(dir.join("index.html"), "<h1>hello from the sandbox</h1>\n")?;
    std::fs::write(dir.join("hello.txt"), "hello, world\n")?;
    let mut server = Command::new(std::env::current_exe()?)
        .arg(dir)
        .args(["--port", "0"])
        .args(fallback.then_some("--fallback"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(server.stdout.take().expect("piped stdout")).lines();
    let result = (|| -> Result<(), Error> {
        let first = lines.next().ok_or("the server exited")??;
        println!("server: {first}");
        let port: u16 = first
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .ok_or("no port on the server's first line")?
            .parse()?;
        for path in [
            "/hello.txt",
            "/",
            "/../../../../../../../../etc/passwd",
            "/cgi/ls",
            "/missing.txt",
            "/hello.txt",
        ] {
            let (status, body) = get(port, path)?;
            println!("\nGET {path}\n  -> {status}");
            for line in String::from_utf8_lossy(&body).lines() {
                println!("     {line}");
            }
        }
        match server.try_wait()? {
            None => println!("\nthe server is still running; stopping it"),
            Some(status) => println!("\nthe server died: {status}"),
        }
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// A minimal HTTP/1.0 GET: the status code and the body.
fn get(port: u16, path: &str) -> Result<(u16, Vec<u8>), Error> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head.split_whitespace().nth(1).ok_or("no status")?.parse()?;
    Ok((status, response[split + 4..].to_vec()))
}
