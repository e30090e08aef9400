//! The dashboard at `/_azemu/ui`: a page for trainers and test authors that shows what azemu
//! holds (resources, the AKS node model and its identities, role assignments, the journal and
//! the activity log) and drives azemu's control API.
//!
//! The page is plain HTML, CSS and ES modules compiled into the binary (no build step, nothing
//! fetched from elsewhere). Its data comes from read-only JSON views under `/_azemu/ui/api/`
//! (control plane, no token, so the page works under `--enforce-rbac` too) and from a
//! server-sent event stream (`/_azemu/ui/stream`, see [`stream`]) that exists only while a
//! page is connected. Serving nothing costs nothing: there is no state and no task until a
//! page asks.

pub(crate) mod stream;

use crate::arm::{ArmError, ArmResult, Request, Response};
use crate::providers::hooks;
use crate::world::Tx;
use serde_json::{json, Value};

/// The files the page loads: name under `/_azemu/ui/`, content type, bytes. The page itself
/// (`index.html`, with `style.css` inlined) is built by [`index`].
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/style.css"),
    ),
    ("app.js", JS, include_bytes!("assets/app.js")),
    ("api.js", JS, include_bytes!("assets/api.js")),
    ("dom.js", JS, include_bytes!("assets/dom.js")),
    ("story.js", JS, include_bytes!("assets/story.js")),
    ("resources.js", JS, include_bytes!("assets/resources.js")),
    ("access.js", JS, include_bytes!("assets/access.js")),
    ("timeline.js", JS, include_bytes!("assets/timeline.js")),
    ("controls.js", JS, include_bytes!("assets/controls.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("assets/favicon.svg")),
];
const JS: &str = "text/javascript; charset=utf-8";

/// How many journal entries and events the timeline starts with.
const TIMELINE_DEFAULT: usize = 300;

const CLUSTER_KIND: &str = "Microsoft.ContainerService/managedClusters";
const REGISTRY_KIND: &str = "Microsoft.ContainerRegistry/registries";
const ASSIGNMENT_KIND: &str = "Microsoft.Authorization/roleAssignments";
const IDENTITY_KIND: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
/// The action an image pull needs (what AcrPull grants), the access view's default question.
const PULL_ACTION: &str = "Microsoft.ContainerRegistry/registries/pull/read";

/// `GET /_azemu/ui[/...]`; `segs` starts after `ui`.
pub(crate) fn get(w: &Tx, req: &Request, segs: &[&str]) -> ArmResult<Response> {
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    match l.as_slice() {
        [] | ["index.html"] => Ok(index()),
        ["api", "resources"] => Ok(Response::json_of(200, &resources(w))),
        ["api", "resource"] => resource(w, req),
        ["api", "clusters"] => Ok(Response::json_of(200, &clusters(w, req))),
        ["api", "access"] => Ok(Response::json_of(200, &access(w))),
        ["api", "timeline"] => timeline(w, req),
        ["api", "scenario.yaml"] => scenario_yaml(w),
        [name] => asset(name).ok_or_else(|| not_found(req)),
        _ => Err(not_found(req)),
    }
}

fn not_found(req: &Request) -> ArmError {
    ArmError::not_found("NotFound", format!("'{}' is not part of azemu's dashboard.", req.path))
}

/// The page, with the style sheet inlined (one round trip less before the first paint) and a
/// content security policy that allows exactly that style sheet. Built at the first request.
fn index() -> Response {
    use base64::Engine;
    static PAGE: std::sync::OnceLock<(Vec<u8>, String)> = std::sync::OnceLock::new();
    let (html, csp) = PAGE.get_or_init(|| {
        let css = include_str!("assets/style.css");
        let html = include_str!("assets/index.html").replace(
            r#"<link rel="stylesheet" href="/_azemu/ui/style.css">"#,
            &format!("<style>{css}</style>"),
        );
        let hash = base64::engine::general_purpose::STANDARD
            .encode(ring::digest::digest(&ring::digest::SHA256, css.as_bytes()).as_ref());
        (html.into_bytes(), csp(&format!(" 'sha256-{hash}'")))
    });
    Response::raw(200, html.clone(), "text/html; charset=utf-8")
        .header("X-Content-Type-Options", "nosniff")
        .header("Content-Security-Policy", csp.clone())
}

/// Everything the page loads comes from azemu itself.
fn csp(extra_style: &str) -> String {
    format!("default-src 'self'; img-src 'self' data:; style-src 'self'{extra_style}; frame-ancestors 'none'")
}

fn asset(name: &str) -> Option<Response> {
    let (_, ct, bytes) = ASSETS.iter().find(|(n, _, _)| *n == name)?;
    Some(
        Response::raw(200, bytes.to_vec(), *ct)
            .header("X-Content-Type-Options", "nosniff")
            .header("Content-Security-Policy", csp("")),
    )
}

fn name_of(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// `GET /_azemu/ui/api/resources`: every subscription, resource group and resource (without
/// bodies) in creation order, and the long-running operations (running first, then the last
/// ones that ended) with their progress where it is known.
fn resources(w: &Tx) -> Value {
    let now = w.now();
    let items: Vec<Value> = w
        .store
        .list(|r| !r.kind.starts_with("azemu/") && !r.kind.eq_ignore_ascii_case("Microsoft.Resources/tenants"))
        .iter()
        .map(|r| {
            let p = &r.body["properties"];
            json!({
                "id": r.id,
                "type": r.kind,
                "name": r.body["name"].as_str().or(r.body["displayName"].as_str()).unwrap_or(name_of(&r.id)),
                "location": r.body["location"],
                "provisioningState": p["provisioningState"],
                "tenantId": r.body["tenantId"],
                "state": r.body["state"],
            })
        })
        .collect();
    let mut ops = w.operations();
    ops.sort_by_key(|o| (o.end.is_some(), std::cmp::Reverse(o.start)));
    let running = ops.iter().filter(|o| o.end.is_none()).count();
    let operations: Vec<Value> = ops
        .iter()
        .take(running + 10)
        .map(|o| {
            json!({
                "id": o.id,
                "resourceId": o.resource_id,
                "activity": o.activity,
                "status": o.status,
                "startTime": crate::arm::time::rfc3339(o.start),
                "endTime": o.end.map(crate::arm::time::rfc3339),
                "elapsedMs": o.end.unwrap_or(now) - o.start,
                "progress": w.operation_progress(&o.id),
                "error": o.error.as_ref().map(|e| e.inner_json()),
            })
        })
        .collect();
    json!({
        "time": crate::arm::time::rfc3339(now),
        "virtualClock": w.clock.is_virtual(),
        "defaultTenantId": w.config.tenant_id,
        "defaultSubscriptionId": w.config.subscription_id,
        "clientId": w.config.client_id,
        "enforceRbac": w.config.enforce_rbac,
        "items": items,
        "operations": operations,
    })
}

/// `GET /_azemu/ui/api/resource?id=…`: the resource as GET answers it, and its running operation.
fn resource(w: &Tx, req: &Request) -> ArmResult<Response> {
    let id = req
        .query("id")
        .ok_or_else(|| ArmError::bad_request("MissingParameter", "The query parameter 'id' is required."))?;
    let rec = w
        .store
        .get(id)
        .filter(|r| !r.kind.starts_with("azemu/"))
        .ok_or_else(|| ArmError::not_found("ResourceNotFound", format!("No resource has the id '{id}'.")))?;
    let running = w.ops.running_on(&rec.id).map(
        |o| json!({ "id": o.id, "activity": o.activity, "status": o.status, "progress": w.operation_progress(&o.id) }),
    );
    Ok(Response::json_of(
        200,
        &json!({ "id": rec.id, "type": rec.kind, "body": rec.body, "operation": running }),
    ))
}

/// A GET of azemu's own AKS views, as if requested at `path?query`.
fn aks_view(w: &Tx, req: &Request, segs: &[&str], query: Vec<(String, String)>) -> Option<Value> {
    let sub = Request {
        method: "GET".into(),
        path: format!("/_azemu/{}", segs.join("/")),
        segments: std::iter::once("_azemu")
            .chain(segs.iter().copied())
            .map(str::to_string)
            .collect(),
        query,
        headers: Default::default(),
        body: Vec::new(),
        base_url: req.base_url.clone(),
    };
    match hooks::provider_view(w, &sub, segs)? {
        Ok(r) => r.body.into_json(),
        Err(e) => Some(json!({ "error": e.inner_json() })),
    }
}

/// The resource, name and ids of a user-assigned identity, from its record.
fn identity_summary(w: &Tx, resource_id: &str) -> Value {
    match w
        .store
        .get(resource_id)
        .filter(|r| r.kind.eq_ignore_ascii_case(IDENTITY_KIND))
    {
        Some(r) => json!({
            "resourceId": r.id,
            "name": r.body["name"],
            "clientId": r.body["properties"]["clientId"],
            "principalId": r.body["properties"]["principalId"],
        }),
        None => json!({ "resourceId": resource_id, "name": name_of(resource_id), "missing": true }),
    }
}

/// `GET /_azemu/ui/api/clusters`: per cluster azemu's node model view (as at
/// `/_azemu/clusters/{sub}/{rg}/{name}`), the control-plane identity, the image family of each
/// pool, the running operation, and the image pull check against each registry of the
/// cluster's subscription (image `{loginServer}/app:v1`).
fn clusters(w: &Tx, req: &Request) -> Value {
    let registries = w.store.list(|r| r.kind.eq_ignore_ascii_case(REGISTRY_KIND));
    let catalog = aks_view(w, req, &["node-images"], Vec::new()).unwrap_or(Value::Null);
    let families: Vec<&str> = catalog["families"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["family"].as_str()).collect())
        .unwrap_or_default();
    // A node image version is its family's name, a dash, and the release.
    let family_of = |image: &str| {
        families
            .iter()
            .find(|f| image.len() > f.len() && image.starts_with(*f) && image.as_bytes()[f.len()] == b'-')
            .map(|f| f.to_string())
    };
    let value: Vec<Value> = w
        .store
        .list(|r| r.kind.eq_ignore_ascii_case(CLUSTER_KIND))
        .iter()
        .map(|rec| {
            let parts = crate::arm::id::ScopeParts::parse(&rec.id);
            let sub = parts.subscription.clone().unwrap_or_default();
            let rg = parts.resource_group.clone().unwrap_or_default();
            let view = ["clusters", &sub, &rg, name_of(&rec.id)];
            let Some(mut v) = aks_view(w, req, &view, Vec::new()).filter(|v| v.get("error").is_none()) else {
                return json!({ "id": rec.id, "name": rec.body["name"], "pools": [] });
            };
            v["subscriptionId"] = json!(sub);
            v["tenantId"] = w
                .store
                .with(&format!("/subscriptions/{sub}"), |s| s.body["tenantId"].clone())
                .unwrap_or(Value::Null);
            v["resourceGroup"] = json!(rg);
            v["location"] = rec.body["location"].clone();
            v["kubernetesVersion"] = rec.body["properties"]["kubernetesVersion"].clone();
            let identity = &rec.body["identity"];
            let uais: Vec<Value> = identity["userAssignedIdentities"]
                .as_object()
                .map(|m| m.keys().map(|k| identity_summary(w, k)).collect())
                .unwrap_or_default();
            v["controlPlaneIdentity"] = json!({
                "type": identity["type"].as_str().unwrap_or("None"),
                "principalId": identity["principalId"],
                "userAssignedIdentities": uais,
            });
            if let Some(rid) = v["kubeletIdentity"]["resourceId"].as_str().map(str::to_string) {
                v["kubeletIdentity"]["name"] = identity_summary(w, &rid)["name"].clone();
            }
            if let Some(pools) = v["pools"].as_array_mut() {
                for p in pools {
                    let image = p["nodeImageVersion"].as_str().unwrap_or_default();
                    p["nodeImageFamily"] = json!(family_of(image));
                    p["operation"] = running_json(w, p["id"].as_str().unwrap_or_default());
                }
            }
            v["operation"] = running_json(w, &rec.id);
            let checks: Vec<Value> = registries
                .iter()
                .filter(|r| crate::arm::id::ScopeParts::parse(&r.id).subscription.as_deref() == Some(sub.as_str()))
                .filter_map(|r| {
                    let login = r.body["properties"]["loginServer"].as_str()?;
                    let image = format!("{login}/app:v1");
                    let segs = ["clusters", &sub, &rg, name_of(&rec.id), "pull-check"];
                    let result = aks_view(w, req, &segs, vec![("image".into(), image.clone())])?;
                    Some(json!({ "registry": r.id, "name": r.body["name"], "image": image, "result": result }))
                })
                .collect();
            v["pullChecks"] = json!(checks);
            v
        })
        .collect();
    json!({ "value": value, "nodeImages": catalog["families"] })
}

fn running_json(w: &Tx, resource_id: &str) -> Value {
    match w.ops.running_on(resource_id) {
        Some(o) if !o.is_done() => json!({
            "id": o.id,
            "resourceId": o.resource_id,
            "activity": o.activity,
            "status": o.status,
            "progress": w.operation_progress(&o.id),
        }),
        _ => Value::Null,
    }
}

/// `GET /_azemu/ui/api/access`: the principals of the directory (with the identity resource
/// each managed identity belongs to) and every role assignment with its role's name.
fn access(w: &Tx) -> Value {
    let principals: Vec<Value> = w
        .directory
        .all()
        .iter()
        .map(|p| {
            json!({
                "objectId": p.object_id,
                "appId": p.app_id,
                "displayName": p.display_name,
                "kind": p.kind,
                "tenantId": p.tenant_id,
                "resourceId": p.alternative_names.iter().find(|n| n.starts_with('/')),
            })
        })
        .collect();
    let assignments: Vec<Value> = w
        .store
        .list(|r| r.kind.eq_ignore_ascii_case(ASSIGNMENT_KIND))
        .iter()
        .map(|r| {
            let p = &r.body["properties"];
            let def = p["roleDefinitionId"].as_str().unwrap_or_default();
            let guid = hooks::role_guid(def);
            let role = hooks::find_role(w, &guid);
            json!({
                "id": r.id,
                "principalId": p["principalId"],
                "principalType": p["principalType"],
                "roleDefinitionId": def,
                "roleName": role.as_ref().map(|x| x.name().to_string()).unwrap_or(guid),
                "scope": p["scope"],
            })
        })
        .collect();
    json!({
        "principals": principals,
        "assignments": assignments,
        "pullAction": PULL_ACTION,
    })
}

/// `GET /_azemu/ui/api/timeline[?limit=N]`: the last N journal entries and events, and the
/// sequence numbers the event stream continues from.
fn timeline(w: &Tx, req: &Request) -> ArmResult<Response> {
    let limit = match req.query("limit") {
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| ArmError::bad_request("InvalidQueryParameterValue", "limit must be a number."))?,
        None => TIMELINE_DEFAULT,
    };
    let (journal_seq, journal) = crate::control::harness(w).journal.tail(limit);
    let (events_seq, mut events) = w.activity_since(0);
    let skip = events.len().saturating_sub(limit);
    events.drain(..skip);
    Ok(Response::json_of(
        200,
        &json!({ "journal": journal, "events": events, "journalSequence": journal_seq, "eventsSequence": events_seq }),
    ))
}

/// `GET /_azemu/ui/api/scenario.yaml`: the journal as a scenario, as `azemu journal save` writes it.
fn scenario_yaml(w: &Tx) -> ArmResult<Response> {
    let all = crate::control::harness(w).journal.query(None, None, None, None);
    let doc = crate::control::journal::as_scenario(&all);
    let yaml = serde_yaml_ng::to_string(&doc).map_err(|e| ArmError::internal(e.to_string()))?;
    Ok(Response::raw(200, yaml.into_bytes(), "application/yaml; charset=utf-8")
        .header("Content-Disposition", "attachment; filename=\"recorded-scenario.yaml\""))
}
