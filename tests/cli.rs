//! The `azemu` command as a user runs it: `azemu serve` as a process (its messages, locks and
//! runtime file), `azemu env`, `azemu az` without az, `azemu doctor` healthy and for each
//! failure it names, the client commands' messages. Every test runs the built binary.
//! (az itself is exercised by tests/compat/test_cli.py, where the venv's az is installed.)

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_azemu");

fn fresh_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("azemu-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A clean environment: no AZEMU_* or client variables leak in from the caller, and PATH
/// holds no az (an empty folder).
fn azemu(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("HOME", dir)
        .env("PATH", dir.join("empty-path"))
        .stdin(Stdio::null());
    let _ = std::fs::create_dir_all(dir.join("empty-path"));
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = c.output().expect("run azemu");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// A running `azemu serve --port 0` with its own data dir.
struct Server {
    child: Child,
    url: String,
    data_dir: PathBuf,
    home: PathBuf,
    /// Whether `start` made `home` (and removes it when done).
    owns_home: bool,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let home = fresh_dir();
        let data_dir = home.join("data");
        let mut s = Self::start_in(&home, &data_dir, extra).expect("azemu starts");
        s.owns_home = true;
        s
    }

    fn start_in(home: &Path, data_dir: &Path, extra: &[&str]) -> Result<Server, String> {
        let stderr_path = home.join(format!("stderr-{}.log", uuid::Uuid::new_v4()));
        let mut child = azemu(home)
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("spawn azemu");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("azemu ready: ") => {
                    let url = l["azemu ready: ".len()..].split(' ').next().unwrap().to_string();
                    // Keep draining stdout so azemu never blocks on a full pipe.
                    std::thread::spawn(move || for _ in lines {});
                    return Ok(Server {
                        child,
                        url,
                        data_dir: data_dir.to_path_buf(),
                        home: home.to_path_buf(),
                        owns_home: false,
                    });
                }
                Some(Ok(_)) => continue,
                _ => break,
            }
        }
        let _ = child.wait();
        Err(std::fs::read_to_string(&stderr_path).unwrap_or_default())
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// SIGTERM, as a user's Ctrl-C or `kill` does; waits for the exit.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `azemu <args> --data-dir <its data dir>`.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = azemu(&self.home);
        c.args(args).arg("--data-dir").arg(&self.data_dir);
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_home {
            let _ = std::fs::remove_dir_all(&self.home);
        }
    }
}

/// `export NAME='value'` lines into pairs.
fn parse_exports(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn get<'a>(vars: &'a [(String, String)], k: &str) -> &'a str {
    vars.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{k} missing from {vars:?}"))
}

fn holds_ca(file: &str, ca: &Path) -> bool {
    let want = std::fs::read_to_string(ca).unwrap();
    let body: String = want.lines().filter(|l| !l.starts_with("-----")).collect();
    let have: String = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("\n");
    have.replace('\n', "").contains(&body)
}

// ---- azemu env ---------------------------------------------------------------------------

#[test]
fn env_prints_every_client_variable_for_the_running_azemu() {
    let s = Server::start(&["--tenant-id", "11111111-2222-4333-8444-555555555555"]);
    let (code, out, err) = run(s.cmd(&["env", "--no-az"]).arg("--shell").arg("bash"));
    assert_eq!(code, 0, "{err}");
    let vars = parse_exports(&out);
    let ca = s.data_dir.join("ca.pem");
    for k in ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"] {
        assert!(holds_ca(get(&vars, k), &ca), "{k} trusts azemu's CA");
    }
    assert_eq!(get(&vars, "NODE_EXTRA_CA_CERTS"), ca.display().to_string());
    assert_eq!(get(&vars, "AZURE_CORE_INSTANCE_DISCOVERY"), "false");
    assert_eq!(
        get(&vars, "AZURE_CONFIG_DIR"),
        s.data_dir.join("az").display().to_string(),
        "an isolated az config dir under the data dir"
    );
    assert_eq!(get(&vars, "ARM_METADATA_HOSTNAME"), format!("127.0.0.1:{}", s.port()));
    assert_eq!(get(&vars, "ARM_TENANT_ID"), "11111111-2222-4333-8444-555555555555");
    assert_eq!(get(&vars, "AZURE_TENANT_ID"), "11111111-2222-4333-8444-555555555555");
    assert_eq!(
        get(&vars, "ARM_SUBSCRIPTION_ID"),
        "a2e0c0de-0000-4000-8000-000000000002"
    );
    assert_eq!(get(&vars, "ARM_CLIENT_ID"), "a2e0c0de-0000-4000-8000-000000000003");
    assert_eq!(get(&vars, "AZURE_CLIENT_ID"), "a2e0c0de-0000-4000-8000-000000000003");
    assert!(!get(&vars, "ARM_CLIENT_SECRET").is_empty());
    assert!(!get(&vars, "AZURE_CLIENT_SECRET").is_empty());
    assert_eq!(get(&vars, "GO_AZURE_SDK_SKIP_POLLING_DELAY"), "true");
    assert_eq!(get(&vars, "AZURE_AUTHORITY_HOST"), s.url);
}

