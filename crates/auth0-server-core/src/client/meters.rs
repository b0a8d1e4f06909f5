//! What the client records through the [`metrics`] facade: logins, refreshes, logouts and
//! revoked sessions (the stores record their own latency, see
//! `auth0_store_core::store::StoreMeters`). The application installs a recorder if it wants
//! them; with none, each of these is a branch and a thread-local read.
//!
//! Labels are of bounded cardinality only: a fixed word, or an [`Error::code`]; never a
//! user, a session, a domain or free text. The names and labels are listed in
//! docs/architecture.md ("Spans and metrics").

use super::Error;

/// Counter: logins whose authorization URL was made (`start_interactive_login` succeeded).
pub const LOGINS_STARTED: &str = "auth0_logins_started_total";
/// Counter: logins completed (`complete_interactive_login` stored a session).
pub const LOGINS_COMPLETED: &str = "auth0_logins_completed_total";
/// Counter: login steps that failed; labels `step` (`start`, `complete`) and `code`
/// ([`Error::code`]).
pub const LOGINS_FAILED: &str = "auth0_logins_failed_total";
/// Counter: refreshes for `get_access_token`; label `outcome`: `done` (this call's own
/// token request), `coalesced` (another call's result, no request) or `failed`.
pub const REFRESHES: &str = "auth0_refreshes_total";
/// Counter: logouts (the session deleted); label `outcome` (`done`, `failed`).
pub const LOGOUTS: &str = "auth0_logouts_total";
/// Counter: back-channel logout requests; label `outcome`: `done` (the token was valid,
/// whether or not a session was found), `refused` (invalid or replayed token) or `failed`.
pub const BACKCHANNEL_LOGOUTS: &str = "auth0_backchannel_logouts_total";
/// Counter: sessions ended on the server; label `via`: `backchannel_logout` or `revoke`
/// (a user's or an operator's revocation).
pub const SESSIONS_REVOKED: &str = "auth0_sessions_revoked_total";

/// A step of an interactive login (the `step` label of [`LOGINS_FAILED`]).
#[derive(Clone, Copy)]
pub(super) enum LoginStep {
    Start,
    Complete,
}

/// Counts a login step's outcome.
pub(super) fn login<T>(step: LoginStep, result: &Result<T, Error>) {
    match (step, result) {
        (LoginStep::Start, Ok(_)) => metrics::counter!(LOGINS_STARTED).increment(1),
        (LoginStep::Complete, Ok(_)) => metrics::counter!(LOGINS_COMPLETED).increment(1),
        (step, Err(e)) => {
            let step = match step {
                LoginStep::Start => "start",
                LoginStep::Complete => "complete",
            };
            metrics::counter!(LOGINS_FAILED, "step" => step, "code" => e.code()).increment(1);
        }
    }
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

    describe_counter!(
        LOGINS_STARTED,
        "Logins sent to the provider's authorization endpoint."
    );
    describe_counter!(LOGINS_COMPLETED, "Logins completed with a stored session.");
    describe_counter!(
        LOGINS_FAILED,
        "Login steps that failed, by step and error code."
    );
    describe_counter!(
        REFRESHES,
        "Access-token refreshes: done, coalesced or failed."
    );
    describe_counter!(LOGOUTS, "Logouts that deleted the session.");
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
