//! What Redis itself sees: expiry, index cleanup, compare-and-set under many writers,
//! back-channel logout over one user's sessions.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth0_store_core::store::{
    LogoutFilter, SessionBackend, SessionId, SessionRecord, TokenUse, UpdateOutcome,
};
use auth0_store_redis::RedisBackend;

fn record(sid: &str, sub: &str, domain: &str, ttl: Duration) -> SessionRecord {
    SessionRecord {
        data: format!("sealed-{sid}").into_bytes(),
        sid: Some(sid.to_owned()),
        sub: Some(sub.to_owned()),
        domain: Some(domain.to_owned()),
        expires_at: SystemTime::now() + ttl,
    }
}

/// A backend (held with its server: see `support`) and a plain connection to the same Redis.
async fn redis() -> Option<(
    support::WithServer<RedisBackend>,
    redis::aio::ConnectionManager,
)> {
    let backend = support::backend().await?;
    let client = redis::Client::open(backend.server().url()).unwrap();
    let conn = redis::aio::ConnectionManager::new(client).await.unwrap();
    Some((backend, conn))
}

async fn pttl(conn: &mut redis::aio::ConnectionManager, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap()
}

#[tokio::test]
async fn redis_expires_the_session_at_its_expiry() {
    let Some((backend, mut conn)) = redis().await else {
        return;
    };
    let id = SessionId::generate();
    backend
        .create(&id, &record("s", "u", "d", Duration::from_secs(120)))
        .await
        .unwrap();
    let ttl = pttl(&mut conn, &backend.session_key(&id)).await;
    assert!((110_000..=120_000).contains(&ttl), "PTTL {ttl}");
    let loaded = backend.load(&id).await.unwrap().unwrap();
    let at = loaded
        .record
        .expires_at
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expected = (SystemTime::now() + Duration::from_secs(120))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        at.abs_diff(expected) <= 2,
        "load reports the expiry Redis holds"
    );

    let short = SessionId::generate();
    backend
        .create(&short, &record("s2", "u", "d", Duration::from_millis(300)))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(backend.load(&short).await.unwrap().is_none());
    assert_eq!(
        backend
            .update(&short, &record("s2", "u", "d", Duration::from_secs(60)), 1)
            .await
            .unwrap(),
        UpdateOutcome::Missing,
        "an expired session is not brought back"
    );
}

