//! `GET /authorize` (the authorization request: checked, then the login form or, with a
//! provider session, straight back with a code) and `POST /u/login` (the form's answer).
//!
//! A request whose `client_id` or `redirect_uri` cannot be trusted gets an error page and
//! is never redirected (no open redirect); every other error goes to the redirect URI with
//! `error`, `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use url::Url;

use super::{LOGIN_FORM_PATH, Params, Shared, cookie, redirect, session_cookie};
use crate::config::{AllowedUris, CODE_LIFETIME, LOGIN_FORM_LIFETIME};
use crate::extras::DevOrganization;
use crate::memory::{
    AuthRequest, Interaction, Memory, PendingCode, Session, User, has_scope, hash, parse_scope,
    random_token,
};
use crate::pages::{self, LoginForm};
use crate::server::Tenant;

mod linking;

/// The `prompt` values understood (OIDC Core §3.1.2.1).
const PROMPTS: &[&str] = &["none", "login", "consent", "select_account"];
/// The longest e-mail address accepted (RFC 5321's path limit).
pub(super) const MAX_EMAIL_LEN: usize = 254;
/// The longest display name accepted.
const MAX_NAME_LEN: usize = 100;

/// Why an authorization request is refused, and where the answer goes.
enum Refusal {
    /// Shown to the user: the client or the redirect URI cannot be trusted with a redirect.
    Page {
        title: &'static str,
        what: String,
        fix: String,
    },
    /// Sent to the (checked) redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

impl Refusal {
    fn page(title: &'static str, what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::Page {
            title,
            what: what.into(),
            fix: fix.into(),
        }
    }

    fn respond(self, tenant: &Tenant, status: StatusCode) -> Response {
        match self {
            Self::Page { title, what, fix } => {
                tracing::info!(%what, "authorization request refused (error page)");
                pages::respond(StatusCode::BAD_REQUEST, pages::error(title, &what, &fix))
            }
            Self::Redirect {
                redirect_uri,
                state,
                error,
                description,
            } => {
                tracing::info!(error, %description, "authorization request refused (redirect)");
                let url = error_url(tenant, &redirect_uri, state.as_deref(), error, &description);
                redirect(status, &url)
            }
        }
    }
}

/// What `prompt` and `max_age` ask for.
#[derive(Default)]
struct Prompt {
    none: bool,
    login: bool,
    max_age: Option<u64>,
}

/// The redirect URI with `params` and `iss` added to its query.
fn with_params(tenant: &Tenant, redirect_uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        // Only checked redirect URIs get here, and they parse.
        return redirect_uri.to_owned();
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        query.append_pair("iss", &tenant.issuer);
    }
    url.to_string()
}

