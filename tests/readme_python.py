"""Runs the README's Azure SDK for Python snippet, as written, in the environment
`eval "$(azemu env)"` set up, then checks what it did through the same SDK.

    python tests/readme_python.py README.md

scripts/sdk-test.sh runs it with the venv's azure-mgmt-resource (the version azure-cli pins)
and with the newest one (26.x moved the client to `azure.mgmt.resource.resources`).
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import sys


def snippet(readme: str) -> str:
    section = readme.split("## Use it with the Azure SDK for Python", 1)[1]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    if not m:
        raise SystemExit("no python block in the README's Python section")
    return m.group(1)


def main() -> int:
    code = snippet(open(sys.argv[1], encoding="utf-8").read())
    versions = {p: importlib.metadata.version(p) for p in ("azure-mgmt-resource", "azure-identity")}
    print(f"README snippet with {versions}")
    scope: dict = {}
    exec(compile(code, "README.md (Python snippet)", "exec"), scope)
    rm = scope["rm"]
    names = [g.name for g in rm.resource_groups.list()]
    assert "rg" in names, names
    rm.resource_groups.begin_delete("rg").result()
    assert not rm.resource_groups.check_existence("rg")
    assert os.environ.get("REQUESTS_CA_BUNDLE"), "trust came from the environment"
    print("ok: the snippet created rg; deleted again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
