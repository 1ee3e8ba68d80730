//! Debian metadata: control stanzas (`apt-cache show` output), dependency
//! fields, version ordering, and the walk from a kernel meta-package to the
//! package that really ships `vmlinuz`.
//!
//! Resolution ([`resolve_image`]) starts at the meta-package (by default the
//! suite's `linux-image-cloud-amd64`) and follows its `Depends`:
//!
//! - a dependency named `linux-binary-*` (not `-unsigned-`) is the answer:
//!   since Linux 7.x, sid splits the image into `linux-image-*` (scripts)
//!   and `linux-binary-*`, which ships `usr/lib/modules/*/vmlinuz`;
//! - otherwise a dependency named `linux-image-*` is followed (with the
//!   exact version it pins, `(= V)`), and the walk repeats from it;
//! - a package with neither is the image itself (bullseye … trixie ship
//!   `boot/vmlinuz-*` in `linux-image-<abi>-cloud-amd64`).
//!
//! Dependencies with alternatives (`dracut | initramfs-tools`) never lead to
//! a kernel and are skipped.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// One control stanza: field name → value (continuation lines joined with
/// `\n`). Field names keep their case; lookups are case-insensitive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stanza {
    fields: BTreeMap<String, String>,
}

impl Stanza {
    /// The value of `field` (case-insensitive), if present.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.as_str())
    }

    /// `Package:`, or the empty string.
    pub fn package(&self) -> &str {
        self.get("Package").unwrap_or("")
    }

    /// `Version:`, or the empty string.
    pub fn version(&self) -> &str {
        self.get("Version").unwrap_or("")
    }

    /// The parsed `Depends:` field (empty when absent).
    pub fn depends(&self) -> Vec<Vec<Dependency>> {
        self.get("Depends").map(parse_depends).unwrap_or_default()
    }
}

/// Parse control stanzas separated by blank lines (the format of
/// `apt-cache show` and of `Packages` files).
pub fn parse_stanzas(text: &str) -> Vec<Stanza> {
    let mut out = Vec::new();
    let mut current = Stanza::default();
    let mut last_key: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            last_key = None;
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(k) = &last_key {
                if let Some(v) = current.fields.get_mut(k) {
                    v.push('\n');
                    v.push_str(line.trim());
                }
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let key = k.trim().to_owned();
            current.fields.insert(key.clone(), v.trim().to_owned());
            last_key = Some(key);
        }
    }
    if !current.fields.is_empty() {
        out.push(current);
    }
    out
}

/// One package named in a dependency field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// Package name (architecture qualifier removed).
    pub name: String,
    /// Version relation and version, e.g. `("=", "6.1.176-1")`.
    pub version: Option<(String, String)>,
}

/// Parse a `Depends:` value into AND-groups of OR-alternatives.
pub fn parse_depends(field: &str) -> Vec<Vec<Dependency>> {
    field
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|group| {
            group
                .split('|')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(parse_one_dependency)
                .collect()
        })
        .collect()
}

fn parse_one_dependency(text: &str) -> Dependency {
    // Drop build profiles `<...>` and architecture lists `[...]`.
    let text = text.split(['<', '[']).next().unwrap_or(text).trim();
    let (name, rest) = match text.find('(') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let name = name.trim();
    let name = name.split(':').next().unwrap_or(name).to_owned();
    let version = rest.map(|r| r.trim_end_matches(')').trim()).and_then(|r| {
        let op_len = r
            .chars()
            .take_while(|c| matches!(c, '<' | '>' | '='))
            .count();
        let (op, ver) = r.split_at(op_len);
        let ver = ver.trim();
        (!op.is_empty() && !ver.is_empty()).then(|| (op.to_owned(), ver.to_owned()))
    });
    Dependency { name, version }
}

/// Compare two Debian versions (`[epoch:]upstream[-revision]`) the way
/// dpkg does.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split_version(a);
    let (eb, ub, rb) = split_version(b);
    ea.cmp(&eb)
        .then_with(|| compare_part(ua, ub))
        .then_with(|| compare_part(ra, rb))
}

fn split_version(v: &str) -> (u64, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
        _ => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

/// dpkg's ordering of a non-digit character: `~` sorts before everything,
/// even the end of the string; letters before other characters.
fn char_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn compare_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        // Non-digit prefix, character by character.
        loop {
            let ca = a.first().copied().filter(|c| !c.is_ascii_digit());
            let cb = b.first().copied().filter(|c| !c.is_ascii_digit());
            if ca.is_none() && cb.is_none() {
                break;
            }
            let (oa, ob) = (char_order(ca), char_order(cb));
            if oa != ob {
                return oa.cmp(&ob);
            }
            a = &a[usize::from(ca.is_some())..];
            b = &b[usize::from(cb.is_some())..];
        }
        // Digit run, numerically.
        let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let na = std::str::from_utf8(&a[..da])
            .unwrap_or("0")
            .trim_start_matches('0');
        let nb = std::str::from_utf8(&b[..db])
            .unwrap_or("0")
            .trim_start_matches('0');
        let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[da..];
        b = &b[db..];
    }
    Ordering::Equal
}

/// The package that ships the kernel, and how it was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Package holding `vmlinuz`.
    pub package: String,
    /// Its version.
    pub version: String,
    /// Every `(package, version)` visited, starting with the meta-package.
    pub chain: Vec<(String, String)>,
}

