//! The rules. Each takes a fresh fixture and returns `Ok(())` or the [`Failure`] that says
//! what the store did wrong.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth0_store_core::model::{
    Internal, LogoutTokenClaims, StateData, TokenSet, TransactionData, UserClaims,
};
use auth0_store_core::store::{HOST_PREFIX, StoreContext, StoreError};
use serde_json::{Value, json};

use crate::fixture::{Fixture, StoreKind};
use crate::jar::BrowserJar;

/// The cookie name sessions are stored under in the suite.
pub const IDENTIFIER: &str = "_a0_session";
/// A second identifier, for the foreign-identifier rule.
pub const OTHER_IDENTIFIER: &str = "_a0_other";
/// The transaction identifier.
pub const TX_IDENTIFIER: &str = "_a0_tx";
/// The issuer domain sessions are created with.
pub const DOMAIN: &str = "tenant.conformance.example";

/// A rule the store broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What was expected and what happened.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A rule's result.
pub type RuleResult = Result<(), Failure>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(Failure { message: format!($($msg)+) });
        }
    };
}

mod sessions;
pub use sessions::{
    another_users_or_a_forged_handle_revokes_nothing,
    revoking_all_but_current_keeps_the_current_one, revoking_all_ends_every_session_of_the_user,
    revoking_all_goes_past_one_page, revoking_leaves_sessions_this_store_cannot_open,
    revoking_one_session_ends_only_that_one, session_metadata_and_last_active_are_listed,
    sessions_with_no_recorded_domain_are_listed_and_revoked,
    users_sessions_are_listed_with_the_current_one_marked,
};

/// Turns a store error into a failure that says what was being done.
trait Doing<T> {
    fn doing(self, what: &str) -> Result<T, Failure>;
}

impl<T> Doing<T> for Result<T, StoreError> {
    fn doing(self, what: &str) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            message: format!("{what} failed: {e} (code {})", e.code()),
        })
    }
}

/// A realistic session: claims, ID token, refresh token and an access token.
pub fn sample_state(sub: &str, sid: &str, now: u64) -> StateData {
    StateData {
        user: Some(UserClaims {
            sub: sub.to_owned(),
            name: Some("Ada Lovelace".to_owned()),
            email: Some("ada@example.com".to_owned()),
            email_verified: Some(true),
            ..UserClaims::default()
        }),
        id_token: Some(format!("eyJhbGciOiJSUzI1NiJ9.{}.sig", "i".repeat(600))),
        refresh_token: Some("v1.refresh-token-value".to_owned()),
        token_sets: vec![TokenSet {
            audience: "https://api.example.com".to_owned(),
            access_token: format!("eyJhbGciOiJSUzI1NiJ9.{}.sig", "a".repeat(500)),
            scope: Some("openid profile email offline_access".to_owned()),
            expires_at: now + 3600,
            extra: Default::default(),
        }],
        connection_token_sets: vec![],
        domain: Some(DOMAIN.to_owned()),
        internal: Internal {
            sid: sid.to_owned(),
            created_at: now,
            session_expires_at: None,
            extra: Default::default(),
        },
        extra: Default::default(),
    }
}

struct Browser<'a> {
    fixture: &'a dyn Fixture,
    jar: BrowserJar,
}

impl<'a> Browser<'a> {
    fn new(fixture: &'a dyn Fixture) -> Self {
        Self {
            fixture,
            jar: BrowserJar::new(fixture.clock()),
        }
    }

    async fn set(&self, state: &StateData, rotate: bool) -> Result<(), StoreError> {
        let cx = self.jar.context();
        let result = self
            .fixture
            .state_store()
            .set(IDENTIFIER, state, rotate, &cx)
            .await;
        self.jar.apply(&cx);
        result
    }

    async fn get(&self) -> Result<Option<StateData>, StoreError> {
        self.get_as(IDENTIFIER).await
    }

    async fn get_as(&self, identifier: &str) -> Result<Option<StateData>, StoreError> {
        let cx = self.jar.context();
        let result = self.fixture.state_store().get(identifier, &cx).await;
        self.jar.apply(&cx);
        result
    }

    async fn delete(&self) -> Result<(), StoreError> {
        let cx = self.jar.context();
        let result = self.fixture.state_store().delete(IDENTIFIER, &cx).await;
        self.jar.apply(&cx);
        result
    }

    /// The cookies that carry the session under `identifier` (the cookie itself, or its
    /// chunks), with or without the `__Host-` prefix.
    fn session_cookies(&self, identifier: &str) -> Vec<(String, String)> {
        self.jar
            .names()
            .into_iter()
            .filter(|n| {
                let n = n.strip_prefix(HOST_PREFIX).unwrap_or(n);
                n == identifier
                    || n.strip_prefix(identifier)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
            })
            .filter_map(|n| self.jar.get(&n).map(|v| (n, v)))
            .collect()
    }
}

fn now(fixture: &dyn Fixture) -> u64 {
    fixture.clock().unix_seconds()
}

