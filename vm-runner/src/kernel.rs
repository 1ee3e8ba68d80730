//! Fetching kernels: resolve the suite's meta-package, download the image
//! package with apt, extract `vmlinuz`, cache it by package version.
//!
//! Cache layout (root: `--cache`, else `$EXILE_VM_CACHE`, else
//! `$XDG_CACHE_HOME/exile-vm`, else `~/.cache/exile-vm`):
//!
//! ```text
//! apt/<suite>/                  private apt state (sources.list, lists, status)
//! kernels/<package>_<version>/  vmlinuz + kernel.json (what it is, where from)
//! resolved/<suite>_<meta>.json  last resolution, used when apt is unreachable
//! ```
//!
//! Both image layouts are handled: `boot/vmlinuz-*` (bullseye … trixie) and
//! `usr/lib/modules/*/vmlinuz` (the `linux-binary-*` packages of sid).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::apt::{self, AptError, AptState, HostSource};
use crate::debian::{self, ResolveError};

/// Free space the cache needs before a download (bytes).
pub const MIN_FREE_BYTES: u64 = 1 << 30;

/// Package lists younger than this are not fetched again.
pub const LISTS_MAX_AGE: Duration = Duration::from_secs(6 * 3600);

/// A kernel ready to boot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelImage {
    /// Debian suite.
    pub suite: String,
    /// Meta-package it was resolved from.
    pub meta: String,
    /// Package that ships `vmlinuz`.
    pub package: String,
    /// Its version.
    pub version: String,
    /// Path of `vmlinuz` inside the package.
    pub path_in_package: String,
    /// The cached `vmlinuz`.
    pub vmlinuz: PathBuf,
}

/// Why a kernel could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// apt failed.
    #[error(transparent)]
    Apt(#[from] AptError),
    /// The meta-package does not lead to an image.
    #[error("resolving {meta} in {suite}: {source}")]
    Resolve {
        /// Suite.
        suite: String,
        /// Meta-package.
        meta: String,
        /// What went wrong.
        source: ResolveError,
    },
    /// Not enough disk space.
    #[error(
        "not enough disk space in {dir}: {free_mib} MiB free, {need_mib} MiB needed; free some space or point \
         --cache / EXILE_VM_CACHE at a bigger disk"
    )]
    Disk {
        /// Cache directory.
        dir: String,
        /// Free MiB.
        free_mib: u64,
        /// Needed MiB.
        need_mib: u64,
    },
    /// The package holds no kernel where expected.
    #[error("{deb} contains no boot/vmlinuz-* nor usr/lib/modules/*/vmlinuz")]
    NoVmlinuz {
        /// The `.deb`.
        deb: String,
    },
    /// Extraction failed.
    #[error("extracting {deb}: {detail}")]
    Extract {
        /// The `.deb`.
        deb: String,
        /// Why.
        detail: String,
    },
    /// File system error.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// The cache root: `EXILE_VM_CACHE`, `$XDG_CACHE_HOME/exile-vm`, or
/// `~/.cache/exile-vm`.
pub fn default_cache_root() -> PathBuf {
    if let Some(p) = std::env::var_os("EXILE_VM_CACHE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("exile-vm");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("exile-vm")
}

/// Free bytes on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs is plain old data; the call only writes into it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a valid out pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Hold an exclusive `flock` on `path` (created if needed) until the file
/// is dropped; waits for another holder.
pub fn lock_file(path: &Path) -> Result<std::fs::File, FetchError> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io(path))?;
    // SAFETY: flock on a descriptor we own; no memory is passed.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(FetchError::Io(
            path.display().to_string(),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(f)
}