#[test]
fn env_speaks_fish_powershell_dotenv_and_json() {
    let s = Server::start(&[]);
    let (_, posix, _) = run(&mut s.cmd(&["env", "--no-az"]));
    let posix = parse_exports(&posix);
    assert!(posix.len() >= 15, "{posix:?}");

    let (code, fish, _) = run(&mut s.cmd(&["env", "--no-az", "--shell", "fish"]));
    assert_eq!(code, 0);
    let (_, ps, _) = run(&mut s.cmd(&["env", "--no-az", "--shell", "powershell"]));
    let (_, dotenv, _) = run(&mut s.cmd(&["env", "--no-az", "--format", "dotenv"]));
    let (_, json, _) = run(&mut s.cmd(&["env", "--no-az", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    for (k, v) in &posix {
        assert!(fish.contains(&format!("set -gx {k} '{v}';")), "fish: {k}\n{fish}");
        assert!(ps.contains(&format!("$Env:{k} = '{v}'")), "powershell: {k}\n{ps}");
        assert!(dotenv.lines().any(|l| l == format!("{k}={v}")), "dotenv: {k}\n{dotenv}");
        assert_eq!(json[k], serde_json::json!(v), "json: {k}");
    }
}

#[test]
fn env_follows_the_running_azemu_to_its_port() {
    // --port 0: only the data dir knows the port.
    let mut s = Server::start(&[]);
    let (_, out, _) = run(&mut s.cmd(&["env", "--no-az"]));
    assert_eq!(get(&parse_exports(&out), "AZURE_AUTHORITY_HOST"), s.url);
    assert!(s.data_dir.join("azemu.json").exists());
    s.stop();
    assert!(
        !s.data_dir.join("azemu.json").exists(),
        "the runtime file goes with the process"
    );
    let (code, out, err) = run(&mut s.cmd(&["env", "--no-az"]));
    assert_eq!(code, 1);
    assert!(out.is_empty(), "nothing to eval: {out}");
    assert!(err.contains("start azemu first"), "{err}");
}

// ---- azemu az ----------------------------------------------------------------------------

#[test]
fn azemu_az_says_clearly_when_az_is_not_installed() {
    let s = Server::start(&[]);
    let (code, _, err) = run(s.cmd(&["az"]).args(["group", "list"]));
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("the Azure CLI (az) is not installed"), "{err}");
}

// ---- azemu doctor ------------------------------------------------------------------------

/// `azemu doctor` with the environment `azemu env` prints.
fn doctor_with_env(s: &Server, extra: &[&str], tweak: impl FnOnce(&mut Vec<(String, String)>)) -> (i32, String) {
    let (_, out, _) = run(&mut s.cmd(&["env", "--no-az"]));
    let mut vars = parse_exports(&out);
    tweak(&mut vars);
    let mut c = s.cmd(&["doctor"]);
    c.args(extra);
    for (k, v) in &vars {
        c.env(k, v);
    }
    let (code, out, err) = run(&mut c);
    (code, format!("{out}{err}"))
}

fn line_with<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with '{needle}' in:\n{out}"))
}

fn fix_after<'a>(out: &'a str, needle: &str) -> &'a str {
    let mut it = out.lines().skip_while(|l| !l.contains(needle));
    it.next();
    it.next()
        .filter(|l| l.trim_start().starts_with("fix: "))
        .unwrap_or_else(|| panic!("no fix after '{needle}' in:\n{out}"))
}

