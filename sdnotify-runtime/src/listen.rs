//! Socket activation: the descriptors systemd passes in `LISTEN_FDS` (`sd_listen_fds`).

use std::ffi::OsStr;
use std::sync::{Mutex, OnceLock};

use crate::address::parse_u32;
use crate::env::{snapshot, LISTEN_FDNAMES, LISTEN_FDS, LISTEN_PID};
use crate::error::Error;
use crate::sys::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use crate::sys::{self, Identity, NotInherited};

/// The first socket-activation descriptor (`SD_LISTEN_FDS_START`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// assert_eq!(sdnotify::LISTEN_FDS_START, 3);
/// ```
pub const LISTEN_FDS_START: RawFd = 3;

/// One descriptor passed by socket activation, with its name.
///
/// The process owns the descriptor; [`take`](ListenFd::take) hands that ownership out once.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// for fd in sdnotify::listen_fds()? {
///     println!("{} = fd {}", fd.name(), fd.raw_fd());
/// }
/// # Ok::<(), sdnotify::Error>(())
/// ```
#[derive(Debug)]
pub struct ListenFd {
    fd: RawFd,
    name: String,
    owned: Mutex<Option<OwnedFd>>,
}

impl ListenFd {
    /// The descriptor's number.
    pub fn raw_fd(&self) -> RawFd {
        self.fd
    }

    /// Its name from `LISTEN_FDNAMES` (`FileDescriptorName=`), or `unknown`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes ownership of the descriptor; `None` if it was taken before.
    ///
    /// ```no_run
    /// # use sdnotify_runtime as sdnotify;
    /// use std::net::TcpListener;
    ///
    /// for fd in sdnotify::listen_fds()? {
    ///     if fd.name() == "http" {
    ///         let listener = TcpListener::from(fd.take().expect("taken once"));
    ///         # drop(listener);
    ///     }
    /// }
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn take(&self) -> Option<OwnedFd> {
        self.owned.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Takes it if `check` accepts it; `Ok(None)` if it was taken before.
    pub(crate) fn take_if<E>(
        &self,
        check: impl FnOnce(BorrowedFd<'_>) -> Result<(), E>,
    ) -> Result<Option<OwnedFd>, E> {
        let mut slot = self.owned.lock().unwrap_or_else(|e| e.into_inner());
        let Some(fd) = slot.as_ref() else {
            return Ok(None);
        };
        check(fd.as_fd())?;
        Ok(slot.take())
    }
}

/// A descriptor as it was when the environment was first read: announced, open and inherited.
#[derive(Debug)]
struct Inherited {
    fd: RawFd,
    name: String,
    /// Which open file it was, to tell it from one that took its number.
    identity: Identity,
}

/// What the environment announced, identified when it was first read (see [`identify`]).
static IDENTIFIED: OnceLock<Result<Vec<Inherited>, Error>> = OnceLock::new();

/// The descriptors claimed by the first [`listen_fds`].
static LISTEN: OnceLock<Result<Vec<ListenFd>, Error>> = OnceLock::new();

/// Identifies the announced descriptors, once, as the environment is first read (`env`'s
/// snapshot calls it) and so before the runtime opens anything of its own: each must be open
/// and must not be close-on-exec (a descriptor that crossed `exec` has the flag clear; every
/// descriptor Rust opens has it set). Nothing is changed; [`listen_fds`] claims them. Off
/// Linux nothing is ever passed.
pub(crate) fn identify(pid: Option<&OsStr>, count: Option<&OsStr>, names: Option<&OsStr>) {
    IDENTIFIED.get_or_init(|| {
        if !sys::SUPPORTED {
            return Ok(Vec::new());
        }
        let our_pid = u32::try_from(sys::current_pid()).unwrap_or(0);
        let layout = listen_layout(pid, count, names, our_pid)?;
        // Each descriptor is checked before anything is kept for it, so a huge $LISTEN_FDS
        // costs one failing fcntl, not an allocation per announced descriptor.
        let mut fds = Vec::new();
        for (fd, name) in layout.iter() {
            let identity = sys::identify_inherited(fd).map_err(|why| Error::InvalidEnvironment {
                var: LISTEN_FDS,
                value: layout.count.to_string(),
                reason: match why {
                    NotInherited::NotOpen => "announces a descriptor that is not open",
                    NotInherited::CloseOnExec => {
                        "announces a descriptor that was not inherited (it is close-on-exec: this \
                         process opened it, or another library claimed it)"
                    }
                },
            })?;
            fds.push(Inherited {
                fd,
                name: name.to_owned(),
                identity,
            });
        }
        Ok(fds)
    });
}

/// The descriptors passed by socket activation, in order, with their names
/// (`sd_listen_fds_with_names(3)`).
///
/// Empty when `LISTEN_PID` is unset or names another process. The descriptors are identified
/// when the library first reads the environment (its first call of any kind, which
/// `#[sdnotify::main]` makes before `main`'s body runs), so a number that the program reused
/// meanwhile is never mistaken for one that was passed. The first call of this function claims
/// them: it marks each close-on-exec and holds it until [`ListenFd::take`]. The environment is
/// not changed.
///
/// Errors: `LISTEN_FDS`/`LISTEN_PID` that are not numbers, a `LISTEN_FDNAMES` whose count does
/// not match, or a descriptor that is not what was passed: not open, close-on-exec (opened by
/// this process, or claimed by another library) when the environment was read, or replaced
/// since.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// let fds = sdnotify::listen_fds()?;
/// for fd in fds {
///     println!("fd {} is {}", fd.raw_fd(), fd.name());
/// }
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn listen_fds() -> Result<&'static [ListenFd], Error> {
    let result = LISTEN.get_or_init(|| {
        snapshot();
        let identified = match IDENTIFIED.get() {
            Some(Ok(fds)) => fds,
            Some(Err(err)) => return Err(err.clone_detached()),
            None => return Ok(Vec::new()),
        };
        identified.iter().map(claim).collect()
    });
    match result {
        Ok(fds) => Ok(fds),
        Err(err) => Err(err.clone_detached()),
    }
}

/// Takes ownership of an identified descriptor, if it is still the open file that was passed.
fn claim(inherited: &Inherited) -> Result<ListenFd, Error> {
    let owned =
        sys::claim_inherited(inherited.fd, inherited.identity).map_err(|_| Error::InvalidEnvironment {
            var: LISTEN_FDS,
            value: snapshot()
                .listen_fds
                .as_deref()
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default(),
            reason: "announces a descriptor that was closed or replaced after the environment was read",
        })?;
    Ok(ListenFd {
        fd: inherited.fd,
        name: inherited.name.clone(),
        owned: Mutex::new(Some(owned)),
    })
}

/// Which descriptors, with which names: checked, but nothing allocated per descriptor.
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    pub(crate) count: u32,
    names: Option<&'a str>,
}

