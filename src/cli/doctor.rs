//! `azemu doctor`: checks what clients need, one line each, with a fix for each failure; exits
//! non-zero when something a client needs is wrong.

use super::{Located, Unreachable};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Status {
    Ok,
    Fail,
    /// Not applicable here (e.g. az not installed): said, but not a failure.
    Skip,
}

#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub(crate) status: Status,
    pub(crate) what: String,
    pub(crate) fix: Option<String>,
}

fn ok(what: impl Into<String>) -> Check {
    Check {
        status: Status::Ok,
        what: what.into(),
        fix: None,
    }
}

fn fail(what: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        status: Status::Fail,
        what: what.into(),
        fix: Some(fix.into()),
    }
}

fn skip(what: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        status: Status::Skip,
        what: what.into(),
        fix: Some(fix.into()),
    }
}

const EVAL: &str = "eval \"$(azemu env)\"";

/// Who answers at the URL.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Azemu,
    Other,
    Nobody,
}

/// The server: does it answer, and does the CA sign what it serves?
async fn server_checks(loc: &Located, out: &mut Vec<Check>) -> Answer {
    match &loc.ca {
        Some(ca) if !ca.exists() => {
            out.push(fail(
                format!("the CA file {} does not exist", ca.display()),
                "start azemu once with this --data-dir (it writes ca.pem there), or pass --ca with the CA of the running azemu",
            ));
        }
        Some(ca) => out.push(ok(format!("the CA file {} exists", ca.display()))),
        None => {}
    }
    match super::health(&loc.url, loc.ca.as_deref().filter(|c| c.exists())).await {
        Ok(h) => {
            out.push(ok(format!("azemu {} answers at {}", h.version, loc.url)));
            if let Some(ca) = &loc.ca {
                out.push(ok(format!("{} signs the certificate azemu serves", ca.display())));
            }
            Answer::Azemu
        }
        Err(Unreachable::Untrusted(m)) => {
            out.push(ok(format!("something answers TLS at {}", loc.url)));
            out.push(fail(
                format!("the certificate served at {} is not trusted: {m}", loc.url),
                "use the CA of the azemu that runs there: the --data-dir it was started with, or --ca",
            ));
            Answer::Other
        }
        Err(Unreachable::NotAzemu(m)) => {
            out.push(fail(
                m,
                "another program holds the port: stop it, or start azemu with --port 0 and use `azemu env` to find it",
            ));
            Answer::Other
        }
        Err(Unreachable::NoAnswer(m)) => {
            out.push(fail(
                m,
                "start azemu (`azemu &`), or name the running one with --url or --data-dir",
            ));
            Answer::Nobody
        }
    }
}

/// A client's trust variable: set, and pointing at a file that holds azemu's CA.
fn trust_var(name: &str, client: &str, ca: &Path, unset_note: &str) -> Check {
    match std::env::var_os(name).filter(|v| !v.is_empty()) {
        None => fail(
            format!("{name} is not set: {client} does not trust azemu{unset_note}"),
            format!("{EVAL} (sets it)"),
        ),
        Some(v) => {
            let p = PathBuf::from(&v);
            if super::trusts(&p, ca) {
                ok(format!("{name} ({client}) trusts azemu's CA ({})", p.display()))
            } else if !p.exists() {
                fail(
                    format!("{name}={} ({client}) names a file that does not exist", p.display()),
                    format!("{EVAL} (sets it to azemu's CA)"),
                )
            } else {
                fail(
                    format!(
                        "{name}={} ({client}) does not hold azemu's CA {}",
                        p.display(),
                        ca.display()
                    ),
                    format!("{EVAL} (sets it to azemu's CA)"),
                )
            }
        }
    }
}

fn client_checks(loc: &Located, out: &mut Vec<Check>) {
    let Some(ca) = loc.ca.as_ref().filter(|c| c.exists()) else {
        return;
    };
    out.push(trust_var(
        "REQUESTS_CA_BUNDLE",
        "Python requests, az and the Python SDKs",
        ca,
        ": it uses certifi's bundle",
    ));
    out.push(trust_var("SSL_CERT_FILE", "Go, the Go SDK and Terraform", ca, ""));
    out.push(trust_var("NODE_EXTRA_CA_CERTS", "Node and the JavaScript SDK", ca, ""));
    match std::env::var("AZURE_CORE_INSTANCE_DISCOVERY") {
        Ok(v) if v.eq_ignore_ascii_case("false") => out.push(ok(
            "AZURE_CORE_INSTANCE_DISCOVERY=false (az does not ask login.microsoftonline.com)",
        )),
        _ => out.push(fail(
            "AZURE_CORE_INSTANCE_DISCOVERY is not false: az's login asks login.microsoftonline.com about azemu",
            format!("{EVAL} (sets it)"),
        )),
    }
}

