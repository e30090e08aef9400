//! Role assignments at any scope: subscription, resource group, resource, nested resource.
//!
//! `properties.scope` is returned exactly as the scope was written in the URL (az compares it
//! to its own string, case-sensitively). The rules below carry Azure's codes and messages.

use super::definitions;
use crate::arm::id::{self, ScopeParts};
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::entra::PrincipalKind;
use crate::providers::common::schema;
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

pub(crate) const KIND: &str = "Microsoft.Authorization/roleAssignments";

/// Rule: the assignment name must be a GUID.
/// Source: aks-rules.md i4 (Azure/azure-service-operator #2586): 400 `InvalidRoleAssignmentId`.
pub(crate) fn invalid_role_assignment_id(name: &str) -> ArmResult<()> {
    if id::is_guid(name) {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidRoleAssignmentId",
            format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
        ))
    }
}

/// Rule: the principal id must be a GUID.
/// Source: aks-rules.md i5 (Azure/azure-powershell #16627): 400 `InvalidPrincipalId`.
pub(crate) fn invalid_principal_id(principal_id: &str) -> ArmResult<()> {
    if id::is_guid(principal_id) {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidPrincipalId",
            format!("The Principal ID '{principal_id}' is not valid. Principal ID must be a GUID."),
        ))
    }
}

/// Rule: an unknown principal is refused unless `principalType` is given (which skips the
/// directory look-up, as ARM does to tolerate replication delay). A principal younger than
/// `--principal-propagation-delay` counts as unknown.
/// Source: aks-rules.md i2/i3: 400 `PrincipalNotFound`.
pub(crate) fn principal_not_found_unless_principal_type_given(
    w: &Tx,
    principal_id: &str,
    principal_type: Option<&str>,
    tenant_id: &str,
) -> ArmResult<()> {
    if principal_type.is_some() {
        return Ok(());
    }
    let visible = w
        .directory
        .get(principal_id)
        .is_some_and(|p| w.now().saturating_sub(p.created) >= w.config.principal_propagation_delay_ms);
    if visible {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "PrincipalNotFound",
        format!(
            "Principal {} does not exist in the directory {tenant_id}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
            principal_id.replace('-', "")
        ),
    ))
}

/// The assignments of one (scope, principal, role) triple.
fn assignments_of(w: &Tx, scope: &str, principal_id: &str, role_guid: &str) -> Vec<Record> {
    w.store.list(|r| {
        let p = &r.body["properties"];
        r.kind == KIND
            && id::same(p["scope"].as_str().unwrap_or(""), scope)
            && p["principalId"]
                .as_str()
                .is_some_and(|x| x.eq_ignore_ascii_case(principal_id))
            && definitions::guid_of(p["roleDefinitionId"].as_str().unwrap_or("")).eq_ignore_ascii_case(role_guid)
    })
}