fn error_url(
    tenant: &Tenant,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> String {
    with_params(
        tenant,
        redirect_uri,
        &[
            ("error", Some(error)),
            ("error_description", Some(description)),
            ("state", state),
        ],
    )
}

fn success_url(tenant: &Tenant, request: &AuthRequest, code: &str) -> String {
    with_params(
        tenant,
        &request.redirect_uri,
        &[("code", Some(code)), ("state", Some(&request.state))],
    )
}

/// Checks the authorization request: the client and the redirect URI first (a refusal is a
/// page: nothing can be sent to a redirect URI not yet checked), then the rest (a refusal
/// goes to the redirect URI), in the order the tests expect.
fn check_request(tenant: &Tenant, params: &Params) -> Result<(AuthRequest, Prompt), Refusal> {
    check_client_id(tenant, params)?;
    let redirect_uri = check_redirect_uri(tenant, params)?;
    let request = Checked {
        params,
        state: params.get("state").ok().flatten().map(str::to_owned),
        redirect_uri,
    };
    request.check_protocol()?;
    let scope = request.check_scope()?;
    let state = request.state.clone().ok_or_else(|| {
        request.fail(
            "invalid_request",
            "state is required by this dev tenant".to_owned(),
        )
    })?;
    let nonce = request
        .get("nonce")?
        .ok_or_else(|| {
            request.fail(
                "invalid_request",
                "nonce is required by this dev tenant".to_owned(),
            )
        })?
        .to_owned();
    let code_challenge = request.check_pkce()?;
    let audience = request.check_audience(tenant)?;
    let prompt = request.check_prompt()?;
    let login_hint = request.get("login_hint")?.map(str::to_owned);
    let organization = request.check_organization(tenant)?;
    let authorization_details = request.check_authorization_details(tenant)?;
    Ok((
        AuthRequest {
            redirect_uri: request.redirect_uri,
            state,
            nonce,
            code_challenge,
            scope,
            audience,
            login_hint,
            organization,
            authorization_details,
        },
        prompt,
    ))
}

/// A page refusing a parameter sent more than once, before the redirect URI is checked.
fn repeated_page(name: &str) -> Refusal {
    Refusal::page(
        "Invalid request",
        format!("{name} was sent more than once."),
        "Start the login again from the application.",
    )
}

/// The request's `client_id` is the tenant's application's.
fn check_client_id(tenant: &Tenant, params: &Params) -> Result<(), Refusal> {
    let expected = &tenant.config.client_id;
    let client_id = params
        .get("client_id")
        .map_err(|_| repeated_page("client_id"))?
        .ok_or_else(|| {
            Refusal::page(
                "Missing client_id",
                "The authorization request has no client_id.",
                format!("Send the application's client id, {expected:?}."),
            )
        })?;
    if client_id != expected {
        return Err(Refusal::page(
            "Unknown application",
            format!(
                "No application with the client id {client_id:?} is registered at this dev tenant."
            ),
            format!(
                "Its one application has the client id {expected:?}: set AUTH0_CLIENT_ID to it."
            ),
        ));
    }
    Ok(())
}

/// The request's `redirect_uri`, if the tenant allows it.
fn check_redirect_uri(tenant: &Tenant, params: &Params) -> Result<String, Refusal> {
    let allowed = &tenant.config.redirect_uris;
    let redirect_uri = params
        .get("redirect_uri")
        .map_err(|_| repeated_page("redirect_uri"))?
        .ok_or_else(|| {
            Refusal::page(
                "Missing redirect_uri",
                "The authorization request has no redirect_uri.",
                "Send the application's callback URL as redirect_uri.",
            )
        })?;
    if allowed.allows(redirect_uri) {
        return Ok(redirect_uri.to_owned());
    }
    let fix = match allowed {
        AllowedUris::AnyLoopback => "This dev tenant allows callback URLs on this machine only \
            (http://localhost…, http://127.0.0.1…, http://[::1]…), without a #fragment."
            .to_owned(),
        AllowedUris::Only(list) => format!(
            "The allowed callback URLs are: {}. Add this one with \
             DevTenant::builder().redirect_uri(…), or set AUTH0_REDIRECT_URI to an allowed one.",
            list.iter().map(Url::as_str).collect::<Vec<_>>().join(", ")
        ),
    };
    Err(Refusal::page(
        "Callback URL mismatch",
        format!("{redirect_uri} is not an allowed callback URL of this dev tenant."),
        fix,
    ))
}

/// A request whose client and redirect URI are checked: from here on, refusals go to the
/// redirect URI.
struct Checked<'a> {
    params: &'a Params,
    redirect_uri: String,
    state: Option<String>,
}