async fn round_trip(fixture: &dyn Fixture, state: &StateData, what: &str) -> RuleResult {
    let browser = Browser::new(fixture);
    browser
        .set(state, true)
        .await
        .doing(&format!("writing a {what} session"))?;
    let back = browser
        .get()
        .await
        .doing(&format!("reading a {what} session"))?;
    ensure!(
        back.is_some(),
        "a {what} session that was just written reads as absent"
    );
    ensure!(
        back.as_ref() == Some(state),
        "a {what} session did not read back equal to what was written"
    );
    Ok(())
}

/// A session of about half the store's size limit reads back unchanged.
pub async fn round_trip_large(fixture: &dyn Fixture) -> RuleResult {
    let now = now(fixture);
    let mut state = sample_state("auth0|large", "sid-large", now);
    // Sealing and encoding grow the JSON by about 1.4×; aim at 40 % of the limit.
    let target = fixture.size_limit() * 2 / 5;
    let mut i = 0;
    while serde_json::to_vec(&state).map_or(0, |v| v.len()) < target {
        state.token_sets.push(TokenSet {
            audience: format!("https://api-{i}.example.com"),
            access_token: format!("{i}-{}", "t".repeat(900)),
            scope: Some("read:things write:things".to_owned()),
            expires_at: now + 3600 + i,
            extra: Default::default(),
        });
        i += 1;
    }
    round_trip(fixture, &state, "large").await
}

/// Text in every script, emoji, quotes, backslashes and control characters survives.
pub async fn round_trip_unicode(fixture: &dyn Fixture) -> RuleResult {
    let mut state = sample_state("auth0|ünïcødé", "sid-ü", now(fixture));
    let user = state.user.get_or_insert_with(UserClaims::default);
    user.name = Some("Zoë Ø'Brien \"quoted\" \\ back\\slash 😀👩‍👩‍👧 عربى 中文 ﷽ e\u{301}".to_owned());
    user.extra.insert(
        "controls".to_owned(),
        json!("tab\tnewline\nnul\u{0}bell\u{7}"),
    );
    round_trip(fixture, &state, "unicode").await
}

/// Unknown fields, nested deeply, at every level, survive unchanged.
pub async fn round_trip_nested(fixture: &dyn Fixture) -> RuleResult {
    let mut state = sample_state("auth0|nested", "sid-nested", now(fixture));
    let mut deep = json!({"leaf": [1, 2.5, -3, true, null, "x"]});
    for level in 0..12 {
        deep = json!({ format!("level{level}"): deep, "n": level });
    }
    state.extra.insert("future_field".to_owned(), deep.clone());
    state
        .extra
        .insert("big_number".to_owned(), json!(9_007_199_254_740_993u64));
    if let Some(user) = state.user.as_mut() {
        user.extra.insert(
            "https://example.com/roles".to_owned(),
            json!(["admin", {"scoped": ["a", "b"]}]),
        );
    }
    state
        .internal
        .extra
        .insert("note".to_owned(), json!({"a": {"b": null}}));
    state.token_sets[0]
        .extra
        .insert("token_type".to_owned(), json!("Bearer"));
    round_trip(fixture, &state, "nested").await
}

/// A browser with no session, or only unrelated cookies, has none.
pub async fn absent_session_is_none(fixture: &dyn Fixture) -> RuleResult {
    let browser = Browser::new(fixture);
    ensure!(
        browser
            .get()
            .await
            .doing("reading with no cookies")?
            .is_none(),
        "an empty jar read as a session"
    );
    browser.jar.set("theme", "dark");
    browser.jar.set("_a0_session_other", "x");
    ensure!(
        browser
            .get()
            .await
            .doing("reading with unrelated cookies")?
            .is_none(),
        "unrelated cookies read as a session"
    );
    ensure!(
        browser.jar.get("theme").as_deref() == Some("dark"),
        "an unrelated cookie was changed"
    );
    Ok(())
}

/// Deleting twice, or deleting nothing, succeeds; afterwards there is no session and no cookie.
pub async fn delete_is_idempotent(fixture: &dyn Fixture) -> RuleResult {
    let browser = Browser::new(fixture);
    browser
        .delete()
        .await
        .doing("deleting when there is no session")?;
    browser
        .set(&sample_state("auth0|del", "sid-del", now(fixture)), true)
        .await
        .doing("writing")?;
    browser.delete().await.doing("deleting")?;
    browser.delete().await.doing("deleting again")?;
    ensure!(
        browser.get().await.doing("reading after delete")?.is_none(),
        "a deleted session still reads"
    );
    ensure!(
        browser.session_cookies(IDENTIFIER).is_empty(),
        "deleting left session cookies in the browser: {:?}",
        browser
            .session_cookies(IDENTIFIER)
            .iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    );
    Ok(())
}

