"""Terraform suite: the real azurerm provider (built from source) and the real Terraform CLI
against a running azemu.

Session setup (see tests/terraform/README.md):
  * `terraform` must be on PATH, and the providers must build (Go): otherwise the suite fails;
  * each provider version is built once per machine by ../shared/tools/terraform-azurerm/build.sh
    (or named directly: AZEMU_TF_PROVIDER_<VERSION with _ for .>=folder);
  * one azemu per session (azemu_process); every test gets its own subscription
    (POST /_azemu/subscriptions) so flows cannot see each other's resources;
  * every Terraform run gets a generated CLI config with a dev_overrides block, SSL_CERT_FILE
    = azemu's CA and GO_AZURE_SDK_SKIP_POLLING_DELAY=true.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import azemu_process  # noqa: E402
from tfkit import MEASUREMENTS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BUILD_SH = Path(os.environ.get("AZEMU_TF_BUILD", ROOT.parent / "shared" / "tools" / "terraform-azurerm" / "build.sh"))
VERSIONS = ("4.18.0", "5.2.0")
LATEST = "5.2.0"
VENV = Path(os.environ.get("COMPAT_VENV", ROOT / ".venv"))
AZ_EXE = Path(os.environ.get("AZ_EXE", VENV / "bin" / "az"))
# Every command here finishes in well under a minute; a hang (a poller waiting for the wrong
# URL) should fail the flow rather than hold the suite for the provider's own 90-minute timeout.
TF_TIMEOUT_S = float(os.environ.get("AZEMU_TF_TIMEOUT", "300"))
CLIENT_SECRET = "any-secret"

def pytest_configure(config):
    config.addinivalue_line("markers", "terraform: runs the real Terraform CLI and azurerm provider")


# --------------------------------------------------------------------------------------
# tools


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    """The Terraform CLI. Missing Terraform is a failure, not a skip: the suite exists to run it."""
    exe = shutil.which("terraform")
    if not exe:
        pytest.fail("terraform is not on PATH: install the Terraform CLI (>= 1.5) to run this suite", pytrace=False)
    return exe


_PROVIDER_DIRS: dict[str, str] = {}


def provider_dir(version: str) -> str:
    """The folder holding terraform-provider-azurerm VERSION (built on first use, then cached)."""
    if version in _PROVIDER_DIRS:
        return _PROVIDER_DIRS[version]
    named = os.environ.get("AZEMU_TF_PROVIDER_" + version.replace(".", "_"))
    if named:
        folder = named
    else:
        if not BUILD_SH.exists():
            pytest.fail(f"{BUILD_SH} not found: the provider sources live beside the repository in ../shared", pytrace=False)
        if not shutil.which("go") and not _cached(version):
            pytest.fail("Go is not on PATH: it is needed to build terraform-provider-azurerm", pytrace=False)
        cp = subprocess.run(["bash", str(BUILD_SH), version], capture_output=True, text=True)
        if cp.returncode != 0:
            pytest.fail(f"building terraform-provider-azurerm {version} failed:\n{cp.stderr[-4000:]}", pytrace=False)
        folder = cp.stdout.strip().splitlines()[-1]
    if not (Path(folder) / "terraform-provider-azurerm").exists():
        pytest.fail(f"no terraform-provider-azurerm binary in {folder}", pytrace=False)
    _PROVIDER_DIRS[version] = folder
    return folder


def _cached(version: str) -> bool:
    cache = Path(os.environ.get("AZEMU_TF_CACHE", Path.home() / ".cache" / "azemu" / "terraform-azurerm"))
    return (cache / version / "terraform-provider-azurerm").exists()


# --------------------------------------------------------------------------------------
# azemu and plain ARM calls


class Emulator:
    def __init__(self, url: str, ca: str, log_path: Path | None):
        self.url = url.rstrip("/")
        self.ca = ca
        self.log_path = log_path
        self.host = urllib.parse.urlparse(self.url).netloc
        self._ctx = ssl.create_default_context(cafile=ca)
        self.health = self.call("GET", "/_azemu/health")[1]
        self._tokens: dict[str, str] = {}

    def log_tail(self, n: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def call(self, method: str, path: str, body=None, token: str | None = None, form: dict | None = None):
        """(status, parsed JSON body or None)."""
        headers = {"Accept": "application/json"}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def token(self, tenant: str) -> str:
        if tenant not in self._tokens:
            status, body = self.call("POST", f"/{tenant}/oauth2/v2.0/token", form={
                "grant_type": "client_credentials",
                "client_id": self.health["clientId"],
                "client_secret": CLIENT_SECRET,
                "scope": self.url + "/.default",
            })
            assert status == 200, body
            self._tokens[tenant] = body["access_token"]
        return self._tokens[tenant]

    def journal_mark(self) -> int:
        """The sequence number of the newest journal entry (0 when empty)."""
        entries = self.call("GET", "/_azemu/requests")[1]["value"]
        return entries[-1]["sequence"] if entries else 0

    def journal_since(self, mark: int) -> list[dict]:
        return self.call("GET", f"/_azemu/requests?since={mark}")[1]["value"]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory) -> Emulator:
    try:
        with azemu_process.session(tmp_path_factory, [], require_ca=True) as (url, ca, _proc, log_path):
            yield Emulator(url, ca, log_path)
    except azemu_process.StartError as e:
        pytest.exit(str(e), 2)


class Subscription:
    """A fresh subscription of the test's own, with ARM helpers scoped to it."""

    def __init__(self, emulator: Emulator, created: dict):
        self.emulator = emulator
        self.id = created["subscriptionId"]
        self.tenant = created["tenantId"]
        self.owner_object_id = created["ownerObjectId"]

    def arm(self, method: str, path: str, body=None, api_version: str = "2024-11-01"):
        sep = "&" if "?" in path else "?"
        return self.emulator.call(method, f"{path}{sep}api-version={api_version}", body,
                                  token=self.emulator.token(self.tenant))

    def get(self, path: str, api_version: str = "2024-11-01"):
        """The resource's JSON, or None on 404 (anything else fails the test)."""
        status, body = self.arm("GET", path, api_version=api_version)
        if status == 404:
            return None
        assert status == 200, (path, status, body)
        return body

    def put(self, path: str, body: dict, api_version: str = "2024-11-01") -> dict:
        status, out = self.arm("PUT", path, body, api_version)
        assert status in (200, 201), (path, status, out)
        return out

    def rg_path(self, rg: str) -> str:
        return f"/subscriptions/{self.id}/resourceGroups/{rg}"

    def resources(self) -> list[dict]:
        """Every resource in the subscription (GET /subscriptions/{id}/resources)."""
        return self.get(f"/subscriptions/{self.id}/resources", "2021-04-01")["value"]

    def resource_groups(self) -> list[dict]:
        return self.get(f"/subscriptions/{self.id}/resourcegroups", "2021-04-01")["value"]

    def role_assignments(self) -> list[dict]:
        return self.get(f"/subscriptions/{self.id}/providers/Microsoft.Authorization/roleAssignments",
                        "2022-04-01")["value"]


