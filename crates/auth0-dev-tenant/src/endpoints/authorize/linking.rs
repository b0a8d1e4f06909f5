//! Account linking at `/authorize`, as Auth0's account-linking Action answers the Python
//! SDK's `start_link_user` / `start_unlink_user`: the scope `link_account` (or
//! `unlink_account`), the audience `my-account`, an `id_token_hint` this tenant issued to
//! its application, and `requested_connection`. The browser must have a provider session
//! as the hint's user (else `login_required`). The account at the requested connection is
//! made up and linked at once (no second login), or unlinked (`access_denied` when it is
//! not linked); the callback then gets a code like a login's.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::super::{Params, cookie, logout, redirect};
use super::{Refusal, issue_code, success_url};
use crate::linked::{LinkedIdentity, PRIMARY_CONNECTION};
use crate::memory::{AuthRequest, Session, has_scope, parse_scope};
use crate::server::Tenant;

/// The scope of a link request.
pub(super) const LINK_SCOPE: &str = "link_account";
/// The scope of an unlink request.
pub(super) const UNLINK_SCOPE: &str = "unlink_account";
/// The audience link requests ask for (Auth0's My Account API, as the Python SDK names it).
pub(super) const LINK_AUDIENCE: &str = "my-account";
/// The longest connection name accepted.
const MAX_CONNECTION_LEN: usize = 128;

/// Whether a request's scope asks to link or unlink an account.
pub(super) fn asked(scope: &[String]) -> bool {
    has_scope(scope, LINK_SCOPE) || has_scope(scope, UNLINK_SCOPE)
}

/// Whether the raw parameters ask to link or unlink (for the audience check, which runs
/// before the scope is kept).
pub(super) fn asked_in(params: &Params) -> bool {
    let scope = params.get("scope").ok().flatten().unwrap_or_default();
    asked(&parse_scope(scope))
}

/// Answers a checked link or unlink request: a code for the hint's user, or a refusal.
pub(super) fn authorize(
    tenant: &Tenant,
    headers: &HeaderMap,
    params: &Params,
    request: AuthRequest,
) -> Response {
    let session = match link(tenant, headers, params, &request) {
        Ok(session) => session,
        Err(refusal) => return refusal.respond(tenant, StatusCode::FOUND),
    };
    let now = tenant.now();
    let mut memory = tenant.memory();
    let code = issue_code(
        &mut memory,
        now,
        request.clone(),
        session.user,
        session.sid,
        session.auth_time,
    );
    drop(memory);
    redirect(StatusCode::FOUND, &success_url(tenant, &request, &code))
}

/// Checks the hint, the browser's session and the connection, then links or unlinks;
/// returns the provider session the code is issued for.
fn link(
    tenant: &Tenant,
    headers: &HeaderMap,
    params: &Params,
    request: &AuthRequest,
) -> Result<Session, Refusal> {
    let fail = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: Some(request.state.clone()),
        error,
        description,
    };
    let linking = has_scope(&request.scope, LINK_SCOPE);
    if linking && has_scope(&request.scope, UNLINK_SCOPE) {
        return Err(fail(
            "invalid_scope",
            "ask for link_account or unlink_account, not both".to_owned(),
        ));
    }
    let get = |name| {
        params
            .get(name)
            .ok()
            .flatten()
            .ok_or_else(|| fail("invalid_request", format!("{name} is required (once)")))
    };
    let hint = get("id_token_hint")?;
    let connection = get("requested_connection")?;
    let sub = match logout::check_hint(tenant, hint) {
        Ok((_, Some(sub))) => sub,
        Ok((_, None)) => {
            return Err(fail(
                "invalid_request",
                "the id_token_hint has no sub".into(),
            ));
        }
        Err(why) => {
            return Err(fail(
                "invalid_request",
                format!("the id_token_hint is not usable: {why}"),
            ));
        }
    };
    check_connection(connection, &sub).map_err(|d| fail("invalid_request", d))?;
    let now = tenant.now();
    let session = cookie(headers, &tenant.cookie_name)
        .and_then(|c| tenant.memory().session(&c, now).cloned())
        .filter(|s| s.user.sub == sub)
        .ok_or_else(|| {
            fail(
                "login_required",
                "log in as the user the id_token_hint names before linking accounts".into(),
            )
        })?;
    change_links(tenant, &sub, connection, linking).map_err(|d| fail("access_denied", d))?;
    Ok(session)
}

/// A connection name (letters, digits, `-_.`), not the user's own connection.
fn check_connection(connection: &str, sub: &str) -> Result<(), String> {
    let valid = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    if connection.len() > MAX_CONNECTION_LEN || !connection.chars().all(valid) {
        return Err("requested_connection is not a connection name".to_owned());
    }
    if connection == PRIMARY_CONNECTION || sub.starts_with(&format!("{connection}|")) {
        return Err(format!("{connection} is the user's own connection"));
    }
    Ok(())
}

/// Links (idempotently) or unlinks the account at `connection` for `sub`.
fn change_links(tenant: &Tenant, sub: &str, connection: &str, link: bool) -> Result<(), String> {
    let mut linked = tenant.linked();
    let accounts = linked.entry(sub.to_owned()).or_default();
    let known = accounts.iter().position(|a| a.connection == connection);
    match (link, known) {
        (true, Some(_)) => {}
        (true, None) => accounts.push(LinkedIdentity::new(sub, connection)),
        (false, Some(index)) => {
            accounts.remove(index);
        }
        (false, None) => {
            return Err(format!(
                "user {sub} does not have profile against connection: {connection}"
            ));
        }
    }
    tracing::info!(%sub, connection, link, "account linking");
    Ok(())
}
