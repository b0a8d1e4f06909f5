//! The MFA API's grants at `/oauth/token` (the client is already authenticated):
//! `http://auth0.com/oauth/grant-type/mfa-otp` (`mfa_token`, `otp`), `…/mfa-oob`
//! (`mfa_token`, `oob_code`, `binding_code`) and `…/mfa-recovery-code` (`mfa_token`,
//! `recovery_code`; the answer carries the user's new `recovery_code`, the used one is gone).
//!
//! A wrong code is `invalid_grant` (403) and counts against the user, whatever the
//! `mfa_token` ([`MAX_MFA_ATTEMPTS`](super::mfa::MAX_MFA_ATTEMPTS) in
//! [`MFA_ATTEMPT_WINDOW`](super::mfa::MFA_ATTEMPT_WINDOW), then `too_many_attempts`); an
//! expired `mfa_token` or `oob_code` is `expired_token`. An OTP is accepted once: a code of
//! the step last accepted for that authenticator, or of one before, is refused. Success
//! spends the `mfa_token`, activates the authenticator verified (the end of its enrollment,
//! for a user with no active one: once one is active, only active ones verify), and issues
//! the tokens of the grant whose refresh asked for MFA, under a new grant whose refreshes
//! need no MFA.

use axum::http::StatusCode;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::mfa::{Factor, MfaContext, OTP_STEP, context, dev_otp};
use super::token::{Issue, issue_tokens};
use super::{OAuthError, Params};
use crate::memory::{Memory, has_scope, hash};
use crate::server::Tenant;

/// The OTP grant.
pub(crate) const MFA_OTP: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
/// The OOB grant.
pub(crate) const MFA_OOB: &str = "http://auth0.com/oauth/grant-type/mfa-oob";
/// The recovery-code grant.
pub(crate) const MFA_RECOVERY_CODE: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";
/// The three, for the token endpoint's dispatch and discovery.
pub(crate) const GRANT_TYPES: [&str; 3] = [MFA_OTP, MFA_OOB, MFA_RECOVERY_CODE];

fn wrong(description: &str) -> OAuthError {
    OAuthError::new(StatusCode::FORBIDDEN, "invalid_grant", description)
}

fn required<'p>(params: &'p Params, name: &'static str) -> Result<&'p str, OAuthError> {
    params
        .get(name)?
        .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// One of the three grants.
pub(crate) fn grant(
    tenant: &Tenant,
    grant_type: &str,
    params: &Params,
) -> Result<Value, OAuthError> {
    let token = required(params, "mfa_token")?;
    let now = tenant.now();
    let mut memory = tenant.memory();
    let sub = context(&mut memory, token, now, StatusCode::FORBIDDEN)?
        .grant
        .user
        .sub
        .clone();
    if memory.mfa.users.get(&sub).is_some_and(|f| f.locked(now)) {
        return Err(OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many failed attempts: wait, then start again",
        ));
    }
    let verified = match grant_type {
        MFA_OTP => verify_otp(&mut memory, &sub, required(params, "otp")?, now),
        MFA_OOB => verify_oob(&mut memory, token, params, now),
        _ => verify_recovery_code(&mut memory, &sub, required(params, "recovery_code")?),
    };
    let factors = memory.mfa.users.entry(sub).or_default();
    let new_recovery_code = match verified {
        Ok(code) => {
            factors.failures = (0, 0);
            code
        }
        Err(e) => {
            if e.error() == "invalid_grant" {
                factors.failed(now);
            }
            return Err(e);
        }
    };
    let Some(context) = memory.mfa.tokens.remove(&hash(token)) else {
        return Err(wrong("Malformed mfa_token"));
    };
    let mut answer = issue(tenant, &mut memory, &context)?;
    if let Some(code) = new_recovery_code {
        answer["recovery_code"] = json!(code);
    }
    tracing::info!(grant_type, "MFA passed");
    Ok(answer)
}

