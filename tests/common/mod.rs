//! The harness the HTTP integration tests share: an in-process azemu on an ephemeral port,
//! spoken to over real HTTPS with a client that trusts the CA azemu wrote to its data dir.
//!
//! Tests only see what a client sees: status, headers and bodies.

#![allow(dead_code)]

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Mutex;

pub use azemu::config::{DEFAULT_CLIENT_ID, DEFAULT_SUBSCRIPTION_ID, DEFAULT_TENANT_ID};

/// Default api-versions, by the type a path names.
pub const RESOURCES_API: &str = "2024-11-01";
pub const IDENTITY_API: &str = "2024-11-30";
pub const ROLE_ASSIGNMENTS_API: &str = "2022-04-01";
pub const ROLE_DEFINITIONS_API: &str = "2022-05-01-preview";

pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

/// One azemu, its own data dir and a client that trusts its CA.
pub struct TestServer {
    /// `https://127.0.0.1:PORT`
    pub url: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    pub ca_path: PathBuf,
    running: Option<azemu::Running>,
    /// Whether the harness made `data_dir` (and removes it when done).
    owns_dir: bool,
    token: Mutex<Option<String>>,
}

/// What a call answered.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON; `Null` when empty, a JSON string when not JSON.
    pub json: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    /// `error.code` of an ARM error envelope.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// `error.message` of an ARM error envelope.
    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }

    /// `value` of a list.
    pub fn values(&self) -> Vec<Value> {
        self.json["value"].as_array().cloned().unwrap_or_default()
    }
}

/// A fresh directory under the system temp dir.
pub fn fresh_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("azemu-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("create a temp data dir");
    dir
}

/// A new random GUID.
pub fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// True for a GUID in 8-4-4-4-12 form.
pub fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

/// The api-version a path gets when it names none.
pub fn api_version_for(path: &str) -> &'static str {
    let p = path.to_ascii_lowercase();
    let last = p.rfind("/providers/").map(|i| &p[i..]).unwrap_or(&p);
    if last.contains("/roleassignments") {
        ROLE_ASSIGNMENTS_API
    } else if last.contains("/roledefinitions") {
        ROLE_DEFINITIONS_API
    } else if last.contains("/userassignedidentities") {
        IDENTITY_API
    } else {
        RESOURCES_API
    }
}