/// Find the kernel in an extracted package tree: `boot/vmlinuz-*` or
/// `usr/lib/modules/*/vmlinuz`. Returns the path relative to `root`.
pub fn find_vmlinuz(root: &Path) -> Option<PathBuf> {
    let boot = root.join("boot");
    if let Ok(dir) = std::fs::read_dir(&boot) {
        let mut found: Vec<PathBuf> = dir
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
            .map(|e| PathBuf::from("boot").join(e.file_name()))
            .collect();
        found.sort();
        if let Some(p) = found.into_iter().next() {
            return Some(p);
        }
    }
    for modules in ["usr/lib/modules", "lib/modules"] {
        if let Ok(dir) = std::fs::read_dir(root.join(modules)) {
            let mut found: Vec<PathBuf> = dir
                .filter_map(Result::ok)
                .map(|e| PathBuf::from(modules).join(e.file_name()).join("vmlinuz"))
                .filter(|p| root.join(p).is_file())
                .collect();
            found.sort();
            if let Some(p) = found.into_iter().next() {
                return Some(p);
            }
        }
    }
    None
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |e| FetchError::Io(path.display().to_string(), e)
}

/// Directory name of a cached kernel (version characters kept, `:` of an
/// epoch replaced).
pub fn cache_dir_name(package: &str, version: &str) -> String {
    format!("{package}_{}", version.replace(':', "%3a"))
}

fn load_cached(dir: &Path) -> Option<KernelImage> {
    let text = std::fs::read_to_string(dir.join("kernel.json")).ok()?;
    let k: KernelImage = serde_json::from_str(&text).ok()?;
    k.vmlinuz.is_file().then_some(k)
}

/// Options for [`fetch`].
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// Cache root.
    pub cache: PathBuf,
    /// The host's Debian archive (from its apt configuration).
    pub archive: HostSource,
    /// Fetch package lists even when fresh.
    pub refresh: bool,
}

