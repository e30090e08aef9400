//! Role assignments at any scope: subscription, resource group, resource, nested resource.
//!
//! `properties.scope` is returned exactly as the scope was written in the URL (az compares it
//! to its own string, case-sensitively). The rules below carry Azure's codes and messages.

use super::definitions;
use crate::arm::id::{self, ScopeParts};
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::providers::common::schema;
use crate::routing::Ctx;
use crate::store::{Record, Scope};
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

/// The assignments made at exactly `scope`, in creation order. An assignment lives at
/// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`, so they are the ones
/// the store indexes below `{scope}/providers/Microsoft.Authorization`: no scan of the rest.
fn at(w: &Tx, scope: &str) -> Vec<Record> {
    let home = format!("{}/providers/Microsoft.Authorization", scope.trim_end_matches('/'));
    w.store
        .below(&home, Some(KIND))
        .into_iter()
        .filter(|r| id::same(r.body["properties"]["scope"].as_str().unwrap_or(""), scope))
        .collect()
}

/// The scopes above `scope` (the root first), and `scope` itself when `inclusive`.
fn scopes_above(scope: &str, inclusive: bool) -> Vec<String> {
    let key = id::key(scope);
    let mut out = Vec::new();
    if key != "/" {
        out.push("/".to_string());
        out.extend(key.match_indices('/').skip(1).map(|(pos, _)| key[..pos].to_string()));
    }
    if inclusive {
        out.push(key);
    }
    out
}

/// The assignments at or above `scope` (strictly above unless `inclusive`) that `keep`
/// accepts, in creation order.
fn above(w: &Tx, scope: &str, inclusive: bool, keep: impl Fn(&Record) -> bool) -> Vec<Record> {
    let mut out: Vec<Record> = scopes_above(scope, inclusive)
        .iter()
        .flat_map(|s| at(w, s))
        .filter(|r| keep(r))
        .collect();
    out.sort_by_key(|r| r.seq);
    out
}

fn of_principal(r: &Record, principal_id: &str) -> bool {
    r.body["properties"]["principalId"]
        .as_str()
        .is_some_and(|x| x.eq_ignore_ascii_case(principal_id))
}

