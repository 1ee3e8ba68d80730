//! kernels.toml parsing: the real file, good and malformed inputs.

use std::path::Path;

use exile_vm_runner::config::{Config, DEFAULT_PACKAGE};
use exile_vm_runner::must::{CmpOp, Expect};

fn parse(src: &str) -> Result<Config, exile_vm_runner::config::ConfigError> {
    Config::parse(src, Path::new("kernels.toml"))
}

#[test]
fn the_workspace_kernels_toml_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernels.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = c.kernels.iter().map(|k| k.name.as_str()).collect();
    for n in [
        "bullseye",
        "bookworm",
        "trixie",
        "sid",
        "trixie-no-landlock",
        "trixie-no-userns",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(c
        .kernels
        .iter()
        .any(|k| k.persona.as_deref() == Some("4.14")));
    assert!(c
        .kernels
        .iter()
        .any(|k| k.persona.as_deref() == Some("3.17")));
    for k in &c.kernels {
        assert!(!k.must.is_empty(), "{} has no must table", k.name);
        assert!(
            k.must.contains_key("landlock.abi"),
            "{} does not pin landlock.abi",
            k.name
        );
    }
}

#[test]
fn a_good_file() {
    let c = parse(
        r#"
[defaults]
package = "linux-image-cloud-amd64"

[[kernel]]
name = "trixie-no-userns"
suite = "trixie"
cmdline = "  lsm=lockdown,yama   quiet "
persona = "4.14"
sysctls = { "user.max_user_namespaces" = 0, "kernel.foo" = "bar" }
note = "variant"
[kernel.must]
"landlock.abi" = ">=6"
kill_process = true
user_namespaces = "blocked"
kernel_release = "6.12.*"

[[kernel]]
name = "sid"
suite = "sid"
package = "linux-image-amd64"
"#,
    )
    .unwrap();
    assert_eq!(c.kernels.len(), 2);
    let k = &c.kernels[0];
    assert_eq!(k.package, DEFAULT_PACKAGE);
    assert_eq!(k.cmdline, "lsm=lockdown,yama quiet");
    assert_eq!(k.persona.as_deref(), Some("4.14"));
    assert_eq!(
        k.sysctls,
        vec![
            ("kernel.foo".to_owned(), "bar".to_owned()),
            ("user.max_user_namespaces".to_owned(), "0".to_owned())
        ]
    );
    assert_eq!(k.must["landlock.abi"], Expect::Cmp(CmpOp::Ge, 6));
    assert_eq!(k.must["kill_process"], Expect::Bool(true));
    assert_eq!(k.must["kernel_release"], Expect::Prefix("6.12.".into()));
    assert_eq!(
        k.kernel_cmdline(),
        "console=ttyS0 panic=-1 exile.out=/dev/ttyS1 exile.persona=4.14 exile.sysctl=kernel.foo=bar \
         exile.sysctl=user.max_user_namespaces=0 lsm=lockdown,yama quiet"
    );
    assert_eq!(c.kernels[1].package, "linux-image-amd64");
    assert_eq!(
        c.kernels[1].kernel_cmdline(),
        "console=ttyS0 panic=-1 exile.out=/dev/ttyS1"
    );
    assert!(c.select(&["sid".into()]).is_ok());
    let err = c.select(&["nope".into()]).unwrap_err();
    assert!(
        err.contains("nope") && err.contains("trixie-no-userns"),
        "{err}"
    );
}

#[test]
fn syntax_error_names_the_line() {
    let e = parse("[[kernel]]\nname = \"a\"\nsuite = \"trixie\n").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    assert!(e.to_string().starts_with("kernels.toml:3:"), "{e}");
}

#[test]
fn wrong_type_names_line_and_field() {
    let e = parse("[[kernel]]\nname = \"a\"\nsuite = 12\n").unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (3, Some("suite")), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("kernels.toml:3:") && text.contains("field `suite`"),
        "{text}"
    );
}

#[test]
fn unknown_and_missing_fields() {
    let e = parse("[[kernel]]\nname = \"a\"\nsuite = \"trixie\"\ncmdlne = \"x\"\n").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("cmdlne"), "{e}");
    assert!(e.line >= 1 && e.line <= 4, "{e}");
    let e = parse("[[kernel]]\nname = \"a\"\n").unwrap_err();
    assert_eq!(e.field.as_deref(), Some("suite"), "{e}");
    assert!(e.line >= 1, "{e}");
}

#[test]
fn unknown_suite_is_a_clear_error() {
    let e = parse("[[kernel]]\nname = \"a\"\n\nsuite = \"bookwrm\"\n").unwrap_err();
    assert_eq!((e.line, e.field.as_deref()), (4, Some("suite")), "{e}");
    let text = e.to_string();
    assert!(text.contains("unknown suite \"bookwrm\""), "{text}");
    assert!(
        text.contains("bookworm") && text.contains("sid"),
        "lists the known suites: {text}"
    );
}

#[test]
fn semantic_errors() {
    let dup = parse(
        "[[kernel]]\nname = \"a\"\nsuite = \"sid\"\n[[kernel]]\nname = \"a\"\nsuite = \"sid\"\n",
    )
    .unwrap_err();
    assert_eq!((dup.line, dup.field.as_deref()), (5, Some("name")), "{dup}");
    assert!(dup.message.contains("line 2"), "{dup}");
    let bad_name = parse("[[kernel]]\nname = \"a b\"\nsuite = \"sid\"\n").unwrap_err();
    assert_eq!(bad_name.field.as_deref(), Some("name"));
    let bad_must =
        parse("[[kernel]]\nname = \"a\"\nsuite = \"sid\"\n[kernel.must]\n\"landlock.abi\" = 1.5\n")
            .unwrap_err();
    assert_eq!(
        (bad_must.line, bad_must.field.as_deref()),
        (5, Some("must.landlock.abi")),
        "{bad_must}"
    );
    let bad_sysctl =
        parse("[[kernel]]\nname = \"a\"\nsuite = \"sid\"\nsysctls = { \"x.y\" = \"a b\" }\n")
            .unwrap_err();
    assert_eq!(
        bad_sysctl.field.as_deref(),
        Some("sysctls.x.y"),
        "{bad_sysctl}"
    );
    let empty = parse("# nothing\n").unwrap_err();
    assert!(empty.message.contains("no [[kernel]]"), "{empty}");
}

#[test]
fn unreadable_file() {
    let e = Config::load(Path::new("/nonexistent/kernels.toml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/kernels.toml"), "{e}");
}
