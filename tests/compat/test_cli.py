"""`azemu az` and `azemu doctor` with the real Azure CLI (the venv's az 2.91).

`azemu az ARGS…` runs az in azemu's own configuration folder (`<data dir>/az`), registering the
cloud and logging in on first use: a user's real `~/.azure` is never read or written. Each test
starts its own azemu (`azemu_process.start`) and gives az a scratch HOME.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

import azemu_process
from conftest import AZ_EXE

REAL_LOGIN = {
    "azureProfile.json": '\ufeff{"installationId": "real-install", "subscriptions": [{"id": "11111111-1111-1111-1111-111111111111", '
    '"name": "Production", "state": "Enabled", "user": {"name": "someone@contoso.com", "type": "user"}, '
    '"isDefault": true, "tenantId": "22222222-2222-2222-2222-222222222222", "environmentName": "AzureCloud"}]}',
    "msal_token_cache.json": '{"AccessToken": {"real": {"secret": "a-real-token"}}}',
    "config": "[cloud]\nname = AzureCloud\n\n[core]\noutput = table\n",
    "clouds.config": "[AzureCloud]\nsubscription = 11111111-1111-1111-1111-111111111111\n",
}


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root with the SHA-256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def server(tmp_path):
    proc, url, _ca, _log = azemu_process.start(_mkdir(tmp_path / "server"), [])
    try:
        yield url, tmp_path / "server" / "data"
    finally:
        azemu_process.stop(proc)


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def azemu_cmd(home: Path, data_dir: Path, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `azemu ARGS --data-dir D`-style commands as a user whose HOME is `home`, with the
    venv's az first on PATH and none of azemu's or az's variables set."""
    env = {
        "HOME": str(home),
        "PATH": f"{Path(AZ_EXE).parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
    }
    env.update(env_extra or {})
    cmd = [str(azemu_process.binary()), args[0], "--data-dir", str(data_dir), *args[1:]]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


def test_azemu_az_leaves_a_real_login_untouched(server, tmp_path):
    url, data_dir = server
    home = _mkdir(tmp_path / "home")
    azure = _mkdir(home / ".azure")
    for name, text in REAL_LOGIN.items():
        (azure / name).write_text(text, encoding="utf-8")
    before = tree_digest(azure)

    created = azemu_cmd(home, data_dir, "az", "group", "create", "-n", "cli-rg", "-l", "westus2", "-o", "json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["properties"]["provisioningState"] == "Succeeded"
    listed = azemu_cmd(home, data_dir, "az", "group", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert "cli-rg" in [g["name"] for g in json.loads(listed.stdout)]
    account = azemu_cmd(home, data_dir, "az", "account", "show", "-o", "json")
    assert json.loads(account.stdout)["environmentName"] == "azemu"

    assert tree_digest(azure) == before, "~/.azure changed"
    # What az wrote went to azemu's own folder.
    assert (data_dir / "az" / "azureProfile.json").exists()
    assert (data_dir / "az" / "clouds.config").read_text().count(url) >= 1


def test_azemu_az_logs_in_once_then_reuses_the_login(server, tmp_path):
    _url, data_dir = server
    home = _mkdir(tmp_path / "home")
    first = azemu_cmd(home, data_dir, "az", "group", "list", "-o", "none")
    assert first.returncode == 0, first.stderr
    marker = data_dir / "az" / "azemu-login.json"
    stamp = marker.stat().st_mtime_ns
    second = azemu_cmd(home, data_dir, "az", "group", "list", "-o", "none")
    assert second.returncode == 0, second.stderr
    assert marker.stat().st_mtime_ns == stamp, "no second login"


def test_doctor_checks_the_cli_cloud_and_login(server, tmp_path):
    url, data_dir = server
    home = _mkdir(tmp_path / "home")
    env_out = azemu_cmd(home, data_dir, "env", "--no-az", "--format", "json")
    assert env_out.returncode == 0, env_out.stderr
    client_env = json.loads(env_out.stdout)

    before = azemu_cmd(home, data_dir, "doctor", env_extra=client_env)
    assert before.returncode == 1, before.stdout
    lines = before.stdout.splitlines()
    version = next(l for l in lines if l.startswith("ok") and " az 2." in l)
    assert "2.91" in version
    missing = next(l for l in lines if "has no cloud 'azemu' registered" in l)
    assert missing.startswith("FAIL")
    assert "azemu az account show" in lines[lines.index(missing) + 1]

    assert azemu_cmd(home, data_dir, "az", "account", "show", "-o", "none").returncode == 0
    after = azemu_cmd(home, data_dir, "doctor", env_extra=client_env)
    assert after.returncode == 0, after.stdout
    assert any(l.startswith("ok") and f"points at {url} and is selected" in l for l in after.stdout.splitlines())
    assert any(l.startswith("ok") and "az is logged in to azemu" in l for l in after.stdout.splitlines())

    # The same config dir pointed elsewhere (another port): named, with the fix.
    other = azemu_cmd(home, data_dir, "doctor", "--url", "https://127.0.0.1:1", env_extra=client_env)
    assert other.returncode == 1
    assert "not at https://127.0.0.1:1" in other.stdout


def test_env_prepares_az_so_plain_az_works_after_eval(server, tmp_path):
    """`eval "$(azemu env)"` then plain `az`: env registered the cloud and logged in."""
    _url, data_dir = server
    home = _mkdir(tmp_path / "home")
    env_out = azemu_cmd(home, data_dir, "env", "--format", "json")
    assert env_out.returncode == 0, env_out.stderr
    client_env = json.loads(env_out.stdout)
    env = {"HOME": str(home), "PATH": f"{Path(AZ_EXE).parent}{os.pathsep}/usr/bin{os.pathsep}/bin", **client_env}
    r = subprocess.run([str(AZ_EXE), "group", "create", "-n", "plain-az", "-l", "westus2", "-o", "json"],
                       env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == "plain-az"
    assert not (home / ".azure").exists(), "az used the isolated folder only"
