//! The command line's helpers around a running azemu: where it is (the data dir's runtime
//! file), what clients must trust (its CA, and a bundle with the system roots), and the
//! commands that wire clients to it (`env`, `az`, `doctor`).

pub(crate) mod az;
mod command;
pub(crate) mod doctor;
pub(crate) mod env;
pub(crate) mod runtime;
pub(crate) mod serve;

pub use command::main;
use std::path::{Path, PathBuf};

/// Where the running azemu is and what to trust, resolved from flags and the data dir.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) data_dir: PathBuf,
    pub(crate) url: String,
    /// The CA clients trust (`ca.pem`), when azemu serves HTTPS.
    pub(crate) ca: Option<PathBuf>,
    /// What the data dir's runtime file says, when it names this URL.
    pub(crate) runtime: Option<runtime::Runtime>,
    /// `--ca` as given.
    pub(crate) ca_flag: Option<PathBuf>,
    /// Whether `--url` named the server.
    pub(crate) explicit_url: bool,
}

/// The default URL when neither a flag nor the data dir names one.
pub(crate) const DEFAULT_URL: &str = "https://127.0.0.1:8443";

/// Resolves `--url`/`--ca` against the data dir: an explicit URL wins; else the URL the
/// running azemu wrote into the data dir; else the default port. The CA is `--ca`, else the
/// one the runtime file names, else `ca.pem` in the data dir.
pub(crate) fn locate(data_dir: Option<&Path>, url: Option<&str>, ca: Option<&Path>) -> Located {
    let ca_arg = ca;
    let data_dir = data_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(crate::config::default_data_dir);
    let rt = runtime::read(&data_dir);
    let explicit_url = url.is_some();
    let url = url
        .map(|u| u.trim_end_matches('/').to_string())
        .or_else(|| rt.as_ref().map(|r| r.url.clone()))
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let runtime = rt.filter(|r| r.url == url);
    let ca = ca.map(Path::to_path_buf).or_else(|| {
        if !url.starts_with("https") {
            return None;
        }
        runtime
            .as_ref()
            .and_then(|r| r.ca.clone())
            .or_else(|| Some(data_dir.join("ca.pem")))
    });
    Located {
        data_dir,
        url,
        ca,
        runtime,
        ca_flag: ca_arg.map(Path::to_path_buf),
        explicit_url,
    }
}

/// `host:port` of a URL (`ARM_METADATA_HOSTNAME` takes this form).
pub(crate) fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let hp = rest.split('/').next().unwrap_or(rest);
    if hp
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        && !hp.ends_with(']')
    {
        hp.to_string()
    } else if url.starts_with("http://") {
        format!("{hp}:80")
    } else {
        format!("{hp}:443")
    }
}

/// The port of a URL.
pub(crate) fn port_of(url: &str) -> Option<u16> {
    host_port(url).rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// The first executable named `name` on `PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// The base64 bodies of the PEM certificates in `text`, whitespace removed: two files trust
/// the same certificate when they share a body.
pub(crate) fn pem_bodies(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            cur = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(b) = cur.take() {
                out.push(b);
            }
        } else if let Some(b) = cur.as_mut() {
            b.push_str(line);
        }
    }
    out
}

/// Whether the PEM file at `bundle` holds the CA certificate of `ca`.
pub(crate) fn trusts(bundle: &Path, ca: &Path) -> bool {
    let (Ok(b), Ok(c)) = (std::fs::read_to_string(bundle), std::fs::read_to_string(ca)) else {
        return false;
    };
    let have = pem_bodies(&b);
    let want = pem_bodies(&c);
    !want.is_empty() && want.iter().all(|w| have.contains(w))
}

/// The system's root certificates, where the usual Linux and macOS layouts keep them (the
/// files Go's `crypto/x509` looks for).
const SYSTEM_ROOTS: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// `ca-bundle.pem` in the data dir: azemu's CA followed by the system roots, so a client
/// whose whole trust store is one file (`SSL_CERT_FILE` for Go, `REQUESTS_CA_BUNDLE` for
/// Python) trusts azemu and can still reach the internet (`terraform init`, `pip`).
/// Rewritten when the CA changes.
pub(crate) fn ensure_bundle(data_dir: &Path, ca: &Path) -> std::io::Result<PathBuf> {
    let bundle = data_dir.join("ca-bundle.pem");
    let ca_text = std::fs::read_to_string(ca)?;
    let mut text = ca_text.trim_end().to_string();
    text.push('\n');
    if let Some(roots) = SYSTEM_ROOTS.iter().find_map(|p| std::fs::read_to_string(p).ok()) {
        text.push_str(&roots);
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    if std::fs::read_to_string(&bundle).ok().as_deref() != Some(text.as_str()) {
        let tmp = bundle.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, &text)?;
        std::fs::rename(&tmp, &bundle)?;
    }
    Ok(bundle)
}

/// The isolated Azure CLI configuration folder `env` and `az` use (never `~/.azure`).
pub(crate) fn az_config_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("az")
}

/// What azemu's `/_azemu/health` says about it.
#[derive(Debug, Clone)]
pub(crate) struct Health {
    pub(crate) version: String,
    pub(crate) tenant_id: String,
    pub(crate) subscription_id: String,
    pub(crate) client_id: String,
}

