//! [`SameOriginPost`]: the guard for an app's own state-changing form posts.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::Auth;
use crate::initiator::same_origin_post;
use crate::routes::app_origin;

/// Proof that this request was sent by a page of this very origin: take it as an argument
/// of every handler that changes state on a form `POST` (a login, an enrollment, a
/// revocation), before the body extractor. Otherwise the request is refused with 403: a
/// form posted from another site could log the visitor in to the attacker's account.
///
/// The check is stricter than logout's (see the crate docs): `Sec-Fetch-Site` must be
/// `same-origin` (`same-site` and `none` are refused: a sibling subdomain is another
/// site's page); without it, `Origin` must be exactly this site's origin (scheme, host and
/// port of the redirect URI its logins come back to, per site under a domain resolver;
/// never the `Host` header, which DNS rebinding gives the attacker). A header sent twice,
/// `Origin: null`, or neither header: refused. Needs [`crate::Auth0::layer`].
///
/// ```no_run
/// use auth0_axum::{Auth, SameOriginPost, User};
/// use axum::response::Redirect;
///
/// async fn enroll(_: SameOriginPost, User(_): User, auth: Auth) -> Redirect {
///     // … change something for this user …
///     Redirect::to("/profile")
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SameOriginPost {
    _proof: (),
}

impl<S: Send + Sync> FromRequestParts<S> for SameOriginPost {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        let origin = app_origin(&auth).await?;
        match same_origin_post(&parts.headers, &origin) {
            Ok(evidence) => {
                tracing::debug!(evidence, "a form post from this app");
                Ok(Self { _proof: () })
            }
            Err(why) => {
                tracing::warn!(why, "a form post not from this app's own page: refused");
                Err(refused())
            }
        }
    }
}

/// The 403 answer: what happened and what to do.
fn refused() -> Response {
    let message = "This form must be sent from this app's own page: go back to it, reload \
                   it and try again.";
    (StatusCode::FORBIDDEN, message).into_response()
}
