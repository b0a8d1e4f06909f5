//! The data that is persisted: sessions ([`StateData`]), login transactions
//! ([`TransactionData`]) and the claims of a back-channel logout token ([`LogoutTokenClaims`]).
//!
//! The JSON follows what `auth0-server-python` writes, so a session can be shared with a
//! Python service:
//!
//! - field names are snake_case;
//! - `null` and a missing key mean the same thing;
//! - fields this crate does not know are kept and written back unchanged;
//! - the camelCase names written by the JavaScript SDK (`idToken`, `tokenSets`, `expiresAt`, …)
//!   are accepted when reading; writing always uses snake_case.
//!
//! ```
//! use auth0_store_core::model::StateData;
//!
//! let json = r#"{"user":{"sub":"auth0|1","name":"Ada","favourite_colour":"green"},
//!               "id_token":null,"token_sets":[],"internal":{"sid":"s1","created_at":1700000000}}"#;
//! let state: StateData = serde_json::from_str(json).unwrap();
//! assert_eq!(state.user.as_ref().unwrap().name.as_deref(), Some("Ada"));
//! // The unknown claim survives a round trip.
//! let again = serde_json::to_value(&state).unwrap();
//! assert_eq!(again["user"]["favourite_colour"], "green");
//! ```

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Fields that this crate does not model, kept in their original order and written back.
pub type ExtraFields = Map<String, Value>;

/// Upper bound (unix seconds) for a plausible `session_expiry` claim; larger values are ignored,
/// as `auth0-server-python` does.
pub const SESSION_EXPIRY_MAX_PLAUSIBLE: i64 = 10_000_000_000;

/// The audience recorded for tokens requested without an explicit audience.
pub const DEFAULT_AUDIENCE: &str = "default";

/// Deserializes `null` as the type's default, so `null` and a missing key read alike.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads a unix time given as an integer or a float (JavaScript writes numbers either way);
/// anything else reads as 0.
fn lenient_unix_time<'de, D>(deserializer: D) -> Result<u64, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(0),
        _ => 0,
    })
}

/// Like [`lenient_unix_time`] for optional times: anything but a number is `None`.
fn lenient_optional_unix_time<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        _ => None,
    })
}

/// A logged-in user's session: what the state store keeps between requests.
///
/// `internal` is bookkeeping for the SDK; everything else is what
/// `get_session` hands to the application.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateData {
    /// The user's claims from the ID token (and userinfo).
    #[serde(default, deserialize_with = "null_as_default")]
    pub user: Option<UserClaims>,
    /// The raw ID token of the last login or refresh.
    #[serde(default, alias = "idToken", deserialize_with = "null_as_default")]
    pub id_token: Option<String>,
    /// The refresh token, when `offline_access` was granted.
    #[serde(default, alias = "refreshToken", deserialize_with = "null_as_default")]
    pub refresh_token: Option<String>,
    /// Access tokens, one per audience and scope.
    #[serde(default, alias = "tokenSets", deserialize_with = "null_as_default")]
    pub token_sets: Vec<TokenSet>,
    /// Access tokens for upstream connections (token vault).
    #[serde(
        default,
        alias = "connectionTokenSets",
        deserialize_with = "null_as_default"
    )]
    pub connection_token_sets: Vec<ConnectionTokenSet>,
    /// The Auth0 domain (issuer host) the session was created with.
    #[serde(default, deserialize_with = "null_as_default")]
    pub domain: Option<String>,
    /// SDK bookkeeping: the provider's session id and the session's timestamps.
    #[serde(default, deserialize_with = "null_as_default")]
    pub internal: Internal,
    /// Fields this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl std::fmt::Debug for StateData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateData")
            .field("user", &self.user.as_ref().map(|u| &u.sub))
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("token_sets", &self.token_sets)
            .field("connection_token_sets", &self.connection_token_sets)
            .field("domain", &self.domain)
            .field("internal", &self.internal)
            .field("extra", &format_args!("{} field(s)", self.extra.len()))
            .finish()
    }
}

