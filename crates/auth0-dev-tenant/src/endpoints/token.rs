//! `POST /oauth/token`: client authentication (`client_secret_basic`, `client_secret_post`,
//! or `private_key_jwt` when the application has a public key, in `client_assertion`),
//! the authorization-code grant with PKCE, and the refresh-token grant with rotation and
//! reuse detection.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{OAuthError, Params, Shared, client_assertion, no_store};
use crate::memory::{
    AccessRecord, Grant, Memory, PendingCode, RefreshRecord, TokenHash, USED_CODE_MEMORY, UsedCode,
    has_scope, hash, parse_scope, random_token,
};
use crate::mint::{self, IdTokenFacts};
use crate::server::Tenant;

/// The `WWW-Authenticate` challenge of a 401 to a client that used HTTP Basic.
const BASIC_CHALLENGE: &str = "Basic realm=\"dev-tenant\", charset=\"UTF-8\"";

/// `POST /oauth/token`.
#[tracing::instrument(name = "dev_tenant.token", skip_all, fields(grant_type))]
pub(super) async fn token(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&tenant, &headers, &body) {
        Ok(answer) => {
            let mut response = Json(answer).into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => {
            tracing::info!(error = error.error(), "token request refused");
            error.into_response()
        }
    }
}

fn handle(tenant: &Tenant, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let params = Params::parse(body);
    authenticate(tenant, headers, &params)?;
    let grant_type = params.get("grant_type")?;
    tracing::Span::current().record("grant_type", grant_type.unwrap_or_default());
    match grant_type {
        Some("authorization_code") => exchange_code(tenant, &params),
        Some("refresh_token") => refresh(tenant, &params),
        Some(super::ciba::CIBA_GRANT_TYPE) => super::ciba::grant(tenant, &params),
        Some(super::passwordless::OTP_GRANT_TYPE) => super::passwordless::grant(tenant, &params),
        Some(super::exchange::FEDERATED_GRANT_TYPE) => super::exchange::federated(tenant, &params),
        Some(super::exchange::TOKEN_EXCHANGE_GRANT_TYPE) => {
            super::exchange::custom(tenant, &params)
        }
        Some(g) if super::mfa_grants::GRANT_TYPES.contains(&g) => {
            super::mfa_grants::grant(tenant, g, &params)
        }
        Some(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "grant_type {other:?} is not supported: use authorization_code or refresh_token"
            ),
        )),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte.
fn form_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The client's credentials from HTTP Basic (RFC 6749 §2.3.1: each part form-urlencoded).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// Client authentication: a client assertion for a client with a public key, else its secret.
pub(super) fn authenticate(
    tenant: &Tenant,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), OAuthError> {
    if client_assertion::is_used(params)? {
        return client_assertion::authenticate(tenant, headers, params);
    }
    if tenant.config.client_key.is_some() {
        return Err(OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "this client authenticates with private_key_jwt (a public key is registered for \
             it): send a client_assertion signed with its private key, not a client secret",
        ));
    }
    authenticate_with_secret(tenant, headers, params)
}

/// The `invalid_client` answer, with the Basic challenge when the client used HTTP Basic.
fn invalid_client(basic: bool, description: &str) -> OAuthError {
    let error = OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
    if basic {
        error.with_challenge(BASIC_CHALLENGE)
    } else {
        error
    }
}

/// Secret authentication: exactly one method, the right id, the right secret.
fn authenticate_with_secret(
    tenant: &Tenant,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), OAuthError> {
    let (client_id, secret, basic) = secret_credentials(headers, params)?;
    let config = &tenant.config;
    let same_secret: bool = secret
        .as_bytes()
        .ct_eq(config.client_secret.0.as_bytes())
        .into();
    if client_id != config.client_id || !same_secret {
        return Err(invalid_client(
            basic,
            "unknown client or wrong client secret: use the dev tenant's client id and secret",
        ));
    }
    Ok(())
}

/// The client id and secret the request carries, by exactly one method, and whether that
/// was HTTP Basic.
fn secret_credentials(
    headers: &HeaderMap,
    params: &Params,
) -> Result<(String, String, bool), OAuthError> {
    let form_id = params.get("client_id")?;
    let form_secret = params.get("client_secret")?;
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        let (Some(id), Some(secret)) = (form_id, form_secret) else {
            return Err(invalid_client(
                false,
                "client authentication is required: HTTP Basic (client_secret_basic) or \
                 client_id and client_secret in the form (client_secret_post)",
            ));
        };
        return Ok((id.to_owned(), secret.to_owned(), false));
    };
    let (id, secret) = value
        .to_str()
        .ok()
        .and_then(basic_credentials)
        .ok_or_else(|| {
            invalid_client(
                true,
                "the Authorization header is not HTTP Basic with a form-urlencoded client id \
                 and secret",
            )
        })?;
    if form_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "the client authenticated twice (HTTP Basic and client_secret in the form): use \
             one method",
        ));
    }
    if form_id.is_some_and(|f| f != id) {
        return Err(invalid_client(
            true,
            "the client_id in the form is not the one in the Authorization header",
        ));
    }
    Ok((id, secret, true))
}

