//! From a decoded request to a response: which part of azemu answers, authentication,
//! `api-version`, existence of the subscription and resource group, RBAC, and the headers
//! every ARM response carries.

use crate::arm::id::{self, ScopeRef};
use crate::arm::{api_version, ArmError, ArmResult, Request, Response};
use crate::entra::{self, Caller};
use crate::providers::hooks;
use crate::routing::{self, Ctx};
use crate::world::{Tx, World};

/// Answers one request. Never panics on input: every failure is an error response.
pub(crate) fn handle(w: &World, req: &Request, correlation_id: &str) -> Response {
    w.settle();
    let segs = &req.segments;
    let (mut b1, mut b2) = ([0u8; 16], [0u8; 16]);
    match (lower(segs.first(), &mut b1), lower(segs.get(1), &mut b2)) {
        ("_azemu", _) => crate::control::handle(w, req),
        ("metadata", "endpoints") if segs.len() == 2 => {
            only(req, &["GET"], || hooks::metadata_endpoints(&w.read(), req))
        }
        ("metadata", "identity") => hooks::imds_token(&w.read(), req),
        ("v1.0", _) => graph(w, req),
        ("subscriptions" | "tenants" | "providers", _) => arm(w, req, correlation_id),
        (_, "discovery") if segs.len() == 3 && segs[2].eq_ignore_ascii_case("instance") => {
            only(req, &["GET"], || entra::oidc::instance_discovery(w))
        }
        (_, "discovery") if segs.len() == 3 || segs.len() == 4 => only(req, &["GET"], || entra::oidc::jwks(w)),
        (_, "v2.0") if segs.len() == 4 && segs[2] == ".well-known" => {
            only(req, &["GET"], || entra::oidc::openid_configuration(w, &segs[0], true))
        }
        (_, ".well-known") if segs.len() == 3 => {
            only(req, &["GET"], || entra::oidc::openid_configuration(w, &segs[0], false))
        }
        (_, "oauth2") if segs.len() == 4 && segs[2] == "v2.0" && segs[3] == "token" => {
            only(req, &["POST"], || entra::oidc::token(w, req, &segs[0], true))
        }
        (_, "oauth2") if segs.len() == 3 && segs[2] == "token" => {
            only(req, &["POST"], || entra::oidc::token(w, req, &segs[0], false))
        }
        _ => ArmError::not_found("NotFound", format!("The requested path '{}' was not found.", req.path)).into(),
    }
}

/// A path segment lower-cased into `buf`, without allocating. Segments longer than the
/// buffer match no literal, so they read as empty.
fn lower<'a>(seg: Option<&String>, buf: &'a mut [u8; 16]) -> &'a str {
    match seg {
        Some(s) if s.len() <= buf.len() => {
            let b = &mut buf[..s.len()];
            b.copy_from_slice(s.as_bytes());
            b.make_ascii_lowercase();
            std::str::from_utf8(b).unwrap_or("")
        }
        _ => "",
    }
}

fn only(req: &Request, methods: &[&str], f: impl FnOnce() -> Response) -> Response {
    if methods.contains(&req.method.as_str()) {
        f()
    } else {
        method_not_allowed(req, methods).into()
    }
}

fn method_not_allowed(req: &Request, methods: &[&str]) -> ArmError {
    ArmError::new(
        405,
        "MethodNotAllowed",
        format!("The HTTP method '{}' is not supported for '{}'.", req.method, req.path),
    )
    .with_header("Allow", methods.join(", "))
}

