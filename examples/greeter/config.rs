//! The greeter's configuration file, shared by `reload.rs` and `reload_tokio.rs`:
//!
//! ```text
//! # what to print, and how often
//! greeting = hello
//! interval_ms = 500
//! # how long warming the caches takes, at start-up and on each reload
//! warmup_ms = 0
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Config {
    pub(crate) greeting: String,
    pub(crate) interval: Duration,
    pub(crate) warmup: Duration,
}

/// What is wrong with a configuration file, in words for `systemctl status`.
#[derive(Debug)]
pub(crate) struct ConfigError {
    path: PathBuf,
    line: Option<usize>,
    problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.problem),
            None => write!(f, "{}: {}", self.path.display(), self.problem),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub(crate) fn load(path: &Path) -> Result<Config, ConfigError> {
        let error = |line: Option<usize>, problem: String| ConfigError {
            path: path.to_owned(),
            line,
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(None, e.to_string()))?;
        let mut config = Config {
            greeting: "hello".to_owned(),
            interval: Duration::from_millis(500),
            warmup: Duration::ZERO,
        };
        for (index, line) in text.lines().enumerate() {
            let at = Some(index + 1);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(error(at, format!("expected `name = value`, found `{line}`")));
            };
            let (key, value) = (key.trim(), value.trim());
            let millis = || {
                value
                    .parse()
                    .map(Duration::from_millis)
                    .map_err(|_| error(at, format!("{key}: `{value}` is not a number of milliseconds")))
            };
            match key {
                "greeting" => config.greeting = value.to_owned(),
                "interval_ms" => config.interval = millis()?.max(Duration::from_millis(10)),
                "warmup_ms" => config.warmup = millis()?,
                _ => return Err(error(at, format!("unknown setting `{key}`"))),
            }
        }
        Ok(config)
    }

    /// The service's status line.
    pub(crate) fn describe(&self, generation: u32) -> String {
        format!(
            "greeting {:?} every {} ms (configuration #{generation})",
            self.greeting,
            self.interval.as_millis()
        )
    }
}

/// The configuration file named by the first argument (`greeter.conf` by default).
pub(crate) fn path_from_args() -> PathBuf {
    std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("greeter.conf"), PathBuf::from)
}
