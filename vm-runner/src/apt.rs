//! A private apt state per Debian suite, derived from the machine's own apt
//! configuration.
//!
//! The runner never names a mirror: it reads the host's sources
//! (`/etc/apt/sources.list` and `/etc/apt/sources.list.d/*.list|*.sources`,
//! one-line or deb822 format), takes the first entry that points at a Debian
//! archive (a suite that is a Debian codename or alias, with component
//! `main`), and writes a sources list of its own with the suite swapped:
//!
//! ```text
//! deb [arch=amd64 signed-by=<host keyring>] <host's URI> <suite> main
//! ```
//!
//! Security and updates suites are not used: the main suite of each release
//! carries a recent kernel. `EXILE_VM_DEBIAN_MIRROR=URI` overrides the URI
//! (for hosts without a Debian mirror, e.g. Ubuntu CI runners).
//!
//! Signatures stay verified: the keyring is the host entry's `Signed-By`
//! file, else `/usr/share/keyrings/debian-archive-keyring.gpg`; when a suite
//! is signed by a key the keyring lacks, the error says to install a newer
//! `debian-archive-keyring`. The host's `apt.conf` (proxies, …) still
//! applies; its sources, preferences and dpkg status do not.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use crate::debian::{parse_stanzas, Stanza};

/// Debian's archive keyring, installed by the `debian-archive-keyring` package.
pub const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Codenames accepted as suites (Debian 10 onwards, plus sid).
pub const DEBIAN_CODENAMES: &[&str] = &[
    "buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid",
];

/// Aliases that name a Debian archive in a host's sources.
const DEBIAN_ALIASES: &[&str] = &["oldoldstable", "oldstable", "stable", "testing", "unstable"];

/// One `deb` source of the host that points at a Debian archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSource {
    /// Archive URI (e.g. `http://<mirror>/debian`).
    pub uri: String,
    /// The suite the host uses there.
    pub suite: String,
    /// `Signed-By` keyring file, when the entry names one.
    pub signed_by: Option<String>,
    /// Where it was found (file name).
    pub origin: String,
}

/// Errors of the apt layer.
#[derive(Debug, thiserror::Error)]
pub enum AptError {
    /// No Debian archive in the host's apt sources.
    #[error(
        "no Debian archive found in the host's apt sources ({searched}); add one to /etc/apt/sources.list.d/ \
         (Types: deb, URIs: <a Debian mirror>/debian, Suites: <any codename>, Components: main, \
         Signed-By: {DEBIAN_KEYRING}) or set EXILE_VM_DEBIAN_MIRROR=<URI>"
    )]
    NoDebianSource {
        /// Files that were read.
        searched: String,
    },
    /// The keyring file is missing.
    #[error("the Debian archive keyring {0} is missing: install it with `apt-get install debian-archive-keyring`")]
    NoKeyring(String),
    /// `apt-get`/`apt-cache`/`dpkg-deb` is missing.
    #[error("`{0}` is not installed (or not in PATH): the kernel downloads need apt and dpkg (a Debian-family host)")]
    MissingTool(String),
    /// A key needed to verify the suite is not in the keyring.
    #[error(
        "apt cannot verify the {suite} suite with {keyring}: {detail}\n  install a newer keyring that has the key \
         (`apt-get install debian-archive-keyring` from a newer release or backports); verification stays on"
    )]
    Signature {
        /// Suite.
        suite: String,
        /// Keyring used.
        keyring: String,
        /// apt's message.
        detail: String,
    },
    /// The suite does not exist on the mirror.
    #[error("suite {suite} is not available from {uri} (apt: {detail})")]
    SuiteNotFound {
        /// Suite.
        suite: String,
        /// Mirror URI from the host config.
        uri: String,
        /// apt's message.
        detail: String,
    },
    /// Any other failed command.
    #[error("{command} failed: {detail}")]
    Command {
        /// What was run.
        command: String,
        /// stderr/stdout tail.
        detail: String,
    },
    /// I/O on the state directory.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

fn is_debian_suite(s: &str) -> bool {
    DEBIAN_CODENAMES.contains(&s) || DEBIAN_ALIASES.contains(&s)
}

fn usable_uri(uri: &str) -> bool {
    ["http://", "https://", "file:", "ftp://", "mirror+"]
        .iter()
        .any(|p| uri.starts_with(p))
}

