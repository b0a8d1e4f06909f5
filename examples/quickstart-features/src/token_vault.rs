//! Token Vault: an access token for the user's account at an upstream connection (Google,
//! GitHub…), got by exchanging the session's refresh token and kept in the session. The page
//! shows that the app has one (its connection, scopes, expiry and a short fingerprint), never
//! the token itself. The connection is `AUTH0_TOKEN_VAULT_CONNECTION`, else the dev tenant's
//! `dev-connection`.

use std::sync::Arc;

use auth0_axum::{Auth, AuthError, User};
use auth0_server::client::ConnectionTokenOptions;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use super::fingerprint;
use crate::App;

/// The connection the page asks a token for.
fn connection() -> String {
    super::setting(
        "AUTH0_TOKEN_VAULT_CONNECTION",
        auth0_dev_tenant::DEV_CONNECTION,
    )
}

/// `GET /token-vault` (logged in): the connection token's facts.
pub(crate) async fn page(
    State(app): State<Arc<App>>,
    User(_): User,
    auth: Auth,
) -> Result<Response, AuthError> {
    #[derive(Serialize)]
    struct Vault {
        connection: String,
        scope: String,
        expires: u64,
        fingerprint: String,
    }
    let options = ConnectionTokenOptions::new(connection());
    let token = auth
        .client()
        .get_access_token_for_connection(options, auth.context())
        .await?;
    let vault = Vault {
        fingerprint: fingerprint(&token.token),
        scope: token.scope.unwrap_or_default(),
        expires: token.expires_at,
        connection: token.connection,
    };
    Ok(super::render(
        &app,
        "token_vault.html",
        "Token Vault",
        true,
        vault,
    ))
}