/// The bearer token's caller: `Ok(None)` only with `--no-auth` and no token.
fn authenticate(w: &World, req: &Request) -> ArmResult<Option<Caller>> {
    let header = match req.header("authorization") {
        Some(h) => h,
        None if w.config.no_auth => return Ok(None),
        None => {
            return Err(ArmError::new(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
            .with_header("WWW-Authenticate", www_authenticate(w)))
        }
    };
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        if w.config.no_auth {
            return Ok(None);
        }
        return Err(ArmError::new(
            401,
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        )
        .with_header("WWW-Authenticate", www_authenticate(w)));
    };
    if w.config.no_auth {
        // Without auth the token is read, not checked: its caller, when it names one.
        return Ok(entra::token::decode_claims(token)
            .as_ref()
            .and_then(Caller::from_claims));
    }
    let Some(verified) = w.signer.verify_cached(token, w.now() / 1000) else {
        return Err(invalid_token(w));
    };
    let aud = verified.audience.as_str();
    let graph = req.segments.first().is_some_and(|s| s.eq_ignore_ascii_case("v1.0"));
    let ok = if graph {
        entra::audience::accepted_by_graph(aud, w.base_url(), req.header("host"))
    } else {
        entra::audience::accepted(aud, w.base_url(), req.header("host"))
    };
    if !ok {
        return Err(ArmError::new(
            401,
            "InvalidAuthenticationTokenAudience",
            entra::audience::refusal_message(aud, w.base_url()),
        )
        .with_header("WWW-Authenticate", www_authenticate(w)));
    }
    verified.caller.clone().map(Some).ok_or_else(|| invalid_token(w))
}

fn invalid_token(w: &World) -> ArmError {
    ArmError::new(401, "InvalidAuthenticationToken", "The access token is invalid.")
        .with_header("WWW-Authenticate", www_authenticate(w))
}

fn www_authenticate(w: &World) -> String {
    format!(
        "Bearer authorization_uri=\"{}/{}\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"",
        w.base_url(),
        w.config.tenant_id
    )
}

fn graph(w: &World, req: &Request) -> Response {
    if let Err(e) = authenticate(w, req) {
        return entra::graph::graph_error(401, "InvalidAuthenticationToken", &e.message);
    }
    let segs: Vec<String> = req.segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), s.as_slice()) {
        ("GET", ["v1.0", "serviceprincipals"]) => entra::graph::list_service_principals(w, req),
        ("GET", ["v1.0", sp]) if sp.starts_with("serviceprincipals(") => {
            entra::graph::get_service_principal(w, &req.segments[1]["servicePrincipals".len()..])
        }
        ("GET", ["v1.0", "serviceprincipals", _]) => entra::graph::get_service_principal(w, &req.segments[2]),
        ("POST", ["v1.0", "directoryobjects", "getbyids"]) => entra::graph::get_by_ids(w, req),
        ("GET", ["v1.0", "users"]) => entra::graph::list_users(w),
        _ => entra::graph::graph_error(
            400,
            "Request_BadRequest",
            &format!(
                "Invalid request: '{} {}' is not a Graph call azemu serves.",
                req.method, req.path
            ),
        ),
    }
}

fn arm(w: &World, req: &Request, correlation_id: &str) -> Response {
    match arm_inner(w, req, correlation_id) {
        Ok(r) => r,
        Err(e) => e.into(),
    }
}

/// An ARM request from a client: authenticated, faults applied, then answered by the
/// pipeline inside one transaction — a write one for a mutating method, committed only when
/// the answer is a success.
fn arm_inner(w: &World, req: &Request, correlation_id: &str) -> ArmResult<Response> {
    let caller = authenticate(w, req)?;
    crate::control::faults::apply(w, req)?;
    if matches!(req.method.as_str(), "GET" | "HEAD") {
        let tx = Tx::read(w);
        tx.set_request(caller, correlation_id);
        return pipeline(&tx, req);
    }
    // A write holds the partition it addresses (its resource group, or its subscription's
    // own level), so writes elsewhere run meanwhile. One that had to write where another
    // writer was busy committed nothing; it is answered again holding the whole world.
    // `--audit-refusals` compares the whole state around a refusal: writers take turns.
    let _serial = w.serial_gate();
    match write(w, Tx::write_in(w, &req.path), req, caller.clone(), correlation_id) {
        Some(answer) => answer,
        None => write(w, Tx::write(w), req, caller, correlation_id)
            .unwrap_or_else(|| Err(ArmError::internal("A whole-world transaction cannot conflict."))),
    }
}

