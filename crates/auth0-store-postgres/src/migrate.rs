//! Embedded, versioned migrations, run under an advisory lock.

use std::collections::HashSet;

use auth0_store_core::store::StoreError;
use sqlx::{AssertSqlSafe, Row};

use crate::PostgresBackend;
use crate::error::BACKEND;

/// SQLSTATEs of losing a race to create the same schema (`duplicate_schema`,
/// `unique_violation` on the catalog).
const SCHEMA_RACE_CODES: [&str; 2] = ["42P06", "23505"];

impl PostgresBackend {
    /// Brings the schema, the tables and their indexes up to date: creates the schema if it
    /// is missing, then runs, in order, each embedded migration not yet recorded in
    /// `{table}_migrations`, all in one transaction.
    ///
    /// Safe to call from every instance at start-up, all at once: it first takes a
    /// transaction-scoped advisory lock (`pg_advisory_xact_lock`) on a key derived from the
    /// schema and table names, so the instances take turns and each after the first finds
    /// nothing left to do. A failure rolls everything back.
    ///
    /// The database user needs `CREATE` on the schema (and on the database when the schema
    /// does not exist yet). Without it, create the objects once with a privileged user by
    /// calling this with a pool of that user.
    ///
    /// ```no_run
    /// # async fn demo(pool: auth0_store_postgres::sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
    /// let backend = auth0_store_postgres::PostgresBackend::new(pool);
    /// backend.migrate().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] with the sqlx error as source when PostgreSQL refuses a
    /// statement (permissions, a table of that name made by something else) or is
    /// unreachable; [`StoreError::Timeout`] when the pool has no connection in time.
    #[tracing::instrument(name = "store.migrate", skip_all, fields(backend = BACKEND, schema = %self.schema(), table = %self.table()))]
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let err = |e| self.db.error(e);
        let names = &self.sql.names;
        let mut tx = self.db.pool.begin().await.map_err(err)?;

        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(names.migration_lock_key())
            .execute(&mut *tx)
            .await
            .map_err(err)?;

        let schema_exists: bool =
            sqlx::query("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
                .bind(&names.schema)
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.try_get(0))
                .map_err(err)?;
        if !schema_exists {
            // Another backend (with another table, so another lock) may create the same
            // schema at the same moment: a savepoint lets us lose that race gracefully.
            let mut savepoint = sqlx::Connection::begin(&mut *tx).await.map_err(err)?;
            let created = sqlx::raw_sql(AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                names.schema_quoted()
            )))
            .execute(&mut *savepoint)
            .await;
            match created {
                Ok(_) => savepoint.commit().await.map_err(err)?,
                Err(e) if is_schema_race(&e) => savepoint.rollback().await.map_err(err)?,
                Err(e) => return Err(err(e)),
            }
        }

        let ledger = names.migrations();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {ledger} (\
                 version bigint PRIMARY KEY, \
                 description text NOT NULL, \
                 applied_at timestamptz NOT NULL DEFAULT now())"
        )))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        let applied: HashSet<i64> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT version FROM {ledger}")))
                .fetch_all(&mut *tx)
                .await
                .map_err(err)?
                .into_iter()
                .collect();

        for (version, description, sql) in self.sql.migrations() {
            if applied.contains(&version) {
                continue;
            }
            tracing::info!(version, description, "applying migration");
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO {ledger} (version, description) VALUES ($1, $2)"
            )))
            .bind(version)
            .bind(description)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }
}

impl PostgresBackend {
    /// The versions of the embedded migrations not yet recorded in `{table}_migrations`
    /// (all of them when that table is missing), oldest first. It only reads: a check
    /// (`auth0-server doctor`) can ask without a user that may `CREATE`.
    ///
    /// ```no_run
    /// # async fn demo(pool: auth0_store_postgres::sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
    /// let backend = auth0_store_postgres::PostgresBackend::new(pool);
    /// assert!(backend.pending_migrations().await?.is_empty(), "run migrate() first");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when PostgreSQL is unreachable or refuses the query.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        let err = |e| self.db.error(e);
        let ledger = self.sql.names.migrations();
        let exists: bool = sqlx::query("SELECT to_regclass($1) IS NOT NULL")
            .bind(&ledger)
            .fetch_one(&self.db.pool)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(err)?;
        let applied: HashSet<i64> = if exists {
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT version FROM {ledger}")))
                .fetch_all(&self.db.pool)
                .await
                .map_err(err)?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        Ok(self
            .sql
            .migrations()
            .into_iter()
            .map(|(version, _, _)| version)
            .filter(|version| !applied.contains(version))
            .collect())
    }
}

fn is_schema_race(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| SCHEMA_RACE_CODES.contains(&code.as_ref()))
}
