//! The token-exchange grants at `/oauth/token` (`crate::vault` has their configuration):
//!
//! - Token Vault, Auth0's federated-connection access-token grant: a refresh token of the
//!   tenant (`subject_token`, type `urn:ietf:params:oauth:token-type:refresh_token`) is
//!   exchanged for an access token of a connection the tenant serves, for the refresh
//!   token's user. An unknown connection, or a `login_hint` that is not the user's e-mail
//!   address or `sub`, is a 401 `federated_connection_refresh_token_not_found`, as Auth0
//!   answers when the user has no account at the connection; an unknown or revoked refresh
//!   token is `invalid_grant`, and a rotated one used again revokes its grant (reuse
//!   detection, as at the refresh-token grant).
//! - Custom token exchange (RFC 8693): a subject token the tenant issued for a profile's
//!   `subject_token_type` gives tokens for its user, once; anything else is
//!   `invalid_request`, as an Auth0 Action that rejects the subject token answers.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::token::{Issue, issue_tokens, live_refresh_grant, requested_audience};
use super::{OAuthError, Params};
use crate::extras::DevOrganization;
use crate::memory::{Grant, Memory, User, has_scope, hash, parse_scope, random_token};
use crate::server::Tenant;
use crate::vault::{CONNECTION_SCOPE, ConnectionToken};

/// Auth0's federated-connection access-token grant type.
pub(crate) const FEDERATED_GRANT_TYPE: &str =
    "urn:auth0:params:oauth:grant-type:token-exchange:federated-connection-access-token";
/// The RFC 8693 token-exchange grant type.
pub(crate) const TOKEN_EXCHANGE_GRANT_TYPE: &str =
    "urn:ietf:params:oauth:grant-type:token-exchange";
/// The subject token type of a refresh token.
const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";
/// The token type Token Vault issues.
const FEDERATED_TOKEN_TYPE: &str =
    "http://auth0.com/oauth/token-type/federated-connection-access-token";
/// The token type a custom token exchange issues.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

fn required<'a>(params: &'a Params, name: &'static str) -> Result<&'a str, OAuthError> {
    params
        .get(name)?
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

/// Auth0's answer when the user has no account at the connection.
fn no_connection_account() -> OAuthError {
    OAuthError::new(
        StatusCode::UNAUTHORIZED,
        "federated_connection_refresh_token_not_found",
        "Federated connection Refresh Token not found.",
    )
}

/// The federated-connection access-token grant.
pub(super) fn federated(tenant: &Tenant, params: &Params) -> Result<Value, OAuthError> {
    if required(params, "subject_token_type")? != REFRESH_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "subject_token_type must be {REFRESH_TOKEN_TYPE} (the dev tenant exchanges refresh \
             tokens only)"
        )));
    }
    if required(params, "requested_token_type")? != FEDERATED_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(format!(
            "requested_token_type must be {FEDERATED_TOKEN_TYPE}"
        )));
    }
    let connection = required(params, "connection")?;
    let refresh_token = required(params, "subject_token")?;
    let mut memory = tenant.memory();
    let (_, grant) = live_refresh_grant(&mut memory, refresh_token)?;
    let user = grant.user;
    let hint_fits = params
        .get("login_hint")?
        .is_none_or(|hint| hint == user.email || hint == user.sub);
    if !tenant.config.vault.has_connection(connection) || !hint_fits {
        tracing::info!("no account at the connection for this user");
        return Err(no_connection_account());
    }
    let access_token = random_token();
    let expires_in = tenant.config.access_token_lifetime.as_secs();
    memory.vault.connection_tokens.insert(
        hash(&access_token),
        ConnectionToken {
            connection: connection.to_owned(),
            sub: user.sub,
            expires_at: tenant.now().saturating_add(expires_in),
        },
    );
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": CONNECTION_SCOPE,
        "issued_token_type": FEDERATED_TOKEN_TYPE,
    }))
}

/// The custom token exchange grant (RFC 8693).
pub(super) fn custom(tenant: &Tenant, params: &Params) -> Result<Value, OAuthError> {
    let token_type = required(params, "subject_token_type")?;
    if !tenant.config.vault.has_token_type(token_type) {
        return Err(OAuthError::invalid_request(format!(
            "no Custom Token Exchange Profile has the subject_token_type {token_type:?}"
        )));
    }
    let subject_token = required(params, "subject_token")?;
    let mut memory = tenant.memory();
    check_actor(tenant, &memory, params)?;
    // Taken out: one exchange per subject token, whatever happens next.
    let subject = memory
        .vault
        .subject_tokens
        .remove(&hash(subject_token))
        .filter(|s| s.token_type == token_type && s.expires_at > tenant.now())
        .ok_or_else(|| {
            tracing::info!("an unknown, expired or used subject token was refused");
            OAuthError::invalid_request("the subject token is invalid, expired or already used")
        })?;
    let audience = requested_audience(tenant, params, None)?;
    let organization = exchange_organization(tenant, params, &subject.user)?;
    let scope = parse_scope(params.get("scope")?.unwrap_or_default());
    let now = tenant.now();
    let grant = Grant {
        user: subject.user,
        sid: random_token(),
        auth_time: now,
        scope: scope.clone(),
        audience: audience.clone(),
        expires_at: now.saturating_add(tenant.config.refresh_token_lifetime.as_secs()),
        organization,
        authorization_details: None,
    };
    let grant_id = memory.add_grant(grant.clone());
    let issue = Issue {
        grant_id,
        grant: &grant,
        scope: &scope,
        audience: audience.as_deref(),
        nonce: None,
        refresh_token: has_scope(&scope, "offline_access"),
    };
    let mut answer = issue_tokens(tenant, &mut memory, &issue)?;
    answer["issued_token_type"] = json!(ACCESS_TOKEN_TYPE);
    Ok(answer)
}

/// An actor token comes with its type, and is an access token of this tenant still valid
/// (Auth0 puts no `act` claim in the tokens yet; neither does the tenant).
fn check_actor(tenant: &Tenant, memory: &Memory, params: &Params) -> Result<(), OAuthError> {
    match (params.get("actor_token")?, params.get("actor_token_type")?) {
        (None, None) => Ok(()),
        (Some(token), Some(ACCESS_TOKEN_TYPE)) => memory
            .access_tokens
            .get(&hash(token))
            .filter(|a| a.expires_at > tenant.now())
            .map(|_| ())
            .ok_or_else(|| OAuthError::invalid_request("the actor token is invalid or expired")),
        (Some(_), Some(other)) => Err(OAuthError::invalid_request(format!(
            "actor_token_type {other:?} is not supported: use {ACCESS_TOKEN_TYPE}"
        ))),
        (Some(_), None) => Err(OAuthError::invalid_request(
            "actor_token_type is required with actor_token",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "actor_token is required with actor_token_type",
        )),
    }
}

/// The organization asked for: one the tenant has, of which the user is a member.
fn exchange_organization(
    tenant: &Tenant,
    params: &Params,
    user: &User,
) -> Result<Option<DevOrganization>, OAuthError> {
    let Some(asked) = params.get("organization")? else {
        return Ok(None);
    };
    let organization = tenant
        .config
        .extras
        .organization(asked)
        .ok_or_else(|| OAuthError::invalid_request(format!("no organization {asked:?}")))?;
    if !organization.admits(user) {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "access_denied",
            format!("the user is not a member of the organization {asked:?}"),
        ));
    }
    Ok(Some(organization.clone()))
}
