//! `azemu serve`: checks what the flags name before starting (data dir, state file,
//! certificate files, locks) so each problem is reported with its file and flag, starts the
//! server, prints the ready line, and keeps the data dir's runtime file while it runs.

use super::runtime::{self, LockError, Runtime};
use crate::config::Config;
use std::io::IsTerminal;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AZEMU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Refuses a `--state-file` that cannot be saved at stop or loaded at start.
fn check_state_file(path: &Path) -> Result<(), String> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "the folder of {} (--state-file) does not exist, so the state could not be saved at stop; create it (mkdir -p {}) or choose another path",
            path.display(),
            parent.display()
        ));
    }
    if path.exists() {
        let text = std::fs::read(path).map_err(|e| format!("cannot read {} (--state-file): {e}", path.display()))?;
        let doc: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| format!("{} (--state-file) is not a valid azemu state file: {e}", path.display()))?;
        let format = doc["format"].as_str().unwrap_or("");
        if format != crate::control::state::FORMAT {
            return Err(format!(
                "{} (--state-file) is not an azemu state file: its \"format\" is '{format}', expected '{}'",
                path.display(),
                crate::control::state::FORMAT
            ));
        }
    }
    Ok(())
}

fn check_readable(path: &Path, flag: &str) -> Result<(), String> {
    std::fs::metadata(path)
        .and_then(|m| {
            if m.is_file() {
                Ok(())
            } else {
                Err(std::io::Error::other("not a file"))
            }
        })
        .and_then(|_| std::fs::File::open(path).map(drop))
        .map_err(|e| format!("cannot read {} ({flag}): {e}", path.display()))
}

fn lock_refusal(what: &str, path: &Path, flag: &str, e: LockError) -> String {
    match e {
        LockError::Held(holder) => format!(
            "another azemu{} already uses {what} {} ({flag}); stop it, or give this one its own {flag}",
            if holder.is_empty() {
                String::new()
            } else {
                format!(" ({holder})")
            },
            path.display()
        ),
        LockError::Io(m) => format!("{m} ({flag})"),
    }
}

/// What the flags name, checked before starting; returns the locks to hold while running.
fn preflight(config: &Config) -> Result<Vec<runtime::Lock>, String> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create the data dir {} (--data-dir): {e}",
            config.data_dir.display()
        )
    })?;
    if let Some(f) = &config.state_file {
        check_state_file(f)?;
    }
    if let Some(c) = &config.cert {
        check_readable(c, "--cert")?;
    }
    if let Some(k) = &config.key {
        check_readable(k, "--key")?;
    }
    let note = format!("pid {}", std::process::id());
    let mut locks = vec![
        runtime::try_lock(&config.data_dir.join(runtime::LOCK), &note).map_err(|e| {
            // Name where the other one serves, from the runtime file it wrote.
            let e = match (e, runtime::read(&config.data_dir)) {
                (LockError::Held(h), Some(rt)) => LockError::Held(format!("{h}, serving {}", rt.url)),
                (e, _) => e,
            };
            lock_refusal("the data dir", &config.data_dir, "--data-dir", e)
        })?,
    ];
    if let Some(f) = &config.state_file {
        let lock = runtime::state_lock_path(f);
        locks.push(runtime::try_lock(&lock, &note).map_err(|e| lock_refusal("the state file", f, "--state-file", e))?);
    }
    Ok(locks)
}

/// What a start failure means for the user.
fn start_error(config: &Config, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "port {} on {} is already in use (another azemu, or another program); stop it, or start with --port 0 to pick a free port (`azemu env` then finds it)",
            config.port, config.host
        ),
        std::io::ErrorKind::PermissionDenied if config.port < 1024 => format!(
            "cannot listen on {}:{}: permission denied (ports below 1024 need privileges); use --port 0 or a port above 1023",
            config.host, config.port
        ),
        std::io::ErrorKind::AddrNotAvailable => format!(
            "cannot listen on {} (--host): no such address on this machine",
            config.host
        ),
        _ => format!("cannot start: {e}"),
    }
}

pub(crate) async fn serve(config: Config, log_format: LogFormat) -> i32 {
    init_logging(log_format);
    let _locks = match preflight(&config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("azemu: {e}");
            return 2;
        }
    };
    let data_dir = config.data_dir.clone();
    let state_file = config.state_file.clone();
    let running = match crate::start(config.clone()).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("azemu: {}", start_error(&config, &e));
            return 1;
        }
    };
    let ca = running
        .ca_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "none, plain HTTP".into());
    let w = &running.world;
    let rt = Runtime {
        url: running.url.clone(),
        ca: running.ca_path.clone(),
        pid: std::process::id(),
        port: running.addr.port(),
        tenant_id: w.config.tenant_id.clone(),
        subscription_id: w.config.subscription_id.clone(),
        client_id: w.config.client_id.clone(),
        state_file: state_file.clone(),
    };
    if let Err(e) = runtime::write(&data_dir, &rt) {
        tracing::warn!(error = %e, "could not write the runtime file into the data dir");
    }
    if let Some(ca) = &running.ca_path {
        let _ = super::ensure_bundle(&data_dir, ca);
    }
    println!(
        "azemu ready: {} (CA: {ca}) dashboard: {}/_azemu/ui",
        running.url, running.url
    );
    if running.ca_path.is_some() {
        let default_dir = data_dir == crate::config::default_data_dir();
        let flag = if default_dir {
            String::new()
        } else {
            format!(" --data-dir {}", data_dir.display())
        };
        println!("Point every client at it (az, Terraform, the Azure SDKs):");
        println!("  eval \"$(azemu env{flag})\"");
        println!("or run the Azure CLI through it, in its own config dir: azemu az{flag} group list");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let stop = running.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    running.wait().await;
    runtime::remove(&data_dir);
    0
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
