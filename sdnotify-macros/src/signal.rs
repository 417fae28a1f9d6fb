//! `reload = "SIG…"`: the names systemd's `ReloadSignal=` accepts, checked at compile time.
//!
//! Only names: signal numbers differ between architectures, and the runtime resolves a name on
//! the machine the service runs on (`sdnotify_runtime::signal::from_name`, whose list this one
//! must match; a test in this crate compares them).

/// The standard names without `SIG`, and why a process cannot take a reload request on each
/// one it cannot (`None` when it can).
const STANDARD: &[(&str, Option<&str>)] = &[
    ("HUP", None),
    ("INT", None),
    ("QUIT", None),
    ("ILL", Some(FAULT)),
    ("TRAP", Some(FAULT)),
    (
        "ABRT",
        Some("it is raised by `abort()` and ends the process whatever the handler does"),
    ),
    ("BUS", Some(FAULT)),
    ("FPE", Some(FAULT)),
    ("KILL", Some(UNCATCHABLE)),
    ("USR1", None),
    ("SEGV", Some(FAULT)),
    ("USR2", None),
    ("PIPE", None),
    ("ALRM", None),
    ("TERM", None),
    ("STKFLT", None),
    ("CHLD", None),
    ("CONT", None),
    ("STOP", Some(UNCATCHABLE)),
    ("TSTP", None),
    ("TTIN", None),
    ("TTOU", None),
    ("URG", None),
    ("XCPU", None),
    ("XFSZ", None),
    ("VTALRM", None),
    ("PROF", None),
    ("WINCH", None),
    ("IO", None),
    ("POLL", None),
    ("PWR", None),
    ("SYS", Some(FAULT)),
];

const FAULT: &str = "it reports a fault in the process itself";
const UNCATCHABLE: &str = "no process can catch it";

/// The highest `n` in `RTMIN+n` / `RTMAX-n` that is valid with every Linux C library (glibc
/// reserves two real-time signals, musl three, of the kernel's 32).
const RT_SPAN: u32 = 29;

/// The canonical spelling (`SIGUSR1`, `SIGRTMIN+2`) of a name `ReloadSignal=` accepts, or
/// what is wrong with it.
pub(crate) fn canonical(text: &str) -> Result<String, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "signal numbers differ between architectures; write the name, e.g. `\"SIGHUP\"`, not `\"{text}\"`"
        ));
    }
    let bare = text.strip_prefix("SIG").unwrap_or(text);
    if let Some((name, why_not)) = STANDARD.iter().find(|(name, _)| *name == bare) {
        return match why_not {
            None => Ok(format!("SIG{name}")),
            Some(why) => Err(format!("SIG{name} cannot be the reload signal: {why}")),
        };
    }
    let offset = |rest: &str| -> Result<u32, String> {
        match rest.parse::<u32>() {
            Ok(n) if rest.bytes().all(|b| b.is_ascii_digit()) && n <= RT_SPAN => Ok(n),
            _ => Err(format!(
                "`{text}`: the real-time offset must be 0 to {RT_SPAN}, e.g. `\"SIGRTMIN+2\"`"
            )),
        }
    };
    match bare {
        "RTMIN" | "RTMAX" => Ok(format!("SIG{bare}")),
        _ => {
            if let Some(rest) = bare.strip_prefix("RTMIN+") {
                Ok(format!("SIGRTMIN+{}", offset(rest)?))
            } else if let Some(rest) = bare.strip_prefix("RTMAX-") {
                Ok(format!("SIGRTMAX-{}", offset(rest)?))
            } else {
                Err(unknown(text))
            }
        }
    }
}

fn unknown(text: &str) -> String {
    let upper = text.to_ascii_uppercase();
    let hint = if upper != text && canonical(&upper).is_ok() {
        format!(" (signal names are upper case: `\"{upper}\"`)")
    } else {
        String::new()
    };
    format!(
        "unknown signal `{text}`{hint}, expected a name systemd's ReloadSignal= accepts, e.g. `\"SIGHUP\"`, `\"SIGUSR1\"` or `\"SIGRTMIN+1\"`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_runtime_resolves_and_only_those() {
        for (name, why_not) in STANDARD {
            let resolved = sdnotify_runtime::signal::from_name(name)
                .unwrap_or_else(|| panic!("the runtime does not know SIG{name}"));
            assert_eq!(
                why_not.is_none(),
                sdnotify_runtime::signal::can_be_handled(resolved),
                "SIG{name}"
            );
        }
        for name in sdnotify_runtime::signal::standard_names() {
            assert!(
                STANDARD.iter().any(|(known, _)| *known == name),
                "SIG{name} missing here"
            );
        }
        for name in ["SIGRTMIN", "RTMAX", "SIGRTMIN+29", "SIGRTMAX-29"] {
            let canonical = canonical(name).unwrap();
            assert!(
                sdnotify_runtime::signal::from_name(&canonical).is_some(),
                "{canonical}"
            );
        }
    }

    #[test]
    fn canonical_spelling_and_errors() {
        assert_eq!(canonical("HUP").unwrap(), "SIGHUP");
        assert_eq!(canonical("SIGRTMIN+02").unwrap(), "SIGRTMIN+2");
        for bad in [
            "",
            "1",
            "SIGKILL",
            "SIGSEGV",
            "sighup",
            "SIGRTMIN+30",
            "SIGRTMIN+",
            "RTMIN-1",
            "SIG HUP",
        ] {
            assert!(canonical(bad).is_err(), "{bad:?}");
        }
        assert!(canonical("sigusr1").unwrap_err().contains("\"SIGUSR1\""));
    }
}
