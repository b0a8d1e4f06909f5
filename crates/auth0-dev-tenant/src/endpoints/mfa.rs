//! Auth0's MFA API, as the dev tenant has it: a user's authenticators (`GET
//! /mfa/authenticators`, `DELETE /mfa/authenticators/{id}`), enrollment (`POST
//! /mfa/associate`: OTP, SMS, voice or e-mail OOB; the first one also gives a recovery code),
//! challenges (`POST /mfa/challenge`), and the three grants that verify a factor at
//! `/oauth/token` (in [`super::mfa_grants`]).
//!
//! The `mfa_token` comes from an `mfa_required` answer to a refresh (see
//! [`DevTenantBuilder::require_mfa_for_audience`] and
//! [`DevTenantBuilder::require_mfa_for_user`]); it names the grant whose refresh asked, and
//! lives [`MFA_TOKEN_LIFETIME`].
//!
//! **Dev codes, not real ones.** An OTP authenticator's code is
//! [`dev_otp`]`(secret, time)`: six digits of SHA-256 over its secret and the 30-second time
//! step, *not* RFC 6238 TOTP, so an authenticator app scanning the `barcode_uri` would show
//! other codes. Tests compute it with [`DevTenant::mfa_otp`](crate::DevTenant::mfa_otp).
//! SMS, voice and e-mail messages are not sent: the binding code "sent" to a phone number or
//! address is read with [`DevTenant::mfa_binding_code`](crate::DevTenant::mfa_binding_code).

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::token::authenticate;
use super::{OAuthError, Params, Shared, no_store};
use crate::DevTenantBuilder;
use crate::memory::{Grant, Memory, TokenHash, User, hash, random_token, random_token_of};
use crate::server::Tenant;

/// How long an `mfa_token` is accepted (Auth0's: ten minutes).
pub const MFA_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);
/// How long an OOB challenge's `oob_code` is accepted.
pub const OOB_CODE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);
/// Wrong codes one `mfa_token` may send before it is refused with `too_many_attempts`.
pub const MAX_MFA_ATTEMPTS: u32 = 5;
/// The seconds one dev OTP code is valid for (an OTP of the step before is accepted too).
pub const OTP_STEP: u64 = 30;

/// The dev tenant's OTP for an authenticator's `secret` at `unix_seconds`: the first four
/// bytes of SHA-256(`secret`, `:`, the 30-second step in decimal), as a number, modulo a
/// million, in six digits. **Not RFC 6238**: deterministic, for tests and demos only.
///
/// ```
/// let code = auth0_dev_tenant::dev_otp("JBSWY3DPEHPK3PXP", 1_700_000_000);
/// assert_eq!(code.len(), 6);
/// assert_eq!(code, auth0_dev_tenant::dev_otp("JBSWY3DPEHPK3PXP", 1_700_000_009));
/// ```
pub fn dev_otp(secret: &str, unix_seconds: u64) -> String {
    let step = unix_seconds / OTP_STEP;
    let digest = Sha256::new()
        .chain_update(secret.as_bytes())
        .chain_update(b":")
        .chain_update(step.to_string().as_bytes())
        .finalize();
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    format!("{:06}", n % 1_000_000)
}

/// An OOB channel: where a binding code goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Channel {
    Sms,
    Voice,
    Email,
}

impl Channel {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "sms" => Some(Self::Sms),
            "voice" => Some(Self::Voice),
            "email" => Some(Self::Email),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "voice",
            Self::Email => "email",
        }
    }
}

/// What an authenticator is.
#[derive(Clone, Debug)]
pub(crate) enum Factor {
    Otp { secret: String },
    Oob { channel: Channel, to: String },
}

/// One enrolled authenticator; `active` once a grant verified it.
#[derive(Clone, Debug)]
pub(crate) struct Authenticator {
    pub(crate) id: String,
    pub(crate) factor: Factor,
    pub(crate) active: bool,
}

