//! The session store the quickstart would use (`AUTH0_SESSION_STORE`, `REDIS_URL`,
//! `DATABASE_URL`, as [`StoreChoice::from_env`] reads them): reachable, and for PostgreSQL
//! migrated. Nothing is written.

use std::time::Duration;

use auth0_server::stores::StoreChoice;
use auth0_store_postgres::PostgresBackend;
use auth0_store_postgres::sqlx::postgres::PgPoolOptions;
use auth0_store_redis::redis;

use super::report::Finding;

const CHECK: &str = "session_store";

/// Checks the configured store, each network step within `timeout`.
pub(crate) async fn check(timeout: Duration) -> Finding {
    let choice = match StoreChoice::from_env() {
        Ok(choice) => choice,
        Err(e) => {
            return Finding::problem(
                CHECK,
                e.to_string(),
                "the app does not start (the store cannot be chosen)",
                "set AUTH0_SESSION_STORE to cookie, memory, redis or postgres, with its URL",
            );
        }
    };
    match &choice {
        StoreChoice::Cookie => Finding::ok(CHECK, "sessions in cookies: no server to reach"),
        StoreChoice::Memory => Finding::warning(
            CHECK,
            "sessions in this process's memory",
            "every restart logs everyone out, and with more than one instance users are \
             logged out at random",
            "use redis or postgres in production",
        ),
        StoreChoice::Redis(url) => redis_ping(url, timeout).await,
        StoreChoice::Postgres(url) => postgres(url, timeout).await,
    }
}

/// The host and port of a store URL, without its user or password.
fn server(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}",
            u.host_str().unwrap_or("?"),
            u.port()
                .map_or_else(|| "default port".to_owned(), |p| p.to_string())
        ),
        Err(_) => "the configured server".to_owned(),
    }
}

fn unreachable(store: &str, variable: &str, url: &str, why: &str) -> Finding {
    Finding::problem(
        CHECK,
        format!("{store} at {} cannot be reached: {why}", server(url)),
        "the app does not start (\"the store cannot be used\"), or every request that \
         touches a session fails with a 500",
        format!("start {store}, or fix {variable}"),
    )
}

/// Redis answers `PING` with `PONG`.
#[tracing::instrument(name = "doctor.redis_ping", skip_all)]
async fn redis_ping(url: &str, timeout: Duration) -> Finding {
    auth0_server_core::tls::ensure_crypto_provider();
    let ping = async {
        let client = redis::Client::open(url)?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(timeout, ping).await {
        Ok(Ok(pong)) if pong == "PONG" => {
            Finding::ok(CHECK, format!("Redis at {} answers PING", server(url)))
        }
        Ok(Ok(other)) => unreachable(
            "Redis",
            "REDIS_URL",
            url,
            &format!("PING answered {other:?}"),
        ),
        Ok(Err(e)) => unreachable("Redis", "REDIS_URL", url, &e.to_string()),
        Err(_) => unreachable(
            "Redis",
            "REDIS_URL",
            url,
            &format!("no answer in {timeout:?}"),
        ),
    }
}

/// PostgreSQL accepts a connection, and every migration is applied.
#[tracing::instrument(name = "doctor.postgres", skip_all)]
async fn postgres(url: &str, timeout: Duration) -> Finding {
    auth0_server_core::tls::ensure_crypto_provider();
    let pending = async {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(timeout)
            .connect(url)
            .await
            .map_err(|e| e.to_string())?;
        let backend = PostgresBackend::new(pool);
        let pending = backend
            .pending_migrations()
            .await
            .map_err(|e| e.to_string());
        backend.close().await;
        pending
    };
    let pending = match tokio::time::timeout(timeout, pending).await {
        Ok(Ok(pending)) => pending,
        Ok(Err(why)) => return unreachable("PostgreSQL", "DATABASE_URL", url, &why),
        Err(_) => {
            let why = format!("no answer in {timeout:?}");
            return unreachable("PostgreSQL", "DATABASE_URL", url, &why);
        }
    };
    if pending.is_empty() {
        return Finding::ok(
            CHECK,
            format!("PostgreSQL at {} is reachable and migrated", server(url)),
        );
    }
    Finding::problem(
        CHECK,
        format!(
            "PostgreSQL at {} is not migrated: migration(s) {pending:?} not applied",
            server(url)
        ),
        "the app does not start if its database user may not create tables (\"permission \
         denied for schema\"); else its first start changes the schema",
        "run PostgresBackend::migrate() once with a user that may CREATE (the app does it at \
         start when its user may)",
    )
}
