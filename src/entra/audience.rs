//! Which token audiences ARM accepts.
//!
//! ARM accepts a token only when its `aud` claim is one of its own resource identifiers; a token
//! obtained for another resource (Microsoft Graph's `https://graph.microsoft.com`, a storage
//! account, …) is refused with 401 `InvalidAuthenticationTokenAudience`. Public Azure's
//! identifiers are `https://management.azure.com` and `https://management.core.windows.net`,
//! each with or without the trailing slash (the four values ARM's own error message lists).
//! azemu also accepts the identifiers its cloud metadata document advertises
//! (`resourceManager` and `authentication.audiences`: `{base}/` and `{base}/management`), which
//! the Azure CLI and Terraform use, and the same URLs under the host the client connected to
//! (`localhost` and `127.0.0.1` name the same server).

/// ARM's own resource identifiers, as its `InvalidAuthenticationTokenAudience` message lists them.
pub(crate) const ARM_AUDIENCES: [&str; 4] = [
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

fn trim(s: &str) -> &str {
    s.strip_suffix('/').unwrap_or(s)
}

/// True when a token for `aud` is good for ARM on this server. `base_url` is the URL azemu
/// advertises, `host` the `Host` header of the request (when sent).
pub(crate) fn accepted(aud: &str, base_url: &str, host: Option<&str>) -> bool {
    let aud = trim(aud.trim());
    if aud.is_empty() {
        return false;
    }
    if ARM_AUDIENCES.iter().any(|a| trim(a).eq_ignore_ascii_case(aud)) {
        return true;
    }
    let ours = |base: &str| {
        let base = trim(base);
        aud.eq_ignore_ascii_case(base)
            || aud
                .get(..base.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(base) && aud[base.len()..].eq_ignore_ascii_case("/management"))
    };
    if ours(base_url) {
        return true;
    }
    let scheme = base_url.split("://").next().unwrap_or("https");
    host.is_some_and(|h| !h.is_empty() && ours(&format!("{scheme}://{h}")))
}

/// Microsoft Graph's own identifiers.
pub(crate) const GRAPH_AUDIENCES: [&str; 2] = ["https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"];

/// True when a token for `aud` is good for azemu's Graph endpoints: Graph's own identifiers,
/// and (as azemu's metadata names azemu itself as the Graph audience) whatever ARM accepts.
pub(crate) fn accepted_by_graph(aud: &str, base_url: &str, host: Option<&str>) -> bool {
    GRAPH_AUDIENCES
        .iter()
        .any(|g| trim(g).eq_ignore_ascii_case(trim(aud.trim())))
        || accepted(aud, base_url, host)
}

/// ARM's message for a token of another audience.
pub(crate) fn refusal_message(aud: &str, base_url: &str) -> String {
    let allowed: Vec<String> = ARM_AUDIENCES
        .iter()
        .map(|a| format!("'{a}'"))
        .chain([format!("'{}/'", trim(base_url)), format!("'{}'", trim(base_url))])
        .collect();
    format!(
        "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences {}.",
        allowed.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_and_own_audiences_are_accepted_others_not() {
        let base = "https://127.0.0.1:8443";
        for ok in [
            "https://management.azure.com/",
            "https://management.core.windows.net",
            "https://127.0.0.1:8443/",
            "https://127.0.0.1:8443",
            "https://127.0.0.1:8443/management",
        ] {
            assert!(accepted(ok, base, None), "{ok}");
        }
        assert!(accepted("https://localhost:8443/", base, Some("localhost:8443")));
        assert!(accepted_by_graph("https://graph.microsoft.com/", base, None));
        assert!(accepted_by_graph("https://127.0.0.1:8443/", base, None));
        assert!(!accepted_by_graph("https://storage.azure.com/", base, None));
        for bad in [
            "https://graph.microsoft.com",
            "https://graph.microsoft.com/",
            "https://storage.azure.com/",
            "",
            "https://127.0.0.1:8443/other",
            "https://127.0.0.1:84430",
        ] {
            assert!(!accepted(bad, base, Some("127.0.0.1:8443")), "{bad}");
        }
    }
}
