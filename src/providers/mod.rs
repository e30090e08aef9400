//! Resource providers: one folder per namespace, each owning its models, handlers and rules.
//!
//! Providers share the store, the directory and the authorization engine; they never import
//! the server, nor each other (except through [`authorization::engine`]). This file is their
//! one point of contact with the rest of azemu: the routing table, the catalog of namespaces
//! and types, and the hooks for seeding, cascade deletion and moves.

pub mod authorization;
pub mod common;
pub mod container_registry;
pub mod container_service;
pub mod managed_identity;
pub mod names;
pub mod network;
pub mod resources;

use crate::arm::ArmResult;
use crate::routing::Route;
use crate::store::Record;
use crate::world::World;

/// A namespace and the types it serves (for `GET /providers` and strict api-versions).
pub struct ProviderInfo {
    pub namespace: &'static str,
    pub types: &'static [TypeInfo],
}

pub struct TypeInfo {
    pub name: &'static str,
    /// Newest first.
    pub api_versions: &'static [&'static str],
    /// Global types have no locations.
    pub global: bool,
}

pub const PROVIDERS: &[&ProviderInfo] = &[
    &resources::PROVIDER,
    &authorization::PROVIDER,
    &managed_identity::PROVIDER,
    &container_service::PROVIDER,
    &container_registry::PROVIDER,
    &network::PROVIDER,
];

/// The routing table, provider by provider. Earlier groups win.
pub const ROUTES: &[&[Route]] = &[
    resources::ROUTES,
    authorization::ROUTES,
    managed_identity::ROUTES,
    container_service::ROUTES,
    container_registry::ROUTES,
    network::ROUTES,
];

/// What the server needs from providers besides the routing table: the non-ARM plumbing they
/// answer, and the checks it makes on every ARM call. The server imports nothing else.
pub mod hooks {
    pub use super::api_versions;
    pub use super::authorization::enforce::{check_request as enforce_rbac, is_list, readable_only};
    pub use super::container_service::imds::token as imds_token;
    pub use super::names::check as check_names;
    pub use super::resources::locations::display_names_csv as region_display_names;
    pub use super::resources::metadata::endpoints as metadata_endpoints;
    pub use super::resources::registry::ensure_registered;
    pub use super::resources::subscriptions::tenant_of as subscription_tenant;
}

/// Puts the default tenant, subscription and owner back (start and reset).
pub fn seed_defaults(w: &World) {
    resources::seed(w);
    authorization::seed(w);
    container_service::seed(w);
}

/// Lets the owning provider clean up after a record was removed by a cascade.
pub fn on_removed(w: &World, rec: &Record) {
    if rec.kind.eq_ignore_ascii_case(managed_identity::KIND) {
        managed_identity::on_removed(w, rec);
    } else if rec.kind.eq_ignore_ascii_case(container_service::KIND) {
        container_service::on_removed(w, rec);
    }
}

/// Asks the owning provider whether `rec` may move (`cross_tenant`: to another tenant's subscription).
pub fn validate_move(w: &World, rec: &Record, cross_tenant: bool) -> ArmResult<()> {
    if rec.kind.eq_ignore_ascii_case(container_service::KIND) {
        return container_service::validate_move(w, rec, cross_tenant);
    }
    Ok(())
}

/// The api-versions a path's type accepts (`None` when azemu does not know the type).
pub fn api_versions(namespace: &str, rest: &[String]) -> Option<&'static [&'static str]> {
    if namespace.is_empty() {
        return Some(resources::ARM_API_VERSIONS);
    }
    let p = PROVIDERS.iter().find(|p| p.namespace.eq_ignore_ascii_case(namespace))?;
    let type_path: Vec<&str> = rest.iter().step_by(2).map(String::as_str).collect();
    let type_name = type_path.join("/");
    p.types
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(&type_name))
        .or_else(|| {
            p.types
                .iter()
                .find(|t| type_path.first().is_some_and(|f| t.name.eq_ignore_ascii_case(f)))
        })
        .map(|t| t.api_versions)
}
