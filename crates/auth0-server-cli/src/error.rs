//! What can go wrong, in words for the person at the terminal.

use std::io;

use auth0_server_core::SecretError;
use auth0_server_core::seal::{OpenError, SealError};

use crate::time::rfc3339_utc;

/// Why a command failed. Its `Display` is one line that says what happened and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The secret is missing or too short.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// `AUTH0_SECRET` holds bytes that are not UTF-8.
    #[error("AUTH0_SECRET is not valid UTF-8: set it to the secret text, or pass --secret")]
    SecretNotUnicode,
    /// The dev tenant could not start (the port is taken, a setting is refused, …).
    #[error("the dev tenant could not start: {0}")]
    DevTenant(String),
    /// Neither an argument nor standard input gave the value.
    #[error("no {what} was given: pass it as an argument or pipe it on standard input")]
    NoInput {
        /// What was missing (`token`, `JSON`).
        what: &'static str,
    },
    /// Standard input could not be read.
    #[error("could not read the {what} from standard input: {source}")]
    ReadStdin {
        /// What was being read.
        what: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The JSON to encode does not parse.
    #[error("the JSON to encode is not valid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// The token opened but its `exp` is past.
    #[error(
        "the token expired at {} (exp {exp}); it is now {}: log in again, or encode a new one",
        rfc3339_utc(*exp),
        rfc3339_utc(*now)
    )]
    Expired {
        /// The token's `exp`, unix seconds.
        exp: u64,
        /// When it was read, unix seconds.
        now: u64,
    },
    /// The token did not open.
    #[error(transparent)]
    Open(OpenError),
    /// The value could not be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// `doctor` found problems; `output` is its report.
    #[error("doctor found {problems} problem(s): see the report above")]
    DoctorFoundProblems {
        /// How many findings fail.
        problems: usize,
        /// The report, for standard output.
        output: crate::Output,
    },
    /// The async runtime could not start.
    #[error("the async runtime could not start: {0}")]
    Runtime(#[source] io::Error),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    /// A `sessions` command failed.
    #[error(transparent)]
    Sessions(#[from] crate::sessions::SessionsError),
}

impl From<OpenError> for CliError {
    fn from(error: OpenError) -> Self {
        match error {
            OpenError::Expired { exp, now } => Self::Expired { exp, now },
            other => Self::Open(other),
        }
    }
}

impl CliError {
    /// The line printed on standard error: `error: ` and the message, on exactly one line.
    pub fn to_line(&self) -> String {
        let message = self.to_string();
        format!(
            "error: {}",
            message.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_error_shows_dates() {
        let line = CliError::from(OpenError::Expired {
            exp: 1_000_000_000,
            now: 1_000_000_100,
        })
        .to_line();
        assert!(line.starts_with("error: the token expired at 2001-09-09T01:46:40Z"));
        assert!(line.contains("2001-09-09T01:48:20Z"));
    }

    #[test]
    fn error_line_is_a_single_line() {
        let error = CliError::ReadStdin {
            what: "token",
            source: io::Error::other("first\nsecond"),
        };
        let line = error.to_line();
        assert!(!line.contains('\n'));
        assert!(line.ends_with("first second"));
    }
}
