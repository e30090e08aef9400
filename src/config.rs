//! Run-time configuration: what the command line (or its `AZEMU_*` environment twins) set.

use std::path::PathBuf;

/// The fixed, documented defaults. Tests and docs may rely on them.
pub const DEFAULT_TENANT_ID: &str = "a2e0c0de-0000-4000-8000-000000000001";
pub const DEFAULT_SUBSCRIPTION_ID: &str = "a2e0c0de-0000-4000-8000-000000000002";
/// The service principal that owns the default subscription (any secret logs it in).
pub const DEFAULT_CLIENT_ID: &str = "a2e0c0de-0000-4000-8000-000000000003";
pub const DEFAULT_SUBSCRIPTION_NAME: &str = "azemu";
pub const DEFAULT_TENANT_DOMAIN: &str = "azemu.onmicrosoft.com";

#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub tls: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub tls_sans: Vec<String>,
    /// The URL clients are told to use; derived from host and port when not set.
    pub public_url: Option<String>,
    pub strict_api_versions: bool,
    /// How long long-running operations take (milliseconds); 0 = they finish at the next request.
    pub lro_duration_ms: i64,
    pub no_auth: bool,
    pub enforce_rbac: bool,
    /// How long a new principal stays invisible to role assignments without `principalType`.
    pub principal_propagation_delay_ms: i64,
    pub tenant_id: String,
    pub subscription_id: String,
    pub client_id: String,
    /// Makes every generated id and timestamp reproducible, with a virtual clock.
    pub seed: Option<u64>,
    pub state_file: Option<PathBuf>,
    /// Checks that every refused write left the state as it found it (answers 500
    /// `RefusalLeftTrace` when one did not). For test suites; costs a state copy per write.
    pub audit_refusals: bool,
    /// With `state_file`: how often (milliseconds) changed state is saved; 0 = only at stop.
    pub state_save_interval_ms: i64,
    /// The most the request journal keeps, in bytes (the oldest entries go first).
    pub journal_max_bytes: usize,
    /// How long (milliseconds) a connection may stay idle, or take to send a request head,
    /// before it is closed.
    pub idle_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 8443,
            data_dir: default_data_dir(),
            tls: true,
            cert: None,
            key: None,
            tls_sans: Vec::new(),
            public_url: None,
            strict_api_versions: false,
            lro_duration_ms: 0,
            no_auth: false,
            enforce_rbac: false,
            principal_propagation_delay_ms: 0,
            tenant_id: DEFAULT_TENANT_ID.into(),
            subscription_id: DEFAULT_SUBSCRIPTION_ID.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            seed: None,
            state_file: None,
            audit_refusals: false,
            state_save_interval_ms: 1000,
            journal_max_bytes: 16 * 1024 * 1024,
            idle_timeout_ms: 30_000,
        }
    }
}

/// `~/.azemu`, or `./.azemu` when there is no home directory.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".azemu")
}