#[test]
fn doctor_passes_a_healthy_setup() {
    let s = Server::start(&[]);
    let (code, out) = doctor_with_env(&s, &[], |_| {});
    assert_eq!(code, 0, "{out}");
    assert!(line_with(&out, "answers at").starts_with("ok"), "{out}");
    assert!(line_with(&out, "signs the certificate azemu serves").starts_with("ok"));
    assert!(line_with(&out, &format!("port {} is held by azemu", s.port())).starts_with("ok"));
    for k in [
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "NODE_EXTRA_CA_CERTS",
        "AZURE_CORE_INSTANCE_DISCOVERY",
    ] {
        assert!(line_with(&out, k).starts_with("ok"), "{k}: {out}");
    }
    // No az on PATH here: said, not a failure.
    assert!(line_with(&out, "az is not installed").starts_with("skip"), "{out}");
    assert!(line_with(&out, "state").starts_with("ok"), "{out}");
    assert!(out.trim_end().ends_with("all checks passed"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn doctor_finds_no_server() {
    let mut s = Server::start(&[]);
    let url = s.url.clone();
    s.stop();
    let (code, out) = doctor_with_env(&s, &["--url", &url], |_| {});
    assert_eq!(code, 1, "{out}");
    let l = line_with(&out, "nothing answers");
    assert!(l.starts_with("FAIL"), "{out}");
    assert!(fix_after(&out, "nothing answers").contains("azemu &"), "{out}");
    assert!(line_with(&out, "is free for azemu").starts_with("ok"), "{out}");
}

#[test]
fn doctor_finds_a_missing_ca_file() {
    let s = Server::start(&[]);
    let missing = s.home.join("no-such-ca.pem");
    let (code, out) = doctor_with_env(&s, &["--ca", missing.to_str().unwrap()], |_| {});
    assert_eq!(code, 1, "{out}");
    assert!(line_with(&out, "does not exist").starts_with("FAIL"), "{out}");
    assert!(fix_after(&out, "does not exist").contains("--data-dir"), "{out}");
}

#[test]
fn doctor_finds_a_ca_that_does_not_sign_the_served_certificate() {
    let s = Server::start(&[]);
    let mut other = Server::start(&[]);
    other.stop();
    let other_ca = other.data_dir.join("ca.pem");
    let (code, out) = doctor_with_env(&s, &["--ca", other_ca.to_str().unwrap()], |_| {});
    assert_eq!(code, 1, "{out}");
    let l = line_with(&out, "is not trusted");
    assert!(l.starts_with("FAIL"), "{out}");
    assert!(fix_after(&out, "is not trusted").contains("CA of the azemu"), "{out}");
}

#[test]
fn doctor_finds_client_variables_unset_or_wrong() {
    let s = Server::start(&[]);
    let (code, out) = doctor_with_env(&s, &[], |vars| {
        vars.retain(|(k, _)| !matches!(k.as_str(), "REQUESTS_CA_BUNDLE" | "AZURE_CORE_INSTANCE_DISCOVERY"));
        for (k, v) in vars.iter_mut() {
            if k == "SSL_CERT_FILE" {
                *v = "/etc/hostname".into();
            }
            if k == "NODE_EXTRA_CA_CERTS" {
                *v = "/no/such/file.pem".into();
            }
        }
    });
    assert_eq!(code, 1, "{out}");
    assert!(
        line_with(&out, "REQUESTS_CA_BUNDLE is not set").starts_with("FAIL"),
        "{out}"
    );
    assert!(
        line_with(&out, "certifi's bundle").contains("REQUESTS_CA_BUNDLE"),
        "{out}"
    );
    assert!(line_with(&out, "SSL_CERT_FILE=/etc/hostname").contains("does not hold azemu's CA"));
    assert!(line_with(&out, "NODE_EXTRA_CA_CERTS=/no/such").contains("does not exist"));
    assert!(line_with(&out, "AZURE_CORE_INSTANCE_DISCOVERY is not false").starts_with("FAIL"));
    for k in [
        "REQUESTS_CA_BUNDLE is not set",
        "SSL_CERT_FILE=",
        "NODE_EXTRA_CA_CERTS=",
        "AZURE_CORE_INSTANCE_DISCOVERY is not",
    ] {
        assert!(fix_after(&out, k).contains("azemu env"), "{k}: {out}");
    }
    assert!(out.contains("4 problem(s) found"), "{out}");
}

#[test]
fn doctor_finds_the_port_held_by_another_program() {
    let s = Server::start(&[]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // A program that accepts and hangs up at once.
    std::thread::spawn(move || {
        for c in listener.incoming().take(4) {
            drop(c);
        }
    });
    let url = format!("https://127.0.0.1:{port}");
    let (code, out) = doctor_with_env(&s, &["--url", &url], |_| {});
    assert_eq!(code, 1, "{out}");
    let l = line_with(&out, &format!("port {port} is held by another program"));
    assert!(l.starts_with("FAIL"), "{out}");
    assert!(fix_after(&out, "held by another program").contains("--port 0"), "{out}");
}

#[test]
fn doctor_finds_another_program_answering_http_on_the_url() {
    let s = Server::start(&[]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::Write;
        for c in listener.incoming().take(4) {
            let Ok(mut c) = c else { continue };
            let mut buf = [0u8; 2048];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let (code, out) = doctor_with_env(&s, &["--url", &url], |_| {});
    assert_eq!(code, 1, "{out}");
    assert!(line_with(&out, "but not as azemu").starts_with("FAIL"), "{out}");
    assert!(fix_after(&out, "but not as azemu").contains("--port 0"), "{out}");
}

#[test]
fn doctor_finds_a_state_file_folder_that_is_missing_or_not_writable() {
    let s = Server::start(&[]);
    let missing = s.home.join("no-such-folder").join("state.json");
    let (code, out) = doctor_with_env(&s, &["--state-file", missing.to_str().unwrap()], |_| {});
    assert_eq!(code, 1, "{out}");
    assert!(line_with(&out, "does not exist").starts_with("FAIL"), "{out}");
    assert!(fix_after(&out, "state file").contains("mkdir -p"), "{out}");

    // /proc/self cannot hold new files, even for root.
    let (code, out) = doctor_with_env(&s, &["--state-file", "/proc/self/state.json"], |_| {});
    assert_eq!(code, 1, "{out}");
    assert!(line_with(&out, "is not writable").starts_with("FAIL"), "{out}");
}

#[test]
fn doctor_finds_an_az_that_does_not_run() {
    let s = Server::start(&[]);
    let fake = s.home.join("broken-az");
    std::fs::write(&fake, "#!/bin/sh\nexit 3\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (code, out) = doctor_with_env(&s, &[], |vars| {
        vars.push(("AZEMU_AZ".into(), fake.display().to_string()))
    });
    assert_eq!(code, 1, "{out}");
    assert!(line_with(&out, "does not run").starts_with("FAIL"), "{out}");
    assert!(fix_after(&out, "does not run").contains("AZEMU_AZ"), "{out}");
}

#[test]
fn journal_save_names_the_file_and_flag_it_cannot_write() {
    let s = Server::start(&[]);
    let (code, _, err) = run(&mut s.cmd(&["journal", "save", "-o", "/no/such/dir/out.yaml"]));
    assert_eq!(code, 1);
    assert!(err.contains("/no/such/dir/out.yaml (--output)"), "{err}");
}

// ---- serve: data dir and state file safety, messages ---------------------------------------

#[test]
fn a_second_azemu_on_the_same_data_dir_is_refused() {
    let s = Server::start(&[]);
    let err = Server::start_in(&s.home, &s.data_dir, &[]).err().expect("refused");
    assert!(err.contains("another azemu"), "{err}");
    assert!(err.contains(&format!("serving {}", s.url)), "{err}");
    assert!(err.contains(&s.data_dir.display().to_string()), "{err}");
    assert!(err.contains("--data-dir"), "{err}");
}

#[test]
fn a_second_azemu_on_the_same_state_file_is_refused() {
    let home = fresh_dir();
    let state = home.join("state.json");
    let st = state.to_str().unwrap();
    let _first = Server::start_in(&home, &home.join("d1"), &["--state-file", st]).expect("first");
    let err = Server::start_in(&home, &home.join("d2"), &["--state-file", st])
        .err()
        .expect("refused");
    assert!(err.contains("already uses the state file"), "{err}");
    assert!(err.contains(st) && err.contains("--state-file"), "{err}");
}

#[test]
fn a_state_file_in_a_missing_folder_is_refused_at_start() {
    let home = fresh_dir();
    let state = home.join("nope").join("state.json");
    let (code, _, err) = run(azemu(&home)
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(home.join("d"))
        .arg("--state-file")
        .arg(&state));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&state.display().to_string()), "{err}");
    assert!(err.contains("--state-file") && err.contains("does not exist"), "{err}");
}

#[test]
fn a_corrupt_state_file_is_named_with_the_position() {
    let home = fresh_dir();
    let state = home.join("state.json");
    std::fs::write(
        &state,
        "{\n  \"format\": \"azemu-state/1\",\n  \"records\": [ oops ]\n}\n",
    )
    .unwrap();
    let (code, _, err) = run(azemu(&home)
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(home.join("d"))
        .arg("--state-file")
        .arg(&state));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&state.display().to_string()), "{err}");
    assert!(err.contains("line 3 column 16"), "{err}");
}

#[test]
fn a_port_in_use_is_named_with_the_way_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let home = fresh_dir();
    let (code, _, err) = run(azemu(&home)
        .args(["serve", "--port", &port, "--data-dir"])
        .arg(home.join("d")));
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("port {port}")), "{err}");
    assert!(err.contains("--port 0"), "{err}");
}