/// A write at login (`rotate = true`) gives the browser a new cookie value; on a server-side
/// store the old id no longer opens the session.
pub async fn rotation_gives_a_new_id_and_the_old_one_is_dead(fixture: &dyn Fixture) -> RuleResult {
    let browser = Browser::new(fixture);
    let state = sample_state("auth0|rot", "sid-rot", now(fixture));
    browser.set(&state, true).await.doing("first login")?;
    let before = browser.session_cookies(IDENTIFIER);
    browser.set(&state, true).await.doing("second login")?;
    let after = browser.session_cookies(IDENTIFIER);
    ensure!(!after.is_empty(), "no session cookie after login");
    ensure!(before != after, "login did not change the session cookie");
    ensure!(
        browser
            .get()
            .await
            .doing("reading after rotation")?
            .as_ref()
            == Some(&state),
        "the rotated session does not read back"
    );
    if fixture.kind() == StoreKind::ServerSide {
        let replay = Browser::new(fixture);
        for (name, value) in &before {
            replay.jar.set(name, value);
        }
        ensure!(
            replay
                .get()
                .await
                .doing("reading with the old id")?
                .is_none(),
            "the session id from before the login still opens the session (session fixation)"
        );
    }
    Ok(())
}

/// A session id planted in the victim's browser before login never gives the attacker the
/// victim's session.
pub async fn login_never_keeps_a_planted_session(fixture: &dyn Fixture) -> RuleResult {
    let attacker = Browser::new(fixture);
    let attacker_state = sample_state("auth0|attacker", "sid-attacker", now(fixture));
    attacker
        .set(&attacker_state, true)
        .await
        .doing("attacker login")?;
    let planted = attacker.session_cookies(IDENTIFIER);

    let victim = Browser::new(fixture);
    for (name, value) in &planted {
        victim.jar.set(name, value);
    }
    let victim_state = sample_state("auth0|victim", "sid-victim", now(fixture));
    victim
        .set(&victim_state, true)
        .await
        .doing("victim login")?;
    ensure!(
        victim.session_cookies(IDENTIFIER) != planted,
        "the planted session cookie survived the login"
    );
    let seen = attacker.get().await.doing("attacker reading")?;
    ensure!(
        seen.as_ref()
            .and_then(|s| s.user.as_ref())
            .map(|u| u.sub.as_str())
            != Some("auth0|victim"),
        "the attacker's cookie opens the victim's session"
    );
    Ok(())
}

/// A session ends at its lifetime ceiling; a write whose lifetime is already over ends it and
/// fails with `session_expired`.
pub async fn expiry_is_honoured(fixture: &dyn Fixture) -> RuleResult {
    let browser = Browser::new(fixture);
    let mut state = sample_state("auth0|exp", "sid-exp", now(fixture));
    state.internal.session_expires_at = Some(now(fixture) + 2);
    browser
        .set(&state, true)
        .await
        .doing("writing a session that ends in 2 s")?;
    ensure!(
        browser
            .get()
            .await
            .doing("reading before expiry")?
            .is_some(),
        "the session is gone before its expiry"
    );
    fixture.advance(Duration::from_secs(3)).await;
    ensure!(
        browser.get().await.doing("reading after expiry")?.is_none(),
        "the session is still there after its expiry"
    );

    let other = Browser::new(fixture);
    let mut past = sample_state("auth0|past", "sid-past", now(fixture));
    past.internal.session_expires_at = Some(now(fixture).saturating_sub(10));
    let written = other.set(&past, true).await;
    ensure!(
        matches!(written, Err(StoreError::SessionExpired)),
        "writing a session whose lifetime is over gave {written:?}, not session_expired"
    );
    ensure!(
        other.get().await.doing("reading it")?.is_none(),
        "a session written after its lifetime reads as live"
    );
    Ok(())
}

/// The session cookie is HttpOnly, Secure, SameSite=Lax, Path=/, with a Max-Age within the
/// session's lifetime.
pub async fn session_cookie_attributes(fixture: &dyn Fixture) -> RuleResult {
    let browser = Browser::new(fixture);
    let mut state = sample_state("auth0|attrs", "sid-attrs", now(fixture));
    state.internal.session_expires_at = Some(now(fixture) + 600);
    browser.set(&state, true).await.doing("writing")?;
    let cookies = browser.session_cookies(IDENTIFIER);
    ensure!(!cookies.is_empty(), "no session cookie was set");
    for (name, _) in cookies {
        let Some(cookie) = browser.jar.cookie(&name) else {
            continue;
        };
        let attrs: Vec<String> = cookie
            .attributes
            .split(';')
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        for needed in ["httponly", "secure", "samesite=lax", "path=/"] {
            ensure!(
                attrs.iter().any(|a| a == needed),
                "cookie {name} lacks {needed}: {}",
                cookie.attributes
            );
        }
        let max_age = attrs.iter().find_map(|a| {
            a.strip_prefix("max-age=")
                .and_then(|v| v.parse::<u64>().ok())
        });
        ensure!(
            max_age.is_some_and(|m| m > 0 && m <= 600),
            "cookie {name} should have a Max-Age within the session's 600 s: {}",
            cookie.attributes
        );
    }
    Ok(())
}