/// Answers a write in `tx`, committing it on success; `None` when the transaction was
/// conflicted (nothing committed: the request must be answered again).
fn write(
    w: &World,
    tx: Tx,
    req: &Request,
    caller: Option<Caller>,
    correlation_id: &str,
) -> Option<ArmResult<Response>> {
    // Operations due by now were ended by `handle`, in a whole-world transaction of their own.
    tx.set_request(caller, correlation_id);
    let before = w.config.audit_refusals.then(|| w.fingerprint());
    let answer = pipeline(&tx, req);
    if tx.is_conflicted() {
        return None;
    }
    Some(match answer {
        Ok(response) => {
            tx.commit();
            Ok(response)
        }
        Err(e) => match before {
            Some(b) if b != w.fingerprint() => Err(ArmError::internal(format!(
                "RefusalLeftTrace: the refused request ({} {}) changed the state.",
                req.method, e.code
            ))),
            _ => Err(e),
        },
    })
}

/// The route serving `req`, with the names it captured, and the path split around its
/// last `/providers/{Namespace}`.
struct Matched<'r> {
    route: &'static routing::Route,
    names: Vec<&'r str>,
    scope: &'r str,
    namespace: &'r str,
}

/// The routing table indexed by lower-case namespace and number of segments after it: each
/// list holds the routes that can serve such a path — the namespace's own and the `*`
/// routes — in table order, so the first that matches is the one a scan of the whole table
/// finds first.
struct RouteIndex {
    /// Namespaces the table names (`""`: core paths), in table order; a handful, so a scan
    /// beats hashing.
    named: Vec<(&'static str, Vec<Vec<&'static routing::Route>>)>,
    /// For any other namespace: the `*` routes.
    any: Vec<Vec<&'static routing::Route>>,
}

impl RouteIndex {
    fn build() -> RouteIndex {
        fn add(lists: &mut Vec<Vec<&'static routing::Route>>, route: &'static routing::Route) {
            let n = route.pattern.len();
            if lists.len() <= n {
                lists.resize_with(n + 1, Vec::new);
            }
            lists[n].push(route);
        }
        let routes: Vec<&'static routing::Route> = hooks::route_table().flat_map(|g| g.iter()).collect();
        let mut named: Vec<(&'static str, Vec<Vec<&'static routing::Route>>)> = Vec::new();
        for r in &routes {
            if r.namespace != "*" && !named.iter().any(|(ns, _)| *ns == r.namespace) {
                named.push((r.namespace, Vec::new()));
            }
        }
        let mut any = Vec::new();
        for &r in &routes {
            if r.namespace == "*" {
                add(&mut any, r);
                // A `*` route serves every named namespace but the core paths' `""`.
                for (ns, lists) in named.iter_mut() {
                    if !ns.is_empty() {
                        add(lists, r);
                    }
                }
            } else if let Some((_, lists)) = named.iter_mut().find(|(ns, _)| *ns == r.namespace) {
                add(lists, r);
            }
        }
        RouteIndex { named, any }
    }

    /// The routes that may serve `len` segments after `ns_lower` (lower case), in table order.
    fn candidates(&self, ns_lower: &str, len: usize) -> &[&'static routing::Route] {
        let lists = self
            .named
            .iter()
            // Lengths first: most namespaces differ in length, and `""` (core paths) needs no
            // byte comparison at all.
            .find(|(ns, _)| ns.len() == ns_lower.len() && (ns.is_empty() || *ns == ns_lower))
            .map_or(&self.any, |(_, lists)| lists);
        lists.get(len).map_or(&[], Vec::as_slice)
    }
}

fn route_index() -> &'static RouteIndex {
    static INDEX: std::sync::OnceLock<RouteIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(RouteIndex::build)
}

