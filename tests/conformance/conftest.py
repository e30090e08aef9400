"""Conformance suite session setup: the API reference and a running azemu.

  * The reference (swagger 2.0 files with x-ms-examples) is read at run time from
    $AZEMU_API_REFERENCE, default `../shared/api-reference` relative to the repo root.
    A missing reference FAILS the run: CI must never skip this suite.
  * azemu is started from $AZEMU_BIN (default target/debug/azemu) as
    `azemu serve --port 0 --data-dir <tmp> --no-auth [--lro-duration D]`, and the suite
    waits for its ready line `azemu ready: URL (CA: PATH)`; TLS is verified with that CA.
    $CONFORMANCE_LRO_DURATION (default 200ms) is passed as --lro-duration so that
    long-running operations really go through Azure-AsyncOperation / Location polling.
    To test an azemu that is already running, set AZEMU_URL and AZEMU_CA instead.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import azemu_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LRO_DURATION = "200ms"


def reference_root() -> Path:
    raw = os.environ.get("AZEMU_API_REFERENCE") or str(ROOT / ".." / "shared" / "api-reference")
    p = Path(raw)
    if not p.is_absolute():
        p = ROOT / p
    return p.resolve()


@pytest.fixture(scope="session")
def api_reference() -> Path:
    """The reference root; fails (never skips) when it is missing."""
    root = reference_root()
    spec = root / "specification"
    if not spec.is_dir():
        pytest.fail(
            f"API reference not found at {root} (no specification/ folder). Set AZEMU_API_REFERENCE "
            "to the folder holding the Azure REST API specs (default ../shared/api-reference "
            "beside the repo). The conformance suite must run; it is never skipped.",
            pytrace=False,
        )
    return root


# --------------------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status: int, headers: dict[str, str], raw: bytes):
        self.status = status
        self.headers = headers      # lower-case names
        self.raw = raw

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", errors="replace")

    def json(self):
        if not self.raw.strip():
            return None
        return json.loads(self.raw)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Client:
    """A small keep-alive HTTPS (or HTTP) client for one base URL."""

    def __init__(self, base_url: str, ca: str | None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.ctx = ssl.create_default_context(cafile=ca) if self.scheme == "https" else None
        self.timeout = timeout
        self._conn = None
        self._lock = threading.Lock()

    def _connect(self):
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.netloc, timeout=self.timeout, context=self.ctx)
        return http.client.HTTPConnection(self.netloc, timeout=self.timeout)

    def request(self, method: str, path_or_url: str, body=None, headers: dict | None = None) -> Response:
        """path_or_url: '/subscriptions/...?...' or an absolute URL on the same server."""
        if path_or_url.startswith(("http://", "https://")):
            parts = urlsplit(path_or_url)
            if parts.netloc != self.netloc:
                raise AssertionError(f"{path_or_url} is not on the emulator ({self.netloc})")
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        else:
            target = path_or_url
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif method in ("PUT", "POST", "PATCH"):
            data = b""
        hdrs.update(headers or {})
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = self._connect()
                try:
                    self._conn.request(method, target, body=data, headers=hdrs)
                    r = self._conn.getresponse()
                    raw = r.read()
                    return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, raw)
                except (http.client.HTTPException, ConnectionError, OSError):
                    self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------
# azemu process


class Emulator:
    def __init__(self, url: str, ca: str | None, proc: subprocess.Popen | None, log_path: Path | None):
        self.url = url.rstrip("/")
        self.ca = ca
        self.proc = proc
        self.log_path = log_path
        self.client = Client(self.url, ca)

    def log_tail(self, n: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture(scope="session")
def emulator(tmp_path_factory) -> Emulator:
    """A running azemu (no auth, LROs taking CONFORMANCE_LRO_DURATION), or an external one from $AZEMU_URL."""
    try:
        with azemu_process.session(tmp_path_factory, ["--no-auth", "--lro-duration", os.environ.get("CONFORMANCE_LRO_DURATION", DEFAULT_LRO_DURATION)], require_ca=False) as (url, ca, proc, log_path):
            yield Emulator(url, ca, proc, log_path)
    except azemu_process.StartError as e:
        pytest.exit(str(e), 2)


@pytest.fixture(scope="session")
def health(emulator) -> dict:
    r = emulator.client.request("GET", "/_azemu/health")
    assert r.status == 200, f"GET /_azemu/health answered {r.status}: {r.text}"
    h = r.json()
    assert h.get("subscriptionId"), f"health response lacks subscriptionId: {h}"
    return h
