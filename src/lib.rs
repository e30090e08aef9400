//! azemu: a local Azure Resource Manager emulator.
//!
//! One process serves, over HTTPS on localhost, the Azure control plane that real tools
//! (the Azure CLI, Terraform's azurerm provider, the Azure SDKs) talk to: ARM itself, a
//! stand-in Entra ID token service, the Microsoft Graph look-ups az makes, managed
//! identities, RBAC and AKS — with state in memory. See `ARCHITECTURE.md` for the map.

// `ArmError` carries a message, a target, details and headers: errors are the cold path, so the
// lint that asks to box large `Err` variants buys nothing here.
#![allow(clippy::result_large_err)]

pub(crate) mod arm;
pub mod cli;
pub mod config;
pub(crate) mod control;
pub(crate) mod entra;
pub(crate) mod files;
pub(crate) mod providers;
pub(crate) mod routing;
pub mod scenario;
pub(crate) mod server;
pub(crate) mod store;
pub(crate) mod world;

pub use config::Config;
pub use server::{start, Running};
