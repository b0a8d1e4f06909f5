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
use url::Url;

use super::{LOGIN_FORM_PATH, Params, Shared, cookie, redirect, session_cookie};
use crate::config::{AllowedUris, CODE_LIFETIME, LOGIN_FORM_LIFETIME};
use crate::memory::{
    AuthRequest, Interaction, Memory, PendingCode, Session, User, has_scope, hash, parse_scope,
    random_token,
};
use crate::pages::{self, LoginForm};
use crate::server::Tenant;

/// The `prompt` values understood (OIDC Core §3.1.2.1).
const PROMPTS: &[&str] = &["none", "login", "consent", "select_account"];
/// The longest e-mail address accepted (RFC 5321's path limit).
const MAX_EMAIL_LEN: usize = 254;
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

/// Checks the authorization request.
fn check_request(tenant: &Tenant, params: &Params) -> Result<(AuthRequest, Prompt), Refusal> {
    let config = &tenant.config;
    let client_id = params
        .get("client_id")
        .map_err(|_| {
            Refusal::page(
                "Invalid request",
                "client_id was sent more than once.",
                "Start the login again from the application.",
            )
        })?
        .ok_or_else(|| {
            Refusal::page(
                "Missing client_id",
                "The authorization request has no client_id.",
                format!("Send the application's client id, {:?}.", config.client_id),
            )
        })?;
    if client_id != config.client_id {
        return Err(Refusal::page(
            "Unknown application",
            format!(
                "No application with the client id {client_id:?} is registered at this dev tenant."
            ),
            format!(
                "Its one application has the client id {:?}: set AUTH0_CLIENT_ID to it.",
                config.client_id
            ),
        ));
    }
    let redirect_uri = params
        .get("redirect_uri")
        .map_err(|_| {
            Refusal::page(
                "Invalid request",
                "redirect_uri was sent more than once.",
                "Start the login again from the application.",
            )
        })?
        .ok_or_else(|| {
            Refusal::page(
                "Missing redirect_uri",
                "The authorization request has no redirect_uri.",
                "Send the application's callback URL as redirect_uri.",
            )
        })?;
    if !config.redirect_uris.allows(redirect_uri) {
        let fix = match &config.redirect_uris {
            AllowedUris::AnyLoopback => {
                "This dev tenant allows callback URLs on this machine only \
                (http://localhost…, http://127.0.0.1…, http://[::1]…), without a #fragment."
                    .to_owned()
            }
            AllowedUris::Only(list) => format!(
                "The allowed callback URLs are: {}. Add this one with \
                 DevTenant::builder().redirect_uri(…), or set AUTH0_REDIRECT_URI to an allowed one.",
                list.iter().map(Url::as_str).collect::<Vec<_>>().join(", ")
            ),
        };
        return Err(Refusal::page(
            "Callback URL mismatch",
            format!("{redirect_uri} is not an allowed callback URL of this dev tenant."),
            fix,
        ));
    }
    let redirect_uri = redirect_uri.to_owned();

    // From here on, errors go to the redirect URI.
    let state = params.get("state").ok().flatten().map(str::to_owned);
    let fail = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error,
        description,
    };
    let get = |name: &'static str| {
        params.get(name).map_err(|_| {
            fail(
                "invalid_request",
                format!("the parameter {name} was sent more than once"),
            )
        })
    };
    get("state")?;
    if get("response_mode")?.is_some_and(|mode| mode != "query") {
        return Err(fail(
            "invalid_request",
            "this dev tenant only answers with response_mode=query".to_owned(),
        ));
    }
    if get("request")?.is_some() {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported by this dev tenant".to_owned(),
        ));
    }
    if get("request_uri")?.is_some() {
        return Err(fail(
            "request_uri_not_supported",
            "request_uri is not supported by this dev tenant (no pushed authorization requests)"
                .to_owned(),
        ));
    }
    match get("response_type")? {
        Some("code") => {}
        Some(other) => {
            return Err(fail(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported: use code"),
            ));
        }
        None => {
            return Err(fail(
                "invalid_request",
                "response_type is required (code)".to_owned(),
            ));
        }
    }
    let scope = parse_scope(get("scope")?.unwrap_or_default());
    if !has_scope(&scope, "openid") {
        return Err(fail(
            "invalid_scope",
            "the scope must include openid".to_owned(),
        ));
    }
    let Some(state) = state.clone() else {
        return Err(fail(
            "invalid_request",
            "state is required by this dev tenant".to_owned(),
        ));
    };
    let nonce = get("nonce")?
        .ok_or_else(|| {
            fail(
                "invalid_request",
                "nonce is required by this dev tenant".to_owned(),
            )
        })?
        .to_owned();
    let code_challenge = get("code_challenge")?
        .ok_or_else(|| {
            fail(
                "invalid_request",
                "PKCE is required: send code_challenge with code_challenge_method=S256".to_owned(),
            )
        })?
        .to_owned();
    if get("code_challenge_method")? != Some("S256") {
        return Err(fail(
            "invalid_request",
            "code_challenge_method must be S256 (plain is not accepted)".to_owned(),
        ));
    }
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if code_challenge.len() != 43 || !code_challenge.chars().all(base64url) {
        return Err(fail(
            "invalid_request",
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)"
                .to_owned(),
        ));
    }
    let audience = get("audience")?.map(str::to_owned);
    if let Some(audience) = &audience
        && !config.audiences.iter().any(|a| a == audience)
    {
        return Err(fail(
            "access_denied",
            format!(
                "Service not found: {audience} (register the API with \
                 DevTenant::builder().audience(…))"
            ),
        ));
    }
    let mut prompt = Prompt::default();
    if let Some(values) = get("prompt")? {
        let values = parse_scope(values);
        if let Some(unknown) = values.iter().find(|v| !PROMPTS.contains(&v.as_str())) {
            return Err(fail(
                "invalid_request",
                format!("prompt {unknown:?} is not supported"),
            ));
        }
        prompt.none = has_scope(&values, "none");
        prompt.login = has_scope(&values, "login");
        if prompt.none && values.len() > 1 {
            return Err(fail(
                "invalid_request",
                "prompt=none cannot be combined with other values".to_owned(),
            ));
        }
    }
    if let Some(max_age) = get("max_age")? {
        prompt.max_age = Some(max_age.parse().map_err(|_| {
            fail(
                "invalid_request",
                "max_age must be a number of seconds".to_owned(),
            )
        })?);
    }
    let login_hint = get("login_hint")?.map(str::to_owned);
    Ok((
        AuthRequest {
            redirect_uri,
            state,
            nonce,
            code_challenge,
            scope,
            audience,
            login_hint,
        },
        prompt,
    ))
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
    let (request, prompt) = match check_request(&tenant, &params) {
        Ok(checked) => checked,
        Err(refusal) => return refusal.respond(&tenant, StatusCode::FOUND),
    };
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
