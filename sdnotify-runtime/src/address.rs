//! `$NOTIFY_SOCKET` addresses: parsing and the socket addresses they stand for.

use std::ffi::OsStr;
use std::fmt;

use crate::error::Error;
use crate::sys::{self, Endpoint, SockType};

/// `sun_path` holds 108 bytes including the terminating NUL (or the leading NUL of an abstract
/// name), so 107 bytes of name fit.
const SUN_PATH_MAX: usize = 107;

/// A parsed `$NOTIFY_SOCKET` address.
///
/// The forms systemd accepts: an absolute path (`/run/systemd/notify`), an abstract name
/// (`@name`), and AF_VSOCK as `vsock:CID:PORT` (systemd 253; tries datagram, then seqpacket,
/// then stream), `vsock-stream:`, `vsock-dgram:` and `vsock-seqpacket:` (254).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::NotifyAddress;
///
/// assert!(NotifyAddress::parse("/run/systemd/notify").is_ok());
/// assert!(NotifyAddress::parse("@sdnotify-demo").is_ok());
/// assert!(NotifyAddress::parse("vsock:2:1234").is_ok());
/// assert!(NotifyAddress::parse("run/notify").is_err()); // relative
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct NotifyAddress {
    pub(crate) kind: AddressKind,
    text: Box<[u8]>,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum AddressKind {
    /// A path, or an abstract name (without the `@`).
    Unix { name: Box<[u8]>, is_abstract: bool },
    Vsock {
        types: &'static [SockType],
        addr: VsockAddr,
    },
}

impl AddressKind {
    /// Where a socket for this address connects or binds.
    pub(crate) fn endpoint(&self) -> Endpoint<'_> {
        match self {
            AddressKind::Unix {
                name,
                is_abstract: true,
            } => Endpoint::Abstract(name),
            AddressKind::Unix {
                name,
                is_abstract: false,
            } => Endpoint::Path(name),
            AddressKind::Vsock { addr, .. } => Endpoint::Vsock {
                cid: addr.cid,
                port: addr.port,
            },
        }
    }
}

const VSOCK_ANY_TYPE: &[SockType] = &[SockType::Dgram, SockType::SeqPacket, SockType::Stream];

impl NotifyAddress {
    /// Parses an address in one of the forms `$NOTIFY_SOCKET` may take.
    ///
    /// Errors with [`Error::InvalidAddress`] for an empty, relative or too long address, an
    /// empty abstract name, or a malformed vsock address.
    pub fn parse(address: impl AsRef<OsStr>) -> Result<NotifyAddress, Error> {
        let bytes = sys::os_bytes(address.as_ref());
        let raw = &bytes[..];
        let invalid = |reason| Error::InvalidAddress {
            address: String::from_utf8_lossy(raw).into_owned(),
            reason,
        };
        let kind = match raw.first() {
            None => return Err(invalid("it is empty")),
            Some(b'/') => {
                if raw.len() > SUN_PATH_MAX {
                    return Err(invalid(
                        "the path is longer than the 107 bytes a unix socket address holds",
                    ));
                }
                if raw.contains(&0) {
                    return Err(invalid("it contains a NUL byte"));
                }
                AddressKind::Unix {
                    name: raw.into(),
                    is_abstract: false,
                }
            }
            Some(b'@') => {
                let name = &raw[1..];
                if name.is_empty() {
                    return Err(invalid("the abstract socket name after `@` is empty"));
                }
                if name.len() > SUN_PATH_MAX {
                    return Err(invalid(
                        "the abstract name is longer than the 107 bytes a unix socket address holds",
                    ));
                }
                AddressKind::Unix {
                    name: name.into(),
                    is_abstract: true,
                }
            }
            _ => {
                let (types, rest) = vsock_prefix(raw).ok_or_else(|| {
                    invalid("expected an absolute path, `@abstract-name` or `vsock:CID:PORT`")
                })?;
                let text =
                    std::str::from_utf8(rest).map_err(|_| invalid("the vsock address is not ASCII"))?;
                let (cid, port) = text
                    .split_once(':')
                    .ok_or_else(|| invalid("a vsock address needs both CID and PORT (`vsock:CID:PORT`)"))?;
                let cid =
                    parse_u32(cid).ok_or_else(|| invalid("the vsock CID is not a 32-bit decimal number"))?;
                let port = parse_u32(port)
                    .ok_or_else(|| invalid("the vsock PORT is not a 32-bit decimal number"))?;
                AddressKind::Vsock {
                    types,
                    addr: VsockAddr { cid, port },
                }
            }
        };
        Ok(NotifyAddress {
            kind,
            text: raw.into(),
        })
    }