/// Why a running azemu could not be asked.
#[derive(Debug)]
pub(crate) enum Unreachable {
    /// Nothing answered (refused, timed out, name not found).
    NoAnswer(String),
    /// Something answered TLS with a certificate the CA does not sign.
    Untrusted(String),
    /// It answered, but not as azemu does.
    NotAzemu(String),
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreachable::NoAnswer(m) | Unreachable::Untrusted(m) | Unreachable::NotAzemu(m) => f.write_str(m),
        }
    }
}

/// The text of an error and all its sources.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Whether an error chain is a certificate the client does not trust.
pub(crate) fn is_tls_trust_error(chain: &str) -> bool {
    let c = chain.to_ascii_lowercase();
    c.contains("certificate") || c.contains("unknownissuer") || c.contains("unknown issuer")
}

/// `GET {url}/_azemu/health`, trusting only `ca` (so a CA that does not sign the served
/// certificate is told apart from a server that does not answer).
pub(crate) async fn health(url: &str, ca: Option<&Path>) -> Result<Health, Unreachable> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(std::time::Duration::from_secs(10));
    if let Some(ca) = ca {
        // A missing CA: no azemu has started on this data dir yet (or it is starting).
        let pem = std::fs::read(ca)
            .map_err(|e| Unreachable::NoAnswer(format!("cannot read the CA {}: {e}", ca.display())))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| Unreachable::Untrusted(format!("{} is not a PEM certificate: {e}", ca.display())))?;
        b = b.tls_built_in_root_certs(false).add_root_certificate(cert);
    }
    let http = b.build().map_err(|e| Unreachable::NoAnswer(e.to_string()))?;
    let resp = http.get(format!("{url}/_azemu/health")).send().await.map_err(|e| {
        let chain = error_chain(&e);
        if is_tls_trust_error(&chain) {
            Unreachable::Untrusted(format!(
                "azemu at {url} answers, but its certificate is not trusted{}: {chain}",
                ca.map(|c| format!(" by {}", c.display())).unwrap_or_default()
            ))
        } else {
            Unreachable::NoAnswer(format!("nothing answers at {url}: {chain}"))
        }
    })?;
    let v: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| Unreachable::NotAzemu(format!("{url} answers, but not as azemu: {e}")))?;
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    if s("tenantId").is_empty() {
        return Err(Unreachable::NotAzemu(format!(
            "{url}/_azemu/health is not azemu's health document"
        )));
    }
    Ok(Health {
        version: s("version"),
        tenant_id: s("tenantId"),
        subscription_id: s("subscriptionId"),
        client_id: s("clientId"),
    })
}

/// Asks the azemu at `loc`; when nothing answers yet and no `--url` named it, waits up to
/// `wait` for one that is starting on the data dir (`azemu & eval "$(azemu env)"` on one
/// line), re-reading the runtime file it writes once it listens.
/// The running azemu's health for a command that needs it (waiting up to 3 s for one that is
/// starting), or the exit code after saying how to start one.
pub(crate) fn running(loc: &Located) -> Result<(Located, Health), i32> {
    let (loc, h) = health_waiting(loc, std::time::Duration::from_secs(3));
    match h {
        Ok(h) => Ok((loc, h)),
        Err(e) => {
            eprintln!("azemu: {e}");
            eprintln!("azemu: start azemu first (`azemu &`), or name it with --url / --data-dir; `azemu doctor` checks the setup");
            Err(1)
        }
    }
}

pub(crate) fn health_waiting(loc: &Located, wait: std::time::Duration) -> (Located, Result<Health, Unreachable>) {
    let started = std::time::Instant::now();
    let mut loc = loc.clone();
    loop {
        let r = block_on(health(&loc.url, loc.ca.as_deref()));
        let retry = matches!(r, Err(Unreachable::NoAnswer(_))) && !loc.explicit_url && started.elapsed() < wait;
        if !retry {
            return (loc, r);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        loc = locate(Some(&loc.data_dir), None, loc.ca_flag.as_deref());
    }
}

/// Runs a future on a small runtime (the client commands are short-lived).
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_of_urls() {
        assert_eq!(host_port("https://127.0.0.1:8443"), "127.0.0.1:8443");
        assert_eq!(host_port("https://localhost:40000/"), "localhost:40000");
        assert_eq!(host_port("https://azemu.example"), "azemu.example:443");
        assert_eq!(host_port("http://[::1]:9000"), "[::1]:9000");
        assert_eq!(port_of("https://127.0.0.1:8443"), Some(8443));
    }

    #[test]
    fn pem_bodies_ignore_layout() {
        let a = "-----BEGIN CERTIFICATE-----\nAAAA\nBBBB\n-----END CERTIFICATE-----\n";
        let b = "junk\n-----BEGIN CERTIFICATE-----\r\nAAAABBBB\r\n-----END CERTIFICATE-----\r\n";
        assert_eq!(pem_bodies(a), pem_bodies(b));
        assert_eq!(pem_bodies(a), vec!["AAAABBBB".to_string()]);
    }
}
