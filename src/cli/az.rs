//! `azemu az ARGS…`: the user's own Azure CLI against azemu, in azemu's own configuration
//! folder (`<data dir>/az`, never `~/.azure`). On first use, and again when azemu restarted
//! or moved port, the cloud is registered and selected and the default service principal
//! logged in — the README's manual steps — then remembered in `azemu-login.json` there.

use super::{Health, Located};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The name azemu's cloud is registered under.
pub(crate) const CLOUD: &str = "azemu";
const MARKER: &str = "azemu-login.json";

/// The `az` to run: `$AZEMU_AZ`, else the first `az` on `PATH`.
pub(crate) fn find() -> Option<PathBuf> {
    match std::env::var_os("AZEMU_AZ") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)).filter(|p| p.exists()),
        _ => super::find_on_path("az"),
    }
}

pub(crate) const NOT_INSTALLED: &str = "the Azure CLI (az) is not installed, or not on PATH: install it (`pip install azure-cli`, or see https://aka.ms/installazurecli), or point AZEMU_AZ at it";

/// What a login was made for: when any of it changes, az logs in again.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Marker {
    url: String,
    tenant_id: String,
    client_id: String,
    /// The azemu process that issued the token (a restart may change the signing key).
    pid: Option<u32>,
}

/// The environment az runs in: the isolated folder, azemu's CA, no authority discovery.
pub(crate) fn az_env(loc: &Located) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "AZURE_CONFIG_DIR".to_string(),
            super::az_config_dir(&loc.data_dir).display().to_string(),
        ),
        ("AZURE_CORE_INSTANCE_DISCOVERY".to_string(), "false".to_string()),
        ("AZURE_CORE_COLLECT_TELEMETRY".to_string(), "false".to_string()),
    ];
    if let Some(ca) = &loc.ca {
        let bundle = super::ensure_bundle(&loc.data_dir, ca).unwrap_or_else(|_| ca.clone());
        env.push(("REQUESTS_CA_BUNDLE".to_string(), bundle.display().to_string()));
    }
    env
}

fn run_quiet(az: &Path, env: &[(String, String)], args: &[&str]) -> Result<String, String> {
    let out = Command::new(az)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", az.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`az {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Registers and selects the cloud and logs in, unless that was done for this azemu already.
pub(crate) fn ensure_login(az: &Path, loc: &Located, h: &Health) -> Result<(), String> {
    let dir = super::az_config_dir(&loc.data_dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let want = Marker {
        url: loc.url.clone(),
        tenant_id: h.tenant_id.clone(),
        client_id: h.client_id.clone(),
        pid: loc.runtime.as_ref().map(|r| r.pid),
    };
    let marker = dir.join(MARKER);
    let have: Option<Marker> = std::fs::read(&marker)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    if have.as_ref() == Some(&want) {
        return Ok(());
    }
    let env = az_env(loc);
    let url = loc.url.as_str();
    // Register the cloud; registered before (another port), point it at this azemu.
    let cloud = |verb: &str| {
        run_quiet(
            az,
            &env,
            &[
                "cloud",
                verb,
                "-n",
                CLOUD,
                "--endpoint-resource-manager",
                url,
                "-o",
                "none",
            ],
        )
    };
    if cloud("register").is_err() {
        cloud("update")?;
    }
    run_quiet(az, &env, &["cloud", "set", "-n", CLOUD, "-o", "none"])?;
    run_quiet(
        az,
        &env,
        &[
            "login",
            "--service-principal",
            "-u",
            &h.client_id,
            "-p",
            super::env::CLIENT_SECRET,
            "--tenant",
            &h.tenant_id,
            "-o",
            "none",
        ],
    )?;
    let _ = std::fs::write(&marker, serde_json::to_vec_pretty(&want).unwrap_or_default());
    Ok(())
}

/// `azemu az ARGS…`.
pub(crate) fn run(loc: &Located, args: &[String]) -> i32 {
    let Some(az) = find() else {
        eprintln!("azemu: {NOT_INSTALLED}");
        return 127;
    };
    let (loc, h) = match super::running(loc) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let loc = &loc;
    if let Err(e) = ensure_login(&az, loc, &h) {
        eprintln!("azemu: could not log the Azure CLI in to azemu: {e}");
        return 1;
    }
    let mut cmd = Command::new(&az);
    cmd.args(args).envs(az_env(loc));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        eprintln!("azemu: cannot run {}: {e}", az.display());
        126
    }
    #[cfg(not(unix))]
    {
        match cmd.status() {
            Ok(s) => s.code().unwrap_or(1),
            Err(e) => {
                eprintln!("azemu: cannot run {}: {e}", az.display());
                126
            }
        }
    }
}