/// Why a kernel package could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The index has no such package.
    #[error("package {package} is not in the suite's index{}", version.as_ref().map(|v| format!(" (version {v})")).unwrap_or_default())]
    NotFound {
        /// Package name.
        package: String,
        /// Version asked for, if pinned.
        version: Option<String>,
    },
    /// The dependency chain did not end within a few steps.
    #[error("dependency chain from {0} does not reach a kernel image: {1}")]
    TooDeep(String, String),
    /// `apt-cache show` failed.
    #[error("{0}")]
    Lookup(String),
}

/// Pick the stanza of `package` with version `version` (or the highest).
pub fn pick<'a>(stanzas: &'a [Stanza], package: &str, version: Option<&str>) -> Option<&'a Stanza> {
    let mut matching = stanzas.iter().filter(|s| s.package() == package);
    match version {
        Some(v) => matching.find(|s| s.version() == v),
        None => matching.max_by(|a, b| compare_versions(a.version(), b.version())),
    }
}

/// Follow `meta` to the package that ships the kernel image.
///
/// `show(package)` returns the stanzas of that package (as `apt-cache show
/// package` does); tests pass captured output.
pub fn resolve_image(
    meta: &str,
    mut show: impl FnMut(&str) -> Result<Vec<Stanza>, String>,
) -> Result<Resolved, ResolveError> {
    let lookup = |show: &mut dyn FnMut(&str) -> Result<Vec<Stanza>, String>,
                  package: &str,
                  version: Option<&str>|
     -> Result<Stanza, ResolveError> {
        let stanzas = show(package).map_err(ResolveError::Lookup)?;
        pick(&stanzas, package, version)
            .cloned()
            .ok_or_else(|| ResolveError::NotFound {
                package: package.to_owned(),
                version: version.map(str::to_owned),
            })
    };
    let mut current = lookup(&mut show, meta, None)?;
    let mut chain = vec![(current.package().to_owned(), current.version().to_owned())];
    for _ in 0..6 {
        let singles: Vec<Dependency> = current
            .depends()
            .into_iter()
            .filter(|g| g.len() == 1)
            .flatten()
            .collect();
        let pinned = |d: &Dependency| {
            d.version
                .as_ref()
                .filter(|(op, _)| op == "=")
                .map(|(_, v)| v.clone())
        };
        if let Some(bin) = singles
            .iter()
            .find(|d| d.name.starts_with("linux-binary-") && !d.name.contains("-unsigned-"))
        {
            let s = lookup(&mut show, &bin.name, pinned(bin).as_deref())?;
            chain.push((s.package().to_owned(), s.version().to_owned()));
            return Ok(Resolved {
                package: s.package().to_owned(),
                version: s.version().to_owned(),
                chain,
            });
        }
        let next = singles
            .iter()
            .find(|d| d.name.starts_with("linux-image-") && d.name != current.package());
        match next {
            Some(img) => {
                current = lookup(&mut show, &img.name, pinned(img).as_deref())?;
                chain.push((current.package().to_owned(), current.version().to_owned()));
            }
            None => {
                return Ok(Resolved {
                    package: current.package().to_owned(),
                    version: current.version().to_owned(),
                    chain,
                })
            }
        }
    }
    let path = chain
        .iter()
        .map(|(p, _)| p.as_str())
        .collect::<Vec<_>>()
        .join(" -> ");
    Err(ResolveError::TooDeep(meta.to_owned(), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_like_dpkg() {
        let less = [
            ("1.0", "1.1"),
            ("1.0~rc1", "1.0"),
            ("1.0", "1.0-1"),
            ("6.1.170-1", "6.1.176-1"),
            ("6.12.9-1", "6.12.10-1"),
            ("1:0.1", "2:0.0"),
            ("0:9", "1:0"),
            ("1.0a", "1.0b"),
            ("1.0+deb12u1", "1.0+deb12u2"),
            ("7.2.13-1", "7.2.13-1+b1"),
        ];
        for (a, b) in less {
            assert_eq!(compare_versions(a, b), Ordering::Less, "{a} < {b}");
            assert_eq!(compare_versions(b, a), Ordering::Greater, "{b} > {a}");
        }
        assert_eq!(compare_versions("1.00", "1.0"), Ordering::Equal);
    }

    #[test]
    fn depends_with_alternatives_and_versions() {
        let d = parse_depends(
            "dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, linux-binary-7.2.13+deb14-cloud-amd64 (= 7.2.13-1), kmod:any",
        );
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].len(), 3);
        assert_eq!(d[0][1].version, Some((">=".into(), "0.120+deb8u2".into())));
        assert_eq!(d[1][0].name, "linux-binary-7.2.13+deb14-cloud-amd64");
        assert_eq!(d[1][0].version, Some(("=".into(), "7.2.13-1".into())));
        assert_eq!(d[2][0].name, "kmod");
    }

    #[test]
    fn stanzas_with_continuations() {
        let s = parse_stanzas(
            "Package: a\nVersion: 1\nDescription: x\n more\n\nPackage: a\nVersion: 2\n",
        );
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].get("description"), Some("x\nmore"));
        assert_eq!(pick(&s, "a", None).map(Stanza::version), Some("2"));
        assert_eq!(pick(&s, "a", Some("1")).map(Stanza::version), Some("1"));
    }
}