/// Whether a PKCE verifier (RFC 7636 §4.1: 43 to 128 unreserved characters) hashes to the
/// challenge.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
    if !(43..=128).contains(&verifier.len()) || !verifier.chars().all(unreserved) {
        return false;
    }
    let computed = B64.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

fn exchange_code(tenant: &Tenant, params: &Params) -> Result<Value, OAuthError> {
    let code = params
        .get("code")?
        .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let redirect_uri = params
        .get("redirect_uri")?
        .ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let verifier = params.get("code_verifier")?;
    let now = tenant.now();
    let mut memory = tenant.memory();
    let code_hash = hash(code);
    let pending = take_pending_code(&mut memory, code_hash, now)?;
    if redirect_uri != pending.request.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri is not the one of the authorization request",
        ));
    }
    // PKCE is decided by the stored challenge: a magic link's code has none (the e-mail
    // carried it, see passwordless.rs); every other code needs its verifier.
    let challenge = &pending.request.code_challenge;
    if !verifier.map_or(challenge.is_empty(), |v| pkce_matches(v, challenge)) {
        return Err(OAuthError::invalid_grant(
            "the code_verifier is missing or does not match the code_challenge (PKCE)",
        ));
    }
    let request = pending.request;
    let grant = Grant {
        user: pending.user,
        sid: pending.sid,
        auth_time: pending.auth_time,
        scope: request.scope.clone(),
        audience: request.audience.clone(),
        expires_at: now.saturating_add(tenant.config.refresh_token_lifetime.as_secs()),
        organization: request.organization.clone(),
        authorization_details: request.authorization_details.clone(),
    };
    let grant_id = memory.add_grant(grant.clone());
    if let Some(used) = memory.used_codes.get_mut(&code_hash) {
        used.grant = Some(grant_id);
    }
    let issue = Issue {
        grant_id,
        grant: &grant,
        scope: &request.scope,
        audience: request.audience.as_deref(),
        nonce: Some(request.nonce.as_str()).filter(|n| !n.is_empty()),
        refresh_token: has_scope(&request.scope, "offline_access"),
    };
    issue_tokens(tenant, &mut memory, &issue)
}

/// Takes the pending code with this hash, burnt at once whatever happens next; a replayed
/// code revokes the tokens issued for it (RFC 6749 §4.1.2), an expired one is refused.
fn take_pending_code(
    memory: &mut Memory,
    code_hash: TokenHash,
    now: u64,
) -> Result<PendingCode, OAuthError> {
    let Some(pending) = memory.codes.remove(&code_hash) else {
        if let Some(used) = memory.used_codes.get(&code_hash) {
            if let Some(grant) = used.grant {
                memory.revoke_grant(grant);
            }
            tracing::warn!("an authorization code was used twice: its tokens are revoked");
            return Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens issued for it are revoked",
            ));
        }
        return Err(OAuthError::invalid_grant(
            "the authorization code is unknown or expired",
        ));
    };
    memory.used_codes.insert(
        code_hash,
        UsedCode {
            grant: None,
            forget_at: now.saturating_add(USED_CODE_MEMORY.as_secs()),
        },
    );
    if pending.expires_at <= now {
        return Err(OAuthError::invalid_grant("the authorization code expired"));
    }
    Ok(pending)
}

/// A refresh token's grant, when the token is known, unexpired, unrevoked and not used up.
/// A used one (rotation on) revokes its grant: reuse detection, as Auth0's rotation does.
/// Shared by the refresh-token grant and Token Vault's exchange, which both take one.
pub(super) fn live_refresh_grant(
    memory: &mut Memory,
    refresh_token: &str,
) -> Result<(u64, Grant), OAuthError> {
    let Some(record) = memory.refresh_tokens.get(&hash(refresh_token)) else {
        return Err(OAuthError::invalid_grant(
            "Unknown or invalid refresh token.",
        ));
    };
    let grant_id = record.grant;
    if record.used {
        memory.revoke_grant(grant_id);
        tracing::warn!("a rotated refresh token was used again: its grant is revoked");
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used, so the grant is revoked (refresh token reuse \
             detection): log in again",
        ));
    }
    match memory.grants.get(&grant_id) {
        Some(grant) => Ok((grant_id, grant.clone())),
        None => Err(OAuthError::invalid_grant(
            "the grant of this refresh token ended",
        )),
    }
}

/// The API a token request asks for: one the tenant knows (else Auth0's 403 `access_denied`
/// `Service not found`), else `default`.
pub(super) fn requested_audience(
    tenant: &Tenant,
    params: &Params,
    default: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    match params.get("audience")? {
        Some(audience) if !tenant.config.audiences.iter().any(|a| a == audience) => {
            Err(OAuthError::new(
                StatusCode::FORBIDDEN,
                "access_denied",
                format!("Service not found: {audience}"),
            ))
        }
        audience => Ok(audience.or(default).map(str::to_owned)),
    }
}

