"""Real-client compatibility suite: drives the real Azure CLI (azure-cli 2.91.0)
against a running azemu.

Session setup (see tests/compat/README.md):
  * start `azemu serve --port 0 --data-dir <tmp>` (binary from $AZEMU_BIN, default
    target/debug/azemu) and wait for its ready line
    `azemu ready: https://127.0.0.1:PORT (CA: /path/to/ca.pem)`;
    or, with $AZEMU_URL and $AZEMU_CA set, use an azemu that is already running;
  * read tenant and subscription from GET <url>/_azemu/health;
  * give az an isolated environment (AZURE_CONFIG_DIR, HOME, REQUESTS_CA_BUNDLE, ...),
    register the emulator as a cloud, select it and log in with a service principal.

Tests get `az(*args)` (parsed JSON, or text for -o tsv/none) and `az_fail(*args)`
(expects a non-zero exit, returns stderr).
"""

from __future__ import annotations

import json
import os
import shlex
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import azemu_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("COMPAT_VENV", ROOT / ".venv"))
AZ_EXE = Path(os.environ.get("AZ_EXE", VENV / "bin" / "az"))

AZ_TIMEOUT_S = float(os.environ.get("COMPAT_AZ_TIMEOUT", "600"))

# Any client id / secret is accepted by the emulator's token endpoint (azure-cli.md §2).
DEFAULT_CLIENT_ID = "22222222-0000-0000-0000-000000000002"
CLIENT_SECRET = "anysecret"
CLOUD_NAME = "azemu"


def pytest_configure(config):
    config.addinivalue_line("markers", "aks: AKS (managedClusters) scenarios; select with -m aks")


# --------------------------------------------------------------------------------------
# azemu process


