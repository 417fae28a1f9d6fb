//! `--listen [NAME=]ADDRESS` and `--listen-datagram [NAME=]ADDRESS`: sockets the supervisor
//! binds before the service starts, handed to it as systemd hands over a `.socket` unit's
//! (`ListenStream=`, `ListenDatagram=`, `FileDescriptorName=`): descriptors from 3, not
//! close-on-exec, blocking, `LISTEN_FDS`, `LISTEN_PID` (the service's own) and
//! `LISTEN_FDNAMES`. Descriptors passed to `sdnotify run` itself by socket activation go first,
//! with their names. The supervisor keeps its copies, so connections wait in the backlog while
//! the service starts.

use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::process::Command;

use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};

use super::event::Event;

/// systemd's default `Backlog=` (`SOMAXCONN`).
const BACKLOG: i32 = 4096;

/// One `--listen` / `--listen-datagram` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenSpec {
    pub(crate) name: Option<String>,
    pub(crate) address: ListenAddress,
    pub(crate) datagram: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListenAddress {
    Inet(SocketAddr),
    /// A path on the file system.
    Path(PathBuf),
    /// An abstract name (without the `@`).
    Abstract(Vec<u8>),
}

/// `[NAME=]ADDRESS`: ADDRESS is `IP:PORT` (`[::]:8080`), a bare port (`8080`: every address,
/// IPv4 and IPv6, as `ListenStream=8080`), an absolute path or `@abstract`.
pub(crate) fn parse(text: &str, datagram: bool) -> Result<ListenSpec, String> {
    let (name, address) = match text.split_once('=') {
        Some((name, address)) => {
            if !sdnotify_runtime::fdname_is_valid(name) || name.is_empty() {
                return Err(format!(
                    "`{name}` is not a descriptor name: at most 255 printable ASCII characters, without `:`"
                ));
            }
            (Some(name.to_owned()), address)
        }
        None => (None, text),
    };
    let address = if let Some(path) = address.strip_prefix('@') {
        if path.is_empty() || path.len() > 107 {
            return Err(format!(
                "`{address}`: an abstract name of 1 to 107 bytes after `@`"
            ));
        }
        ListenAddress::Abstract(path.as_bytes().to_vec())
    } else if address.starts_with('/') {
        if address.len() > 107 {
            return Err(format!("`{address}`: a socket path holds 107 bytes at most"));
        }
        ListenAddress::Path(PathBuf::from(address))
    } else if let Ok(port) = address.parse::<u16>() {
        ListenAddress::Inet(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::UNSPECIFIED,
            port,
            0,
            0,
        )))
    } else {
        ListenAddress::Inet(address.parse().map_err(|_| {
            format!("`{address}` is not an address: expected IP:PORT (127.0.0.1:8080, [::]:8080), PORT, /path or @name")
        })?)
    };
    Ok(ListenSpec {
        name,
        address,
        datagram,
    })
}

impl std::fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenAddress::Inet(addr) => write!(f, "{addr}"),
            ListenAddress::Path(path) => write!(f, "{}", path.display()),
            ListenAddress::Abstract(name) => write!(f, "@{}", String::from_utf8_lossy(name)),
        }
    }
}

/// One descriptor handed to the service.
struct Handed {
    fd: OwnedFd,
    name: Option<String>,
    what: String,
}

/// The descriptors the service gets, in order.
pub(crate) struct Sockets(Vec<Handed>);

impl Sockets {
    /// Takes the descriptors passed to the supervisor itself, then binds each spec.
    pub(crate) fn open(specs: &[ListenSpec]) -> Result<Sockets, String> {
        let mut handed = Vec::new();
        let inherited =
            sdnotify_runtime::listen_fds().map_err(|e| format!("the sockets passed to sdnotify run: {e}"))?;
        for fd in inherited {
            if let Some(owned) = fd.take() {
                handed.push(Handed {
                    fd: owned,
                    name: Some(fd.name().to_owned()),
                    what: format!("fd {} passed to sdnotify run", fd.raw_fd()),
                });
            }
        }
        for spec in specs {
            let fd = bind(spec).map_err(|e| format!("cannot listen on {}: {e}", spec.address))?;
            handed.push(Handed {
                fd,
                name: spec.name.clone(),
                what: format!("{}{}", if spec.datagram { "datagram " } else { "" }, spec.address),
            });
        }
        Ok(Sockets(handed))
    }