#[test]
fn a_missing_certificate_file_is_named_with_its_flag() {
    let home = fresh_dir();
    let (code, _, err) = run(azemu(&home)
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(home.join("d"))
        .args(["--cert", "/no/such/cert.pem", "--key", "/no/such/key.pem"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/no/such/cert.pem (--cert)"), "{err}");
}

#[test]
fn logs_carry_no_colour_when_stderr_is_not_a_terminal() {
    let home = fresh_dir();
    let mut c = azemu(&home);
    c.env("AZEMU_LOG", "info");
    let mut child = c
        .args(["serve", "--port", "0", "--data-dir"])
        .arg(home.join("d"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let url = ready["azemu ready: ".len()..].split(' ').next().unwrap().to_string();
    let (code, _, _) = run(azemu(&home)
        .args(["node-images", "list", "--data-dir"])
        .arg(home.join("d")));
    assert_eq!(code, 0, "found through the data dir ({url})");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let _ = child.wait();
    assert!(err.contains("request"), "info logs every request: {err}");
    assert!(!err.contains('\u{1b}'), "no ANSI escapes: {err:?}");
}

// ---- client commands ---------------------------------------------------------------------

#[test]
fn scenario_run_against_a_url_trusts_the_data_dirs_ca() {
    let s = Server::start(&[]);
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/06-test-suite-ergonomics.yaml");
    let (code, out, err) = run(&mut s.cmd(&["scenario", "run", scenario, "--url", &s.url]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("scenarios: 1 passed, 0 failed"), "{out}");
}

#[test]
fn a_client_command_that_fails_tls_says_the_certificate_is_not_trusted() {
    let s = Server::start(&[]);
    let mut other = Server::start(&[]);
    other.stop();
    let other_ca = other.data_dir.join("ca.pem");
    let (code, _, err) = run(&mut s.cmd(&["node-images", "list", "--ca", other_ca.to_str().unwrap()]));
    assert_eq!(code, 1);
    assert!(err.contains("certificate is not trusted"), "{err}");
    assert!(!err.contains("does not answer"), "{err}");
}

#[test]
fn scenario_errors_print_once() {
    let home = fresh_dir();
    let missing = home.join("missing.yaml");
    let (code, out, err) = run(azemu(&home).args(["scenario", "run"]).arg(&missing));
    assert_eq!(code, 1);
    let all = format!("{out}{err}");
    assert_eq!(all.matches("No such file").count(), 1, "{all}");
    assert!(all.contains(&format!("failed: {}", missing.display())), "{all}");
}

#[test]
fn every_flag_has_a_help_line() {
    let home = fresh_dir();
    for sub in [
        vec!["serve"],
        vec!["env"],
        vec!["doctor"],
        vec!["az"],
        vec!["scenario", "run"],
        vec!["journal", "save"],
        vec!["node-images", "publish"],
    ] {
        let (code, out, _) = run(azemu(&home).args(&sub).arg("-h"));
        assert_eq!(code, 0, "{sub:?}");
        let lines: Vec<&str> = out.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            if !t.starts_with('-') {
                continue;
            }
            // "--flag <VALUE>  Help text [env: …]", or the help on the next line.
            let same = t.split_once("  ").map(|(_, h)| h.trim()).unwrap_or("");
            let next = lines.get(i + 1).map(|n| n.trim()).unwrap_or("");
            let help = if same.is_empty() && !next.starts_with('-') {
                next
            } else {
                same
            };
            assert!(
                !help.is_empty() && !help.starts_with('['),
                "{sub:?}: no help for `{t}`\n{out}"
            );
        }
    }
    let (_, out, _) = run(azemu(&home).args(["serve", "--help"]));
    assert!(out.contains("AZEMU_LOG"), "the log level variable is documented");
    for f in ["--log-format", "--tenant-id", "--subscription-id"] {
        assert!(out.contains(f), "{f}");
    }
}
