//! Logout: Auth0's `GET /v2/logout?client_id&returnTo` and OIDC RP-initiated logout at
//! `/oidc/logout` (the `end_session_endpoint`). Both end the provider session, POST a logout
//! token to each back-channel logout URI (OIDC Back-Channel Logout 1.0), and send the
//! browser back only to an allowed URL (else they show a page).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tracing::Instrument as _;
use url::Url;

use super::{Params, Shared, cookie, redirect, session_cookie};
use crate::memory::{Session, hash};
use crate::mint;
use crate::pages;
use crate::server::Tenant;

/// A provider session that ended: whom the back-channel logout tokens are about.
#[derive(Debug, PartialEq, Eq)]
struct Ended {
    sid: String,
    sub: String,
}

impl From<Session> for Ended {
    fn from(session: Session) -> Self {
        Self {
            sid: session.sid,
            sub: session.user.sub,
        }
    }
}

fn bad_request(title: &str, what: &str, fix: &str) -> Response {
    pages::respond(StatusCode::BAD_REQUEST, pages::error(title, what, fix))
}

fn repeated(name: &str) -> Response {
    bad_request(
        "Invalid logout request",
        &format!("The parameter {name} was sent more than once."),
        "Log out again from the application.",
    )
}

fn unknown_client(tenant: &Tenant, client_id: &str) -> Response {
    bad_request(
        "Unknown application",
        &format!(
            "No application with the client id {client_id:?} is registered at this dev tenant."
        ),
        &format!(
            "Its one application has the client id {:?}: set AUTH0_CLIENT_ID to it.",
            tenant.config.client_id
        ),
    )
}

/// Ends the browser's provider session (by its cookie) and those with `sid`.
fn end_sessions(tenant: &Tenant, headers: &HeaderMap, sid: Option<&str>) -> Vec<Ended> {
    let mut memory = tenant.memory();
    let mut ended: Vec<Ended> = Vec::new();
    if let Some(value) = cookie(headers, &tenant.cookie_name)
        && let Some(session) = memory.sessions.remove(&hash(&value))
    {
        ended.push(session.into());
    }
    if let Some(sid) = sid {
        ended.extend(memory.end_sessions_by_sid(sid).into_iter().map(Ended::from));
    }
    ended
}

/// POSTs a logout token for each ended session to each back-channel logout URI, and waits
/// for the answers (so that when the browser arrives back at the app, the app knows).
async fn send_backchannel_logout(tenant: &Tenant, ended: &[Ended]) {
    for Ended { sid, sub } in ended {
        let token = match mint::logout_token(tenant, sid, sub) {
            Ok(token) => token,
            Err(e) => {
                tracing::error!(error = %e, "a logout token could not be signed");
                continue;
            }
        };
        for uri in &tenant.config.backchannel_logout_uris {
            let span = tracing::info_span!("dev_tenant.backchannel_logout", %uri);
            async {
                let sent = tenant
                    .http
                    .post(uri.clone())
                    .form(&[("logout_token", token.as_str())])
                    .send()
                    .await;
                match sent {
                    Ok(answer) if answer.status().is_success() => {
                        tracing::info!(status = answer.status().as_u16(), "logout token delivered");
                    }
                    Ok(answer) => tracing::warn!(
                        status = answer.status().as_u16(),
                        "the app refused the logout token"
                    ),
                    Err(e) => tracing::warn!(error = %e, "the logout token could not be delivered"),
                }
            }
            .instrument(span)
            .await;
        }
    }
}