/// SDK bookkeeping stored with every session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Internal {
    /// The provider's session id (`sid` claim), or a random one when the provider sent none,
    /// so that back-channel logout can always target the session.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sid: String,
    /// When the session was created (unix seconds).
    #[serde(default, alias = "createdAt", deserialize_with = "lenient_unix_time")]
    pub created_at: u64,
    /// The ceiling set by the ID token's `session_expiry` claim (unix seconds), if any.
    #[serde(
        default,
        alias = "sessionExpiresAt",
        deserialize_with = "lenient_optional_unix_time"
    )]
    pub session_expires_at: Option<u64>,
    /// Fields this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// An access token for one audience and scope.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The API the token is for; [`DEFAULT_AUDIENCE`] when none was requested.
    #[serde(default = "default_audience", deserialize_with = "audience_or_default")]
    pub audience: String,
    /// The access token.
    #[serde(default, alias = "accessToken", deserialize_with = "null_as_default")]
    pub access_token: String,
    /// The scopes granted, space separated.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scope: Option<String>,
    /// When the token expires (unix seconds).
    #[serde(default, alias = "expiresAt", deserialize_with = "lenient_unix_time")]
    pub expires_at: u64,
    /// Fields this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

fn default_audience() -> String {
    DEFAULT_AUDIENCE.to_owned()
}

fn audience_or_default<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_else(default_audience))
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("audience", &self.audience)
            .field("access_token", &"[redacted]")
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An access token for an upstream connection (Auth0 token vault).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionTokenSet {
    /// The connection the token is for.
    #[serde(default, deserialize_with = "null_as_default")]
    pub connection: String,
    /// The login hint the token was requested with.
    #[serde(default, alias = "loginHint", deserialize_with = "null_as_default")]
    pub login_hint: String,
    /// The API the token is for.
    #[serde(default = "default_audience", deserialize_with = "audience_or_default")]
    pub audience: String,
    /// The access token.
    #[serde(default, alias = "accessToken", deserialize_with = "null_as_default")]
    pub access_token: String,
    /// The scopes granted, space separated.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scope: Option<String>,
    /// When the token expires (unix seconds).
    #[serde(default, alias = "expiresAt", deserialize_with = "lenient_unix_time")]
    pub expires_at: u64,
    /// Fields this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl std::fmt::Debug for ConnectionTokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionTokenSet")
            .field("connection", &self.connection)
            .field("audience", &self.audience)
            .field("access_token", &"[redacted]")
            .field("scope", &self.scope)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The user's profile: standard OIDC claims plus every other claim the provider sent.
///
/// Reading never fails on a claim of an unexpected type: a standard claim that is not what
/// OIDC says (`"email_verified": "true"`, `"name": 5`) reads as `None` here and is kept, as
/// sent, in [`extra`](Self::extra), and written back unchanged. A login never fails because
/// of a profile claim.
///
/// ```
/// use auth0_store_core::model::UserClaims;
/// let user: UserClaims =
///     serde_json::from_str(r#"{"sub": "auth0|1", "email_verified": "true", "name": 5}"#).unwrap();
/// assert_eq!(user.email_verified, None);
/// assert_eq!(user.extra["email_verified"], "true");
/// let back = serde_json::to_value(&user).unwrap();
/// assert_eq!(back["name"], 5, "written back as it came");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserClaims {
    /// The subject: the user's stable identifier.
    pub sub: String,
    /// Full name.
    pub name: Option<String>,
    /// Casual name.
    pub nickname: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// URL of the profile picture.
    pub picture: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Whether the e-mail address was verified.
    pub email_verified: Option<bool>,
    /// Organization id, when the user logged in to an organization.
    pub org_id: Option<String>,
    /// Organization name.
    pub org_name: Option<String>,
    /// The provider's ceiling on this session (unix seconds); implausible values read as `None`.
    pub session_expiry: Option<i64>,
    /// Every other claim, kept as sent, and any standard claim above whose value had another
    /// type than expected.
    pub extra: ExtraFields,
}

