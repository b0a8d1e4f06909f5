//! `session decode` and `session encode`.

use std::ffi::OsString;
use std::io::Read;
use std::sync::Arc;

use auth0_server_core::Secrets;
use auth0_server_core::clock::ManualClock;
use auth0_server_core::seal::{CookieFormat, CookieSealer, OpenError};
use serde_json::Value;

use crate::args::{DecodeArgs, EncodeArgs, KeyArgs};
use crate::error::CliError;
use crate::time::rfc3339_utc;
use crate::{Context, Output};

/// Opens the token and prints its JSON, pretty, with one line about it on standard error.
pub(crate) fn decode(args: DecodeArgs, context: Context<'_>) -> Result<Output, CliError> {
    let secrets = secrets(&args.key, context.env_secret)?;
    let token = argument_or_stdin(args.token, context.stdin, "token")?;
    let sealer =
        CookieSealer::new(secrets.clone()).with_clock(Arc::new(ManualClock::at_unix(context.now)));
    let opened = sealer.open_detailed::<Value>(&args.key.identifier, &token)?;
    // A `Value` always serializes; should it not, say so as a payload problem.
    let json = serde_json::to_string_pretty(&opened.value)
        .map_err(|e| CliError::Open(OpenError::Payload(e)))?;

    let mut info = match (opened.format, opened.expires_at) {
        (CookieFormat::Rotating, Some(exp)) => {
            format!("layout: rotating, expires {} (exp {exp})", rfc3339_utc(exp))
        }
        (CookieFormat::Rotating, None) => "layout: rotating".to_owned(),
        (CookieFormat::Python, _) => "layout: python (no expiry inside the token)".to_owned(),
    };
    if opened.secret_index > 0 {
        info.push_str(&format!(
            ", opened with secret {} of {} (not the newest: it would be re-sealed with the first)",
            opened.secret_index + 1,
            secrets.len()
        ));
    }
    Ok(Output {
        stdout: format!("{json}\n"),
        stderr: Some(info),
    })
}

/// Seals the JSON and prints the cookie value.
pub(crate) fn encode(args: EncodeArgs, context: Context<'_>) -> Result<Output, CliError> {
    let secrets = secrets(&args.key, context.env_secret)?;
    let json = argument_or_stdin(args.json, context.stdin, "JSON")?;
    let value: Value = serde_json::from_str(&json).map_err(CliError::InvalidJson)?;
    let expires_at = args
        .expires_at
        .unwrap_or_else(|| context.now.saturating_add(args.expires_in));
    let sealer = CookieSealer::new(secrets).with_format(args.format.into());
    let token = sealer.seal(&args.key.identifier, &value, expires_at)?;
    Ok(Output {
        stdout: format!("{token}\n"),
        stderr: None,
    })
}

/// The secrets from `--secret`, or else from `AUTH0_SECRET`.
fn secrets(key: &KeyArgs, env_secret: Option<OsString>) -> Result<Secrets, CliError> {
    let list = match (&key.secret, env_secret) {
        (Some(secret), _) => secret.0.clone(),
        (None, Some(env)) => env.into_string().map_err(|_| CliError::SecretNotUnicode)?,
        (None, None) => String::new(),
    };
    Ok(Secrets::parse(&list)?)
}

/// The argument if given, or else all of standard input; trimmed, and not empty.
fn argument_or_stdin(
    argument: Option<String>,
    stdin: Option<&mut dyn Read>,
    what: &'static str,
) -> Result<String, CliError> {
    let text = match (argument, stdin) {
        (Some(text), _) => text,
        (None, Some(stdin)) => {
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(|source| CliError::ReadStdin { what, source })?;
            text
        }
        (None, None) => String::new(),
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CliError::NoInput { what });
    }
    Ok(trimmed.to_owned())
}