impl Authenticator {
    /// As `GET /mfa/authenticators` shows it.
    fn listed(&self) -> Value {
        match &self.factor {
            Factor::Otp { .. } => {
                json!({"id": self.id, "authenticator_type": "otp", "active": self.active})
            }
            Factor::Oob { channel, to } => json!({
                "id": self.id, "authenticator_type": "oob", "active": self.active,
                "oob_channel": channel.name(), "name": to,
            }),
        }
    }
}

/// A user's factors.
#[derive(Clone, Debug, Default)]
pub(crate) struct UserFactors {
    pub(crate) authenticators: Vec<Authenticator>,
    /// The hash of the user's one recovery code, and its authenticator id.
    pub(crate) recovery: Option<(TokenHash, String)>,
}

impl UserFactors {
    /// Whether any authenticator is active (the user has enrolled).
    pub(crate) fn enrolled(&self) -> bool {
        self.authenticators.iter().any(|a| a.active)
    }
}

/// What an `mfa_token` stands for: the grant whose refresh asked for MFA, and what for.
#[derive(Clone, Debug)]
pub(crate) struct MfaContext {
    pub(crate) grant: Grant,
    pub(crate) scope: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) expires_at: u64,
    /// Kept past `expires_at` for as long again, to answer `expired_token`.
    pub(crate) forget_at: u64,
    pub(crate) failures: u32,
}

/// An OOB challenge (or enrollment) waiting for its binding code.
#[derive(Clone, Debug)]
pub(crate) struct OobChallenge {
    pub(crate) sub: String,
    pub(crate) authenticator_id: String,
    pub(crate) mfa_token: TokenHash,
    pub(crate) binding_code: String,
    pub(crate) expires_at: u64,
    pub(crate) forget_at: u64,
}

/// What the tenant remembers of MFA (a part of [`Memory`]).
#[derive(Debug, Default)]
pub(crate) struct MfaMemory {
    /// Live `mfa_token`s, by hash.
    pub(crate) tokens: HashMap<TokenHash, MfaContext>,
    /// Users' factors, by `sub`.
    pub(crate) users: HashMap<String, UserFactors>,
    /// OOB challenges, by their `oob_code`'s hash.
    pub(crate) challenges: HashMap<TokenHash, OobChallenge>,
    /// The last binding code "sent" to each phone number or e-mail address.
    pub(crate) outbox: HashMap<String, String>,
    /// Grants issued by an MFA grant: their refreshes need no MFA again.
    pub(crate) verified_grants: HashSet<u64>,
}

impl MfaMemory {
    /// Drops what expired at `now`, and the marks of grants that ended.
    pub(crate) fn sweep(&mut self, now: u64, grants: &HashMap<u64, Grant>) {
        self.tokens.retain(|_, t| t.forget_at > now);
        self.challenges.retain(|_, c| c.forget_at > now);
        self.verified_grants.retain(|g| grants.contains_key(g));
    }

    /// Whether the grant was issued by an MFA grant.
    pub(crate) fn verified(&self, grant: u64) -> bool {
        self.verified_grants.contains(&grant)
    }
}

/// A random id part, as Auth0's `dev_…`.
fn new_id(kind: &str) -> String {
    format!("{kind}|dev_{}", random_token_of::<12>())
}

/// Six random digits.
fn binding_code() -> String {
    let d = Sha256::digest(random_token().as_bytes());
    format!(
        "{:06}",
        u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 1_000_000
    )
}

/// A recovery code: 24 characters of A–Z and 0–9, as Auth0's.
pub(crate) fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let d = Sha256::digest(random_token().as_bytes());
    d.iter()
        .take(24)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// An OTP secret in base32's alphabet (what authenticator apps take).
fn otp_secret() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    Sha256::digest(random_token().as_bytes())
        .iter()
        .take(32)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Records an `mfa_token` for the grant's refresh and gives the `mfa_required` answer: what