fn find_route<'r>(req: &'r Request, split: &'r Option<id::ProviderPath>) -> ArmResult<Matched<'r>> {
    let (scope, namespace, rest): (&str, &str, &[String]) = match split {
        Some(p) => (&p.scope, &p.namespace, &p.rest[..]),
        None => ("", "", &req.segments[..]),
    };
    let mut buf = [0u8; 64];
    let owned;
    let ns_lower = if namespace.len() <= buf.len() {
        let b = &mut buf[..namespace.len()];
        b.copy_from_slice(namespace.as_bytes());
        b.make_ascii_lowercase();
        std::str::from_utf8(b).unwrap_or_default()
    } else {
        owned = namespace.to_ascii_lowercase();
        owned.as_str()
    };
    for &route in route_index().candidates(ns_lower, rest.len()) {
        if let Some(names) = route.matches(rest) {
            if !route.methods.contains(&req.method.as_str()) {
                return Err(method_not_allowed(req, route.methods));
            }
            return Ok(Matched {
                route,
                names,
                scope,
                namespace,
            });
        }
    }
    Err(unknown_route(req, namespace, rest))
}

/// Answers an ARM request inside `tx`: routing, `api-version`, the subscription and
/// resource group, registration, the token's tenant, RBAC, then the handler. HTTP requests
/// and internal calls ([`Tx::call`]) both come here.
pub(crate) fn pipeline(tx: &Tx, req: &Request) -> ArmResult<Response> {
    let split = id::split_provider_path(&req.segments);
    let m = find_route(req, &split)?;
    let rest: &[String] = match &split {
        Some(p) => &p.rest[..],
        None => &req.segments[..],
    };
    if !hooks::is_extension(m.namespace) && !is_plain_scope(m.scope) {
        // A provider's own types live in a subscription or resource group; under another
        // resource they do not exist (only extension types, such as role assignments, do).
        return Err(unknown_route(req, m.namespace, rest));
    }
    let api_version = api_version::require(req)?;
    if tx.config.strict_api_versions {
        check_api_version(m.namespace, rest, api_version)?;
    }
    let writes = creates_or_changes(req);
    let tenant = if m.namespace.is_empty() {
        check_scope_exists(tx, &req.path, false, writes)?
    } else {
        let tenant = check_scope_exists(tx, m.scope, true, writes)?;
        check_registered(tx, m.scope, m.namespace, m.route)?;
        tenant
    };
    let caller = tx.caller();
    let correlation_id = tx.correlation_id();
    let ctx = Ctx {
        req,
        caller: caller.as_ref(),
        scope: m.scope,
        namespace: m.namespace,
        names: m.names,
        api_version,
        correlation_id: &correlation_id,
    };
    check_token_tenant(tx, caller.as_ref(), tenant.as_deref())?;
    // With --enforce-rbac, a list the caller may not read as a whole is filtered to the items
    // it may read, as ARM does; anything else it may not do is refused.
    let mut filter_list = false;
    if tx.config.enforce_rbac {
        if let Err(e) = hooks::enforce_rbac(tx, &ctx, m.route) {
            filter_list = hooks::is_list(m.route, &req.method) && caller.is_some();
            if !filter_list {
                return Err(e);
            }
        }
    }
    if req.method == "PUT" {
        hooks::check_names(&m.namespace.to_ascii_lowercase(), rest)?;
    }
    crate::control::faults::panic_point(tx, req);
    let response = (m.route.handler)(tx, &ctx)?;
    Ok(match (filter_list, caller.as_ref()) {
        (true, Some(c)) => hooks::readable_only(tx, c, m.route, response),
        _ => response,
    })
}

/// The tenant (`""`), a subscription or a resource group: the scopes a provider's own
/// (non-extension) types live in.
fn is_plain_scope(scope: &str) -> bool {
    let parts = ScopeRef::parse(scope);
    scope.is_empty() || parts.is_subscription() || parts.is_resource_group()
}

