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

/// Where logins in progress wait for their callback (`AUTH0_TRANSACTION_STORE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransactionChoice {
    /// In a sealed cookie of the browser that started the login, whatever the session store
    /// (the default, as in the Python SDK): no server write per anonymous `/login`.
    #[default]
    Cookie,
    /// In the session store's server (memory, Redis or PostgreSQL), bound to the browser by
    /// a random value in a cookie.
    Server,
}

impl TransactionChoice {
    /// From `AUTH0_TRANSACTION_STORE` (`cookie` when unset, or `server`).
    ///
    /// # Errors
    ///
    /// Another value.
    pub fn from_env() -> Result<Self, BoxError> {
        match std::env::var("AUTH0_TRANSACTION_STORE").as_deref() {
            Err(_) | Ok("" | "cookie") => Ok(Self::Cookie),
            Ok("server") => Ok(Self::Server),
            Ok(other) => Err(format!(
                "AUTH0_TRANSACTION_STORE={other} is not a transaction store: use cookie (the \
                 default) or server (the session store's server)"
            )
            .into()),
        }
    }
}

type Stores = (Arc<dyn StateStore>, Arc<dyn TransactionStore>);
/// The session store and, for a server-side one, its server's transaction store.
type Built = (Arc<dyn StateStore>, Option<Arc<dyn TransactionStore>>);

fn not_built(name: &str) -> BoxError {
    format!("this build has no {name} store: build the quickstart with `--features {name}`").into()
}

/// Builds the chosen stores: the session store, and the transaction store `transactions`
/// says (the cookie one unless the server's was asked for and there is one).
pub(crate) async fn build(
    choice: &StoreChoice,
    transactions: TransactionChoice,
    secrets: &Secrets,
    cookies: &CookieOptions,
) -> Result<Stores, BoxError> {
    let (state, server_transactions) = build_session_store(choice, secrets, cookies).await?;
    let transactions = match (transactions, server_transactions) {
        (TransactionChoice::Server, Some(server)) => server,
        (TransactionChoice::Server, None) => {
            return Err(format!(
                "AUTH0_TRANSACTION_STORE=server needs a server-side session store, and \
                 AUTH0_SESSION_STORE={} keeps none: use memory, redis or postgres",
                choice.name()
            )
            .into());
        }
        (TransactionChoice::Cookie, _) => cookie_transactions(secrets, cookies)?,
    };
    Ok((state, transactions))
}

#[allow(unused_variables)]
fn cookie_transactions(
    secrets: &Secrets,
    cookies: &CookieOptions,
) -> Result<Arc<dyn TransactionStore>, BoxError> {
    #[cfg(feature = "cookie")]
    {
        use auth0_server::stores::CookieTransactionStore;
        return Ok(Arc::new(
            CookieTransactionStore::new(secrets.clone()).with_cookie_options(cookies.clone()),
        ));
    }
    #[allow(unreachable_code)]
    Err(not_built("cookie"))
}

#[allow(unused_variables)]
async fn build_session_store(
    choice: &StoreChoice,
    secrets: &Secrets,
    cookies: &CookieOptions,
) -> Result<Built, BoxError> {
    match choice {
        StoreChoice::Cookie => {
            #[cfg(feature = "cookie")]
            {
                use auth0_server::stores::CookieStateStore;
                return Ok((
                    Arc::new(
                        CookieStateStore::new(secrets.clone()).with_cookie_options(cookies.clone()),
                    ),
                    None,
                ));
            }
            #[allow(unreachable_code)]
            Err(not_built("cookie"))
        }
        StoreChoice::Memory => {
            #[cfg(feature = "memory")]
            {
                use auth0_server::store::ServerSideStateStore;
                use auth0_server::stores::{MemoryBackend, MemoryTransactionBackend};
                let transactions = MemoryTransactionBackend::new()
                    .transaction_store()
                    .with_cookie_options(cookies.clone());
                return Ok((
                    Arc::new(
                        ServerSideStateStore::new(MemoryBackend::new(), secrets)
                            .with_cookie_options(cookies.clone()),
                    ),
                    Some(Arc::new(transactions)),
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
                let transactions = backend
                    .transaction_store(secrets)
                    .with_cookie_options(cookies.clone());
                return Ok((
                    Arc::new(
                        ServerSideStateStore::new(backend, secrets)
                            .with_cookie_options(cookies.clone()),
                    ),
                    Some(Arc::new(transactions)),
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
                let transactions = backend
                    .transaction_store(secrets)
                    .with_cookie_options(cookies.clone());
                return Ok((
                    Arc::new(
                        ServerSideStateStore::new(backend, secrets)
                            .with_cookie_options(cookies.clone()),
                    ),
                    Some(Arc::new(transactions)),
                ));
            }
            #[allow(unreachable_code)]
            Err(not_built("postgres"))
        }
    }
}
