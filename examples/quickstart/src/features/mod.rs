//! Pages of Auth0 features beyond the quickstart, one file each.

pub(crate) mod sessions;