#[tokio::test]
async fn indexes_are_cleaned_on_delete_and_expire_with_their_sessions() {
    let Some((backend, mut conn)) = redis().await else {
        return;
    };
    let id = SessionId::generate();
    backend
        .create(
            &id,
            &record("sid-a", "user-a", "d", Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let sid_key = backend.index_key("sid", "d", "sid-a");
    let sub_key = backend.index_key("sub", "d", "user-a");
    assert!(
        pttl(&mut conn, &sid_key).await > 50_000,
        "the index expires with its session"
    );
    backend.delete(&id).await.unwrap();
    for key in [&sid_key, &sub_key] {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(exists, 0, "{key} left after delete");
    }

    let short = SessionId::generate();
    backend
        .create(
            &short,
            &record("sid-b", "user-b", "d", Duration::from_millis(300)),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(backend.index_key("sub", "d", "user-b"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "the index expired with its last session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_writers_exactly_one_wins_each_round() {
    let Some((backend, _)) = redis().await else {
        return;
    };
    let id = SessionId::generate();
    backend
        .create(&id, &record("s", "u", "d", Duration::from_secs(60)))
        .await
        .unwrap();
    for round in 1..=5u64 {
        let mut tasks = Vec::new();
        for writer in 0..50 {
            let backend = backend.clone();
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                let mut r = record("s", "u", "d", Duration::from_secs(60));
                r.data = format!("round {round} writer {writer}").into_bytes();
                (writer, backend.update(&id, &r, round).await.unwrap())
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            let (writer, outcome) = task.await.unwrap();
            match outcome {
                UpdateOutcome::Updated => winners.push(writer),
                UpdateOutcome::Conflict => {}
                UpdateOutcome::Missing => panic!("a live session reported Missing"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let loaded = backend.load(&id).await.unwrap().unwrap();
        assert_eq!(loaded.version, round + 1);
        assert_eq!(
            loaded.record.data,
            format!("round {round} writer {}", winners[0]).into_bytes(),
            "the stored write is the winner's"
        );
    }
}

#[tokio::test]
async fn logout_over_three_sessions_of_one_user() {
    let Some((backend, _)) = redis().await else {
        return;
    };
    let domain = "tenant.example";
    let make = || async {
        let mut ids = Vec::new();
        for i in 0..3 {
            let id = SessionId::generate();
            backend
                .create(
                    &id,
                    &record(&format!("sid-{i}"), "user", domain, Duration::from_secs(60)),
                )
                .await
                .unwrap();
            ids.push(id);
        }
        ids
    };
    let live = |ids: Vec<SessionId>| async {
        let mut out = Vec::new();
        for id in ids {
            out.push(backend.load(&id).await.unwrap().is_some());
        }
        out
    };
    let filter = |sid: Option<&str>, sub: Option<&str>, domain: &str| LogoutFilter {
        sid: sid.map(str::to_owned),
        sub: sub.map(str::to_owned),
        domain: domain.to_owned(),
    };

    let ids = make().await;
    assert_eq!(
        backend
            .delete_by_logout(&filter(Some("sid-1"), None, domain))
            .await
            .unwrap(),
        1
    );
    assert_eq!(live(ids.clone()).await, [true, false, true]);
    assert_eq!(
        backend
            .delete_by_logout(&filter(None, Some("user"), "other.example"))
            .await
            .unwrap(),
        0,
        "another issuer ends none"
    );
    assert_eq!(live(ids.clone()).await, [true, false, true]);
    assert_eq!(
        backend
            .delete_by_logout(&filter(None, Some("user"), domain))
            .await
            .unwrap(),
        2
    );
    assert_eq!(live(ids).await, [false, false, false]);
}

#[tokio::test]
async fn transactions_expire_in_an_hour_and_are_sealed() {
    let Some((backend, mut conn)) = redis().await else {
        return;
    };
    let secrets =
        auth0_store_core::Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap();
    let store = backend.transaction_store(&secrets);
    let cx = auth0_store_core::store::StoreContext::new();
    let tx = auth0_store_core::model::TransactionData {
        code_verifier: Some("the-verifier".into()),
        ..Default::default()
    };
    use auth0_store_core::store::TransactionStore as _;
    store.set("_a0_tx:abc", &tx, &cx).await.unwrap();
    assert_eq!(store.get("_a0_tx:abc", &cx).await.unwrap(), Some(tx));
    let other_browser = auth0_store_core::store::StoreContext::new();
    assert_eq!(store.get("_a0_tx:abc", &other_browser).await.unwrap(), None);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}tx:*", backend.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    let raw: Vec<u8> = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains("the-verifier"),
        "the verifier is sealed"
    );
    let ttl = pttl(&mut conn, &keys[0]).await;
    assert!((3_590_000..=3_600_000).contains(&ttl), "PTTL {ttl}");
    store.delete("_a0_tx:abc", &cx).await.unwrap();
    assert_eq!(store.get("_a0_tx:abc", &cx).await.unwrap(), None);
}

#[tokio::test]
async fn a_realistic_session_takes_a_few_kilobytes_of_redis_memory() {
    let Some((backend, mut conn)) = redis().await else {
        return;
    };
    let secrets =
        auth0_store_core::Secrets::parse("a-secret-of-at-least-thirty-two-bytes").unwrap();
    let store = auth0_store_core::store::ServerSideStateStore::new(backend.clone(), &secrets);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let state = auth0_store_conformance::rules::sample_state("auth0|mem", "sid-mem", now);
    let cx = auth0_store_core::store::StoreContext::new();
    use auth0_store_core::store::StateStore as _;
    store.set("_a0_session", &state, true, &cx).await.unwrap();
    let id = SessionId::parse(&cx.cookie(&store.id_cookie_name("_a0_session")).unwrap()).unwrap();
    let bytes: i64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(backend.session_key(&id))
        .query_async(&mut conn)
        .await
        .unwrap();
    let json = serde_json::to_vec(&state).unwrap().len() as i64;
    eprintln!("redis memory for a {json}-byte session: {bytes} bytes (+ two index sets)");
    assert!(
        bytes < json * 2 + 1024,
        "{bytes} bytes for a {json}-byte session"
    );
}

#[tokio::test]
async fn load_reads_the_expiry_from_the_hash_and_from_the_key_for_older_records() {
    let Some((backend, mut conn)) = redis().await else {
        return;
    };
    let id = SessionId::generate();
    let key = backend.session_key(&id);
    backend
        .create(&id, &record("s", "u", "d", Duration::from_secs(300)))
        .await
        .unwrap();
    let in_hash: u64 = redis::cmd("HGET")
        .arg(&key)
        .arg("expires")
        .query_async(&mut conn)
        .await
        .unwrap();
    let of_key: u64 = redis::cmd("PEXPIRETIME")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(in_hash, of_key, "the field and the key's expiry agree");
    let ms = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let loaded = backend.load(&id).await.unwrap().unwrap();
    assert_eq!(ms(loaded.record.expires_at), of_key);

    // A record without the field (written before it existed): the key's expiry.
    let _: i64 = redis::cmd("PEXPIREAT")
        .arg(&key)
        .arg(of_key + 5_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("HDEL")
        .arg(&key)
        .arg("expires")
        .query_async(&mut conn)
        .await
        .unwrap();
    let loaded = backend.load(&id).await.unwrap().unwrap();
    assert_eq!(ms(loaded.record.expires_at), of_key + 5_000);
    assert_eq!(loaded.record.sid.as_deref(), Some("s"));

    // A field left in the past while the key lives on (an older instance moved the key's
    // expiry without it): the key's expiry, never a passed one.
    let _: i64 = redis::cmd("HSET")
        .arg(&key)
        .arg("expires")
        .arg(1_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let loaded = backend.load(&id).await.unwrap().unwrap();
    assert_eq!(ms(loaded.record.expires_at), of_key + 5_000);
}

#[tokio::test]
async fn an_update_whose_index_write_is_refused_changes_nothing_and_a_delete_still_deletes() {
    let Some((backend, mut conn)) = redis().await else {
        return;
    };
    let id = SessionId::generate();
    let first = record("s", "u", "d", Duration::from_secs(60));
    backend.create(&id, &first).await.unwrap();

    // A user that may touch this prefix's session hashes but not its index sets.
    let prefix = backend.prefix().to_owned();
    let user = format!("sessions-only-{}", std::process::id());
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("reset")
        .arg("on")
        .arg(">pw")
        .arg(format!("~{prefix}s:*"))
        .arg("+@all")
        .query_async(&mut conn)
        .await
        .unwrap();
    let url = backend
        .server()
        .url()
        .replacen("redis://", &format!("redis://{user}:pw@"), 1);
    let limited = RedisBackend::from_url(&url)
        .await
        .unwrap()
        .with_prefix(prefix);

    let later = record("s", "u", "d", Duration::from_secs(3600));
    let err = limited.update(&id, &later, 1).await.unwrap_err();
    assert_eq!(err.code(), "store_backend_error", "{err:?}");
    let loaded = backend.load(&id).await.unwrap().unwrap();
    assert_eq!(loaded.version, 1, "the session was not written");
    assert_eq!(loaded.record.data, first.data);

    // A delete whose index cleanup is refused still deletes: the session is gone, and the
    // entry left behind is harmless.
    limited.delete(&id).await.unwrap();
    assert!(backend.load(&id).await.unwrap().is_none());

    let _: i64 = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// Two instances (two connections, one key prefix): a back-channel logout token's id is
/// recorded by the first that sees it and refused by the other, until it expires or is
/// forgotten.
#[tokio::test]
async fn a_logout_token_id_is_recorded_once_across_two_instances() {
    let Some((a, mut conn)) = redis().await else {
        return;
    };
    let b = RedisBackend::from_url(a.server().url())
        .await
        .unwrap()
        .with_prefix(a.prefix());
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
    let ttl = pttl(&mut conn, &a.logout_token_key("jti-1")).await;
    assert!(
        (50_000..=60_000).contains(&ttl),
        "kept until the token expires: {ttl} ms"
    );

    b.forget_logout_token("jti-1").await.unwrap();
    assert_eq!(
        a.record_logout_token("jti-1", until).await.unwrap(),
        TokenUse::First
    );

    let soon = SystemTime::now() + Duration::from_millis(300);
    assert_eq!(
        b.record_logout_token("jti-2", soon).await.unwrap(),
        TokenUse::First
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        a.record_logout_token("jti-2", soon + Duration::from_secs(60))
            .await
            .unwrap(),
        TokenUse::First,
        "an expired record is no record"
    );
}

#[tokio::test]
async fn listing_a_users_sessions_reads_them_all_and_drops_entries_of_gone_ones() {
    let Some((backend, mut conn)) = redis().await else {
        return;
    };
    // More than one batch of reads, and some sessions whose hash vanished behind the
    // store's back (as when Redis evicts a key), leaving their index entries.
    let ids: Vec<SessionId> = (0..150).map(|_| SessionId::generate()).collect();
    for (n, id) in ids.iter().enumerate() {
        let sid = format!("sid-l{n}");
        let ttl = Duration::from_secs(60);
        backend
            .create(id, &record(&sid, "user-l", "d", ttl))
            .await
            .unwrap();
    }
    for id in &ids[..40] {
        let key = backend.session_key(id);
        let _: i64 = redis::cmd("DEL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let index = backend.index_key("sub", "d", "user-l");

    let listed = backend.list_by_sub("d", "user-l", 1_000).await.unwrap();
    let mut listed_ids: Vec<&str> = listed.iter().map(|(id, _)| id.as_str()).collect();
    let mut live: Vec<&str> = ids[40..].iter().map(SessionId::as_str).collect();
    listed_ids.sort_unstable();
    live.sort_unstable();
    assert_eq!(listed_ids, live, "every live session, and only those");
    let left: i64 = redis::cmd("SCARD")
        .arg(&index)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 110, "the entries of gone sessions are dropped");

    let first = backend.list_by_sub("d", "user-l", 5).await.unwrap();
    assert_eq!(first.len(), 5, "the limit holds");
}
