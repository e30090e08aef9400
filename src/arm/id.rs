//! Resource ids and scopes.
//!
//! ARM matches ids case-insensitively but answers with the casing the resource was created
//! with. azemu stores every resource under [`key`] (lower case, single slashes, no trailing
//! slash) and keeps the canonical id inside the record.
//!
//! A path is split at its LAST `/providers/{Namespace}` segment, so extension resources work
//! under any scope: `{identity-id}/providers/Microsoft.Authorization/roleAssignments/{guid}` is
//! a role assignment whose scope is the identity, not an identity.

use percent_encoding::percent_decode_str;

/// Collapses repeated slashes and drops a trailing slash. Ids are plain text: nothing is
/// decoded here (a request path is decoded once, by [`path_and_segments`]; decoding again
/// would make `%2561` and `a` one resource).
/// `//metadata/endpoints` (az with a trailing slash in the cloud URL) becomes `/metadata/endpoints`.
pub(crate) fn normalize_path(id: &str) -> String {
    join(&segments(id))
}

/// `/` + the segments joined by `/` (`/` when there are none).
fn join(segs: &[String]) -> String {
    let mut out = String::with_capacity(segs.iter().map(|s| s.len() + 1).sum::<usize>().max(1));
    for s in segs {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// A raw request path (as sent, percent-encoded): the normalized path and its segments, each
/// segment percent-decoded exactly once. The server does this once per request.
pub(crate) fn path_and_segments(raw: &str) -> (String, Vec<String>) {
    let segs: Vec<String> = raw
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.contains('%') {
                percent_decode_str(s).decode_utf8_lossy().into_owned()
            } else {
                s.to_string()
            }
        })
        .collect();
    // A clean path without escapes is its own normalized form.
    let path = if !raw.contains('%') && is_clean(raw) && raw.len() > 1 {
        raw.to_string()
    } else {
        join(&segs)
    };
    (path, segs)
}

/// The non-empty segments of an id (or of an already decoded path).
pub(crate) fn segments(id: &str) -> Vec<String> {
    id.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The lookup key of an id: lower case, normalized, never decoded.
pub(crate) fn key(id: &str) -> String {
    if is_clean(id) {
        id.to_ascii_lowercase()
    } else {
        normalize_path(id).to_ascii_lowercase()
    }
}

/// True when an id is already normalized (its key is its lower case).
fn is_clean(id: &str) -> bool {
    id.starts_with('/') && !id.contains("//") && (id.len() == 1 || !id.ends_with('/'))
}

/// Calls `f` with [`key`]`(id)`, lower-cased on the stack when the id is normalized and at
/// most 256 bytes (every look-up a request makes), so a look-up allocates nothing.
pub(crate) fn with_key<R>(id: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 256];
    if id.len() <= buf.len() && is_clean(id) {
        let b = &mut buf[..id.len()];
        b.copy_from_slice(id.as_bytes());
        b.make_ascii_lowercase();
        // ASCII lower-casing keeps UTF-8 valid.
        if let Ok(k) = std::str::from_utf8(b) {
            return f(k);
        }
    }
    f(&key(id))
}

/// True when `scope` is `id` itself or one of its ancestors (`/` is above everything).
/// Compares whole segments: `/subscriptions/a/resourceGroups/rg` is not above `.../rg2`.
pub(crate) fn is_at_or_above(scope: &str, id: &str) -> bool {
    let s = key(scope);
    let i = key(id);
    s == "/" || i == s || (i.starts_with(&s) && i.as_bytes().get(s.len()) == Some(&b'/'))
}

/// Same ids, ignoring case and slashes.
pub(crate) fn same(a: &str, b: &str) -> bool {
    key(a) == key(b)
}

/// A request path split at its last `/providers/{Namespace}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProviderPath {
    /// Everything before `/providers/` (`""` at tenant level), casing as sent.
    pub(crate) scope: String,
    /// The namespace as sent, e.g. `Microsoft.ContainerService`.
    pub(crate) namespace: String,
    /// The segments after the namespace: `[type, name, childType, childName, action?]`.
    pub(crate) rest: Vec<String>,
}

/// Splits `segs` at the last `providers` segment that is followed by a namespace.
pub(crate) fn split_provider_path(segs: &[String]) -> Option<ProviderPath> {
    let idx = (0..segs.len().saturating_sub(1))
        .rev()
        .find(|&i| segs[i].eq_ignore_ascii_case("providers"))?;
    let scope = if idx == 0 {
        String::new()
    } else {
        format!("/{}", segs[..idx].join("/"))
    };
    Some(ProviderPath {
        scope,
        namespace: segs[idx + 1].clone(),
        rest: segs[idx + 2..].to_vec(),
    })
}

/// The parts of a scope that ARM cares about.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ScopeParts {
    pub(crate) subscription: Option<String>,
    pub(crate) resource_group: Option<String>,
    /// True when the scope goes below the resource group (a resource or a child resource).
    pub(crate) is_resource: bool,
}

impl ScopeParts {
    pub(crate) fn parse(scope: &str) -> ScopeParts {
        let r = ScopeRef::parse(scope);
        ScopeParts {
            subscription: r.subscription.map(str::to_string),
            resource_group: r.resource_group.map(str::to_string),
            is_resource: r.is_resource,
        }
    }
}

