//! The `must` matcher: what a kernel has to show in its features JSON.
//!
//! Each entry of a kernel's `[kernel.must]` table is a dotted key path into
//! the summary's `features` object and an expected value:
//!
//! | expected (TOML)            | matches                                                        |
//! |----------------------------|----------------------------------------------------------------|
//! | `true` / `false`           | that JSON boolean                                              |
//! | `6`                        | that JSON number                                               |
//! | `">=6"` `"<=6"` `">6"` `"<6"` `"!=6"` | a JSON number in that relation                      |
//! | `"ok"`                     | a `Result` that is `{"Ok": ...}`                               |
//! | `"blocked"`                | a `Result` that is `{"Err": ...}` (any reason)                 |
//! | `"text"`                   | the JSON string `"text"`, or an enum variant with data `{"text": ...}` |
//! | `"6.1.*"`                  | a JSON string starting with `6.1.` (a trailing `*` is a prefix match) |
//!
//! Paths walk objects key by key: `"landlock.abi" = 6`,
//! `"landlock.status" = "not_enabled"`, `user_namespaces = "ok"`,
//! `"user_namespaces.Err" = "max_user_namespaces_zero"`. A key the features
//! object lacks is a mismatch (`observed: missing`), so a kernel that
//! silently lost a mechanism fails. Keys not named in `must` are not
//! checked, so new features never break old configurations.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// An expected value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Expect {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number relation (`">=6"`).
    Cmp(CmpOp, i64),
    /// A string (or enum-variant name, or `ok`/`blocked` on a `Result`).
    Str(String),
    /// A string prefix (`"6.1.*"`).
    Prefix(String),
}

/// Relations for [`Expect::Cmp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CmpOp {
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `!=`
    Ne,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Ge => ">=",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Lt => "<",
            CmpOp::Ne => "!=",
        }
    }

    fn holds(self, a: i64, b: i64) -> bool {
        match self {
            CmpOp::Ge => a >= b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Lt => a < b,
            CmpOp::Ne => a != b,
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Bool(b) => write!(f, "{b}"),
            Expect::Int(i) => write!(f, "{i}"),
            Expect::Cmp(op, n) => write!(f, "{}{n}", op.symbol()),
            Expect::Str(s) => write!(f, "{s}"),
            Expect::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

impl Expect {
    /// Read an expectation from a TOML value (bool, integer or string).
    pub fn from_toml(v: &toml::Value) -> Result<Expect, String> {
        match v {
            toml::Value::Boolean(b) => Ok(Expect::Bool(*b)),
            toml::Value::Integer(i) => Ok(Expect::Int(*i)),
            toml::Value::String(s) => Ok(Expect::parse_str(s)),
            other => Err(format!(
                "expected a boolean, an integer or a string, found {}",
                other.type_str()
            )),
        }
    }

    /// Interpret a string expectation (`">=6"`, `"6.1.*"`, `"ok"`, ...).
    pub fn parse_str(s: &str) -> Expect {
        for (sym, op) in [
            (">=", CmpOp::Ge),
            ("<=", CmpOp::Le),
            ("!=", CmpOp::Ne),
            (">", CmpOp::Gt),
            ("<", CmpOp::Lt),
        ] {
            if let Some(n) = s.strip_prefix(sym).and_then(|n| n.trim().parse().ok()) {
                return Expect::Cmp(op, n);
            }
        }
        match s.strip_suffix('*') {
            Some(p) => Expect::Prefix(p.to_owned()),
            None => Expect::Str(s.to_owned()),
        }
    }

    /// Does `actual` satisfy this expectation?
    pub fn matches(&self, actual: &Value) -> bool {
        match (self, actual) {
            (Expect::Bool(b), Value::Bool(a)) => a == b,
            (Expect::Int(i), Value::Number(n)) => n.as_i64() == Some(*i),
            (Expect::Cmp(op, i), Value::Number(n)) => n.as_i64().is_some_and(|a| op.holds(a, *i)),
            (Expect::Prefix(p), Value::String(a)) => a.starts_with(p.as_str()),
            (Expect::Str(s), Value::String(a)) => a == s,
            (Expect::Str(s), Value::Object(m)) => {
                let result_like = m.len() == 1 && (m.contains_key("Ok") || m.contains_key("Err"));
                match s.as_str() {
                    "ok" if result_like => m.contains_key("Ok"),
                    "blocked" if result_like => m.contains_key("Err"),
                    _ => m.len() == 1 && m.contains_key(s.as_str()),
                }
            }
            _ => false,
        }
    }
}

/// The value at a dotted path (`landlock.abi`), if any.
pub fn lookup<'a>(features: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(features, |v, key| v.as_object()?.get(key))
}

/// The verdict for one must-key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MustResult {
    /// Dotted key.
    pub key: String,
    /// Expected value, rendered.
    pub expected: String,
    /// Observed JSON, rendered (`missing` when absent).
    pub observed: String,
    /// Whether it matched.
    pub ok: bool,
}

/// Render a JSON value for a message: strings without quotes, the rest as JSON.
pub fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Check every must-key against `features`.
pub fn check<'a>(
    must: impl IntoIterator<Item = (&'a String, &'a Expect)>,
    features: &Value,
) -> Vec<MustResult> {
    must.into_iter()
        .map(|(key, expect)| {
            let actual = lookup(features, key);
            MustResult {
                key: key.clone(),
                expected: expect.to_string(),
                observed: actual.map(render).unwrap_or_else(|| "missing".to_owned()),
                ok: actual.is_some_and(|a| expect.matches(a)),
            }
        })
        .collect()
}
