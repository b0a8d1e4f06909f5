//! `auth0-server doctor`: the configuration the quickstart would run with (the environment
//! and `.env`), checked against the tenant and the session store before a user finds what
//! is wrong.
//!
//! Each check gives a [`Finding`]: what is wrong, the symptom a user would see (the "Common
//! Issues" of Auth0's quickstarts), how to fix it. The exit status is 0 only when no finding
//! is a problem; a check that cannot run counts as one. `--json` prints the [`Report`]:
//!
//! ```
//! use auth0_server_cli::doctor::{Finding, Report};
//!
//! let report = Report::new(vec![
//!     Finding::ok("secret", "AUTH0_SECRET is set"),
//!     Finding::problem("domain", "AUTH0_DOMAIN has a scheme", "…", "set AUTH0_DOMAIN=tenant.eu.auth0.com"),
//! ]);
//! let json: serde_json::Value = serde_json::from_str(&report.to_json())?;
//! assert_eq!(json["ok"], false);
//! assert_eq!(json["problems"], 1);
//! assert_eq!(json["findings"][1]["status"], "problem");
//! # Ok::<(), serde_json::Error>(())
//! ```

mod login;
mod report;
mod settings;
mod store;
mod tenant;

use std::time::Duration;

use auth0_server_core::client::ServerClient;
use clap::Args;

pub use report::{Finding, JSON_VERSION, Report, Status};

use crate::{CliError, Output};

/// How long each network check may take when `--timeout` is not given, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// The checks that need the client, reported as not run when it cannot be built.
const CLIENT_CHECKS: [&str; 7] = [
    "cookies",
    "access_tokens",
    "discovery",
    "clock_skew",
    "id_token_algorithm",
    "redirect_uri",
    "client_credentials",
];

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON (see docs/doctor.md for its shape)
    #[arg(long)]
    pub json: bool,
    /// Time allowed for each network check, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout: u64,
}

/// Reads `.env` (as the quickstart does), runs every check and prints the report: `Ok`
/// when nothing is wrong, else [`CliError::DoctorFoundProblems`] carrying the report.
pub(crate) fn run(args: DoctorArgs) -> Result<Output, CliError> {
    let _ = dotenvy::dotenv();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let report = Report::new(runtime.block_on(check_all(timeout)));
    // Dropping the runtime would wait for its blocking tasks: a DNS lookup (getaddrinfo, on
    // a blocking thread) that hangs would keep the doctor past --timeout. Leave them.
    runtime.shutdown_background();
    let output = Output {
        stdout: if args.json {
            report.to_json()
        } else {
            report.to_text()
        },
        stderr: None,
    };
    if report.ok {
        Ok(output)
    } else {
        Err(CliError::DoctorFoundProblems {
            problems: report.problems,
            output,
        })
    }
}

/// Every check, in order: settings, the tenant, the session store.
pub async fn check_all(timeout: Duration) -> Vec<Finding> {
    let mut findings = vec![settings::secret(), settings::domain()];
    let redirect_uri = settings::redirect_uri(&mut findings);
    match settings::client(&redirect_uri, timeout) {
        Ok(client) => {
            findings.push(settings::cookies(&client));
            findings.push(settings::access_tokens(&client));
            findings.extend(check_tenant(&client, timeout).await);
        }
        Err(refused) => {
            findings.push(refused);
            findings.extend(CLIENT_CHECKS.iter().map(|check| {
                Finding::not_run(
                    check,
                    "the client configuration is refused (see `configuration`)",
                    "fix the configuration first",
                )
            }));
        }
    }
    findings.push(store::check(timeout).await);
    findings
}

/// The checks that talk to the tenant.
async fn check_tenant(client: &ServerClient, timeout: Duration) -> Vec<Finding> {
    let (discovery, metadata) = tenant::discovery(client).await;
    let mut findings = vec![discovery];
    let Some(metadata) = metadata else {
        let why = "the tenant's discovery failed (see above)";
        for check in [
            "clock_skew",
            "id_token_algorithm",
            "redirect_uri",
            "client_credentials",
        ] {
            findings.push(Finding::not_run(check, why, "fix discovery first"));
        }
        return findings;
    };
    let http = match http_client(timeout) {
        Ok(http) => http,
        Err(e) => {
            findings.push(Finding::not_run("http", e, "report this as a bug"));
            return findings;
        }
    };
    findings.extend(documents(&http, client).await);
    findings.extend(login_checks(&http, client, &metadata).await);
    findings
}

/// The checks on the raw discovery document: the clock and the ID-token algorithms.
async fn documents(http: &reqwest::Client, client: &ServerClient) -> Vec<Finding> {
    let mut findings = Vec::new();
    match tenant::fetch_raw(http, client).await {
        Ok(raw) => {
            findings.push(tenant::clock_skew(&raw));
            findings.push(tenant::algorithms(&raw, client));
        }
        Err(e) => {
            let why = format!("the discovery document cannot be fetched again: {e}");
            findings.push(Finding::not_run(
                "clock_skew",
                why.clone(),
                "check the network",
            ));
            findings.push(Finding::not_run(
                "id_token_algorithm",
                why,
                "check the network",
            ));
        }
    }
    findings
}

/// The checks that start a login: the authorization request and the token request.
async fn login_checks(
    http: &reqwest::Client,
    client: &ServerClient,
    metadata: &auth0_server_core::client::ProviderMetadata,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    match login::start(client).await {
        Ok(started) => {
            findings.push(login::authorize(http, client, &started).await);
            findings.push(login::credentials(client, started, metadata).await);
        }
        Err(e) => {
            let why = format!("a login cannot be started: {e}");
            findings.push(Finding::not_run(
                "redirect_uri",
                why.clone(),
                "see the message",
            ));
            findings.push(Finding::not_run(
                "client_credentials",
                why,
                "see the message",
            ));
        }
    }
    findings
}

/// An HTTP client that follows no redirect (an answer is read, not followed), with
/// `timeout` on each request.
fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    auth0_server_core::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

/// At most the first `limit` bytes of a tenant's answer: the doctor reads answers only to
/// show an excerpt or pick a few fields, so an endless or enormous body (a broken or hostile
/// server) is cut, never read to its end. A body that fails halfway is what was read.
pub(crate) async fn body_head(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    body
}