/// The end of a logout: back to `return_to` if it is allowed, else a page; the provider
/// session cookie cleared either way.
fn finish(tenant: &Tenant, return_to: Option<&str>, state: Option<&str>) -> Response {
    let mut response = match return_to {
        Some(uri) if tenant.config.logout_uris.allows(uri) => {
            let target = match (Url::parse(uri), state) {
                (Ok(mut url), Some(state)) => {
                    url.query_pairs_mut().append_pair("state", state);
                    url.to_string()
                }
                _ => uri.to_owned(),
            };
            redirect(StatusCode::FOUND, &target)
        }
        Some(uri) => {
            tracing::info!(return_to = %uri, "logout: the return URL is not allowed");
            pages::respond(StatusCode::OK, pages::logged_out(Some(uri)))
        }
        None => pages::respond(StatusCode::OK, pages::logged_out(None)),
    };
    if let Some(clear) = session_cookie(&tenant.cookie_name, "", None) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// `GET /v2/logout?client_id&returnTo`: Auth0's logout endpoint.
#[tracing::instrument(name = "dev_tenant.logout", skip_all)]
pub(super) async fn v2_logout(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let (client_id, return_to) = match (params.get("client_id"), params.get("returnTo")) {
        (Ok(client_id), Ok(return_to)) => (client_id, return_to),
        (Err(e), _) | (_, Err(e)) => return repeated(e.0),
    };
    if let Some(client_id) = client_id
        && client_id != tenant.config.client_id
    {
        return unknown_client(&tenant, client_id);
    }
    let ended = end_sessions(&tenant, &headers, None);
    tracing::info!(sessions = ended.len(), "logout");
    send_backchannel_logout(&tenant, &ended).await;
    finish(&tenant, return_to, None)
}

/// `GET /oidc/logout`: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
#[tracing::instrument(name = "dev_tenant.end_session", skip_all)]
pub(super) async fn end_session(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    end_session_with(&tenant, &headers, &params).await
}

/// `POST /oidc/logout`: the same, with the parameters in a form.
#[tracing::instrument(name = "dev_tenant.end_session", skip_all)]
pub(super) async fn end_session_form(
    State(tenant): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    end_session_with(&tenant, &headers, &params).await
}

/// The `sid` and `sub` of an ID token this tenant issued to its client (expired ones too:
/// a hint may be old).
pub(super) fn check_hint(
    tenant: &Tenant,
    hint: &str,
) -> Result<(Option<String>, Option<String>), &'static str> {
    let claims = tenant
        .key
        .verify(hint)
        .map_err(|_| "it is not an ID token signed by this dev tenant (it may have restarted)")?;
    if claims.get("iss").and_then(Value::as_str) != Some(tenant.issuer.as_str()) {
        return Err("it was issued by another issuer");
    }
    let for_client = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == tenant.config.client_id,
        Some(Value::Array(list)) => list
            .iter()
            .any(|a| a.as_str() == Some(tenant.config.client_id.as_str())),
        _ => false,
    };
    if !for_client {
        return Err("it was not issued to this dev tenant's application");
    }
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok((text("sid"), text("sub")))
}

async fn end_session_with(tenant: &Tenant, headers: &HeaderMap, params: &Params) -> Response {
    let get = |name| params.get(name);
    let (hint, return_to, client_id, state) = match (
        get("id_token_hint"),
        get("post_logout_redirect_uri"),
        get("client_id"),
        get("state"),
    ) {
        (Ok(hint), Ok(return_to), Ok(client_id), Ok(state)) => (hint, return_to, client_id, state),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return repeated(e.0),
    };
    if let Some(client_id) = client_id
        && client_id != tenant.config.client_id
    {
        return unknown_client(tenant, client_id);
    }
    let (hint_sid, hint_sub) = match hint.map(|h| check_hint(tenant, h)).transpose() {
        Ok(found) => found.unwrap_or_default(),
        Err(why) => {
            return bad_request(
                "Invalid logout request",
                &format!("The id_token_hint is not usable: {why}."),
                "Log out again from the application, or log in again first.",
            );
        }
    };
    if return_to.is_some() && hint.is_none() && client_id.is_none() {
        return bad_request(
            "Invalid logout request",
            "A post_logout_redirect_uri needs a client_id or an id_token_hint to say whose it is.",
            "Send client_id with it.",
        );
    }
    let mut ended = end_sessions(tenant, headers, hint_sid.as_deref());
    // The hint's session may have ended at the provider already (expired, or logged out
    // elsewhere) while the app still has sessions tied to it: tell the app anyway.
    if let (Some(sid), Some(sub)) = (hint_sid, hint_sub)
        && !ended.iter().any(|e| e.sid == sid)
    {
        ended.push(Ended { sid, sub });
    }
    tracing::info!(sessions = ended.len(), "RP-initiated logout");
    send_backchannel_logout(tenant, &ended).await;
    finish(tenant, return_to, state)
}