/// Parse one-line sources (`deb [opts] uri suite component...`).
pub fn parse_one_line_sources(text: &str, origin: &str) -> Vec<HostSource> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line
            .strip_prefix("deb ")
            .or_else(|| line.strip_prefix("deb\t"))
        else {
            continue;
        };
        let mut rest = rest.trim();
        let mut signed_by = None;
        if let Some(after) = rest.strip_prefix('[') {
            let Some((opts, tail)) = after.split_once(']') else {
                continue;
            };
            for opt in opts.split_whitespace() {
                if let Some(v) = opt.strip_prefix("signed-by=") {
                    signed_by = Some(v.to_owned());
                }
            }
            rest = tail.trim();
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.len() >= 3
            && usable_uri(words[0])
            && is_debian_suite(words[1])
            && words[2..].contains(&"main")
        {
            out.push(HostSource {
                uri: words[0].to_owned(),
                suite: words[1].to_owned(),
                signed_by,
                origin: origin.to_owned(),
            });
        }
    }
    out
}

/// Parse deb822 sources (`Types:`, `URIs:`, `Suites:`, `Components:`,
/// `Signed-By:`, `Enabled:`).
pub fn parse_deb822_sources(text: &str, origin: &str) -> Vec<HostSource> {
    // Comment lines are dropped first so they cannot split a stanza.
    let cleaned: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut out = Vec::new();
    for st in parse_stanzas(&cleaned) {
        let words = |f: &str| -> Vec<String> {
            st.get(f)
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        if !words("Types").iter().any(|t| t == "deb") {
            continue;
        }
        if st
            .get("Enabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("no"))
        {
            continue;
        }
        if !words("Components").iter().any(|c| c == "main") {
            continue;
        }
        // Signed-By is a file name, or an inline key (multi-line): keep files only.
        let signed_by = st
            .get("Signed-By")
            .filter(|v| !v.contains('\n') && v.starts_with('/'))
            .map(|v| v.split_whitespace().next().unwrap_or(v).to_owned());
        let Some(suite) = words("Suites").into_iter().find(|s| is_debian_suite(s)) else {
            continue;
        };
        for uri in words("URIs").into_iter().filter(|u| usable_uri(u)) {
            out.push(HostSource {
                uri,
                suite: suite.clone(),
                signed_by: signed_by.clone(),
                origin: origin.to_owned(),
            });
        }
    }
    out
}

/// Read the host's apt sources under `etc_apt` (normally `/etc/apt`).
pub fn host_sources(etc_apt: &Path) -> (Vec<HostSource>, Vec<PathBuf>) {
    let mut files = vec![etc_apt.join("sources.list")];
    if let Ok(dir) = std::fs::read_dir(etc_apt.join("sources.list.d")) {
        let mut extra: Vec<PathBuf> = dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("list" | "sources")
                )
            })
            .collect();
        extra.sort();
        files.extend(extra);
    }
    let mut sources = Vec::new();
    let mut read = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let origin = f.display().to_string();
        if f.extension().and_then(|e| e.to_str()) == Some("sources") {
            sources.extend(parse_deb822_sources(&text, &origin));
        } else {
            sources.extend(parse_one_line_sources(&text, &origin));
        }
        read.push(f);
    }
    (sources, read)
}

