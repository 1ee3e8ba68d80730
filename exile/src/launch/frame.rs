//! The frame protocol of the launch channel (child → parent).
//!
//! Every message is one frame: a 1-byte tag, the payload length as a
//! little-endian `u32`, then the payload.
//!
//! | tag | payload | final | sent by |
//! |-----|---------|-------|---------|
//! | `R` | postcard [`Report`](crate::Report) | no | the child, right after `apply` succeeded |
//! | `D` | raw bytes (≤ [`CHUNK`]) | no | [`Output`](super::Output), streaming |
//! | `S` | `nr: u32 LE`, `arch: u32 LE` | no | the SIGSYS handler, for a seccomp trap |
//! | `V` | postcard `T` | yes | the child, with the closure's value |
//! | `P` | postcard `(String, Option<String>)`: message, location | yes | the child, when the closure panicked |
//! | `A` | postcard [`Error`](crate::Error) | yes | the child, when `apply` failed |
//! | `E` | UTF-8 message | yes | the child, when the value could not be serialized |
//!
//! After a final frame the child `_exit`s; the parent stops reading and
//! reaps it. Anything else on the channel (an unknown tag, a payload that
//! does not decode, bytes after the final frame are ignored) is a protocol
//! error: the parent kills and reaps the child and reports
//! [`LaunchError::Decode`](super::LaunchError::Decode).

/// Size of a frame header: tag + `u32` length.
pub(crate) const HEADER: usize = 5;

/// Largest payload of a data frame the child sends.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Data bytes (streaming output).
pub(crate) const DATA: u8 = b'D';
/// The child's [`Report`](crate::Report) after `apply`.
pub(crate) const REPORT: u8 = b'R';
/// A trapped system call (from the SIGSYS handler).
pub(crate) const SYSCALL: u8 = b'S';
/// The closure's value (final).
pub(crate) const VALUE: u8 = b'V';
/// The closure panicked (final).
pub(crate) const PANIC: u8 = b'P';
/// `apply` failed (final).
pub(crate) const APPLY: u8 = b'A';
/// The value could not be serialized (final).
pub(crate) const ENCODE: u8 = b'E';

/// A frame header.
pub(crate) fn header(tag: u8, len: u32) -> [u8; HEADER] {
    let l = len.to_le_bytes();
    [tag, l[0], l[1], l[2], l[3]]
}

/// Parse a header from the first [`HEADER`] bytes, if there are that many.
pub(crate) fn parse_header(bytes: &[u8]) -> Option<(u8, usize)> {
    match bytes {
        [tag, a, b, c, d, ..] => Some((*tag, u32::from_le_bytes([*a, *b, *c, *d]) as usize)),
        _ => None,
    }
}

/// Whether a tag is one this protocol knows.
pub(crate) fn known(tag: u8) -> bool {
    matches!(
        tag,
        DATA | REPORT | SYSCALL | VALUE | PANIC | APPLY | ENCODE
    )
}

/// A syscall frame: `nr` and `arch`, little-endian.
pub(crate) fn syscall_frame(nr: u32, arch: u32) -> [u8; HEADER + 8] {
    let mut f = [0u8; HEADER + 8];
    f[..HEADER].copy_from_slice(&header(SYSCALL, 8));
    f[HEADER..HEADER + 4].copy_from_slice(&nr.to_le_bytes());
    f[HEADER + 4..].copy_from_slice(&arch.to_le_bytes());
    f
}

/// Decode a syscall frame's payload.
pub(crate) fn parse_syscall(payload: &[u8]) -> Option<(u32, u32)> {
    match payload {
        [a, b, c, d, e, f, g, h] => Some((
            u32::from_le_bytes([*a, *b, *c, *d]),
            u32::from_le_bytes([*e, *f, *g, *h]),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = header(VALUE, 0x0102_0304);
        assert_eq!(h, [b'V', 4, 3, 2, 1]);
        assert_eq!(parse_header(&h), Some((VALUE, 0x0102_0304)));
        assert_eq!(parse_header(&h[..4]), None);
    }

    #[test]
    fn syscall_round_trip() {
        let f = syscall_frame(110, 0xc000_003e);
        assert_eq!(parse_header(&f), Some((SYSCALL, 8)));
        assert_eq!(parse_syscall(&f[HEADER..]), Some((110, 0xc000_003e)));
        assert_eq!(parse_syscall(&f[HEADER + 1..]), None);
    }

    #[test]
    fn unknown_tags() {
        assert!(known(b'V'));
        assert!(!known(b'g'));
        assert!(!known(0));
    }
}