async fn altered_cookies_are_none(
    fixture: &dyn Fixture,
    what: &str,
    alter: impl Fn(&str, usize) -> Option<String>,
) -> RuleResult {
    let browser = Browser::new(fixture);
    let state = sample_state("auth0|alter", "sid-alter", now(fixture));
    browser.set(&state, true).await.doing("writing")?;
    let original = browser.jar.snapshot();
    let cookies = browser.session_cookies(IDENTIFIER);
    ensure!(!cookies.is_empty(), "no session cookie was set");
    for variant in 0..12 {
        let mut changed = false;
        for (name, value) in &cookies {
            if let Some(altered) = alter(value, variant)
                && altered != *value
            {
                browser.jar.set(name, &altered);
                changed = true;
            }
        }
        if !changed {
            continue;
        }
        let read = browser
            .get()
            .await
            .doing(&format!("reading a {what} cookie"))?;
        ensure!(
            read.is_none(),
            "a {what} cookie (variant {variant}) read as a session"
        );
        browser.jar.restore(original.clone());
    }
    let back = Browser::new(fixture);
    back.jar.restore(original);
    ensure!(
        back.get()
            .await
            .doing("reading the untouched cookie")?
            .as_ref()
            == Some(&state),
        "after {what} cookies were refused, the real session no longer reads (something stored was lost)"
    );
    Ok(())
}

