//! The spine (issue 2), over real HTTPS: TLS and the CA, the cloud metadata document, the
//! stand-in Entra ID, ARM's conventions (authentication, api-version, headers, errors,
//! paging), subscriptions, tenants, locations, providers, resource groups, long-running
//! operations and azemu's own `/_azemu/` API.
//!
//! Rules cite `../shared/research/aks-rules.md` §6 (j1–j10) where they come from there.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn assert_json_content_type(r: &Reply) {
    let ct = r.header("content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "content type '{ct}' for a {} body: {}",
        r.status,
        r.text
    );
}

// ---- TLS ------------------------------------------------------------------------------

#[tokio::test]
async fn https_is_served_and_the_ca_is_written_to_the_data_dir() {
    let s = TestServer::start().await;
    assert!(s.url.starts_with("https://127.0.0.1:"), "{}", s.url);
    assert!(!s.url.ends_with(":0"), "an ephemeral port was picked: {}", s.url);
    assert!(
        s.ca_path.starts_with(&s.data_dir),
        "{:?} is in {:?}",
        s.ca_path,
        s.data_dir
    );
    let pem = std::fs::read_to_string(&s.ca_path).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(!pem.contains("PRIVATE KEY"), "the CA file holds no key");

    let r = s.send(s.raw(Method::GET, "/_azemu/health")).await;
    assert_eq!(r.status, 200);

    // A client that does not trust azemu's CA cannot connect.
    let stranger = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    let err = stranger.get(format!("{}/_azemu/health", s.url)).send().await;
    assert!(err.is_err(), "an untrusted client must fail the handshake");
}

