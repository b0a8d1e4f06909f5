//! Picking the session store: by cargo feature (what is built in) and by
//! `AUTH0_SESSION_STORE` (which one runs).

use std::sync::Arc;

use auth0_server::Secrets;
use auth0_server::store::{CookieOptions, StateStore, TransactionStore};

use crate::BoxError;

/// Where the quickstart keeps sessions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreChoice {
    /// Encrypted cookies (the default).
    Cookie,
    /// This process's memory.
    Memory,
    /// Redis at this URL.
    Redis(String),
    /// PostgreSQL at this URL.
    Postgres(String),
}

impl StoreChoice {
    /// From `AUTH0_SESSION_STORE` (`cookie` when unset) and `REDIS_URL` / `DATABASE_URL`.
    ///
    /// # Errors
    ///
    /// An unknown store, or a server-side store without its URL.
    pub fn from_env() -> Result<Self, BoxError> {
        let name = std::env::var("AUTH0_SESSION_STORE").unwrap_or_else(|_| "cookie".to_owned());
        let url = |var: &str| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("AUTH0_SESSION_STORE={name} needs {var}"))
        };
        Ok(match name.as_str() {
            "cookie" => Self::Cookie,
            "memory" => Self::Memory,
            "redis" => Self::Redis(url("REDIS_URL")?),
            "postgres" => Self::Postgres(url("DATABASE_URL")?),
            other => {
                return Err(format!(
                    "AUTH0_SESSION_STORE={other} is not a store: use cookie, memory, redis or postgres"
                )
                .into());
            }
        })
    }

    /// Its name, for the page footer.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Memory => "memory",
            Self::Redis(_) => "redis",
            Self::Postgres(_) => "postgres",
        }
    }
}

type Stores = (Arc<dyn StateStore>, Arc<dyn TransactionStore>);

fn not_built(name: &str) -> BoxError {
    format!("this build has no {name} store: build the quickstart with `--features {name}`").into()
}

/// Builds the chosen stores.
#[allow(unused_variables)]
pub(crate) async fn build(
    choice: &StoreChoice,
    secrets: &Secrets,
    cookies: &CookieOptions,
) -> Result<Stores, BoxError> {
    match choice {
        StoreChoice::Cookie => {
            #[cfg(feature = "cookie")]
            {
                use auth0_server::stores::{CookieStateStore, CookieTransactionStore};
                return Ok((
                    Arc::new(
                        CookieStateStore::new(secrets.clone()).with_cookie_options(cookies.clone()),
                    ),
                    Arc::new(
                        CookieTransactionStore::new(secrets.clone())
                            .with_cookie_options(cookies.clone()),
                    ),
                ));
            }
            #[allow(unreachable_code)]
            Err(not_built("cookie"))
        }
        StoreChoice::Memory => {
            #[cfg(feature = "memory")]
            {
                use auth0_server::store::ServerSideStateStore;
                use auth0_server::stores::{MemoryBackend, MemoryTransactionStore};
                return Ok((
                    Arc::new(
                        ServerSideStateStore::new(MemoryBackend::new(), secrets)
                            .with_cookie_options(cookies.clone()),
                    ),
                    Arc::new(MemoryTransactionStore::new()),
                ));
            }
            #[allow(unreachable_code)]
            Err(not_built("memory"))
        }
        StoreChoice::Redis(url) => {
            #[cfg(feature = "redis")]
            {
                use auth0_server::store::ServerSideStateStore;
                use auth0_server::stores::RedisBackend;
                let backend = RedisBackend::from_url(url).await?;
                let transactions = backend.transaction_store(secrets);
                return Ok((
                    Arc::new(
                        ServerSideStateStore::new(backend, secrets)
                            .with_cookie_options(cookies.clone()),
                    ),
                    Arc::new(transactions),
                ));
            }
            #[allow(unreachable_code)]
            Err(not_built("redis"))
        }
        StoreChoice::Postgres(url) => {
            #[cfg(feature = "postgres")]
            {
                use auth0_server::store::ServerSideStateStore;
                use auth0_server::stores::{PostgresBackend, sqlx};
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .acquire_timeout(std::time::Duration::from_secs(3))
                    .connect(url)
                    .await?;
                let backend = PostgresBackend::new(pool);
                backend.migrate().await?;
                // Expired rows are deleted every ten minutes for as long as the app runs.
                std::mem::forget(backend.spawn_cleanup(std::time::Duration::from_secs(600)));
                let transactions = backend.transaction_store(secrets);
                return Ok((
                    Arc::new(
                        ServerSideStateStore::new(backend, secrets)
                            .with_cookie_options(cookies.clone()),
                    ),
                    Arc::new(transactions),
                ));
            }
            #[allow(unreachable_code)]
            Err(not_built("postgres"))
        }
    }
}