/// The organization a user logged in to: the `org_id` and `org_name` claims of the ID
/// token (Auth0 Organizations). Read from [`UserClaims`], which keeps both as the Python SDK
/// does, so sessions written before read the same.
///
/// ```
/// use auth0_store_core::model::UserClaims;
/// let user: UserClaims =
///     serde_json::from_str(r#"{"sub": "auth0|1", "org_id": "org_1", "org_name": "acme"}"#).unwrap();
/// let org = user.organization().unwrap();
/// assert_eq!((org.id.as_str(), org.name.as_deref()), ("org_1", Some("acme")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Organization {
    /// Its id, `org_…`.
    pub id: String,
    /// Its name, when the tenant puts it in tokens.
    pub name: Option<String>,
}

impl UserClaims {
    /// The organization the user logged in to, when the ID token named one (`org_id`).
    pub fn organization(&self) -> Option<Organization> {
        let id = self.org_id.clone().filter(|id| !id.is_empty())?;
        Some(Organization {
            id,
            name: self.org_name.clone(),
        })
    }
}

impl StateData {
    /// The organization of the session's user, when there is one
    /// ([`UserClaims::organization`]).
    pub fn organization(&self) -> Option<Organization> {
        self.user.as_ref().and_then(UserClaims::organization)
    }
}

/// Takes `key` out of `claims` when `read` understands its value (or it is `null`); a value
/// of another type stays in `claims`, to be kept as sent.
fn take_claim<T>(
    claims: &mut ExtraFields,
    key: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Option<T> {
    let value = claims.get(key)?;
    if value.is_null() {
        claims.shift_remove(key);
        return None;
    }
    let read = read(value);
    if read.is_some() {
        claims.shift_remove(key);
    }
    read
}

fn string_claim(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// The `session_expiry` claim as `auth0-server-python` sanitises it: an integer strictly
/// between 0 and [`SESSION_EXPIRY_MAX_PLAUSIBLE`], else `None`.
fn session_expiry_claim(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .filter(|v| *v > 0 && *v < SESSION_EXPIRY_MAX_PLAUSIBLE)
}

impl<'de> Deserialize<'de> for UserClaims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut extra = ExtraFields::deserialize(deserializer)?;
        let mut string = |key: &str| take_claim(&mut extra, key, string_claim);
        let sub = string("sub").unwrap_or_default();
        let name = string("name");
        let nickname = string("nickname");
        let given_name = string("given_name");
        let family_name = string("family_name");
        let picture = string("picture");
        let email = string("email");
        let org_id = string("org_id");
        let org_name = string("org_name");
        let email_verified = take_claim(&mut extra, "email_verified", Value::as_bool);
        let session_expiry = take_claim(&mut extra, "session_expiry", session_expiry_claim);
        Ok(Self {
            sub,
            name,
            nickname,
            given_name,
            family_name,
            picture,
            email,
            email_verified,
            org_id,
            org_name,
            session_expiry,
            extra,
        })
    }
}

