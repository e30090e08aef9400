"""Reading the official API reference (swagger 2.0 + x-ms-examples) at run time.

Nothing here is copied from the reference: every file is read from the folder named by
$AZEMU_API_REFERENCE (default ../shared/api-reference beside the repo root).

  * `discover(root)` walks every swagger file under `specification/` and returns one
    `Operation` per path + method, with its examples (the `x-ms-examples` of the operation,
    plus any example file in the spec's `examples/` folder whose own `operationId` names
    the operation but that the spec forgot to reference).
  * `example_only_operations(root, ...)` returns operations known only from example files
    (a provider folder that ships examples but not its swagger): their path template comes
    from a small table in `test_examples.py`, and they are checked for status only.
  * `SchemaBundle` turns a response schema into one self-contained draft-4 JSON schema:
    every `$ref` (across files) is copied under `definitions` and pointed at locally.
    While copying it applies the loose reading the suite uses for response models:
    `required` lists are dropped (examples omit required members freely), `readOnly` is
    ignored (jsonschema ignores it anyway). Nulls follow the rule of Microsoft's validator
    (oav): a value may be null where `x-nullable: true`, and also, unless `x-nullable: false`,
    where it is an optional property, an array item or an additionalProperties value.
    Enums: a plain enum is checked exactly; an extensible one (`x-ms-enum.modelAsString`)
    accepts other values but not a listed value in another casing.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from jsonschema import Draft4Validator, ValidationError, validators

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head")


# --------------------------------------------------------------------------------------
# files and JSON pointers


class JsonFiles:
    """Parsed JSON files, each read once."""

    def __init__(self):
        self._cache: dict[Path, object] = {}

    def load(self, path: Path):
        path = Path(os.path.normpath(path))
        if path not in self._cache:
            with open(path, encoding="utf-8-sig") as f:
                self._cache[path] = json.load(f)
        return self._cache[path]


def json_pointer(doc, fragment: str):
    """Resolves '#/a/b~1c' (or '/a/b', or '') inside doc."""
    frag = fragment[1:] if fragment.startswith("#") else fragment
    node = doc
    if not frag:
        return node
    for raw in frag.lstrip("/").split("/"):
        key = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(key)]
        else:
            node = node[key]
    return node


def split_ref(ref: str, base_file: Path) -> tuple[Path, str]:
    """'../x.json#/definitions/Y' relative to base_file -> (absolute file, '#/definitions/Y')."""
    file_part, _, frag = ref.partition("#")
    target = base_file if not file_part else Path(os.path.normpath(base_file.parent / file_part))
    return target, "#" + frag


# --------------------------------------------------------------------------------------
# operations and examples


@dataclass
class Example:
    name: str              # the example file's stem, unique within a provider
    title: str             # the x-ms-examples key
    file: Path
    data: dict             # parsed example file
    referenced: bool       # False when attached by its own operationId only

    @property
    def parameters(self) -> dict:
        return self.data.get("parameters") or {}

    @property
    def responses(self) -> dict:
        return self.data.get("responses") or {}


@dataclass
class Parameter:
    name: str
    location: str          # path, query, header, body
    required: bool
    skip_url_encoding: bool
    raw: dict


@dataclass
class Operation:
    provider: str          # e.g. Microsoft.ContainerService
    spec_file: Path | None
    api_version: str
    path: str              # path template as in the spec (query part of x-ms-paths removed)
    method: str            # upper case
    operation_id: str
    op: dict               # the operation object (responses etc.); {} for example-only ops
    parameters: list[Parameter] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)

    @property
    def long_running(self) -> bool:
        return bool(self.op.get("x-ms-long-running-operation"))

    @property
    def has_spec(self) -> bool:
        return self.spec_file is not None

    def param(self, location: str) -> list[Parameter]:
        return [p for p in self.parameters if p.location == location]

    def response_schema(self, status: int):
        """(found, schema-or-None) for a status code, from the spec's responses."""
        resp = (self.op.get("responses") or {}).get(str(status))
        if resp is None:
            return False, None
        return True, resp.get("schema")

    @property
    def key(self) -> tuple[str, str]:
        return self.provider, self.operation_id


def provider_of(spec_file: Path, spec_root: Path) -> str:
    """specification/<service>/resource-manager/<Namespace>/... -> <Namespace>."""
    parts = spec_file.relative_to(spec_root).parts
    if len(parts) > 2 and parts[1] == "resource-manager":
        return parts[2]
    return parts[0]