/// Changing any part of the cookie makes it no session, and leaves the real session intact.
pub async fn tampered_cookie_is_none(fixture: &dyn Fixture) -> RuleResult {
    altered_cookies_are_none(fixture, "tampered", |value, variant| {
        let bytes = value.as_bytes();
        if bytes.is_empty() {
            return None;
        }
        let at = (bytes.len() * variant / 12).min(bytes.len() - 1);
        let mut out = bytes.to_vec();
        out[at] = if out[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(out).ok()
    })
    .await
}

/// A cookie cut short is no session.
pub async fn truncated_cookie_is_none(fixture: &dyn Fixture) -> RuleResult {
    altered_cookies_are_none(fixture, "truncated", |value, variant| {
        let len = value.len() * variant / 12;
        value.get(..len).map(str::to_owned)
    })
    .await
}

/// Garbage in the session cookie is no session and no panic.
pub async fn garbage_cookie_is_none(fixture: &dyn Fixture) -> RuleResult {
    let garbage = [
        String::new(),
        "x".to_owned(),
        "....".to_owned(),
        "eyJhbGciOiJub25lIn0..AA.AA.AA".to_owned(),
        "a".repeat(4000),
        "%00%ff".to_owned(),
        "\u{1F600}".to_owned(),
    ];
    altered_cookies_are_none(fixture, "garbage", |_, variant| {
        garbage.get(variant).cloned()
    })
    .await
}

/// Cookie tossing: a sibling subdomain (`evil.example.com` beside `app.example.com`) can set
/// cookies for the parent domain under plain names, never under `__Host-` ones. With the
/// default cookie options the session's cookies carry `__Host-`; a valid session of the
/// attacker's own planted under the plain names is no session, and never takes the place of
/// the browser's own.
pub async fn session_planted_under_the_plain_name_is_ignored(fixture: &dyn Fixture) -> RuleResult {
    let attacker = Browser::new(fixture);
    let attacker_state = sample_state("auth0|attacker", "sid-attacker", now(fixture));
    attacker
        .set(&attacker_state, true)
        .await
        .doing("attacker login")?;
    let own = attacker.session_cookies(IDENTIFIER);
    ensure!(!own.is_empty(), "no session cookie was set");
    ensure!(
        own.iter().all(|(name, _)| name.starts_with(HOST_PREFIX)),
        "with the default cookie options the session cookies must carry {HOST_PREFIX}: {:?}",
        own.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    let plant = |victim: &Browser<'_>| -> RuleResult {
        for (name, value) in &own {
            let plain = name.strip_prefix(HOST_PREFIX).unwrap_or(name);
            ensure!(
                victim.jar.plant_from_sibling(plain, value),
                "the jar refused a plain-named cookie from a sibling"
            );
            ensure!(
                !victim.jar.plant_from_sibling(name, value),
                "the jar took a {HOST_PREFIX} cookie from a sibling"
            );
        }
        Ok(())
    };
    let victim = Browser::new(fixture);
    plant(&victim)?;
    ensure!(
        victim
            .get()
            .await
            .doing("reading the planted session")?
            .is_none(),
        "a session planted under the plain name logged the browser in"
    );
    let victim_state = sample_state("auth0|victim", "sid-victim", now(fixture));
    victim
        .set(&victim_state, true)
        .await
        .doing("victim login")?;
    plant(&victim)?;
    let seen = victim.get().await.doing("victim reading")?;
    ensure!(
        seen.as_ref()
            .and_then(|s| s.user.as_ref())
            .map(|u| u.sub.as_str())
            == Some("auth0|victim"),
        "a session planted under the plain name replaced the browser's own: {:?}",
        seen.and_then(|s| s.user).map(|u| u.sub)
    );
    Ok(())
}

/// A session's cookies copied under another identifier do not open there.
pub async fn foreign_identifier_cookie_is_none(fixture: &dyn Fixture) -> RuleResult {
    let browser = Browser::new(fixture);
    browser
        .set(
            &sample_state("auth0|foreign", "sid-foreign", now(fixture)),
            true,
        )
        .await
        .doing("writing")?;
    for (name, value) in browser.session_cookies(IDENTIFIER) {
        let renamed = name.replacen(IDENTIFIER, OTHER_IDENTIFIER, 1);
        browser.jar.set(&renamed, &value);
    }
    ensure!(
        browser
            .get_as(OTHER_IDENTIFIER)
            .await
            .doing("reading under another identifier")?
            .is_none(),
        "a session opened under an identifier it was not written for"
    );
    ensure!(
        browser
            .get()
            .await
            .doing("reading under its own identifier")?
            .is_some(),
        "the real session was lost"
    );
    Ok(())
}

/// A write later in a request sees, and a read later in it returns, what was written earlier.
pub async fn writes_are_visible_within_the_request(fixture: &dyn Fixture) -> RuleResult {
    let store = fixture.state_store();
    let jar = BrowserJar::new(fixture.clock());
    let cx = jar.context();
    let mut state = sample_state("auth0|same", "sid-same", now(fixture));
    store
        .set(IDENTIFIER, &state, true, &cx)
        .await
        .doing("login write")?;
    ensure!(
        store
            .get(IDENTIFIER, &cx)
            .await
            .doing("read in the same request")?
            .as_ref()
            == Some(&state),
        "a read in the same request did not see the write"
    );
    state.refresh_token = Some("v1.second".to_owned());
    store
        .set(IDENTIFIER, &state, false, &cx)
        .await
        .doing("second write in the same request")?;
    state.refresh_token = Some("v1.third".to_owned());
    store
        .set(IDENTIFIER, &state, false, &cx)
        .await
        .doing("third write in the same request")?;
    jar.apply(&cx);
    let next = jar.context();
    ensure!(
        store
            .get(IDENTIFIER, &next)
            .await
            .doing("read in the next request")?
            .as_ref()
            == Some(&state),
        "the last write of a request was not kept"
    );
    Ok(())
}

/// A session deleted by one request is not brought back by another request that read it
/// before the delete. (Stateless stores cannot see other requests: for them the rule is that
/// a deleted session reads as absent.)
pub async fn update_after_delete_does_not_resurrect(fixture: &dyn Fixture) -> RuleResult {
    let browser = Browser::new(fixture);
    let mut state = sample_state("auth0|res", "sid-res", now(fixture));
    browser.set(&state, true).await.doing("writing")?;
    let store = fixture.state_store();
    let stale = browser.jar.context();
    store
        .get(IDENTIFIER, &stale)
        .await
        .doing("reading in the slow request")?;
    let before_delete = browser.jar.snapshot();
    browser
        .delete()
        .await
        .doing("deleting in another request")?;
    ensure!(
        browser.get().await.doing("reading after delete")?.is_none(),
        "the deleted session still reads"
    );
    if fixture.kind() == StoreKind::Cookie {
        return Ok(());
    }
    state.refresh_token = Some("v1.after-delete".to_owned());
    let result = store.set(IDENTIFIER, &state, false, &stale).await;
    ensure!(
        matches!(result, Err(StoreError::SessionEnded)),
        "a write after delete should fail with SessionEnded, got {result:?}"
    );
    let replay = Browser::new(fixture);
    replay.jar.restore(before_delete);
    ensure!(
        replay
            .get()
            .await
            .doing("reading with the old cookie")?
            .is_none(),
        "the deleted session was brought back"
    );
    Ok(())
}

/// Of several requests that read the same version and write, exactly one wins and the others
/// get `Conflict`; re-reading and re-applying then keeps every change.
pub async fn concurrent_updates_are_never_lost_silently(fixture: &dyn Fixture) -> RuleResult {
    const WRITERS: usize = 8;
    let browser = Browser::new(fixture);
    let state = sample_state("auth0|cas", "sid-cas", now(fixture));
    browser.set(&state, true).await.doing("writing")?;
    let store = fixture.state_store();
    if fixture.kind() == StoreKind::Cookie {
        // Each response carries its own cookies; the browser keeps the last one it applies.
        return Ok(());
    }
    let mut contexts = Vec::new();
    for _ in 0..WRITERS {
        let cx = browser.jar.context();
        store.get(IDENTIFIER, &cx).await.doing("reading")?;
        contexts.push(cx);
    }
    let mut tasks = Vec::new();
    for (i, cx) in contexts.into_iter().enumerate() {
        let store = store.clone();
        let mut mine = state.clone();
        mine.extra.insert("writers".to_owned(), json!([i]));
        tasks.push(tokio::spawn(async move {
            store.set(IDENTIFIER, &mine, false, &cx).await
        }));
    }
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await {
            Ok(Ok(())) => winners.push(i),
            Ok(Err(StoreError::Conflict)) => {}
            Ok(Err(e)) => {
                return Err(Failure {
                    message: format!("a concurrent write failed with {e} instead of Conflict"),
                });
            }
            Err(e) => {
                return Err(Failure {
                    message: format!("a concurrent write panicked: {e}"),
                });
            }
        }
    }
    ensure!(
        winners.len() == 1,
        "{} of {WRITERS} writers of the same version succeeded; exactly one must",
        winners.len()
    );
    let current = browser.get().await.doing("reading the result")?;
    let written = current
        .as_ref()
        .and_then(|s| s.extra.get("writers"))
        .cloned();
    ensure!(
        written == Some(json!([winners[0]])),
        "the stored session is not the winner's write: {written:?}"
    );

    // The losers re-read and re-apply, as the client does on Conflict: nothing is lost.
    let shared = Arc::new(store);
    let mut tasks = Vec::new();
    for i in (0..WRITERS).filter(|i| *i != winners[0]) {
        let store = shared.clone();
        let jar = browser.jar.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                let cx = jar.context();
                let Some(mut s) = store.get(IDENTIFIER, &cx).await? else {
                    return Err(StoreError::SessionEnded);
                };
                if let Some(Value::Array(list)) = s.extra.get_mut("writers") {
                    list.push(json!(i));
                }
                match store.set(IDENTIFIER, &s, false, &cx).await {
                    Err(StoreError::Conflict) => continue,
                    other => return other,
                }
            }
            Err(StoreError::Conflict)
        }));
    }
    for task in tasks {
        match task.await {
            Ok(result) => result.doing("re-applying after Conflict")?,
            Err(e) => {
                return Err(Failure {
                    message: format!("a retrying writer panicked: {e}"),
                });
            }
        }
    }
    let fin = browser.get().await.doing("reading the final session")?;
    let mut writers: Vec<u64> = fin
        .as_ref()
        .and_then(|s| s.extra.get("writers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    writers.sort_unstable();
    ensure!(
        writers == (0..WRITERS as u64).collect::<Vec<_>>(),
        "after retries some writes were lost: {writers:?}"
    );
    Ok(())
}

/// A session over the size limit is refused with `TooLarge`, and the session already there
/// is untouched.
pub async fn size_limit_is_enforced(fixture: &dyn Fixture) -> RuleResult {
    let browser = Browser::new(fixture);
    let state = sample_state("auth0|big", "sid-big", now(fixture));
    browser
        .set(&state, true)
        .await
        .doing("writing a normal session")?;
    let mut huge = state.clone();
    huge.extra.insert(
        "blob".to_owned(),
        json!("x".repeat(fixture.size_limit() * 2)),
    );
    match browser.set(&huge, false).await {
        Err(StoreError::TooLarge { size, limit }) => {
            ensure!(
                size > limit,
                "TooLarge reported size {size} under limit {limit}"
            );
        }
        other => {
            return Err(Failure {
                message: format!("an oversized session gave {other:?}, not TooLarge"),
            });
        }
    }
    ensure!(
        browser
            .get()
            .await
            .doing("reading after the refused write")?
            .as_ref()
            == Some(&state),
        "a refused write changed or lost the session"
    );
    Ok(())
}

struct ThreeSessions<'a> {
    ada: [Browser<'a>; 3],
    bob: Browser<'a>,
}

async fn three_sessions(fixture: &dyn Fixture) -> Result<ThreeSessions<'_>, Failure> {
    let now = now(fixture);
    let ada = [
        Browser::new(fixture),
        Browser::new(fixture),
        Browser::new(fixture),
    ];
    for (i, b) in ada.iter().enumerate() {
        b.set(&sample_state("auth0|ada", &format!("sid-{i}"), now), true)
            .await
            .doing("ada login")?;
    }
    let bob = Browser::new(fixture);
    bob.set(&sample_state("auth0|bob", "sid-bob", now), true)
        .await
        .doing("bob login")?;
    Ok(ThreeSessions { ada, bob })
}

