//! `sessions list` and `sessions revoke`: a user's sessions in the app's server-side store,
//! reached with the same environment as the app (`AUTH0_SECRET`, `AUTH0_DOMAIN`,
//! `AUTH0_SESSION_STORE`, `REDIS_URL`, `DATABASE_URL`).

use std::sync::Arc;

use auth0_server::stores::{
    CookieStateStore, PostgresBackend, RedisBackend, StoreChoice, StoreChoiceError,
};
use auth0_server_core::Secrets;
use auth0_server_core::model::normalize_domain;
use auth0_server_core::store::{
    RevokeSessions, ServerSideStateStore, SessionHandle, SessionOwner, SessionSummary, StateStore,
    StoreContext, StoreError,
};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::args::DEFAULT_IDENTIFIER;
use crate::time::rfc3339_utc;
use crate::{CliError, Context, Output};

/// The environment variable the issuer domain is read from when `--domain` is not given.
pub const DOMAIN_ENV: &str = "AUTH0_DOMAIN";

/// The `sessions` commands.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List a user's live sessions: handle, created, last active, expires, metadata.
    List(ListArgs),
    /// End one of a user's sessions (--id), or all of them.
    Revoke(RevokeArgs),
}

/// Whose sessions, and where they are kept.
#[derive(Debug, Args)]
pub struct OwnerArgs {
    /// The user's `sub` (for example auth0|64f…)
    #[arg(long)]
    pub sub: String,
    /// The issuer domain the sessions were made under [default: $AUTH0_DOMAIN]
    #[arg(long)]
    pub domain: Option<String>,
    /// The session cookie's identifier the app uses
    #[arg(long, value_name = "ID", default_value = DEFAULT_IDENTIFIER)]
    pub identifier: String,
}

