//! Records go in and come out unchanged (to the microsecond), versions count writes, and what
//! PostgreSQL cannot hold is a typed error, not a panic.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use auth0_store_core::store::{SessionBackend, SessionId, SessionRecord, UpdateOutcome};
use auth0_store_postgres::{ConfigError, PostgresBackend, sqlx};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_round_trips_to_the_microsecond() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let id = SessionId::generate();
    let record = SessionRecord {
        data: (0..=255).collect(),
        sid: Some("sid-ü-😀".to_owned()),
        sub: Some("auth0|ada".to_owned()),
        domain: Some("tenant.example".to_owned()),
        expires_at: UNIX_EPOCH + Duration::new(4_102_444_800, 123_456_000),
    };
    backend.create(&id, &record).await.unwrap();
    let loaded = backend.load(&id).await.unwrap().unwrap();
    assert_eq!(loaded.record, record);
    assert_eq!(loaded.version, 1);

    let bare = SessionRecord {
        sid: None,
        sub: None,
        domain: None,
        ..record.clone()
    };
    assert_eq!(
        backend.update(&id, &bare, 1).await.unwrap(),
        UpdateOutcome::Updated
    );
    let loaded = backend.load(&id).await.unwrap().unwrap();
    assert_eq!(loaded.record, bare);
    assert_eq!(loaded.version, 2);
    assert_eq!(
        backend.update(&id, &record, 1).await.unwrap(),
        UpdateOutcome::Conflict
    );
    assert_eq!(
        backend.update(&id, &record, u64::MAX).await.unwrap(),
        UpdateOutcome::Conflict
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_of_an_absent_or_deleted_record_is_missing_and_creates_nothing() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let id = SessionId::generate();
    let record = support::record("ada", "sid", "tenant.example", Duration::from_secs(60));
    assert_eq!(
        backend.update(&id, &record, 1).await.unwrap(),
        UpdateOutcome::Missing
    );
    backend.create(&id, &record).await.unwrap();
    backend.delete(&id).await.unwrap();
    backend.delete(&id).await.unwrap();
    assert_eq!(
        backend.update(&id, &record, 1).await.unwrap(),
        UpdateOutcome::Missing
    );
    assert!(backend.load(&id).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_character_in_a_lookup_field_is_a_typed_error() {
    let Some(backend) = support::backend().await else {
        return;
    };
    let id = SessionId::generate();
    let record = support::record("ada\0", "sid", "tenant.example", Duration::from_secs(60));
    let err = backend.create(&id, &record).await.unwrap_err();
    assert_eq!(err.code(), "store_backend_error");
    let source = std::error::Error::source(&err).unwrap();
    assert!(source.to_string().contains("NUL"), "{source}");
    assert!(backend.load(&id).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_validated_when_given_and_quoted_when_used() {
    let pool = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap();
    let backend = PostgresBackend::new(pool);
    for bad in ["", "1st", "a-b", "x\"; DROP TABLE y; --", &"a".repeat(64)] {
        let err = backend.clone().with_table(bad).unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidName { .. }),
            "{bad:?}: {err}"
        );
        assert!(backend.clone().with_schema(bad).is_err());
        assert!(backend.clone().with_transactions_table(bad).is_err());
    }
    let err = backend
        .clone()
        .with_table("same")
        .unwrap()
        .with_transactions_table("same")
        .unwrap_err();
    assert_eq!(err.code(), "postgres_same_table");
    // Upper case is kept, not folded: names are always quoted.
    let mixed = backend
        .with_schema("Auth")
        .unwrap()
        .with_table("Sessions")
        .unwrap();
    assert!(
        mixed
            .sql(auth0_store_postgres::Statement::Load)
            .contains("\"Auth\".\"Sessions\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_case_and_long_names_work_end_to_end() {
    let Some(pool) = support::pool(2).await else {
        return;
    };
    let long_table = format!("S{}", "e".repeat(62));
    let backend = PostgresBackend::new(pool.clone())
        .with_schema(&format!("{}_Mixed", support::fresh_schema()))
        .unwrap()
        .with_table(&long_table)
        .unwrap()
        .with_transactions_table("Transactions")
        .unwrap();
    backend.migrate().await.unwrap();
    let id = SessionId::generate();
    let record = support::record("ada", "sid", "tenant.example", Duration::from_secs(60));
    backend.create(&id, &record).await.unwrap();
    assert_eq!(backend.load(&id).await.unwrap().unwrap().record, record);
    let indexes: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_indexes WHERE schemaname = $1")
        .bind(backend.schema())
        .fetch_one(backend.pool())
        .await
        .unwrap();
    // Three on sessions, one on transactions, one on logout tokens, and the four primary
    // keys.
    assert_eq!(indexes, 9);
}
