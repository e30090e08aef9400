//! The one routing table: which handler serves which ARM path.
//!
//! An ARM path is split at its last `/providers/{Namespace}` (see [`crate::arm::id`]); a
//! route names the namespace and the pattern of the segments after it (`*` captures a name).
//! Paths without a provider segment (subscriptions, resource groups, tenants) use the
//! namespace `""`. Providers declare their routes in their registration
//! ([`crate::providers::ProviderInfo`]); the server finds them through `providers::hooks::table`.

use crate::arm::{ArmResult, Request, Response};
use crate::entra::Caller;
use crate::world::Tx;

/// What a handler gets besides the world.
pub struct Ctx<'a> {
    pub req: &'a Request,
    /// The authenticated caller (`None` with `--no-auth` and no token).
    pub caller: Option<&'a Caller>,
    /// The scope before `/providers/`, casing as sent (`""` for core paths).
    pub scope: &'a str,
    /// The namespace as sent.
    pub namespace: &'a str,
    /// The segments `*` captured, in order.
    pub names: Vec<&'a str>,
    pub api_version: &'a str,
    pub correlation_id: &'a str,
}

impl Ctx<'_> {
    pub fn method(&self) -> &str {
        &self.req.method
    }

    pub fn name(&self, i: usize) -> &str {
        self.names.get(i).copied().unwrap_or("")
    }
}

pub type Handler = fn(&Tx, &Ctx) -> ArmResult<Response>;

pub struct Route {
    /// Lower-case namespace; `""` for core ARM paths, `"*"` for any namespace.
    pub namespace: &'static str,
    /// Segments after the namespace (core paths: all segments); lower-case literals or `*`.
    pub pattern: &'static [&'static str],
    pub methods: &'static [&'static str],
    /// The RBAC action prefix for `--enforce-rbac` (e.g. `Microsoft.Resources/subscriptions/resourceGroups`).
    pub action: &'static str,
    pub handler: Handler,
}

impl Route {
    /// The captured names when `segs` fits this route's pattern.
    pub fn matches<'s>(&self, segs: &'s [String]) -> Option<Vec<&'s str>> {
        if segs.len() != self.pattern.len() {
            return None;
        }
        let mut names = Vec::new();
        for (p, s) in self.pattern.iter().zip(segs) {
            if *p == "*" {
                names.push(s.as_str());
            } else if !p.eq_ignore_ascii_case(s) {
                return None;
            }
        }
        Some(names)
    }
}