/// to challenge when the user has enrolled, else what to enroll.
pub(crate) fn required(
    tenant: &Tenant,
    memory: &mut Memory,
    grant: &Grant,
    scope: &[String],
    audience: Option<&str>,
) -> OAuthError {
    let now = tenant.now();
    let lifetime = MFA_TOKEN_LIFETIME.as_secs();
    let token = random_token();
    memory.mfa.tokens.insert(
        hash(&token),
        MfaContext {
            grant: grant.clone(),
            scope: scope.to_vec(),
            audience: audience.map(str::to_owned),
            expires_at: now.saturating_add(lifetime),
            forget_at: now.saturating_add(lifetime.saturating_mul(2)),
            failures: 0,
        },
    );
    let requirements = requirements(memory.mfa.users.get(&grant.user.sub));
    tracing::info!("MFA is required: mfa_required with an mfa_token");
    OAuthError::new(
        StatusCode::FORBIDDEN,
        "mfa_required",
        "Multifactor authentication required",
    )
    .with_body(json!({
        "error": "mfa_required",
        "error_description": "Multifactor authentication required",
        "mfa_token": token,
        "mfa_requirements": requirements,
    }))
}

/// `mfa_requirements`: the types of the user's active authenticators to be challenged with,
/// or, for a user with none, the factors to enroll.
fn requirements(factors: Option<&UserFactors>) -> Value {
    let Some(factors) = factors.filter(|f| f.enrolled()) else {
        return json!({"enroll": [{"type": "otp"}, {"type": "sms"}, {"type": "email"}]});
    };
    let mut types: Vec<&str> = Vec::new();
    for a in factors.authenticators.iter().filter(|a| a.active) {
        let kind = match &a.factor {
            Factor::Otp { .. } => "otp",
            Factor::Oob { channel, .. } => channel.name(),
        };
        if !types.contains(&kind) {
            types.push(kind);
        }
    }
    if factors.recovery.is_some() {
        types.push("recovery-code");
    }
    let list: Vec<Value> = types.iter().map(|t| json!({"type": t})).collect();
    json!({"challenge": list})
}

/// An MFA API error (Auth0's MFA endpoints answer OAuth-shaped errors).
fn refused(status: StatusCode, error: &'static str, description: &str) -> OAuthError {
    OAuthError::new(status, error, description)
}

/// The `mfa_token` a Bearer `Authorization` header carries.
fn bearer(headers: &HeaderMap) -> Result<&str, OAuthError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            refused(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authorization: Bearer <mfa_token> is required",
            )
        })
}

/// The live context of an `mfa_token`: unknown is `invalid_grant`, expired `expired_token`
/// (both 401 here, as Auth0's MFA API answers a bad bearer token), too many wrong codes
/// `too_many_attempts`.
pub(crate) fn context<'m>(
    memory: &'m mut Memory,
    token: &str,
    now: u64,
    status: StatusCode,
) -> Result<&'m mut MfaContext, OAuthError> {
    let Some(context) = memory.mfa.tokens.get_mut(&hash(token)) else {
        return Err(refused(status, "invalid_grant", "Malformed mfa_token"));
    };
    if context.expires_at <= now {
        return Err(refused(status, "expired_token", "mfa_token is expired"));
    }
    if context.failures >= MAX_MFA_ATTEMPTS {
        return Err(refused(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many failed attempts with this mfa_token: start again",
        ));
    }
    Ok(context)
}

/// A JSON answer that is not cached.
fn answer(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    no_store(response.headers_mut());
    response
}

/// An error answer, logged.
fn failed(what: &'static str, error: OAuthError) -> Response {
    tracing::info!(error = error.error(), "{what} refused");
    error.into_response()
}

/// `GET /mfa/authenticators` with `Authorization: Bearer <mfa_token>`.
#[tracing::instrument(name = "dev_tenant.mfa_authenticators", skip_all)]
pub(super) async fn list(State(tenant): State<Shared>, headers: HeaderMap) -> Response {
    let listed = bearer(&headers).and_then(|token| {
        let mut memory = tenant.memory();
        let sub = context(&mut memory, token, tenant.now(), StatusCode::UNAUTHORIZED)?
            .grant
            .user
            .sub
            .clone();
        Ok(listed(memory.mfa.users.get(&sub)))
    });
    match listed {
        Ok(list) => answer(StatusCode::OK, list),
        Err(e) => failed("listing authenticators", e),
    }
}

