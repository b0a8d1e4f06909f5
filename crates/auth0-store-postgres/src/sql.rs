//! The SQL the backend runs, written once per configuration (the names are validated and
//! quoted; every value is a bind parameter).
//!
//! Time: `expires_at` arrives from the layer above as a `SystemTime` and is bound as whole
//! seconds and microseconds since the Unix epoch (`to_timestamp($s) + $us * 1 µs`); every
//! comparison is with the database's `now()`, so the instances' clocks never decide whether a
//! session is live.

use std::sync::Arc;

use crate::config::{Index, Names};

/// A statement this backend runs, for [`PostgresBackend::sql`](crate::PostgresBackend::sql):
/// to read it in a review, or to `EXPLAIN` it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Statement {
    /// `create`: insert with version 1 unless a live row has the id (an expired one is
    /// replaced). Parameters: id, data, sid, sub, domain, expiry seconds, expiry microseconds.
    Create,
    /// `load`: the live row by id. Parameter: id.
    Load,
    /// `update`: compare-and-set on the version of a live row. Parameters: id, data, sid, sub,
    /// domain, expiry seconds, expiry microseconds, expected version.
    Update,
    /// After an `update` that wrote nothing: the version of the live row, if any. Parameter: id.
    LiveVersion,
    /// `delete`. Parameter: id.
    Delete,
    /// Back-channel logout with a `sid` (and maybe a `sub`), by the `(domain, sid)` index.
    /// Parameters: domain, sid, sub or NULL.
    DeleteBySid,
    /// Back-channel logout with only a `sub`, by the `(domain, sub)` index. Parameters:
    /// domain, sub.
    DeleteBySub,
    /// A user's live sessions, by the `(domain, sub)` index, the most recently written
    /// first; the domain "" finds the sessions with no recorded domain (NULL). Parameters:
    /// domain, sub, limit.
    ListBySub,
    /// One batch of the cleanup of expired sessions: their ids by the `expires_at` index
    /// (rows another instance is deleting are skipped), then the rows by primary key, as an
    /// array so the planner never turns it into a join over the whole table. Parameter: batch
    /// size.
    DeleteExpiredSessions,
    /// Store a transaction (insert or replace). Parameters: key, sealed data, lifetime in
    /// microseconds.
    TransactionSet,
    /// Read a live transaction. Parameter: key.
    TransactionGet,
    /// Delete a transaction and return its data if it was live, in one statement (of two
    /// concurrent takes only one gets it). Parameter: key.
    TransactionTake,
    /// One batch of the cleanup of expired transactions. Parameter: batch size.
    DeleteExpiredTransactions,
    /// Record a back-channel logout token's id unless a live record of it exists (an expired
    /// one is replaced); returns a row only when recorded. Parameters: key, expiry seconds,
    /// expiry microseconds.
    LogoutTokenRecord,
    /// Forget a back-channel logout token's id. Parameter: key.
    LogoutTokenForget,
    /// One batch of the cleanup of expired logout-token ids. Parameter: batch size.
    DeleteExpiredLogoutTokens,
}

/// The columns `load` reads; `expires_at` as microseconds since the epoch. Exact: from
/// PostgreSQL 14 `extract` gives a numeric; before, a double that still rounds to the right
/// microsecond for any date before 2106.
const RECORD_COLUMNS: &str = "data, sid, sub, domain, version, (extract(epoch FROM expires_at) * 1000000)::bigint AS expires_us";

/// A timestamptz from two parameters: whole seconds and microseconds since the epoch.
fn timestamp(seconds: usize) -> String {
    format!(
        "(to_timestamp(${seconds}::bigint) + ${}::integer * INTERVAL '1 microsecond')",
        seconds + 1
    )
}

/// Every statement's text, shared by clones of a backend and its transaction store.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) names: Names,
    pub(crate) create: Arc<str>,
    pub(crate) load: Arc<str>,
    pub(crate) update: Arc<str>,
    pub(crate) live_version: Arc<str>,
    pub(crate) delete: Arc<str>,
    pub(crate) delete_by_sid: Arc<str>,
    pub(crate) delete_by_sub: Arc<str>,
    pub(crate) list_by_sub: Arc<str>,
    pub(crate) delete_expired_sessions: Arc<str>,
    pub(crate) tx_set: Arc<str>,
    pub(crate) tx_get: Arc<str>,
    pub(crate) tx_take: Arc<str>,
    pub(crate) delete_expired_transactions: Arc<str>,
    pub(crate) logout_token_record: Arc<str>,
    pub(crate) logout_token_forget: Arc<str>,
    pub(crate) delete_expired_logout_tokens: Arc<str>,
}

