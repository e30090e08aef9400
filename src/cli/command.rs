//! The `azemu` command's flags and subcommands: `azemu` (= `azemu serve`) runs the emulator;
//! the other commands speak to a running one.

use crate::cli;
use crate::config::{self, Config};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "azemu",
    version,
    about = "A local Azure Resource Manager emulator (ARM, Entra ID tokens, managed identities, RBAC, AKS)."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
enum Command {
    /// Run the emulator (the default).
    Serve(ServeArgs),
    /// Declarative end-to-end flows (see scenarios/README.md).
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// The node image (VHD) catalog of a running azemu.
    #[command(subcommand, name = "node-images")]
    NodeImages(NodeImagesCommand),
    /// The request journal of a running azemu.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Print the environment that points az, Terraform and the Azure SDKs at the running
    /// azemu: eval "$(azemu env)".
    Env {
        #[command(flatten)]
        target: Target,
        /// The shell to print for.
        #[arg(long, value_enum, default_value_t = ShellArg::Bash)]
        shell: ShellArg,
        /// Print a .env file or JSON instead of shell commands.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// Do not prepare the Azure CLI (register the cloud and log in) in azemu's config dir.
        #[arg(long)]
        no_az: bool,
    },
    /// Run your Azure CLI against the running azemu, in azemu's own config dir (never
    /// ~/.azure); registers the cloud and logs in on first use. E.g. `azemu az group list`.
    #[command(name = "az")]
    Az {
        #[command(flatten)]
        target: Target,
        /// The az command line.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
    /// Check that the running azemu and the clients' settings fit together; a fix for each
    /// problem. Exits non-zero when something a client needs is wrong.
    Doctor {
        #[command(flatten)]
        target: Target,
        /// The state file to check [default: the running azemu's --state-file].
        #[arg(long, env = "AZEMU_STATE_FILE")]
        state_file: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum, Debug)]
enum ShellArg {
    Bash,
    Zsh,
    Sh,
    Fish,
    Powershell,
}

#[derive(Clone, Copy, ValueEnum, Debug)]
enum FormatArg {
    Dotenv,
    Json,
}

/// Where a running azemu is.
#[derive(Args, Clone, Debug)]
struct Target {
    /// azemu's URL [default: the one the running azemu wrote into the data dir, else
    /// https://127.0.0.1:8443].
    #[arg(long, env = "AZEMU_URL")]
    url: Option<String>,
    /// The CA to trust [default: the data dir's ca.pem].
    #[arg(long, env = "AZEMU_CA")]
    ca: Option<PathBuf>,
    /// The running azemu's data dir [default: ~/.azemu].
    #[arg(long, env = "AZEMU_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl Target {
    fn locate(&self) -> cli::Located {
        cli::locate(self.data_dir.as_deref(), self.url.as_deref(), self.ca.as_deref())
    }
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Run scenario files (or every *.yaml in a folder); exits non-zero on the first failed expectation.
    Run {
        /// Scenario files or folders.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Run against this azemu (each scenario in a fresh subscription); without it, each
        /// scenario gets its own in-process azemu.
        #[arg(long, env = "AZEMU_URL")]
        url: Option<String>,
        /// The CA of the azemu named by --url [default: the data dir's ca.pem].
        #[arg(long, env = "AZEMU_CA")]
        ca: Option<PathBuf>,
        /// The data dir of the azemu named by --url [default: ~/.azemu].
        #[arg(long, env = "AZEMU_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// The seed of the in-process azemu (reproducible ids and times).
        #[arg(long)]
        seed: Option<u64>,
        /// Print every request and response.
        #[arg(long, short)]
        verbose: bool,
    },
}

#[derive(Subcommand)]
enum NodeImagesCommand {
    /// Release the next node image of a family (Microsoft's weekly release, simulated).
    Publish {
        /// e.g. AKSUbuntu-2204gen2containerd, AKSAzureLinux-V3gen2, AKSWindows-2022-containerd.
        #[arg(long, default_value = "AKSUbuntu-2204gen2containerd")]
        family: String,
        /// An explicit version suffix (default: the next in the family's cadence).
        #[arg(long)]
        version: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Show the catalog.
    List {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Save the recorded ARM calls as a scenario that replays them.
    Save {
        /// The scenario file to write (YAML).
        #[arg(long, short)]
        output: PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Clone, Copy, ValueEnum, Debug)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Args, Clone, Debug)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AZEMU_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "AZEMU_PORT", default_value_t = 8443)]
    port: u16,
    /// Where the CA, certificates and token signing key are kept [default: ~/.azemu].
    #[arg(long, env = "AZEMU_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Serve plain HTTP (the Azure CLI and SDKs need HTTPS; use for benchmarks and curl).
    #[arg(long, env = "AZEMU_NO_TLS")]
    no_tls: bool,
    /// Serve this certificate (PEM) instead of azemu's own.
    #[arg(long, env = "AZEMU_CERT", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, env = "AZEMU_KEY", requires = "cert")]
    key: Option<PathBuf>,
    /// Extra names for the server certificate (repeatable).
    #[arg(long = "tls-san", env = "AZEMU_TLS_SANS", value_delimiter = ',')]
    tls_sans: Vec<String>,
    /// The URL clients are told to use (default: from host and port).
    #[arg(long, env = "AZEMU_PUBLIC_URL")]
    public_url: Option<String>,
    /// How logs are written to stderr. The level comes from AZEMU_LOG (default `warn`;
    /// `AZEMU_LOG=info` logs every request; any tracing filter such as `azemu=debug` works).
    #[arg(long, env = "AZEMU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Refuse api-versions a type does not list, with ARM's codes.
    #[arg(long, env = "AZEMU_STRICT_API_VERSIONS")]
    strict_api_versions: bool,
    /// How long long-running operations take, e.g. 0, 500ms, 3s.
    #[arg(long, env = "AZEMU_LRO_DURATION", default_value = "0")]
    lro_duration: String,
    /// Accept ARM calls without a bearer token.
    #[arg(long, env = "AZEMU_NO_AUTH")]
    no_auth: bool,
    /// Check every ARM call against the caller's role assignments (403 AuthorizationFailed).
    #[arg(long, env = "AZEMU_ENFORCE_RBAC")]
    enforce_rbac: bool,
    /// How long a new principal stays unknown to role assignments without principalType.
    #[arg(long, env = "AZEMU_PRINCIPAL_PROPAGATION_DELAY", default_value = "0")]
    principal_propagation_delay: String,
    /// The id of the default tenant (the one tokens are issued for).
    #[arg(long, env = "AZEMU_TENANT_ID", default_value = config::DEFAULT_TENANT_ID)]
    tenant_id: String,
    /// The id of the default subscription (in the default tenant).
    #[arg(long, env = "AZEMU_SUBSCRIPTION_ID", default_value = config::DEFAULT_SUBSCRIPTION_ID)]
    subscription_id: String,
    /// The client id of the service principal that owns the default subscription.
    #[arg(long, env = "AZEMU_CLIENT_ID", default_value = config::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// Make generated ids and timestamps reproducible (the clock becomes virtual).
    #[arg(long, env = "AZEMU_SEED")]
    seed: Option<u64>,
    /// Load state from this file at start and save it there at stop (its folder must exist;
    /// one azemu per file).
    #[arg(long, env = "AZEMU_STATE_FILE")]
    state_file: Option<PathBuf>,
    /// Check that every refused write leaves the state untouched (for test suites: a refusal
    /// that changed anything answers 500 RefusalLeftTrace).
    #[arg(long, env = "AZEMU_AUDIT_REFUSALS")]
    audit_refusals: bool,
    /// With --state-file, save changed state this often, so a crash loses at most this much (0: only at stop).
    #[arg(long, env = "AZEMU_STATE_SAVE_INTERVAL", default_value = "1s")]
    state_save_interval: String,
    /// The most the request journal (/_azemu/requests) keeps, in bytes; the oldest entries go first.
    #[arg(long, env = "AZEMU_JOURNAL_MAX_BYTES", default_value_t = 16 * 1024 * 1024)]
    journal_max_bytes: usize,
    /// Close a connection idle (or sending its request head) longer than this.
    #[arg(long, env = "AZEMU_IDLE_TIMEOUT", default_value = "30s")]
    idle_timeout: String,
}

