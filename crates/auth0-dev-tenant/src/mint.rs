//! The tokens the tenant makes: ID tokens, access tokens (a JWT for an API, else an opaque
//! string), and back-channel logout tokens. All JWTs are RS256 with the tenant's `kid`.

use auth0_server_core::client::BACKCHANNEL_LOGOUT_EVENT;
use josekit::JoseError;
use serde_json::{Map, Value, json};

use crate::extras::DevOrganization;
use crate::memory::{User, has_scope, random_token};
use crate::server::Tenant;

/// The `typ` of ID tokens.
const ID_TOKEN_TYPE: &str = "JWT";
/// The `typ` of access tokens (RFC 9068).
const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The `typ` of logout tokens (OIDC Back-Channel Logout 1.0 §2.4).
const LOGOUT_TOKEN_TYPE: &str = "logout+jwt";

/// The user's claims the scope allows: `sub`, then `name`, `nickname`, `picture` for
/// `profile`, and `email`, `email_verified` for `email`.
pub(crate) fn profile_claims(tenant: &Tenant, user: &User, scope: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.sub));
    if has_scope(scope, "profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("nickname".into(), json!(user.nickname));
        claims.insert("picture".into(), json!(avatar_url(tenant, user)));
    }
    if has_scope(scope, "email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(true));
    }
    let linked = tenant.linked().get(&user.sub).cloned().unwrap_or_default();
    if !linked.is_empty() || has_scope(scope, "link_account") || has_scope(scope, "unlink_account")
    {
        claims.insert(
            "identities".into(),
            crate::linked::identities_claim(&user.sub, &linked),
        );
    }
    claims
}

/// The user's picture: an avatar with their initial, served by the tenant (no network).
fn avatar_url(tenant: &Tenant, user: &User) -> String {
    let initial = user
        .name
        .chars()
        .find(char::is_ascii_alphanumeric)
        .unwrap_or('U')
        .to_ascii_uppercase();
    tenant.url(&format!("avatar/{initial}.svg"))
}

/// What an ID token is about.
pub(crate) struct IdTokenFacts<'a> {
    pub(crate) user: &'a User,
    pub(crate) scope: &'a [String],
    pub(crate) sid: &'a str,
    pub(crate) auth_time: u64,
    /// Only on the code exchange.
    pub(crate) nonce: Option<&'a str>,
    /// The organization logged in to, if any.
    pub(crate) organization: Option<&'a DevOrganization>,
}

/// `org_id` and `org_name`, as Auth0 puts them in both tokens of an organization login.
fn add_organization(claims: &mut Map<String, Value>, organization: Option<&DevOrganization>) {
    if let Some(organization) = organization {
        claims.insert("org_id".into(), json!(organization.id));
        claims.insert("org_name".into(), json!(organization.name));
    }
}

/// An ID token for the client.
pub(crate) fn id_token(tenant: &Tenant, facts: &IdTokenFacts<'_>) -> Result<String, JoseError> {
    let now = tenant.now();
    let mut claims = profile_claims(tenant, facts.user, facts.scope);
    claims.insert("iss".into(), json!(tenant.issuer));
    claims.insert("aud".into(), json!(tenant.config.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert(
        "exp".into(),
        json!(now.saturating_add(tenant.config.id_token_lifetime.as_secs())),
    );
    claims.insert("auth_time".into(), json!(facts.auth_time));
    claims.insert("sid".into(), json!(facts.sid));
    if let Some(nonce) = facts.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    add_organization(&mut claims, facts.organization);
    tenant.key.sign(ID_TOKEN_TYPE, claims)
}

/// An access token: a JWT for `audience` (with the userinfo endpoint as a second audience
/// when `openid` is in the scope, as Auth0 does), else an opaque string that only this
/// tenant's `/userinfo` understands.
pub(crate) fn access_token(
    tenant: &Tenant,
    audience: Option<&str>,
    user: &User,
    scope: &[String],
    organization: Option<&DevOrganization>,
) -> Result<String, JoseError> {
    let Some(audience) = audience else {
        return Ok(random_token());
    };
    let now = tenant.now();
    let aud = if has_scope(scope, "openid") {
        json!([audience, tenant.url("userinfo")])
    } else {
        json!(audience)
    };
    let claims = json!({
        "iss": tenant.issuer,
        "sub": user.sub,
        "aud": aud,
        "iat": now,
        "exp": now.saturating_add(tenant.config.access_token_lifetime.as_secs()),
        "scope": scope.join(" "),
        "azp": tenant.config.client_id,
        "client_id": tenant.config.client_id,
        "jti": random_token(),
    });
    let mut claims = as_map(claims);
    add_organization(&mut claims, organization);
    tenant.key.sign(ACCESS_TOKEN_TYPE, claims)
}

/// A logout token for the client about a provider session (OIDC Back-Channel Logout 1.0
/// §2.4): `sid` and `sub`, the event, a `jti`, and no `nonce`.
pub(crate) fn logout_token(tenant: &Tenant, sid: &str, sub: &str) -> Result<String, JoseError> {
    let now = tenant.now();
    let claims = json!({
        "iss": tenant.issuer,
        "aud": tenant.config.client_id,
        "iat": now,
        "exp": now.saturating_add(crate::config::LOGOUT_TOKEN_LIFETIME.as_secs()),
        "jti": random_token(),
        "sid": sid,
        "sub": sub,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    tenant.key.sign(LOGOUT_TOKEN_TYPE, as_map(claims))
}

fn as_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
