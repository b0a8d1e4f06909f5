//! A local OpenID provider for developing and testing [auth0-server] apps on a machine with
//! no Auth0 account. **It is not Auth0 and not a production provider**: it listens on
//! loopback only, keeps everything in memory, and logs in anyone who types an e-mail address.
//!
//! ```
//! use auth0_dev_tenant::DevTenant;
//! use auth0_server_core::client::StartLoginOptions;
//! use auth0_server_core::store::StoreContext;
//! use auth0_store_memory::{MemoryBackend, MemoryTransactionBackend};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tenant = DevTenant::builder()
//!     .redirect_uri("http://localhost:5000/callback")
//!     .audience("https://api.example.com")
//!     .start()
//!     .await?;
//!
//! // The app is configured with the tenant's domain, client id and secret, as with Auth0
//! // (`client_builder` fills them in), and keeps its sessions where it likes.
//! let client = tenant
//!     .client_builder()
//!     .secret("a-secret-of-at-least-thirty-two-bytes")
//!     .session_backend(MemoryBackend::new())
//!     .transaction_backend(MemoryTransactionBackend::new())
//!     .build()?;
//!
//! // The browser goes to the tenant's login form, and comes back to the callback.
//! let login = client.start_interactive_login(StartLoginOptions::default(), &StoreContext::new()).await?;
//! assert!(login.as_str().starts_with(&format!("{}authorize?", tenant.issuer())));
//! tenant.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # What it does
//!
//! - **Discovery and keys**: `/.well-known/openid-configuration` and
//!   `/.well-known/jwks.json`; an RSA key made at start signs every token (RS256, with a
//!   `kid`).
//! - **Login**: `GET /authorize` checks the request (the client id, the redirect URI, `code`,
//!   PKCE with S256, `state`, `nonce`, `openid`, a registered `audience`) and shows a login
//!   form: any e-mail address, an optional name, and "Cancel" (which answers
//!   `access_denied`). The callback gets `code`, `state` and `iss` (RFC 9207). A request with
//!   an unknown client id or redirect URI gets an error page, never a redirect. A provider
//!   session cookie makes the next login in the same browser skip the form (single sign-on);
//!   `prompt=login` shows it anyway, `prompt=none` answers `login_required` without one.
//! - **Tokens**: `POST /oauth/token` with `client_secret_basic` or `client_secret_post`;
//!   the code is one-use (a second use revokes what the first gave), bound to the redirect
//!   URI and the PKCE challenge, and lives [`CODE_LIFETIME`]. The ID token has `iss`, `aud`,
//!   `sub`, `iat`, `exp`, `auth_time`, `sid`, the `nonce` (code exchange only) and the profile
//!   claims of the scope. The access token is a JWT for the requested API (`audience`), else an
//!   opaque string. A refresh token comes with `offline_access`; it rotates at each use, and a
//!   used one sent again revokes the whole grant (reuse detection, as Auth0's rotation does),
//!   unless rotation is off ([`DevTenantBuilder::refresh_token_rotation`], as Auth0 requires
//!   for Token Vault).
//! - **Pushed authorization requests** (RFC 9126): `POST /oauth/par`, authenticated as at
//!   the token endpoint, answers a `request_uri` that stands for the pushed parameters at
//!   `/authorize` once, for 60 seconds, with the same `client_id`.
//! - **Revocation** (RFC 7009): `POST /oauth/revoke`, authenticated as at the token endpoint,
//!   ends a refresh token's grant; an unknown token is answered 200 too.
//! - **CIBA** (poll mode, as Auth0's): `POST /bc-authorize` with Auth0's `login_hint`
//!   (`{"format":"iss_sub","iss":…,"sub":…}`; the user must be known here: logged in once,
//!   or named by [`DevTenant::user_id`]), then the `urn:openid:params:grant-type:ciba` grant,
//!   honouring the interval ([`DEFAULT_BACKCHANNEL_POLL_INTERVAL`]; `slow_down` adds 5 s) and
//!   `requested_expiry` (at most [`BACKCHANNEL_REQUEST_LIFETIME`]). The user's device is the
//!   app's code: [`DevTenant::backchannel_requests`] and
//!   [`DevTenant::answer_backchannel_request`].
//! - **Account linking** at `/authorize` (`link_account` / `unlink_account`, `audience=my-account`,
//!   an `id_token_hint` of this tenant and `requested_connection`, for the browser's provider
//!   session as the hint's user): the requested connection's account is made up and linked
//!   at once, and shows in an `identities` claim of the user's ID tokens and `/userinfo`.
//! - **Passwordless**: `POST /passwordless/start` (JSON, the client authenticated; e-mail or
//!   SMS code, or an e-mail magic link) and the passwordless OTP grant; a code lives
//!   [`PASSWORDLESS_CODE_LIFETIME`], is used once and ends after [`MAX_OTP_ATTEMPTS`] wrong
//!   tries. Nothing is mailed: [`DevTenant::passwordless_code`] and
//!   [`DevTenant::passwordless_link`] read what was "sent".
//! - **`/userinfo`** for a Bearer access token.
//! - **Logout**: Auth0's `/v2/logout?client_id&returnTo` and `/oidc/logout` (the
//!   `end_session_endpoint`, with `id_token_hint`, `post_logout_redirect_uri`, `client_id`,
//!   `state`). Both end the provider session, POST a logout token to each back-channel logout
//!   URI (and wait for the answer), then send the browser back only to an allowed URL.
//!
//! - **Organizations, Rich Authorization Requests, MFA step-up**, each off until configured:
//!   [`DevTenantBuilder::organization`] ([`DevOrganization`]: `org_id` and `org_name` in the
//!   tokens of a member's login, `access_denied` for anyone else, as Auth0 answers),
//!   [`DevTenantBuilder::authorization_details_type`] (`authorization_details` of that type
//!   granted as asked and answered by the token endpoint), and
//!   [`DevTenantBuilder::require_mfa_for_audience`] (refreshes for that API answered
//!   `mfa_required` with an `mfa_token` and `mfa_requirements`), or
//!   [`DevTenantBuilder::require_mfa_for_user`] (all of that user's refreshes).
//! - **The MFA API** (Auth0's): `GET /mfa/authenticators`, `POST /mfa/associate` (OTP, SMS,
//!   voice, e-mail; the first enrollment also gives a recovery code), `POST /mfa/challenge`,
//!   `DELETE /mfa/authenticators/{id}`, and the `mfa-otp`, `mfa-oob` and `mfa-recovery-code`
//!   grants. Codes are dev codes: an OTP is [`dev_otp`] (not RFC 6238;
//!   [`DevTenant::mfa_otp`]), and messages are not sent: [`DevTenant::mfa_binding_code`]
//!   reads the binding code "sent" to a phone number or address.
//!
//! # Limits
//!
//! One application (client); no passwords, consent screens, MFA at login (only refreshes ask
//! for it), push (Guardian) or WebAuthn factors, organization invitations or pushed authorization requests; state is lost when the process stops, and a new signing key is
//! made at each start (sessions of the app survive, but their ID tokens no longer verify as
//! `id_token_hint`). A used refresh token is never accepted again, even a second later (Auth0
//! can allow a reuse interval). There are no other connections: a linked account is made
//! up, with no second login, and no e-mail or SMS is sent (the app reads the code or link).
//!
//! [auth0-server]: https://docs.rs/auth0-server
// Library code never unwraps; tests may (clippy.toml allows it there).
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod client_key;
mod config;
mod endpoints;
mod error;
mod extras;
mod keys;
mod linked;
mod memory;
mod mint;
mod pages;
mod server;
mod vault;

