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
pub(crate) struct Ctx<'a> {
    pub(crate) req: &'a Request,
    /// The authenticated caller (`None` with `--no-auth` and no token).
    pub(crate) caller: Option<&'a Caller>,
    /// The scope before `/providers/`, casing as sent (`""` for core paths).
    pub(crate) scope: &'a str,
    /// The namespace as sent.
    pub(crate) namespace: &'a str,
    /// The segments `*` captured, in order.
    pub(crate) names: Vec<&'a str>,
    pub(crate) api_version: &'a str,
    pub(crate) correlation_id: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn method(&self) -> &str {
        &self.req.method
    }

    pub(crate) fn name(&self, i: usize) -> &str {
        self.names.get(i).copied().unwrap_or("")
    }
}

pub(crate) type Handler = fn(&Tx, &Ctx) -> ArmResult<Response>;

pub(crate) struct Route {
    /// Lower-case namespace; `""` for core ARM paths, `"*"` for any namespace.
    pub(crate) namespace: &'static str,
    /// Segments after the namespace (core paths: all segments); lower-case literals or `*`.
    pub(crate) pattern: &'static [&'static str],
    pub(crate) methods: &'static [&'static str],
    /// The RBAC action prefix for `--enforce-rbac` (e.g. `Microsoft.Resources/subscriptions/resourceGroups`).
    pub(crate) action: &'static str,
    pub(crate) handler: Handler,
}

impl Route {
    /// The captured names when `segs` fits this route's pattern.
    pub(crate) fn matches<'s>(&self, segs: &'s [String]) -> Option<Vec<&'s str>> {
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