class Emulator:
    def __init__(self, url: str, ca: str, proc: subprocess.Popen | None, log_path: Path | None):
        self.url = url.rstrip("/")
        self.ca = ca
        self.proc = proc
        self.log_path = log_path

    def log_tail(self, n: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def get_json(self, path: str) -> dict:
        ctx = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(self.url + path, context=ctx, timeout=10) as resp:
            return json.loads(resp.read().decode())


@pytest.fixture(scope="session")
def emulator(tmp_path_factory) -> Emulator:
    """A running azemu: started here, or an external one from $AZEMU_URL + $AZEMU_CA."""
    try:
        with azemu_process.session(tmp_path_factory, [], require_ca=True) as (url, ca, proc, log_path):
            yield Emulator(url, ca, proc, log_path)
    except azemu_process.StartError as e:
        pytest.exit(str(e), 2)


@pytest.fixture(scope="session")
def health(emulator) -> dict:
    """GET /_azemu/health: {"status":"ok","version":...,"tenantId":...,"subscriptionId":...}."""
    h = emulator.get_json("/_azemu/health")
    assert h.get("status") == "ok", h
    for key in ("tenantId", "subscriptionId"):
        assert h.get(key), f"health response lacks {key}: {h}"
    return h


# --------------------------------------------------------------------------------------
# az


class AzError(AssertionError):
    pass


class AzCli:
    """Runs the venv's az with an isolated environment."""

    def __init__(self, env: dict, cwd: Path, emulator: Emulator, log_path: Path):
        self.env = env
        self.cwd = cwd
        self.emulator = emulator
        self.log_path = log_path

    def run(self, *args: str, timeout: float = AZ_TIMEOUT_S, input: str | None = None):
        args = [str(a) for a in args]
        if not any(a in ("-o", "--output") or a.startswith("--output=") for a in args):
            args += ["-o", "json"]
        cmd = [str(AZ_EXE), *args]
        start = time.monotonic()
        try:
            cp = subprocess.run(
                cmd,
                env=self.env,
                cwd=self.cwd,
                capture_output=True,
                text=True,
                timeout=timeout,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            raise AzError(f"az timed out after {timeout:.0f}s: {shlex.join(cmd[1:])}\n"
                          f"--- stdout ---\n{e.stdout}\n--- stderr ---\n{e.stderr}") from None
        with open(self.log_path, "a") as f:
            f.write(f"$ az {shlex.join(args)}  # rc={cp.returncode} {time.monotonic() - start:.1f}s\n")
            if cp.returncode:
                f.write(cp.stderr)
        return cmd, cp

    def _describe(self, cmd, cp) -> str:
        text = (f"az {shlex.join(cmd[1:])}\nexit code {cp.returncode}\n"
                f"--- stdout ---\n{cp.stdout}\n--- stderr ---\n{cp.stderr}")
        tail = self.emulator.log_tail()
        if tail:
            text += f"\n--- azemu log (tail) ---\n{tail}"
        return text

    def __call__(self, *args: str, **kw):
        cmd, cp = self.run(*args, **kw)
        if cp.returncode != 0:
            raise AzError("az command failed:\n" + self._describe(cmd, cp))
        out = cp.stdout
        fmt = _output_format(cmd)
        if fmt in ("json", "jsonc"):
            if not out.strip():
                return None
            try:
                return json.loads(out)
            except json.JSONDecodeError:
                raise AzError("az printed non-JSON output:\n" + self._describe(cmd, cp)) from None
        return out.strip() if fmt == "tsv" else out

    def fail(self, *args: str, **kw) -> str:
        cmd, cp = self.run(*args, **kw)
        if cp.returncode == 0:
            raise AzError("az command was expected to fail but succeeded:\n" + self._describe(cmd, cp))
        return cp.stderr


def _output_format(cmd) -> str:
    for i, a in enumerate(cmd):
        if a in ("-o", "--output") and i + 1 < len(cmd):
            return cmd[i + 1]
        if a.startswith("--output="):
            return a.split("=", 1)[1]
    return "json"


def _az_env(home: Path, config_dir: Path, ca: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AZURE_", "ARM_", "MSI_", "IDENTITY_"))
           and k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")}
    no_proxy = ",".join(x for x in (env.get("NO_PROXY") or env.get("no_proxy"), "127.0.0.1", "localhost") if x)
    env.update({
        "HOME": str(home),                       # --generate-ssh-keys writes ~/.ssh here
        "AZURE_CONFIG_DIR": str(config_dir),
        "AZURE_EXTENSION_DIR": str(config_dir / "cliextensions"),
        "REQUESTS_CA_BUNDLE": ca,                # requests (cloud register, MSAL) and azure-core
        "AZURE_CORE_INSTANCE_DISCOVERY": "false",  # else MSAL calls login.microsoftonline.com
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_CORE_NO_COLOR": "true",
        "AZURE_CORE_SURVEY_MESSAGE": "false",
        "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no",
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
        "PYTHONIOENCODING": "utf-8",
    })
    return env


@pytest.fixture(scope="session")
def az_cli(emulator, health, tmp_path_factory) -> AzCli:
    """An az that is registered against the emulator cloud and logged in."""
    if not AZ_EXE.exists():
        pytest.exit(f"{AZ_EXE} not found: run scripts/compat-setup.sh first", 2)
    base = tmp_path_factory.mktemp("az")
    home, config_dir = base / "home", base / "config"
    home.mkdir()
    config_dir.mkdir()
    cli = AzCli(_az_env(home, config_dir, emulator.ca), base, emulator, base / "az-commands.log")

    # No trailing slash: with one, az requests //metadata/endpoints (azure-cli.md §0 #4).
    cli("cloud", "register", "-n", CLOUD_NAME, "--endpoint-resource-manager", emulator.url, "-o", "none")
    cli("cloud", "set", "-n", CLOUD_NAME, "-o", "none")
    client_id = os.environ.get("AZEMU_CLIENT_ID") or health.get("clientId") or DEFAULT_CLIENT_ID
    cli("login", "--service-principal", "-u", client_id, "-p", CLIENT_SECRET,
        "--tenant", health["tenantId"], "-o", "none")
    return cli


@pytest.fixture(scope="session")
def az(az_cli):
    """az(*args): run az (adds -o json unless an output format is given); returns parsed
    JSON (None for empty output), stripped text for -o tsv, raw text otherwise; raises
    AzError showing stdout/stderr on a non-zero exit."""
    return az_cli


@pytest.fixture(scope="session")
def az_fail(az_cli):
    """az_fail(*args): run az expecting a non-zero exit; returns stderr."""
    return az_cli.fail


@pytest.fixture(scope="session")
def subscription_id(health) -> str:
    return health["subscriptionId"]


@pytest.fixture(scope="session")
def tenant_id(health) -> str:
    return health["tenantId"]


def unique_name(prefix: str) -> str:
    """A name unique to this run (lower-case alphanumerics after the prefix)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def resource_group(az):
    """A fresh resource group in westus2, deleted afterwards (best effort)."""
    name = unique_name("compat-rg-")
    az("group", "create", "-n", name, "-l", "westus2", "-o", "none")
    yield name
    az.run("group", "delete", "-n", name, "-y", "-o", "none")


def same_id(a: str, b: str) -> bool:
    """ARM resource ids compare case-insensitively (aks-rules.md j6)."""
    return a is not None and b is not None and a.lower() == b.lower()


# --------------------------------------------------------------------------------------
# reporting


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus not in (0, 5):
        base = getattr(config, "_tmp_path_factory", None)
        if base is not None:
            terminalreporter.write_line(
                f"compat: azemu and az logs are under {base.getbasetemp()} (azemu*/azemu.log, az*/az-commands.log)")