/// Rule: one (scope, principal, role) triple has one assignment; another name → 409.
/// Source: aks-rules.md i1 (Azure/azure-cli PR #8599): 409 `RoleAssignmentExists`.
pub(crate) fn role_assignment_exists(
    w: &Tx,
    scope: &str,
    principal_id: &str,
    role_guid: &str,
    name: &str,
) -> ArmResult<()> {
    let dup = assignments_of(w, scope, principal_id, role_guid);
    let dup: Vec<&Record> = dup
        .iter()
        .filter(|r| !r.body["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .collect();
    match dup.first() {
        None => Ok(()),
        Some(existing) => Err(ArmError::conflict(
            "RoleAssignmentExists",
            format!(
                "The role assignment already exists. The ID of the existing role assignment is {}.",
                existing.body["name"].as_str().unwrap_or("").replace('-', "")
            ),
        )),
    }
}

/// Rule: the role definition an assignment names must exist.
/// Source: Azure's 400 `RoleDefinitionDoesNotExist` ("The specified role definition with ID '…' does not exist.").
fn role_definition_must_exist(w: &Tx, role_guid: &str) -> ArmResult<()> {
    match definitions::find(w, role_guid) {
        Some(_) => Ok(()),
        None => Err(ArmError::bad_request(
            "RoleDefinitionDoesNotExist",
            format!("The specified role definition with ID '{role_guid}' does not exist."),
        )),
    }
}

/// Rule: the scope must exist (checked for the resource types azemu serves; others are
/// accepted as given). Resource groups and subscriptions are checked by the router.
fn scope_must_exist(w: &Tx, scope: &str) -> ArmResult<()> {
    let parts = ScopeParts::parse(scope);
    if !parts.is_resource || parts.resource_group.is_none() {
        return Ok(());
    }
    let segs = id::segments(scope);
    let Some(p) = id::split_provider_path(&segs) else {
        return Ok(());
    };
    let served = crate::providers::PROVIDERS
        .iter()
        .any(|x| x.namespace.eq_ignore_ascii_case(&p.namespace));
    if !served || w.store.contains(scope) {
        return Ok(());
    }
    let type_path = format!(
        "{}/{}",
        p.namespace,
        p.rest.iter().step_by(2).cloned().collect::<Vec<_>>().join("/")
    );
    Err(ArmError::resource_not_found(
        &type_path,
        &id::name_of(scope),
        parts.resource_group.as_deref().unwrap_or(""),
    ))
}

fn assignment_id(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

fn not_found(name: &str) -> ArmError {
    ArmError::not_found(
        "RoleAssignmentNotFound",
        format!("The role assignment '{name}' is not found."),
    )
}

/// `GET/PUT/DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
pub(crate) fn handle(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let name = ctx.name(0);
    let rid = assignment_id(ctx.scope, name);
    match ctx.method() {
        "GET" => w
            .store
            .get(&rid)
            .filter(|r| r.kind == KIND)
            .map(|r| Response::ok(r.body))
            .ok_or_else(|| not_found(name)),
        "PUT" => put(w, ctx, name, &rid),
        _ => match w.store.get(&rid).filter(|r| r.kind == KIND) {
            Some(r) => {
                w.store.remove(&r.id);
                Ok(Response::ok(r.body))
            }
            None => Ok(Response::empty(204)),
        },
    }
}

fn put(w: &Tx, ctx: &Ctx, name: &str, rid: &str) -> ArmResult<Response> {
    invalid_role_assignment_id(name)?;
    let body = ctx.req.json_object()?;
    schema::validate("roleAssignment", &body)?;
    let p = &body["properties"];
    let principal_id = p["principalId"].as_str().unwrap_or_default();
    invalid_principal_id(principal_id)?;
    let role_guid = definitions::guid_of(p["roleDefinitionId"].as_str().unwrap_or_default());
    role_definition_must_exist(w, &role_guid)?;
    scope_must_exist(w, ctx.scope)?;
    let tenant = ScopeParts::parse(ctx.scope)
        .subscription
        .and_then(|s| crate::providers::common::arm::tenant_of(w, &s))
        .unwrap_or_else(|| w.config.tenant_id.clone());
    let given_type = p["principalType"].as_str().filter(|t| !t.is_empty());
    principal_not_found_unless_principal_type_given(w, principal_id, given_type, &tenant)?;
    role_assignment_exists(w, ctx.scope, principal_id, &role_guid, name)?;

    let existing = w.store.get(rid).filter(|r| r.kind == KIND);
    if let Some(old) = &existing {
        let op = &old.body["properties"];
        let same = op["principalId"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(principal_id))
            && definitions::guid_of(op["roleDefinitionId"].as_str().unwrap_or("")).eq_ignore_ascii_case(&role_guid);
        if !same {
            return Err(ArmError::bad_request(
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            ));
        }
        return Ok(Response::ok(old.body.clone()));
    }
    let principal_type =
        given_type
            .map(str::to_string)
            .unwrap_or_else(|| match w.directory.get(principal_id).map(|x| x.kind) {
                Some(PrincipalKind::Application | PrincipalKind::ManagedIdentity) => "ServicePrincipal".to_string(),
                None => "ServicePrincipal".to_string(),
            });
    let now = crate::arm::time::rfc3339(w.now());
    let who = ctx.caller.map(|c| c.object_id.clone());
    let doc = json!({
        "properties": {
            "roleDefinitionId": definitions::definition_id(ctx.scope, &role_guid),
            "principalId": principal_id,
            "principalType": principal_type,
            "scope": ctx.scope,
            "condition": p.get("condition").cloned().unwrap_or(Value::Null),
            "conditionVersion": p.get("conditionVersion").cloned().unwrap_or(Value::Null),
            "createdOn": now,
            "updatedOn": now,
            "createdBy": who,
            "updatedBy": who,
            "delegatedManagedIdentityResourceId": p.get("delegatedManagedIdentityResourceId").cloned().unwrap_or(Value::Null),
            "description": p.get("description").cloned().unwrap_or(Value::Null),
        },
        "id": rid,
        "type": KIND,
        "name": name,
    });
    w.store.put(Record::new(rid.to_string(), KIND, doc.clone()));
    Ok(Response::json(201, doc))
}

/// Creates an assignment on azemu's own behalf (defaults, AKS add-ons). Idempotent.
pub(crate) fn grant(w: &Tx, scope: &str, principal_id: &str, role_guid: &str) -> String {
    let existing = assignments_of(w, scope, principal_id, role_guid);
    if let Some(r) = existing.first() {
        return r.id.clone();
    }
    let name = w.ids.guid();
    let rid = assignment_id(scope, &name);
    let now = crate::arm::time::rfc3339(w.now());
    w.store.put(Record::new(
        rid.clone(),
        KIND,
        json!({
            "properties": {
                "roleDefinitionId": definitions::definition_id(scope, role_guid),
                "principalId": principal_id,
                "principalType": "ServicePrincipal",
                "scope": scope,
                "condition": null, "conditionVersion": null,
                "createdOn": now, "updatedOn": now, "createdBy": null, "updatedBy": null,
                "delegatedManagedIdentityResourceId": null, "description": null,
            },
            "id": rid, "type": KIND, "name": name,
        }),
    ));
    rid
}

/// Which assignments a list returns.
#[derive(Debug, PartialEq)]
struct Filter {
    at_scope: bool,
    principal: Option<String>,
}

/// Parses the filters az and Terraform send: none, `atScope()`, `principalId eq '…'`,
/// `assignedTo('…')`, `atScope() and assignedTo('…')`.
/// Source: aks-rules.md i7 (spec RoleAssignmentFilterParameter; azure-cli role/custom.py).
fn parse_filter(f: Option<&str>) -> ArmResult<Filter> {
    let mut out = Filter {
        at_scope: false,
        principal: None,
    };
    let Some(f) = f.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(out);
    };
    let unsupported = || ArmError::bad_request("UnsupportedQuery", format!("The filter '{f}' is not supported."));
    let expr = crate::arm::filter::parse(f).map_err(|_| unsupported())?;
    let mut principal_eq = false;
    for term in expr.conjuncts().ok_or_else(unsupported)? {
        if term.call_of("atScope").is_some_and(|a| a.is_empty()) {
            out.at_scope = true;
        } else if let Some([crate::arm::filter::Operand::String(p)]) = term.call_of("assignedTo") {
            out.principal = Some(p.clone());
        } else if let Some(p) = term.eq_string_of("principalId") {
            principal_eq = true;
            out.principal = Some(p.to_string());
        } else {
            return Err(unsupported());
        }
    }
    if out.at_scope && principal_eq {
        return Err(ArmError::bad_request(
            "UnsupportedQuery",
            "The filter 'atScope() and principalId eq' is not supported. Use 'atScope() and assignedTo('{objectId}')'.",
        ));
    }
    Ok(out)
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments[?$filter=…]`.
pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let filter = parse_filter(ctx.req.query("$filter"))?;
    let scope = if ctx.scope.is_empty() { "/" } else { ctx.scope };
    let items: Vec<Value> = w
        .store
        .list(|r| {
            if r.kind != KIND {
                return false;
            }
            let s = r.body["properties"]["scope"].as_str().unwrap_or("");
            let above = id::is_at_or_above(s, scope);
            let below = id::is_at_or_above(scope, s);
            let place_ok = if filter.at_scope { above } else { above || below };
            let who_ok = filter.principal.as_ref().is_none_or(|p| {
                r.body["properties"]["principalId"]
                    .as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(p))
            });
            place_ok && who_ok
        })
        .into_iter()
        .map(|r| r.body)
        .collect();
    Ok(Response::ok(paging::page(ctx.req, items)?))
}

/// Every assignment of `principal_id` at or above `scope`.
pub(crate) fn of_principal_above(w: &Tx, principal_id: &str, scope: &str) -> Vec<Record> {
    w.store.list(|r| {
        r.kind == KIND
            && r.body["properties"]["principalId"]
                .as_str()
                .is_some_and(|p| p.eq_ignore_ascii_case(principal_id))
            && id::is_at_or_above(r.body["properties"]["scope"].as_str().unwrap_or(""), scope)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(
            parse_filter(None).unwrap(),
            Filter {
                at_scope: false,
                principal: None
            }
        );
        let f = parse_filter(Some("atScope() and assignedTo('abc')")).unwrap();
        assert!(f.at_scope);
        assert_eq!(f.principal.as_deref(), Some("abc"));
        assert!(parse_filter(Some("atScope() and principalId eq 'x'")).is_err());
        assert!(parse_filter(Some("bogus")).is_err());
        assert!(parse_filter(Some("principalId eq ")).is_err());
        assert!(parse_filter(Some("assignedTo('a') or atScope()")).is_err());
        let f = parse_filter(Some("principalId eq 'it''s'")).unwrap();
        assert_eq!(f.principal.as_deref(), Some("it's"));
    }
}