/// Arguments of `sessions list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Whose sessions.
    #[command(flatten)]
    pub owner: OwnerArgs,
    /// Print JSON, for scripts
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `sessions revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Whose sessions.
    #[command(flatten)]
    pub owner: OwnerArgs,
    /// The handle of the one session to end (from `sessions list`). A handle may begin with
    /// `-`, so the value is taken as it is.
    #[arg(long, value_name = "HANDLE", allow_hyphen_values = true)]
    pub id: Option<String>,
    /// End all of the user's sessions (required without --id, so a forgotten --id never
    /// logs the user out everywhere)
    #[arg(long, conflicts_with = "id")]
    pub all: bool,
}

/// Why a `sessions` command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionsError {
    /// The store configuration is wrong.
    #[error(transparent)]
    Choice(#[from] StoreChoiceError),
    /// The store failed, or cannot list sessions (the cookie store).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No issuer domain.
    #[error("no issuer domain: pass --domain or set AUTH0_DOMAIN as the app does")]
    NoDomain,
    /// The memory store lives in the app's process.
    #[error(
        "AUTH0_SESSION_STORE=memory keeps sessions inside the app's own process, which this \
         command cannot reach: use the app's pages, or Redis or PostgreSQL"
    )]
    Memory,
    /// Neither `--id` nor `--all`.
    #[error(
        "say which sessions to end: --id HANDLE for one (from `auth0-server sessions list`), \
         or --all to log the user out everywhere"
    )]
    NothingSelected,
    /// `--id` is not shaped like a handle.
    #[error("--id is not a session handle: use one `auth0-server sessions list` printed")]
    InvalidHandle,
    /// No session of the user has the handle.
    #[error(
        "no session of {sub} has the handle {handle}: it may have ended already; list them \
         with `auth0-server sessions list --sub {sub}`"
    )]
    UnknownHandle {
        /// The user.
        sub: String,
        /// The handle given.
        handle: String,
    },
    /// The async runtime could not start.
    #[error("the async runtime could not start: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Runs a `sessions` command.
pub(crate) fn run(command: SessionsCommand, context: Context<'_>) -> Result<Output, CliError> {
    let secret = match context.env_secret {
        Some(env) => env.into_string().map_err(|_| CliError::SecretNotUnicode)?,
        None => String::new(),
    };
    let secrets = Secrets::parse(&secret)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SessionsError::Runtime)?;
    Ok(runtime.block_on(async move {
        let store = state_store(&secrets).await?;
        match command {
            SessionsCommand::List(args) => list(&*store, args).await,
            SessionsCommand::Revoke(args) => revoke(&*store, args).await,
        }
    })?)
}

/// The app's state store, from the same environment as the app.
async fn state_store(secrets: &Secrets) -> Result<Arc<dyn StateStore>, SessionsError> {
    Ok(match StoreChoice::from_env()? {
        StoreChoice::Cookie => Arc::new(CookieStateStore::new(secrets.clone())),
        StoreChoice::Memory => return Err(SessionsError::Memory),
        StoreChoice::Redis(url) => {
            let backend = RedisBackend::from_url(&url).await?;
            Arc::new(ServerSideStateStore::new(backend, secrets))
        }
        StoreChoice::Postgres(url) => {
            let backend = PostgresBackend::connect(&url).await?;
            Arc::new(ServerSideStateStore::new(backend, secrets))
        }
    })
}

/// The owner the arguments name; at the app's own domain (`AUTH0_DOMAIN`), also the
/// sessions written before sessions recorded their domain.
fn owner(args: &OwnerArgs) -> Result<SessionOwner, SessionsError> {
    let configured = std::env::var(DOMAIN_ENV)
        .ok()
        .filter(|d| !d.trim().is_empty());
    let domain = args
        .domain
        .clone()
        .or_else(|| configured.clone())
        .filter(|d| !d.trim().is_empty())
        .ok_or(SessionsError::NoDomain)?;
    let owner = SessionOwner::new(&domain, args.sub.clone());
    let is_configured = configured.is_some_and(|c| normalize_domain(&c) == owner.domain);
    Ok(if is_configured {
        owner.with_unrecorded_domain()
    } else {
        owner
    })
}

async fn list(store: &dyn StateStore, args: ListArgs) -> Result<Output, SessionsError> {
    let owner = owner(&args.owner)?;
    let sessions = store
        .list_sessions(&args.owner.identifier, &owner, &StoreContext::new())
        .await?;
    let stdout = if args.json {
        let rows: Vec<_> = sessions.iter().map(json_row).collect();
        format!("{}\n", serde_json::Value::Array(rows))
    } else {
        table(&sessions)
    };
    let stderr = Some(format!("{} session(s) of {}", sessions.len(), owner.sub));
    Ok(Output { stdout, stderr })
}

fn json_row(s: &SessionSummary) -> serde_json::Value {
    let metadata: serde_json::Map<_, _> = s
        .metadata
        .iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    json!({
        "handle": s.handle.as_str(),
        "created_at": s.created_at,
        "last_active_at": s.last_active_at,
        "expires_at": s.expires_at,
        "metadata": metadata,
    })
}

fn table(sessions: &[SessionSummary]) -> String {
    let mut out = format!(
        "{:<22}  {:<20}  {:<20}  {:<20}  METADATA\n",
        "HANDLE", "CREATED", "LAST ACTIVE", "EXPIRES"
    );
    for s in sessions {
        let metadata: Vec<String> = s
            .metadata
            .iter()
            .map(|(k, v)| format!("{}={}", k.escape_debug(), v.escape_debug()))
            .collect();
        out.push_str(&format!(
            "{:<22}  {:<20}  {:<20}  {:<20}  {}\n",
            s.handle.as_str(),
            rfc3339_utc(s.created_at),
            rfc3339_utc(s.last_active_at),
            rfc3339_utc(s.expires_at),
            metadata.join(" ")
        ));
    }
    out
}

async fn revoke(store: &dyn StateStore, args: RevokeArgs) -> Result<Output, SessionsError> {
    let owner = owner(&args.owner)?;
    let which = match &args.id {
        Some(text) => {
            RevokeSessions::One(SessionHandle::parse(text).ok_or(SessionsError::InvalidHandle)?)
        }
        None if args.all => RevokeSessions::All,
        None => return Err(SessionsError::NothingSelected),
    };
    let cx = StoreContext::new();
    let done = store
        .revoke_sessions(&args.owner.identifier, &owner, &which, &cx)
        .await?;
    let ended = done.ended;
    if let (Some(handle), 0) = (&args.id, ended) {
        return Err(SessionsError::UnknownHandle {
            sub: owner.sub,
            handle: handle.clone(),
        });
    }
    Ok(Output {
        stdout: format!("revoked {ended} session(s) of {}\n", owner.sub),
        stderr: unreadable_note(done.unreadable),
    })
}

/// What to tell the operator about sessions left because they do not open with this
/// `AUTH0_SECRET` and `--identifier` (another app's, or a wrong secret).
fn unreadable_note(unreadable: u64) -> Option<String> {
    (unreadable > 0).then(|| {
        format!(
            "{unreadable} sessions could not be read with this secret/identifier and were not \
             revoked: check AUTH0_SECRET and --identifier are the app's"
        )
    })
}