/// The user's authenticators as listed: the recovery code first, then in enrollment order.
fn listed(factors: Option<&UserFactors>) -> Value {
    let Some(factors) = factors else {
        return json!([]);
    };
    let mut list: Vec<Value> = Vec::new();
    if let Some((_, id)) = &factors.recovery {
        list.push(json!({"id": id, "authenticator_type": "recovery-code", "active": true}));
    }
    list.extend(factors.authenticators.iter().map(Authenticator::listed));
    Value::Array(list)
}

/// `POST /mfa/associate`'s JSON body (Auth0's names).
#[derive(Deserialize)]
struct Associate {
    authenticator_types: Vec<String>,
    #[serde(default)]
    oob_channels: Option<Vec<String>>,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// `POST /mfa/associate` with `Authorization: Bearer <mfa_token>` and a JSON body.
#[tracing::instrument(name = "dev_tenant.mfa_associate", skip_all)]
pub(super) async fn associate(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let enrolled = bearer(&headers).and_then(|token| {
        let request: Associate = serde_json::from_slice(&body).map_err(|_| {
            OAuthError::invalid_request(
                "the body must be JSON with authenticator_types (an array: [\"otp\"] or \
                 [\"oob\"]) and, for oob, oob_channels and phone_number or email",
            )
        })?;
        enroll(&tenant, token, &request)
    });
    match enrolled {
        Ok(body) => answer(StatusCode::OK, body),
        Err(e) => failed("enrollment", e),
    }
}

/// The factor an association asks for.
fn factor_of(request: &Associate) -> Result<Factor, OAuthError> {
    let types: Vec<&str> = request
        .authenticator_types
        .iter()
        .map(String::as_str)
        .collect();
    match types.as_slice() {
        ["otp"] => Ok(Factor::Otp {
            secret: otp_secret(),
        }),
        ["oob"] => {
            let channels = request.oob_channels.as_deref().unwrap_or_default();
            let [channel] = channels else {
                return Err(OAuthError::invalid_request(
                    "oob_channels must name one channel: sms, voice or email",
                ));
            };
            let channel = Channel::parse(channel)
                .ok_or_else(|| OAuthError::invalid_request("oob_channels: sms, voice or email"))?;
            let to = match channel {
                Channel::Email => request.email.as_deref(),
                Channel::Sms | Channel::Voice => request.phone_number.as_deref(),
            }
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                OAuthError::invalid_request(
                    "phone_number (sms, voice) or email (email) is required",
                )
            })?;
            Ok(Factor::Oob {
                channel,
                to: to.to_owned(),
            })
        }
        _ => Err(OAuthError::invalid_request(
            "authenticator_types must be [\"otp\"] or [\"oob\"]",
        )),
    }
}

/// Adds an inactive authenticator (a grant verifying it activates it); the user's first
/// also gets a recovery code.
fn enroll(tenant: &Tenant, token: &str, request: &Associate) -> Result<Value, OAuthError> {
    let factor = factor_of(request)?;
    let now = tenant.now();
    let mut memory = tenant.memory();
    let sub = context(&mut memory, token, now, StatusCode::UNAUTHORIZED)?
        .grant
        .user
        .sub
        .clone();
    let user = memory.mfa.users.entry(sub.clone()).or_default();
    let recovery_codes = if user.recovery.is_none() {
        let code = new_recovery_code();
        user.recovery = Some((hash(&code), new_id("recovery-code")));
        Some(vec![code])
    } else {
        None
    };
    let id = new_id(match &factor {
        Factor::Otp { .. } => "totp",
        Factor::Oob { channel, .. } => channel.name(),
    });
    user.authenticators.push(Authenticator {
        id: id.clone(),
        factor: factor.clone(),
        active: false,
    });
    let mut body = match &factor {
        Factor::Otp { secret } => json!({
            "authenticator_type": "otp",
            "secret": secret,
            "barcode_uri": format!("otpauth://totp/dev-tenant:{sub}?secret={secret}&issuer=dev-tenant"),
        }),
        Factor::Oob { channel, to } => {
            let oob_code = send_code(&mut memory, now, token, (&sub, &id), to);
            json!({
                "authenticator_type": "oob", "oob_channel": channel.name(),
                "oob_code": oob_code, "binding_method": "prompt",
            })
        }
    };
    body["id"] = json!(id);
    if let Some(codes) = recovery_codes {
        body["recovery_codes"] = json!(codes);
    }
    Ok(body)
}

