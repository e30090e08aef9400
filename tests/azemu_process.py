"""Starting and stopping an azemu process for the Python suites (tests/compat, tests/conformance).

`start` runs `azemu serve --port 0` with a fresh data dir under `tmp`, copies its output to
`tmp/azemu.log` for the whole session (so the pipe never fills up), and returns once azemu
printed its ready line `azemu ready: URL (CA: PATH)`.
"""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY_RE = re.compile(r"azemu ready: (\S+) \(CA: ([^)]+)\)")
READY_TIMEOUT_S = 30.0


class StartError(RuntimeError):
    pass


def binary() -> Path:
    """The azemu binary: $AZEMU_BIN, default target/debug/azemu."""
    path = Path(os.environ.get("AZEMU_BIN", ROOT / "target" / "debug" / "azemu"))
    return path if path.is_absolute() else ROOT / path


def start(tmp: Path, extra_args: list[str]) -> tuple[subprocess.Popen, str, str | None, Path]:
    """Starts azemu; returns (process, url, CA path or None for plain HTTP, log path)."""
    bin_path = binary()
    if not bin_path.exists():
        raise StartError(f"azemu binary not found at {bin_path} (build it with `cargo build` or set AZEMU_BIN)")
    data_dir = tmp / "data"
    data_dir.mkdir()
    log_path = tmp / "azemu.log"
    log = open(log_path, "w", buffering=1)
    proc = subprocess.Popen(
        [str(bin_path), "serve", "--port", "0", "--data-dir", str(data_dir), "--audit-refusals", *extra_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        bufsize=1,
        cwd=str(tmp),
    )
    found: dict[str, str] = {}
    ready = threading.Event()

    def pump():
        for line in proc.stdout:
            log.write(line)
            if not ready.is_set():
                m = READY_RE.search(line)
                if m:
                    found["url"], found["ca"] = m.group(1), m.group(2).strip()
                    ready.set()
        log.close()
        ready.set()

    threading.Thread(target=pump, name="azemu-log", daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready.wait(0.1):
        if time.monotonic() > deadline:
            break
    if "url" not in found:
        stop(proc)
        time.sleep(0.2)
        tail = log_path.read_text(errors="replace")[-4000:] if log_path.exists() else ""
        raise StartError(
            f"azemu did not print its ready line within {READY_TIMEOUT_S:.0f}s (exit code {proc.poll()}); output:\n{tail}"
        )
    ca = found["ca"]
    return proc, found["url"], None if ca.startswith("none") else ca, log_path


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM (azemu shuts down gracefully), then SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def session(tmp_path_factory, extra_args: list[str], require_ca: bool = True):
    """An azemu for a test session: the running one named by $AZEMU_URL (+ $AZEMU_CA), or one
    started here and stopped afterwards. Yields (url, ca, process or None, log path or None)."""
    url = os.environ.get("AZEMU_URL")
    if url:
        ca = os.environ.get("AZEMU_CA")
        if require_ca and not ca:
            raise StartError("AZEMU_URL is set but AZEMU_CA is not")
        yield url, ca, None, None
        return
    proc, url, ca, log_path = start(tmp_path_factory.mktemp("azemu"), extra_args)
    try:
        yield url, ca, proc, log_path
    finally:
        stop(proc)