impl<'a> Layout<'a> {
    /// `(fd, name)` for each announced descriptor, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (RawFd, &'a str)> + '_ {
        let mut names = self.names.filter(|_| self.count > 0).map(|n| n.split(':'));
        (0..self.count).map(move |i| {
            let name = names.as_mut().and_then(Iterator::next).unwrap_or("unknown");
            // count <= i32::MAX - 3 was checked.
            (LISTEN_FDS_START.saturating_add(i as RawFd), name)
        })
    }
}

/// The rules of [`listen_fds`] on given values.
pub(crate) fn listen_layout<'a>(
    pid: Option<&OsStr>,
    count: Option<&OsStr>,
    names: Option<&'a OsStr>,
    our_pid: u32,
) -> Result<Layout<'a>, Error> {
    let invalid = |var, value: &OsStr, reason| Error::InvalidEnvironment {
        var,
        value: value.to_string_lossy().into_owned(),
        reason,
    };
    let none = Layout {
        count: 0,
        names: None,
    };
    let (Some(pid), Some(count)) = (pid, count) else {
        return Ok(none);
    };
    let pid = pid
        .to_str()
        .and_then(parse_u32)
        .filter(|&p| p > 0)
        .ok_or_else(|| invalid(LISTEN_PID, pid, "not a process id"))?;
    if pid != our_pid {
        return Ok(none);
    }
    let n = count
        .to_str()
        .and_then(parse_u32)
        .filter(|&n| n <= (i32::MAX - LISTEN_FDS_START) as u32)
        .ok_or_else(|| invalid(LISTEN_FDS, count, "not a number of descriptors"))?;
    let names = match names {
        None => None,
        Some(raw) => {
            let text = raw
                .to_str()
                .ok_or_else(|| invalid(LISTEN_FDNAMES, raw, "not UTF-8"))?;
            let given = if n == 0 && text.is_empty() {
                0
            } else {
                text.bytes().filter(|&b| b == b':').count() + 1
            };
            if u32::try_from(given).ok() != Some(n) {
                return Err(invalid(
                    LISTEN_FDNAMES,
                    raw,
                    "the number of names differs from $LISTEN_FDS",
                ));
            }
            Some(text)
        }
    };
    Ok(Layout { count: n, names })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(
        pid: Option<&str>,
        n: Option<&str>,
        names: Option<&str>,
    ) -> Result<Vec<(RawFd, String)>, Error> {
        let layout = listen_layout(pid.map(OsStr::new), n.map(OsStr::new), names.map(OsStr::new), 7)?;
        Ok(layout.iter().map(|(fd, name)| (fd, name.to_owned())).collect())
    }

    #[test]
    fn a_huge_count_allocates_nothing_per_descriptor() {
        let huge = listen_layout(Some(OsStr::new("7")), Some(OsStr::new("2147483644")), None, 7).unwrap();
        assert_eq!(huge.count, 2_147_483_644);
        assert_eq!(huge.iter().nth(2), Some((5, "unknown")));
        assert!(layout(Some("7"), Some("2147483645"), None).is_err());
    }

    #[test]
    fn descriptors_start_at_three_with_names() {
        let got = layout(Some("7"), Some("2"), Some("http:admin")).unwrap();
        assert_eq!(got, [(3, "http".to_owned()), (4, "admin".to_owned())]);
        let unnamed = layout(Some("7"), Some("1"), None).unwrap();
        assert_eq!(unnamed, [(3, "unknown".to_owned())]);
    }

    #[test]
    fn not_for_us_or_unset_means_none() {
        assert!(layout(None, Some("2"), None).unwrap().is_empty());
        assert!(layout(Some("8"), Some("2"), None).unwrap().is_empty());
        assert!(layout(Some("7"), None, None).unwrap().is_empty());
        assert!(layout(Some("7"), Some("0"), Some("")).unwrap().is_empty());
    }

    #[test]
    fn garbage_is_an_error() {
        for (pid, n, names, var) in [
            ("x", "1", None, LISTEN_PID),
            ("7", "one", None, LISTEN_FDS),
            ("7", "-1", None, LISTEN_FDS),
            ("7", "2", Some("only-one"), LISTEN_FDNAMES),
        ] {
            match layout(Some(pid), Some(n), names) {
                Err(Error::InvalidEnvironment { var: v, .. }) => assert_eq!(v, var),
                other => panic!("{pid} {n} {names:?}: {other:?}"),
            }
        }
    }
}
