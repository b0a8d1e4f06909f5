//! Back-channel logout over three sessions of one user (and another user's, and the same
//! user's at another issuer): exactly the sessions `LogoutFilter::matches` selects end.

mod support;

use std::time::{Duration, SystemTime};

use auth0_store_core::store::{LogoutFilter, SessionBackend, SessionId, SessionRecord, TokenUse};
use auth0_store_postgres::PostgresBackend;

const DOMAIN: &str = "tenant.example";
const OTHER_DOMAIN: &str = "other-tenant.example";

/// The sessions every test starts with.
fn sessions() -> Vec<(&'static str, SessionRecord)> {
    let hour = Duration::from_secs(3600);
    vec![
        ("ada-0", support::record("auth0|ada", "sid-0", DOMAIN, hour)),
        ("ada-1", support::record("auth0|ada", "sid-1", DOMAIN, hour)),
        ("ada-2", support::record("auth0|ada", "sid-2", DOMAIN, hour)),
        ("bob", support::record("auth0|bob", "sid-bob", DOMAIN, hour)),
        // The same user and sid at another issuer: never touched by this issuer's logouts.
        (
            "ada-elsewhere",
            support::record("auth0|ada", "sid-1", OTHER_DOMAIN, hour),
        ),
    ]
}

/// A backend holding [`sessions`] (held with its server: see `support`), and their ids by
/// name.
async fn setup() -> Option<(
    support::WithServer<PostgresBackend>,
    Vec<(&'static str, SessionId, SessionRecord)>,
)> {
    let backend = support::backend().await?;
    let mut made = Vec::new();
    for (name, record) in sessions() {
        let id = SessionId::generate();
        backend.create(&id, &record).await.unwrap();
        made.push((name, id, record));
    }
    Some((backend, made))
}

/// Runs the logout, then checks the count and that exactly the sessions the reference
/// semantics select are gone.
async fn check(filter: LogoutFilter, expect_ended: &[&str]) {
    let Some((backend, made)) = setup().await else {
        return;
    };
    let ended = backend.delete_by_logout(&filter).await.unwrap();
    assert_eq!(ended, expect_ended.len() as u64, "{filter:?}");
    for (name, id, record) in &made {
        let by_reference = filter.matches(
            record.sid.as_deref(),
            record.sub.as_deref(),
            record.domain.as_deref(),
        );
        assert_eq!(
            by_reference,
            expect_ended.contains(name),
            "the test's expectation disagrees with LogoutFilter::matches for {name}"
        );
        let live = backend.load(id).await.unwrap().is_some();
        assert_eq!(live, !by_reference, "{name} after {filter:?}");
    }
}

fn filter(sid: Option<&str>, sub: Option<&str>, domain: &str) -> LogoutFilter {
    LogoutFilter {
        sid: sid.map(str::to_owned),
        sub: sub.map(str::to_owned),
        domain: domain.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_by_sid_ends_only_that_session() {
    check(filter(Some("sid-1"), None, DOMAIN), &["ada-1"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_by_sid_with_the_matching_sub_ends_only_that_session() {
    check(filter(Some("sid-1"), Some("auth0|ada"), DOMAIN), &["ada-1"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_by_sid_with_another_users_sub_ends_nothing() {
    check(filter(Some("sid-1"), Some("auth0|bob"), DOMAIN), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_by_sub_alone_ends_all_of_the_users_sessions_at_that_issuer() {
    check(
        filter(None, Some("auth0|ada"), DOMAIN),
        &["ada-0", "ada-1", "ada-2"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_from_another_issuer_ends_only_sessions_of_that_issuer() {
    check(
        filter(None, Some("auth0|ada"), OTHER_DOMAIN),
        &["ada-elsewhere"],
    )
    .await;
    check(filter(Some("sid-0"), None, OTHER_DOMAIN), &[]).await;
    check(filter(None, Some("auth0|ada"), "unknown.example"), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_with_neither_sid_nor_sub_ends_nothing() {
    check(filter(None, None, DOMAIN), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_removed_by_a_logout_but_not_counted_as_ended() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let live = SessionId::generate();
    let expired = SessionId::generate();
    backend
        .create(
            &live,
            &support::record("auth0|ada", "s1", DOMAIN, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let mut old = support::record("auth0|ada", "s2", DOMAIN, Duration::ZERO);
    old.expires_at -= Duration::from_secs(60);
    backend.create(&expired, &old).await.unwrap();
    let ended = backend
        .delete_by_logout(&filter(None, Some("auth0|ada"), DOMAIN))
        .await
        .unwrap();
    assert_eq!(ended, 1, "only the live session ended");
    let left: i64 = auth0_store_postgres::sqlx::query_scalar(
        auth0_store_postgres::sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM \"{}\".auth0_sessions",
            backend.schema()
        )),
    )
    .fetch_one(backend.pool())
    .await
    .unwrap();
    assert_eq!(left, 0, "the expired match was left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_in_a_logout_token_matches_nothing_and_is_no_error() {
    let Some((backend, _)) = setup().await else {
        return;
    };
    let ended = backend
        .delete_by_logout(&filter(Some("sid-1\0"), None, DOMAIN))
        .await
        .unwrap();
    assert_eq!(ended, 0);
}

/// Two instances (two pools on one database and schema): a back-channel logout token's id is
/// recorded by the first that sees it and refused by the other, until it expires or is
/// forgotten; the cleanup deletes expired ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_token_id_is_recorded_once_across_two_instances() {
    let Some(a) = support::backend().await else {
        return;
    };
    let b = PostgresBackend::new(support::pool_on(a.server().url(), 2).await)
        .with_schema(a.schema())
        .unwrap();
    let until = SystemTime::now() + Duration::from_secs(60);
    assert_eq!(
        a.record_logout_token("jti-1", until).await.unwrap(),
        TokenUse::First
    );
    assert_eq!(
        b.record_logout_token("jti-1", until).await.unwrap(),
        TokenUse::Replayed
    );
    assert_eq!(
        a.record_logout_token("jti-1", until).await.unwrap(),
        TokenUse::Replayed
    );

    b.forget_logout_token("jti-1").await.unwrap();
    assert_eq!(
        a.record_logout_token("jti-1", until).await.unwrap(),
        TokenUse::First
    );

    // Recorded as already expired (by the database's clock): no record, and the cleanup
    // takes it away.
    let past = SystemTime::now() - Duration::from_secs(5);
    assert_eq!(
        b.record_logout_token("jti-2", past).await.unwrap(),
        TokenUse::First
    );
    assert_eq!(
        a.record_logout_token("jti-2", until).await.unwrap(),
        TokenUse::First
    );
    b.record_logout_token("jti-3", past).await.unwrap();
    a.delete_expired().await.unwrap();
    let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM \"{}\".auth0_sessions_logout_tokens",
        a.schema()
    )))
    .fetch_one(a.pool())
    .await
    .unwrap();
    assert_eq!(left, 2, "jti-1 and jti-2 are live; jti-3 was cleaned up");
}
