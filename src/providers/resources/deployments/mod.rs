//! ARM template deployments (`Microsoft.Resources/deployments`).

pub(crate) mod template;