/// Checks the OTP against the user's OTP authenticators (the active ones once one is):
/// this step's code or the one before, if later than the step last accepted. The one it
/// matches is activated and remembers the step.
fn verify_otp(
    memory: &mut Memory,
    sub: &str,
    otp: &str,
    now: u64,
) -> Result<Option<String>, OAuthError> {
    let Some(factors) = memory.mfa.users.get_mut(sub) else {
        return Err(wrong("Invalid otp_code."));
    };
    let enrolled = factors.enrolled();
    let step = now / OTP_STEP;
    let matched = factors
        .authenticators
        .iter_mut()
        .filter(|a| a.active || !enrolled)
        .find_map(|a| {
            let Factor::Otp { secret } = &a.factor else {
                return None;
            };
            let fresh = |s: &u64| a.last_step.is_none_or(|last| *s > last);
            let matched = [step, step.saturating_sub(1)]
                .into_iter()
                .filter(fresh)
                .find(|s| same(&dev_otp(secret, s.saturating_mul(OTP_STEP)), otp));
            matched.map(|s| (a, s))
        });
    let Some((authenticator, step)) = matched else {
        return Err(wrong("Invalid otp_code."));
    };
    authenticator.active = true;
    authenticator.last_step = Some(step);
    Ok(None)
}

/// Checks the binding code of an OOB challenge made with this `mfa_token`; the challenge is
/// spent on success (a replay is `invalid_grant`).
fn verify_oob(
    memory: &mut Memory,
    token: &str,
    params: &Params,
    now: u64,
) -> Result<Option<String>, OAuthError> {
    let oob_code = required(params, "oob_code")?;
    let binding_code = params.get("binding_code")?.unwrap_or_default();
    let key = hash(oob_code);
    let challenge = memory
        .mfa
        .challenges
        .get(&key)
        .filter(|c| c.mfa_token == hash(token))
        .ok_or_else(|| wrong("Invalid oob_code: unknown, used, or of another mfa_token."))?;
    if challenge.expires_at <= now {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "expired_token",
            "The oob_code has expired: challenge again.",
        ));
    }
    if !same(&challenge.binding_code, binding_code) {
        return Err(wrong("Invalid binding_code."));
    }
    let Some(challenge) = memory.mfa.challenges.remove(&key) else {
        return Err(wrong("Invalid oob_code."));
    };
    let factors = memory.mfa.users.get_mut(&challenge.sub);
    let enrolled = factors.as_ref().is_some_and(|f| f.enrolled());
    let authenticator = factors.and_then(|f| {
        f.authenticators
            .iter_mut()
            .find(|a| a.id == challenge.authenticator_id)
    });
    match authenticator {
        // An enrollment left pending does not add a factor once another is active.
        Some(a) if a.active || !enrolled => {
            a.active = true;
            Ok(None)
        }
        _ => Err(wrong("Invalid oob_code: its authenticator is not active.")),
    }
}

/// Checks the user's recovery code and replaces it: the new one is returned.
fn verify_recovery_code(
    memory: &mut Memory,
    sub: &str,
    code: &str,
) -> Result<Option<String>, OAuthError> {
    let given = hash(code.trim());
    let factors = memory.mfa.users.get_mut(sub);
    let Some((stored, id)) = factors.as_ref().and_then(|f| f.recovery.clone()) else {
        return Err(wrong("Invalid recovery_code."));
    };
    if !bool::from(stored.ct_eq(&given)) {
        return Err(wrong("Invalid recovery_code."));
    }
    let new_code = super::mfa::new_recovery_code();
    if let Some(f) = factors {
        f.recovery = Some((hash(&new_code), id));
    }
    Ok(Some(new_code))
}

/// The tokens of the grant whose refresh asked for MFA, under a new grant marked verified.
fn issue(tenant: &Tenant, memory: &mut Memory, context: &MfaContext) -> Result<Value, OAuthError> {
    let now = tenant.now();
    let mut grant = context.grant.clone();
    grant.scope.clone_from(&context.scope);
    grant.audience.clone_from(&context.audience);
    grant.expires_at = now.saturating_add(tenant.config.refresh_token_lifetime.as_secs());
    let grant_id = memory.add_grant(grant.clone());
    memory.mfa.verified_grants.insert(grant_id);
    let issue = Issue {
        grant_id,
        grant: &grant,
        scope: &context.scope,
        audience: context.audience.as_deref(),
        nonce: None,
        refresh_token: has_scope(&context.scope, "offline_access"),
    };
    issue_tokens(tenant, memory, &issue)
}
