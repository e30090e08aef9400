//! `azemu env`: the environment that points every client at the running azemu at once —
//! the Azure CLI and Python SDKs, Go (the SDK and Terraform's azurerm provider), Node — ready
//! for `eval "$(azemu env)"`, or as fish, PowerShell, a `.env` file or JSON.
//!
//! The values come from the running azemu (`/_azemu/health`: tenant, subscription, client) so
//! they are right for its port and tenant. Variable names, from each client's documentation:
//! - `REQUESTS_CA_BUNDLE`: Python `requests` (az, MSAL, the Python SDKs);
//! - `SSL_CERT_FILE`: Go's `crypto/x509` system roots (the Go SDK, Terraform);
//! - `NODE_EXTRA_CA_CERTS`: Node's extra trusted CAs (the JavaScript SDK);
//! - `AZURE_CORE_INSTANCE_DISCOVERY=false`: az skips MSAL's authority discovery
//!   (login.microsoftonline.com);
//! - `AZURE_CONFIG_DIR`: az's configuration folder, here one of azemu's own;
//! - `ARM_METADATA_HOSTNAME`, `ARM_TENANT_ID`, `ARM_SUBSCRIPTION_ID`, `ARM_CLIENT_ID`,
//!   `ARM_CLIENT_SECRET`: the azurerm provider's settings (an empty `provider "azurerm"
//!   { features {} }` block then works), `GO_AZURE_SDK_SKIP_POLLING_DELAY` its poller;
//! - `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST`: the
//!   SDKs' environment credentials (azure-identity in Python, Go, JavaScript).

use super::Located;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Shell {
    /// bash, zsh and other POSIX shells.
    Posix,
    Fish,
    Powershell,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Format {
    /// Commands for `eval` in the shell given by `--shell`.
    Shell,
    /// `NAME=value` lines for `.env` files and CI.
    Dotenv,
    /// One JSON object.
    Json,
}

/// Any secret logs a client in; this is the one `env` hands out.
pub(crate) const CLIENT_SECRET: &str = "any-secret";

/// The variables for the azemu at `loc` (in output order).
pub(crate) fn variables(loc: &Located, h: &super::Health) -> Result<Vec<(&'static str, String)>, String> {
    let ca = loc.ca.clone().ok_or_else(|| {
        format!(
            "azemu at {} serves plain HTTP: the Azure CLI and SDKs need HTTPS (start it without --no-tls)",
            loc.url
        )
    })?;
    let bundle: PathBuf = super::ensure_bundle(&loc.data_dir, &ca).unwrap_or_else(|_| ca.clone());
    let s = |p: &PathBuf| p.display().to_string();
    Ok(vec![
        ("REQUESTS_CA_BUNDLE", s(&bundle)),
        ("SSL_CERT_FILE", s(&bundle)),
        ("NODE_EXTRA_CA_CERTS", s(&ca)),
        ("AZURE_CORE_INSTANCE_DISCOVERY", "false".into()),
        ("AZURE_CONFIG_DIR", s(&super::az_config_dir(&loc.data_dir))),
        ("ARM_METADATA_HOSTNAME", super::host_port(&loc.url)),
        ("ARM_TENANT_ID", h.tenant_id.clone()),
        ("ARM_SUBSCRIPTION_ID", h.subscription_id.clone()),
        ("ARM_CLIENT_ID", h.client_id.clone()),
        ("ARM_CLIENT_SECRET", CLIENT_SECRET.into()),
        ("GO_AZURE_SDK_SKIP_POLLING_DELAY", "true".into()),
        ("AZURE_TENANT_ID", h.tenant_id.clone()),
        ("AZURE_SUBSCRIPTION_ID", h.subscription_id.clone()),
        ("AZURE_CLIENT_ID", h.client_id.clone()),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET.into()),
        ("AZURE_AUTHORITY_HOST", loc.url.clone()),
    ])
}

fn single_quoted(v: &str) -> String {
    format!("'{}'", v.replace('\'', "'\\''"))
}

/// Renders the variables in a format.
pub(crate) fn render(vars: &[(&str, String)], shell: Shell, format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            out = serde_json::to_string_pretty(&map).unwrap_or_default();
            out.push('\n');
        }
        Format::Dotenv => {
            for (k, v) in vars {
                if v.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c)) {
                    out.push_str(&format!("{k}={v}\n"));
                } else {
                    out.push_str(&format!("{k}=\"{}\"\n", v.replace('\\', "\\\\").replace('"', "\\\"")));
                }
            }
        }
        Format::Shell => {
            for (k, v) in vars {
                let line = match shell {
                    Shell::Posix => format!("export {k}={}\n", single_quoted(v)),
                    Shell::Fish => format!("set -gx {k} '{}';\n", v.replace('\\', "\\\\").replace('\'', "\\'")),
                    Shell::Powershell => format!("$Env:{k} = '{}'\n", v.replace('\'', "''")),
                };
                out.push_str(&line);
            }
        }
    }
    out
}

/// `azemu env`: prints the variables; also prepares the isolated az configuration (cloud
/// registered, logged in) when az is installed, so plain `az` works after the `eval`.
pub(crate) fn run(loc: &Located, shell: Shell, format: Format, prepare_az: bool) -> i32 {
    let (loc, h) = match super::running(loc) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let loc = &loc;
    let vars = match variables(loc, &h) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("azemu: {e}");
            return 1;
        }
    };
    if prepare_az {
        if let Some(az) = super::az::find() {
            if let Err(e) = super::az::ensure_login(&az, loc, &h) {
                eprintln!("azemu: warning: the Azure CLI is not logged in to azemu: {e}");
            }
        }
    }
    print!("{}", render(&vars, shell, format));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(&'static str, String)> {
        vec![("A", "/x/ca.pem".into()), ("B", "it's".into())]
    }

    #[test]
    fn posix_quotes_single_quotes() {
        assert_eq!(
            render(&vars(), Shell::Posix, Format::Shell),
            "export A='/x/ca.pem'\nexport B='it'\\''s'\n"
        );
    }

    #[test]
    fn fish_and_powershell() {
        assert_eq!(
            render(&vars(), Shell::Fish, Format::Shell),
            "set -gx A '/x/ca.pem';\nset -gx B 'it\\'s';\n"
        );
        assert_eq!(
            render(&vars(), Shell::Powershell, Format::Shell),
            "$Env:A = '/x/ca.pem'\n$Env:B = 'it''s'\n"
        );
    }

    #[test]
    fn dotenv_and_json() {
        assert_eq!(
            render(&vars(), Shell::Posix, Format::Dotenv),
            "A=/x/ca.pem\nB=\"it's\"\n"
        );
        let j: serde_json::Value = serde_json::from_str(&render(&vars(), Shell::Posix, Format::Json)).unwrap();
        assert_eq!(j["B"], "it's");
    }
}
