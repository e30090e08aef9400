//! The `$filter`s of ARM's own lists, read with the one OData parser ([`crate::arm::filter`]):
//! resource groups by tag, resources by type, name, group, location or tag.
//!
//! A filter ARM would not take is refused as ARM refuses it: 400 `InvalidFilterInQueryString`,
//! "Invalid $filter '…' specified in the query string." (the answer quoted in
//! Azure/azure-sdk-for-go#2480 for `name eq 'foo'` on resource groups, and in
//! Azure/azure-sdk-for-net#18748).

use crate::arm::filter::{self, Expr, Operand};
use crate::arm::id;
use crate::arm::{ArmError, ArmResult};
use crate::store::Record;
use serde_json::Value;

pub(crate) type BodyPredicate = Box<dyn Fn(&Value) -> bool>;
pub(crate) type RecordPredicate = Box<dyn Fn(&Record) -> bool>;

fn invalid(f: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidFilterInQueryString",
        format!("Invalid $filter '{f}' specified in the query string."),
    )
}

/// What a filter asks of tags: `tagName eq 'n' [and tagValue eq 'v']` or
/// `startswith(tagName, 'prefix')` (the forms `az group list --tag` and `az resource list
/// --tag` send).
#[derive(Debug, Default, PartialEq)]
struct TagTest {
    name: Option<String>,
    value: Option<String>,
    prefix: Option<String>,
}

impl TagTest {
    /// Takes `term` when it is about tags; `false` when it is not.
    fn take(&mut self, term: &Expr) -> bool {
        if let Some(n) = term.eq_string_of("tagName") {
            self.name = Some(n.to_string());
        } else if let Some(v) = term.eq_string_of("tagValue") {
            self.value = Some(v.to_string());
        } else if let Some([Operand::Property(p), Operand::String(prefix)]) = term.call_of("startswith") {
            if !p.eq_ignore_ascii_case("tagName") {
                return false;
            }
            self.prefix = Some(prefix.clone());
        } else {
            return false;
        }
        true
    }

    fn is_empty(&self) -> bool {
        *self == TagTest::default()
    }

    /// A value needs a name; a prefix stands alone.
    fn is_valid(&self) -> bool {
        match (&self.name, &self.value, &self.prefix) {
            (_, Some(_), None) => self.name.is_some(),
            (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => false,
            _ => true,
        }
    }

    /// Tag names compare case-insensitively, values exactly (as ARM stores them).
    fn matches(&self, body: &Value) -> bool {
        let Some(tags) = body["tags"].as_object() else {
            return self.is_empty();
        };
        if let Some(prefix) = &self.prefix {
            let prefix = prefix.to_ascii_lowercase();
            return tags.keys().any(|k| k.to_ascii_lowercase().starts_with(&prefix));
        }
        match (&self.name, &self.value) {
            (Some(n), None) => tags.keys().any(|k| k.eq_ignore_ascii_case(n)),
            (Some(n), Some(v)) => tags.iter().any(|(k, x)| k.eq_ignore_ascii_case(n) && x == v),
            _ => true,
        }
    }
}

/// The terms of a filter, or the 400 ARM answers.
fn terms(f: &str) -> ArmResult<Expr> {
    filter::parse(f).map_err(|_| invalid(f))
}

/// `GET /subscriptions/{s}/resourcegroups?$filter=tagName eq 'x' [and tagValue eq 'y']`.
pub(crate) fn groups(filter: Option<&str>) -> ArmResult<BodyPredicate> {
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(Box::new(|_| true));
    };
    let expr = terms(f)?;
    let mut tags = TagTest::default();
    for term in expr.conjuncts().ok_or_else(|| invalid(f))? {
        if !tags.take(term) {
            return Err(invalid(f));
        }
    }
    if !tags.is_valid() {
        return Err(invalid(f));
    }
    Ok(Box::new(move |b| tags.matches(b)))
}