/// The Debian archive to use: `mirror_override` (the value of
/// `EXILE_VM_DEBIAN_MIRROR`), else the first Debian source of the host's
/// apt configuration under `etc_apt`.
pub fn debian_archive(
    etc_apt: &Path,
    mirror_override: Option<&str>,
) -> Result<HostSource, AptError> {
    if let Some(uri) = mirror_override {
        if !uri.trim().is_empty() {
            return Ok(HostSource {
                uri: uri.trim().to_owned(),
                suite: String::new(),
                signed_by: None,
                origin: "EXILE_VM_DEBIAN_MIRROR".to_owned(),
            });
        }
    }
    let (sources, read) = host_sources(etc_apt);
    sources
        .into_iter()
        .next()
        .ok_or_else(|| AptError::NoDebianSource {
            searched: if read.is_empty() {
                format!("nothing readable under {}", etc_apt.display())
            } else {
                read.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
}

/// The sources.list line for `suite` from the host's archive entry.
pub fn sources_line(archive: &HostSource, suite: &str) -> String {
    let keyring = archive.signed_by.as_deref().unwrap_or(DEBIAN_KEYRING);
    format!(
        "deb [arch=amd64 signed-by={keyring}] {} {suite} main\n",
        archive.uri
    )
}

/// Is `path` a program in `PATH`?
pub fn in_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// A private apt state directory for one suite:
/// `<cache>/apt/<suite>/{sources.list, lists/, cache/, status, ...}`.
#[derive(Clone, Debug)]
pub struct AptState {
    /// The suite.
    pub suite: String,
    /// The state directory.
    pub dir: PathBuf,
    /// The archive entry the sources came from.
    pub archive: HostSource,
}

fn tail(text: &[u8], lines: usize) -> String {
    let s = String::from_utf8_lossy(text);
    let v: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

impl AptState {
    /// Create (or reuse) the state directory and write its sources list.
    pub fn new(cache_root: &Path, suite: &str, archive: HostSource) -> Result<AptState, AptError> {
        let dir = cache_root.join("apt").join(suite);
        for sub in [
            "lists/partial",
            "cache/archives/partial",
            "preferences.d",
            "sources.list.d",
        ] {
            let p = dir.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| AptError::Io(p.display().to_string(), e))?;
        }
        let keyring = archive
            .signed_by
            .clone()
            .unwrap_or_else(|| DEBIAN_KEYRING.to_owned());
        if !Path::new(&keyring).is_file() {
            return Err(AptError::NoKeyring(keyring));
        }
        let write = |name: &str, text: &str| -> Result<(), AptError> {
            let p = dir.join(name);
            let same = std::fs::read_to_string(&p).is_ok_and(|old| old == text);
            if same {
                return Ok(());
            }
            std::fs::write(&p, text).map_err(|e| AptError::Io(p.display().to_string(), e))
        };
        write("sources.list", &sources_line(&archive, suite))?;
        if !dir.join("status").exists() {
            write("status", "")?;
        }
        Ok(AptState {
            suite: suite.to_owned(),
            dir,
            archive,
        })
    }

    /// The `-o` options that point apt at this state only.
    pub fn options(&self) -> Vec<String> {
        let d = self.dir.display();
        [
            format!("Dir::State={d}"),
            format!("Dir::State::Lists={d}/lists"),
            format!("Dir::State::status={d}/status"),
            format!("Dir::Cache={d}/cache"),
            format!("Dir::Etc::SourceList={d}/sources.list"),
            format!("Dir::Etc::SourceParts={d}/sources.list.d"),
            format!("Dir::Etc::Preferences={d}/preferences"),
            format!("Dir::Etc::PreferencesParts={d}/preferences.d"),
            "APT::Architecture=amd64".to_owned(),
            "APT::Architectures=amd64".to_owned(),
            "Acquire::Languages=none".to_owned(),
            "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false".to_owned(),
            "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false".to_owned(),
            "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false".to_owned(),
            "Acquire::IndexTargets::deb::CNF::DefaultEnabled=false".to_owned(),
            "Debug::NoLocking=true".to_owned(),
        ]
        .into_iter()
        .flat_map(|o| ["-o".to_owned(), o])
        .collect()
    }

    fn run(&self, program: &str, args: &[&str], cwd: Option<&Path>) -> Result<Output, AptError> {
        if !in_path(program) {
            return Err(AptError::MissingTool(program.to_owned()));
        }
        let mut cmd = Command::new(program);
        cmd.args(self.options()).args(args).env("LC_ALL", "C");
        if let Some(cwd) = cwd {
            cmd.current_dir(cwd);
        }
        cmd.output()
            .map_err(|e| AptError::Io(program.to_owned(), e))
    }

    /// When the package lists were last fetched.
    pub fn lists_age(&self) -> Option<Duration> {
        let lists = std::fs::read_dir(self.dir.join("lists")).ok()?;
        lists
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name().to_string_lossy().ends_with("InRelease")
                    || e.file_name().to_string_lossy().ends_with("_Release")
            })
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
    }

    /// `apt-get update` for this suite; signature and missing-suite
    /// problems become specific errors.
    pub fn update(&self) -> Result<(), AptError> {
        let out = self.run("apt-get", &["-q", "update"], None)?;
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let keyring = self
            .archive
            .signed_by
            .clone()
            .unwrap_or_else(|| DEBIAN_KEYRING.to_owned());
        let sig_problem = [
            "NO_PUBKEY",
            "EXPKEYSIG",
            "is not signed",
            "couldn't be verified",
            "BADSIG",
        ]
        .iter()
        .any(|m| text.contains(m));
        if sig_problem {
            return Err(AptError::Signature {
                suite: self.suite.clone(),
                keyring,
                detail: tail(text.as_bytes(), 4),
            });
        }
        let missing = [
            "does not have a Release file",
            "404  Not Found",
            "404 Not Found",
        ]
        .iter()
        .any(|m| text.contains(m));
        if missing {
            return Err(AptError::SuiteNotFound {
                suite: self.suite.clone(),
                uri: self.archive.uri.clone(),
                detail: tail(text.as_bytes(), 3),
            });
        }
        let failed_fetch = text.lines().any(|l| {
            l.starts_with("Err:") || l.starts_with("E: ") || l.starts_with("W: Failed to fetch")
        });
        if !out.status.success() || failed_fetch {
            return Err(AptError::Command {
                command: format!("apt-get update ({} {})", self.archive.uri, self.suite),
                detail: format!("{}\n  is the mirror reachable? (apt's proxy settings in /etc/apt/apt.conf.d apply)", tail(text.as_bytes(), 4)),
            });
        }
        Ok(())
    }

    /// `apt-cache show PACKAGE` as stanzas (empty when unknown).
    pub fn show(&self, package: &str) -> Result<Vec<Stanza>, String> {
        let out = self
            .run("apt-cache", &["show", package], None)
            .map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("No packages found")
                || err.contains("Unable to locate")
                || err.contains("has no installation candidate")
            {
                return Ok(Vec::new());
            }
            return Err(format!(
                "apt-cache show {package}: {}",
                tail(&out.stderr, 3)
            ));
        }
        Ok(parse_stanzas(&stdout))
    }

    /// `apt-get download PACKAGE=VERSION` into `dest`; returns the `.deb`.
    pub fn download(&self, package: &str, version: &str, dest: &Path) -> Result<PathBuf, AptError> {
        std::fs::create_dir_all(dest).map_err(|e| AptError::Io(dest.display().to_string(), e))?;
        let spec = format!("{package}={version}");
        let out = self.run("apt-get", &["-q", "download", &spec], Some(dest))?;
        if !out.status.success() {
            return Err(AptError::Command {
                command: format!("apt-get download {spec}"),
                detail: tail(&[out.stdout, out.stderr].concat(), 4),
            });
        }
        let deb = std::fs::read_dir(dest)
            .map_err(|e| AptError::Io(dest.display().to_string(), e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|e| e == "deb")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{package}_")))
            });
        deb.ok_or_else(|| AptError::Command {
            command: format!("apt-get download {spec}"),
            detail: format!("no {package}_*.deb appeared in {}", dest.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_sources() {
        let text = "# comment\n\
            deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.invalid/debian bookworm main contrib\n\
            deb http://mirror.invalid/debian-security bookworm-security main\n\
            deb-src http://mirror.invalid/debian bookworm main\n\
            deb https://vendor.invalid/apt cloud-sdk-bookworm main\n\
            deb cdrom:[Debian]/ bookworm main\n";
        let s = parse_one_line_sources(text, "sources.list");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].uri, "http://mirror.invalid/debian");
        assert_eq!(s[0].suite, "bookworm");
        assert_eq!(s[0].signed_by.as_deref(), Some(DEBIAN_KEYRING));
        assert_eq!(
            sources_line(&s[0], "sid"),
            format!("deb [arch=amd64 signed-by={DEBIAN_KEYRING}] http://mirror.invalid/debian sid main\n")
        );
    }

    #[test]
    fn deb822_sources() {
        let text = "Types: deb\n# http://snapshot.invalid/archive/debian/20250520T000000Z\nURIs: http://mirror.invalid/debian\n\
            Suites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
            Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: bookworm-security\nComponents: main\n\n\
            Types: deb\nURIs: https://other.invalid/node\nSuites: nodistro\nComponents: main\n\n\
            Types: deb\nEnabled: no\nURIs: http://disabled.invalid/debian\nSuites: trixie\nComponents: main\n";
        let s = parse_deb822_sources(text, "debian.sources");
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].uri, "http://mirror.invalid/debian");
        assert_eq!(s[0].signed_by.as_deref(), Some(DEBIAN_KEYRING));
    }

    #[test]
    fn inline_signed_by_is_not_a_file() {
        let text =
            "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: stable\nComponents: main\n\
            Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n";
        let s = parse_deb822_sources(text, "x.sources");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].signed_by, None);
    }

    #[test]
    fn host_dir_reading() {
        let dir = std::env::temp_dir().join(format!("exile-vm-apt-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sources.list.d")).unwrap();
        std::fs::write(
            dir.join("sources.list.d/a.sources.disabled"),
            "Types: deb\nURIs: http://no.invalid/debian\nSuites: sid\nComponents: main\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("sources.list.d/b.list"),
            "deb http://mirror.invalid/debian trixie main\n",
        )
        .unwrap();
        let a = debian_archive(&dir, None);
        std::fs::remove_dir_all(&dir).unwrap();
        let a = a.unwrap();
        assert_eq!(a.uri, "http://mirror.invalid/debian");
        assert_eq!(a.suite, "trixie");
        let empty = std::env::temp_dir().join(format!("exile-vm-apt-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let err = debian_archive(&empty, None).unwrap_err().to_string();
        std::fs::remove_dir_all(&empty).unwrap();
        assert!(err.contains("no Debian archive"), "{err}");
        let o = debian_archive(&empty, Some("http://own.invalid/debian")).unwrap();
        assert_eq!(o.uri, "http://own.invalid/debian");
    }
}
