//! Chunking, attributes, lifetimes and bounds of the cookie stores.

use std::sync::Arc;
use std::time::Duration;

use auth0_store_conformance::BrowserJar;
use auth0_store_cookie::{CookieStateStore, CookieTransactionStore, DEFAULT_MAX_TRANSACTIONS};
use auth0_store_core::Secrets;
use auth0_store_core::clock::{Clock, ManualClock};
use auth0_store_core::model::{LogoutTokenClaims, StateData, TransactionData, UserClaims};
use auth0_store_core::store::{
    CookieOptions, SameSite, SessionLifetime, StateStore, StoreContext, StoreError,
    TransactionStore,
};
use serde_json::json;

const SECRET: &str = "a-secret-of-at-least-thirty-two-bytes";
const ID: &str = "_a0_session";
/// The chunks' names with the default options: `__Host-` and the identifier.
const CHUNK: &str = "__Host-_a0_session.";

fn clock() -> ManualClock {
    ManualClock::at_unix(1_800_000_000)
}

fn store(clock: &ManualClock) -> CookieStateStore {
    CookieStateStore::new(Secrets::parse(SECRET).unwrap()).with_clock(Arc::new(clock.clone()))
}

/// A session whose sealed size is roughly `bytes`.
fn session_of(bytes: usize, created_at: u64) -> StateData {
    let mut state = StateData {
        user: Some(UserClaims {
            sub: "auth0|1".into(),
            ..UserClaims::default()
        }),
        ..StateData::default()
    };
    state.internal.created_at = created_at;
    state
        .extra
        .insert("padding".into(), json!("p".repeat(bytes * 3 / 4)));
    state
}

async fn write(store: &CookieStateStore, jar: &BrowserJar, state: &StateData) -> Vec<String> {
    let cx = jar.context();
    store.set(ID, state, false, &cx).await.unwrap();
    jar.apply(&cx)
}

async fn read(store: &CookieStateStore, jar: &BrowserJar) -> Option<StateData> {
    let cx = jar.context();
    let state = store.get(ID, &cx).await.unwrap();
    jar.apply(&cx);
    state
}

fn chunk_names(jar: &BrowserJar) -> Vec<String> {
    jar.names()
        .into_iter()
        .filter(|n| n.starts_with(CHUNK))
        .collect()
}

#[tokio::test]
async fn one_two_and_many_chunks_round_trip_and_every_set_cookie_fits_in_4kb() {
    let c = clock();
    let store = store(&c).with_max_size(64 * 1024);
    for (size, chunks) in [(500, 1), (4000, 2), (20_000, 7)] {
        let jar = BrowserJar::new(Arc::new(c.clone()));
        let state = session_of(size, c.unix_seconds());
        let headers = write(&store, &jar, &state).await;
        assert_eq!(chunk_names(&jar).len(), chunks, "{size} bytes");
        assert!(
            headers.iter().all(|h| h.len() < 4096),
            "a Set-Cookie over 4 KB"
        );
        assert_eq!(read(&store, &jar).await.as_ref(), Some(&state));
    }
}

#[tokio::test]
async fn shrinking_from_four_chunks_to_one_removes_the_stale_three() {
    let c = clock();
    let store = store(&c);
    let jar = BrowserJar::new(Arc::new(c.clone()));
    write(&store, &jar, &session_of(11_000, c.unix_seconds())).await;
    assert_eq!(chunk_names(&jar).len(), 4);
    let small = session_of(100, c.unix_seconds());
    let headers = write(&store, &jar, &small).await;
    assert_eq!(chunk_names(&jar), vec!["__Host-_a0_session.0"]);
    assert_eq!(
        headers.iter().filter(|h| h.contains("Max-Age=0")).count(),
        3
    );
    assert_eq!(read(&store, &jar).await, Some(small));
}

#[tokio::test]
async fn a_missing_middle_chunk_is_no_session() {
    let c = clock();
    let store = store(&c);
    let jar = BrowserJar::new(Arc::new(c.clone()));
    write(&store, &jar, &session_of(8000, c.unix_seconds())).await;
    assert_eq!(chunk_names(&jar).len(), 3);
    jar.remove("__Host-_a0_session.1");
    assert_eq!(read(&store, &jar).await, None);
}

