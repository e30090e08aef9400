//! The one routing table: which handler serves which ARM path.
//!
//! An ARM path is split at its last `/providers/{Namespace}` (see [`crate::arm::id`]); a
//! route names the namespace and the pattern of the segments after it (`*` captures a name).
//! Paths without a provider segment (subscriptions, resource groups, tenants) use the
//! namespace `""`. Providers contribute their routes; the server only sees [`table`].

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

/// Every ARM route azemu serves, provider by provider (earlier providers win).
pub fn table() -> impl Iterator<Item = &'static [Route]> {
    crate::providers::PROVIDERS.iter().map(|p| p.routes)
}

/// Every served operation as `GET /_azemu/routes` lists it: methods, the path template
/// (`{scope}` where any scope may stand, `{name}` for a captured name) and api-versions.
pub fn describe() -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for p in crate::providers::PROVIDERS {
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
                _ => crate::providers::api_versions(&namespace, &rest),
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
