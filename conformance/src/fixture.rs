//! Scratch directories for probes: one root per harness run (mode 1777 so
//! unprivileged probe children can use it), one private directory per probe
//! child, all removed by [`cleanup`] at the end of the run.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// The run's fixture root, created on first use (in the harness process,
/// before any probe forks).
pub fn root() -> &'static PathBuf {
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("exile-conformance-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777));
        dir
    })
}

/// A fresh directory for the calling probe child (named after its pid).
pub fn private_dir() -> std::io::Result<PathBuf> {
    let dir = root().join(std::process::id().to_string());
    // Not `exists()`: see `registry::fs` on std's statx cache under personas.
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir(&dir)?;
    Ok(dir)
}

/// Remove the run's fixture root.
pub fn cleanup() {
    if let Some(root) = ROOT.get() {
        let _ = std::fs::remove_dir_all(root);
    }
}

/// Remove the private directory of a finished probe child (its sandbox
/// kept it from cleaning up itself; in a VM /tmp is a small tmpfs).
pub fn remove_for(pid: i32) {
    if let Some(root) = ROOT.get() {
        let _ = std::fs::remove_dir_all(root.join(pid.to_string()));
    }
}