impl<'a> Checked<'a> {
    /// A refusal sent to the redirect URI.
    fn fail(&self, error: &'static str, description: String) -> Refusal {
        Refusal::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error,
            description,
        }
    }

    /// The parameter `name`, refused when sent more than once.
    fn get(&self, name: &'static str) -> Result<Option<&'a str>, Refusal> {
        self.params.get(name).map_err(|_| {
            self.fail(
                "invalid_request",
                format!("the parameter {name} was sent more than once"),
            )
        })
    }

    /// What this tenant speaks: the code flow answered in the query, no request objects.
    fn check_protocol(&self) -> Result<(), Refusal> {
        self.get("state")?;
        if self
            .get("response_mode")?
            .is_some_and(|mode| mode != "query")
        {
            return Err(self.fail(
                "invalid_request",
                "this dev tenant only answers with response_mode=query".to_owned(),
            ));
        }
        if self.get("request")?.is_some() {
            return Err(self.fail(
                "request_not_supported",
                "request objects are not supported by this dev tenant".to_owned(),
            ));
        }
        if self.get("request_uri")?.is_some() {
            // A live one was replaced by its request before this check (`par::resolve`).
            return Err(self.fail(
                "invalid_request_uri",
                "the request_uri is unknown, expired, already used or another client's: push \
                 the authorization request again"
                    .to_owned(),
            ));
        }
        match self.get("response_type")? {
            Some("code") => Ok(()),
            Some(other) => Err(self.fail(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported: use code"),
            )),
            None => Err(self.fail(
                "invalid_request",
                "response_type is required (code)".to_owned(),
            )),
        }
    }

    /// The scopes asked for, which must include `openid`.
    fn check_scope(&self) -> Result<Vec<String>, Refusal> {
        let scope = parse_scope(self.get("scope")?.unwrap_or_default());
        if !has_scope(&scope, "openid") {
            return Err(self.fail("invalid_scope", "the scope must include openid".to_owned()));
        }
        Ok(scope)
    }

    /// The PKCE code challenge: required, S256, the shape of a base64url SHA-256.
    fn check_pkce(&self) -> Result<String, Refusal> {
        let code_challenge = self.get("code_challenge")?.ok_or_else(|| {
            self.fail(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256".to_owned(),
            )
        })?;
        if self.get("code_challenge_method")? != Some("S256") {
            return Err(self.fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)".to_owned(),
            ));
        }
        let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if code_challenge.len() != 43 || !code_challenge.chars().all(base64url) {
            return Err(self.fail(
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)"
                    .to_owned(),
            ));
        }
        Ok(code_challenge.to_owned())
    }

    /// The API asked for, if any, which must be one the tenant knows.
    fn check_audience(&self, tenant: &Tenant) -> Result<Option<String>, Refusal> {
        let audience = self.get("audience")?;
        if let Some(audience) = audience
            && !tenant.config.audiences.iter().any(|a| a == audience)
            && !(audience == linking::LINK_AUDIENCE && linking::asked_in(self.params))
        {
            return Err(self.fail(
                "access_denied",
                format!(
                    "Service not found: {audience} (register the API with \
                     DevTenant::builder().audience(…))"
                ),
            ));
        }
        Ok(audience.map(str::to_owned))
    }

    /// `prompt` (none, login; none alone) and `max_age`.
    fn check_prompt(&self) -> Result<Prompt, Refusal> {
        let mut prompt = Prompt::default();
        if let Some(values) = self.get("prompt")? {
            let values = parse_scope(values);
            if let Some(unknown) = values.iter().find(|v| !PROMPTS.contains(&v.as_str())) {
                return Err(self.fail(
                    "invalid_request",
                    format!("prompt {unknown:?} is not supported"),
                ));
            }
            prompt.none = has_scope(&values, "none");
            prompt.login = has_scope(&values, "login");
            if prompt.none && values.len() > 1 {
                return Err(self.fail(
                    "invalid_request",
                    "prompt=none cannot be combined with other values".to_owned(),
                ));
            }
        }
        if let Some(max_age) = self.get("max_age")? {
            prompt.max_age = Some(max_age.parse().map_err(|_| {
                self.fail(
                    "invalid_request",
                    "max_age must be a number of seconds".to_owned(),
                )
            })?);
        }
        Ok(prompt)
    }
}

/// Organizations and Rich Authorization Requests (`crate::extras`).
impl Checked<'_> {
    /// The organization asked for (its id or its name), which must be one the tenant has.
    fn check_organization(&self, tenant: &Tenant) -> Result<Option<DevOrganization>, Refusal> {
        let Some(asked) = self.get("organization")? else {
            return Ok(None);
        };
        match tenant.config.extras.organization(asked) {
            Some(organization) => Ok(Some(organization.clone())),
            None => Err(self.fail(
                "invalid_request",
                format!(
                    "parameter organization is invalid: no organization {asked:?} (add it with \
                     DevTenant::builder().organization(…))"
                ),
            )),
        }
    }

    /// The Rich Authorization Request's `authorization_details`, of registered types.
    fn check_authorization_details(&self, tenant: &Tenant) -> Result<Option<Value>, Refusal> {
        let Some(text) = self.get("authorization_details")? else {
            return Ok(None);
        };
        tenant
            .config
            .extras
            .authorization_details(text)
            .map(Some)
            .map_err(|description| self.fail("invalid_authorization_details", description))
    }
}

