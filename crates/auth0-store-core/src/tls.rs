//! TLS set-up shared by everything that talks to the network (the provider, Redis).

use std::sync::Once;

/// Installs rustls' ring provider as the process default, once, unless the application
/// installed one already.
///
/// The HTTP client (and the Redis client, for `rediss://`) is built without a provider of
/// its own (aws-lc takes a minute to compile) and rustls panics when none is installed: this
/// is where that choice is made, so no user or test can trip on it. Every constructor that
/// may open a TLS connection calls it; calling it again does nothing.
///
/// ```
/// auth0_store_core::tls::ensure_crypto_provider();
/// assert!(rustls::crypto::CryptoProvider::get_default().is_some());
/// ```
pub fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Err means another thread installed one first: fine either way.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}
