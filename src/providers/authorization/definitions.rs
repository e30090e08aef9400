//! Role definitions: the built-in catalog (real ids, names, descriptions and permissions)
//! plus custom roles. Readable at any scope, by id in the subscription and the tenant form,
//! and listed with `$filter=roleName eq '…'` (case-insensitive: az sends `acrpull`) or
//! `type eq 'BuiltInRole'|'CustomRole'`.

use crate::arm::id::{self, ScopeParts};
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::providers::common::schema;
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};
use std::sync::OnceLock;

pub(crate) const KIND: &str = "Microsoft.Authorization/roleDefinitions";

/// Well-known built-in role ids used by azemu's own rules.
pub(crate) const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

/// One role: its GUID, name and permission blocks.
#[derive(Debug, Clone)]
pub(crate) struct Role {
    pub(crate) guid: String,
    pub(crate) properties: Value,
}

impl Role {
    pub(crate) fn name(&self) -> &str {
        self.properties["roleName"].as_str().unwrap_or("")
    }

    /// The ARM shape, with the id in the form that fits `scope`.
    pub(crate) fn to_json(&self, scope: &str) -> Value {
        json!({
            "id": definition_id(scope, &self.guid),
            "name": self.guid,
            "type": KIND,
            "properties": self.properties,
        })
    }
}

/// `/subscriptions/{s}/providers/…/roleDefinitions/{guid}` inside a subscription, else the tenant form.
pub(crate) fn definition_id(scope: &str, guid: &str) -> String {
    match ScopeParts::parse(scope).subscription {
        Some(sub) => {
            format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
        }
        None => format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
    }
}

