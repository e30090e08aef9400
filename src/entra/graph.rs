//! The Microsoft Graph look-ups the Azure CLI makes: service principals by name or app id,
//! one service principal by object id, and `directoryObjects/getByIds`.

use super::directory::Principal;
use crate::arm::request::{Request, Response};
use crate::world::World;
use serde_json::{json, Value};

/// A Graph error: `{"error":{"code","message"}}` (az's Graph client reads `error.message`).
pub(crate) fn graph_error(status: u16, code: &str, message: &str) -> Response {
    Response::json(status, json!({ "error": { "code": code, "message": message } }))
}

fn collection(w: &World, entity: &str, items: Vec<Value>) -> Response {
    Response::ok(json!({
        "@odata.context": format!("{}/v1.0/$metadata#{entity}", w.base_url()),
        "value": items,
    }))
}

/// The value inside the first `'…'` of `s`, with `''` unescaped.
fn quoted(s: &str) -> Option<String> {
    let start = s.find('\'')? + 1;
    let rest = &s[start..];
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                out.push('\'');
                chars.next();
            } else {
                return Some(out);
            }
        } else {
            out.push(c);
        }
    }
    None
}

type PrincipalPredicate = Box<dyn Fn(&Principal) -> bool>;

/// The filters az sends, as predicates over principals: `servicePrincipalNames/any(c:c eq '…')`,
/// `appId eq '…'`, `id eq '…'`, `displayName eq '…'`, `startswith(displayName,'…')`, joined by
/// `and`.
fn principal_filter(filter: &str) -> Option<PrincipalPredicate> {
    use crate::arm::filter::{Expr, Operand};
    let expr = crate::arm::filter::parse(filter).ok()?;
    let mut preds: Vec<PrincipalPredicate> = Vec::new();
    for term in expr.conjuncts()? {
        let pred: PrincipalPredicate = match term {
            Expr::Any(coll, var, body) if coll.eq_ignore_ascii_case("servicePrincipalNames") => {
                let value = body.eq_string_of(var)?.to_string();
                Box::new(move |p| {
                    p.service_principal_names()
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(&value))
                })
            }
            Expr::Call(name, args) if name.eq_ignore_ascii_case("startswith") => match args.as_slice() {
                [Operand::Property(prop), Operand::String(v)] if prop.eq_ignore_ascii_case("displayName") => {
                    let v = v.to_lowercase();
                    Box::new(move |p| p.display_name.to_lowercase().starts_with(&v))
                }
                _ => return None,
            },
            t => {
                let (prop, value) = t.eq_string()?;
                let value = value.to_string();
                match prop.to_ascii_lowercase().as_str() {
                    "appid" => Box::new(move |p| p.app_id.eq_ignore_ascii_case(&value)),
                    "id" => Box::new(move |p| p.object_id.eq_ignore_ascii_case(&value)),
                    "displayname" => Box::new(move |p| p.display_name == value),
                    _ => return None,
                }
            }
        };
        preds.push(pred);
    }
    Some(Box::new(move |p| preds.iter().all(|f| f(p))))
}

/// `GET /v1.0/servicePrincipals[?$filter=…]`.
pub(crate) fn list_service_principals(w: &World, req: &Request) -> Response {
    let all = w.read().directory.all();
    let items: Vec<Value> = match req.query("$filter") {
        None => all.iter().map(Principal::graph_json).collect(),
        Some(f) => match principal_filter(f) {
            Some(pred) => all.iter().filter(|p| pred(p)).map(Principal::graph_json).collect(),
            None => {
                return graph_error(
                    400,
                    "Request_UnsupportedQuery",
                    &format!("Unsupported or invalid query filter clause specified: '{f}'."),
                )
            }
        },
    };
    collection(w, "servicePrincipals", items)
}

/// `GET /v1.0/servicePrincipals/{id}` and `/v1.0/servicePrincipals(appId='{appId}')`.
pub(crate) fn get_service_principal(w: &World, key: &str) -> Response {
    let found = if key.to_ascii_lowercase().starts_with("(appid=") {
        quoted(key).and_then(|app| w.read().directory.by_app_id(&app))
    } else {
        w.read().directory.get(key)
    };
    match found {
        Some(p) => Response::ok(p.graph_json()),
        None => graph_error(
            404,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{key}' does not exist or one of its queried reference-property objects are not present."
            ),
        ),
    }
}

/// `POST /v1.0/directoryObjects/getByIds` `{"ids":[...],"types":[...]}`.
pub(crate) fn get_by_ids(w: &World, req: &Request) -> Response {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return graph_error(400, "Request_BadRequest", &format!("Invalid JSON body: {e}")),
    };
    let Some(ids) = body["ids"].as_array() else {
        return graph_error(400, "Request_BadRequest", "The property 'ids' is required.");
    };
    let wants_sp = match body["types"].as_array() {
        Some(t) if !t.is_empty() => t
            .iter()
            .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("servicePrincipal"))),
        _ => true,
    };
    let items: Vec<Value> = if wants_sp {
        ids.iter()
            .filter_map(|i| i.as_str())
            .filter_map(|i| w.read().directory.get(i))
            .map(|p| p.graph_json())
            .collect()
    } else {
        Vec::new()
    };
    collection(w, "directoryObjects", items)
}

/// `GET /v1.0/users?$filter=…`: azemu has no users; the answer is an empty collection.
pub(crate) fn list_users(w: &World) -> Response {
    collection(w, "users", Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values() {
        assert_eq!(quoted("appId eq 'abc'").as_deref(), Some("abc"));
        assert_eq!(quoted("x eq 'it''s'").as_deref(), Some("it's"));
    }
}