fn duration_ms(flag: &str, v: &str) -> i64 {
    crate::arm::time::parse_duration_ms(v).unwrap_or_else(|| {
        eprintln!("azemu: --{flag} '{v}' is not a duration such as 0, 500ms or 3s");
        std::process::exit(2);
    })
}

impl ServeArgs {
    fn config(&self) -> Config {
        Config {
            host: self.host.clone(),
            port: self.port,
            data_dir: self.data_dir.clone().unwrap_or_else(config::default_data_dir),
            tls: !self.no_tls,
            cert: self.cert.clone(),
            key: self.key.clone(),
            tls_sans: self.tls_sans.clone(),
            public_url: self.public_url.clone(),
            strict_api_versions: self.strict_api_versions,
            lro_duration_ms: duration_ms("lro-duration", &self.lro_duration),
            no_auth: self.no_auth,
            enforce_rbac: self.enforce_rbac,
            principal_propagation_delay_ms: duration_ms(
                "principal-propagation-delay",
                &self.principal_propagation_delay,
            ),
            tenant_id: self.tenant_id.clone(),
            subscription_id: self.subscription_id.clone(),
            client_id: self.client_id.clone(),
            seed: self.seed,
            state_file: self.state_file.clone(),
            audit_refusals: self.audit_refusals,
            state_save_interval_ms: duration_ms("state-save-interval", &self.state_save_interval),
            journal_max_bytes: self.journal_max_bytes,
            idle_timeout_ms: duration_ms("idle-timeout", &self.idle_timeout).max(1) as u64,
        }
    }
}

