//! What the client records through the [`metrics`] facade: logins, refreshes, logouts and
//! revoked sessions (the stores record their own latency, see
//! `auth0_store_core::store::StoreMeters`). The application installs a recorder if it wants
//! them; with none, each of these is a thread-local read, an atomic load and a key built on
//! the stack (the failure counter's labels are a small allocation): nothing next to the
//! provider requests they count.
//!
//! Labels are of bounded cardinality only: a fixed word, or an [`Error::code`]; never a
//! user, a session, a domain or free text. The names and labels are listed in
//! docs/architecture.md ("Spans and metrics").

use super::Error;

/// Counter: logins started; label `flow` ([`LoginFlow`]): an authorization URL made
/// (`start_interactive_login`, or a magic link sent by `start_passwordless`), a code sent
/// (`start_passwordless`), a CIBA or custom token exchange login called.
pub const LOGINS_STARTED: &str = "auth0_logins_started_total";
/// Counter: logins completed with a stored session; label `flow`.
pub const LOGINS_COMPLETED: &str = "auth0_logins_completed_total";
/// Counter: login steps that failed; labels `flow`, `step` (`start`, `complete`) and `code`
/// ([`Error::code`]).
pub const LOGINS_FAILED: &str = "auth0_logins_failed_total";
/// Counter: refreshes for `get_access_token`; label `outcome`: `done` (this call's own
/// token request succeeded; what `get_access_token` does with the answer may still fail,
/// e.g. an ID token of another user), `coalesced` (another call's result, no request) or
/// `failed` (the token request failed).
pub const REFRESHES: &str = "auth0_refreshes_total";
/// Counter: `logout` calls; label `outcome`: `done` (whatever session the request had is
/// gone; a call without one counts too) or `failed` (the store failed).
pub const LOGOUTS: &str = "auth0_logouts_total";
/// Counter: back-channel logout requests; label `outcome`: `done` (the token was valid,
/// whether or not a session was found), `refused` (invalid or replayed token) or `failed`.
pub const BACKCHANNEL_LOGOUTS: &str = "auth0_backchannel_logouts_total";
/// Counter: sessions ended on the server; label `via`: `backchannel_logout` or `revoke`
/// (a user's or an operator's revocation).
pub const SESSIONS_REVOKED: &str = "auth0_sessions_revoked_total";

/// How a login logs the user in (the `flow` label of the login counters).
#[derive(Clone, Copy)]
pub(super) enum LoginFlow {
    /// Through the authorization endpoint and the callback: `start_interactive_login` and
    /// `complete_interactive_login`, and a passwordless magic link (sent by
    /// `start_passwordless`, completed at the callback).
    Interactive,
    /// A passwordless code: `start_passwordless`, then `verify_passwordless`.
    Passwordless,
    /// `login_backchannel` (CIBA): one call starts and completes it.
    Ciba,
    /// `login_with_custom_token_exchange`: one call starts and completes it.
    TokenExchange,
}

impl LoginFlow {
    fn as_str(self) -> &'static str {
        match self {
            Self::Interactive => "interactive",
            Self::Passwordless => "passwordless",
            Self::Ciba => "ciba",
            Self::TokenExchange => "token_exchange",
        }
    }
}

/// A step of a login (the `step` label of [`LOGINS_FAILED`]).
#[derive(Clone, Copy)]
pub(super) enum LoginStep {
    Start,
    Complete,
}

/// Counts a login step's outcome.
pub(super) fn login<T>(flow: LoginFlow, step: LoginStep, result: &Result<T, Error>) {
    let flow = flow.as_str();
    match (step, result) {
        (LoginStep::Start, Ok(_)) => metrics::counter!(LOGINS_STARTED, "flow" => flow).increment(1),
        (LoginStep::Complete, Ok(_)) => {
            metrics::counter!(LOGINS_COMPLETED, "flow" => flow).increment(1);
        }
        (step, Err(e)) => {
            let step = match step {
                LoginStep::Start => "start",
                LoginStep::Complete => "complete",
            };
            let code = e.code();
            metrics::counter!(LOGINS_FAILED, "flow" => flow, "step" => step, "code" => code)
                .increment(1);
        }
    }
}