@pytest.fixture
def subscription(emulator) -> Subscription:
    status, body = emulator.call("POST", "/_azemu/subscriptions", {"displayName": "terraform suite"})
    assert status == 201, body
    yield Subscription(emulator, body)
    emulator.call("DELETE", f"/_azemu/subscriptions/{body['subscriptionId']}")


# --------------------------------------------------------------------------------------
# Terraform


class TerraformError(AssertionError):
    pass


class Terraform:
    """One Terraform working directory bound to one provider version and one subscription."""

    def __init__(self, exe: str, version: str, workdir: Path, emulator: Emulator, sub: Subscription,
                 wiring: str):
        assert wiring in ("block", "env")
        self.exe = exe
        self.version = version
        self.dir = workdir
        self.emulator = emulator
        self.sub = sub
        self.wiring = wiring
        self.log_path = workdir / "terraform-commands.log"
        rc = workdir / "cli.tfrc"
        rc.write_text(
            "provider_installation {\n"
            f'  dev_overrides {{ "hashicorp/azurerm" = "{provider_dir(version)}" }}\n'
            "  direct {}\n"
            "}\n"
        )
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ARM_", "TF_", "AZURE_")) and k not in ("SSL_CERT_DIR",)}
        env.update({
            "TF_CLI_CONFIG_FILE": str(rc),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "SSL_CERT_FILE": emulator.ca,                 # Go reads the system roots from it
            "GO_AZURE_SDK_SKIP_POLLING_DELAY": "true",    # the SDK pollers' 10 s waits
            "HOME": str(workdir),
        })
        if wiring == "env":
            env.update(arm_env(emulator, sub))
        self.env = env

    # -- configuration

    def provider_block(self) -> str:
        if self.wiring == "env":
            return 'provider "azurerm" {\n  features {}\n}\n'
        h = self.emulator.health
        return (
            'provider "azurerm" {\n'
            "  features {}\n"
            f'  metadata_host   = "{self.emulator.host}"\n'
            f'  subscription_id = "{self.sub.id}"\n'
            f'  tenant_id       = "{self.sub.tenant}"\n'
            f'  client_id       = "{h["clientId"]}"\n'
            f'  client_secret   = "{CLIENT_SECRET}"\n'
            "}\n"
        )

    def write(self, config: str) -> None:
        """main.tf = the terraform block, the provider wiring, then `config`."""
        major = self.version.split(".")[0]
        head = (
            "terraform {\n"
            '  required_version = ">= 1.0"\n'
            "  required_providers {\n"
            f'    azurerm = {{ source = "hashicorp/azurerm", version = "~> {major}.0" }}\n'
            "  }\n"
            "}\n"
        )
        (self.dir / "main.tf").write_text(head + self.provider_block() + config)

    # -- commands

    def run(self, *args: str, check: bool = True, timeout: float = TF_TIMEOUT_S) -> subprocess.CompletedProcess:
        cmd = [self.exe, *args]
        start = time.monotonic()
        try:
            cp = subprocess.run(cmd, cwd=self.dir, env=self.env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            out, err = (x.decode(errors="replace") if isinstance(x, bytes) else (x or "") for x in (e.stdout, e.stderr))
            raise TerraformError(f"terraform {shlex.join(args)} timed out after {timeout:.0f}s\n"
                                 f"--- stdout ---\n{out[-6000:]}\n--- stderr ---\n{err[-6000:]}") from None
        cp.elapsed = time.monotonic() - start
        with open(self.log_path, "a") as f:
            f.write(f"$ terraform {shlex.join(args)}  # rc={cp.returncode} {cp.elapsed:.1f}s\n{cp.stdout}\n{cp.stderr}\n")
        if check and cp.returncode != 0:
            raise TerraformError(self.describe(cp))
        return cp

    def describe(self, cp) -> str:
        text = (f"terraform {shlex.join(cp.args[1:])} (azurerm {self.version}, {self.wiring} wiring)\n"
                f"exit code {cp.returncode}\n--- stdout ---\n{cp.stdout[-6000:]}\n--- stderr ---\n{cp.stderr[-6000:]}")
        tail = self.emulator.log_tail()
        return text + (f"\n--- azemu log (tail) ---\n{tail}" if tail else "")

    def apply(self, *extra: str, check: bool = True):
        return self.run("apply", "-auto-approve", "-no-color", *extra, check=check)

    def destroy(self):
        return self.run("destroy", "-auto-approve", "-no-color")

    def plan(self) -> tuple[int, dict]:
        """`terraform plan -detailed-exitcode`: (0 no changes | 2 changes, the plan as JSON)."""
        cp = self.run("plan", "-detailed-exitcode", "-no-color", "-out=tfplan", check=False)
        if cp.returncode not in (0, 2):
            raise TerraformError(self.describe(cp))
        shown = self.run("show", "-json", "tfplan")
        self.last_plan_text = cp.stdout
        return cp.returncode, json.loads(shown.stdout)

    def assert_no_changes(self):
        code, plan = self.plan()
        assert code == 0, "expected no changes, terraform plan says:\n" + self.last_plan_text
        return plan

    def state_list(self) -> list[str]:
        cp = self.run("state", "list", check=False)
        return cp.stdout.split() if cp.returncode == 0 else []

    def state_show(self, address: str) -> dict:
        """The state's attributes of one resource."""
        state = json.loads(self.run("show", "-json").stdout)
        for res in _walk_resources(state.get("values", {}).get("root_module", {})):
            if res["address"] == address:
                return res["values"]
        raise AssertionError(f"{address} is not in the state: {self.state_list()}")

    def outputs(self) -> dict:
        return {k: v["value"] for k, v in json.loads(self.run("output", "-json").stdout).items()}


def _walk_resources(module: dict):
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _walk_resources(child)


def arm_env(emulator: Emulator, sub: Subscription) -> dict:
    """The ARM_* environment an empty `provider "azurerm" { features {} }` is configured by."""
    return {
        "ARM_METADATA_HOSTNAME": emulator.host,
        "ARM_TENANT_ID": sub.tenant,
        "ARM_SUBSCRIPTION_ID": sub.id,
        "ARM_CLIENT_ID": emulator.health["clientId"],
        "ARM_CLIENT_SECRET": CLIENT_SECRET,
    }


@pytest.fixture
def terraform(terraform_bin, emulator, subscription, tmp_path):
    """terraform(version=LATEST, wiring="block"): a Terraform working directory in a fresh
    subscription. Resources left behind go with the subscription."""
    made = []

    def make(version: str = LATEST, wiring: str = "block", name: str = "tf") -> Terraform:
        d = tmp_path / f"{name}-{version}"
        d.mkdir()
        tf = Terraform(terraform_bin, version, d, emulator, subscription, wiring)
        made.append(tf)
        return tf

    yield make


# --------------------------------------------------------------------------------------
# az, for the flows that mix Terraform with the Azure CLI


class Az:
    def __init__(self, env: dict, cwd: Path, emulator: Emulator):
        self.env, self.cwd, self.emulator = env, cwd, emulator
        self.log_path = cwd / "az-commands.log"

    def run(self, *args: str, check: bool = True):
        args = [str(a) for a in args]
        if "-o" not in args and "--output" not in args:
            args += ["-o", "json"]
        start = time.monotonic()
        cp = subprocess.run([str(AZ_EXE), *args], env=self.env, cwd=self.cwd, capture_output=True, text=True,
                            timeout=600, stdin=subprocess.DEVNULL)
        with open(self.log_path, "a") as f:
            f.write(f"$ az {shlex.join(args)}  # rc={cp.returncode} {time.monotonic() - start:.1f}s\n{cp.stderr}")
        if check and cp.returncode != 0:
            raise AssertionError(f"az {shlex.join(args)} failed ({cp.returncode}):\n{cp.stdout}\n{cp.stderr}\n"
                                 f"--- azemu log (tail) ---\n{self.emulator.log_tail()}")
        return cp

    def __call__(self, *args: str):
        out = self.run(*args).stdout
        return json.loads(out) if out.strip() and "-o" not in args else out.strip()


@pytest.fixture(scope="session")
def az_session(emulator, tmp_path_factory):
    """An az registered against azemu (its own config dir and HOME)."""
    if not AZ_EXE.exists():
        pytest.fail(f"{AZ_EXE} not found: run scripts/compat-setup.sh first", pytrace=False)
    base = tmp_path_factory.mktemp("az")
    (base / "home").mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AZURE_", "ARM_")) and k not in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    env.update({
        "HOME": str(base / "home"),
        "AZURE_CONFIG_DIR": str(base / "config"),
        "REQUESTS_CA_BUNDLE": emulator.ca,
        "AZURE_CORE_INSTANCE_DISCOVERY": "false",
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_CORE_SURVEY_MESSAGE": "false",
        "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no",
    })
    az = Az(env, base, emulator)
    az.run("cloud", "register", "-n", "azemu", "--endpoint-resource-manager", emulator.url, "-o", "none")
    az.run("cloud", "set", "-n", "azemu", "-o", "none")
    return az


@pytest.fixture
def az(az_session, subscription, emulator):
    """az logged in (again, so it lists the test's new subscription) with that subscription selected."""
    az_session.run("login", "--service-principal", "-u", emulator.health["clientId"], "-p", CLIENT_SECRET,
                   "--tenant", subscription.tenant, "-o", "none")
    az_session.run("account", "set", "-s", subscription.id, "-o", "none")
    return az_session


# --------------------------------------------------------------------------------------
# reporting


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if MEASUREMENTS:
        terminalreporter.section("terraform: measured")
        for m in MEASUREMENTS:
            terminalreporter.write_line(json.dumps(m))
        report = os.environ.get("AZEMU_TF_REPORT")
        if report:
            with open(report, "a") as f:
                for m in MEASUREMENTS:
                    f.write(json.dumps(m) + "\n")
    if exitstatus not in (0, 5):
        base = getattr(config, "_tmp_path_factory", None)
        if base is not None:
            terminalreporter.write_line(
                f"terraform: logs are under {base.getbasetemp()} "
                "(azemu*/azemu.log, */terraform-commands.log, az*/az-commands.log)")