/// `resourceType eq 'X'`, `name eq 'Y'`, `resourceGroup eq 'Z'`, `location eq 'L'` and the tag
/// forms, joined by `and`: the filters az (`az resource list`, `--attach-acr <name>`) and
/// Terraform send to `GET …/resources`.
pub(crate) fn resources(filter: Option<&str>) -> ArmResult<RecordPredicate> {
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(Box::new(|_| true));
    };
    let expr = terms(f)?;
    let (mut rtype, mut name, mut group, mut location) = (None, None, None, None);
    let mut tags = TagTest::default();
    for term in expr.conjuncts().ok_or_else(|| invalid(f))? {
        let slot = match term.eq_string() {
            Some((p, _)) if p.eq_ignore_ascii_case("resourceType") => &mut rtype,
            Some((p, _)) if p.eq_ignore_ascii_case("name") => &mut name,
            Some((p, _)) if p.eq_ignore_ascii_case("resourceGroup") => &mut group,
            Some((p, _)) if p.eq_ignore_ascii_case("location") => &mut location,
            _ if tags.take(term) => continue,
            _ => return Err(invalid(f)),
        };
        *slot = term.eq_string().map(|(_, v)| v.to_string());
    }
    if !tags.is_valid() {
        return Err(invalid(f));
    }
    Ok(Box::new(move |r: &Record| {
        let eq = |want: &Option<String>, got: Option<&str>| {
            want.as_ref()
                .is_none_or(|w| got.is_some_and(|g| g.eq_ignore_ascii_case(w)))
        };
        eq(&rtype, Some(&r.kind))
            && eq(&name, r.body["name"].as_str())
            && eq(&location, r.body["location"].as_str())
            && eq(&group, id::ScopeRef::parse(&r.id).resource_group)
            && tags.matches(&r.body)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(id: &str, kind: &str, body: Value) -> Record {
        Record::new(id.to_string(), kind, body)
    }

    #[test]
    fn group_tag_filters() {
        let tagged = json!({ "tags": { "Env": "prod" } });
        let bare = json!({ "name": "x" });
        let by_name = groups(Some("tagname eq 'env'")).unwrap();
        assert!(by_name(&tagged) && !by_name(&bare));
        let by_value = groups(Some("tagName eq 'env' and tagValue eq 'prod'")).unwrap();
        assert!(by_value(&tagged));
        assert!(!groups(Some("tagName eq 'env' and tagValue eq 'Prod'")).unwrap()(
            &tagged
        ));
        assert!(groups(Some("startswith(tagname, 'E')")).unwrap()(&tagged));
        assert!(groups(None).unwrap()(&bare));
        for bad in [
            "name eq 'foo'",
            "tagValue eq 'prod'",
            "tagName eq 'a' or tagName eq 'b'",
            "tagName eq",
        ] {
            let e = groups(Some(bad))
                .err()
                .unwrap_or_else(|| panic!("{bad} should be refused"));
            assert_eq!(
                (e.status, e.code.as_str()),
                (400, "InvalidFilterInQueryString"),
                "{bad}"
            );
        }
    }

    #[test]
    fn resource_filters() {
        let r = rec(
            "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/acr1",
            "Microsoft.ContainerRegistry/registries",
            json!({ "name": "acr1", "location": "westus2", "tags": { "team": "a" } }),
        );
        for good in [
            "resourceType eq 'microsoft.containerregistry/registries' and name eq 'ACR1'",
            "resourceGroup eq 'RG1' and location eq 'westus2'",
            "tagname eq 'team' and tagvalue eq 'a'",
        ] {
            assert!(resources(Some(good)).unwrap()(&r), "{good}");
        }
        assert!(!resources(Some("name eq 'other'")).unwrap()(&r));
        for bad in ["identity eq 'x'", "resourceType eq '", "name eq 'a' or name eq 'b'"] {
            assert_eq!(
                resources(Some(bad)).err().map(|e| e.code),
                Some("InvalidFilterInQueryString".to_string()),
                "{bad}"
            );
        }
    }
}