/// "Sends" a binding code to `to` for the authenticator `(sub, id)`; returns the `oob_code`.
fn send_code(
    memory: &mut Memory,
    now: u64,
    mfa_token: &str,
    (sub, id): (&str, &str),
    to: &str,
) -> String {
    let oob_code = random_token();
    let code = binding_code();
    let lifetime = OOB_CODE_LIFETIME.as_secs();
    memory.mfa.outbox.insert(to.to_owned(), code.clone());
    memory.mfa.challenges.insert(
        hash(&oob_code),
        OobChallenge {
            sub: sub.to_owned(),
            authenticator_id: id.to_owned(),
            mfa_token: hash(mfa_token),
            binding_code: code,
            expires_at: now.saturating_add(lifetime),
            forget_at: now.saturating_add(lifetime.saturating_mul(2)),
        },
    );
    oob_code
}

/// A JSON object of strings as form parameters (Auth0's `/mfa/challenge` takes either).
fn params_of(headers: &HeaderMap, body: &[u8]) -> Result<Params, OAuthError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Ok(Params::parse(body));
    }
    let object: serde_json::Map<String, Value> = serde_json::from_slice(body)
        .map_err(|_| OAuthError::invalid_request("the body is not a JSON object"))?;
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in &object {
        if let Some(value) = value.as_str() {
            form.append_pair(name, value);
        }
    }
    Ok(Params::parse(form.finish().as_bytes()))
}

/// `POST /mfa/challenge`: the client authenticates; `mfa_token`, `challenge_type` (`otp`,
/// `oob`, or both space-separated) and an optional `authenticator_id`.
#[tracing::instrument(name = "dev_tenant.mfa_challenge", skip_all)]
pub(super) async fn challenge(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let challenged = params_of(&headers, &body).and_then(|params| {
        authenticate(&tenant, &headers, &params)?;
        start_challenge(&tenant, &params)
    });
    match challenged {
        Ok(body) => answer(StatusCode::OK, body),
        Err(e) => failed("challenge", e),
    }
}

fn start_challenge(tenant: &Tenant, params: &Params) -> Result<Value, OAuthError> {
    let token = params
        .get("mfa_token")?
        .ok_or_else(|| OAuthError::invalid_request("mfa_token is required"))?;
    let types: Vec<&str> = params
        .get("challenge_type")?
        .unwrap_or("otp oob")
        .split_whitespace()
        .collect();
    let wanted_id = params.get("authenticator_id")?;
    let now = tenant.now();
    let mut memory = tenant.memory();
    let sub = context(&mut memory, token, now, StatusCode::FORBIDDEN)?
        .grant
        .user
        .sub
        .clone();
    let chosen = memory.mfa.users.get(&sub).and_then(|f| {
        f.authenticators.iter().find(|a| {
            let kind = match a.factor {
                Factor::Otp { .. } => "otp",
                Factor::Oob { .. } => "oob",
            };
            a.active && types.contains(&kind) && wanted_id.is_none_or(|id| id == a.id)
        })
    });
    match chosen.cloned() {
        None => Err(refused(
            StatusCode::BAD_REQUEST,
            "unsupported_challenge_type",
            "the user has no active authenticator of this challenge_type (and authenticator_id)",
        )),
        Some(Authenticator {
            factor: Factor::Otp { .. },
            ..
        }) => Ok(json!({"challenge_type": "otp"})),
        Some(Authenticator {
            id,
            factor: Factor::Oob { to, .. },
            ..
        }) => {
            let oob_code = send_code(&mut memory, now, token, (&sub, &id), &to);
            Ok(json!({"challenge_type": "oob", "oob_code": oob_code, "binding_method": "prompt"}))
        }
    }
}