/// The refusal of a login to an organization the user is not a member of: `access_denied`,
/// with the description Auth0 sends.
fn not_a_member(request: &AuthRequest, user: &User) -> Option<Refusal> {
    let organization = request.organization.as_ref()?;
    if organization.admits(user) {
        return None;
    }
    tracing::info!(sub = %user.sub, org = %organization.id, "not a member of the organization");
    Some(Refusal::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: Some(request.state.clone()),
        error: "access_denied",
        description: format!(
            "user {} is not part of the {} organization",
            user.sub, organization.id
        ),
    })
}

/// Issues a code for a login (one use, [`CODE_LIFETIME`]).
fn issue_code(
    memory: &mut Memory,
    now: u64,
    request: AuthRequest,
    user: User,
    sid: String,
    auth_time: u64,
) -> String {
    let code = random_token();
    memory.codes.insert(
        hash(&code),
        PendingCode {
            request,
            user,
            sid,
            auth_time,
            expires_at: now.saturating_add(CODE_LIFETIME.as_secs()),
        },
    );
    code
}

fn login_form(
    tenant: &Tenant,
    status: StatusCode,
    interaction: &str,
    request: &AuthRequest,
    email: &str,
    name: &str,
    error: Option<&str>,
) -> Response {
    let action = tenant.url(LOGIN_FORM_PATH);
    pages::respond(
        status,
        pages::login(&LoginForm {
            action: &action,
            interaction,
            client_id: &tenant.config.client_id,
            redirect_uri: &request.redirect_uri,
            email,
            name,
            error,
        }),
    )
}

/// `GET /authorize`.
#[tracing::instrument(name = "dev_tenant.authorize", skip_all)]
pub(super) async fn authorize(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let params = super::par::resolve(&tenant, params);
    let (request, prompt) = match check_request(&tenant, &params) {
        Ok(checked) => checked,
        Err(refusal) => return refusal.respond(&tenant, StatusCode::FOUND),
    };
    if linking::asked(&request.scope) {
        return linking::authorize(&tenant, &headers, &params, request);
    }
    let now = tenant.now();
    let mut memory = tenant.memory();
    let session = cookie(&headers, &tenant.cookie_name)
        .and_then(|c| memory.session(&c, now))
        .cloned();
    if let Some(session) = &session {
        let fresh_enough = prompt
            .max_age
            .is_none_or(|max_age| session.auth_time.saturating_add(max_age) >= now);
        if !prompt.login && fresh_enough {
            if let Some(refusal) = not_a_member(&request, &session.user) {
                drop(memory);
                return refusal.respond(&tenant, StatusCode::FOUND);
            }
            tracing::info!(sub = %session.user.sub, "single sign-on: the provider session is reused");
            let code = issue_code(
                &mut memory,
                now,
                request.clone(),
                session.user.clone(),
                session.sid.clone(),
                session.auth_time,
            );
            return redirect(StatusCode::FOUND, &success_url(&tenant, &request, &code));
        }
    }
    if prompt.none {
        drop(memory);
        return Refusal::Redirect {
            redirect_uri: request.redirect_uri,
            state: Some(request.state),
            error: "login_required",
            description: "prompt=none, and there is no provider session".to_owned(),
        }
        .respond(&tenant, StatusCode::FOUND);
    }
    let interaction = random_token();
    let email = request
        .login_hint
        .clone()
        .or_else(|| session.as_ref().map(|s| s.user.email.clone()))
        .unwrap_or_default();
    memory.interactions.insert(
        interaction.clone(),
        Interaction {
            request: request.clone(),
            expires_at: now.saturating_add(LOGIN_FORM_LIFETIME.as_secs()),
        },
    );
    drop(memory);
    login_form(
        &tenant,
        StatusCode::OK,
        &interaction,
        &request,
        &email,
        "",
        None,
    )
}

