//! [`PostgresTransactionStore`]: logins in progress, sealed, in a PostgreSQL table.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth0_server_core::Secrets;
use auth0_server_core::model::TransactionData;
use auth0_server_core::seal::RecordSealer;
use auth0_server_core::store::{StoreContext, StoreError, TransactionStore};
use sqlx::{AssertSqlSafe, Row};

use crate::error::{BACKEND, DataError, Db, data_error};
use crate::sql::Statements;

/// How long a login may take between the redirect to the provider and the callback: one hour.
pub const DEFAULT_TRANSACTION_TTL: Duration = Duration::from_secs(60 * 60);
/// The largest sealed transaction accepted: 64 KiB. A transaction is a few hundred bytes plus
/// the application's `app_state`.
pub const DEFAULT_MAX_TRANSACTION_SIZE: usize = 64 * 1024;
/// The longest key accepted (`"{transaction_identifier}:{state}"`), in bytes. A longer key
/// (a forged `state` in a callback URL) reads as no transaction without a query.
pub const MAX_TRANSACTION_KEY_LEN: usize = 512;
/// Prefix of the associated data a transaction is sealed with, before its key, so a sealed
/// transaction never opens as anything else (and a session record never opens as one).
const AAD_PREFIX: &str = "auth0-server transaction:";

/// A [`TransactionStore`] in the PostgreSQL table of a [`PostgresBackend`](crate::PostgresBackend)'s
/// [`transaction_store`](crate::PostgresBackend::transaction_store), on the same pool.
///
/// A transaction holds the PKCE `code_verifier` and the `nonce`, so it is stored sealed
/// (XChaCha20-Poly1305 with core's [`RecordSealer`], bound to its key), never as clear JSON:
/// someone who can read the table cannot complete a login with what is in it. It lives
/// [`DEFAULT_TRANSACTION_TTL`], measured by the database's clock, and expired rows are
/// deleted by the backend's cleanup task. Clones share the pool.
///
/// A transaction that does not open (another secret, tampered) reads as absent, never as an
/// error.
///
/// ```no_run
/// use auth0_server_core::{Secrets, model::TransactionData, store::{StoreContext, TransactionStore}};
/// # async fn demo(backend: auth0_store_postgres::PostgresBackend) -> Result<(), Box<dyn std::error::Error>> {
/// let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?;
/// let transactions = backend.transaction_store(&secrets);
/// let cx = StoreContext::new();
/// transactions.set("_a0_tx:state1", &TransactionData::default(), &cx).await?;
/// assert!(transactions.get("_a0_tx:state1", &cx).await?.is_some());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresTransactionStore {
    db: Db,
    sql: Arc<Statements>,
    sealer: RecordSealer,
    ttl: Duration,
    max_size: usize,
}

impl fmt::Debug for PostgresTransactionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresTransactionStore")
            .field("schema", &self.sql.names.schema)
            .field("table", &self.sql.names.transactions_table)
            .field("ttl", &self.ttl)
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

impl PostgresTransactionStore {
    pub(crate) fn new(db: Db, sql: Arc<Statements>, secrets: &Secrets) -> Self {
        Self {
            db,
            sql,
            sealer: RecordSealer::new(secrets),
            ttl: DEFAULT_TRANSACTION_TTL,
            max_size: DEFAULT_MAX_TRANSACTION_SIZE,
        }
    }

    /// Sets how long a transaction lives (default [`DEFAULT_TRANSACTION_TTL`]).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the largest sealed transaction accepted, in bytes (default
    /// [`DEFAULT_MAX_TRANSACTION_SIZE`]).
    pub fn with_max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    fn aad(key: &str) -> Vec<u8> {
        format!("{AAD_PREFIX}{key}").into_bytes()
    }

    /// Whether `key` can be in the table at all.
    fn storable(key: &str) -> Result<(), DataError> {
        if key.len() > MAX_TRANSACTION_KEY_LEN {
            return Err(DataError::KeyTooLong {
                len: key.len(),
                limit: MAX_TRANSACTION_KEY_LEN,
            });
        }
        if key.contains('\0') {
            return Err(DataError::NulCharacter {
                field: "transaction key",
            });
        }
        Ok(())
    }
}

#[async_trait]
impl TransactionStore for PostgresTransactionStore {
    #[tracing::instrument(name = "store.transaction.set", skip_all, fields(backend = BACKEND))]
    async fn set(
        &self,
        key: &str,
        transaction: &TransactionData,
        _cx: &StoreContext,
    ) -> Result<(), StoreError> {
        Self::storable(key).map_err(data_error)?;
        let json = serde_json::to_vec(transaction)?;
        let sealed = self.sealer.seal(&Self::aad(key), &json)?;
        if sealed.len() > self.max_size {
            return Err(StoreError::TooLarge {
                size: sealed.len(),
                limit: self.max_size,
            });
        }
        let ttl_micros = i64::try_from(self.ttl.as_micros()).unwrap_or(i64::MAX);
        self.db
            .run(async {
                sqlx::query(AssertSqlSafe(self.sql.tx_set.clone()))
                    .bind(key)
                    .bind(sealed.as_slice())
                    .bind(ttl_micros)
                    .execute(&self.db.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.db.error(e))
            })
            .await
    }

    #[tracing::instrument(name = "store.transaction.get", skip_all, fields(backend = BACKEND))]
    async fn get(
        &self,
        key: &str,
        _cx: &StoreContext,
    ) -> Result<Option<TransactionData>, StoreError> {
        if Self::storable(key).is_err() {
            return Ok(None);
        }
        let sealed: Option<Vec<u8>> = self
            .db
            .run(async {
                sqlx::query(AssertSqlSafe(self.sql.tx_get.clone()))
                    .bind(key)
                    .fetch_optional(&self.db.pool)
                    .await
                    .and_then(|row| row.map(|r| r.try_get(0)).transpose())
                    .map_err(|e| self.db.error(e))
            })
            .await?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let json = match self.sealer.open(&Self::aad(key), &sealed) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(error = %e, "transaction does not open; treated as absent");
                return Ok(None);
            }
        };
        match serde_json::from_slice(&json) {
            Ok(tx) => Ok(Some(tx)),
            Err(e) => {
                tracing::warn!(error = %e, "transaction is not a transaction; treated as absent");
                Ok(None)
            }
        }
    }

    #[tracing::instrument(name = "store.transaction.delete", skip_all, fields(backend = BACKEND))]
    async fn delete(&self, key: &str, _cx: &StoreContext) -> Result<(), StoreError> {
        if Self::storable(key).is_err() {
            return Ok(());
        }
        self.db
            .run(async {
                sqlx::query(AssertSqlSafe(self.sql.tx_delete.clone()))
                    .bind(key)
                    .execute(&self.db.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.db.error(e))
            })
            .await
    }
}