def _resolve_param(files: JsonFiles, spec_file: Path, p: dict) -> tuple[dict, Path]:
    seen = 0
    base = spec_file
    while "$ref" in p and seen < 10:
        target, frag = split_ref(p["$ref"], base)
        p = json_pointer(files.load(target), frag)
        base = target
        seen += 1
    return p, base


def _is_swagger(doc) -> bool:
    return isinstance(doc, dict) and "swagger" in doc and ("paths" in doc or "x-ms-paths" in doc)


def spec_files(root: Path) -> list[Path]:
    spec_root = root / "specification"
    out = []
    for dirpath, dirnames, filenames in os.walk(spec_root):
        dirnames[:] = sorted(d for d in dirnames if d != "examples")
        for fn in sorted(filenames):
            if fn.endswith(".json"):
                out.append(Path(dirpath) / fn)
    return out


def discover(root: Path, files: JsonFiles | None = None) -> list[Operation]:
    """Every operation of every swagger file under root/specification, with its examples."""
    files = files or JsonFiles()
    spec_root = root / "specification"
    ops: list[Operation] = []
    for spec_file in spec_files(root):
        doc = files.load(spec_file)
        if not _is_swagger(doc):
            continue
        provider = provider_of(spec_file, spec_root)
        version = str((doc.get("info") or {}).get("version", ""))
        file_ops: list[Operation] = []
        for section in ("paths", "x-ms-paths"):
            for raw_path, item in (doc.get(section) or {}).items():
                path = raw_path.split("?", 1)[0]
                common = item.get("parameters") or []
                for method, op in item.items():
                    if method.lower() not in HTTP_METHODS:
                        continue
                    params = []
                    by_key = {}
                    for p in list(common) + list(op.get("parameters") or []):
                        rp, _ = _resolve_param(files, spec_file, p)
                        by_key[(rp.get("name"), rp.get("in"))] = Parameter(
                            name=rp.get("name"),
                            location=rp.get("in"),
                            required=bool(rp.get("required")),
                            skip_url_encoding=bool(rp.get("x-ms-skip-url-encoding")),
                            raw=rp,
                        )
                    params = list(by_key.values())
                    o = Operation(
                        provider=provider,
                        spec_file=spec_file,
                        api_version=version,
                        path=path,
                        method=method.upper(),
                        operation_id=op.get("operationId") or f"{method.upper()} {path}",
                        op=op,
                        parameters=params,
                    )
                    for title, ref in (op.get("x-ms-examples") or {}).items():
                        ex_file = Path(os.path.normpath(spec_file.parent / ref["$ref"]))
                        if not ex_file.exists():
                            # The reference documents these as known gaps; the table
                            # counts them under "example file missing".
                            o.examples.append(Example(ex_file.stem, title, ex_file, {}, True))
                            continue
                        o.examples.append(Example(ex_file.stem, title, ex_file, files.load(ex_file), True))
                    file_ops.append(o)
        # Example files in this spec's examples/ folder that no operation references but
        # whose operationId names one of them.
        referenced = {e.file for o in file_ops for e in o.examples}
        ex_dir = spec_file.parent / "examples"
        if ex_dir.is_dir():
            by_id = {o.operation_id: o for o in file_ops}
            for ex_file in sorted(ex_dir.glob("*.json")):
                ex_file = Path(os.path.normpath(ex_file))
                if ex_file in referenced:
                    continue
                data = files.load(ex_file)
                target = by_id.get(data.get("operationId") or "")
                if target is not None:
                    target.examples.append(Example(ex_file.stem, data.get("title") or ex_file.stem,
                                                   ex_file, data, False))
        ops.extend(file_ops)
    return ops


def orphan_examples(root: Path, ops: list[Operation], files: JsonFiles | None = None) -> list[tuple[str, Example]]:
    """(provider, example) for example files that no discovered operation holds."""
    files = files or JsonFiles()
    spec_root = root / "specification"
    held = {e.file for o in ops for e in o.examples}
    out = []
    for dirpath, dirnames, filenames in os.walk(spec_root):
        dirnames.sort()
        if Path(dirpath).name != "examples":
            continue
        for fn in sorted(filenames):
            if not fn.endswith(".json"):
                continue
            f = Path(os.path.normpath(Path(dirpath) / fn))
            if f in held:
                continue
            data = files.load(f)
            out.append((provider_of(f, spec_root), Example(f.stem, data.get("title") or f.stem, f, data, False)))
    return out


# --------------------------------------------------------------------------------------
# schemas


