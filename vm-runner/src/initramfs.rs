//! A newc ("070701") cpio writer and reader, and the initramfs layout the
//! runner boots.
//!
//! The archive is written uncompressed (every kernel accepts that) with
//! fixed inode numbers, uid/gid 0 and mtime 0, so the same init gives the
//! same bytes. Device nodes are plain entries, so no root is needed to
//! build it.
//!
//! Layout of [`initramfs`]: `/dev` (with `/dev/console`, so the kernel can
//! give PID 1 its standard streams), `/proc`, `/sys`, `/tmp`, `/root`, and
//! the init binary as `/init` (mode 0755).

use std::fmt;

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// File type bits.
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;
const S_IFMT: u32 = 0o170000;

/// What an entry is.
#[derive(Clone, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file and its contents.
    File(Vec<u8>),
    /// A symbolic link and its target.
    Symlink(String),
    /// A character device (major, minor).
    CharDev(u32, u32),
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Dir => f.write_str("Dir"),
            Kind::File(d) => write!(f, "File({} bytes)", d.len()),
            Kind::Symlink(t) => write!(f, "Symlink({t:?})"),
            Kind::CharDev(a, b) => write!(f, "CharDev({a}, {b})"),
        }
    }
}

/// One archive member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Path without a leading `/` (`init`, `dev/console`).
    pub path: String,
    /// Permission bits (`0o755`).
    pub perm: u32,
    /// Type and payload.
    pub kind: Kind,
}

/// Errors from [`parse`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CpioError {
    /// Ran out of bytes.
    #[error("archive truncated at offset {0}")]
    Truncated(usize),
    /// Not a newc header.
    #[error("bad magic at offset {0} (not a newc archive)")]
    BadMagic(usize),
    /// A header field is not hexadecimal.
    #[error("bad header field at offset {0}")]
    BadField(usize),
    /// No `TRAILER!!!`.
    #[error("no TRAILER!!! entry")]
    NoTrailer,
    /// A type the reader does not model.
    #[error("entry {0:?} has unsupported mode {1:o}")]
    UnsupportedMode(String, u32),
}

fn pad4(v: &mut Vec<u8>) {
    while v.len() % 4 != 0 {
        v.push(0);
    }
}

/// Serialize entries as a newc archive (with the trailer).
pub fn write(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for (ino, e) in (1u32..).zip(entries) {
        let (mode, data, rdev): (u32, &[u8], (u32, u32)) = match &e.kind {
            Kind::Dir => (S_IFDIR, &[], (0, 0)),
            Kind::File(d) => (S_IFREG, d, (0, 0)),
            Kind::Symlink(t) => (S_IFLNK, t.as_bytes(), (0, 0)),
            Kind::CharDev(a, b) => (S_IFCHR, &[], (*a, *b)),
        };
        let nlink = if matches!(e.kind, Kind::Dir) { 2 } else { 1 };
        header(
            &mut out,
            ino,
            mode | (e.perm & 0o7777),
            nlink,
            data.len(),
            rdev,
            e.path.trim_start_matches('/'),
        );
        out.extend_from_slice(data);
        pad4(&mut out);
    }
    header(&mut out, 0, 0, 1, 0, (0, 0), TRAILER);
    // Pad the whole archive to 512 bytes, as cpio(1) does.
    while out.len() % 512 != 0 {
        out.push(0);
    }
    out
}

