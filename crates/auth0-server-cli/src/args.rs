//! The command line, as `clap` parses it.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use auth0_server_core::seal::CookieFormat;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The identifier (cookie name) used when `--identifier` is not given: the session cookie's.
pub const DEFAULT_IDENTIFIER: &str = "_a0_session";
/// How long an encoded cookie lives when neither `--expires-in` nor `--expires-at` is given:
/// one day, in seconds.
pub const DEFAULT_EXPIRES_IN_SECS: u64 = 86_400;
/// The environment variable the secret list is read from when `--secret` is not given.
pub const SECRET_ENV: &str = "AUTH0_SECRET";

/// `auth0-server`: tools for debugging auth0-server sessions.
#[derive(Debug, Parser)]
#[command(
    name = "auth0-server",
    version,
    about = "Tools for auth0-server apps: make secrets, decode and encode cookies, check a configuration (doctor)",
    long_about = None
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a new random secret (64 bytes, as hex) to use as AUTH0_SECRET.
    Secret,
    /// Decode or encode session cookie values.
    Session {
        /// What to do with the cookie value.
        #[command(subcommand)]
        command: SessionCommand,
    },
    /// Run the local development tenant (an OpenID provider on loopback) until Ctrl-C.
    DevTenant(DevTenantArgs),
    /// Check the configuration (environment and .env) against the tenant and the session
    /// store; exit status 1 when something is wrong.
    Doctor(crate::doctor::DoctorArgs),
    /// List or revoke a user's sessions in the app's Redis or PostgreSQL session store.
    Sessions {
        /// What to do with the user's sessions.
        #[command(subcommand)]
        command: crate::sessions::SessionsCommand,
    },
}

/// Arguments of `dev-tenant`.
#[derive(Debug, Args)]
pub struct DevTenantArgs {
    /// The loopback port to listen on (0: any free port)
    #[arg(long, default_value_t = 4000)]
    pub port: u16,
    /// A callback URL the tenant accepts (repeatable) [default: any loopback URL]
    #[arg(long = "redirect-uri", value_name = "URL")]
    pub redirect_uris: Vec<String>,
    /// An API the tenant issues JWT access tokens for (repeatable)
    #[arg(long = "audience", value_name = "URI")]
    pub audiences: Vec<String>,
    /// The client id apps use
    #[arg(long, default_value = "dev-client")]
    pub client_id: String,
    /// The client secret apps use [default: a random one, printed at start]
    #[arg(long)]
    pub client_secret: Option<String>,
    /// A file with the app's public key (PEM or JWK): the app then authenticates with
    /// private_key_jwt, signing with its private key, and the client secret is refused
    #[arg(long, value_name = "FILE")]
    pub client_public_key: Option<std::path::PathBuf>,
}

/// The `session` commands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Print the JSON sealed inside a cookie value (either layout is recognised).
    Decode(DecodeArgs),
    /// Seal JSON into a cookie value.
    Encode(EncodeArgs),
}

/// The secret and the identifier a cookie is sealed with.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The secret, or a comma-separated list of secrets, newest first (each is tried when
    /// decoding; the first is used when encoding) [default: $AUTH0_SECRET]
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<SecretArg>,
    /// The identifier the cookie is sealed for: its cookie name without the `__Host-` prefix
    /// (and without a chunk's `.0`, `.1`)
    #[arg(long, value_name = "ID", default_value = DEFAULT_IDENTIFIER)]
    pub identifier: String,
}

/// Arguments of `session decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The secret and identifier.
    #[command(flatten)]
    pub key: KeyArgs,
    /// The cookie value; read from standard input when omitted
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
}

/// Arguments of `session encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// The secret and identifier.
    #[command(flatten)]
    pub key: KeyArgs,
    /// The token layout to write
    #[arg(long, value_enum, default_value_t = Format::Rotating)]
    pub format: Format,
    /// Lifetime of the cookie in seconds, written as `exp` (rotating layout only; the Python
    /// layout has no expiry inside the token)
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_EXPIRES_IN_SECS)]
    pub expires_in: u64,
    /// Expiry as a unix time in seconds, instead of --expires-in; may be in the past, to make
    /// an expired cookie
    #[arg(long, value_name = "UNIX_SECONDS", conflicts_with = "expires_in")]
    pub expires_at: Option<u64>,
    /// The JSON to seal (an object for the rotating layout; any `exp` in it is replaced);
    /// read from standard input when omitted
    #[arg(value_name = "JSON")]
    pub json: Option<String>,
}

/// The token layout `session encode` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// What auth0-server-python writes: no key id, no expiry inside.
    Python,
    /// A key id in the header and an `exp` claim inside (the default).
    Rotating,
}

impl From<Format> for CookieFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Python => CookieFormat::Python,
            Format::Rotating => CookieFormat::Rotating,
        }
    }
}

/// The text of `--secret`, kept as given; it is checked when used, so that a bad secret is
/// reported in one line and never echoed. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretArg(pub String);

impl FromStr for SecretArg {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretArg([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn encode_defaults_to_rotating_one_day_and_the_session_identifier() {
        let cli = Cli::try_parse_from(["auth0-server", "session", "encode", "{}"]).expect("parses");
        let Command::Session {
            command: SessionCommand::Encode(args),
        } = cli.command
        else {
            panic!("not an encode command");
        };
        assert_eq!(args.format, Format::Rotating);
        assert_eq!(args.expires_in, DEFAULT_EXPIRES_IN_SECS);
        assert_eq!(args.expires_at, None);
        assert_eq!(args.key.identifier, DEFAULT_IDENTIFIER);
        assert!(args.key.secret.is_none());
    }

    #[test]
    fn expires_in_and_expires_at_together_are_a_usage_error() {
        let result = Cli::try_parse_from([
            "auth0-server",
            "session",
            "encode",
            "--expires-in",
            "5",
            "--expires-at",
            "5",
            "{}",
        ]);
        assert!(result.is_err());
    }

    #[test]
    fn secret_is_not_shown_by_debug() {
        let cli = Cli::try_parse_from([
            "auth0-server",
            "session",
            "decode",
            "--secret",
            "very-secret-value",
            "tok",
        ])
        .expect("parses");
        assert!(!format!("{cli:?}").contains("very-secret-value"));
    }
}