_SCHEMA_MAPS = ("properties", "definitions", "patternProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("items", "additionalProperties", "not")


class SchemaBundle:
    """Builds self-contained draft-4 schemas from swagger schema objects."""

    def __init__(self, files: JsonFiles):
        self.files = files
        self.definitions: dict[str, object] = {}
        self._names: dict[tuple[Path, str], str] = {}

    def schema_for(self, schema: dict, base_file: Path) -> dict:
        root = self._convert(schema, base_file)
        # allOf (not a merge): in draft 4 a root `$ref` would hide its sibling `definitions`.
        return {"definitions": self.definitions, "allOf": [root]}

    def _name_for(self, target: Path, frag: str) -> str:
        key = (target, frag)
        name = self._names.get(key)
        if name is None:
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{target.parent.name}.{target.stem}{frag.replace('/', '.')}")
            name = stem
            n = 1
            while name in self.definitions:
                n += 1
                name = f"{stem}_{n}"
            self._names[key] = name
            self.definitions[name] = {}          # placeholder: breaks cycles
            node = json_pointer(self.files.load(target), frag)
            self.definitions[name] = self._convert(node, target)
        return name

    def _nullable_flag(self, node, base_file: Path):
        """x-nullable of a schema node, looking through one $ref."""
        if not isinstance(node, dict):
            return None
        if "x-nullable" in node:
            return node["x-nullable"]
        ref = node.get("$ref")
        if isinstance(ref, str):
            target, frag = split_ref(ref, base_file)
            try:
                t = json_pointer(self.files.load(target), frag)
            except (KeyError, IndexError, ValueError):
                return None
            if isinstance(t, dict):
                return t.get("x-nullable")
        return None

    def _maybe_null(self, converted, original, base_file: Path, default: bool):
        """oav's nullability rule: a member may be null when its x-nullable is true, or when
        x-nullable is unset and `default` holds (an optional property, an array item, an
        additionalProperties value); x-nullable: false always forbids null."""
        flag = self._nullable_flag(original, base_file)
        if flag is False or (flag is None and not default):
            return converted
        if isinstance(converted, dict) and converted.get("anyOf", [{}])[0] == {"type": "null"}:
            return converted
        return {"anyOf": [{"type": "null"}, converted]}

    def _convert(self, node, base_file: Path):
        if isinstance(node, bool) or not isinstance(node, dict):
            return node
        out: dict = {}
        required = node.get("required") if isinstance(node.get("required"), list) else []
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                target, frag = split_ref(v, base_file)
                out["$ref"] = "#/definitions/" + self._name_for(target, frag)
            elif k == "properties" and isinstance(v, dict):
                out[k] = {pk: self._maybe_null(self._convert(pv, base_file), pv, base_file, pk not in required)
                          for pk, pv in v.items()}
            elif k in _SCHEMA_MAPS and isinstance(v, dict):
                out[k] = {pk: self._convert(pv, base_file) for pk, pv in v.items()}
            elif k in _SCHEMA_LISTS and isinstance(v, list):
                out[k] = [self._convert(x, base_file) for x in v]
            elif k in ("items", "additionalProperties") and isinstance(v, dict):
                out[k] = self._maybe_null(self._convert(v, base_file), v, base_file, True)
            elif k in _SCHEMA_ONE and isinstance(v, dict):
                out[k] = self._convert(v, base_file)
            elif k == "required" and isinstance(v, list):
                continue                        # validate types and enums, not required-ness
            elif k == "enum" and isinstance(v, list):
                xms = node.get("x-ms-enum") or {}
                if xms.get("modelAsString"):
                    # An extensible enum: other values are allowed, but a listed value sent
                    # with another casing is not (oav's ENUM_CASE_MISMATCH).
                    out["extensibleEnum"] = copy.deepcopy(v)
                else:
                    out[k] = copy.deepcopy(v)
            elif k == "type" and v == "file":
                continue                        # swagger-only type
            elif k.startswith("x-") or k in ("readOnly", "discriminator", "example", "externalDocs", "format"):
                # `format` is left out: the suite checks types and enums only.
                continue
            else:
                out[k] = copy.deepcopy(v)
        if node.get("x-nullable") is True:
            # In draft 4, keywords beside $ref are ignored, so wrap the whole node.
            return {"anyOf": [{"type": "null"}, out]}
        return out


def _extensible_enum(validator, values, instance, schema):
    if not isinstance(instance, str) or instance in values:
        return
    for v in values:
        if isinstance(v, str) and v.lower() == instance.lower():
            yield ValidationError(f"{instance!r} differs only in case from the enum value {v!r}")
            return


ResponseValidator = validators.extend(Draft4Validator, {"extensibleEnum": _extensible_enum})
