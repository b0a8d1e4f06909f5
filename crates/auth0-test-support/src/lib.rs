//! What the workspace's tests and benches share, one module per feature: a dev-dependency of
//! the crates whose tests need it, never published (the pattern of sqlx's `sqlx-test`).
//!
//! - [`services`] (`services`): the Redis or PostgreSQL a store's tests run against: the URL
//!   variable, else `docker-compose.yml`'s services through testcontainers.
//! - [`oidc`] (`oidc`): the real OpenID provider of the end-to-end tests (client
//!   registration) and a browser for its forms.
//! - [`browser`] (`browser`): a browser for an app on loopback: a cookie jar, redirects
//!   followed by hand.
//! - [`dev_tenant`] (`dev-tenant`): an app with memory stores in front of a dev tenant, and a
//!   browser that fills the tenant's login form.
//! - [`domains`] (`dev-tenant`): the multiple-custom-domains tests' counting provider, per-site
//!   dev tenants and logout-token inbox.
//! - [`load`] (`load`): the session-backend benches' load driver and result files.
//! - [`metrics`](mod@metrics) (`metrics`): code run under a local `DebuggingRecorder`, and
//!   what it recorded.
//!
//! ```toml
//! [dev-dependencies]
//! auth0-test-support = { workspace = true, features = ["services"] }
//! ```
//!
//! Test code: it panics where a test should fail, and skips (loudly) only outside CI.

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(feature = "dev-tenant")]
pub mod dev_tenant;
#[cfg(feature = "dev-tenant")]
pub mod domains;
#[cfg(feature = "load")]
pub mod load;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "oidc")]
pub mod oidc;
#[cfg(feature = "services")]
pub mod services;
