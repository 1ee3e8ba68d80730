//! Kernel package resolution from captured `apt-cache show` output.

use exile_vm_runner::debian::{parse_stanzas, resolve_image, ResolveError, Stanza};

fn fixture(suite: &str) -> Vec<Stanza> {
    let path = format!(
        "{}/tests/fixtures/apt-cache-show-{suite}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_stanzas(&std::fs::read_to_string(path).unwrap())
}

/// An `apt-cache show` stand-in over captured stanzas.
fn show(stanzas: &[Stanza]) -> impl FnMut(&str) -> Result<Vec<Stanza>, String> + '_ {
    |p: &str| {
        Ok(stanzas
            .iter()
            .filter(|s| s.package() == p)
            .cloned()
            .collect())
    }
}

#[test]
fn every_suite_resolves_to_its_image() {
    let cases = [
        (
            "bullseye",
            "linux-image-5.10.0-32-cloud-amd64",
            "5.10.223-1",
        ),
        ("bookworm", "linux-image-6.1.0-50-cloud-amd64", "6.1.176-1"),
        (
            "trixie",
            "linux-image-6.12.107+deb13-cloud-amd64",
            "6.12.107-1",
        ),
        ("sid", "linux-binary-7.2.13+deb14-cloud-amd64", "7.2.13-1"),
    ];
    for (suite, package, version) in cases {
        let st = fixture(suite);
        let r = resolve_image("linux-image-cloud-amd64", show(&st)).unwrap();
        assert_eq!(
            (r.package.as_str(), r.version.as_str()),
            (package, version),
            "{suite}"
        );
        assert_eq!(r.chain[0].0, "linux-image-cloud-amd64");
    }
}

#[test]
fn sid_goes_through_the_image_to_the_binary_package() {
    let st = fixture("sid");
    let r = resolve_image("linux-image-cloud-amd64", show(&st)).unwrap();
    let chain: Vec<&str> = r.chain.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        chain,
        [
            "linux-image-cloud-amd64",
            "linux-image-7.2.13+deb14-cloud-amd64",
            "linux-binary-7.2.13+deb14-cloud-amd64"
        ]
    );
}

#[test]
fn the_highest_version_of_the_meta_package_wins() {
    let mut st = fixture("bookworm");
    let text = "Package: linux-image-cloud-amd64\nVersion: 6.1.99-1\nDepends: linux-image-6.1.0-9-cloud-amd64 (= 6.1.99-1)\n";
    st.extend(parse_stanzas(text));
    let r = resolve_image("linux-image-cloud-amd64", show(&st)).unwrap();
    assert_eq!(r.version, "6.1.176-1");
}

#[test]
fn missing_packages_are_named() {
    let st = fixture("bookworm");
    let e = resolve_image("linux-image-rt-amd64", show(&st)).unwrap_err();
    assert!(matches!(e, ResolveError::NotFound { .. }));
    assert!(e.to_string().contains("linux-image-rt-amd64"), "{e}");
    // The meta-package is there but the pinned image version is not.
    let meta: Vec<Stanza> = st
        .iter()
        .filter(|s| s.package() == "linux-image-cloud-amd64")
        .cloned()
        .collect();
    let e = resolve_image("linux-image-cloud-amd64", show(&meta)).unwrap_err();
    assert!(
        e.to_string().contains("linux-image-6.1.0-50-cloud-amd64")
            && e.to_string().contains("6.1.176-1"),
        "{e}"
    );
}

#[test]
fn lookup_errors_propagate() {
    let e = resolve_image("linux-image-cloud-amd64", |_| {
        Err("apt-cache show: boom".to_owned())
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "apt-cache show: boom");
}