/// `DELETE /mfa/authenticators/{id}` with `Authorization: Bearer <access token>` whose scope
/// has `remove:authenticators` and whose grant passed MFA (Auth0 also wants the token's
/// audience to be `https://{domain}/mfa/`; the dev tenant does not look at it).
#[tracing::instrument(name = "dev_tenant.mfa_delete", skip_all)]
pub(super) async fn delete(
    State(tenant): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match bearer(&headers).and_then(|token| remove(&tenant, token, &id)) {
        Ok(()) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(e) => failed("deleting an authenticator", e),
    }
}

fn remove(tenant: &Tenant, token: &str, id: &str) -> Result<(), OAuthError> {
    let now = tenant.now();
    let mut memory = tenant.memory();
    let unauthorized = || {
        refused(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an access token with the remove:authenticators scope, from a grant that passed MFA, \
             is required",
        )
    };
    let record = memory
        .access_tokens
        .get(&hash(token))
        .filter(|r| r.expires_at > now)
        .filter(|r| r.scope.iter().any(|s| s == "remove:authenticators"))
        .ok_or_else(unauthorized)?;
    let (grant, sub) = (record.grant, record.user.sub.clone());
    if !memory.mfa.verified(grant) {
        return Err(unauthorized());
    }
    let not_found = || {
        refused(
            StatusCode::NOT_FOUND,
            "not_found",
            "Authenticator not found",
        )
    };
    let factors = memory.mfa.users.get_mut(&sub).ok_or_else(not_found)?;
    if factors.recovery.as_ref().is_some_and(|(_, r)| r == id) {
        factors.recovery = None;
        return Ok(());
    }
    let before = factors.authenticators.len();
    factors.authenticators.retain(|a| a.id != id);
    if factors.authenticators.len() == before {
        return Err(not_found());
    }
    Ok(())
}

/// The current dev OTP of the authenticator with this secret.
pub(crate) fn current_otp(tenant: &Tenant, secret: &str) -> String {
    dev_otp(secret, tenant.now())
}

/// The last binding code "sent" to a phone number or e-mail address.
pub(crate) fn binding_code_sent(tenant: &Tenant, to: &str) -> Option<String> {
    tenant.memory().mfa.outbox.get(to.trim()).cloned()
}

/// Per-user MFA on the builder.
impl DevTenantBuilder {
    /// Makes every refresh of this user's grants (whatever the API) answer `mfa_required`
    /// until the user passes MFA through the MFA API's grants; the grant those issue
    /// refreshes without MFA. With no enrolled authenticator the answer's
    /// `mfa_requirements` asks to `enroll`, else to `challenge`.
    pub fn require_mfa_for_user(mut self, email: impl Into<String>) -> Self {
        let user = User::new(&email.into(), None);
        self.extras.mfa_users.push(user.sub);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_otps_are_six_digits_that_change_every_step() {
        let a = dev_otp("S", 0);
        assert_eq!(a.len(), 6);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(a, dev_otp("S", OTP_STEP - 1));
        assert_ne!(dev_otp("S", 0), dev_otp("S", OTP_STEP * 7));
        assert_ne!(dev_otp("S", 0), dev_otp("T", 0));
    }

    #[test]
    fn recovery_codes_and_secrets_look_like_auth0s() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 24);
        assert!(
            code.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_eq!(otp_secret().len(), 32);
        assert_eq!(binding_code().len(), 6);
    }
}
