//! An HTTP client for azemu (scenarios and the command line): trusts azemu's CA, fetches
//! tokens from its token service, and speaks to ARM and to `/_azemu/`.

use reqwest::Method;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

pub(crate) struct Client {
    http: reqwest::Client,
    pub(crate) url: String,
    pub(crate) tenant_id: String,
    pub(crate) subscription_id: String,
    pub(crate) client_id: String,
    tokens: tokio::sync::Mutex<HashMap<String, String>>,
}

/// One exchange, kept for reporting and for determinism checks.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub request_body: Option<Value>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body_text: String,
    pub body: Value,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why `GET /_azemu/health` failed, in words a user can act on: a certificate the client
/// does not trust is not "does not answer".
fn connect_error(url: &str, ca: Option<&Path>, e: &reqwest::Error) -> String {
    let mut chain = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        chain.push_str(&format!(": {c}"));
        cur = c.source();
    }
    let lower = chain.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        let trusted = match ca {
            Some(ca) => format!("by {}", ca.display()),
            None => "(no CA given)".to_string(),
        };
        format!(
            "azemu at {url} answers, but its certificate is not trusted {trusted}: pass --ca with the ca.pem of that azemu (or its --data-dir) ({chain})"
        )
    } else {
        format!("azemu at {url} does not answer ({chain}); is it running? `azemu doctor` checks")
    }
}

impl Client {
    /// Connects to azemu at `url`, trusting `ca` (PEM) when given, and reads its defaults.
    pub(crate) async fn connect(url: &str, ca: Option<&Path>) -> Result<Client, String> {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(Duration::from_secs(60));
        if let Some(ca) = ca {
            let pem = std::fs::read(ca).map_err(|e| format!("cannot read the CA {} (--ca): {e}", ca.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("the CA {} (--ca) is not a PEM certificate: {e}", ca.display()))?;
            b = b.add_root_certificate(cert);
        }
        let http = b.build().map_err(|e| e.to_string())?;
        let url = url.trim_end_matches('/').to_string();
        let health: Value = http
            .get(format!("{url}/_azemu/health"))
            .send()
            .await
            .map_err(|e| connect_error(&url, ca, &e))?
            .json()
            .await
            .map_err(|e| format!("azemu at {url} sent no health document: {e}"))?;
        let s = |k: &str| health[k].as_str().unwrap_or_default().to_string();
        Ok(Client {
            http,
            tenant_id: s("tenantId"),
            subscription_id: s("subscriptionId"),
            client_id: s("clientId"),
            url,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// A bearer token for `client_id` (client credentials, any secret), cached.
    pub(crate) async fn token(&self, client_id: &str, tenant: &str) -> Result<String, String> {
        let key = format!("{tenant}/{client_id}");
        if let Some(t) = self.tokens.lock().await.get(&key) {
            return Ok(t.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", "azemu-scenario"),
            ("scope", &format!("{}//.default", self.url)),
        ];
        let resp: Value = self
            .http
            .post(format!("{}/{tenant}/oauth2/v2.0/token", self.url))
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let t = resp["access_token"]
            .as_str()
            .ok_or_else(|| format!("no token for {client_id}: {resp}"))?
            .to_string();
        self.tokens.lock().await.insert(key, t.clone());
        Ok(t)
    }

    /// Sends one request. `token` adds a bearer token; `path` may be absolute or a path.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Result<Exchange, String> {
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.url)
        };
        let m = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|e| e.to_string())?;
        let mut rb = self.http.request(m, &url);
        for (k, v) in headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let request_body = body.cloned();
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.map_err(|e| format!("{method} {url}: {e}"))?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body_text = resp.text().await.map_err(|e| e.to_string())?;
        let body = serde_json::from_str(&body_text).unwrap_or(Value::Null);
        Ok(Exchange {
            method: method.to_ascii_uppercase(),
            url,
            request_body,
            status,
            headers,
            body_text,
            body,
        })
    }
}