#[tokio::test]
async fn cookies_named_like_the_identifier_but_not_chunks_are_ignored() {
    let c = clock();
    let store = store(&c);
    let jar = BrowserJar::new(Arc::new(c.clone()));
    let state = session_of(100, c.unix_seconds());
    write(&store, &jar, &state).await;
    for (name, value) in [
        ("__Host-_a0_session_other", "x"),
        ("__Host-_a0_session.x", "y"),
        ("__Host-_a0_session", "z"),
        ("__Host-_a0_session.", "w"),
        ("_a0_session.1", "v"),
        ("_a0_session.0", "u"),
    ] {
        jar.set(name, value);
    }
    assert_eq!(read(&store, &jar).await, Some(state.clone()));
    // And a write leaves them alone.
    let headers = write(&store, &jar, &state).await;
    assert!(
        headers
            .iter()
            .all(|h| h.starts_with("__Host-_a0_session.0=")),
        "{headers:?}"
    );
}

/// Cookie tossing: a sibling subdomain can set `_a0_session.0` for the parent domain, never
/// `__Host-_a0_session.0`. The attacker's own valid session, planted under the plain names,
/// must neither log a browser in nor replace its session.
#[tokio::test]
async fn a_session_planted_under_the_plain_names_is_not_read() {
    let c = clock();
    let store = store(&c);
    let python_names = store.clone().with_cookie_options(CookieOptions {
        host_prefix: false,
        ..CookieOptions::default()
    });
    let attacker = BrowserJar::new(Arc::new(c.clone()));
    let mut attacker_state = session_of(100, c.unix_seconds());
    attacker_state.user.as_mut().unwrap().sub = "auth0|attacker".into();
    write(&python_names, &attacker, &attacker_state).await;
    let planted = attacker.snapshot();
    assert!(planted.keys().all(|n| n.starts_with("_a0_session.")));

    let victim = BrowserJar::new(Arc::new(c.clone()));
    for (name, cookie) in &planted {
        assert!(victim.plant_from_sibling(name, &cookie.value));
    }
    assert_eq!(
        read(&store, &victim).await,
        None,
        "no session from a sibling"
    );
    assert_eq!(
        read(&python_names, &victim).await.as_ref(),
        Some(&attacker_state),
        "the planted cookies are valid: only their names keep them out"
    );
    let own = session_of(100, c.unix_seconds());
    write(&store, &victim, &own).await;
    assert_eq!(read(&store, &victim).await, Some(own));
}

