//! [`PostgresTransactionBackend`]: logins in progress in a PostgreSQL table, under core's
//! [`ServerSideTransactionStore`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth0_store_core::store::{ServerSideTransactionStore, StoreError, TransactionBackend};
use sqlx::{AssertSqlSafe, Row};

use crate::error::{BACKEND, DataError, Db, data_error};
use crate::sql::Statements;

/// The longest key accepted, in bytes. Core's keys are 43-byte hashes; a longer one is
/// refused without a query.
pub const MAX_TRANSACTION_KEY_LEN: usize = 512;

/// The PostgreSQL transaction store: core's [`ServerSideTransactionStore`] (sealing, browser
/// binding, size and lifetime limits) over a [`PostgresTransactionBackend`]. Made by
/// [`PostgresBackend::transaction_store`](crate::PostgresBackend::transaction_store).
///
/// ```no_run
/// use auth0_store_core::{Secrets, model::TransactionData, store::{StoreContext, TransactionStore}};
/// # async fn demo(backend: auth0_store_postgres::PostgresBackend) -> Result<(), Box<dyn std::error::Error>> {
/// let secrets = Secrets::parse("a-secret-of-at-least-thirty-two-bytes")?;
/// let transactions = backend.transaction_store(&secrets);
/// let cx = StoreContext::new(); // one browser's request
/// transactions.set("_a0_tx:state1", &TransactionData::default(), &cx).await?;
/// assert!(transactions.get("_a0_tx:state1", &cx).await?.is_some());
/// # Ok(()) }
/// ```
pub type PostgresTransactionStore = ServerSideTransactionStore<PostgresTransactionBackend>;

/// A [`TransactionBackend`] in the transactions table of a
/// [`PostgresBackend`](crate::PostgresBackend), on the same pool. Each row lives as long as
/// the store says, measured by the database's clock; expired rows are deleted by the
/// backend's cleanup task. Clones share the pool.
#[derive(Clone)]
pub struct PostgresTransactionBackend {
    db: Db,
    sql: Arc<Statements>,
}

impl fmt::Debug for PostgresTransactionBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresTransactionBackend")
            .field("schema", &self.sql.names.schema)
            .field("table", &self.sql.names.transactions_table)
            .finish_non_exhaustive()
    }
}

impl PostgresTransactionBackend {
    pub(crate) fn new(db: Db, sql: Arc<Statements>) -> Self {
        Self { db, sql }
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

    /// Runs a statement that returns the data of at most one row.
    async fn fetch(&self, statement: &Arc<str>, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if Self::storable(key).is_err() {
            return Ok(None);
        }
        self.db
            .run(async {
                sqlx::query(AssertSqlSafe(statement.clone()))
                    .bind(key)
                    .fetch_optional(&self.db.pool)
                    .await
                    .and_then(|row| row.map(|r| r.try_get(0)).transpose())
                    .map_err(|e| self.db.error(e))
            })
            .await
    }
}

#[async_trait]
impl TransactionBackend for PostgresTransactionBackend {
    fn name(&self) -> &'static str {
        BACKEND
    }

    #[tracing::instrument(name = "store.transaction.put", skip_all, fields(backend = BACKEND))]
    async fn put(&self, key: &str, sealed: &[u8], ttl: Duration) -> Result<(), StoreError> {
        Self::storable(key).map_err(data_error)?;
        let ttl_micros = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
        self.db
            .run(async {
                sqlx::query(AssertSqlSafe(self.sql.tx_set.clone()))
                    .bind(key)
                    .bind(sealed)
                    .bind(ttl_micros)
                    .execute(&self.db.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| self.db.error(e))
            })
            .await
    }

    #[tracing::instrument(name = "store.transaction.get", skip_all, fields(backend = BACKEND))]
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.fetch(&self.sql.tx_get, key).await
    }

    #[tracing::instrument(name = "store.transaction.take", skip_all, fields(backend = BACKEND))]
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.fetch(&self.sql.tx_take, key).await
    }
}