async fn serve(args: ServeArgs) -> i32 {
    let format = match args.log_format {
        LogFormat::Text => cli::serve::LogFormat::Text,
        LogFormat::Json => cli::serve::LogFormat::Json,
    };
    cli::serve::serve(args.config(), format).await
}

/// Expands folders into their scenario files, in name order.
fn scenario_files(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.retain(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"));
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    out
}

async fn control(
    target: &Target,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<serde_json::Value, String> {
    let loc = target.locate();
    let client = crate::scenario::client::Client::connect(&loc.url, loc.ca.as_deref().filter(|c| c.exists())).await?;
    let x = client.send(method, path, &[], body.as_ref(), None).await?;
    if x.status >= 400 {
        return Err(format!("{method} {path}: {} {}", x.status, x.body_text));
    }
    Ok(x.body)
}

fn print_or_fail(r: Result<serde_json::Value, String>) -> i32 {
    match r {
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            0
        }
        Err(e) => {
            eprintln!("azemu: {e}");
            1
        }
    }
}

async fn save_journal(target: &Target, output: &std::path::Path) -> Result<String, String> {
    let doc = control(target, "GET", "/_azemu/requests/scenario", None).await?;
    let yaml = serde_yaml_ng::to_string(&doc).map_err(|e| e.to_string())?;
    std::fs::write(output, yaml).map_err(|e| format!("cannot write {} (--output): {e}", output.display()))?;
    Ok(format!(
        "wrote {} ({} step(s))",
        output.display(),
        doc["steps"].as_array().map(Vec::len).unwrap_or(0)
    ))
}

/// Parses the command line and runs the command (`src/main.rs` calls it).
pub fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = match cli.command {
        None => rt.block_on(serve(cli.serve)),
        Some(Command::Serve(a)) => rt.block_on(serve(a)),
        Some(Command::Scenario(ScenarioCommand::Run {
            files,
            url,
            ca,
            data_dir,
            seed,
            verbose,
        })) => {
            // Against a running azemu, trust its data dir's CA unless --ca says otherwise.
            let ca = match &url {
                Some(u) => cli::locate(data_dir.as_deref(), Some(u), ca.as_deref())
                    .ca
                    .filter(|c| c.exists()),
                None => ca,
            };
            let opts = crate::scenario::Options { url, ca, seed, verbose };
            let files = scenario_files(&files);
            if files.is_empty() {
                eprintln!("azemu: no scenario files given");
                2
            } else {
                let (_, failed) = rt.block_on(crate::scenario::run_files(&files, &opts));
                i32::from(failed > 0)
            }
        }
        Some(Command::NodeImages(NodeImagesCommand::Publish {
            family,
            version,
            target,
        })) => {
            let body = serde_json::json!({ "family": family, "version": version });
            print_or_fail(rt.block_on(control(&target, "POST", "/_azemu/node-images", Some(body))))
        }
        Some(Command::NodeImages(NodeImagesCommand::List { target })) => {
            print_or_fail(rt.block_on(control(&target, "GET", "/_azemu/node-images", None)))
        }
        Some(Command::Env {
            target,
            shell,
            format,
            no_az,
        }) => {
            let shell = match shell {
                ShellArg::Bash | ShellArg::Zsh | ShellArg::Sh => cli::env::Shell::Posix,
                ShellArg::Fish => cli::env::Shell::Fish,
                ShellArg::Powershell => cli::env::Shell::Powershell,
            };
            let format = match format {
                None => cli::env::Format::Shell,
                Some(FormatArg::Dotenv) => cli::env::Format::Dotenv,
                Some(FormatArg::Json) => cli::env::Format::Json,
            };
            cli::env::run(&target.locate(), shell, format, !no_az)
        }
        Some(Command::Az { target, args }) => cli::az::run(&target.locate(), &args),
        Some(Command::Doctor { target, state_file }) => cli::doctor::run(&target.locate(), state_file.as_deref()),
        Some(Command::Journal(JournalCommand::Save { output, target })) => {
            match rt.block_on(save_journal(&target, &output)) {
                Ok(msg) => {
                    println!("{msg}");
                    0
                }
                Err(e) => {
                    eprintln!("azemu: {e}");
                    1
                }
            }
        }
    };
    std::process::exit(code);
}
