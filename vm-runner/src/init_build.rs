//! Getting a statically linked `/init`.
//!
//! By default the runner builds the conformance suite:
//!
//! ```text
//! RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=<static dir> \
//!   cargo build --release -p exile-conformance --bin exile-conformance \
//!   --target x86_64-unknown-linux-gnu
//! ```
//!
//! `--target` keeps the flag away from build scripts and proc-macros; the
//! separate target directory (`$EXILE_VM_STATIC_TARGET_DIR`, else
//! `<CARGO_TARGET_DIR or <workspace>/target>/vm-static-init`) keeps the
//! host build's artifacts valid. `--test-init` builds `exile-vm-testinit`
//! (this crate) the same way; `--init PATH` takes a ready binary. Every init
//! is checked to be a static x86_64 ELF executable (no `PT_INTERP`): a
//! dynamically linked init would die at boot with a bare "Kernel panic".

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Rust target the init is built for.
pub const INIT_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Which init to put in the initramfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitChoice {
    /// `exile-conformance` (built statically from the workspace).
    Conformance,
    /// `exile-vm-testinit` (built statically from the workspace).
    TestInit,
    /// A ready-made binary.
    Path(PathBuf),
}

impl InitChoice {
    /// Short label for reports.
    pub fn label(&self) -> String {
        match self {
            InitChoice::Conformance => "exile-conformance".into(),
            InitChoice::TestInit => "exile-vm-testinit".into(),
            InitChoice::Path(p) => p.display().to_string(),
        }
    }
}

/// Errors getting the init.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The workspace is not where this binary was built from.
    #[error("cannot find the exile-rs workspace at {0} to build the init; pass --init PATH to a static binary")]
    NoWorkspace(String),
    /// cargo failed.
    #[error("building the static init failed ({command}):\n{detail}")]
    Build {
        /// The command.
        command: String,
        /// Tail of cargo's output.
        detail: String,
    },
    /// Not usable as /init.
    #[error("{path} cannot be /init: {why}")]
    NotStatic {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// I/O.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// The workspace root this crate was built in.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where the static build goes.
pub fn static_target_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("EXILE_VM_STATIC_TARGET_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    base.join("vm-static-init")
}

/// Build `bin` of `package` statically; returns the binary's path.
pub fn build_static(package: &str, bin: &str, log: &dyn Fn(&str)) -> Result<PathBuf, InitError> {
    let root = workspace_root();
    if !root.join("Cargo.toml").is_file() {
        return Err(InitError::NoWorkspace(root.display().to_string()));
    }
    let target_dir = static_target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let command = format!(
        "RUSTFLAGS=\"-C target-feature=+crt-static\" CARGO_TARGET_DIR={} cargo build --release -p {package} --bin {bin} --target {INIT_TARGET}",
        target_dir.display()
    );
    log(&format!("building the static init: {command}"));
    let out = Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            package,
            "--bin",
            bin,
            "--target",
            INIT_TARGET,
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .output()
        .map_err(|e| InitError::Io(format!("{cargo:?}"), e))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text.lines().collect();
        return Err(InitError::Build {
            command,
            detail: lines[lines.len().saturating_sub(25)..].join("\n"),
        });
    }
    let path = target_dir.join(INIT_TARGET).join("release").join(bin);
    check_static_elf(&path)?;
    Ok(path)
}

/// Get the init's bytes for `choice`, building it when needed.
pub fn obtain(choice: &InitChoice, log: &dyn Fn(&str)) -> Result<(PathBuf, Vec<u8>), InitError> {
    let path = match choice {
        InitChoice::Conformance => build_static("exile-conformance", "exile-conformance", log)?,
        InitChoice::TestInit => build_static("exile-vm-runner", "exile-vm-testinit", log)?,
        InitChoice::Path(p) => {
            check_static_elf(p)?;
            p.clone()
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| InitError::Io(path.display().to_string(), e))?;
    Ok((path, bytes))
}

/// Check that `path` is an x86_64 ELF executable without an interpreter.
pub fn check_static_elf(path: &Path) -> Result<(), InitError> {
    let bytes = std::fs::read(path).map_err(|e| InitError::Io(path.display().to_string(), e))?;
    static_elf_problem(&bytes).map_or(Ok(()), |why| {
        Err(InitError::NotStatic {
            path: path.display().to_string(),
            why,
        })
    })
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Why `elf` is not a static x86_64 executable (None: it is).
pub fn static_elf_problem(elf: &[u8]) -> Option<String> {
    const PT_INTERP: u32 = 3;
    if elf.get(..4) != Some(b"\x7fELF") {
        return Some("not an ELF file".into());
    }
    if elf.get(4) != Some(&2) || elf.get(5) != Some(&1) {
        return Some("not a 64-bit little-endian ELF".into());
    }
    if u16_at(elf, 18) != Some(62) {
        return Some("not an x86_64 binary".into());
    }
    if !matches!(u16_at(elf, 16), Some(2 | 3)) {
        return Some("not an executable".into());
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) =
        (u64_at(elf, 32), u16_at(elf, 54), u16_at(elf, 56))
    else {
        return Some("truncated ELF header".into());
    };
    for i in 0..usize::from(phnum) {
        let at = usize::try_from(phoff)
            .unwrap_or(usize::MAX)
            .saturating_add(i * usize::from(phentsize));
        match u32_at(elf, at) {
            Some(PT_INTERP) => {
                return Some(
                    "it is dynamically linked (has an ELF interpreter); build it with RUSTFLAGS=\"-C target-feature=+crt-static\" --target x86_64-unknown-linux-gnu".into(),
                )
            }
            Some(_) => {}
            None => return Some("truncated program headers".into()),
        }
    }
    None
}
