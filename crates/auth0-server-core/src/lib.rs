//! placeholder
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clock;
pub mod model;
pub mod seal;
mod secret;
pub mod store;

pub use secret::{MIN_SECRET_LEN, Secret, SecretError, Secrets};
