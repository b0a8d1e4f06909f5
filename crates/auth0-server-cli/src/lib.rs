//! The `auth0-server` command: tools for people debugging auth0-server sessions.
//!
//! ```text
//! auth0-server secret
//! auth0-server session decode [--secret S] [--identifier ID] [TOKEN]
//! auth0-server session encode [--secret S] [--identifier ID] [--format python|rotating]
//!                             [--expires-in SECONDS | --expires-at UNIX_SECONDS] [JSON]
//! auth0-server doctor [--json] [--timeout SECONDS]
//! auth0-server sessions list --sub SUB [--domain D] [--identifier ID] [--json]
//! auth0-server sessions revoke --sub SUB (--id HANDLE | --all) [--domain D] [--identifier ID]
//! ```
//!
//! - `sessions list` and `sessions revoke` reach a user's sessions in the app's server-side
//!   store, configured by the app's environment (`AUTH0_SECRET`, `AUTH0_DOMAIN`,
//!   `AUTH0_SESSION_STORE`, `REDIS_URL`, `DATABASE_URL`); `revoke` without `--id` ends all of
//!   the user's sessions.
//!
//! - `secret` prints 64 random bytes from the operating system as lowercase hex, ready for
//!   `AUTH0_SECRET`.
//! - `session decode` opens a cookie value (the token, or standard input) and prints its JSON,
//!   pretty; one line on standard error says the layout, the expiry and, when it was not the
//!   newest, which secret opened it. Both layouts (Python and rotating) are recognised.
//! - `session encode` seals JSON (the argument, or standard input) into a cookie value, in the
//!   rotating layout unless told otherwise.
//! - `doctor` checks the configuration the quickstart would run with (the environment and
//!   `.env`) against the tenant and the session store, and says what is wrong, what a user
//!   would see, and how to fix it (see [`doctor`]). Exit status 1 when something is wrong.
//!
//! The secret comes from `--secret` or else from `AUTH0_SECRET`; either may hold a
//! comma-separated list, newest first. Prefer the environment variable: a command-line
//! argument is visible to other users of the machine and stays in the shell's history.
//!
//! Any failure exits with status 1, prints nothing on standard output and one line on
//! standard error starting with `error: `. Usage errors exit with status 2.
//!
//! The logic is in [`run`], which takes its inputs in a [`Context`] and returns an
//! [`Output`], so it can be tested without a process:
//!
//! ```
//! use auth0_server_cli::{Cli, Context, run};
//! use clap::Parser as _;
//!
//! let secret = "a-secret-of-at-least-thirty-two-bytes";
//! let encode = Cli::try_parse_from([
//!     "auth0-server", "session", "encode", "--secret", secret, r#"{"sub":"auth0|1"}"#,
//! ])?;
//! let token = run(encode, Context::new(1_700_000_000))?.stdout;
//!
//! let decode = Cli::try_parse_from([
//!     "auth0-server", "session", "decode", "--secret", secret, token.trim(),
//! ])?;
//! let output = run(decode, Context::new(1_700_000_000))?;
//! assert_eq!(output.stdout, "{\n  \"sub\": \"auth0|1\"\n}\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// Library code never unwraps; tests may (clippy.toml allows it in unit tests).
#![warn(clippy::unwrap_used)]

mod args;
mod dev_tenant;
pub mod doctor;
mod error;
mod session;
mod sessions;
mod time;

use std::ffi::OsString;
use std::io::{self, Read, Write};

pub use args::{
    Cli, Command, DEFAULT_EXPIRES_IN_SECS, DEFAULT_IDENTIFIER, DecodeArgs, DevTenantArgs,
    EncodeArgs, Format, KeyArgs, SECRET_ENV, SecretArg, SessionCommand,
};
pub use error::CliError;
pub use sessions::{DOMAIN_ENV, ListArgs, OwnerArgs, RevokeArgs, SessionsCommand, SessionsError};

/// Length in bytes of the secrets `auth0-server secret` makes (twice the minimum).
pub const GENERATED_SECRET_LEN: usize = 64;

/// What a command reads besides its arguments.
pub struct Context<'a> {
    /// The value of `AUTH0_SECRET`, if it is set.
    pub env_secret: Option<OsString>,
    /// Where a token or JSON not given as an argument is read from; `None` when there is
    /// nothing to read (standard input is a terminal).
    pub stdin: Option<&'a mut dyn Read>,
    /// The current time in unix seconds: the base of `--expires-in`, and what `exp` is
    /// checked against.
    pub now: u64,
}

impl Context<'_> {
    /// A context at the given time, with no environment secret and no standard input.
    pub fn new(now: u64) -> Self {
        Self {
            env_secret: None,
            stdin: None,
            now,
        }
    }
}

/// What a successful command prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// For standard output, ending in a newline.
    pub stdout: String,
    /// One line of information for standard error, without its newline.
    pub stderr: Option<String>,
}

impl Output {
    /// Writes the output to the two streams.
    ///
    /// # Errors
    ///
    /// When a stream cannot be written (for example a closed pipe).
    pub fn write_to(&self, stdout: &mut dyn Write, stderr: &mut dyn Write) -> io::Result<()> {
        if let Some(line) = &self.stderr {
            writeln!(stderr, "{line}")?;
            stderr.flush()?;
        }
        stdout.write_all(self.stdout.as_bytes())?;
        stdout.flush()
    }
}

