//! Access tokens: lookup by audience and scope, refresh before expiry, one refresh at a time
//! per session and audience, retries, and saving without lost updates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::http::{Retry, TokenAnswer};
use super::login::{TokenResponse, expires_at, user_claims};
use super::params::{AUTHORIZATION_DETAILS, audience_param, scope_for_audience, token_set_extra};
use super::{Error, ServerClient, meters};
use crate::model::{DEFAULT_AUDIENCE, StateData, TokenSet, UserClaims};
use crate::store::{StoreContext, StoreError};

/// How many times a refreshed session is re-read and re-merged when another request wrote
/// it meanwhile.
pub(super) const SAVE_ATTEMPTS: usize = 5;

/// A refresh this recent is reused even by a forced refresh: the calls that asked at the
/// same moment get one refresh between them.
const RECENT_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// What [`ServerClient::get_access_token`] is asked for.
#[derive(Clone, Debug, Default)]
pub struct AccessTokenOptions {
    /// The API (else the configured audience, else the login's token).
    pub audience: Option<String>,
    /// The scopes needed (a token with at least these is returned).
    pub scope: Option<String>,
    /// Refresh even if the stored token is still valid.
    pub force_refresh: bool,
}

/// An access token and what it is for.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token.
    pub token: String,
    /// The API it is for.
    pub audience: String,
    /// The scopes granted.
    pub scope: Option<String>,
    /// When it expires (unix seconds).
    pub expires_at: u64,
    /// The `authorization_details` it was granted (Rich Authorization Requests), when the
    /// token endpoint sent any.
    pub authorization_details: Option<serde_json::Value>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("audience", &self.audience)
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            // RAR details carry account numbers and amounts: only how many there are.
            .field(
                "authorization_details",
                &self.authorization_details.as_ref().map(detail_count),
            )
            .finish()
    }
}

/// A refreshed ID token must carry the organization the session logged in to (its `org_id`,
/// exactly): else the refresh would move the session into another organization, or out of
/// it. A session without an organization takes the refreshed token as it is.
fn same_organization(
    state: &StateData,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), Error> {
    let Some(organization) = state.organization() else {
        return Ok(());
    };
    let refreshed = claims.get("org_id").and_then(serde_json::Value::as_str);
    if refreshed == Some(organization.id.as_str()) {
        return Ok(());
    }
    tracing::warn!("refreshed ID token has another organization than the session; refused");
    Err(Error::OrganizationMismatch(format!(
        "the refreshed ID token's org_id {refreshed:?} is not the session's organization {:?} \
         (log the user in again to change organization)",
        organization.id
    )))
}

/// How `Debug` shows authorization details: `[n entries]`.
fn detail_count(details: &serde_json::Value) -> String {
    let n = details.as_array().map_or(1, Vec::len);
    format!("[{n} entries]")
}

/// A refresh that happened, shared with the requests that waited for it.
#[derive(Clone)]
pub(super) struct Refreshed {
    pub(super) response: TokenResponse,
    pub(super) at: Instant,
    pub(super) expires_at: u64,
    /// A hash of the refresh token the refresh used up.
    pub(super) used: [u8; 32],
}

/// How long a finished refresh stays available to requests that read the session before it
/// was saved: such a request still holds the refresh token the refresh used up, and sending
/// it again would look like token theft to a provider that rotates refresh tokens.
const KEEP_REFRESHED: std::time::Duration = std::time::Duration::from_secs(600);

/// One refresh at a time per (session, audience, scope); the others wait and reuse its
/// result.
#[derive(Default)]
pub(crate) struct RefreshGate {
    slots: SyncMutex<HashMap<[u8; 32], RefreshSlot>>,
}

/// Where one refresh's result waits for the requests that queued behind it.
pub(super) type RefreshSlot = Arc<tokio::sync::Mutex<Option<Refreshed>>>;

/// How many rotations of a refresh token read from a session are followed to the newest one.
const ROTATIONS_FOLLOWED: usize = 8;