/// The INI section `[name]` of `text`, as key/value pairs.
fn ini_section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            inside = t[1..t.len() - 1].trim() == name;
        } else if inside {
            if let Some((k, v)) = t.split_once('=') {
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    out
}

/// az: installed (version), its cloud registered for this URL and selected, logged in.
fn az_checks(loc: &Located, out: &mut Vec<Check>) {
    let Some(az) = super::az::find() else {
        out.push(skip(
            "az is not installed (the Azure CLI checks are skipped)",
            super::az::NOT_INSTALLED,
        ));
        return;
    };
    let version = std::process::Command::new(&az)
        .args(["version", "-o", "json"])
        .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
        .and_then(|v| v["azure-cli"].as_str().map(str::to_string));
    match version {
        Some(v) => out.push(ok(format!("az {v} ({})", az.display()))),
        None => {
            out.push(fail(
                format!("{} does not run (`az version` failed)", az.display()),
                "reinstall the Azure CLI, or point AZEMU_AZ at a working az",
            ));
            return;
        }
    }
    let dir = std::env::var_os("AZURE_CONFIG_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| super::az_config_dir(&loc.data_dir));
    let clouds = std::fs::read_to_string(dir.join("clouds.config")).unwrap_or_default();
    let arm = ini_section(&clouds, super::az::CLOUD)
        .into_iter()
        .find(|(k, _)| k == "endpoint_resource_manager")
        .map(|(_, v)| v.trim_end_matches('/').to_string());
    let config = std::fs::read_to_string(dir.join("config")).unwrap_or_default();
    let selected = ini_section(&config, "cloud")
        .into_iter()
        .any(|(k, v)| k == "name" && v == super::az::CLOUD);
    let fix = format!("`azemu az account show` (registers the cloud and logs in), or {EVAL}");
    match arm {
        Some(u) if u == loc.url && selected => out.push(ok(format!(
            "az cloud '{}' points at {} and is selected (in {})",
            super::az::CLOUD,
            loc.url,
            dir.display()
        ))),
        Some(u) if u == loc.url => out.push(fail(
            format!(
                "az cloud '{}' is registered but not selected (in {})",
                super::az::CLOUD,
                dir.display()
            ),
            fix.clone(),
        )),
        Some(u) => out.push(fail(
            format!(
                "az cloud '{}' points at {u}, not at {} (in {})",
                super::az::CLOUD,
                loc.url,
                dir.display()
            ),
            fix.clone(),
        )),
        None => {
            out.push(fail(
                format!(
                    "az has no cloud '{}' registered (in {})",
                    super::az::CLOUD,
                    dir.display()
                ),
                fix,
            ));
            return;
        }
    }
    // azureProfile.json is written with a byte-order mark.
    let profile = std::fs::read_to_string(dir.join("azureProfile.json")).unwrap_or_default();
    let profile: serde_json::Value = serde_json::from_str(profile.trim_start_matches('\u{feff}')).unwrap_or_default();
    let logged_in = profile["subscriptions"].as_array().is_some_and(|subs| {
        subs.iter()
            .any(|s| s["isDefault"] == true && s["environmentName"] == super::az::CLOUD)
    });
    if logged_in {
        out.push(ok(format!("az is logged in to azemu (in {})", dir.display())));
    } else {
        out.push(fail(
            format!("az is not logged in to azemu (in {})", dir.display()),
            fix,
        ));
    }
}

/// The port: free, or held by azemu.
fn port_check(loc: &Located, answer: Answer, out: &mut Vec<Check>) {
    let Some(port) = super::port_of(&loc.url) else {
        return;
    };
    match answer {
        Answer::Azemu => return out.push(ok(format!("port {port} is held by azemu"))),
        // The server check said who answers there.
        Answer::Other => return,
        Answer::Nobody => {}
    }
    let host = super::host_port(&loc.url)
        .rsplit_once(':')
        .map(|(h, _)| h.trim_matches(|c| c == '[' || c == ']').to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let host = if host == "localhost" {
        "127.0.0.1".to_string()
    } else {
        host
    };
    match std::net::TcpListener::bind((host.as_str(), port)) {
        Ok(_) => out.push(ok(format!("port {port} is free for azemu"))),
        Err(e) => out.push(fail(
            format!("port {port} is held by another program ({e})"),
            "stop that program, or start azemu with --port 0 (`azemu env` then finds its port)",
        )),
    }
}

/// The state file's folder: exists and is writable.
fn state_check(state_file: Option<&Path>, out: &mut Vec<Check>) {
    let Some(f) = state_file else {
        out.push(ok("no --state-file (state lives in memory)"));
        return;
    };
    let dir = f
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        out.push(fail(
            format!("the folder of the state file {} does not exist", f.display()),
            format!("mkdir -p {}", dir.display()),
        ));
        return;
    }
    let probe = dir.join(format!(".azemu-doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            out.push(ok(format!("the state file's folder {} is writable", dir.display())));
        }
        Err(e) => out.push(fail(
            format!("the state file's folder {} is not writable: {e}", dir.display()),
            "choose a --state-file in a folder you can write, or fix the folder's permissions",
        )),
    }
}

/// Every check, in order.
pub(crate) async fn checks(loc: &Located, state_file: Option<&Path>) -> Vec<Check> {
    let mut out = Vec::new();
    let answer = server_checks(loc, &mut out).await;
    port_check(loc, answer, &mut out);
    client_checks(loc, &mut out);
    az_checks(loc, &mut out);
    let state = state_file
        .map(Path::to_path_buf)
        .or_else(|| loc.runtime.as_ref().and_then(|r| r.state_file.clone()));
    state_check(state.as_deref(), &mut out);
    out
}

/// `azemu doctor`.
pub(crate) fn run(loc: &Located, state_file: Option<&Path>) -> i32 {
    let all = super::block_on(checks(loc, state_file));
    let mut failed = 0;
    for c in &all {
        let tag = match c.status {
            Status::Ok => "ok  ",
            Status::Fail => {
                failed += 1;
                "FAIL"
            }
            Status::Skip => "skip",
        };
        println!("{tag}  {}", c.what);
        if let Some(f) = &c.fix {
            println!("      fix: {f}");
        }
    }
    if failed > 0 {
        println!("{failed} problem(s) found");
        1
    } else {
        println!("all checks passed");
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections() {
        let t = "[cloud]\nname = azemu\n\n[azemu]\nendpoint_resource_manager = https://127.0.0.1:1/\n";
        assert_eq!(ini_section(t, "cloud"), vec![("name".to_string(), "azemu".to_string())]);
        assert_eq!(ini_section(t, "azemu")[0].1, "https://127.0.0.1:1/");
    }
}