/// Resolve, download and extract the kernel of `suite`/`meta`, using the
/// cache when the resolved version is already there. When apt cannot reach
/// the mirror, the last resolution cached for this suite is used (with a
/// warning through `log`).
pub fn fetch(
    opts: &FetchOptions,
    suite: &str,
    meta: &str,
    log: &dyn Fn(&str),
) -> Result<KernelImage, FetchError> {
    std::fs::create_dir_all(&opts.cache).map_err(io(&opts.cache))?;
    // One runner at a time per suite: apt's own locking is off in the
    // private state, and two updates of the same lists would collide.
    let _lock = lock_file(&opts.cache.join(format!("{suite}.lock")))?;
    let resolved_file = opts
        .cache
        .join("resolved")
        .join(format!("{suite}_{meta}.json"));
    let state = AptState::new(&opts.cache, suite, opts.archive.clone())?;
    let stale = opts.refresh || state.lists_age().map_or(true, |age| age > LISTS_MAX_AGE);
    if stale {
        log(&format!(
            "apt-get update ({suite} from {})",
            opts.archive.uri
        ));
        if let Err(e) = state.update() {
            let offline = matches!(e, AptError::Command { .. });
            if let (true, Some(k)) = (
                offline,
                std::fs::read_to_string(&resolved_file)
                    .ok()
                    .and_then(|t| serde_json::from_str::<KernelImage>(&t).ok()),
            ) {
                if k.vmlinuz.is_file() {
                    log(&format!(
                        "apt failed ({e}); using the cached {} {}",
                        k.package, k.version
                    ));
                    return Ok(k);
                }
            }
            return Err(e.into());
        }
    }
    let resolved =
        debian::resolve_image(meta, |p| state.show(p)).map_err(|source| FetchError::Resolve {
            suite: suite.to_owned(),
            meta: meta.to_owned(),
            source,
        })?;
    let dir = opts
        .cache
        .join("kernels")
        .join(cache_dir_name(&resolved.package, &resolved.version));
    let image = match load_cached(&dir) {
        Some(k) => k,
        None => {
            let need = MIN_FREE_BYTES;
            let free = free_bytes(&opts.cache).map_err(io(&opts.cache))?;
            if free < need {
                return Err(FetchError::Disk {
                    dir: opts.cache.display().to_string(),
                    free_mib: free >> 20,
                    need_mib: need >> 20,
                });
            }
            log(&format!(
                "downloading {} {}",
                resolved.package, resolved.version
            ));
            let work = opts
                .cache
                .join("tmp")
                .join(format!("{suite}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&work);
            let result =
                download_and_extract(&state, &resolved.package, &resolved.version, &work, &dir);
            let _ = std::fs::remove_dir_all(&work);
            let (path_in_package, vmlinuz) = result?;
            let k = KernelImage {
                suite: suite.to_owned(),
                meta: meta.to_owned(),
                package: resolved.package.clone(),
                version: resolved.version.clone(),
                path_in_package,
                vmlinuz,
            };
            let json = serde_json::to_string_pretty(&k).unwrap_or_default();
            std::fs::write(dir.join("kernel.json"), json).map_err(io(&dir))?;
            k
        }
    };
    let image = KernelImage {
        suite: suite.to_owned(),
        meta: meta.to_owned(),
        ..image
    };
    if let Some(parent) = resolved_file.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let _ = std::fs::write(
        &resolved_file,
        serde_json::to_string_pretty(&image).unwrap_or_default(),
    );
    Ok(image)
}

fn download_and_extract(
    state: &AptState,
    package: &str,
    version: &str,
    work: &Path,
    dest: &Path,
) -> Result<(String, PathBuf), FetchError> {
    let deb = state.download(package, version, work)?;
    let tree = work.join("tree");
    std::fs::create_dir_all(&tree).map_err(io(&tree))?;
    if !apt::in_path("dpkg-deb") {
        return Err(AptError::MissingTool("dpkg-deb".to_owned()).into());
    }
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&tree)
        .output()
        .map_err(io(Path::new("dpkg-deb")))?;
    if !out.status.success() {
        return Err(FetchError::Extract {
            deb: deb.display().to_string(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let rel = find_vmlinuz(&tree).ok_or_else(|| FetchError::NoVmlinuz {
        deb: deb.display().to_string(),
    })?;
    std::fs::create_dir_all(dest).map_err(io(dest))?;
    let target = dest.join("vmlinuz");
    let partial = dest.join("vmlinuz.partial");
    std::fs::copy(tree.join(&rel), &partial).map_err(io(&partial))?;
    std::fs::rename(&partial, &target).map_err(io(&target))?;
    Ok((rel.display().to_string(), target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_vmlinuz_layouts() {
        let base = std::env::temp_dir().join(format!("exile-vm-layout-{}", std::process::id()));
        let old = base.join("old");
        std::fs::create_dir_all(old.join("boot")).unwrap();
        std::fs::write(old.join("boot/vmlinuz-6.1.0-50-cloud-amd64"), b"k").unwrap();
        std::fs::write(old.join("boot/config-6.1.0-50-cloud-amd64"), b"c").unwrap();
        let new = base.join("new");
        std::fs::create_dir_all(new.join("usr/lib/modules/7.2.13+deb14-cloud-amd64")).unwrap();
        std::fs::write(
            new.join("usr/lib/modules/7.2.13+deb14-cloud-amd64/vmlinuz"),
            b"k",
        )
        .unwrap();
        let none = base.join("none");
        std::fs::create_dir_all(&none).unwrap();
        let r = (find_vmlinuz(&old), find_vmlinuz(&new), find_vmlinuz(&none));
        std::fs::remove_dir_all(&base).unwrap();
        assert_eq!(
            r.0,
            Some(PathBuf::from("boot/vmlinuz-6.1.0-50-cloud-amd64"))
        );
        assert_eq!(
            r.1,
            Some(PathBuf::from(
                "usr/lib/modules/7.2.13+deb14-cloud-amd64/vmlinuz"
            ))
        );
        assert_eq!(r.2, None);
    }

    #[test]
    fn free_space_is_known() {
        assert!(free_bytes(&std::env::temp_dir()).unwrap() > 0);
        assert!(free_bytes(Path::new("/nonexistent/exile-vm")).is_err());
    }
}
