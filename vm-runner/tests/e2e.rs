//! End to end: fetch bookworm's kernel, build the static test init, boot it
//! in QEMU and check the summary arrives; boot it again with an init that
//! hangs and check the timeout is reported with the kernel-log tail.
//!
//! Runs when QEMU is installed and the kernel can be fetched; otherwise it
//! prints why it is skipped. With `EXILE_VM_E2E=1` a missing prerequisite
//! is a failure.

use std::path::Path;
use std::time::Duration;

use exile_vm_runner::config::Config;
use exile_vm_runner::init_build::{self, InitChoice};
use exile_vm_runner::kernel::{self, FetchOptions};
use exile_vm_runner::qemu::{self, BootEnd};
use exile_vm_runner::runner::{self, AccelChoice, BootEnv};
use exile_vm_runner::{apt, must};

fn skip(why: &str) {
    if std::env::var("EXILE_VM_E2E").is_ok_and(|v| v == "1") {
        panic!("EXILE_VM_E2E=1 but the end-to-end boot cannot run: {why}");
    }
    eprintln!("e2e boot skipped: {why} (set EXILE_VM_E2E=1 to make this a failure)");
}

#[test]
fn bookworm_boots_the_test_init_and_a_hanging_init_times_out() {
    let log = |m: &str| eprintln!("{m}");
    let qemu = match qemu::find_qemu() {
        Ok(q) => q,
        Err(e) => return skip(&e.to_string()),
    };
    let mirror = std::env::var("EXILE_VM_DEBIAN_MIRROR").ok();
    let archive = match apt::debian_archive(Path::new("/etc/apt"), mirror.as_deref()) {
        Ok(a) => a,
        Err(e) => return skip(&e.to_string()),
    };
    let opts = FetchOptions {
        cache: kernel::default_cache_root(),
        archive,
        refresh: false,
    };
    let image = match kernel::fetch(&opts, "bookworm", "linux-image-cloud-amd64", &log) {
        Ok(i) => i,
        Err(e) => return skip(&format!("cannot fetch bookworm's kernel: {e}")),
    };
    let (_, init) =
        init_build::obtain(&InitChoice::TestInit, &log).unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("exile-vm-e2e-{}", std::process::id()));
    let initrd = runner::write_initramfs(&init, &dir).unwrap();
    let accel = runner::choose_accel(AccelChoice::Auto, &qemu, &dir).unwrap();
    let config = Config::parse(
        r#"
[[kernel]]
name = "bookworm"
suite = "bookworm"
sysctls = { "kernel.domainname" = "exile" }
[kernel.must]
"landlock.abi" = 2
kernel_release = "6.1.*"
user_namespaces = "ok"

[[kernel]]
name = "bookworm-hang"
suite = "bookworm"
cmdline = "exile.testinit=hang"
"#,
        Path::new("e2e.toml"),
    )
    .unwrap();
    let env = |timeout: u64| BootEnv {
        qemu: qemu.clone(),
        initrd: initrd.clone(),
        accel,
        timeout: Duration::from_secs(timeout),
        memory_mib: 512,
        logs: dir.clone(),
    };
    let (good, hung) = std::thread::scope(|s| {
        let good = s.spawn(|| runner::boot_entry(&config.kernels[0], &image, &env(120)).unwrap());
        let hung = s.spawn(|| runner::boot_entry(&config.kernels[1], &image, &env(20)).unwrap());
        (good.join().unwrap(), hung.join().unwrap())
    });
    let _ = std::fs::remove_dir_all(&dir);

    assert!(good.ok(), "{:#?}\n{:?}", good.problems, good.log_tail);
    assert_eq!(good.end, Some(BootEnd::Exited));
    let features = good.features.as_ref().expect("features");
    assert_eq!(
        must::lookup(features, "landlock.abi"),
        Some(&serde_json::json!(2))
    );
    assert!(good
        .kernel_release
        .as_deref()
        .is_some_and(|k| k.starts_with("6.1.")));
    assert!(good
        .probes
        .iter()
        .any(|p| p.name == "testinit::sysctl::kernel.domainname=exile"));
    eprintln!(
        "bookworm: {:?} in {:.1} s with {accel}",
        good.kernel_release,
        good.boot_seconds.unwrap_or(0.0)
    );

    assert_eq!(hung.end, Some(BootEnd::TimedOut), "{:?}", hung.problems);
    assert!(
        hung.problems[0].message.contains("timed out after 20 s"),
        "{:?}",
        hung.problems
    );
    let tail = hung.log_tail.as_deref().unwrap_or("");
    assert!(tail.contains("Run /init as init process"), "{tail}");
}

#[test]
fn a_keyring_without_the_suites_key_is_a_clear_signature_error() {
    // sid is signed by the bookworm and trixie automatic keys; bullseye's
    // stable release key alone cannot verify it.
    let keyring = "/usr/share/keyrings/debian-archive-bullseye-stable.gpg";
    if !Path::new(keyring).is_file() {
        return skip(&format!("{keyring} is not installed"));
    }
    let mirror = std::env::var("EXILE_VM_DEBIAN_MIRROR").ok();
    let mut archive = match apt::debian_archive(Path::new("/etc/apt"), mirror.as_deref()) {
        Ok(a) => a,
        Err(e) => return skip(&e.to_string()),
    };
    archive.signed_by = Some(keyring.to_owned());
    let cache = std::env::temp_dir().join(format!("exile-vm-keyring-{}", std::process::id()));
    let state = apt::AptState::new(&cache, "sid", archive).unwrap();
    let result = state.update();
    let _ = std::fs::remove_dir_all(&cache);
    match result {
        Err(apt::AptError::Signature { suite, detail, .. }) => {
            assert_eq!(suite, "sid");
            assert!(
                detail.contains("NO_PUBKEY") || detail.contains("not signed"),
                "{detail}"
            );
            let msg = apt::AptError::Signature {
                suite,
                keyring: keyring.into(),
                detail,
            }
            .to_string();
            assert!(
                msg.contains("debian-archive-keyring") && msg.contains("verification stays on"),
                "{msg}"
            );
        }
        Err(apt::AptError::Command { detail, .. }) => {
            skip(&format!("the mirror is unreachable: {detail}"))
        }
        other => panic!("expected a signature error, got {other:?}"),
    }
}