impl Statements {
    pub(crate) fn new(names: Names) -> Self {
        let t = names.sessions();
        let tx = names.transactions();
        let lt = names.logout_tokens();
        let expires = timestamp(6);
        // How many of a deletion's rows were still live: those are the sessions that ended.
        let count_live = "SELECT count(*) FILTER (WHERE expires_at > now()) FROM ended";
        Self {
            create: format!(
                "INSERT INTO {t} AS t (id, data, sid, sub, domain, version, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, 1, {expires}) \
                 ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, sid = EXCLUDED.sid, \
                 sub = EXCLUDED.sub, domain = EXCLUDED.domain, version = 1, \
                 expires_at = EXCLUDED.expires_at, created_at = now(), updated_at = now() \
                 WHERE t.expires_at <= now()"
            )
            .into(),
            load: format!("SELECT {RECORD_COLUMNS} FROM {t} WHERE id = $1 AND expires_at > now()")
                .into(),
            update: format!(
                "UPDATE {t} SET data = $2, sid = $3, sub = $4, domain = $5, \
                 expires_at = {expires}, version = version + 1, updated_at = now() \
                 WHERE id = $1 AND version = $8 AND expires_at > now()"
            )
            .into(),
            live_version: format!("SELECT version FROM {t} WHERE id = $1 AND expires_at > now()")
                .into(),
            delete: format!("DELETE FROM {t} WHERE id = $1").into(),
            delete_by_sid: format!(
                "WITH ended AS (DELETE FROM {t} WHERE domain = $1 AND sid = $2 \
                 AND ($3::text IS NULL OR sub = $3) RETURNING expires_at) {count_live}"
            )
            .into(),
            delete_by_sub: format!(
                "WITH ended AS (DELETE FROM {t} WHERE domain = $1 AND sub = $2 \
                 RETURNING expires_at) {count_live}"
            )
            .into(),
            list_by_sub: format!(
                "SELECT id, {RECORD_COLUMNS} FROM {t} \
                 WHERE (domain = $1 OR ($1 = '' AND domain IS NULL)) AND sub = $2 \
                 AND expires_at > now() ORDER BY updated_at DESC LIMIT $3"
            )
            .into(),
            delete_expired_sessions: format!(
                "DELETE FROM {t} WHERE id = ANY(ARRAY(SELECT id FROM {t} \
                 WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED))"
            )
            .into(),
            tx_set: format!(
                "INSERT INTO {tx} (key, data, expires_at) \
                 VALUES ($1, $2, now() + $3::bigint * INTERVAL '1 microsecond') \
                 ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, \
                 expires_at = EXCLUDED.expires_at"
            )
            .into(),
            tx_get: format!("SELECT data FROM {tx} WHERE key = $1 AND expires_at > now()").into(),
            tx_take: format!(
                "WITH taken AS (DELETE FROM {tx} WHERE key = $1 RETURNING data, expires_at) \
                 SELECT data FROM taken WHERE expires_at > now()"
            )
            .into(),
            delete_expired_transactions: format!(
                "DELETE FROM {tx} WHERE key = ANY(ARRAY(SELECT key FROM {tx} \
                 WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED))"
            )
            .into(),
            logout_token_record: format!(
                "INSERT INTO {lt} AS t (key, expires_at) VALUES ($1, {}) \
                 ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at \
                 WHERE t.expires_at <= now() RETURNING 1",
                timestamp(2)
            )
            .into(),
            logout_token_forget: format!("DELETE FROM {lt} WHERE key = $1").into(),
            delete_expired_logout_tokens: format!(
                "DELETE FROM {lt} WHERE key = ANY(ARRAY(SELECT key FROM {lt} \
                 WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED))"
            )
            .into(),
            names,
        }
    }

    pub(crate) fn get(&self, statement: Statement) -> &Arc<str> {
        match statement {
            Statement::Create => &self.create,
            Statement::Load => &self.load,
            Statement::Update => &self.update,
            Statement::LiveVersion => &self.live_version,
            Statement::Delete => &self.delete,
            Statement::DeleteBySid => &self.delete_by_sid,
            Statement::DeleteBySub => &self.delete_by_sub,
            Statement::ListBySub => &self.list_by_sub,
            Statement::DeleteExpiredSessions => &self.delete_expired_sessions,
            Statement::TransactionSet => &self.tx_set,
            Statement::TransactionGet => &self.tx_get,
            Statement::TransactionTake => &self.tx_take,
            Statement::DeleteExpiredTransactions => &self.delete_expired_transactions,
            Statement::LogoutTokenRecord => &self.logout_token_record,
            Statement::LogoutTokenForget => &self.logout_token_forget,
            Statement::DeleteExpiredLogoutTokens => &self.delete_expired_logout_tokens,
        }
    }

    /// The versioned migrations for these names, oldest first: `(version, description, sql)`.
    /// A migration, once released, is never edited: a change is a new migration.
    pub(crate) fn migrations(&self) -> Vec<(i64, &'static str, String)> {
        let n = &self.names;
        let t = n.sessions();
        let tx = n.transactions();
        let lt = n.logout_tokens();
        let q = |i: Index| crate::config::quote(&n.index(i));
        vec![
            (
                1,
                "sessions and transactions tables with their indexes",
                format!(
                    "CREATE TABLE {t} (\
                     id text PRIMARY KEY, \
                     data bytea NOT NULL, \
                     sid text, \
                     sub text, \
                     domain text, \
                     version bigint NOT NULL DEFAULT 1, \
                     expires_at timestamptz NOT NULL, \
                     created_at timestamptz NOT NULL DEFAULT now(), \
                     updated_at timestamptz NOT NULL DEFAULT now()); \
                 CREATE INDEX {} ON {t} (expires_at); \
                 CREATE INDEX {} ON {t} (domain, sid); \
                 CREATE INDEX {} ON {t} (domain, sub); \
                 CREATE TABLE {tx} (\
                     key text PRIMARY KEY, \
                     data bytea NOT NULL, \
                     expires_at timestamptz NOT NULL); \
                 CREATE INDEX {} ON {tx} (expires_at);",
                    q(Index::SessionsExpiresAt),
                    q(Index::SessionsDomainSid),
                    q(Index::SessionsDomainSub),
                    q(Index::TransactionsExpiresAt),
                ),
            ),
            (
                2,
                "back-channel logout tokens already accepted",
                format!(
                    "CREATE TABLE {lt} (\
                     key text PRIMARY KEY, \
                     expires_at timestamptz NOT NULL); \
                 CREATE INDEX {} ON {lt} (expires_at);",
                    q(Index::LogoutTokensExpiresAt),
                ),
            ),
        ]
    }
}