#[tokio::test]
async fn the_python_names_are_one_option_away() {
    let c = clock();
    let store = store(&c).with_cookie_options(CookieOptions {
        host_prefix: false,
        ..CookieOptions::default()
    });
    let jar = BrowserJar::new(Arc::new(c.clone()));
    let state = session_of(100, c.unix_seconds());
    let headers = write(&store, &jar, &state).await;
    assert!(headers[0].starts_with("_a0_session.0="), "{headers:?}");
    assert_eq!(read(&store, &jar).await, Some(state));
    let tx = tx_store(&c).with_cookie_options(CookieOptions {
        host_prefix: false,
        ..CookieOptions::default()
    });
    let cx = jar.context();
    tx.set("_a0_tx:abc", &TransactionData::default(), &cx)
        .await
        .unwrap();
    jar.apply(&cx);
    assert!(jar.get("_a0_tx_abc").is_some());
    assert!(
        tx.get("_a0_tx:abc", &jar.context())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn attributes_follow_the_options() {
    let c = clock();
    let cases = [
        (
            CookieOptions::default(),
            &["HttpOnly", "SameSite=Lax", "Secure", "Path=/"][..],
        ),
        (
            CookieOptions {
                secure: false,
                ..CookieOptions::default()
            },
            &["HttpOnly", "SameSite=Lax", "Path=/"][..],
        ),
        (
            CookieOptions {
                same_site: SameSite::Strict,
                path: "/app".into(),
                domain: Some("example.com".into()),
                ..CookieOptions::default()
            },
            &[
                "HttpOnly",
                "SameSite=Strict",
                "Secure",
                "Path=/app",
                "Domain=example.com",
            ][..],
        ),
    ];
    for (options, expected) in cases {
        let store = store(&c).with_cookie_options(options);
        let jar = BrowserJar::new(Arc::new(c.clone()));
        let headers = write(&store, &jar, &session_of(100, c.unix_seconds())).await;
        let mut attributes: Vec<&str> = headers[0]
            .split("; ")
            .skip(1)
            .filter(|a| !a.starts_with("Max-Age="))
            .collect();
        attributes.sort_unstable();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(attributes, expected, "{}", headers[0]);
    }
    let local = url::Url::parse("http://127.0.0.1:5000/callback").unwrap();
    assert!(!CookieOptions::for_redirect_uri(&local).secure);
    let https = url::Url::parse("https://localhost/callback").unwrap();
    assert!(CookieOptions::for_redirect_uri(&https).secure);
}

fn max_age(header: &str) -> u64 {
    header
        .split("; ")
        .find_map(|a| a.strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn max_age_follows_the_rolling_and_absolute_lifetimes_and_the_ceiling() {
    let c = clock();
    let start = c.unix_seconds();
    let store = store(&c).with_lifetime(SessionLifetime {
        rolling: true,
        inactivity: Duration::from_secs(1000),
        absolute: Duration::from_secs(2500),
    });
    let jar = BrowserJar::new(Arc::new(c.clone()));
    let state = session_of(100, start);
    assert_eq!(
        max_age(&write(&store, &jar, &state).await[0]),
        1000,
        "inactivity from now"
    );
    c.advance(Duration::from_secs(900));
    assert!(read(&store, &jar).await.is_some());
    assert_eq!(
        max_age(&write(&store, &jar, &state).await[0]),
        1000,
        "rolled forward"
    );
    c.advance(Duration::from_secs(1000));
    assert_eq!(
        max_age(&write(&store, &jar, &state).await[0]),
        600,
        "capped by absolute"
    );
    let mut capped = state.clone();
    capped.internal.session_expires_at = Some(c.unix_seconds() + 42);
    assert_eq!(
        max_age(&write(&store, &jar, &capped).await[0]),
        42,
        "capped by session_expiry"
    );

    // Without activity the cookie (and its exp) end with the inactivity timeout.
    c.advance(Duration::from_secs(43));
    assert_eq!(read(&store, &jar).await, None);
}

#[tokio::test]
async fn the_token_exp_ends_a_cookie_kept_past_its_max_age() {
    let c = clock();
    let store = store(&c).with_lifetime(SessionLifetime {
        rolling: true,
        inactivity: Duration::from_secs(100),
        absolute: Duration::from_secs(1000),
    });
    let jar = BrowserJar::new(Arc::new(c.clone()));
    write(&store, &jar, &session_of(100, c.unix_seconds())).await;
    let stolen = jar.snapshot();
    c.advance(Duration::from_secs(200));
    let thief = BrowserJar::new(Arc::new(ManualClock::at_unix(0)));
    thief.restore(stolen);
    assert_eq!(
        read(&store, &thief).await,
        None,
        "exp inside the token still ends it"
    );
}

#[tokio::test]
async fn a_session_over_the_limit_is_too_large_and_names_the_server_side_stores() {
    let c = clock();
    let store = store(&c).with_max_size(4000);
    let jar = BrowserJar::new(Arc::new(c.clone()));
    let small = session_of(100, c.unix_seconds());
    write(&store, &jar, &small).await;
    let cx = jar.context();
    let err = store
        .set(ID, &session_of(6000, c.unix_seconds()), false, &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { limit: 4000, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Redis or PostgreSQL"), "{err}");
    assert!(cx.take_changes().is_empty(), "nothing was written");
    assert_eq!(read(&store, &jar).await, Some(small));
}

#[tokio::test]
async fn a_session_in_more_chunks_than_a_request_brings_in_is_too_large() {
    // 256-character chunks and the default size limit would allow 48 chunks, but the web
    // layer reads at most 32 cookies of one name: such a session would read as none.
    let c = clock();
    let store = store(&c).with_chunk_size(256);
    let limit = 256 * auth0_store_core::store::MAX_COOKIES_PER_PREFIX;
    let cx = BrowserJar::new(Arc::new(c.clone())).context();
    let err = store
        .set(ID, &session_of(limit, c.unix_seconds()), false, &cx)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooLarge { limit: l, .. } if l == limit),
        "{err:?}"
    );
    assert!(cx.take_changes().is_empty(), "nothing was written");
}

#[tokio::test]
async fn back_channel_logout_is_unsupported_and_says_why() {
    let c = clock();
    let err = store(&c)
        .delete_by_logout_token(&LogoutTokenClaims::default(), &StoreContext::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_unsupported");
    assert!(err.to_string().contains("Redis or PostgreSQL"), "{err}");
}

fn tx_store(c: &ManualClock) -> CookieTransactionStore {
    CookieTransactionStore::new(Secrets::parse(SECRET).unwrap()).with_clock(Arc::new(c.clone()))
}

#[tokio::test]
async fn a_transaction_cookie_is_no_session_and_a_session_cookie_is_no_transaction() {
    let c = clock();
    let jar = BrowserJar::new(Arc::new(c.clone()));
    let tx = tx_store(&c);
    let cx = jar.context();
    tx.set("_a0_tx:abc", &TransactionData::default(), &cx)
        .await
        .unwrap();
    jar.apply(&cx);
    let tx_value = jar.get("__Host-_a0_tx_abc").unwrap();
    let header = jar.cookie("__Host-_a0_tx_abc").unwrap().attributes;
    assert!(
        header.contains("Max-Age=3600")
            && header.contains("HttpOnly")
            && header.contains("SameSite=Lax")
    );

    jar.set("__Host-_a0_session.0", &tx_value);
    assert_eq!(read(&store(&c), &jar).await, None);

    write(&store(&c), &jar, &session_of(100, c.unix_seconds())).await;
    let session_value = jar.get("__Host-_a0_session.0").unwrap();
    jar.set("__Host-_a0_tx_abc", &session_value);
    assert_eq!(tx.get("_a0_tx:abc", &jar.context()).await.unwrap(), None);
    // Nor does one login's cookie open as another's.
    jar.set("__Host-_a0_tx_other", &tx_value);
    assert_eq!(tx.get("_a0_tx:other", &jar.context()).await.unwrap(), None);
}

#[tokio::test]
async fn twenty_parallel_logins_stay_under_the_bound_and_the_newest_survive() {
    let c = clock();
    let jar = BrowserJar::new(Arc::new(c.clone()));
    let tx = tx_store(&c);
    for i in 0..20 {
        let cx = jar.context();
        tx.set(
            &format!("_a0_tx:state{i}"),
            &TransactionData::default(),
            &cx,
        )
        .await
        .unwrap();
        jar.apply(&cx);
        c.advance(Duration::from_secs(1));
    }
    let names: Vec<String> = jar
        .names()
        .into_iter()
        .filter(|n| n.starts_with("__Host-_a0_tx_"))
        .collect();
    assert_eq!(names.len(), DEFAULT_MAX_TRANSACTIONS, "{names:?}");
    let cx = jar.context();
    assert!(tx.get("_a0_tx:state19", &cx).await.unwrap().is_some());
    assert!(tx.get("_a0_tx:state0", &cx).await.unwrap().is_none());
    tx.clear("_a0_tx", &cx).await.unwrap();
    jar.apply(&cx);
    assert!(
        jar.names().iter().all(|n| !n.contains("_a0_tx_")),
        "clear removes them all"
    );
}

#[tokio::test]
async fn an_expired_transaction_is_gone() {
    let c = clock();
    let jar = BrowserJar::new(Arc::new(c.clone()));
    let tx = tx_store(&c);
    let cx = jar.context();
    tx.set("_a0_tx:s", &TransactionData::default(), &cx)
        .await
        .unwrap();
    jar.apply(&cx);
    let stolen = jar.snapshot();
    c.advance(Duration::from_secs(3600 + 16));
    let replay = BrowserJar::new(Arc::new(ManualClock::at_unix(0)));
    replay.restore(stolen);
    assert!(
        tx.get("_a0_tx:s", &replay.context())
            .await
            .unwrap()
            .is_none()
    );
}

/// Cookie tossing on a login: a sibling subdomain plants a valid login cookie of the
/// attacker's under the plain name; the store reads only `__Host-_a0_tx_{state}`, and a clear
/// after login does not count the planted ones as its own.
#[tokio::test]
async fn a_login_cookie_planted_under_the_plain_name_is_not_read() {
    let c = clock();
    let tx = tx_store(&c);
    let python_names = tx_store(&c).with_cookie_options(CookieOptions {
        host_prefix: false,
        ..CookieOptions::default()
    });
    let attacker = BrowserJar::new(Arc::new(c.clone()));
    let cx = attacker.context();
    python_names
        .set("_a0_tx:abc", &TransactionData::default(), &cx)
        .await
        .unwrap();
    attacker.apply(&cx);
    let planted = attacker.get("_a0_tx_abc").unwrap();

    let victim = BrowserJar::new(Arc::new(c.clone()));
    assert!(victim.plant_from_sibling("_a0_tx_abc", &planted));
    assert_eq!(tx.get("_a0_tx:abc", &victim.context()).await.unwrap(), None);
    assert!(
        python_names
            .get("_a0_tx:abc", &victim.context())
            .await
            .unwrap()
            .is_some(),
        "the planted cookie is valid: only its name keeps it out"
    );
    let cx = victim.context();
    tx.clear("_a0_tx", &cx).await.unwrap();
    assert!(cx.take_changes().is_empty(), "not ours to remove");
}