fn unknown_route(req: &Request, namespace: &str, rest: &[String]) -> ArmError {
    if namespace.is_empty() {
        return ArmError::not_found("NotFound", format!("The requested path '{}' was not found.", req.path));
    }
    let type_name = rest.iter().step_by(2).cloned().collect::<Vec<_>>().join("/");
    ArmError::not_found(
        "InvalidResourceType",
        format!(
            "The resource type '{type_name}' could not be found in the namespace '{namespace}' for api version '{}'.",
            req.api_version().unwrap_or("")
        ),
    )
}

/// A token is good for the subscriptions of its own tenant only (ARM's 401
/// `InvalidAuthenticationTokenTenant`). `tenant`: that of the subscription the request is
/// in, read by [`check_scope_exists`].
fn check_token_tenant(w: &Tx, caller: Option<&Caller>, tenant: Option<&str>) -> ArmResult<()> {
    let (Some(caller), Some(tenant)) = (caller, tenant) else {
        return Ok(());
    };
    if caller.tenant_id.is_empty() || caller.tenant_id.eq_ignore_ascii_case(tenant) {
        return Ok(());
    }
    Err(ArmError::new(
        401,
        "InvalidAuthenticationTokenTenant",
        format!(
            "The access token is from the wrong issuer '{}/{}/'. It must match the tenant '{}/{tenant}/' associated with this subscription. Please use the authority (URL) '{}/{tenant}' to get the token.",
            w.base_url(),
            caller.tenant_id,
            w.base_url(),
            w.base_url()
        ),
    ))
}

/// A resource provider the subscription unregistered refuses its types (409
/// `MissingSubscriptionRegistration`); ARM's own namespaces are always registered.
fn check_registered(w: &Tx, scope: &str, namespace: &str, route: &routing::Route) -> ArmResult<()> {
    let always = route.namespace == "*"
        || namespace.eq_ignore_ascii_case("Microsoft.Resources")
        || namespace.eq_ignore_ascii_case("Microsoft.Authorization");
    match ScopeRef::parse(scope).subscription {
        Some(sub) if !always => hooks::ensure_registered(w, sub, namespace),
        _ => Ok(()),
    }
}

/// The subscription (and resource group) a path lives in must exist. `inside` is true when
/// the path names something inside the scope (a provider path), not the scope itself.
/// Answers the subscription's tenant (read in the same look-up), when the path is in one that
/// names it.
fn check_scope_exists(w: &Tx, path: &str, inside: bool, writes: bool) -> ArmResult<Option<String>> {
    let parts = ScopeRef::parse(path);
    let Some(sub) = parts.subscription else { return Ok(None) };
    if !id::is_guid(sub) {
        return Err(ArmError::bad_request(
            "InvalidSubscriptionId",
            format!("The provided subscription identifier '{sub}' is malformed or invalid."),
        ));
    }
    let mut key = String::with_capacity(path.len() + 16);
    key.push_str("/subscriptions/");
    key.push_str(sub);
    let Some(tenant) = w.store.body_field::<String>(&key, "tenantId") else {
        return Err(ArmError::subscription_not_found(sub));
    };
    if let Some(rg) = parts.resource_group {
        // The resource group's own path is answered by its handler (PUT creates it).
        if parts.is_resource || inside {
            key.push_str("/resourceGroups/");
            key.push_str(rg);
            // Read on every call inside a group: only its properties are read from the body.
            #[derive(serde::Deserialize)]
            struct GroupProperties {
                #[serde(rename = "provisioningState")]
                provisioning_state: Option<String>,
            }
            let deleting = w
                .store
                .body_field::<GroupProperties>(&key, "properties")
                .ok_or_else(|| ArmError::resource_group_not_found(rg))?
                .and_then(|p| p.provisioning_state)
                .is_some_and(|s| s == "Deleting");
            if deleting && writes {
                return Err(resource_group_being_deleted(rg));
            }
        }
    }
    Ok(tenant)
}

