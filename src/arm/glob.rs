//! Case-insensitive glob matching where `*` matches any run of characters, `/` included:
//! RBAC actions (`Microsoft.Authorization/*/read`) and fault path patterns use it.

/// True when `pattern` matches all of `s`, ignoring ASCII case.
pub(crate) fn matches(pattern: &str, s: &str) -> bool {
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        s.to_ascii_lowercase().as_bytes(),
    )
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while si < s.len() {
        if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_span_slashes_and_case_is_ignored() {
        assert!(matches("*/resourcegroups/x", "/subscriptions/s/resourceGroups/X"));
        assert!(matches("a*c", "abbbc"));
        assert!(!matches("a*c", "abd"));
        assert!(matches("*", ""));
    }
}
