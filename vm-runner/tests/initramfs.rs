//! The newc writer, checked by reading the archive back.

use exile_vm_runner::initramfs::{initramfs, initramfs_entries, parse, write, Entry, Kind};

#[test]
fn initramfs_round_trips() {
    let init: Vec<u8> = (0..100_003u32).map(|i| (i * 7 % 251) as u8).collect();
    let bytes = initramfs(&init);
    assert_eq!(bytes.len() % 512, 0);
    let entries = parse(&bytes).unwrap();
    assert_eq!(entries, initramfs_entries(&init));
    let find = |p: &str| {
        entries
            .iter()
            .find(|e| e.path == p)
            .unwrap_or_else(|| panic!("{p} missing"))
    };
    assert_eq!(find("init").kind, Kind::File(init.clone()));
    assert_eq!(find("init").perm, 0o755);
    assert_eq!(find("dev/console").kind, Kind::CharDev(5, 1));
    for d in ["dev", "proc", "sys", "tmp"] {
        assert_eq!(find(d).kind, Kind::Dir, "{d}");
    }
    assert_eq!(find("tmp").perm, 0o1777);
    // Deterministic: same input, same bytes.
    assert_eq!(initramfs(&init), bytes);
}

#[test]
fn every_kind_and_odd_sizes_round_trip() {
    let mut entries = Vec::new();
    for n in 0..9usize {
        entries.push(Entry {
            path: format!("d{n}/{}", "x".repeat(n)),
            perm: 0o644,
            kind: Kind::File(vec![n as u8; n]),
        });
    }
    entries.push(Entry {
        path: "bin/sh".into(),
        perm: 0o777,
        kind: Kind::Symlink("/init".into()),
    });
    entries.push(Entry {
        path: "dev/ttyS1".into(),
        perm: 0o660,
        kind: Kind::CharDev(4, 65),
    });
    assert_eq!(parse(&write(&entries)).unwrap(), entries);
    assert_eq!(parse(&write(&[])).unwrap(), Vec::new());
}

#[test]
fn leading_slashes_are_dropped() {
    let e = Entry {
        path: "/init".into(),
        perm: 0o755,
        kind: Kind::File(b"x".to_vec()),
    };
    assert_eq!(parse(&write(&[e])).unwrap()[0].path, "init");
}

#[test]
fn the_host_cpio_tool_agrees() {
    // Cross-check with GNU cpio when it is installed.
    let Ok(out) = std::process::Command::new("cpio").arg("--version").output() else {
        eprintln!("cpio(1) not installed: cross-check skipped");
        return;
    };
    if !out.status.success() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("exile-vm-cpio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("a.cpio");
    std::fs::write(&archive, initramfs(b"#!/bin/true\n")).unwrap();
    let listing = std::process::Command::new("cpio")
        .args(["-t", "-F"])
        .arg(&archive)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let names = String::from_utf8_lossy(&listing.stdout);
    let names: Vec<&str> = names.lines().collect();
    assert_eq!(
        names,
        ["dev", "dev/console", "proc", "sys", "tmp", "root", "init"]
    );
}
