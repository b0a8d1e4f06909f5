//! `dev-tenant`: the local development tenant, in the foreground until Ctrl-C.

use std::io::Write as _;

use auth0_dev_tenant::DevTenant;

use crate::args::DevTenantArgs;
use crate::{CliError, Output};

/// Starts the tenant, prints how to use it, and serves until Ctrl-C.
pub(crate) fn run(args: DevTenantArgs) -> Result<Output, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::DevTenant(e.to_string()))?;
    runtime.block_on(async move {
        let mut builder = DevTenant::builder()
            .port(args.port)
            .client_id(args.client_id);
        if let Some(secret) = args.client_secret {
            builder = builder.client_secret(secret);
        }
        if let Some(path) = &args.client_public_key {
            let key = std::fs::read_to_string(path).map_err(|e| {
                CliError::DevTenant(format!(
                    "the client public key {} cannot be read ({e}): give the path of the app's \
                     public key (PEM or JWK)",
                    path.display()
                ))
            })?;
            builder = builder.client_public_key(key);
        }
        for uri in args.redirect_uris {
            builder = builder.redirect_uri(uri);
        }
        for audience in args.audiences {
            builder = builder.audience(audience);
        }
        let tenant = builder
            .start()
            .await
            .map_err(|e| CliError::DevTenant(e.to_string()))?;
        let mut out = std::io::stdout();
        let credential = match &args.client_public_key {
            Some(public) => format!(
                "AUTH0_CLIENT_ASSERTION_SIGNING_KEY=<the private key of {}>",
                public.display()
            ),
            None => format!("AUTH0_CLIENT_SECRET={}", tenant.client_secret()),
        };
        let _ = writeln!(
            out,
            "Local development tenant (not Auth0) at {issuer}\n\n\
             AUTH0_DOMAIN={domain}\nAUTH0_CLIENT_ID={id}\n{credential}\n\n\
             Log in with any e-mail address. Ctrl-C stops it.",
            issuer = tenant.issuer(),
            domain = tenant.domain(),
            id = tenant.client_id(),
        );
        let _ = out.flush();
        let _ = tokio::signal::ctrl_c().await;
        tenant.shutdown().await;
        Ok(Output {
            stdout: String::new(),
            stderr: None,
        })
    })
}
