//! `kernels.toml`: the kernel matrix and what each kernel must show.
//!
//! ```toml
//! [defaults]
//! package = "linux-image-cloud-amd64"   # meta-package resolved in each suite
//!
//! [[kernel]]
//! name = "trixie-no-landlock"           # unique; [A-Za-z0-9._-]
//! suite = "trixie"                      # a Debian codename
//! package = "linux-image-cloud-amd64"   # optional, defaults.package
//! cmdline = "lsm=lockdown,yama,apparmor" # optional, appended to the kernel command line
//! persona = "4.14"                      # optional, exile.persona= for the suite
//! sysctls = { "user.max_user_namespaces" = 0 }  # optional, exile.sysctl= (set by init before the probes)
//! note = "free text"                    # optional, shown in reports
//!
//! [kernel.must]                         # dotted key paths into the features JSON, see `must`
//! "landlock.abi" = 0
//! "landlock.status" = "not_enabled"
//! ```
//!
//! Errors name the file, line, column and field: syntax and type errors come
//! from the TOML parser's span, semantic ones (unknown suite, duplicate
//! name, bad must value) from the span of the offending value. Unknown
//! fields are errors, so a typo cannot silently drop a requirement.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::apt::DEBIAN_CODENAMES;
use crate::must::Expect;

/// The default meta-package.
pub const DEFAULT_PACKAGE: &str = "linux-image-cloud-amd64";

/// The parsed matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// Entries, in file order.
    pub kernels: Vec<KernelEntry>,
}

/// One row of the matrix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelEntry {
    /// Unique name (`trixie-persona-4.14`).
    pub name: String,
    /// Debian suite.
    pub suite: String,
    /// Meta-package to resolve.
    pub package: String,
    /// Extra kernel command line.
    pub cmdline: String,
    /// Persona for the suite.
    pub persona: Option<String>,
    /// sysctls (dotted key, value) set by the init before the probes.
    pub sysctls: Vec<(String, String)>,
    /// Required features.
    pub must: BTreeMap<String, Expect>,
    /// Free text.
    pub note: Option<String>,
}

/// A configuration error with its location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// File name.
    pub file: String,
    /// 1-based line (0: unknown).
    pub line: usize,
    /// 1-based column (0: unknown).
    pub column: usize,
    /// The field involved, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        f.write_str(": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    kernel: Vec<Spanned<RawKernel>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    package: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKernel {
    name: Spanned<String>,
    suite: Spanned<String>,
    package: Option<String>,
    #[serde(default)]
    cmdline: String,
    persona: Option<Spanned<String>>,
    #[serde(default)]
    sysctls: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    must: BTreeMap<String, Spanned<toml::Value>>,
    note: Option<String>,
}