/// [`ScopeParts`] borrowed from the scope string (no allocation; for the request path).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct ScopeRef<'a> {
    pub(crate) subscription: Option<&'a str>,
    pub(crate) resource_group: Option<&'a str>,
    pub(crate) is_resource: bool,
}

impl<'a> ScopeRef<'a> {
    pub(crate) fn parse(scope: &'a str) -> ScopeRef<'a> {
        let mut segs = scope.split('/').filter(|s| !s.is_empty());
        let mut parts = ScopeRef::default();
        let (first, second) = (segs.next(), segs.next());
        match (first, second) {
            (Some(f), Some(sub)) if f.eq_ignore_ascii_case("subscriptions") => {
                parts.subscription = Some(sub);
                match (segs.next(), segs.next()) {
                    (Some(g), Some(rg)) if g.eq_ignore_ascii_case("resourceGroups") => {
                        parts.resource_group = Some(rg);
                        parts.is_resource = segs.next().is_some();
                    }
                    (Some(_), _) => parts.is_resource = true,
                    _ => {}
                }
            }
            (Some(_), _) => parts.is_resource = true,
            _ => {}
        }
        parts
    }
}

impl ScopeRef<'_> {
    pub(crate) fn is_subscription(&self) -> bool {
        self.subscription.is_some() && self.resource_group.is_none() && !self.is_resource
    }

    pub(crate) fn is_resource_group(&self) -> bool {
        self.resource_group.is_some() && !self.is_resource
    }
}

impl ScopeParts {
    pub(crate) fn is_subscription(&self) -> bool {
        self.subscription.is_some() && self.resource_group.is_none() && !self.is_resource
    }

    pub(crate) fn is_resource_group(&self) -> bool {
        self.resource_group.is_some() && !self.is_resource
    }
}

/// `/subscriptions/{sub}/resourceGroups/{rg}`.
pub(crate) fn resource_group_id(sub: &str, rg: &str) -> String {
    // Built by hand: every call inside a group makes one, and `format!` costs several times this.
    let mut id = String::with_capacity(31 + sub.len() + rg.len());
    id.push_str("/subscriptions/");
    id.push_str(sub);
    id.push_str("/resourceGroups/");
    id.push_str(rg);
    id
}

/// The last segment of an id (its name).
pub(crate) fn name_of(id: &str) -> String {
    segments(id).pop().unwrap_or_default()
}

/// True when `s` is a GUID in 8-4-4-4-12 form.
pub(crate) fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_decoded_once_and_ids_never() {
        let (path, segs) = path_and_segments("/a/%2561/b%20c");
        assert_eq!(segs, vec!["a", "%61", "b c"]);
        assert_eq!(path, "/a/%61/b c");
        assert_ne!(key(&path), key("/a/a/b c"));
        assert_eq!(name_of("/x/%61"), "%61");
    }

    #[test]
    fn a_clean_path_is_its_own_normalized_form() {
        for raw in [
            "/",
            "//",
            "/a",
            "/a/b",
            "/a//b",
            "/a/b/",
            "a/b",
            "/a%2Fb/c",
            "/Sub/RG name/x",
        ] {
            let (path, segs) = path_and_segments(raw);
            assert_eq!(path, join(&segs), "{raw}");
        }
    }

    #[test]
    fn a_key_on_the_stack_is_the_key() {
        let long = format!("/subscriptions/S/resourceGroups/{}", "Rg".repeat(200));
        for id in [
            "/",
            "/subscriptions/ABC/resourceGroups/Rg",
            "/subscriptions/abc//resourceGroups/RG/",
            "subscriptions/X",
            "/subscriptions/X/resourceGroups/Grüße-ÄÖ",
            long.as_str(),
        ] {
            assert_eq!(with_key(id, str::to_string), key(id), "{id}");
        }
    }

    #[test]
    fn double_slashes_collapse() {
        assert_eq!(normalize_path("//metadata//endpoints/"), "/metadata/endpoints");
        assert_eq!(normalize_path("/"), "/");
    }

    #[test]
    fn last_providers_segment_wins() {
        let segs = segments(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1/providers/Microsoft.Authorization/roleAssignments/g",
        );
        let p = split_provider_path(&segs).unwrap();
        assert_eq!(p.namespace, "Microsoft.Authorization");
        assert_eq!(
            p.scope,
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
        );
        assert_eq!(p.rest, vec!["roleAssignments", "g"]);
    }

    #[test]
    fn ancestry_is_by_whole_segments() {
        assert!(is_at_or_above("/subscriptions/A", "/subscriptions/a/resourceGroups/x"));
        assert!(!is_at_or_above(
            "/subscriptions/a/resourceGroups/rg",
            "/subscriptions/a/resourceGroups/rg2"
        ));
        assert!(is_at_or_above("/", "/subscriptions/a"));
    }

    #[test]
    fn scope_parts() {
        let p = ScopeParts::parse("/subscriptions/s/resourcegroups/rg/providers/x/y/z");
        assert_eq!(p.resource_group.as_deref(), Some("rg"));
        assert!(p.is_resource);
        assert!(ScopeParts::parse("/subscriptions/s").is_subscription());
        assert!(ScopeParts::parse("").subscription.is_none());
    }

    #[test]
    fn guids() {
        assert!(is_guid("7f951dda-4ed3-4680-a7ca-43fe172d538d"));
        assert!(!is_guid("not-a-guid"));
    }
}