/// Runs a parsed command line.
///
/// # Errors
///
/// Any [`CliError`]: a missing or short secret, a token that does not open (wrong secret or
/// identifier, altered, truncated, expired, not a token), JSON that does not parse or cannot
/// be sealed, nothing to read.
pub fn run(cli: Cli, context: Context<'_>) -> Result<Output, CliError> {
    match cli.command {
        Command::Secret => new_secret(),
        Command::Session { command } => match command {
            SessionCommand::Decode(args) => session::decode(args, context),
            SessionCommand::Encode(args) => session::encode(args, context),
        },
        Command::DevTenant(args) => dev_tenant::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Sessions { command } => sessions::run(command, context),
    }
}

/// `auth0-server secret`: [`GENERATED_SECRET_LEN`] random bytes as lowercase hex.
fn new_secret() -> Result<Output, CliError> {
    let mut bytes = [0u8; GENERATED_SECRET_LEN];
    getrandom::fill(&mut bytes).map_err(CliError::Random)?;
    Ok(Output {
        stdout: format!("{}\n", hex::encode(bytes)),
        stderr: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    const SECRET: &str = "test-secret-that-is-at-least-32-chars-long";
    const NOW: u64 = 1_700_000_000;

    fn run_args(args: &[&str], stdin: Option<&str>) -> Result<Output, CliError> {
        let cli = Cli::try_parse_from(std::iter::once("auth0-server").chain(args.iter().copied()))
            .expect("the test's command line parses");
        let mut input = stdin.map(str::as_bytes);
        let context = Context {
            env_secret: None,
            stdin: input.as_mut().map(|r| r as &mut dyn Read),
            now: NOW,
        };
        run(cli, context)
    }

    #[test]
    fn secret_is_128_lowercase_hex_chars() {
        let out = run_args(&["secret"], None).expect("secret");
        let hex = out.stdout.trim_end_matches('\n');
        assert_eq!(hex.len(), 2 * GENERATED_SECRET_LEN);
        assert!(hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    }

    #[test]
    fn rotating_token_reports_its_expiry_and_hides_exp() {
        let token = run_args(
            &[
                "session",
                "encode",
                "--secret",
                SECRET,
                "--expires-at",
                "4102444800",
                "{\"a\":1}",
            ],
            None,
        )
        .expect("encode")
        .stdout;
        let out =
            run_args(&["session", "decode", "--secret", SECRET], Some(&token)).expect("decode");
        assert_eq!(out.stdout, "{\n  \"a\": 1\n}\n");
        assert_eq!(
            out.stderr.as_deref(),
            Some("layout: rotating, expires 2100-01-01T00:00:00Z (exp 4102444800)")
        );
    }

    #[test]
    fn token_expired_beyond_tolerance_is_refused() {
        let token = run_args(
            &[
                "session",
                "encode",
                "--secret",
                SECRET,
                "--expires-at",
                "1699999900",
                "{}",
            ],
            None,
        )
        .expect("encode")
        .stdout;
        let err = run_args(
            &["session", "decode", "--secret", SECRET, token.trim()],
            None,
        )
        .expect_err("expired");
        assert!(matches!(
            err,
            CliError::Expired {
                exp: 1_699_999_900,
                now: NOW
            }
        ));
    }

    #[test]
    fn older_secret_is_named_in_the_info_line() {
        let old = "an-old-secret-that-is-32-bytes-long!!";
        let token = run_args(
            &[
                "session", "encode", "--format", "python", "--secret", old, "[1]",
            ],
            None,
        )
        .expect("encode")
        .stdout;
        let list = format!("{SECRET},{old}");
        let out = run_args(
            &["session", "decode", "--secret", &list, token.trim()],
            None,
        )
        .expect("decode");
        let info = out.stderr.unwrap_or_default();
        assert!(info.starts_with("layout: python"), "{info}");
        assert!(info.contains("secret 2 of 2"), "{info}");
    }

    #[test]
    fn secret_falls_back_to_the_environment() {
        let cli = Cli::try_parse_from(["auth0-server", "session", "encode", "{}"]).expect("parses");
        let context = Context {
            env_secret: Some(SECRET.into()),
            ..Context::new(NOW)
        };
        assert!(run(cli, context).is_ok());
    }

    #[test]
    fn missing_input_is_reported_not_awaited() {
        let err = run_args(&["session", "decode", "--secret", SECRET], None).expect_err("no token");
        assert!(matches!(err, CliError::NoInput { what: "token" }));
        let err = run_args(&["session", "encode", "--secret", SECRET], Some("  \n"))
            .expect_err("no json");
        assert!(matches!(err, CliError::NoInput { what: "JSON" }));
    }

    #[test]
    fn rotating_layout_refuses_json_that_is_not_an_object() {
        let err = run_args(&["session", "encode", "--secret", SECRET, "[1,2]"], None)
            .expect_err("not an object");
        assert!(
            err.to_line().contains("only a JSON object"),
            "{}",
            err.to_line()
        );
    }
}