/// The right to send a refresh token: while it is held, no other call of this process sends
/// the same refresh token (see [`ServerClient::claim_refresh_token`]).
pub(super) struct Claim {
    /// The newest refresh token of the line the session's one belongs to.
    pub(super) refresh_token: String,
    guard: tokio::sync::OwnedMutexGuard<Option<Refreshed>>,
}

impl Claim {
    /// Records that a refresh spent the claimed token, and what it gave instead.
    fn spent(mut self, done: &Refreshed) {
        *self.guard = Some(done.clone());
    }
}

/// The refresh token that replaced `token`, when a refresh of this process spent it lately.
fn replacement(done: &Refreshed, token: &str) -> Option<String> {
    done.response
        .refresh_token
        .clone()
        .filter(|next| next != token && done.at.elapsed() < KEEP_REFRESHED)
}

/// The gate key of sending a refresh token: one per token, apart from every other key.
fn claim_key(refresh_token: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"refresh-token\0")
        .chain_update(refresh_token.as_bytes())
        .finalize()
        .into()
}

impl RefreshGate {
    pub(super) fn slot(&self, key: [u8; 32]) -> RefreshSlot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        // Drop slots nobody holds whose refresh is old (or never finished), so the map stays
        // as small as the refreshes of the last few minutes.
        slots.retain(|_, slot| {
            Arc::strong_count(slot) > 1
                || slot
                    .try_lock()
                    .ok()
                    .and_then(|done| done.as_ref().map(|d| d.at.elapsed() < KEEP_REFRESHED))
                    .unwrap_or(false)
        });
        slots.entry(key).or_default().clone()
    }
}

fn scopes(s: Option<&str>) -> Vec<&str> {
    let mut v: Vec<&str> = s.unwrap_or_default().split_whitespace().collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The token set for `audience` whose scopes are exactly `wanted`, else the smallest one that
/// has them all. With no scope asked, any token set of the audience.
fn find_token_set<'a>(
    state: &'a StateData,
    audience: &str,
    wanted: Option<&str>,
) -> Option<&'a TokenSet> {
    let wanted = scopes(wanted);
    let mut candidates: Vec<&TokenSet> = state
        .token_sets
        .iter()
        .filter(|t| t.audience == audience)
        .filter(|t| {
            let have = scopes(t.scope.as_deref());
            wanted.iter().all(|w| have.contains(w))
        })
        .collect();
    candidates.sort_by_key(|t| scopes(t.scope.as_deref()).len());
    candidates
        .iter()
        .find(|t| scopes(t.scope.as_deref()) == wanted)
        .or(candidates.first())
        .copied()
}

/// The refresh gate's key for a session's (audience, scope). The session's identity
/// survives refresh-token rotation: the provider session and the login time.
fn refresh_key(state: &StateData, audience: &str, scope: Option<&str>) -> [u8; 32] {
    Sha256::new()
        .chain_update(state.internal.sid.as_bytes())
        .chain_update([0])
        .chain_update(state.internal.created_at.to_be_bytes())
        .chain_update([0])
        .chain_update(audience.as_bytes())
        .chain_update([0])
        .chain_update(scope.unwrap_or_default().as_bytes())
        .finalize()
        .into()
}

impl ServerClient {
    /// An access token for the audience: the stored one while it is valid, else a refreshed
    /// one (saved in the session).
    ///
    /// Concurrent calls for one session and audience make one refresh request; the others
    /// use its result. The save is compare-and-set: if another request changed the session
    /// meanwhile, it is re-read and the new tokens merged in again, so nothing is lost.
    ///
    /// # Errors
    ///
    /// [`Error::MissingSession`], [`Error::MissingRefreshToken`], [`Error::MfaRequired`],
    /// [`Error::RefreshFailed`], [`Error::RefreshSubjectMismatch`] when the refresh brought
    /// an ID token for another user (the session is left as it was), [`Error::InvalidIdToken`],
    /// network and store failures (a session ended meanwhile is [`StoreError::SessionEnded`]).
    #[tracing::instrument(name = "oidc.get_access_token", skip_all, fields(force = options.force_refresh))]
    pub async fn get_access_token(
        &self,
        options: AccessTokenOptions,
        cx: &StoreContext,
    ) -> Result<AccessToken, Error> {
        self.under_request_domain(cx, self.access_token_under_domain(options, cx))
            .await
    }