fn refresh(tenant: &Tenant, params: &Params) -> Result<Value, OAuthError> {
    let refresh_token = params
        .get("refresh_token")?
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let mut memory = tenant.memory();
    let (grant_id, grant) = live_refresh_grant(&mut memory, refresh_token)?;
    let scope = match params.get("scope")? {
        Some(asked) => {
            let asked = parse_scope(asked);
            if let Some(extra) = asked.iter().find(|s| !has_scope(&grant.scope, s)) {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!("the scope {extra:?} was not granted at login"),
                ));
            }
            asked
        }
        None => grant.scope.clone(),
    };
    let audience = requested_audience(tenant, params, grant.audience.as_deref())?;
    let extras = &tenant.config.extras;
    if (extras.requires_mfa(audience.as_deref()) || extras.requires_mfa_of(&grant.user))
        && !memory.mfa.verified(grant_id)
    {
        return Err(super::mfa::required(
            tenant,
            &mut memory,
            &grant,
            &scope,
            audience.as_deref(),
        ));
    }
    let rotates = tenant.config.vault.rotates();
    if rotates && let Some(record) = memory.refresh_tokens.get_mut(&hash(refresh_token)) {
        record.used = true;
    }
    let issue = Issue {
        grant_id,
        grant: &grant,
        scope: &scope,
        audience: audience.as_deref(),
        nonce: None,
        refresh_token: rotates,
    };
    issue_tokens(tenant, &mut memory, &issue)
}

/// What a successful token request gives.
pub(super) struct Issue<'a> {
    pub(super) grant_id: u64,
    pub(super) grant: &'a Grant,
    pub(super) scope: &'a [String],
    pub(super) audience: Option<&'a str>,
    pub(super) nonce: Option<&'a str>,
    pub(super) refresh_token: bool,
}

/// The token endpoint's answer for a grant: an access token, the ID token when `openid` was
/// granted, and a refresh token when one is due.
pub(super) fn issue_tokens(
    tenant: &Tenant,
    memory: &mut Memory,
    issue: &Issue<'_>,
) -> Result<Value, OAuthError> {
    let mut answer = issue_access_token(tenant, memory, issue)?;
    if has_scope(issue.scope, "openid") {
        answer["id_token"] = json!(issue_id_token(tenant, issue)?);
    }
    if issue.refresh_token {
        answer["refresh_token"] = json!(issue_refresh_token(memory, issue));
    }
    Ok(answer)
}

/// A token that could not be signed: logged, and a `server_error` for the client.
fn signing_failed(e: josekit::JoseError) -> OAuthError {
    tracing::error!(error = %e, "a token could not be signed");
    OAuthError::server_error("a token could not be signed")
}

/// Mints and remembers the access token: the answer's `access_token`, `token_type`,
/// `expires_in`, `scope` and the grant's `authorization_details`.
fn issue_access_token(
    tenant: &Tenant,
    memory: &mut Memory,
    issue: &Issue<'_>,
) -> Result<Value, OAuthError> {
    let grant = issue.grant;
    let access_token = mint::access_token(
        tenant,
        issue.audience,
        &grant.user,
        issue.scope,
        grant.organization.as_ref(),
    )
    .map_err(signing_failed)?;
    let expires_in = tenant.config.access_token_lifetime.as_secs();
    memory.access_tokens.insert(
        hash(&access_token),
        AccessRecord {
            grant: issue.grant_id,
            user: grant.user.clone(),
            scope: issue.scope.to_vec(),
            expires_at: tenant.now().saturating_add(expires_in),
        },
    );
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": issue.scope.join(" "),
    });
    if let Some(details) = &grant.authorization_details {
        answer["authorization_details"] = details.clone();
    }
    Ok(answer)
}

/// Mints the ID token of the grant's login.
fn issue_id_token(tenant: &Tenant, issue: &Issue<'_>) -> Result<String, OAuthError> {
    let grant = issue.grant;
    mint::id_token(
        tenant,
        &IdTokenFacts {
            user: &grant.user,
            scope: issue.scope,
            sid: &grant.sid,
            auth_time: grant.auth_time,
            nonce: issue.nonce,
            organization: grant.organization.as_ref(),
        },
    )
    .map_err(signing_failed)
}

/// A new refresh token for the grant, remembered until the grant expires.
fn issue_refresh_token(memory: &mut Memory, issue: &Issue<'_>) -> String {
    let refresh_token = random_token();
    memory.refresh_tokens.insert(
        hash(&refresh_token),
        RefreshRecord {
            grant: issue.grant_id,
            used: false,
            expires_at: issue.grant.expires_at,
        },
    );
    refresh_token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%3Aclient:s%2Bcret+x%25"));
        assert_eq!(
            basic_credentials(&header),
            Some(("my:client".to_owned(), "s+cret x%".to_owned()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        let no_colon = format!("Basic {}", STANDARD.encode("nocolon"));
        assert_eq!(basic_credentials(&no_colon), None);
        let bad_escape = format!("Basic {}", STANDARD.encode("a:%zz"));
        assert_eq!(basic_credentials(&bad_escape), None);
    }

    #[test]
    fn pkce_needs_the_verifier_of_the_challenge() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
    }
}