/// The assignments of one (scope, principal, role) triple.
fn assignments_of(w: &Tx, scope: &str, principal_id: &str, role_guid: &str) -> Vec<Record> {
    at(w, scope)
        .into_iter()
        .filter(|r| {
            let p = &r.body["properties"];
            of_principal(r, principal_id)
                && definitions::guid_of(p["roleDefinitionId"].as_str().unwrap_or("")).eq_ignore_ascii_case(role_guid)
        })
        .collect()
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

/// A role assignment PUT, parsed and checked for its form.
struct AssignmentRequest {
    principal_id: String,
    role_guid: String,
    principal_type: Option<String>,
    /// `condition`, `conditionVersion`, `delegatedManagedIdentityResourceId`, `description`.
    extras: [Value; 4],
}

const EXTRAS: [&str; 4] = [
    "condition",
    "conditionVersion",
    "delegatedManagedIdentityResourceId",
    "description",
];

impl AssignmentRequest {
    fn parse(ctx: &Ctx) -> ArmResult<AssignmentRequest> {
        let body = ctx.req.json_object()?;
        schema::validate("roleAssignment", &body)?;
        let p = &body["properties"];
        let principal_id = p["principalId"].as_str().unwrap_or_default().to_string();
        invalid_principal_id(&principal_id)?;
        Ok(AssignmentRequest {
            principal_id,
            role_guid: definitions::guid_of(p["roleDefinitionId"].as_str().unwrap_or_default()),
            principal_type: p["principalType"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            extras: EXTRAS.map(|k| p.get(k).cloned().unwrap_or(Value::Null)),
        })
    }
}

/// An assignment as ARM answers it.
fn assignment_doc(
    rid: &str,
    name: &str,
    scope: &str,
    req: &AssignmentRequest,
    who: Option<String>,
    now: &str,
) -> Value {
    let [condition, condition_version, delegated, description] = req.extras.clone();
    json!({
        "properties": {
            "roleDefinitionId": definitions::definition_id(scope, &req.role_guid),
            "principalId": req.principal_id,
            "principalType": req.principal_type.as_deref().unwrap_or("ServicePrincipal"),
            "scope": scope,
            "condition": condition,
            "conditionVersion": condition_version,
            "createdOn": now,
            "updatedOn": now,
            "createdBy": who,
            "updatedBy": who,
            "delegatedManagedIdentityResourceId": delegated,
            "description": description,
        },
        "id": rid,
        "type": KIND,
        "name": name,
    })
}

fn put(w: &Tx, ctx: &Ctx, name: &str, rid: &str) -> ArmResult<Response> {
    invalid_role_assignment_id(name)?;
    let mut req = AssignmentRequest::parse(ctx)?;
    role_definition_must_exist(w, &req.role_guid)?;
    scope_must_exist(w, ctx.scope)?;
    let tenant = ScopeParts::parse(ctx.scope)
        .subscription
        .and_then(|s| crate::providers::common::arm::tenant_of(w, &s))
        .unwrap_or_else(|| w.config.tenant_id.clone());
    principal_not_found_unless_principal_type_given(w, &req.principal_id, req.principal_type.as_deref(), &tenant)?;
    role_assignment_exists(w, ctx.scope, &req.principal_id, &req.role_guid, name)?;

    if let Some(old) = w.store.get(rid).filter(|r| r.kind == KIND) {
        let op = &old.body["properties"];
        let same = op["principalId"]
            .as_str()
            .is_some_and(|x| x.eq_ignore_ascii_case(&req.principal_id))
            && definitions::guid_of(op["roleDefinitionId"].as_str().unwrap_or("")).eq_ignore_ascii_case(&req.role_guid);
        if !same {
            return Err(ArmError::bad_request(
                "RoleAssignmentUpdateNotPermitted",
                "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
            ));
        }
        return Ok(Response::ok(old.body.clone()));
    }
    // Every principal azemu knows (applications, managed identities) is a service principal.
    req.principal_type.get_or_insert_with(|| "ServicePrincipal".to_string());
    let now = crate::arm::time::rfc3339(w.now());
    let doc = assignment_doc(
        rid,
        name,
        ctx.scope,
        &req,
        ctx.caller.map(|c| c.object_id.clone()),
        &now,
    );
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
    let req = AssignmentRequest {
        principal_id: principal_id.to_string(),
        role_guid: role_guid.to_string(),
        principal_type: Some("ServicePrincipal".to_string()),
        extras: [Value::Null, Value::Null, Value::Null, Value::Null],
    };
    w.store.put(Record::new(
        rid.clone(),
        KIND,
        assignment_doc(&rid, &name, scope, &req, None, &now),
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
    let who_ok = |r: &Record| filter.principal.as_ref().is_none_or(|p| of_principal(r, p));
    // The few assignments above the scope (a look-up per ancestor), merged in creation order
    // with a page of those at or below it (the store's index below the scope).
    let upper = above(w, scope, filter.at_scope, who_ok);
    let lower = Scope::below(scope);
    let below_ok =
        |r: &Record| who_ok(r) && id::is_at_or_above(scope, r.body["properties"]["scope"].as_str().unwrap_or(""));
    let body = paging::keyed_page(
        ctx.req,
        |after, n| {
            let mut v: Vec<Record> = upper.iter().filter(|r| r.seq > after).take(n).cloned().collect();
            if !filter.at_scope {
                v.extend(w.store.page(&lower, Some(KIND), after, n, below_ok));
                v.sort_by_key(|r| r.seq);
                v.truncate(n);
            }
            v.into_iter().map(|r| (r.seq, r)).collect()
        },
        |r| r.body,
    )?;
    Ok(Response::ok(body))
}

/// Every assignment of `principal_id` at or above `scope`.
pub(crate) fn of_principal_above(w: &Tx, principal_id: &str, scope: &str) -> Vec<Record> {
    above(w, scope, true, |r| of_principal(r, principal_id))
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

    #[test]
    fn scopes_above_a_scope() {
        assert_eq!(
            scopes_above("/subscriptions/S/resourceGroups/G", false),
            [
                "/",
                "/subscriptions",
                "/subscriptions/s",
                "/subscriptions/s/resourcegroups"
            ]
        );
        assert_eq!(
            scopes_above("/subscriptions/S", true),
            ["/", "/subscriptions", "/subscriptions/s"]
        );
        assert_eq!(scopes_above("/", true), ["/"]);
        assert!(scopes_above("", false).is_empty());
    }
}