/// True for the paths azemu answers outside ARM (no api-version is added to these).
fn is_plumbing(path: &str) -> bool {
    let p = path.trim_start_matches('/').to_ascii_lowercase();
    p.starts_with("_azemu") || p.starts_with("v1.0") || p.starts_with("metadata")
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts azemu with a configuration `f` adjusts (port 0, a fresh data dir).
    pub async fn start_with(f: impl FnOnce(&mut azemu::Config)) -> TestServer {
        let data_dir = fresh_dir();
        let mut cfg = azemu::Config {
            port: 0,
            data_dir: data_dir.clone(),
            audit_refusals: true,
            ..Default::default()
        };
        f(&mut cfg);
        let owns_dir = cfg.data_dir == data_dir;
        if !owns_dir {
            let _ = std::fs::remove_dir_all(&data_dir);
        }
        let data_dir = cfg.data_dir.clone();
        let running = azemu::start(cfg).await.expect("azemu starts");
        let url = running.url.clone();
        let ca_path = running.ca_path.clone().expect("azemu serves TLS");
        let client = client_trusting(&ca_path);
        TestServer {
            url,
            client,
            data_dir,
            ca_path,
            running: Some(running),
            owns_dir,
            token: Mutex::new(None),
        }
    }

    /// The default subscription.
    pub fn sub(&self) -> String {
        DEFAULT_SUBSCRIPTION_ID.to_string()
    }

    pub fn tenant(&self) -> String {
        DEFAULT_TENANT_ID.to_string()
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}`.
    pub fn rg_id(&self, rg: &str) -> String {
        format!("/subscriptions/{}/resourceGroups/{rg}", self.sub())
    }

    pub fn identity_id(&self, rg: &str, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
            self.rg_id(rg)
        )
    }

    /// The absolute URL of `path` (an absolute URL is kept as is).
    pub fn abs(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.url)
        }
    }

    /// A token for the default client (fetched once).
    pub async fn token(&self) -> String {
        if let Some(t) = self.token.lock().unwrap().clone() {
            return t;
        }
        let t = self.token_for(DEFAULT_CLIENT_ID).await;
        *self.token.lock().unwrap() = Some(t.clone());
        t
    }

    /// A client-credentials token (v2) for `client_id`, with any secret.
    pub async fn token_for(&self, client_id: &str) -> String {
        let r = self
            .token_request(
                &format!("/{}/oauth2/v2.0/token", self.tenant()),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", "any-secret"),
                    ("scope", &format!("{}//.default", self.url)),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "token for {client_id}: {}", r.text);
        r.json["access_token"].as_str().expect("access_token").to_string()
    }

    /// `POST` a form to a token endpoint.
    pub async fn token_request(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        let body = {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                ser.append_pair(k, v);
            }
            ser.finish()
        };
        self.send(
            self.raw(Method::POST, path)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
    }

    /// A request with nothing added: no token, no api-version.
    pub fn raw(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.abs(path))
    }

    /// `path` with the api-version its type gets when it names none.
    pub fn with_api_version(&self, path: &str) -> String {
        if path.contains("api-version=") || is_plumbing(path) {
            return path.to_string();
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}api-version={}", api_version_for(path))
    }

    /// A request with the default client's token and an api-version.
    pub async fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let token = self.token().await;
        self.raw(method, &self.with_api_version(path)).bearer_auth(token)
    }

    /// A request as another caller (its token), with an api-version.
    pub fn request_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.raw(method, &self.with_api_version(path)).bearer_auth(token)
    }

    pub async fn send(&self, rb: RequestBuilder) -> Reply {
        let resp = rb.send().await.expect("the request reaches azemu");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("the body can be read");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(text.clone()))
        };
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut rb = self.request(method, path).await;
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.send(rb).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn head(&self, path: &str) -> Reply {
        self.call(Method::HEAD, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    /// Creates a resource group (asserting success) and returns its body.
    pub async fn create_rg(&self, name: &str, location: &str) -> Value {
        let r = self.put(&self.rg_id(name), json!({ "location": location })).await;
        assert!(
            r.status == 201 || r.status == 200,
            "create group {name}: {} {}",
            r.status,
            r.text
        );
        r.json
    }

    /// Creates a user-assigned identity (asserting success) and returns its body.
    pub async fn create_identity(&self, rg: &str, name: &str) -> Value {
        let r = self
            .put(&self.identity_id(rg, name), json!({ "location": "westus2" }))
            .await;
        assert!(
            r.status == 201 || r.status == 200,
            "create identity {name}: {} {}",
            r.status,
            r.text
        );
        r.json
    }

    /// `PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    pub async fn assign(
        &self,
        scope: &str,
        name: &str,
        role_guid: &str,
        principal_id: &str,
        principal_type: Option<&str>,
    ) -> Reply {
        let mut props = json!({
            "roleDefinitionId": format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}",
                self.sub()
            ),
            "principalId": principal_id,
        });
        if let Some(t) = principal_type {
            props["principalType"] = json!(t);
        }
        self.put(
            &format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            json!({ "properties": props }),
        )
        .await
    }

    /// Moves azemu's clock forward (`"5s"`, `"2m"`).
    pub async fn advance(&self, by: &str) {
        let r = self
            .send(self.raw(Method::POST, "/_azemu/clock").json(&json!({ "advance": by })))
            .await;
        assert_eq!(r.status, 200, "advance the clock: {}", r.text);
    }

    /// Follows a `Location` (or `Azure-AsyncOperation`) URL once.
    pub async fn poll(&self, url: &str) -> Reply {
        self.send(self.request(Method::GET, url).await).await
    }
}

impl TestServer {
    /// Stops the server the way SIGTERM does (open requests finish, `--state-file` is saved).
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        drop(self.running.take());
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A client that trusts only the CA at `ca_path`.
pub fn client_trusting(ca_path: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(ca_path).expect("read the CA azemu wrote");
    let cert = reqwest::Certificate::from_pem(&pem).expect("the CA is PEM");
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(cert)
        .build()
        .expect("build the client")
}

/// The claims of a JWT (its middle part).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("the payload is base64url without padding");
    serde_json::from_slice(&raw).expect("the payload is JSON")
}

/// The azemu binary as a process on plain HTTP (`--port 0 --no-tls`), started with `extra`
/// flags: the child and the URL of its ready line.
pub fn spawn_plain(data_dir: &std::path::Path, extra: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_azemu"))
        .args(["serve", "--port", "0", "--no-tls", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("azemu starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("a ready line, got {line:?}"))
        .to_string();
    (child, url)
}

/// A client-credentials token for the default client from the azemu at `url`.
pub async fn plain_token(client: &reqwest::Client, url: &str) -> String {
    let token: Value = client
        .post(format!("{url}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", "x"),
            ("scope", &format!("{url}/.default")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_string()
}