    async fn access_token_under_domain(
        &self,
        options: AccessTokenOptions,
        cx: &StoreContext,
    ) -> Result<AccessToken, Error> {
        let config = &self.inner.config;
        let state = self.current_session(cx).await?;
        let audience = options
            .audience
            .clone()
            .or_else(|| config.audience.clone())
            .or_else(|| audience_param(&config.authorization_params))
            .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
        let scope = self.wanted_scope(&audience, options.scope.as_deref());
        if !options.force_refresh
            && let Some(stored) = self.stored_token(&state, &audience, scope.as_deref())
        {
            return Ok(stored);
        }
        let refreshed = self
            .refresh_once(&state, &audience, scope.as_deref())
            .await?;
        let new_set = TokenSet {
            audience,
            access_token: refreshed.response.access_token.clone(),
            scope: refreshed.response.scope.clone().or(scope),
            expires_at: refreshed.expires_at,
            extra: token_set_extra(refreshed.response.authorization_details.as_ref()),
        };
        let user = self.refreshed_user(&state, &refreshed.response).await?;
        self.save_refreshed(state, &new_set, &refreshed.response, user.as_ref(), cx)
            .await?;
        Ok(access_token(&new_set))
    }

    /// The scope asked of a token for `audience`: the one asked for, plus, when the
    /// configured `scope` authorization parameter is a map from audience to scope (the
    /// Python SDK's, for multi-resource refresh tokens), that audience's entry.
    fn wanted_scope(&self, audience: &str, asked: Option<&str>) -> Option<String> {
        let configured = self
            .inner
            .config
            .authorization_params
            .get("scope")
            .filter(|s| s.as_json().is_object())
            .and_then(|s| scope_for_audience(s, Some(audience)));
        let Some(configured) = configured else {
            return asked.map(str::to_owned);
        };
        let mut scopes: Vec<&str> = Vec::new();
        for scope in configured
            .split_whitespace()
            .chain(asked.unwrap_or_default().split_whitespace())
        {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        (!scopes.is_empty()).then(|| scopes.join(" "))
    }

    /// The stored token for `audience` and `scope`, if it is valid for longer than the
    /// refresh margin.
    fn stored_token(
        &self,
        state: &StateData,
        audience: &str,
        scope: Option<&str>,
    ) -> Option<AccessToken> {
        let fresh_until = self
            .now()
            .saturating_add(self.inner.config.refresh_margin.as_secs());
        find_token_set(state, audience, scope)
            .filter(|set| set.expires_at > fresh_until)
            .map(access_token)
    }

    /// A refresh for the session's (audience, scope): this call's own, or the one another
    /// call made meanwhile or with the very refresh token this one holds (see
    /// [`RefreshGate`]).
    async fn refresh_once(
        &self,
        state: &StateData,
        audience: &str,
        scope: Option<&str>,
    ) -> Result<Refreshed, Error> {
        let refresh_token = state
            .refresh_token
            .as_deref()
            .ok_or(Error::MissingRefreshToken)?;
        let now = self.now();
        let started = Instant::now();
        let used: [u8; 32] = Sha256::digest(refresh_token.as_bytes()).into();
        let slot = self
            .inner
            .refreshes
            .slot(refresh_key(state, audience, scope));
        let mut guard = slot.lock().await;
        if let Some(done) = guard.as_ref()
            && self.reusable(done, now, started, used)
        {
            meters::refresh(meters::Refresh::Coalesced);
            return Ok(done.clone());
        }
        let claim = self.claim_refresh_token(refresh_token).await;
        let response: TokenResponse = self
            .refresh(&claim.refresh_token, audience, scope)
            .await
            .map_err(|e| {
                meters::refresh(meters::Refresh::Failed);
                self.bind_mfa_to_session(e, state)
            })?;
        meters::refresh(meters::Refresh::Done);
        let done = Refreshed {
            expires_at: expires_at(self.now(), response.expires_in),
            response,
            at: Instant::now(),
            used,
        };
        claim.spent(&done);
        *guard = Some(done.clone());
        Ok(done)
    }

    /// The newest refresh token of `read`'s line, and the right to send it. A request that
    /// read its session before another request's refresh rotated the refresh token still
    /// holds the spent one; sending it (to refresh, or to Token Vault's exchange) would look
    /// like a stolen token to a provider with reuse detection, which would end the whole
    /// grant and log the user out. So every send of a refresh token goes through here: one
    /// at a time per token, and a token a refresh spent (within [`KEEP_REFRESHED`]) is
    /// replaced by the one that refresh got. In this process only: other instances of the
    /// app do not see it (use a provider without rotation there, as Auth0's Token Vault
    /// requires).
    pub(super) async fn claim_refresh_token(&self, read: &str) -> Claim {
        let mut token = read.to_owned();
        let mut followed = 0;
        loop {
            let guard = self
                .inner
                .refreshes
                .slot(claim_key(&token))
                .lock_owned()
                .await;
            match guard.as_ref().and_then(|done| replacement(done, &token)) {
                Some(next) if followed < ROTATIONS_FOLLOWED => {
                    followed += 1;
                    token = next;
                }
                _ => {
                    return Claim {
                        refresh_token: token,
                        guard,
                    };
                }
            }
        }
    }

    /// Whether a call that started at `started` (`now` in unix seconds) holding the refresh
    /// token hashed to `used` takes `done`'s tokens rather than refreshing: another request
    /// refreshed while this one waited, or with the very refresh token this one holds. They
    /// are as fresh as a refresh of this call's own would give, even when the provider's
    /// tokens live no longer than the refresh margin (else every waiter would refresh again,
    /// one after the other), and the used-up refresh token is never sent twice.
    fn reusable(&self, done: &Refreshed, now: u64, started: Instant, used: [u8; 32]) -> bool {
        let margin = self.inner.config.refresh_margin.as_secs();
        done.expires_at > now
            && (done.used == used
                || done.at >= started
                || (done.at.elapsed() < RECENT_REFRESH
                    && done.expires_at > now.saturating_add(margin)))
    }

    /// The user of the ID token a refresh brought, if any, once validated and checked to be
    /// the session's user.
    pub(super) async fn refreshed_user(
        &self,
        state: &StateData,
        response: &TokenResponse,
    ) -> Result<Option<UserClaims>, Error> {
        let Some(id_token) = &response.id_token else {
            return Ok(None);
        };
        let metadata = self.provider().metadata().await?;
        let claims = self
            .validate_id_token(id_token, &metadata.issuer, None)
            .await?;
        session_user(state, &claims).map(Some)
    }

    /// Merges the refreshed tokens into the session and saves it (see
    /// [`save_merged`](Self::save_merged)); nothing is written when the session holds these
    /// very tokens already (the request that won the race saved them).
    pub(super) async fn save_refreshed(
        &self,
        current: StateData,
        new_set: &TokenSet,
        response: &TokenResponse,
        user: Option<&UserClaims>,
        cx: &StoreContext,
    ) -> Result<(), Error> {
        self.save_merged(current, cx, |state| {
            if already_merged(state, new_set, response) {
                return false;
            }
            merge(state, new_set, response, user);
            true
        })
        .await
    }

    /// Saves `current` with `apply`'s changes, compare-and-set: when another request wrote
    /// the session meanwhile, re-reads it and applies them again, up to [`SAVE_ATTEMPTS`]
    /// times, so neither request's changes are lost. `apply` answers `false` when the session
    /// already holds its changes: then nothing is written (concurrent calls that share one
    /// refresh or exchange do not each write it again, and none fails with
    /// [`StoreError::Conflict`] for it).
    pub(super) async fn save_merged(
        &self,
        mut current: StateData,
        cx: &StoreContext,
        mut apply: impl FnMut(&mut StateData) -> bool,
    ) -> Result<(), Error> {
        let identifier = self.inner.config.state_identifier.as_str();
        let store = &self.inner.state_store;
        for attempt in 1..=SAVE_ATTEMPTS {
            if !apply(&mut current) {
                break;
            }
            match store.set(identifier, &current, false, cx).await {
                Ok(()) => break,
                Err(StoreError::Conflict) if attempt < SAVE_ATTEMPTS => {
                    current = store
                        .get(identifier, cx)
                        .await?
                        .ok_or(Error::MissingSession)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The session in `cx`, if it was made under the request's domain.
    ///
    /// # Errors
    ///
    /// [`Error::MissingSession`] when there is none (or it is another domain's); store
    /// failures.
    pub(super) async fn current_session(&self, cx: &StoreContext) -> Result<StateData, Error> {
        self.inner
            .state_store
            .get(&self.inner.config.state_identifier, cx)
            .await?
            .filter(|s| self.is_current_domain(s.domain.as_deref()))
            .ok_or(Error::MissingSession)
    }

    /// A refresh-token grant at the token endpoint; its answer read as `T`.
    pub(super) async fn refresh<T: serde::de::DeserializeOwned>(
        &self,
        refresh_token: &str,
        audience: &str,
        scope: Option<&str>,
    ) -> Result<T, Error> {
        let metadata = self.provider().metadata().await?;
        let mut form = vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), refresh_token.to_owned()),
        ];
        if audience != DEFAULT_AUDIENCE {
            form.push(("audience".to_owned(), audience.to_owned()));
        }
        if let Some(scope) = scope {
            form.push(("scope".to_owned(), scope.to_owned()));
        }
        // Not retried after any 5xx: with refresh-token rotation, a refresh the provider
        // carried out before failing has already spent this token, and sending it again would
        // look like reuse (Auth0 then revokes the whole family: the user is logged out).
        let answer = self
            .request_as_client::<T>(&metadata.token_endpoint, &form, Retry::Unprocessed)
            .await?;
        match answer {
            TokenAnswer::Ok(response) => Ok(response),
            TokenAnswer::Err { body, .. } if body.error == "mfa_required" => Err(self
                .mfa_required(
                    body.error_description,
                    body.mfa_token.as_ref(),
                    body.mfa_requirements.as_ref(),
                    audience,
                    scope.unwrap_or_default(),
                )),
            TokenAnswer::Err { body, .. } => Err(Error::RefreshFailed {
                error: body.error,
                description: body.error_description,
            }),
        }
    }
}

/// The user of a refreshed ID token's (validated) claims, checked to be the session's user
/// and organization.
pub(super) fn session_user(
    state: &StateData,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<UserClaims, Error> {
    let user = user_claims(claims)?;
    // OIDC Core §12.2: a refreshed ID token is for the same user as the login's.
    // Otherwise nothing of this refresh is kept: not its access token either.
    let session_sub = state.user.as_ref().map(|u| u.sub.as_str());
    if session_sub != Some(user.sub.as_str()) {
        tracing::warn!("refreshed ID token has another sub than the session; refused");
        return Err(Error::RefreshSubjectMismatch);
    }
    same_organization(state, claims)?;
    Ok(user)
}

/// The access token of a token set, with the `authorization_details` it was granted.
fn access_token(set: &TokenSet) -> AccessToken {
    AccessToken {
        token: set.access_token.clone(),
        audience: set.audience.clone(),
        scope: set.scope.clone(),
        expires_at: set.expires_at,
        authorization_details: set.extra.get(AUTHORIZATION_DETAILS).cloned(),
    }
}

/// Whether a session already holds a refresh's results (another request saved them).
fn already_merged(state: &StateData, set: &TokenSet, response: &TokenResponse) -> bool {
    let has_token = state
        .token_sets
        .iter()
        .any(|t| t.audience == set.audience && t.access_token == set.access_token);
    let has_refresh_token = response
        .refresh_token
        .as_ref()
        .is_none_or(|rt| state.refresh_token.as_ref() == Some(rt));
    has_token && has_refresh_token
}

/// Puts a refresh's results into a session: the token set replaced (or added), the refresh
/// token rotated when a new one came, the ID token and user kept unless new ones came.
fn merge(
    state: &mut StateData,
    set: &TokenSet,
    response: &TokenResponse,
    user: Option<&UserClaims>,
) {
    match state.token_sets.iter_mut().find(|t| {
        t.audience == set.audience && scopes(t.scope.as_deref()) == scopes(set.scope.as_deref())
    }) {
        Some(existing) => {
            existing.access_token = set.access_token.clone();
            existing.expires_at = set.expires_at;
            existing.extra.shift_remove(AUTHORIZATION_DETAILS);
            existing.extra.extend(set.extra.clone());
        }
        None => state.token_sets.push(set.clone()),
    }
    if let Some(refresh_token) = &response.refresh_token {
        state.refresh_token = Some(refresh_token.clone());
    }
    if let Some(id_token) = &response.id_token {
        state.id_token = Some(id_token.clone());
    }
    if let Some(user) = user {
        state.user = Some(user.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    #[test]
    fn access_token_debug_shows_how_many_authorization_details_not_them() {
        let token = super::AccessToken {
            token: "at".to_owned(),
            audience: "https://api".to_owned(),
            scope: None,
            expires_at: 1,
            authorization_details: Some(serde_json::json!([
                {"type": "payment", "iban": "DE89370400440532013000", "amount": "123.45"},
                {"type": "account", "number": "secret-account"},
            ])),
        };
        let shown = format!("{token:?}");
        assert!(shown.contains("[2 entries]"), "{shown}");
        for secret in [
            "DE89370400440532013000",
            "123.45",
            "secret-account",
            "payment",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    fn set(audience: &str, scope: &str, expires_at: u64) -> TokenSet {
        TokenSet {
            audience: audience.into(),
            access_token: format!("{audience}/{scope}"),
            scope: Some(scope.into()),
            expires_at,
            extra: Map::new(),
        }
    }

    #[test]
    fn exact_scope_wins_then_the_smallest_superset() {
        let state = StateData {
            token_sets: vec![
                set("api", "read write admin", 1),
                set("api", "read write", 2),
                set("api", "read", 3),
                set("other", "read", 4),
            ],
            ..StateData::default()
        };
        let pick = |scope: Option<&str>| find_token_set(&state, "api", scope).map(|t| t.expires_at);
        assert_eq!(pick(Some("read")), Some(3));
        assert_eq!(pick(Some("write read")), Some(2));
        assert_eq!(pick(Some("write")), Some(2), "the smallest superset");
        assert_eq!(pick(Some("admin")), Some(1));
        assert_eq!(pick(Some("delete")), None);
        assert!(find_token_set(&state, "nope", None).is_none());
    }

    #[test]
    fn merge_keeps_the_id_token_when_none_comes_back() {
        let mut state = StateData {
            id_token: Some("old-id".into()),
            refresh_token: Some("old-rt".into()),
            token_sets: vec![set("api", "read", 1)],
            ..StateData::default()
        };
        let response = TokenResponse {
            access_token: "new".into(),
            id_token: None,
            refresh_token: Some("new-rt".into()),
            expires_in: Some(60),
            scope: Some("read".into()),
            authorization_details: None,
        };
        merge(&mut state, &set("api", "read", 99), &response, None);
        assert_eq!(state.id_token.as_deref(), Some("old-id"));
        assert_eq!(state.refresh_token.as_deref(), Some("new-rt"));
        assert_eq!(state.token_sets.len(), 1);
        assert_eq!(state.token_sets[0].expires_at, 99);
    }
}