/// 1-based (line, column) of a byte offset.
fn position(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

/// The key on the line holding `offset` (`suite = 5` → `suite`).
fn key_on_line(src: &str, offset: usize) -> Option<String> {
    let offset = offset.min(src.len());
    let start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    let line = &src[start..end];
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

fn field_in_message(message: &str) -> Option<String> {
    let i = message.find("field `")? + "field `".len();
    let rest = &message[i..];
    Some(rest[..rest.find('`')?].to_owned())
}

fn valid_word(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_whitespace)
}

impl Config {
    /// Read and validate a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            field: None,
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&src, path)
    }

    /// Parse and validate `src` (`path` is used in messages).
    pub fn parse(src: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let at = |offset: usize, field: Option<String>, message: String| {
            let (line, column) = position(src, offset);
            ConfigError {
                file: file.clone(),
                line,
                column,
                field,
                message,
            }
        };
        let raw: RawConfig = toml::from_str(src).map_err(|e| {
            let message = e.message().trim().to_owned();
            let offset = e.span().map_or(0, |s| s.start);
            let field = field_in_message(&message)
                .or_else(|| e.span().and_then(|s| key_on_line(src, s.start)));
            let mut err = at(offset, field, message);
            if e.span().is_none() {
                (err.line, err.column) = (0, 0);
            }
            err
        })?;
        let default_package = raw
            .defaults
            .package
            .unwrap_or_else(|| DEFAULT_PACKAGE.to_owned());
        let mut kernels: Vec<KernelEntry> = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for spanned in raw.kernel {
            let k = spanned.into_inner();
            let name_at = k.name.span().start;
            let name = k.name.into_inner();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(at(
                    name_at,
                    Some("name".into()),
                    format!("{name:?}: use letters, digits, `.`, `_` and `-` only"),
                ));
            }
            if let Some(first) = seen.insert(name.clone(), name_at) {
                let (line, _) = position(src, first);
                return Err(at(
                    name_at,
                    Some("name".into()),
                    format!("duplicate kernel name {name:?} (first defined on line {line})"),
                ));
            }
            let suite_at = k.suite.span().start;
            let suite = k.suite.into_inner();
            if !DEBIAN_CODENAMES.contains(&suite.as_str()) {
                return Err(at(
                    suite_at,
                    Some("suite".into()),
                    format!(
                        "unknown suite {suite:?}: expected one of {}",
                        DEBIAN_CODENAMES.join(", ")
                    ),
                ));
            }
            let persona = match k.persona {
                Some(p) if !valid_word(p.get_ref()) => {
                    return Err(at(
                        p.span().start,
                        Some("persona".into()),
                        "must be one word (e.g. \"4.14\")".into(),
                    ))
                }
                p => p.map(Spanned::into_inner),
            };
            let mut sysctls = Vec::new();
            for (key, value) in k.sysctls {
                let value_at = value.span().start;
                let text = match value.into_inner() {
                    toml::Value::String(s) => s,
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Boolean(b) => u8::from(b).to_string(),
                    other => {
                        return Err(at(
                            value_at,
                            Some(format!("sysctls.{key}")),
                            format!(
                                "expected a string or an integer, found {}",
                                other.type_str()
                            ),
                        ))
                    }
                };
                let key_ok = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
                if !key_ok || !valid_word(&text) {
                    return Err(at(
                        value_at,
                        Some(format!("sysctls.{key}")),
                        "a sysctl is a dotted name and a value without spaces".into(),
                    ));
                }
                sysctls.push((key, text));
            }
            let mut must = BTreeMap::new();
            for (key, value) in k.must {
                let value_at = value.span().start;
                let expect = Expect::from_toml(value.get_ref())
                    .map_err(|m| at(value_at, Some(format!("must.{key}")), m))?;
                if key.split('.').any(str::is_empty) {
                    return Err(at(
                        value_at,
                        Some(format!("must.{key}")),
                        "empty path segment".into(),
                    ));
                }
                must.insert(key, expect);
            }
            kernels.push(KernelEntry {
                name,
                suite,
                package: k.package.unwrap_or_else(|| default_package.clone()),
                cmdline: k.cmdline.split_whitespace().collect::<Vec<_>>().join(" "),
                persona,
                sysctls,
                must,
                note: k.note,
            });
        }
        if kernels.is_empty() {
            return Err(ConfigError {
                file,
                line: 0,
                column: 0,
                field: Some("kernel".into()),
                message: "no [[kernel]] entries".into(),
            });
        }
        Ok(Config {
            path: path.to_owned(),
            kernels,
        })
    }

    /// The entries named in `names` (all when empty); an unknown name is an
    /// error that lists the known ones.
    pub fn select(&self, names: &[String]) -> Result<Vec<KernelEntry>, String> {
        if names.is_empty() {
            return Ok(self.kernels.clone());
        }
        names
            .iter()
            .map(|n| {
                self.kernels
                    .iter()
                    .find(|k| &k.name == n)
                    .cloned()
                    .ok_or_else(|| {
                        let known: Vec<&str> =
                            self.kernels.iter().map(|k| k.name.as_str()).collect();
                        format!(
                            "no kernel named {n:?} in {}: known: {}",
                            self.path.display(),
                            known.join(", ")
                        )
                    })
            })
            .collect()
    }
}

impl KernelEntry {
    /// The kernel command line for this entry (the runner's protocol).
    pub fn kernel_cmdline(&self) -> String {
        let mut words = vec![
            "console=ttyS0".to_owned(),
            "panic=-1".to_owned(),
            "exile.out=/dev/ttyS1".to_owned(),
        ];
        if let Some(p) = &self.persona {
            words.push(format!("exile.persona={p}"));
        }
        for (k, v) in &self.sysctls {
            words.push(format!("exile.sysctl={k}={v}"));
        }
        if !self.cmdline.is_empty() {
            words.push(self.cmdline.clone());
        }
        words.join(" ")
    }
}