/// The built-in catalog, parsed once from `builtin_roles.json`.
pub(crate) fn builtins() -> &'static [Role] {
    static CATALOG: OnceLock<Vec<Role>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let doc: Value =
            serde_json::from_str(include_str!("builtin_roles.json")).expect("builtin_roles.json is valid JSON");
        doc["roles"]
            .as_array()
            .map(|roles| {
                roles
                    .iter()
                    .map(|r| {
                        let mut props = json!({
                            "roleName": r["roleName"],
                            "type": "BuiltInRole",
                            "description": r["description"],
                            "assignableScopes": ["/"],
                            "permissions": r["permissions"],
                            "createdOn": r.get("createdOn").cloned().unwrap_or(Value::Null),
                            "updatedOn": r.get("updatedOn").cloned().unwrap_or(Value::Null),
                            "createdBy": null,
                            "updatedBy": null,
                        });
                        if props["createdOn"].is_null() {
                            props["createdOn"] = json!("2015-02-02T21:55:09.8806423Z");
                        }
                        if props["updatedOn"].is_null() {
                            props["updatedOn"] = props["createdOn"].clone();
                        }
                        Role {
                            guid: r["name"].as_str().unwrap_or_default().to_string(),
                            properties: props,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

fn custom_roles(w: &Tx) -> Vec<Role> {
    w.store
        .list(|r| r.kind == KIND)
        .into_iter()
        .map(|r| Role {
            guid: r.body["name"].as_str().unwrap_or_default().to_string(),
            properties: r.body["properties"].clone(),
        })
        .collect()
}

/// A role by GUID (built-in or custom).
pub(crate) fn find(w: &Tx, guid: &str) -> Option<Role> {
    builtins()
        .iter()
        .find(|r| r.guid.eq_ignore_ascii_case(guid))
        .cloned()
        .or_else(|| custom_roles(w).into_iter().find(|r| r.guid.eq_ignore_ascii_case(guid)))
}

/// The GUID at the end of a role definition id (or the GUID itself).
pub(crate) fn guid_of(definition_id: &str) -> String {
    id::name_of(definition_id)
}

/// Roles usable at `scope`: built-ins everywhere, custom roles where one of their
/// assignable scopes is at or above `scope`.
fn visible(w: &Tx, scope: &str) -> Vec<Role> {
    let mut out: Vec<Role> = builtins().to_vec();
    out.extend(custom_roles(w).into_iter().filter(|r| {
        r.properties["assignableScopes"]
            .as_array()
            .is_some_and(|a| a.iter().filter_map(Value::as_str).any(|s| id::is_at_or_above(s, scope)))
    }));
    out
}

type RolePredicate = Box<dyn Fn(&Role) -> bool>;

/// `roleName eq '…'` (case-insensitive: az sends `acrpull`) and `type eq 'BuiltInRole'|'CustomRole'`,
/// alone or joined by `and`.
fn filter_pred(filter: Option<&str>) -> ArmResult<RolePredicate> {
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(Box::new(|_| true));
    };
    let unsupported = || {
        ArmError::bad_request(
            "UnsupportedQuery",
            format!(
                "The filter '{f}' is not supported. Use roleName eq '<name>' or type eq 'BuiltInRole'|'CustomRole'."
            ),
        )
    };
    let expr = crate::arm::filter::parse(f).map_err(|_| unsupported())?;
    let (mut name, mut kind) = (None, None);
    for term in expr.conjuncts().ok_or_else(unsupported)? {
        match term.eq_string() {
            Some((p, v)) if p.eq_ignore_ascii_case("roleName") => name = Some(v.to_string()),
            Some((p, v)) if p.eq_ignore_ascii_case("type") => kind = Some(v.to_string()),
            _ => return Err(unsupported()),
        }
    }
    Ok(Box::new(move |r| {
        name.as_ref().is_none_or(|n| r.name().eq_ignore_ascii_case(n))
            && kind
                .as_ref()
                .is_none_or(|k| r.properties["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(k)))
    }))
}

/// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions`.
pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let pred = filter_pred(ctx.req.query("$filter"))?;
    let items: Vec<Value> = visible(w, ctx.scope)
        .iter()
        .filter(|r| pred(r))
        .map(|r| r.to_json(ctx.scope))
        .collect();
    Ok(Response::ok(paging::page(ctx.req, items)?))
}

/// `GET/PUT/DELETE {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
pub(crate) fn handle(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let guid = ctx.name(0);
    match ctx.method() {
        "GET" => find(w, guid)
            .map(|r| Response::ok(r.to_json(ctx.scope)))
            .ok_or_else(|| role_definition_not_found(guid)),
        "PUT" => put_custom(w, ctx, guid),
        _ => delete_custom(w, ctx, guid),
    }
}

pub(crate) fn role_definition_not_found(guid: &str) -> ArmError {
    ArmError::not_found(
        "RoleDefinitionDoesNotExist",
        format!("The specified role definition with ID '{guid}' does not exist."),
    )
}

fn custom_record_id(scope: &str, guid: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}")
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// A custom role is addressed at the scope it was created at: a PUT of its GUID at another
/// scope would rewrite it from there (the Owner of one resource group rewriting a
/// subscription's role), so ARM refuses it. Role definition ids are unique in the directory.
/// Source: learn.microsoft.com/azure/role-based-access-control/custom-roles ("the role
/// definition ID ... unique"); the error code is azemu's choice (README, fidelity).
pub(crate) fn role_definition_addressed_at_its_own_scope(record_id: &str, scope: &str, guid: &str) -> ArmResult<()> {
    let own = record_id
        .rsplit_once("/providers/Microsoft.Authorization/roleDefinitions/")
        .map(|(s, _)| s)
        .unwrap_or("");
    if own
        .trim_end_matches('/')
        .eq_ignore_ascii_case(scope.trim_end_matches('/'))
    {
        return Ok(());
    }
    Err(ArmError::conflict(
        "RoleDefinitionWithSameIdExists",
        format!("A role definition with ID '{guid}' already exists at scope '{own}'; it can be changed only there."),
    ))
}

/// Changing a custom role changes what it grants at every scope it can be assigned at, so the
/// caller needs `roleDefinitions/write` at each of them (old and new), not only where it
/// addressed the role. Source: learn.microsoft.com/azure/role-based-access-control/custom-roles
/// ("To create or update a custom role, you must have Microsoft.Authorization/roleDefinitions/write
/// permission on all AssignableScopes").
pub(crate) fn caller_may_write_every_assignable_scope(w: &Tx, ctx: &Ctx, scopes: &[String]) -> ArmResult<()> {
    let Some(caller) = ctx.caller.filter(|_| w.config.enforce_rbac) else {
        return Ok(());
    };
    const ACTION: &str = "Microsoft.Authorization/roleDefinitions/write";
    for scope in scopes {
        if !super::engine::check(w, &caller.object_id, ACTION, scope).allowed {
            return Err(super::enforce::authorization_failed(
                &caller.app_id,
                &caller.object_id,
                ACTION,
                scope,
            ));
        }
    }
    Ok(())
}

fn put_custom(w: &Tx, ctx: &Ctx, guid: &str) -> ArmResult<Response> {
    if !id::is_guid(guid) {
        return Err(ArmError::bad_request(
            "InvalidRoleDefinitionId",
            format!("The role definition ID '{guid}' is not valid. The role definition ID must be a GUID."),
        ));
    }
    if builtins().iter().any(|r| r.guid.eq_ignore_ascii_case(guid)) {
        return Err(ArmError::new(
            403,
            "BuiltInRoleDefinitionCannotBeModified",
            "Built-in role definitions cannot be modified.",
        ));
    }
    let body = ctx.req.json_object()?;
    schema::validate("roleDefinition", &body)?;
    let p = &body["properties"];
    let role_name = p["roleName"].as_str().unwrap_or_default();
    if visible(w, ctx.scope)
        .iter()
        .any(|r| r.name().eq_ignore_ascii_case(role_name) && !r.guid.eq_ignore_ascii_case(guid))
    {
        return Err(ArmError::conflict(
            "RoleDefinitionWithSameNameExists",
            format!("A custom role with the same name '{role_name}' already exists in this directory."),
        ));
    }
    let scopes: Vec<String> = p["assignableScopes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if scopes.is_empty() {
        return Err(ArmError::bad_request(
            "InvalidAssignableScopes",
            "The role definition must have at least one assignable scope.",
        ));
    }
    let existing = w
        .store
        .list(|r| r.kind == KIND && r.body["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(guid)))
        .into_iter()
        .next();
    if let Some(e) = &existing {
        role_definition_addressed_at_its_own_scope(&e.id, ctx.scope, guid)?;
    }
    let mut changed: Vec<String> = scopes.clone();
    if let Some(e) = &existing {
        changed.extend(string_list(&e.body["properties"]["assignableScopes"]));
    }
    caller_may_write_every_assignable_scope(w, ctx, &changed)?;
    let now = crate::arm::time::rfc3339(w.now());
    let created = existing
        .as_ref()
        .and_then(|r| r.body["properties"]["createdOn"].as_str().map(str::to_string))
        .unwrap_or_else(|| now.clone());
    let props = json!({
        "roleName": role_name,
        "type": "CustomRole",
        "description": p["description"].as_str().unwrap_or_default(),
        "assignableScopes": scopes,
        "permissions": p["permissions"].clone(),
        "createdOn": created,
        "updatedOn": now,
        "createdBy": ctx.caller.map(|c| c.object_id.clone()),
        "updatedBy": ctx.caller.map(|c| c.object_id.clone()),
    });
    let role = Role {
        guid: guid.to_ascii_lowercase(),
        properties: props,
    };
    let doc = role.to_json(ctx.scope);
    let rid = existing
        .map(|r| r.id)
        .unwrap_or_else(|| custom_record_id(ctx.scope, &role.guid));
    // The 2022-04-01 spec lists only 201 for `RoleDefinitions_CreateOrUpdate`, update included.
    w.store.put(Record::new(rid, KIND, doc.clone()));
    Ok(Response::json(201, doc))
}

fn delete_custom(w: &Tx, ctx: &Ctx, guid: &str) -> ArmResult<Response> {
    if builtins().iter().any(|r| r.guid.eq_ignore_ascii_case(guid)) {
        return Err(ArmError::new(
            403,
            "BuiltInRoleDefinitionCannotBeModified",
            "Built-in role definitions cannot be deleted.",
        ));
    }
    let found = w
        .store
        .list(|r| r.kind == KIND && r.body["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(guid)))
        .into_iter()
        .next();
    let Some(rec) = found else {
        return Ok(Response::empty(204));
    };
    let in_use = w.store.list(|r| {
        r.kind == super::assignments::KIND
            && guid_of(r.body["properties"]["roleDefinitionId"].as_str().unwrap_or("")).eq_ignore_ascii_case(guid)
    });
    if !in_use.is_empty() {
        return Err(ArmError::conflict("RoleDefinitionHasAssignments", "There are existing role assignments referencing role. Delete the role assignments before deleting the role definition."));
    }
    w.store.remove(&rec.id);
    Ok(Response::ok(
        Role {
            guid: guid.to_string(),
            properties: rec.body["properties"].clone(),
        }
        .to_json(ctx.scope),
    ))
}