    /// The address exactly as it was given, as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// Whether this is an AF_VSOCK address.
    pub fn is_vsock(&self) -> bool {
        matches!(self.kind, AddressKind::Vsock { .. })
    }
}

impl fmt::Display for NotifyAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.text))
    }
}

impl fmt::Debug for NotifyAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NotifyAddress({self})")
    }
}

fn vsock_prefix(raw: &[u8]) -> Option<(&'static [SockType], &[u8])> {
    const PREFIXES: [(&[u8], &[SockType]); 4] = [
        (b"vsock:", VSOCK_ANY_TYPE),
        (b"vsock-stream:", &[SockType::Stream]),
        (b"vsock-dgram:", &[SockType::Dgram]),
        (b"vsock-seqpacket:", &[SockType::SeqPacket]),
    ];
    PREFIXES
        .iter()
        .find_map(|(prefix, types)| raw.strip_prefix(*prefix).map(|rest| (*types, rest)))
}

/// A strict decimal `u32`: digits only, no sign, no surrounding space.
pub(crate) fn parse_u32(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// An AF_VSOCK address.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct VsockAddr {
    pub(crate) cid: u32,
    pub(crate) port: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(addr: &str) -> &'static str {
        match NotifyAddress::parse(addr) {
            Err(Error::InvalidAddress { reason, .. }) => reason,
            other => panic!("{addr:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn accepts_every_form() {
        for ok in [
            "/run/systemd/notify",
            "@abstract",
            "vsock:2:1234",
            "vsock-stream:1:9",
            "vsock-dgram:4294967295:0",
            "vsock-seqpacket:3:4",
        ] {
            let parsed = NotifyAddress::parse(ok).unwrap();
            assert_eq!(parsed.to_string(), ok);
        }
        let longest = format!("/{}", "a".repeat(106));
        assert!(NotifyAddress::parse(&longest).is_ok());
        assert!(NotifyAddress::parse(format!("@{}", "a".repeat(107))).is_ok());
    }

    #[test]
    fn vsock_forms_choose_socket_types() {
        let types = |a: &str| match NotifyAddress::parse(a).unwrap().kind {
            AddressKind::Vsock { types, addr } => (types.to_vec(), addr),
            AddressKind::Unix { .. } => panic!("not vsock"),
        };
        assert_eq!(
            types("vsock:7:9"),
            (VSOCK_ANY_TYPE.to_vec(), VsockAddr { cid: 7, port: 9 })
        );
        assert_eq!(types("vsock-stream:7:9").0, vec![SockType::Stream]);
        assert_eq!(types("vsock-dgram:7:9").0, vec![SockType::Dgram]);
        assert_eq!(types("vsock-seqpacket:7:9").0, vec![SockType::SeqPacket]);
    }

    #[test]
    fn rejects_malformed_addresses() {
        assert_eq!(reason(""), "it is empty");
        assert!(reason("relative/path").starts_with("expected an absolute path"));
        assert!(reason(&format!("/{}", "a".repeat(107))).contains("longer than the 107 bytes"));
        assert!(reason(&format!("@{}", "a".repeat(108))).contains("longer than the 107 bytes"));
        assert!(reason("@").contains("empty"));
        assert!(reason("vsock:").contains("needs both CID and PORT"));
        assert!(reason("vsock:2").contains("needs both CID and PORT"));
        assert!(reason("vsock::5").contains("CID"));
        assert!(reason("vsock:x:5").contains("CID"));
        assert!(reason("vsock:2:").contains("PORT"));
        assert!(reason("vsock:2:-1").contains("PORT"));
        assert!(reason("vsock:2:4294967296").contains("PORT"));
        assert!(reason("vsock:2:5:6").contains("PORT"));
        assert!(reason("vsock-tcp:2:5").starts_with("expected"));
        assert!(reason("/a\0b").contains("NUL"));
    }
}