/// Counts a login that one call starts and completes (CIBA, custom token exchange): a
/// start, then its outcome.
pub(super) fn one_call_login<T>(flow: LoginFlow, result: &Result<T, Error>) {
    login(flow, LoginStep::Start, &Ok::<(), Error>(()));
    login(flow, LoginStep::Complete, result);
}

/// How a refresh for `get_access_token` went (the `outcome` label of [`REFRESHES`]).
#[derive(Clone, Copy)]
pub(super) enum Refresh {
    Done,
    Coalesced,
    Failed,
}

/// Counts one refresh.
pub(super) fn refresh(outcome: Refresh) {
    let counter = match outcome {
        Refresh::Done => metrics::counter!(REFRESHES, "outcome" => "done"),
        Refresh::Coalesced => metrics::counter!(REFRESHES, "outcome" => "coalesced"),
        Refresh::Failed => metrics::counter!(REFRESHES, "outcome" => "failed"),
    };
    counter.increment(1);
}

/// Counts a logout.
pub(super) fn logout<T>(result: &Result<T, Error>) {
    match result {
        Ok(_) => metrics::counter!(LOGOUTS, "outcome" => "done").increment(1),
        Err(_) => metrics::counter!(LOGOUTS, "outcome" => "failed").increment(1),
    }
}

/// Counts a back-channel logout request, and the sessions it ended.
pub(super) fn backchannel_logout(result: &Result<u64, Error>) {
    match result {
        Ok(ended) => {
            metrics::counter!(BACKCHANNEL_LOGOUTS, "outcome" => "done").increment(1);
            metrics::counter!(SESSIONS_REVOKED, "via" => "backchannel_logout").increment(*ended);
        }
        Err(Error::InvalidLogoutToken(_)) => {
            metrics::counter!(BACKCHANNEL_LOGOUTS, "outcome" => "refused").increment(1);
        }
        Err(_) => metrics::counter!(BACKCHANNEL_LOGOUTS, "outcome" => "failed").increment(1),
    }
}

/// Counts the sessions a revocation ended.
pub(super) fn revoked(ended: u64) {
    metrics::counter!(SESSIONS_REVOKED, "via" => "revoke").increment(ended);
}

/// Describes every metric the SDK records (the client's above and the stores'
/// `auth0_store_*`) to the installed recorder: their help text and units, which an exporter
/// shows (Prometheus' `# HELP` lines). Call it once, after installing the recorder; the
/// metrics are recorded whether or not it is called.
///
/// ```
/// // After e.g. metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder():
/// auth0_server_core::client::meters::describe();
/// ```
pub fn describe() {
    use crate::store::{READ_CACHE_HITS, READ_CACHE_MISSES, STORE_OPERATION_SECONDS};
    use metrics::{Unit, describe_counter, describe_histogram};

    describe_counter!(LOGINS_STARTED, "Logins started, by flow.");
    describe_counter!(
        LOGINS_COMPLETED,
        "Logins completed with a stored session, by flow."
    );
    describe_counter!(
        LOGINS_FAILED,
        "Login steps that failed, by flow, step and error code."
    );
    describe_counter!(
        REFRESHES,
        "Access-token refreshes: done, coalesced or failed."
    );
    describe_counter!(LOGOUTS, "Logout calls, by outcome.");
    describe_counter!(
        BACKCHANNEL_LOGOUTS,
        "Back-channel logout requests, by outcome."
    );
    describe_counter!(SESSIONS_REVOKED, "Sessions ended on the server, by how.");
    describe_histogram!(
        STORE_OPERATION_SECONDS,
        Unit::Seconds,
        "Session and transaction store operations' latency, by store and operation."
    );
    describe_counter!(READ_CACHE_HITS, "Session reads answered by the read cache.");
    describe_counter!(
        READ_CACHE_MISSES,
        "Session reads the read cache did not hold."
    );
}