pub use client_key::CLIENT_ASSERTION_ALGORITHMS;
pub use config::{
    AllowedUris, BACKCHANNEL_LOGOUT_TIMEOUT, BACKCHANNEL_REQUEST_LIFETIME, CODE_LIFETIME,
    DEFAULT_ACCESS_TOKEN_LIFETIME, DEFAULT_BACKCHANNEL_POLL_INTERVAL, DEFAULT_BIND_ADDRESS,
    DEFAULT_CLIENT_ID, DEFAULT_ID_TOKEN_LIFETIME, DEFAULT_REFRESH_TOKEN_LIFETIME,
    DEFAULT_SESSION_LIFETIME, DevTenantBuilder, DevTenantConfig, LOGIN_FORM_LIFETIME,
    LOGOUT_TOKEN_LIFETIME, MAX_LIFETIME,
};
pub use endpoints::ciba::PendingBackchannelRequest;
pub use endpoints::mfa::{
    MAX_MFA_ATTEMPTS, MAX_MFA_TOKENS_PER_USER, MAX_OUTBOX, MFA_ATTEMPT_WINDOW, MFA_TOKEN_LIFETIME,
    OOB_CODE_LIFETIME, OTP_STEP, dev_otp,
};
pub use endpoints::passwordless::{MAX_OTP_ATTEMPTS, PASSWORDLESS_CODE_LIFETIME};
pub use endpoints::{LOGIN_FORM_PATH, MAX_CLIENT_ASSERTION_LIFETIME};
pub use error::Error;
pub use extras::{DevOrganization, MFA_CHALLENGE_TYPE};
pub use keys::{KEY_BITS, SIGNING_ALGORITHM};
pub use linked::PRIMARY_CONNECTION;
pub use memory::USED_CODE_MEMORY;
pub use pages::BANNER;
pub use server::{DevTenant, RunningDevTenant, SHUTDOWN_GRACE};
pub use vault::{CONNECTION_SCOPE, DEV_CONNECTION, SUBJECT_TOKEN_LIFETIME};