/// Checks the form's e-mail address: one `@` between a local part and a domain, no spaces.
fn check_email(email: &str) -> Result<(), &'static str> {
    let ok_chars = !email.chars().any(|c| c.is_whitespace() || c.is_control());
    match email.split_once('@') {
        Some((local, domain))
            if ok_chars
                && !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && email.len() <= MAX_EMAIL_LEN =>
        {
            Ok(())
        }
        _ => Err("Enter an e-mail address, like ada@example.com."),
    }
}

fn check_name(name: &str) -> Result<(), &'static str> {
    if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err("Enter a name of at most 100 characters, or none.");
    }
    Ok(())
}

fn tenant_session_cookie(tenant: &Tenant, value: &str) -> Option<HeaderValue> {
    session_cookie(
        &tenant.cookie_name,
        value,
        Some(tenant.config.session_lifetime),
    )
}

/// `POST /u/login`: the login form's answer.
#[tracing::instrument(name = "dev_tenant.login", skip_all)]
pub(super) async fn submit_login(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let expired = || {
        pages::respond(
            StatusCode::BAD_REQUEST,
            pages::error(
                "Login expired",
                "This login form is no longer valid: it expired, was already used, or the dev \
                 tenant restarted.",
                "Go back to the application and log in again.",
            ),
        )
    };
    let Ok(Some(interaction_id)) = params.get("interaction") else {
        return expired();
    };
    let now = tenant.now();
    let mut memory = tenant.memory();
    let Some(request) = memory
        .interactions
        .get(interaction_id)
        .map(|i| i.request.clone())
    else {
        return expired();
    };
    match params.get("action") {
        Ok(Some("cancel")) => {
            memory.interactions.remove(interaction_id);
            drop(memory);
            return Refusal::Redirect {
                redirect_uri: request.redirect_uri,
                state: Some(request.state),
                error: "access_denied",
                description: "The user cancelled the login".to_owned(),
            }
            .respond(&tenant, StatusCode::SEE_OTHER);
        }
        Ok(Some("login") | None) => {}
        _ => {
            return pages::respond(
                StatusCode::BAD_REQUEST,
                pages::error(
                    "Invalid form",
                    "The login form was sent with an unknown action.",
                    "Go back to the application and log in again.",
                ),
            );
        }
    }
    let email = params
        .get("email")
        .ok()
        .flatten()
        .unwrap_or_default()
        .trim();
    let name = params.get("name").ok().flatten().unwrap_or_default().trim();
    if let Err(problem) = check_email(email).and_then(|()| check_name(name)) {
        drop(memory);
        return login_form(
            &tenant,
            StatusCode::BAD_REQUEST,
            interaction_id,
            &request,
            email,
            name,
            Some(problem),
        );
    }
    memory.interactions.remove(interaction_id);
    let user = User::new(email, Some(name));
    if let Some(refusal) = not_a_member(&request, &user) {
        drop(memory);
        return refusal.respond(&tenant, StatusCode::SEE_OTHER);
    }
    // A new login is a new provider session; the browser's old one ends.
    if let Some(old) = cookie(&headers, &tenant.cookie_name) {
        memory.sessions.remove(&hash(&old));
    }
    let cookie_value = random_token();
    let sid = random_token();
    memory.sessions.insert(
        hash(&cookie_value),
        Session {
            sid: sid.clone(),
            user: user.clone(),
            auth_time: now,
            expires_at: now.saturating_add(tenant.config.session_lifetime.as_secs()),
        },
    );
    tracing::info!(sub = %user.sub, "login through the form");
    let code = issue_code(&mut memory, now, request.clone(), user, sid, now);
    drop(memory);
    let mut response = redirect(
        StatusCode::SEE_OTHER,
        &success_url(&tenant, &request, &code),
    );
    if let Some(value) = tenant_session_cookie(&tenant, &cookie_value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_need_one_at_and_no_spaces() {
        for ok in ["ada@example.com", "a@b", "first.last+tag@sub.example.org"] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(check_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
