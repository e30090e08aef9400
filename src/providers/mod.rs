//! Resource providers: one folder per namespace, each owning its models, handlers and rules.
//!
//! Providers share the store, the directory and the authorization engine; they never import
//! the server, nor each other (except through [`authorization::engine`]). This file is their
//! one point of contact with the rest of azemu: the routing table, the catalog of namespaces
//! and types, and the hooks for seeding, cascade deletion and moves.

pub(crate) mod authorization;
pub(crate) mod common;
pub(crate) mod container_registry;
pub(crate) mod container_service;
pub(crate) mod managed_identity;
pub(crate) mod names;
pub(crate) mod network;
pub(crate) mod resources;

use crate::arm::ArmResult;
use crate::routing::Route;
use crate::store::Record;
use crate::world::Tx;

/// Says whether a record may move (`true`: to another tenant's subscription).
pub(crate) type MoveCheck = fn(&Tx, &Record, bool) -> ArmResult<()>;

/// One resource provider, declared in one place (its folder's `mod.rs`): its namespace,
/// types and api-versions, routes, request schemas, default data and hooks. Adding a
/// provider is one folder plus one line in [`PROVIDERS`].
pub(crate) struct ProviderInfo {
    pub(crate) namespace: &'static str,
    pub(crate) types: &'static [TypeInfo],
    /// Its ARM routes; earlier providers' routes win.
    pub(crate) routes: &'static [Route],
    /// Request-body schemas from `api-specs/` (name, text), compiled at start.
    pub(crate) schemas: &'static [(&'static str, &'static str)],
    /// Puts its default data in (at start and reset).
    pub(crate) seed: Option<fn(&Tx)>,
    /// Cleans up after a record of one of its types was removed by a cascade.
    pub(crate) on_removed: Option<fn(&Tx, &Record)>,
    /// Says whether a record of one of its types may move (`true`: to another tenant).
    pub(crate) validate_move: Option<MoveCheck>,
}

impl ProviderInfo {
    /// Whether a record of ARM type `kind` belongs to this provider.
    fn owns(&self, kind: &str) -> bool {
        kind.len() > self.namespace.len()
            && kind.as_bytes()[self.namespace.len()] == b'/'
            && kind[..self.namespace.len()].eq_ignore_ascii_case(self.namespace)
    }
}

pub(crate) struct TypeInfo {
    pub(crate) name: &'static str,
    /// Newest first.
    pub(crate) api_versions: &'static [&'static str],
    /// Global types have no locations.
    pub(crate) global: bool,
}

/// The one registration point: every provider azemu serves, in routing order.
pub(crate) const PROVIDERS: &[&ProviderInfo] = &[
    &resources::PROVIDER,
    &resources::deployments::PROVIDER,
    &authorization::PROVIDER,
    &managed_identity::PROVIDER,
    &container_service::PROVIDER,
    &container_registry::PROVIDER,
    &network::PROVIDER,
];

/// What the layers above providers (server, control API, token service) may use of them: the
/// routing table, the non-ARM plumbing providers answer, the checks made on every ARM call,
/// and the few operations the control API offers (fresh tenants and subscriptions, RBAC
/// explanations, the AKS node views). They import nothing else of a provider.
pub(crate) mod hooks {
    pub(crate) use super::api_versions;
    pub(crate) use super::authorization::assignments::grant as grant_role;
    pub(crate) use super::authorization::definitions::OWNER as OWNER_ROLE;
    pub(crate) use super::authorization::definitions::{find as find_role, guid_of as role_guid};
    pub(crate) use super::authorization::enforce::{check_request as enforce_rbac, is_list, readable_only};
    pub(crate) use super::authorization::engine::check as authorize;
    pub(crate) use super::common::lro::parse_spec as parse_lro_spec;
    pub(crate) use super::container_service::control::{get as provider_view, write as provider_action};
    pub(crate) use super::container_service::imds::token as imds_token;
    pub(crate) use super::is_extension;
    pub(crate) use super::names::check as check_names;
    pub(crate) use super::on_removed;
    pub(crate) use super::resources::metadata::endpoints as metadata_endpoints;
    pub(crate) use super::resources::registry::ensure_registered;
    pub(crate) use super::resources::subscriptions::create as create_subscription;
    pub(crate) use super::resources::tenants::{create as create_tenant, find as find_tenant};
    pub(crate) use super::{describe as describe_routes, table as route_table};
    pub(crate) use crate::arm::regions::display_names_csv as region_display_names;
}