impl Serialize for UserClaims {
    /// The standard claims first (`null` when absent, as `auth0-server-python` writes them),
    /// then the others. A standard claim kept raw in `extra` is written from there, once.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let sub = (!self.sub.is_empty() || !self.extra.contains_key("sub"))
            .then(|| Value::from(self.sub.as_str()));
        let text = |v: &Option<String>| v.as_deref().map(Value::from);
        let typed: [(&str, Option<Value>); 11] = [
            ("sub", sub),
            ("name", text(&self.name)),
            ("nickname", text(&self.nickname)),
            ("given_name", text(&self.given_name)),
            ("family_name", text(&self.family_name)),
            ("picture", text(&self.picture)),
            ("email", text(&self.email)),
            ("email_verified", self.email_verified.map(Value::from)),
            ("org_id", text(&self.org_id)),
            ("org_name", text(&self.org_name)),
            ("session_expiry", self.session_expiry.map(Value::from)),
        ];
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in &typed {
            match value {
                Some(value) => map.serialize_entry(key, value)?,
                None if self.extra.contains_key(*key) => {}
                None => map.serialize_entry(key, &Value::Null)?,
            }
        }
        for (key, value) in &self.extra {
            let written = typed
                .iter()
                .any(|(name, typed)| name == key && typed.is_some());
            if !written {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// What is kept between the start of a login and its callback, under the login's `state`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransactionData {
    /// The PKCE code verifier.
    #[serde(default, alias = "codeVerifier", deserialize_with = "null_as_default")]
    pub code_verifier: Option<String>,
    /// The `nonce` sent in the authorization request, checked against the ID token.
    #[serde(default, deserialize_with = "null_as_default")]
    pub nonce: Option<String>,
    /// Whatever the application asked to get back after login (for example `returnTo`).
    #[serde(default, alias = "appState", deserialize_with = "null_as_default")]
    pub app_state: Option<Value>,
    /// The audience requested at login.
    #[serde(default, deserialize_with = "null_as_default")]
    pub audience: Option<String>,
    /// The redirect URI used in the authorization request (needed for the code exchange).
    #[serde(default, alias = "redirectUri", deserialize_with = "null_as_default")]
    pub redirect_uri: Option<String>,
    /// The Auth0 domain the login was started with.
    #[serde(default, deserialize_with = "null_as_default")]
    pub domain: Option<String>,
    /// The organization requested at login; the ID token must carry it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub organization: Option<String>,
    /// The `max_age` (seconds) sent in the authorization request; the ID token's `auth_time`
    /// must then be present and recent enough. Not written when absent (the Python SDK has no
    /// such field).
    #[serde(
        default,
        alias = "maxAge",
        deserialize_with = "lenient_optional_unix_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_age: Option<u64>,
    /// Fields this crate does not model, written back unchanged.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl std::fmt::Debug for TransactionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionData")
            .field(
                "code_verifier",
                &self.code_verifier.as_ref().map(|_| "[redacted]"),
            )
            .field("nonce", &self.nonce.as_ref().map(|_| "[redacted]"))
            .field("audience", &self.audience)
            .field("redirect_uri", &self.redirect_uri)
            .field("domain", &self.domain)
            .field("organization", &self.organization)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// The claims of a validated back-channel logout token that decide which sessions end.
///
/// With a `sid`, only the sessions carrying that provider session id end (and, when `sub`
/// is present too, only if it matches). With only a `sub`, every session of that user ends.
/// Always limited to sessions created with the token's issuer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogoutTokenClaims {
    /// The issuer of the token, e.g. `https://tenant.eu.auth0.com/`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub iss: String,
    /// The user whose sessions end.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sub: Option<String>,
    /// The provider session that ends.
    #[serde(default, deserialize_with = "null_as_default")]
    pub sid: Option<String>,
    /// Every other claim, kept as sent.
    #[serde(flatten)]
    pub extra: ExtraFields,
}

impl LogoutTokenClaims {
    /// The issuer in the form sessions record it in [`StateData::domain`].
    ///
    /// ```
    /// use auth0_store_core::model::LogoutTokenClaims;
    /// let claims = LogoutTokenClaims { iss: "https://tenant.auth0.com/".into(), ..Default::default() };
    /// assert_eq!(claims.domain(), "tenant.auth0.com");
    /// ```
    pub fn domain(&self) -> String {
        normalize_domain(&self.iss)
    }
}

/// Normalises an issuer or domain for comparison: no scheme, no trailing slash, lower case.
///
/// `https://Tenant.auth0.com/`, `tenant.auth0.com` and `tenant.auth0.com/` all give
/// `tenant.auth0.com`.
///
/// ```
/// use auth0_store_core::model::normalize_domain;
/// assert_eq!(normalize_domain("https://Tenant.auth0.com/"), "tenant.auth0.com");
/// assert_eq!(normalize_domain("http://127.0.0.1:3000/oidc/"), "127.0.0.1:3000/oidc");
/// ```
pub fn normalize_domain(value: &str) -> String {
    let value = value.trim();
    let without_scheme = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .unwrap_or(value);
    without_scheme.trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A session exactly as `auth0-server-python` writes it (`StateData.model_dump()`).
    const PYTHON_STATE: &str = r#"{
        "user": {"sub": "google-oauth2|1234", "name": "Ada Lovelace", "nickname": "ada",
                 "given_name": null, "family_name": null, "picture": "https://example.com/a.png",
                 "email": "ada@example.com", "email_verified": true, "org_id": null,
                 "org_name": null, "session_expiry": null, "updated_at": "2026-01-01T00:00:00Z",
                 "https://example.com/roles": ["admin"]},
        "id_token": "eyJ.id.token",
        "refresh_token": "v1.refresh",
        "token_sets": [{"audience": "default", "access_token": "at1",
                        "scope": "openid profile email offline_access", "expires_at": 1764400000}],
        "connection_token_sets": [],
        "domain": "tenant.eu.auth0.com",
        "internal": {"sid": "sid-1", "created_at": 1764396400, "session_expires_at": null}
    }"#;

    #[test]
    fn python_state_reads_and_writes_back_identically() {
        let state: StateData = serde_json::from_str(PYTHON_STATE).unwrap();
        let user = state.user.as_ref().unwrap();
        assert_eq!(user.sub, "google-oauth2|1234");
        assert_eq!(user.email_verified, Some(true));
        assert_eq!(user.extra["https://example.com/roles"], json!(["admin"]));
        assert_eq!(state.token_sets[0].expires_at, 1_764_400_000);
        assert_eq!(state.internal.sid, "sid-1");
        assert_eq!(state.domain.as_deref(), Some("tenant.eu.auth0.com"));

        let written = serde_json::to_value(&state).unwrap();
        let original: Value = serde_json::from_str(PYTHON_STATE).unwrap();
        assert_eq!(
            written, original,
            "a Python session must survive a round trip unchanged"
        );
    }

    #[test]
    fn a_session_written_before_reads_its_organization_from_the_user_claims() {
        let state: StateData = serde_json::from_str(PYTHON_STATE).unwrap();
        assert_eq!(state.organization(), None, "org_id null: none");
        let with_org = PYTHON_STATE
            .replace(r#""org_id": null"#, r#""org_id": "org_1""#)
            .replace(r#""org_name": null"#, r#""org_name": "acme""#);
        let state: StateData = serde_json::from_str(&with_org).unwrap();
        let org = state.organization().unwrap();
        assert_eq!(
            (org.id.as_str(), org.name.as_deref()),
            ("org_1", Some("acme"))
        );
        let again: Value = serde_json::to_value(&state).unwrap();
        let before: Value = serde_json::from_str(&with_org).unwrap();
        assert_eq!(again, before, "written back as it was");
    }

    #[test]
    fn null_and_missing_keys_read_alike() {
        let with_nulls: StateData = serde_json::from_value(json!({
            "user": null, "id_token": null, "refresh_token": null, "token_sets": null,
            "connection_token_sets": null, "domain": null, "internal": null
        }))
        .unwrap();
        let empty: StateData = serde_json::from_value(json!({})).unwrap();
        assert_eq!(with_nulls, empty);
        assert_eq!(empty, StateData::default());
    }

    #[test]
    fn unknown_fields_are_kept_at_every_level() {
        let state: StateData = serde_json::from_value(json!({
            "future_field": {"nested": [1, 2, {"deep": true}]},
            "token_sets": [{"audience": "api", "access_token": "t", "expires_at": 1, "token_type": "Bearer"}],
            "internal": {"sid": "s", "created_at": 5, "rotation": 3}
        }))
        .unwrap();
        let back = serde_json::to_value(&state).unwrap();
        assert_eq!(back["future_field"]["nested"][2]["deep"], json!(true));
        assert_eq!(back["token_sets"][0]["token_type"], json!("Bearer"));
        assert_eq!(back["internal"]["rotation"], json!(3));
    }

    #[test]
    fn javascript_camel_case_names_are_accepted() {
        let state: StateData = serde_json::from_value(json!({
            "user": {"sub": "auth0|js"},
            "idToken": "id", "refreshToken": "rt",
            "tokenSets": [{"audience": "api", "accessToken": "at", "scope": "read", "expiresAt": 1764400000}],
            "connectionTokenSets": [{"connection": "google", "loginHint": "a@b", "audience": "g",
                                     "accessToken": "ct", "expiresAt": 1764400001}],
            "internal": {"sid": "s", "createdAt": 1764396400}
        }))
        .unwrap();
        assert_eq!(state.id_token.as_deref(), Some("id"));
        assert_eq!(state.refresh_token.as_deref(), Some("rt"));
        assert_eq!(state.token_sets[0].access_token, "at");
        assert_eq!(state.token_sets[0].expires_at, 1_764_400_000);
        assert_eq!(state.connection_token_sets[0].login_hint, "a@b");
        assert_eq!(state.internal.created_at, 1_764_396_400);
        assert!(
            state.extra.is_empty(),
            "aliases must not leak into extra: {:?}",
            state.extra
        );
        // Written back in snake_case.
        let back = serde_json::to_value(&state).unwrap();
        assert!(back.get("id_token").is_some() && back.get("idToken").is_none());
    }

    #[test]
    fn session_expiry_is_sanitised_like_python() {
        let read = |v: Value| -> Option<i64> {
            serde_json::from_value::<UserClaims>(json!({"sub": "x", "session_expiry": v}))
                .unwrap()
                .session_expiry
        };
        assert_eq!(read(json!(1_800_000_000)), Some(1_800_000_000));
        assert_eq!(read(json!(0)), None);
        assert_eq!(read(json!(-5)), None);
        assert_eq!(read(json!(SESSION_EXPIRY_MAX_PLAUSIBLE)), None);
        assert_eq!(read(json!("1800000000")), None);
        assert_eq!(read(json!(true)), None);
    }

    #[test]
    fn profile_claims_of_another_type_are_kept_raw_and_written_once() {
        let sent = json!({"sub": "auth0|1", "email_verified": "true", "name": 5,
                          "updated_at": {}, "session_expiry": "soon", "given_name": null,
                          "roles": ["a"]});
        let user: UserClaims = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(user.email_verified, None);
        assert_eq!(user.name, None);
        assert_eq!(user.session_expiry, None);
        assert_eq!(user.extra["email_verified"], "true");
        assert!(
            !user.extra.contains_key("given_name"),
            "null is read, not kept"
        );
        let back = serde_json::to_value(&user).unwrap();
        for key in [
            "email_verified",
            "name",
            "updated_at",
            "session_expiry",
            "roles",
        ] {
            assert_eq!(back[key], sent[key], "{key} written back as sent");
        }
        assert_eq!(back["given_name"], Value::Null);
        let text = serde_json::to_string(&user).unwrap();
        assert_eq!(
            text.matches("\"name\"").count(),
            1,
            "no key written twice: {text}"
        );
        let again: UserClaims = serde_json::from_value(back).unwrap();
        assert_eq!(again, user);
    }

    #[test]
    fn token_set_without_audience_gets_the_default_audience() {
        let t: TokenSet =
            serde_json::from_value(json!({"audience": null, "access_token": "a", "expires_at": 2}))
                .unwrap();
        assert_eq!(t.audience, DEFAULT_AUDIENCE);
    }

    #[test]
    fn transaction_as_python_writes_it() {
        let tx: TransactionData = serde_json::from_value(json!({
            "audience": null, "code_verifier": "v", "app_state": {"returnTo": "/profile"},
            "auth_session": null, "redirect_uri": "http://localhost:5000/callback",
            "domain": "tenant.auth0.com", "organization": null
        }))
        .unwrap();
        assert_eq!(tx.code_verifier.as_deref(), Some("v"));
        assert_eq!(tx.app_state.as_ref().unwrap()["returnTo"], "/profile");
        let back = serde_json::to_value(&tx).unwrap();
        assert_eq!(
            back["auth_session"],
            Value::Null,
            "unknown keys are written back"
        );
        assert!(
            !format!("{tx:?}").contains("\"v\""),
            "the verifier is redacted"
        );
    }

    #[test]
    fn debug_never_shows_tokens() {
        let state: StateData = serde_json::from_str(PYTHON_STATE).unwrap();
        let shown = format!("{state:?}");
        for secret in ["eyJ.id.token", "v1.refresh", "at1"] {
            assert!(
                !shown.contains(secret),
                "{secret} leaked into Debug: {shown}"
            );
        }
    }

    #[test]
    fn logout_claims_domain_matches_state_domain() {
        let claims: LogoutTokenClaims = serde_json::from_value(
            json!({"iss": "https://Tenant.EU.auth0.com/", "sid": "s", "events": {}}),
        )
        .unwrap();
        assert_eq!(claims.domain(), normalize_domain("tenant.eu.auth0.com"));
        assert!(claims.sub.is_none());
        assert!(claims.extra.contains_key("events"));
    }
}