#[tokio::test]
async fn the_ca_is_reused_across_restarts() {
    let dir = fresh_dir();
    let a = {
        let d = dir.clone();
        let s = TestServer::start_with(move |c| c.data_dir = d).await;
        std::fs::read(&s.ca_path).unwrap()
    };
    let d = dir.clone();
    let s = TestServer::start_with(move |c| c.data_dir = d).await;
    let b = std::fs::read(&s.ca_path).unwrap();
    assert_eq!(a, b, "the second start keeps the first CA");
    // A client made for the first server trusts the second.
    let old_client = client_trusting(&dir.join("ca.pem"));
    let r = old_client
        .get(format!("{}/_azemu/health", s.url))
        .send()
        .await
        .expect("the first CA is trusted by the second server's certificate chain");
    assert_eq!(r.status().as_u16(), 200);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- the cloud metadata document ---------------------------------------------------------

#[tokio::test]
async fn metadata_document_self_references_the_url() {
    let s = TestServer::start().await;
    let r = s
        .send(s.raw(Method::GET, "/metadata/endpoints?api-version=2022-09-01"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_json_content_type(&r);
    let d = &r.json;
    let base = &s.url;
    // What az needs (azure-cli.md: cloud register).
    assert_eq!(d["name"], "azemu");
    assert_eq!(d["authentication"]["loginEndpoint"], json!(base));
    assert_eq!(d["authentication"]["audiences"][0], json!(format!("{base}/")));
    assert!(d["suffixes"].is_object());
    // What Terraform needs (terraform-azurerm.md).
    assert_eq!(d["resourceManager"], json!(base));
    assert!(d["resourceManager"].as_str().unwrap().starts_with("https://"));
    assert_eq!(d["microsoftGraphResourceId"], json!(base));
    assert!(d["suffixes"]["storage"].is_string());
    assert!(d["suffixes"]["keyVaultDns"].is_string());

    let text = r.text.replace(base.as_str(), "[url]");
    let redacted: Value = serde_json::from_str(&text).unwrap();
    insta::assert_json_snapshot!("metadata_document", redacted);
}

/// Clients append `/{path}` to every endpoint (go-azure-sdk `client.go` `NewRequest`, azure-cli
/// `_populate_from_metadata_endpoint`); with a trailing slash azurerm 4.x sends `//subscriptions/…`
/// and its delete poller polls the parent collection. Only the token audiences keep the slash.
#[tokio::test]
async fn metadata_endpoints_have_no_trailing_slash() {
    let s = TestServer::start().await;
    let r = s
        .send(s.raw(Method::GET, "/metadata/endpoints?api-version=2022-09-01"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let doc = r.json.as_object().unwrap();
    let mut urls = 0;
    for (key, value) in doc {
        if let Some(v) = value.as_str().filter(|v| v.starts_with("https://")) {
            urls += 1;
            assert!(!v.ends_with('/'), "{key} = {v} ends with a slash");
        }
    }
    assert!(urls >= 10, "expected the endpoint fields, found {urls}");
    assert!(!r.json["authentication"]["loginEndpoint"]
        .as_str()
        .unwrap()
        .ends_with('/'));
}

#[tokio::test]
async fn metadata_endpoints_tolerates_a_double_slash() {
    let s = TestServer::start().await;
    let single = s
        .send(s.raw(Method::GET, "/metadata/endpoints?api-version=2022-09-01"))
        .await;
    let double = s
        .send(s.raw(Method::GET, "//metadata/endpoints?api-version=2022-09-01"))
        .await;
    assert_eq!(double.status, 200, "{}", double.text);
    assert_eq!(double.json, single.json);
}

#[tokio::test]
async fn metadata_endpoints_2019_05_01_gives_the_list_form() {
    let s = TestServer::start().await;
    let r = s
        .send(s.raw(Method::GET, "/metadata/endpoints?api-version=2019-05-01"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.json.as_array().expect("a JSON array");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "azemu");
    assert_eq!(list[0]["resourceManager"], json!(s.url));
}

#[tokio::test]
async fn metadata_endpoints_without_api_version_is_refused() {
    let s = TestServer::start().await;
    let r = s.send(s.raw(Method::GET, "/metadata/endpoints")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "MissingApiVersionParameter");
}

// ---- the stand-in Entra ID -----------------------------------------------------------------

#[tokio::test]
async fn oidc_discovery_points_at_this_server() {
    let s = TestServer::start().await;
    let t = s.tenant();
    let r = s
        .send(s.raw(Method::GET, &format!("/{t}/v2.0/.well-known/openid-configuration")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_json_content_type(&r);
    assert_eq!(
        r.json["token_endpoint"],
        json!(format!("{}/{t}/oauth2/v2.0/token", s.url))
    );
    assert_eq!(r.json["issuer"], json!(format!("{}/{t}/v2.0", s.url)));
    let jwks_uri = r.json["jwks_uri"].as_str().unwrap().to_string();
    assert!(jwks_uri.starts_with(&s.url), "{jwks_uri}");

    let keys = s.send(s.raw(Method::GET, &jwks_uri)).await;
    assert_eq!(keys.status, 200, "{}", keys.text);
    assert!(!keys.json["keys"].as_array().unwrap().is_empty());
    assert!(!keys.text.contains("\"d\""), "no private key material");

    let inst = s
        .send(s.raw(Method::GET, "/common/discovery/instance?api-version=1.1"))
        .await;
    assert_eq!(inst.status, 200, "{}", inst.text);
    assert!(inst.json["tenant_discovery_endpoint"]
        .as_str()
        .unwrap()
        .starts_with(&s.url));

    let unknown = s
        .send(s.raw(
            Method::GET,
            &format!("/{}/v2.0/.well-known/openid-configuration", guid()),
        ))
        .await;
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert_eq!(unknown.json["error"], "invalid_tenant");
}

#[tokio::test]
async fn token_endpoint_v2_issues_a_well_formed_jwt() {
    let s = TestServer::start().await;
    let r = s
        .token_request(
            &format!("/{}/oauth2/v2.0/token", s.tenant()),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", "anything"),
                ("scope", &format!("{}//.default", s.url)),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_json_content_type(&r);
    assert_eq!(r.json["token_type"], "Bearer");
    assert!(r.json["expires_in"].as_i64().unwrap() > 0);
    let token = r.json["access_token"].as_str().unwrap();

    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    for p in &parts {
        assert!(!p.is_empty());
        assert!(
            p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "base64url without padding: {p}"
        );
    }
    let c = jwt_claims(token);
    assert_eq!(c["aud"], json!(format!("{}/", s.url)));
    assert_eq!(c["iss"], json!(format!("{}/{}/v2.0", s.url, s.tenant())));
    assert_eq!(c["tid"], json!(s.tenant()));
    assert_eq!(c["appid"], json!(DEFAULT_CLIENT_ID));
    assert!(is_guid(c["oid"].as_str().unwrap()));
    assert_eq!(c["sub"], c["oid"]);
    let (iat, nbf, exp) = (
        c["iat"].as_i64().unwrap(),
        c["nbf"].as_i64().unwrap(),
        c["exp"].as_i64().unwrap(),
    );
    assert!(nbf <= iat + 1 && exp > iat, "iat {iat} nbf {nbf} exp {exp}");
}

#[tokio::test]
async fn token_endpoint_v1_takes_a_resource() {
    let s = TestServer::start().await;
    let resource = format!("{}/", s.url);
    let r = s
        .token_request(
            &format!("/{}/oauth2/token", s.tenant()),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", "anything"),
                ("resource", &resource),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["resource"], json!(resource));
    assert!(r.json["expires_in"].is_string() || r.json["expires_in"].is_number());
    assert!(r.json["expires_on"].is_string());
    let token = r.json["access_token"].as_str().unwrap();
    let c = jwt_claims(token);
    assert_eq!(c["aud"], json!(resource));
    assert_eq!(c["tid"], json!(s.tenant()));
    // The v1 token is accepted by ARM.
    let sub = s
        .send(
            s.raw(Method::GET, "/subscriptions?api-version=2022-12-01")
                .bearer_auth(token),
        )
        .await;
    assert_eq!(sub.status, 200, "{}", sub.text);
}

#[tokio::test]
async fn a_clients_object_id_is_stable_per_client_id() {
    let s = TestServer::start().await;
    let other = guid();
    let a1 = jwt_claims(&s.token_for(&other).await)["oid"].clone();
    let a2 = jwt_claims(&s.token_for(&other).await)["oid"].clone();
    let d = jwt_claims(&s.token_for(DEFAULT_CLIENT_ID).await)["oid"].clone();
    assert_eq!(a1, a2);
    assert_ne!(a1, d);
    // And across servers (restarts): the object id derives from the client id.
    let s2 = TestServer::start().await;
    let b = jwt_claims(&s2.token_for(&other).await)["oid"].clone();
    assert_eq!(a1, b);
}

#[tokio::test]
async fn token_endpoint_refuses_a_bad_grant_type() {
    let s = TestServer::start().await;
    let r = s
        .token_request(
            &format!("/{}/oauth2/v2.0/token", s.tenant()),
            &[
                ("grant_type", "password"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", "x"),
                ("scope", &format!("{}//.default", s.url)),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_json_content_type(&r);
    assert_eq!(r.json["error"], "unsupported_grant_type");
    assert!(r.json["error_description"].as_str().unwrap().starts_with("AADSTS"));
}

#[tokio::test]
async fn token_endpoint_refuses_a_missing_client_id() {
    let s = TestServer::start().await;
    let r = s
        .token_request(
            &format!("/{}/oauth2/v2.0/token", s.tenant()),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", "x"),
                ("scope", &format!("{}//.default", s.url)),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_request");
    assert!(r.json["error_description"].as_str().unwrap().contains("client_id"));
}

// ---- authentication ------------------------------------------------------------------------

#[tokio::test]
async fn arm_without_a_token_is_401_authentication_failed() {
    let s = TestServer::start().await;
    let r = s
        .send(s.raw(
            Method::GET,
            &format!("/subscriptions/{}/resourcegroups?api-version=2024-11-01", s.sub()),
        ))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.code(), "AuthenticationFailed");
    assert!(r.header("www-authenticate").is_some());
    assert_json_content_type(&r);
}

#[tokio::test]
async fn arm_with_a_garbage_token_is_401_invalid_authentication_token() {
    let s = TestServer::start().await;
    let path = format!("/subscriptions/{}/resourcegroups?api-version=2024-11-01", s.sub());
    let r = s
        .send(s.raw(Method::GET, &path).bearer_auth("not.a-token.at-all"))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.code(), "InvalidAuthenticationToken");

    // Not a bearer token at all.
    let r = s
        .send(s.raw(Method::GET, &path).header("Authorization", "Basic eDp5"))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.code().starts_with("AuthenticationFailed"), "{}", r.text);

    // A well-formed token signed by another azemu is not accepted either.
    let other = TestServer::start().await;
    let foreign = other.token().await;
    let r = s.send(s.raw(Method::GET, &path).bearer_auth(foreign)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.code(), "InvalidAuthenticationToken");
}

#[tokio::test]
async fn no_auth_accepts_anonymous_calls() {
    let s = TestServer::start_with(|c| c.no_auth = true).await;
    let r = s
        .send(s.raw(
            Method::GET,
            &format!("/subscriptions/{}?api-version=2022-12-01", s.sub()),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["subscriptionId"], json!(s.sub()));
}

// ---- api-version ---------------------------------------------------------------------------

#[tokio::test]
async fn missing_api_version_is_400_missing_api_version_parameter() {
    let s = TestServer::start().await;
    let token = s.token().await;
    let r = s
        .send(
            s.raw(Method::GET, &format!("/subscriptions/{}/resourcegroups", s.sub()))
                .bearer_auth(token),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "MissingApiVersionParameter");
    assert!(!r.message().is_empty());
}

#[tokio::test]
async fn malformed_api_version_is_400_invalid_api_version_parameter() {
    let s = TestServer::start().await;
    for bad in ["latest", "2024-1-01", "2024-11-01-"] {
        let r = s
            .get(&format!("/subscriptions/{}/resourcegroups?api-version={bad}", s.sub()))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.code(), "InvalidApiVersionParameter", "{bad}");
        assert!(r.message().contains(bad), "{}", r.message());
    }
}

#[tokio::test]
async fn any_well_formed_api_version_is_accepted_by_default() {
    let s = TestServer::start().await;
    for v in ["2099-01-01", "2021-04-01", "2025-05-31-preview"] {
        let r = s
            .get(&format!("/subscriptions/{}/resourcegroups?api-version={v}", s.sub()))
            .await;
        assert_eq!(r.status, 200, "{v}: {}", r.text);
    }
}

#[tokio::test]
async fn strict_api_versions_refuses_unknown_versions_with_arms_codes() {
    let s = TestServer::start_with(|c| c.strict_api_versions = true).await;
    s.create_rg("strict-rg", "westus2").await;

    // A listed version works.
    let ok = s
        .get(&format!(
            "/subscriptions/{}/resourcegroups?api-version=2024-11-01",
            s.sub()
        ))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    // ARM's own types: InvalidApiVersionParameter naming the supported versions (j3).
    let r = s
        .get(&format!(
            "/subscriptions/{}/resourcegroups?api-version=2099-01-01",
            s.sub()
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidApiVersionParameter");
    assert!(r.message().contains("'2099-01-01'"), "{}", r.message());
    assert!(r.message().contains("2024-11-01"), "{}", r.message());

    let r = s
        .get(&format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?api-version=2099-01-01",
            s.rg_id("strict-rg")
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidApiVersionParameter");

    // A resource provider's type: NoRegisteredProviderFound naming the type (j2).
    let r = s
        .get(&format!(
            "{}?api-version=2099-01-01",
            s.identity_id("strict-rg", "some-id")
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "NoRegisteredProviderFound");
    assert!(r.message().contains("'userAssignedIdentities'"), "{}", r.message());
    assert!(r.message().contains("2024-11-30"), "{}", r.message());

    let ok = s
        .get(&format!(
            "{}?api-version=2024-11-30",
            s.identity_id("strict-rg", "some-id")
        ))
        .await;
    assert_eq!(ok.status, 404, "the version passes; the identity is missing");
}

// ---- headers every response carries (j7) -------------------------------------------------

#[tokio::test]
async fn every_response_carries_request_and_correlation_ids() {
    let s = TestServer::start().await;
    let path = format!("/subscriptions/{}/resourcegroups", s.sub());

    let a = s.get(&path).await;
    let b = s.get(&path).await;
    let ra = a.header("x-ms-request-id").expect("x-ms-request-id");
    let rb = b.header("x-ms-request-id").expect("x-ms-request-id");
    assert!(is_guid(&ra), "{ra}");
    assert_ne!(ra, rb, "each request gets its own id");
    let ca = a
        .header("x-ms-correlation-request-id")
        .expect("generated when not sent");
    assert!(is_guid(&ca), "{ca}");

    let mine = guid();
    let echoed = s
        .send(
            s.request(Method::GET, &path)
                .await
                .header("x-ms-correlation-request-id", &mine),
        )
        .await;
    assert_eq!(
        echoed.header("x-ms-correlation-request-id").as_deref(),
        Some(mine.as_str())
    );

    // Errors carry them too.
    let err = s
        .send(s.raw(Method::GET, &path).header("x-ms-correlation-request-id", &mine))
        .await;
    assert_eq!(err.status, 401);
    assert!(err.header("x-ms-request-id").is_some());
    assert_eq!(
        err.header("x-ms-correlation-request-id").as_deref(),
        Some(mine.as_str())
    );
}

#[tokio::test]
async fn every_body_is_json() {
    let s = TestServer::start().await;
    s.create_rg("ct-rg", "westus2").await;
    let token = s.token().await;
    let replies = vec![
        s.get(&s.rg_id("ct-rg")).await,
        s.get(&s.rg_id("ct-missing")).await,
        s.get(&format!("/subscriptions/{}/resourcegroups?api-version=bad", s.sub()))
            .await,
        s.send(s.raw(Method::GET, "/no/such/thing")).await,
        s.send(s.raw(Method::GET, "/_azemu/health")).await,
        s.send(s.raw(Method::GET, "/v1.0/servicePrincipals").bearer_auth(&token))
            .await,
        s.send(s.raw(Method::PATCH, &format!("/subscriptions/{}", s.sub())))
            .await,
        s.send(s.request(Method::PUT, &s.rg_id("ct-rg")).await.body("{not json"))
            .await,
    ];
    for r in &replies {
        assert!(!r.text.is_empty(), "{} has a body", r.status);
        assert_json_content_type(r);
        assert!(
            r.json.is_object() || r.json.is_array(),
            "{} body is JSON: {}",
            r.status,
            r.text
        );
    }
}

// ---- errors: unknown routes, methods, bodies ---------------------------------------------

#[tokio::test]
async fn unknown_routes_are_404_never_5xx() {
    let s = TestServer::start().await;
    let sub = s.sub();
    let r = s.send(s.raw(Method::GET, "/no/such/thing")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "NotFound");

    let r = s
        .get(&format!("/subscriptions/{sub}/providers/Microsoft.Nothing/widgets/w1"))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "InvalidResourceType");

    // `/providers` is the tenant-level provider list (Resources "Providers_ListAtTenantScope").
    let r = s.get("/providers").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r
        .values()
        .iter()
        .any(|p| p["namespace"] == "Microsoft.ContainerService" && p.get("registrationState").is_none()));

    let odd = [
        format!("/subscriptions/{sub}/resourcegroups/rg/providers"),
        format!("/subscriptions/{sub}/foo/bar/baz"),
        format!(
            "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x/y/z/w"
        ),
        "/tenants/x/y".to_string(),
        "/%zz/%%".to_string(),
        "/_azemu/nothing".to_string(),
    ];
    for p in &odd {
        for m in [Method::GET, Method::POST, Method::DELETE, Method::PUT] {
            let r = s.send(s.request(m.clone(), p).await.body("{}")).await;
            assert!(
                (400..500).contains(&r.status),
                "{m} {p} answered {}: {}",
                r.status,
                r.text
            );
        }
    }
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let s = TestServer::start().await;
    let r = s.post(&s.rg_id("any-rg"), json!({})).await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.code(), "MethodNotAllowed");
    let allow = r.header("allow").expect("Allow header");
    for m in ["GET", "HEAD", "PUT", "PATCH", "DELETE"] {
        assert!(allow.contains(m), "{allow}");
    }
    assert!(!allow.contains("POST"), "{allow}");

    let r = s.delete("/subscriptions").await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.header("allow").as_deref(), Some("GET"));

    let r = s
        .send(s.raw(Method::GET, &format!("/{}/oauth2/v2.0/token", s.tenant())))
        .await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
}

#[tokio::test]
async fn malformed_json_is_400_invalid_request_content() {
    let s = TestServer::start().await;
    let r = s
        .send(
            s.request(Method::PUT, &s.rg_id("bad-json"))
                .await
                .header("Content-Type", "application/json")
                .body("{\"location\": "),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidRequestContent");
    // Nothing was created.
    assert_eq!(s.get(&s.rg_id("bad-json")).await.status, 404);

    // A body of the wrong shape is refused the same way.
    let r = s.put(&s.rg_id("bad-json"), json!(["westus2"])).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidRequestContent");
}

#[tokio::test]
async fn a_body_over_4_mib_is_413() {
    let s = TestServer::start().await;
    let big = format!(
        "{{\"location\":\"westus2\",\"tags\":{{\"a\":\"{}\"}}}}",
        "x".repeat(4 * 1024 * 1024)
    );
    let r = s
        .send(
            s.request(Method::PUT, &s.rg_id("too-big"))
                .await
                .header("Content-Type", "application/json")
                .body(big),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.code(), "RequestEntityTooLarge");
    assert_eq!(s.get(&s.rg_id("too-big")).await.status, 404);
}

// ---- subscriptions, tenants, locations, providers ----------------------------------------

#[tokio::test]
async fn subscriptions_list_and_get() {
    let s = TestServer::start().await;
    let sub = s.sub();
    let r = s.get("/subscriptions?api-version=2022-12-01").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mine = r
        .values()
        .into_iter()
        .find(|x| x["subscriptionId"] == json!(sub))
        .expect("the default subscription is listed");
    assert_eq!(mine["id"], json!(format!("/subscriptions/{sub}")));
    assert_eq!(mine["tenantId"], json!(s.tenant()));
    assert_eq!(mine["displayName"], "azemu");
    assert_eq!(mine["state"], "Enabled");

    let r = s.get(&format!("/subscriptions/{sub}?api-version=2022-12-01")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, mine);
}

#[tokio::test]
async fn an_unknown_subscription_is_404_subscription_not_found() {
    let s = TestServer::start().await;
    let missing = guid();
    let r = s.get(&format!("/subscriptions/{missing}")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "SubscriptionNotFound");
    assert_eq!(r.message(), format!("The subscription '{missing}' could not be found."));

    let r = s.get(&format!("/subscriptions/{missing}/resourcegroups")).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "SubscriptionNotFound");

    let r = s.get("/subscriptions/not-a-guid/resourcegroups").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidSubscriptionId");
}

#[tokio::test]
async fn tenants_are_listed() {
    let s = TestServer::start().await;
    let r = s.get("/tenants?api-version=2022-12-01").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r
        .values()
        .into_iter()
        .find(|x| x["tenantId"] == json!(s.tenant()))
        .expect("the default tenant");
    assert_eq!(t["id"], json!(format!("/tenants/{}", s.tenant())));
    assert_eq!(t["defaultDomain"], "azemu.onmicrosoft.com");
}

#[tokio::test]
async fn locations_are_real_regions() {
    let s = TestServer::start().await;
    let r = s
        .get(&format!("/subscriptions/{}/locations?api-version=2022-12-01", s.sub()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.values();
    let find = |n: &str| v.iter().find(|l| l["name"] == json!(n)).cloned();
    let eastus = find("eastus").expect("eastus");
    assert_eq!(eastus["displayName"], "East US");
    assert_eq!(
        eastus["id"],
        json!(format!("/subscriptions/{}/locations/eastus", s.sub()))
    );
    assert_eq!(find("westeurope").unwrap()["displayName"], "West Europe");
    assert_eq!(find("westus2").unwrap()["displayName"], "West US 2");
    assert!(find("moon-1").is_none());
}

#[tokio::test]
async fn providers_list_get_and_register() {
    let s = TestServer::start().await;
    let sub = s.sub();
    let r = s.get(&format!("/subscriptions/{sub}/providers")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let namespaces: Vec<String> = r
        .values()
        .iter()
        .map(|p| p["namespace"].as_str().unwrap_or("").to_string())
        .collect();
    for ns in [
        "Microsoft.Resources",
        "Microsoft.Authorization",
        "Microsoft.ManagedIdentity",
    ] {
        assert!(namespaces.iter().any(|n| n == ns), "{ns} in {namespaces:?}");
    }

    let r = s
        .get(&format!("/subscriptions/{sub}/providers/microsoft.managedidentity"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["namespace"], "Microsoft.ManagedIdentity");
    assert_eq!(r.json["registrationState"], "Registered");
    let types = r.json["resourceTypes"].as_array().unwrap();
    let uai = types
        .iter()
        .find(|t| t["resourceType"] == "userAssignedIdentities")
        .expect("userAssignedIdentities");
    assert!(uai["apiVersions"].as_array().unwrap().contains(&json!("2024-11-30")));

    let un = s
        .post(
            &format!("/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/unregister"),
            json!({}),
        )
        .await;
    assert_eq!(un.status, 200, "{}", un.text);
    assert_eq!(un.json["registrationState"], "Unregistered");
    let re = s
        .post(
            &format!("/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/register"),
            json!({}),
        )
        .await;
    assert_eq!(re.status, 200, "{}", re.text);
    assert_eq!(re.json["registrationState"], "Registered");

    let r = s
        .get(&format!("/subscriptions/{sub}/providers/Microsoft.Nothing"))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "InvalidResourceNamespace");
}

// ---- resource groups -------------------------------------------------------------------

#[tokio::test]
async fn resource_group_put_is_201_then_200() {
    let s = TestServer::start().await;
    let body = json!({ "location": "westus2", "tags": { "env": "test" } });
    let a = s.put(&s.rg_id("rg-put"), body.clone()).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json["id"], json!(s.rg_id("rg-put")));
    assert_eq!(a.json["name"], "rg-put");
    assert_eq!(a.json["location"], "westus2");
    assert_eq!(a.json["type"], "Microsoft.Resources/resourceGroups");
    assert_eq!(a.json["properties"]["provisioningState"], "Succeeded");
    assert_eq!(a.json["tags"]["env"], "test");
    let b = s.put(&s.rg_id("rg-put"), body).await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(a.json, b.json);

    insta::assert_json_snapshot!("resource_group", b.json, {
        ".id" => "[id]",
    });
}

#[tokio::test]
async fn resource_group_put_of_its_own_get_output_is_accepted() {
    // Issue 2 §3: read-only properties clients echo back (Terraform PUTs its own GET output)
    // are ignored, not rejected.
    let s = TestServer::start().await;
    let created = s.create_rg("rg-echo", "westus2").await;
    let got = s.get(&s.rg_id("rg-echo")).await.json;
    let r = s.put(&s.rg_id("rg-echo"), got).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json, created);
}

#[tokio::test]
async fn resource_group_display_name_location_is_normalized() {
    let s = TestServer::start().await;
    let r = s.put(&s.rg_id("rg-display"), json!({ "location": "West US 2" })).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["location"], "westus2");
}

#[tokio::test]
async fn resource_groups_are_matched_case_insensitively_keeping_creation_casing() {
    // j6: names are matched case-insensitively; the stored casing is the creator's.
    let s = TestServer::start().await;
    s.create_rg("MyMixedRG", "westus2").await;
    let r = s
        .get(&format!("/SUBSCRIPTIONS/{}/RESOURCEGROUPS/mymixedrg", s.sub()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "MyMixedRG");
    assert_eq!(r.json["id"], json!(s.rg_id("MyMixedRG")));

    // An update through another casing keeps the first casing.
    let u = s
        .put(
            &s.rg_id("MYMIXEDRG"),
            json!({ "location": "westus2", "tags": { "a": "b" } }),
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.json["name"], "MyMixedRG");

    let list = s.get(&format!("/subscriptions/{}/resourcegroups", s.sub())).await;
    let names: Vec<Value> = list.values().iter().map(|g| g["name"].clone()).collect();
    assert_eq!(names, vec![json!("MyMixedRG")]);
}

#[tokio::test]
async fn double_slashes_in_arm_paths_are_tolerated() {
    let s = TestServer::start().await;
    s.create_rg("slashy", "westus2").await;
    let r = s
        .get(&format!("//subscriptions/{}//resourceGroups/slashy/", s.sub()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "slashy");
}

#[tokio::test]
async fn resource_group_head_is_204_or_404() {
    let s = TestServer::start().await;
    s.create_rg("rg-head", "westus2").await;
    let r = s.head(&s.rg_id("RG-HEAD")).await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    let r = s.head(&s.rg_id("rg-head-missing")).await;
    assert_eq!(r.status, 404);
    assert!(r.text.is_empty(), "HEAD has no body");
}

#[tokio::test]
async fn resource_group_patch_replaces_tags() {
    let s = TestServer::start().await;
    s.put(
        &s.rg_id("rg-patch"),
        json!({ "location": "westus2", "tags": { "old": "1" } }),
    )
    .await;
    let r = s.patch(&s.rg_id("rg-patch"), json!({ "tags": { "new": "2" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["tags"], json!({ "new": "2" }));
    assert_eq!(r.json["location"], "westus2");
    let g = s.get(&s.rg_id("rg-patch")).await;
    assert_eq!(g.json["tags"], json!({ "new": "2" }));

    let r = s.patch(&s.rg_id("rg-patch-missing"), json!({ "tags": {} })).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "ResourceGroupNotFound");
}

#[tokio::test]
async fn resource_group_list_pages_with_top_and_an_opaque_next_link() {
    // j9: value + nextLink with an opaque skip token; $top caps a page.
    let s = TestServer::start().await;
    let mut expected: Vec<String> = (0..5).map(|i| format!("page-rg-{i}")).collect();
    for n in &expected {
        s.create_rg(n, "westus2").await;
    }
    let first = s
        .get(&format!("/subscriptions/{}/resourcegroups?$top=2", s.sub()))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.values().len(), 2);
    let next = first.json["nextLink"].as_str().expect("a nextLink").to_string();
    assert!(next.starts_with(&s.url), "{next}");
    assert!(next.contains("api-version="), "{next}");
    let token = url_query(&next, "$skipToken").expect("a $skipToken");
    assert!(
        token.parse::<i64>().is_err() && !token.contains("page"),
        "the skip token is opaque: {token}"
    );

    let mut seen: Vec<String> = first
        .values()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    let mut link = Some(next);
    let mut pages = 1;
    while let Some(l) = link {
        let r = s.poll(&l).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.values().len() <= 2);
        seen.extend(r.values().iter().map(|g| g["name"].as_str().unwrap().to_string()));
        link = r.json["nextLink"].as_str().map(str::to_string);
        pages += 1;
        assert!(pages < 10, "paging ends");
    }
    assert_eq!(pages, 3);
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected, "every group once");

    let r = s
        .get(&format!("/subscriptions/{}/resourcegroups?$skipToken=garbage", s.sub()))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);

    // Without $top everything fits one page and there is no nextLink.
    let all = s.get(&format!("/subscriptions/{}/resourcegroups", s.sub())).await;
    assert_eq!(all.values().len(), 5);
    assert!(all.json.get("nextLink").is_none_or(Value::is_null));
}

fn url_query(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn check_resource_group_name_refuses_invalid_characters() {
    let s = TestServer::start().await;
    let long = "a".repeat(91);
    for name in ["bad%20name", "bad*name", "ends-with-period.", long.as_str()] {
        let r = s.put(&s.rg_id(name), json!({ "location": "westus2" })).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        assert_eq!(r.code(), "InvalidResourceGroup", "{name}");
    }
    // The edges that are allowed.
    let ok = "a".repeat(90);
    for name in ["a", "with.dots_and-(parens)", ok.as_str()] {
        let r = s.put(&s.rg_id(name), json!({ "location": "westus2" })).await;
        assert_eq!(r.status, 201, "{name}: {}", r.text);
    }
}

#[tokio::test]
async fn a_bad_location_is_400_location_not_available_for_resource_group() {
    let s = TestServer::start().await;
    let r = s.put(&s.rg_id("rg-badloc"), json!({ "location": "moon-1" })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "LocationNotAvailableForResourceGroup");
    assert!(r.message().contains("'moon-1'"), "{}", r.message());

    // A missing location is refused by the body's schema, naming the property.
    let r = s.put(&s.rg_id("rg-badloc"), json!({ "tags": {} })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        matches!(r.code(), "InvalidRequestContent" | "LocationRequired"),
        "{}",
        r.text
    );
    assert!(r.message().contains("location"), "{}", r.message());
    assert_eq!(s.get(&s.rg_id("rg-badloc")).await.status, 404);
}

#[tokio::test]
async fn changing_a_resource_groups_location_is_409_invalid_resource_group_location() {
    let s = TestServer::start().await;
    s.create_rg("rg-move", "westus2").await;
    let r = s.put(&s.rg_id("rg-move"), json!({ "location": "eastus" })).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "InvalidResourceGroupLocation");
    assert!(r.message().contains("westus2"), "{}", r.message());
    assert_eq!(s.get(&s.rg_id("rg-move")).await.json["location"], "westus2");
}

#[tokio::test]
async fn resource_group_delete_is_202_with_location_then_404() {
    // j8: DELETE 202 + Location when async; then GET 404 (j4).
    let s = TestServer::start().await;
    s.create_rg("rg-del", "westus2").await;
    let r = s.delete(&s.rg_id("rg-del")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let loc = r.header("location").expect("a Location header");
    assert!(loc.starts_with(&s.url), "{loc}");
    assert!(loc.contains("api-version="), "{loc}");
    assert_eq!(r.header("retry-after").as_deref(), Some("0"));

    let p = s.poll(&loc).await;
    assert!(p.status == 200 || p.status == 204, "{} {}", p.status, p.text);

    let g = s.get(&s.rg_id("rg-del")).await;
    assert_eq!(g.status, 404, "{}", g.text);
    assert_eq!(g.code(), "ResourceGroupNotFound");
    assert_eq!(g.message(), "Resource group 'rg-del' could not be found.");

    let again = s.delete(&s.rg_id("rg-del")).await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(again.code(), "ResourceGroupNotFound");
}

#[tokio::test]
async fn deleting_a_resource_group_deletes_the_identities_inside() {
    let s = TestServer::start().await;
    s.create_rg("rg-cascade", "westus2").await;
    s.create_rg("rg-keep", "westus2").await;
    let gone = s.create_identity("rg-cascade", "id-gone").await;
    s.create_identity("rg-keep", "id-kept").await;

    let r = s.delete(&s.rg_id("rg-cascade")).await;
    assert_eq!(r.status, 202);
    let loc = r.header("location").unwrap();
    s.poll(&loc).await;

    let g = s.get(&s.identity_id("rg-cascade", "id-gone")).await;
    assert_eq!(g.status, 404, "{}", g.text);
    assert_eq!(g.code(), "ResourceGroupNotFound");

    let listed = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
            s.sub()
        ))
        .await;
    let names: Vec<Value> = listed.values().iter().map(|i| i["name"].clone()).collect();
    assert_eq!(names, vec![json!("id-kept")]);

    // Its service principal is gone from the directory too.
    let client_id = gone["properties"]["clientId"].as_str().unwrap();
    let sp = s
        .get(&format!("/v1.0/servicePrincipals?$filter=appId eq '{client_id}'"))
        .await;
    assert_eq!(sp.status, 200, "{}", sp.text);
    assert!(sp.values().is_empty(), "{}", sp.text);
}

#[tokio::test]
async fn resource_group_resources_lists_what_is_inside() {
    let s = TestServer::start().await;
    s.create_rg("rg-res", "westus2").await;
    let empty = s.get(&format!("{}/resources", s.rg_id("rg-res"))).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert!(empty.values().is_empty());

    s.create_identity("rg-res", "id-a").await;
    s.create_identity("rg-res", "id-b").await;
    let r = s.get(&format!("{}/resources", s.rg_id("rg-res"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut ids: Vec<String> = r
        .values()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![s.identity_id("rg-res", "id-a"), s.identity_id("rg-res", "id-b")]
    );
    for x in r.values() {
        assert_eq!(x["type"], "Microsoft.ManagedIdentity/userAssignedIdentities");
        assert_eq!(x["location"], "westus2");
    }

    let filtered = s
        .get(&format!("{}/resources?$filter=name eq 'id-b'", s.rg_id("rg-res")))
        .await;
    assert_eq!(filtered.values().len(), 1);
    assert_eq!(filtered.values()[0]["name"], "id-b");

    let missing = s.get(&format!("{}/resources", s.rg_id("rg-nope"))).await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(missing.code(), "ResourceGroupNotFound");
}

// ---- long-running operations --------------------------------------------------------------

#[tokio::test]
async fn lro_duration_keeps_a_delete_in_progress_until_the_clock_passes_it() {
    let s = TestServer::start_with(|c| c.lro_duration_ms = 60_000).await;
    s.create_rg("rg-slow", "westus2").await;
    let r = s.delete(&s.rg_id("rg-slow")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let loc = r.header("location").expect("Location");

    let p = s.poll(&loc).await;
    assert_eq!(p.status, 202, "still running: {}", p.text);
    assert!(p.header("location").is_some());
    assert!(p.header("retry-after").is_some());
    let g = s.get(&s.rg_id("rg-slow")).await;
    assert_eq!(g.status, 200, "the group is still there while deleting");
    assert_eq!(g.json["properties"]["provisioningState"], "Deleting");

    s.advance("5s").await;
    assert_eq!(s.poll(&loc).await.status, 202, "5 s of 60 s");

    s.advance("60s").await;
    let p = s.poll(&loc).await;
    assert!(p.status == 200 || p.status == 204, "{} {}", p.status, p.text);
    let g = s.get(&s.rg_id("rg-slow")).await;
    assert_eq!(g.status, 404, "{}", g.text);
    assert_eq!(g.code(), "ResourceGroupNotFound");
}

#[tokio::test]
async fn x_azemu_lro_polls_2_finishes_on_the_second_poll() {
    let s = TestServer::start().await;
    s.create_rg("rg-polls", "westus2").await;
    let r = s
        .send(
            s.request(Method::DELETE, &s.rg_id("rg-polls"))
                .await
                .header("x-azemu-lro", "polls=2"),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let loc = r.header("location").expect("Location");

    let first = s.poll(&loc).await;
    assert_eq!(first.status, 202, "{}", first.text);
    assert_eq!(s.get(&s.rg_id("rg-polls")).await.status, 200);

    let second = s.poll(&loc).await;
    assert!(
        second.status == 200 || second.status == 204,
        "{} {}",
        second.status,
        second.text
    );
    assert_eq!(s.get(&s.rg_id("rg-polls")).await.status, 404);
}

#[tokio::test]
async fn a_bad_x_azemu_lro_value_is_refused() {
    let s = TestServer::start().await;
    s.create_rg("rg-badlro", "westus2").await;
    let r = s
        .send(
            s.request(Method::DELETE, &s.rg_id("rg-badlro"))
                .await
                .header("x-azemu-lro", "whenever"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidLroSetting");
}

// ---- azemu's own API --------------------------------------------------------------------

#[tokio::test]
async fn health_names_version_tenant_and_subscription() {
    let s = TestServer::start().await;
    let r = s.send(s.raw(Method::GET, "/_azemu/health")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_json_content_type(&r);
    assert_eq!(r.json["status"], "ok");
    assert_eq!(r.json["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(r.json["tenantId"], json!(DEFAULT_TENANT_ID));
    assert_eq!(r.json["subscriptionId"], json!(DEFAULT_SUBSCRIPTION_ID));
}

#[tokio::test]
async fn reset_empties_state_and_puts_the_defaults_back() {
    let s = TestServer::start().await;
    s.create_rg("rg-reset", "westus2").await;
    let id = s.create_identity("rg-reset", "id-reset").await;

    let r = s.send(s.raw(Method::POST, "/_azemu/reset")).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The token from before still works: the key and the default principal are kept.
    let g = s.get(&s.rg_id("rg-reset")).await;
    assert_eq!(g.status, 404, "{}", g.text);
    let groups = s.get(&format!("/subscriptions/{}/resourcegroups", s.sub())).await;
    assert_eq!(groups.status, 200, "{}", groups.text);
    assert!(groups.values().is_empty());

    let sub = s.get(&format!("/subscriptions/{}", s.sub())).await;
    assert_eq!(sub.status, 200, "the default subscription is back");

    let pid = id["properties"]["principalId"].as_str().unwrap();
    let sp = s.get(&format!("/v1.0/servicePrincipals/{pid}")).await;
    assert_eq!(sp.status, 404, "the identity's principal is gone");

    // The default client owns the default subscription again.
    let oid = jwt_claims(&s.token().await)["oid"].as_str().unwrap().to_string();
    let ra = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{oid}'",
            s.sub()
        ))
        .await;
    assert_eq!(ra.status, 200, "{}", ra.text);
    assert!(
        ra.values()
            .iter()
            .any(|a| a["properties"]["roleDefinitionId"].as_str().unwrap().ends_with(OWNER)),
        "{}",
        ra.text
    );
}

/// `az resource list -g X` and `az aks update --attach-acr <name>` list the subscription's
/// resources with `$filter=resourceGroup eq '…'` / `resourceType eq '…' and name eq '…'`.
#[tokio::test]
async fn subscription_resources_honour_az_filters() {
    let s = TestServer::start().await;
    s.create_rg("filter-a", "westus2").await;
    s.create_rg("filter-b", "westus2").await;
    s.create_identity("filter-a", "in-a").await;
    s.create_identity("filter-b", "in-b").await;
    let list = |f: &str| format!("/subscriptions/{}/resources?$filter={}", s.sub(), f.replace(' ', "%20"));
    let by_group = s.get(&list("resourceGroup eq 'FILTER-A'")).await;
    assert_eq!(by_group.status, 200, "{}", by_group.text);
    assert_eq!(by_group.values().len(), 1, "{}", by_group.text);
    assert_eq!(by_group.values()[0]["name"], "in-a");
    let by_name = s
        .get(&list(
            "resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities' and name eq 'in-b'",
        ))
        .await;
    assert_eq!(by_name.values().len(), 1);
    assert_eq!(by_name.values()[0]["name"], "in-b");
    assert!(s.get(&list("location eq 'eastus'")).await.values().is_empty());
}

/// A provider the subscription unregistered refuses its types with ARM's 409
/// `MissingSubscriptionRegistration`; registering it again lifts that.
#[tokio::test]
async fn ensure_registered_unregistered_providers_refuse_their_types() {
    let s = TestServer::start().await;
    s.create_rg("reg", "westus2").await;
    let ns = format!("/subscriptions/{}/providers/Microsoft.ManagedIdentity", s.sub());
    let r = s
        .post(&format!("{ns}/unregister?api-version=2022-09-01"), json!({}))
        .await;
    assert_eq!(r.json["registrationState"], "Unregistered", "{}", r.text);
    let refused = s
        .put(
            &s.identity_id("reg", "while-unregistered"),
            json!({ "location": "westus2" }),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.code(), "MissingSubscriptionRegistration");
    // Role assignments (ARM's own namespace) keep working meanwhile.
    let roles = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions",
            s.sub()
        ))
        .await;
    assert_eq!(roles.status, 200);
    s.post(&format!("{ns}/register?api-version=2022-09-01"), json!({}))
        .await;
    assert_eq!(
        s.put(
            &s.identity_id("reg", "after-register"),
            json!({ "location": "westus2" })
        )
        .await
        .status,
        201
    );
}
