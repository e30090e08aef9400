//! From a decoded request to a response: which part of azemu answers, authentication,
//! `api-version`, existence of the subscription and resource group, RBAC, and the headers
//! every ARM response carries.

use crate::arm::id::{self, ScopeParts};
use crate::arm::{api_version, ArmError, ArmResult, Request, Response};
use crate::entra::{self, Caller};
use crate::providers::hooks;
use crate::routing::{self, Ctx};
use crate::world::World;

/// Answers one request. Never panics on input: every failure is an error response.
pub fn handle(w: &World, req: &Request, correlation_id: &str) -> Response {
    w.settle();
    let segs = &req.segments;
    let (mut b1, mut b2) = ([0u8; 16], [0u8; 16]);
    match (lower(segs.first(), &mut b1), lower(segs.get(1), &mut b2)) {
        ("_azemu", _) => crate::control::handle(w, req),
        ("metadata", "endpoints") if segs.len() == 2 => only(req, &["GET"], || hooks::metadata_endpoints(w, req)),
        ("metadata", "identity") => hooks::imds_token(w, req),
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
    let claims = if w.config.no_auth {
        entra::token::decode_claims(token)
    } else {
        w.signer.verify(token)
    };
    if let Some(aud) = claims
        .as_ref()
        .filter(|_| !w.config.no_auth)
        .map(|c| c["aud"].as_str().unwrap_or(""))
    {
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
    }
    match claims.as_ref().and_then(Caller::from_claims) {
        Some(c) => Ok(Some(c)),
        None if w.config.no_auth => Ok(None),
        None => Err(
            ArmError::new(401, "InvalidAuthenticationToken", "The access token is invalid.")
                .with_header("WWW-Authenticate", www_authenticate(w)),
        ),
    }
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

fn arm_inner(w: &World, req: &Request, correlation_id: &str) -> ArmResult<Response> {
    let caller = authenticate(w, req)?;
    crate::control::faults::apply(w, req)?;
    let segs = &req.segments;
    let split = id::split_provider_path(segs);
    let (scope, namespace, rest): (String, String, &[String]) = match &split {
        Some(p) => (p.scope.clone(), p.namespace.clone(), &p.rest[..]),
        None => (String::new(), String::new(), &segs[..]),
    };
    let ns_lower = namespace.to_ascii_lowercase();
    let mut matched = None;
    for group in routing::table() {
        for route in group.iter() {
            let ns_ok = route.namespace == ns_lower || (route.namespace == "*" && !ns_lower.is_empty());
            if !ns_ok {
                continue;
            }
            if let Some(names) = route.matches(rest) {
                matched = Some((route, names));
                break;
            }
        }
        if matched.is_some() {
            break;
        }
    }
    let Some((route, names)) = matched else {
        return Err(unknown_route(req, &namespace, rest));
    };
    if !route.methods.contains(&req.method.as_str()) {
        return Err(method_not_allowed(req, route.methods));
    }
    let api_version = api_version::require(req)?;
    if w.config.strict_api_versions {
        check_api_version(&namespace, rest, api_version)?;
    }
    if namespace.is_empty() {
        check_scope_exists(w, &req.path, false)?;
    } else {
        check_scope_exists(w, &scope, true)?;
        check_registered(w, &scope, &namespace, route)?;
    }
    let ctx = Ctx {
        req,
        caller: caller.as_ref(),
        scope: &scope,
        namespace: &namespace,
        names,
        api_version,
        correlation_id,
    };
    check_token_tenant(
        w,
        caller.as_ref(),
        if namespace.is_empty() { &req.path } else { &scope },
    )?;
    // With --enforce-rbac, a list the caller may not read as a whole is filtered to the items
    // it may read, as ARM does; anything else it may not do is refused.
    let mut filter_list = false;
    if w.config.enforce_rbac {
        if let Err(e) = hooks::enforce_rbac(w, &ctx, route) {
            filter_list = hooks::is_list(route, &req.method) && caller.is_some();
            if !filter_list {
                return Err(e);
            }
        }
    }
    if req.method == "PUT" {
        hooks::check_names(&ns_lower, rest)?;
    }
    let mutating = !matches!(req.method.as_str(), "GET" | "HEAD");
    let _guard = mutating.then(|| w.write());
    let response = (route.handler)(w, &ctx)?;
    Ok(match (filter_list, caller.as_ref()) {
        (true, Some(c)) => hooks::readable_only(w, c, route, response),
        _ => response,
    })
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
/// `InvalidAuthenticationTokenTenant`).
fn check_token_tenant(w: &World, caller: Option<&Caller>, path: &str) -> ArmResult<()> {
    let Some(caller) = caller else { return Ok(()) };
    let Some(sub) = ScopeParts::parse(path).subscription else {
        return Ok(());
    };
    let Some(tenant) = hooks::subscription_tenant(w, &sub) else {
        return Ok(());
    };
    if caller.tenant_id.is_empty() || caller.tenant_id.eq_ignore_ascii_case(&tenant) {
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
fn check_registered(w: &World, scope: &str, namespace: &str, route: &routing::Route) -> ArmResult<()> {
    let always = route.namespace == "*"
        || namespace.eq_ignore_ascii_case("Microsoft.Resources")
        || namespace.eq_ignore_ascii_case("Microsoft.Authorization");
    match id::ScopeRef::parse(scope).subscription {
        Some(sub) if !always => hooks::ensure_registered(w, sub, namespace),
        _ => Ok(()),
    }
}

/// The subscription (and resource group) a path lives in must exist. `inside` is true when
/// the path names something inside the scope (a provider path), not the scope itself.
fn check_scope_exists(w: &World, path: &str, inside: bool) -> ArmResult<()> {
    let parts = id::ScopeRef::parse(path);
    let Some(sub) = parts.subscription else { return Ok(()) };
    if !id::is_guid(sub) {
        return Err(ArmError::bad_request(
            "InvalidSubscriptionId",
            format!("The provided subscription identifier '{sub}' is malformed or invalid."),
        ));
    }
    let mut key = String::with_capacity(path.len() + 16);
    key.push_str("/subscriptions/");
    key.push_str(sub);
    if !w.store.contains(&key) {
        return Err(ArmError::subscription_not_found(sub));
    }
    if let Some(rg) = parts.resource_group {
        // The resource group's own path is answered by its handler (PUT creates it).
        if parts.is_resource || inside {
            key.push_str("/resourceGroups/");
            key.push_str(rg);
            if !w.store.contains(&key) {
                return Err(ArmError::resource_group_not_found(rg));
            }
        }
    }
    Ok(())
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