async fn logout(
    fixture: &dyn Fixture,
    iss: &str,
    sid: Option<&str>,
    sub: Option<&str>,
) -> Result<u64, StoreError> {
    let claims = LogoutTokenClaims {
        iss: iss.to_owned(),
        sid: sid.map(str::to_owned),
        sub: sub.map(str::to_owned),
        extra: Default::default(),
    };
    fixture
        .state_store()
        .delete_by_logout_token(&claims, &StoreContext::new())
        .await
}

async fn live(browsers: &[&Browser<'_>]) -> Result<Vec<bool>, Failure> {
    let mut out = Vec::new();
    for b in browsers {
        out.push(b.get().await.doing("reading")?.is_some());
    }
    Ok(out)
}

async fn logout_rule(
    fixture: &dyn Fixture,
    iss: &str,
    sid: Option<&str>,
    sub: Option<&str>,
    expect_ended: u64,
    expect_live: [bool; 4],
) -> RuleResult {
    let s = three_sessions(fixture).await?;
    let result = logout(fixture, iss, sid, sub).await;
    let all = [&s.ada[0], &s.ada[1], &s.ada[2], &s.bob];
    if fixture.kind() == StoreKind::Cookie {
        ensure!(
            matches!(result, Err(StoreError::Unsupported { .. })),
            "a cookie store must answer back-channel logout with Unsupported, got {result:?}"
        );
        ensure!(
            live(&all).await? == [true; 4],
            "an unsupported logout changed sessions"
        );
        return Ok(());
    }
    let ended = result.doing("back-channel logout")?;
    ensure!(
        ended == expect_ended,
        "logout (sid {sid:?}, sub {sub:?}, iss {iss}) ended {ended} sessions, expected {expect_ended}"
    );
    let now_live = live(&all).await?;
    ensure!(
        now_live == expect_live,
        "after logout (sid {sid:?}, sub {sub:?}) live sessions [ada0, ada1, ada2, bob] are {now_live:?}, expected {expect_live:?}"
    );
    Ok(())
}

/// A logout token with a `sid` ends only that session; the user's others survive.
pub async fn logout_by_sid_ends_only_that_session(fixture: &dyn Fixture) -> RuleResult {
    logout_rule(
        fixture,
        &format!("https://{DOMAIN}/"),
        Some("sid-1"),
        Some("auth0|ada"),
        1,
        [true, false, true, true],
    )
    .await
}

/// A logout token with only a `sub` ends every session of that user, and no one else's.
pub async fn logout_by_sub_ends_all_of_the_users_sessions(fixture: &dyn Fixture) -> RuleResult {
    logout_rule(
        fixture,
        &format!("https://{DOMAIN}/"),
        None,
        Some("auth0|ada"),
        3,
        [false, false, false, true],
    )
    .await
}

/// A `sid` with another user's `sub` ends nothing.
pub async fn logout_with_mismatched_sid_and_sub_ends_nothing(fixture: &dyn Fixture) -> RuleResult {
    logout_rule(
        fixture,
        &format!("https://{DOMAIN}/"),
        Some("sid-1"),
        Some("auth0|bob"),
        0,
        [true; 4],
    )
    .await
}

/// A logout token from another issuer ends nothing.
pub async fn logout_from_another_issuer_ends_nothing(fixture: &dyn Fixture) -> RuleResult {
    logout_rule(
        fixture,
        "https://other-tenant.example/",
        None,
        Some("auth0|ada"),
        0,
        [true; 4],
    )
    .await
}

fn sample_transaction(state: &str) -> TransactionData {
    TransactionData {
        code_verifier: Some(format!("verifier-{state}-{}", "v".repeat(43))),
        nonce: Some(format!("nonce-{state}")),
        app_state: Some(json!({"returnTo": "/profile?tab=ü", "nested": {"n": [1, 2]}})),
        audience: Some("https://api.example.com".to_owned()),
        redirect_uri: Some("https://app.example.com/callback".to_owned()),
        domain: Some(DOMAIN.to_owned()),
        organization: None,
        max_age: None,
        extra: Default::default(),
    }
}

fn tx_key(state: &str) -> String {
    format!("{TX_IDENTIFIER}:{state}")
}

/// A transaction reads back unchanged in a later request, and only under its own state.
pub async fn transaction_round_trip(fixture: &dyn Fixture) -> RuleResult {
    let store = fixture.transaction_store();
    let jar = BrowserJar::new(fixture.clock());
    let tx = sample_transaction("state-a");
    let cx = jar.context();
    store
        .set(&tx_key("state-a"), &tx, &cx)
        .await
        .doing("storing a transaction")?;
    jar.apply(&cx);
    let cx = jar.context();
    let back = store
        .get(&tx_key("state-a"), &cx)
        .await
        .doing("reading it back")?;
    ensure!(
        back.as_ref() == Some(&tx),
        "the transaction did not read back equal"
    );
    ensure!(
        store
            .get(&tx_key("state-b"), &cx)
            .await
            .doing("reading another state")?
            .is_none(),
        "a transaction read under another state"
    );
    Ok(())
}

/// Several logins in progress (several tabs) are independent; deleting one keeps the others,
/// and deleting twice succeeds.
pub async fn transactions_are_independent_and_delete_is_idempotent(
    fixture: &dyn Fixture,
) -> RuleResult {
    let store = fixture.transaction_store();
    let jar = BrowserJar::new(fixture.clock());
    for s in ["tab-1", "tab-2", "tab-3"] {
        let cx = jar.context();
        store
            .set(&tx_key(s), &sample_transaction(s), &cx)
            .await
            .doing("storing")?;
        jar.apply(&cx);
    }
    for _ in 0..2 {
        let cx = jar.context();
        store
            .delete(&tx_key("tab-2"), &cx)
            .await
            .doing("deleting tab-2")?;
        jar.apply(&cx);
    }
    let cx = jar.context();
    for (s, expected) in [("tab-1", true), ("tab-2", false), ("tab-3", true)] {
        let read = store.get(&tx_key(s), &cx).await.doing("reading")?;
        ensure!(
            read.is_some() == expected,
            "transaction {s} present = {}, expected {expected}",
            read.is_some()
        );
        if expected {
            ensure!(
                read == Some(sample_transaction(s)),
                "transaction {s} changed"
            );
        }
    }
    Ok(())
}

/// A browser with no transaction has none, whatever the state.
pub async fn absent_transaction_is_none(fixture: &dyn Fixture) -> RuleResult {
    let store = fixture.transaction_store();
    let cx = StoreContext::new();
    ensure!(
        store
            .get(&tx_key("never-stored"), &cx)
            .await
            .doing("reading")?
            .is_none(),
        "an absent transaction read as present"
    );
    Ok(())
}

/// A login's transaction is bound to the browser that started it: a callback opened in
/// another browser (the attacker's callback URL sent to a victim: login CSRF) never reads
/// or takes it, whether that browser has no login of its own or one in progress, and the
/// starting browser still completes its login afterwards.
pub async fn callback_from_another_browser_never_completes(fixture: &dyn Fixture) -> RuleResult {
    let store = fixture.transaction_store();
    let attacker = BrowserJar::new(fixture.clock());
    let cx = attacker.context();
    store
        .set(&tx_key("attacker"), &sample_transaction("attacker"), &cx)
        .await
        .doing("storing the attacker's login")?;
    attacker.apply(&cx);

    let victim = BrowserJar::new(fixture.clock());
    let cx = victim.context();
    store
        .set(&tx_key("victim"), &sample_transaction("victim"), &cx)
        .await
        .doing("storing the victim's own login")?;
    victim.apply(&cx);
    for (label, browser) in [("a fresh browser", None), ("the victim", Some(&victim))] {
        let cx = browser.map_or_else(StoreContext::new, BrowserJar::context);
        ensure!(
            store
                .get(&tx_key("attacker"), &cx)
                .await
                .doing("reading from another browser")?
                .is_none(),
            "{label} read the attacker's transaction"
        );
        ensure!(
            store
                .take(&tx_key("attacker"), &cx)
                .await
                .doing("taking from another browser")?
                .is_none(),
            "{label} took the attacker's transaction"
        );
        if let Some(browser) = browser {
            browser.apply(&cx);
        }
    }
    let cx = attacker.context();
    ensure!(
        store
            .take(&tx_key("attacker"), &cx)
            .await
            .doing("taking in the starting browser")?
            == Some(sample_transaction("attacker")),
        "another browser's attempt used up the login"
    );
    let cx = victim.context();
    ensure!(
        store
            .get(&tx_key("victim"), &cx)
            .await
            .doing("reading the victim's own login")?
            == Some(sample_transaction("victim")),
        "another browser's attempt disturbed the victim's own login"
    );
    Ok(())
}

/// The most logins in progress a store may keep for one browser (the cookie and the
/// server-side transaction stores keep 5 by default).
pub const MAX_LOGINS_PER_BROWSER: usize = 10;

/// One browser cannot pile up logins in progress: after many, at most
/// [`MAX_LOGINS_PER_BROWSER`] can still complete, the newest among them; and a taken
/// transaction is gone.
pub async fn logins_in_progress_are_bounded_per_browser(fixture: &dyn Fixture) -> RuleResult {
    let store = fixture.transaction_store();
    let jar = BrowserJar::new(fixture.clock());
    let states: Vec<String> = (0..30).map(|i| format!("login-{i}")).collect();
    for s in &states {
        let cx = jar.context();
        store
            .set(&tx_key(s), &sample_transaction(s), &cx)
            .await
            .doing("storing")?;
        jar.apply(&cx);
    }
    let cx = jar.context();
    let mut live = 0;
    for s in &states {
        if store.get(&tx_key(s), &cx).await.doing("reading")?.is_some() {
            live += 1;
        }
    }
    ensure!(
        live <= MAX_LOGINS_PER_BROWSER,
        "{live} logins in progress kept for one browser, over {MAX_LOGINS_PER_BROWSER}"
    );
    let newest = tx_key("login-29");
    ensure!(
        store.take(&newest, &cx).await.doing("taking")?.is_some(),
        "the newest login was dropped"
    );
    jar.apply(&cx);
    let cx = jar.context();
    ensure!(
        store
            .get(&newest, &cx)
            .await
            .doing("reading again")?
            .is_none(),
        "a taken transaction read again"
    );
    Ok(())
}