/// Puts every provider's default data back (start and reset).
pub(crate) fn seed_defaults(w: &Tx) {
    for p in PROVIDERS {
        if let Some(seed) = p.seed {
            seed(w);
        }
    }
}

fn owner(kind: &str) -> Option<&'static ProviderInfo> {
    PROVIDERS.iter().copied().find(|p| p.owns(kind))
}

/// Lets the owning provider clean up after a record was removed by a cascade.
pub(crate) fn on_removed(w: &Tx, rec: &Record) {
    if let Some(f) = owner(&rec.kind).and_then(|p| p.on_removed) {
        f(w, rec);
    }
}

/// Asks the owning provider whether `rec` may move (`cross_tenant`: to another tenant's subscription).
pub(crate) fn validate_move(w: &Tx, rec: &Record, cross_tenant: bool) -> ArmResult<()> {
    match owner(&rec.kind).and_then(|p| p.validate_move) {
        Some(f) => f(w, rec, cross_tenant),
        None => Ok(()),
    }
}

/// Whether `namespace` serves extension types, addressable under any resource (role
/// assignments and definitions). Other types live only in a subscription or resource group.
pub(crate) fn is_extension(namespace: &str) -> bool {
    namespace.eq_ignore_ascii_case(authorization::PROVIDER.namespace)
}

/// The api-versions a path's type accepts (`None` when azemu does not know the type).
pub(crate) fn api_versions(namespace: &str, rest: &[String]) -> Option<&'static [&'static str]> {
    if namespace.is_empty() {
        return Some(resources::ARM_API_VERSIONS);
    }
    let types = || {
        PROVIDERS
            .iter()
            .filter(|p| p.namespace.eq_ignore_ascii_case(namespace))
            .flat_map(|p| p.types.iter())
    };
    let type_path: Vec<&str> = rest.iter().step_by(2).map(String::as_str).collect();
    let type_name = type_path.join("/");
    types()
        .find(|t| t.name.eq_ignore_ascii_case(&type_name))
        .or_else(|| types().find(|t| type_path.first().is_some_and(|f| t.name.eq_ignore_ascii_case(f))))
        .map(|t| t.api_versions)
}

/// Every ARM route azemu serves, provider by provider (earlier providers win).
pub(crate) fn table() -> impl Iterator<Item = &'static [Route]> {
    PROVIDERS.iter().map(|p| p.routes)
}

/// Every served operation as `GET /_azemu/routes` lists it: methods, the path template
/// (`{scope}` where any scope may stand, `{name}` for a captured name) and api-versions.
pub(crate) fn describe() -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for p in PROVIDERS {
        for r in p.routes {
            let mut names = 0;
            let segs: Vec<String> = r
                .pattern
                .iter()
                .map(|s| match *s {
                    "*" => {
                        names += 1;
                        format!("{{name{names}}}")
                    }
                    lit => lit.to_string(),
                })
                .collect();
            let (path, namespace) = match r.namespace {
                "" => (format!("/{}", segs.join("/")), String::new()),
                "*" => (
                    format!("{{scope}}/providers/{{namespace}}/{}", segs.join("/")),
                    "*".to_string(),
                ),
                _ => (
                    format!("{{scope}}/providers/{}/{}", p.namespace, segs.join("/")),
                    p.namespace.to_string(),
                ),
            };
            let rest: Vec<String> = r.pattern.iter().map(|s| s.to_string()).collect();
            let versions = match r.namespace {
                "*" => None,
                _ => api_versions(&namespace, &rest),
            };
            out.push(serde_json::json!({
                "provider": p.namespace,
                "namespace": namespace,
                "methods": r.methods,
                "path": path.trim_end_matches('/'),
                "pattern": r.pattern,
                "apiVersions": versions.unwrap_or(&[]),
            }));
        }
    }
    out
}