/// Whether a request creates or changes something (a list or credential POST does not;
/// a DELETE only takes away).
fn creates_or_changes(req: &Request) -> bool {
    match req.method.as_str() {
        "PUT" | "PATCH" => true,
        "POST" => !req
            .segments
            .last()
            .is_some_and(|s| s.len() >= 4 && s[..4].eq_ignore_ascii_case("list")),
        _ => false,
    }
}

/// A write into a resource group whose deletion is under way: ARM refuses it, so nothing is
/// left behind when the group goes (409 `ResourceGroupBeingDeleted`, the code ARM gives for
/// the group itself).
fn resource_group_being_deleted(rg: &str) -> ArmError {
    ArmError::conflict(
        "ResourceGroupBeingDeleted",
        format!("The resource group '{rg}' is in deprovisioning state and cannot perform this operation."),
    )
}

/// `--strict-api-versions`: the version must be one the type lists.
fn check_api_version(namespace: &str, rest: &[String], version: &str) -> ArmResult<()> {
    let Some(list) = hooks::api_versions(namespace, rest) else {
        return Ok(());
    };
    let arm_owned = namespace.is_empty()
        || namespace.eq_ignore_ascii_case("Microsoft.Resources")
        || namespace.eq_ignore_ascii_case("Microsoft.Authorization");
    let type_name = rest.first().map(String::as_str).unwrap_or("");
    let locations = hooks::region_display_names();
    let owner = if arm_owned {
        api_version::Owner::Arm
    } else {
        api_version::Owner::Provider {
            type_name,
            location: "",
            locations: &locations,
        }
    };
    api_version::check_strict(version, list, owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The route a scan of the whole table finds first: what the index must find.
    fn scanned<'s>(ns: &str, segs: &'s [String]) -> Option<(&'static routing::Route, Vec<&'s str>)> {
        let ns_lower = ns.to_ascii_lowercase();
        hooks::route_table().flat_map(|g| g.iter()).find_map(|route| {
            let ns_ok = route.namespace == ns_lower || (route.namespace == "*" && !ns_lower.is_empty());
            ns_ok.then(|| route.matches(segs)).flatten().map(|names| (route, names))
        })
    }

    /// Every route's own paths (names filled in, literals in two casings) under its namespace,
    /// another served namespace and one no route names: the index answers what the scan does.
    #[test]
    fn route_index_finds_what_a_scan_of_the_table_finds() {
        let namespaces = [
            "",
            "Microsoft.Resources",
            "microsoft.managedidentity",
            "MICROSOFT.AUTHORIZATION",
            "Contoso.Unknown",
            "*",
        ];
        let mut checked = 0;
        for route in hooks::route_table().flat_map(|g| g.iter()) {
            for upper in [false, true] {
                let segs: Vec<String> = route
                    .pattern
                    .iter()
                    .map(|p| match *p {
                        "*" => "name1".to_string(),
                        lit if upper => lit.to_ascii_uppercase(),
                        lit => lit.to_string(),
                    })
                    .collect();
                let own = [route.namespace];
                for ns in namespaces.iter().chain(own.iter()) {
                    let indexed = route_index()
                        .candidates(&ns.to_ascii_lowercase(), segs.len())
                        .iter()
                        .find_map(|r| r.matches(&segs).map(|n| (*r, n)));
                    let expected = scanned(ns, &segs);
                    assert_eq!(
                        indexed.as_ref().map(|(r, n)| (*r as *const routing::Route, n.clone())),
                        expected.as_ref().map(|(r, n)| (*r as *const routing::Route, n.clone())),
                        "namespace {ns:?}, segments {segs:?}"
                    );
                    checked += usize::from(expected.is_some());
                }
            }
        }
        assert!(checked > 100, "only {checked} paths matched a route");
    }
}
