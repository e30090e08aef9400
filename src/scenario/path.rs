//! A small JSON path: `properties.clientId`, `value[0].name`, `identity.userAssignedIdentities.*.clientId`.
//! `*` stands for every child of an object or array; a path with `*` yields every match.
//! A key with dots or slashes can be quoted: `tags."team.name"`.

use serde_json::Value;

fn split(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = path.trim_start_matches("$.").trim_start_matches('$').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => {
                if !cur.is_empty() {
                    parts.push(std::mem::take(&mut cur));
                }
            }
            '[' if !quoted => {
                if !cur.is_empty() {
                    parts.push(std::mem::take(&mut cur));
                }
                let mut idx = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    idx.push(d);
                }
                parts.push(idx);
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts
}

/// Every value `path` reaches in `v`.
pub(crate) fn select<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![v];
    for part in split(path) {
        let mut next = Vec::new();
        for c in current {
            match (part.as_str(), c) {
                ("*", Value::Object(m)) => next.extend(m.values()),
                ("*", Value::Array(a)) => next.extend(a.iter()),
                (p, Value::Array(a)) => {
                    if let Some(x) = p.parse::<usize>().ok().and_then(|i| a.get(i)) {
                        next.push(x);
                    }
                }
                (p, Value::Object(m)) => {
                    if let Some(x) = m
                        .get(p)
                        .or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(p)).map(|(_, v)| v))
                    {
                        next.push(x);
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// The first value `path` reaches.
pub(crate) fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    select(v, path).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        let v = json!({"properties": {"a": [1, {"b": "x"}]}, "ids": {"/x/y": {"clientId": "c"}}, "tags": {"team.name": "t"}});
        assert_eq!(get(&v, "properties.a[1].b"), Some(&json!("x")));
        assert_eq!(get(&v, "ids.*.clientId"), Some(&json!("c")));
        assert_eq!(get(&v, "tags.\"team.name\""), Some(&json!("t")));
        assert_eq!(get(&v, "$.properties.a[0]"), Some(&json!(1)));
        assert!(get(&v, "missing.x").is_none());
    }
}
