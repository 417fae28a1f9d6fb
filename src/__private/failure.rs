//! What failed when `main` returned, chosen by the return type at the call site (autoref
//! dispatch, stable Rust): an `io::Error` gives its Display text and its OS code for `ERRNO=`,
//! any other error with `Display` its Display text, one with only `Debug` its Debug text, and
//! `()`/`ExitCode`/`Ok` nothing.

use std::fmt;

/// The failure of a `main` that returned an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One line for `STATUS=`.
    pub text: String,
    /// The OS error code for `ERRNO=`, where the error has one.
    pub errno: Option<i32>,
}

/// The value `main` returned, wrapped for the dispatch below.
pub struct Outcome<'a, R>(pub &'a R);

/// `Result<_, std::io::Error>`: Display text and the OS code.
pub trait ViaIoError {
    /// What failed.
    fn failure(&self) -> Option<Failure>;
}

impl<T> ViaIoError for &&&Outcome<'_, Result<T, std::io::Error>> {
    fn failure(&self) -> Option<Failure> {
        self.0.as_ref().err().map(|e| Failure {
            text: format!("failed: {e}"),
            errno: e.raw_os_error(),
        })
    }
}

/// `Result<_, E: Display>`: Display text.
pub trait ViaDisplay {
    /// What failed.
    fn failure(&self) -> Option<Failure>;
}

impl<T, E: fmt::Display> ViaDisplay for &&Outcome<'_, Result<T, E>> {
    fn failure(&self) -> Option<Failure> {
        self.0.as_ref().err().map(|e| Failure {
            text: format!("failed: {e}"),
            errno: None,
        })
    }
}

/// `Result<_, E: Debug>` without Display: Debug text (what the standard library prints).
pub trait ViaDebug {
    /// What failed.
    fn failure(&self) -> Option<Failure>;
}

impl<T, E: fmt::Debug> ViaDebug for &Outcome<'_, Result<T, E>> {
    fn failure(&self) -> Option<Failure> {
        self.0.as_ref().err().map(|e| Failure {
            text: format!("failed: {e:?}"),
            errno: None,
        })
    }
}

/// Anything else `main` may return (`()`, `ExitCode`): nothing failed.
pub trait ViaNothing {
    /// Nothing.
    fn failure(&self) -> Option<Failure>;
}

impl<R> ViaNothing for Outcome<'_, R> {
    fn failure(&self) -> Option<Failure> {
        None
    }
}

#[cfg(test)]
#[allow(clippy::needless_borrow)] // the borrows are the dispatch
mod tests {
    use super::*;

    #[derive(Debug)]
    struct OnlyDebug;

    struct Both;

    impl fmt::Display for Both {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("disk on fire")
        }
    }

    impl fmt::Debug for Both {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Both { .. }")
        }
    }

    #[test]
    fn the_most_specific_description_wins() {
        let io: Result<(), std::io::Error> = Err(std::io::Error::other("disk on fire"));
        let failure = (&&&&Outcome(&io)).failure().unwrap();
        assert_eq!(
            failure,
            Failure {
                text: "failed: disk on fire".into(),
                errno: None
            }
        );
        let os: Result<(), std::io::Error> = Err(std::io::Error::from_raw_os_error(2));
        assert_eq!((&&&&Outcome(&os)).failure().unwrap().errno, Some(2));
        let both: Result<(), Both> = Err(Both);
        assert_eq!(
            (&&&&Outcome(&both)).failure().unwrap().text,
            "failed: disk on fire"
        );
        let debug: Result<(), OnlyDebug> = Err(OnlyDebug);
        assert_eq!((&&&&Outcome(&debug)).failure().unwrap().text, "failed: OnlyDebug");
        assert_eq!((&&&&Outcome(&())).failure(), None);
        assert_eq!((&&&&Outcome(&std::process::ExitCode::SUCCESS)).failure(), None);
        let ok: Result<(), Both> = Ok(());
        assert_eq!((&&&&Outcome(&ok)).failure(), None);
    }
}