fn header(
    out: &mut Vec<u8>,
    ino: u32,
    mode: u32,
    nlink: u32,
    size: usize,
    rdev: (u32, u32),
    name: &str,
) {
    out.extend_from_slice(MAGIC);
    let size = u32::try_from(size).unwrap_or(u32::MAX);
    let namesize = u32::try_from(name.len() + 1).unwrap_or(u32::MAX);
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    for field in [
        ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, namesize, 0,
    ] {
        out.extend_from_slice(format!("{field:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
}

fn field(bytes: &[u8], at: usize, index: usize) -> Result<u32, CpioError> {
    let start = at + 6 + index * 8;
    let text = bytes
        .get(start..start + 8)
        .ok_or(CpioError::Truncated(start))?;
    let text = std::str::from_utf8(text).map_err(|_| CpioError::BadField(start))?;
    u32::from_str_radix(text, 16).map_err(|_| CpioError::BadField(start))
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Parse a newc archive back into entries (the trailer excluded).
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, CpioError> {
    let mut entries = Vec::new();
    let mut at = 0;
    loop {
        let magic = bytes.get(at..at + 6).ok_or(CpioError::Truncated(at))?;
        if magic != MAGIC {
            return Err(CpioError::BadMagic(at));
        }
        bytes
            .get(at..at + HEADER_LEN)
            .ok_or(CpioError::Truncated(at))?;
        let mode = field(bytes, at, 1)?;
        let size = field(bytes, at, 6)? as usize;
        let rdev = (field(bytes, at, 9)?, field(bytes, at, 10)?);
        let namesize = field(bytes, at, 11)? as usize;
        let name_start = at + HEADER_LEN;
        let name = bytes
            .get(name_start..name_start + namesize.saturating_sub(1))
            .ok_or(CpioError::Truncated(name_start))?;
        let name = String::from_utf8_lossy(name).into_owned();
        let data_start = align4(name_start + namesize);
        let data = bytes
            .get(data_start..data_start + size)
            .ok_or(CpioError::Truncated(data_start))?;
        at = align4(data_start + size);
        if name == TRAILER {
            return Ok(entries);
        }
        let kind = match mode & S_IFMT {
            S_IFDIR => Kind::Dir,
            S_IFREG => Kind::File(data.to_vec()),
            S_IFLNK => Kind::Symlink(String::from_utf8_lossy(data).into_owned()),
            S_IFCHR => Kind::CharDev(rdev.0, rdev.1),
            _ => return Err(CpioError::UnsupportedMode(name, mode)),
        };
        entries.push(Entry {
            path: name,
            perm: mode & 0o7777,
            kind,
        });
        if at >= bytes.len() {
            return Err(CpioError::NoTrailer);
        }
    }
}

/// The entries of the runner's initramfs around `init` (the bytes of a
/// statically linked executable).
pub fn initramfs_entries(init: &[u8]) -> Vec<Entry> {
    let dir = |p: &str, perm: u32| Entry {
        path: p.to_owned(),
        perm,
        kind: Kind::Dir,
    };
    vec![
        dir("dev", 0o755),
        Entry {
            path: "dev/console".to_owned(),
            perm: 0o600,
            kind: Kind::CharDev(5, 1),
        },
        dir("proc", 0o555),
        dir("sys", 0o555),
        dir("tmp", 0o1777),
        dir("root", 0o700),
        Entry {
            path: "init".to_owned(),
            perm: 0o755,
            kind: Kind::File(init.to_vec()),
        },
    ]
}

/// The initramfs bytes for `init`.
pub fn initramfs(init: &[u8]) -> Vec<u8> {
    write(&initramfs_entries(init))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let a = write(&[Entry {
            path: "init".into(),
            perm: 0o755,
            kind: Kind::File(b"abc".to_vec()),
        }]);
        let fields = [
            "00000001", "000081ed", "00000000", "00000000", "00000001", "00000000", "00000003",
        ];
        let expected_head = format!(
            "070701{}{}00000005{}",
            fields.concat(),
            "00000000".repeat(4),
            "00000000"
        );
        assert_eq!(expected_head.len(), HEADER_LEN);
        assert_eq!(&a[..HEADER_LEN], expected_head.as_bytes());
        assert_eq!(&a[HEADER_LEN..HEADER_LEN + 5], b"init\0");
        // 110 + 5 = 115 → padded to 116, then 3 bytes of data → 120.
        assert_eq!(&a[116..119], b"abc");
        assert_eq!(&a[120..126], MAGIC);
        assert_eq!(a.len() % 512, 0);
    }

    #[test]
    fn truncated_and_garbage() {
        let a = initramfs(b"\x7fELF");
        assert!(matches!(parse(&a[..200]), Err(CpioError::Truncated(_))));
        assert_eq!(parse(b"hello world, this is not cpio at all, but long enough to hold a header, surely, yes really, sure, sure, sure"), Err(CpioError::BadMagic(0)));
    }
}