    /// The descriptors with their names, in order.
    pub(crate) fn fds(&self) -> Vec<(BorrowedFd<'_>, Option<&str>)> {
        self.0.iter().map(|h| (h.fd.as_fd(), h.name.as_deref())).collect()
    }

    /// One event per descriptor handed over.
    pub(crate) fn events(&self) -> Vec<Event> {
        (3..)
            .zip(&self.0)
            .map(|(fd, handed)| Event::Listening {
                fd,
                name: handed.name.clone(),
                what: handed.what.clone(),
            })
            .collect()
    }
}

/// `LISTEN_FDS`, `LISTEN_FDNAMES` and the descriptors at 3, 4, … in the service, as systemd
/// passes them. `LISTEN_PID` is the service's own pid, set by the shell that execs it (see
/// `setup::build_command`).
pub(crate) fn hand_over(command: &mut Command, fds: &[(BorrowedFd<'_>, Option<&str>)]) -> io::Result<()> {
    sdnotify_runtime::manager::pass_listen_fds(command, fds).map_err(|e| match e {
        sdnotify_runtime::Error::Io(e) => e,
        other => io::Error::other(other),
    })
}

/// The words a shell adds to set `LISTEN_PID` to its own pid, when descriptors are passed.
pub(crate) fn pid_assignment(fds: &[(BorrowedFd<'_>, Option<&str>)]) -> Option<&'static str> {
    (!fds.is_empty()).then_some("LISTEN_PID=$$; export LISTEN_PID;")
}

/// A socket bound as systemd binds a `.socket` unit's: close-on-exec here (the service gets
/// a copy without the flag), `SO_REUSEADDR`, `IPV6_V6ONLY` left as the system sets it (systemd's
/// `BindIPv6Only=default`), listening with `SOMAXCONN` for streams; a unix path replaces a
/// socket file left at it, and is `0666` (`SocketMode=`).
fn bind(spec: &ListenSpec) -> io::Result<OwnedFd> {
    let ty = if spec.datagram {
        SocketType::DGRAM
    } else {
        SocketType::STREAM
    };
    let socket = match &spec.address {
        ListenAddress::Inet(addr) => {
            let family = if addr.is_ipv4() {
                AddressFamily::INET
            } else {
                AddressFamily::INET6
            };
            let socket = rustix::net::socket_with(family, ty, SocketFlags::CLOEXEC, None)?;
            rustix::net::sockopt::set_socket_reuseaddr(&socket, true)?;
            rustix::net::bind(&socket, addr)?;
            socket
        }
        ListenAddress::Path(path) => {
            use std::os::unix::fs::{FileTypeExt, PermissionsExt};
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                std::fs::remove_file(path)?;
            }
            let socket = rustix::net::socket_with(AddressFamily::UNIX, ty, SocketFlags::CLOEXEC, None)?;
            rustix::net::bind(&socket, &SocketAddrUnix::new(path.as_path())?)?;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
            socket
        }
        ListenAddress::Abstract(name) => {
            let socket = rustix::net::socket_with(AddressFamily::UNIX, ty, SocketFlags::CLOEXEC, None)?;
            rustix::net::bind(&socket, &SocketAddrUnix::new_abstract_name(name)?)?;
            socket
        }
    };
    if !spec.datagram {
        rustix::net::listen(&socket, BACKLOG)?;
    }
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_like_listen_stream() {
        let spec = parse("http=127.0.0.1:8080", false).unwrap();
        assert_eq!(spec.name.as_deref(), Some("http"));
        assert_eq!(
            spec.address,
            ListenAddress::Inet("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            parse("8080", false).unwrap().address,
            ListenAddress::Inet("[::]:8080".parse().unwrap())
        );
        assert_eq!(parse("[::1]:53", true).unwrap().address.to_string(), "[::1]:53");
        assert_eq!(
            parse("ctl=/run/x.sock", false).unwrap().address,
            ListenAddress::Path("/run/x.sock".into())
        );
        assert_eq!(
            parse("@demo", false).unwrap().address,
            ListenAddress::Abstract(b"demo".to_vec())
        );
        for bad in [
            "a:b=127.0.0.1:1",
            "=127.0.0.1:1",
            "localhost:80",
            "",
            "@",
            "http=relative/path",
            "70000",
        ] {
            assert!(parse(bad, false).is_err(), "{bad:?}");
        }
    }
}
