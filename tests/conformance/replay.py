"""Replaying one x-ms-example against azemu.

For each example the `Replayer`:

 1. maps the example's names onto azemu's world (`Mapper`): every subscription id becomes
    azemu's default subscription; every resource group the example names becomes a group
    created for this example (`conf<run>-NNN-<name>`); a few placeholder values that name
    nothing real are replaced (`Mapper.location`, `placeholder`): an unknown `location`
    becomes `westus2`, a `scope` of "scope" becomes the subscription, a role definition
    name that is not a GUID becomes a GUID. Every such rewrite is listed in the report;
 2. creates the prerequisites (`ensure_chain`, `ensure_references`): the groups, every resource on the
    request path that must already exist (the cluster of an agent pool, the identity being
    read, the role assignment being deleted...), one member for a list, and every resource
    the request body references by id that azemu can create (user-assigned identities,
    virtual networks and subnets, registries, role definitions); role assignments without
    `principalType` get a freshly created identity's principalId;
 3. sends the example's request (path template + parameters, its query parameters, its
    body), with `x-azemu-lro: polls=1` so that long-running operations really go through
    Azure-AsyncOperation / Location polling, which is followed to the end;
 4. checks the status against the example's statuses (for long-running operations any of
    200/201/202 when the example lists one of them), validates the body against the spec's
    schema for the status (types and enums; see reference.SchemaBundle), checks that a
    resource's answer names the addressed resource (`id`, `name`, and the example's `type`),
    and, for a long-running operation, that a 202 carries a polling header, that it ended
    `Succeeded`, and (PUT/PATCH) that the resource read afterwards still validates;
 5. cleans up: role assignments and custom role definitions created outside the example's
    resource groups, then the resource groups.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from reference import Example, Operation, ResponseValidator, SchemaBundle

DEFAULT_LOCATION = "westus2"
LRO_HEADER = "x-azemu-lro"
TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ARM_ID_RE = re.compile(r"^/subscriptions/[^/]+/", re.I)
TENANT_ROLE_DEF_RE = re.compile(r"^/providers/Microsoft\.Authorization/roleDefinitions/[^/]+$", re.I)

API = {
    "resources": "2025-04-01",
    "microsoft.containerservice": "2026-08-01",
    "microsoft.managedidentity": "2024-11-30",
    "microsoft.authorization": "2022-04-01",
    "microsoft.containerregistry": "2025-11-01",
    "microsoft.network": "2026-03-01",
}


class ReplayError(Exception):
    """A step before the example's own request failed (a prerequisite or the mapping)."""


@dataclass
class Outcome:
    passed: bool
    reason: str = ""
    status: int | None = None
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    lro: str = ""             # how the long-running operation was followed
    cleanup: list[str] = field(default_factory=list)   # what could not be removed afterwards


@dataclass
class LroResult:
    status: str | None = None   # None: nothing to follow (the operation was already over)
    detail: str = ""
    how: str = ""
    polls: int = 0


def deterministic_guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "azemu-conformance:" + ":".join(parts)))


# --------------------------------------------------------------------------------------
# ARM paths


def split_path(path: str) -> list[str]:
    return [s for s in path.split("?")[0].split("/") if s]


def resource_chain(path: str) -> list[tuple[str, str]]:
    """(resource id, lower-case type path) for each resource a path passes through.

    '/subscriptions/S/resourceGroups/R/providers/NS/a/x/b/y' gives the group, NS/a x and
    NS/a/b y. A trailing odd segment (a collection or an action) is not a resource.
    Extension resources ('.../providers/Microsoft.Authorization/roleAssignments/g') follow
    their scope's resources.
    """
    segs = split_path(path)
    out: list[tuple[str, str]] = []
    i = 0
    prefix = ""
    if len(segs) >= 2 and segs[0].lower() == "subscriptions":
        prefix = f"/subscriptions/{segs[1]}"
        i = 2
        if len(segs) >= 4 and segs[2].lower() == "resourcegroups":
            prefix += f"/resourceGroups/{segs[3]}"
            out.append((prefix, "resourcegroups"))
            i = 4
    while i < len(segs):
        if segs[i].lower() != "providers" or i + 1 >= len(segs):
            break
        ns = segs[i + 1]
        prefix += f"/providers/{ns}"
        i += 2
        types: list[str] = []
        while i + 1 < len(segs) and segs[i].lower() != "providers":
            types.append(segs[i])
            prefix += f"/{segs[i]}/{segs[i + 1]}"
            out.append((prefix, f"{ns}/{'/'.join(types)}".lower()))
            i += 2
        if i < len(segs) and segs[i].lower() != "providers":
            break   # trailing collection/action segment
    return out


# --------------------------------------------------------------------------------------
# mapping example names onto azemu


class Mapper:
    """Rewrites an example's subscription ids, resource groups and placeholders."""

    _SUB_RE = re.compile(r"(?i)(^|/)(subscriptions/)([^/?#\s\"]+)")
    _RG_RE = re.compile(r"(?i)(/resourcegroups/)([^/?#\s\"]+)")

    def __init__(self, subscription: str, seq: int, known_locations: set[str], run: str = ""):
        self.subscription = subscription
        self.seq = seq
        self.run = run
        self.known_locations = known_locations
        self.groups: dict[str, str] = {}     # example name (lower) -> azemu name
        self.notes: list[str] = []

    def group(self, name: str) -> str:
        key = name.lower()
        if key not in self.groups:
            self.groups[key] = f"conf{self.run}-{self.seq:03d}-{name}"[:90].rstrip(".")
        return self.groups[key]

    def string(self, s: str) -> str:
        s = self._SUB_RE.sub(lambda m: m.group(1) + m.group(2) + self.subscription, s)
        s = self._RG_RE.sub(lambda m: m.group(1) + self.group(m.group(2)), s)
        return s

    def location(self, value):
        if isinstance(value, str) and value.replace(" ", "").lower() not in self.known_locations:
            self.notes.append(f"location '{value}' -> '{DEFAULT_LOCATION}'")
            return DEFAULT_LOCATION
        return value

    def body(self, value, top: bool = True):
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                nk = self.string(k) if isinstance(k, str) else k
                if top and k == "location":
                    out[nk] = self.location(v)
                else:
                    out[nk] = self.body(v, top=False)
            return out
        if isinstance(value, list):
            return [self.body(v, top=False) for v in value]
        if isinstance(value, str):
            return self.string(value)
        return value


# --------------------------------------------------------------------------------------
# the replayer


class Replayer:
    def __init__(self, client, subscription: str, bundle: SchemaBundle, known_locations: set[str],
                 lro_spec: str = "polls=1", timeout_s: float = 60.0):
        self.client = client
        self.sub = subscription
        self.bundle = bundle
        self.known_locations = known_locations
        self.lro_spec = lro_spec
        self.timeout_s = timeout_s
        self.seq = 0
        self.run_id = uuid.uuid4().hex[:4]     # keeps group names apart from a previous run's leftovers
        self._validators: dict[int, ResponseValidator] = {}
        self.baseline_assignments = set(self._assignment_ids())
        self.baseline_definitions = set(self._custom_role_ids())

    # ---- small HTTP helpers ---------------------------------------------------------

    def call(self, method: str, path: str, body=None, api: str | None = None, lro: str = "immediate",
             query: dict | None = None):
        q = dict(query or {})
        if api:
            q["api-version"] = api
        url = path + ("?" + urlencode(q) if q else "")
        return self.client.request(method, url, body=body, headers={LRO_HEADER: lro})

    def _api_for(self, resource_id: str) -> str:
        segs = split_path(resource_id)
        lower = [s.lower() for s in segs]
        if "providers" in lower:
            idx = len(lower) - 1 - lower[::-1].index("providers")
            if idx + 1 < len(segs):
                return API.get(lower[idx + 1], API["resources"])
        return API["resources"]

    def _must(self, r, what: str):
        if r.status >= 300:
            raise ReplayError(f"prerequisite {what} failed: {r.status} {r.text[:400]}")
        return r

    def _assignment_ids(self) -> list[str]:
        r = self.call("GET", f"/subscriptions/{self.sub}/providers/Microsoft.Authorization/roleAssignments",
                      api=API["microsoft.authorization"])
        if r.status != 200:
            return []
        return [a["id"] for a in (r.json() or {}).get("value", [])]

    def _custom_role_ids(self) -> list[str]:
        r = self.call("GET", f"/subscriptions/{self.sub}/providers/Microsoft.Authorization/roleDefinitions",
                      api=API["microsoft.authorization"])
        if r.status != 200:
            return []
        return [d["id"] for d in (r.json() or {}).get("value", [])
                if (d.get("properties") or {}).get("type") == "CustomRole"]

    def wait_lro(self, method: str, url: str, resp, deadline: float) -> "LroResult":
        """Follows Azure-AsyncOperation, else Location, else provisioningState, to the end."""
        aso = resp.header("azure-asyncoperation")
        loc = resp.header("location")
        res = LroResult()
        if aso:
            res.how = "Azure-AsyncOperation"
            while True:
                r = self.client.request("GET", aso)
                res.polls += 1
                if r.status != 200:
                    res.status, res.detail = "Failed", f"GET Azure-AsyncOperation answered {r.status}: {r.text[:300]}"
                    return res
                body = r.json() or {}
                st = str(body.get("status", ""))
                if st.lower() in TERMINAL:
                    res.status = st
                    if st.lower() != "succeeded":
                        res.detail = str(body.get("error"))[:400]
                    break
                if time.monotonic() > deadline:
                    res.status, res.detail = "Timeout", f"operation still {st!r} after {self.timeout_s:.0f}s"
                    return res
                self._sleep(r)
            # for a DELETE or POST, the Location (if any) gives the final result
            if loc and res.status.lower() == "succeeded" and method in ("POST", "DELETE"):
                r = self.client.request("GET", loc)
                res.polls += 1
                if r.status >= 400:
                    res.status, res.detail = "Failed", f"GET Location after success answered {r.status}: {r.text[:300]}"
            return res
        if loc and resp.status == 202:
            res.how = "Location"
            while True:
                r = self.client.request("GET", loc)
                res.polls += 1
                if r.status != 202:
                    if r.status >= 400:
                        res.status, res.detail = "Failed", f"GET Location answered {r.status}: {r.text[:300]}"
                    else:
                        res.status = "Succeeded"
                    return res
                if time.monotonic() > deadline:
                    res.status, res.detail = "Timeout", f"Location still 202 after {self.timeout_s:.0f}s"
                    return res
                self._sleep(r)
        if method in ("PUT", "PATCH") and resp.status in (200, 201):
            body = resp.json() if resp.raw else None
            st = _provisioning_state(body)
            if not st or st.lower() in TERMINAL:
                return res
            res.how = "provisioningState"
            while st and st.lower() not in TERMINAL:
                if time.monotonic() > deadline:
                    res.status, res.detail = "Timeout", f"provisioningState still {st!r} after {self.timeout_s:.0f}s"
                    return res
                time.sleep(0.05)
                r = self.client.request("GET", url)
                res.polls += 1
                if r.status != 200:
                    res.status, res.detail = "Failed", f"GET resource while polling answered {r.status}: {r.text[:300]}"
                    return res
                st = _provisioning_state(r.json())
            res.status = st or "Succeeded"
        return res

    @staticmethod
    def _sleep(r):
        try:
            ra = float(r.header("retry-after") or 0)
        except ValueError:
            ra = 0
        time.sleep(min(max(ra, 0.02), 0.25))

    # ---- prerequisites --------------------------------------------------------------

    def ensure_group(self, name: str, location: str = DEFAULT_LOCATION):
        path = f"/subscriptions/{self.sub}/resourcegroups/{quote(name, safe='')}"
        r = self.call("GET", path, api=API["resources"])
        if r.status == 200:
            return
        self._must(self.call("PUT", path, {"location": location}, api=API["resources"]),
                   f"resource group {name}")

    def exists(self, resource_id: str) -> bool:
        r = self.call("GET", resource_id, api=self._api_for(resource_id))
        return r.status == 200

    def create(self, resource_id: str, type_path: str, ctx: "ExampleContext", hint: dict | None = None,
               overlay: dict | None = None) -> bool:
        """Creates one resource azemu models; False when the type is not one we create.
        `hint`: the example's response body (role assignments take their properties from it);
        `overlay`: a request body merged over the minimal one (the state an update starts from)."""
        name = split_path(resource_id)[-1]
        loc = ctx.location
        body = None
        if type_path == "resourcegroups":
            self.ensure_group(name, loc)
            return True
        if type_path == "microsoft.containerservice/managedclusters":
            body = {"location": loc, "identity": {"type": "SystemAssigned"},
                    "properties": {"dnsPrefix": re.sub(r"[^a-zA-Z0-9-]", "", name)[:40] or "dns",
                                   "agentPoolProfiles": [{"name": "nodepool1", "count": 1,
                                                          "vmSize": "Standard_DS2_v2", "osType": "Linux",
                                                          "mode": "System"}]}}
            if ctx.service_principal_cluster:
                # resetServicePrincipalProfile applies to clusters that use a service principal
                del body["identity"]
                body["properties"]["servicePrincipalProfile"] = {
                    "clientId": deterministic_guid(ctx.example.name, "spn"), "secret": "conformance-secret"}
        elif type_path == "microsoft.containerservice/managedclusters/agentpools":
            body = {"properties": {"count": 1, "vmSize": "Standard_DS2_v2", "osType": "Linux", "mode": "User"}}
        elif type_path == "microsoft.containerservice/managedclusters/maintenanceconfigurations":
            if name.lower() == "default":
                body = {"properties": {"timeInWeek": [{"day": "Monday", "hourSlots": [1, 2]}]}}
            else:
                body = {"properties": {"maintenanceWindow": {
                    "schedule": {"weekly": {"intervalWeeks": 1, "dayOfWeek": "Sunday"}},
                    "durationHours": 4, "startTime": "00:00", "utcOffset": "+00:00"}}}
        elif type_path == "microsoft.managedidentity/userassignedidentities":
            body = {"location": loc}
        elif type_path == "microsoft.containerregistry/registries":
            body = {"location": loc, "sku": {"name": "Standard"}}
        elif type_path == "microsoft.network/virtualnetworks":
            body = {"location": loc, "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]}}}
        elif type_path == "microsoft.network/virtualnetworks/subnets":
            ctx.subnet_seq += 1
            body = {"properties": {"addressPrefix": f"10.{240 + ctx.subnet_seq % 15}.0.0/16"}}
        elif type_path == "microsoft.authorization/roledefinitions":
            body = self.role_definition_body(name)
        elif type_path == "microsoft.authorization/roleassignments":
            props = dict(((hint or {}).get("properties") or {}))
            rd = props.get("roleDefinitionId") or \
                f"/subscriptions/{self.sub}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
            self.ensure_role_definition(rd, ctx)
            if not props.get("principalType") or not props.get("principalId"):
                props["principalId"] = ctx.principal(self)
                props["principalType"] = "ServicePrincipal"
            body = {"properties": {"roleDefinitionId": rd, "principalId": props["principalId"],
                                   "principalType": props["principalType"]}}
        else:
            return False
        if overlay and type_path not in ("microsoft.authorization/roleassignments",
                                         "microsoft.authorization/roledefinitions"):
            body = deep_merge(body, overlay)
        r = self.call("PUT", resource_id, body, api=self._api_for(resource_id))
        self._must(r, f"PUT {resource_id}")
        lro = self.wait_lro("PUT", resource_id + f"?api-version={self._api_for(resource_id)}", r,
                            time.monotonic() + self.timeout_s)
        if lro.status not in (None, "Succeeded"):
            raise ReplayError(f"prerequisite PUT {resource_id} ended {lro.status}: {lro.detail}")
        ctx.created.append(resource_id)
        return True

    def role_definition_body(self, guid: str) -> dict:
        return {"properties": {
            "roleName": f"azemu conformance {guid}",
            "type": "CustomRole",
            "description": "Created by the conformance suite as a prerequisite.",
            "assignableScopes": [f"/subscriptions/{self.sub}"],
            "permissions": [{"actions": ["Microsoft.Resources/subscriptions/resourceGroups/read"],
                             "notActions": [], "dataActions": [], "notDataActions": []}],
        }}

    def ensure_role_definition(self, role_definition_id: str, ctx: "ExampleContext"):
        """Makes a role definition id the example names resolvable (a custom role with that GUID)."""
        guid = split_path(role_definition_id)[-1]
        sub_id = f"/subscriptions/{self.sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        if self.exists(sub_id):
            return
        self.create(sub_id, "microsoft.authorization/roledefinitions", ctx)

    def ensure_chain(self, path: str, ctx: "ExampleContext", include_last: bool, hint: dict | None = None,
                     overlay: dict | None = None):
        chain = resource_chain(path)
        if not include_last and chain and len(split_path(chain[-1][0])) == len(split_path(path)):
            chain = chain[:-1]
        for i, (rid, type_path) in enumerate(chain):
            if type_path == "resourcegroups":
                self.ensure_group(split_path(rid)[-1], ctx.location)
                continue
            if self.exists(rid):
                continue
            last = i == len(chain) - 1
            self.create(rid, type_path, ctx, hint if last else None, overlay if last else None)

    def ensure_references(self, body, ctx: "ExampleContext"):
        """Creates what the body references by id, where azemu models the type."""
        for s in sorted(set(_strings(body))):
            if TENANT_ROLE_DEF_RE.match(s):
                self.ensure_role_definition(s, ctx)
                continue
            if not ARM_ID_RE.match(s):
                continue
            chain = resource_chain(s)
            if not chain or len(split_path(chain[-1][0])) != len(split_path(s)):
                continue
            types = [t for _, t in chain]
            if types[-1] == "microsoft.authorization/roledefinitions":
                self.ensure_role_definition(s, ctx)
                continue
            if types[-1] not in CREATABLE_REFERENCES:
                continue
            self.ensure_chain(s, ctx, include_last=True)

    # ---- cleanup --------------------------------------------------------------------

    def cleanup(self, ctx: "ExampleContext"):
        errors = []
        for aid in self._assignment_ids():
            if aid not in self.baseline_assignments:
                r = self.call("DELETE", aid, api=API["microsoft.authorization"])
                if r.status >= 300 and r.status != 404:
                    errors.append(f"DELETE {aid}: {r.status}")
        for name in ctx.mapper.groups.values():
            path = f"/subscriptions/{self.sub}/resourcegroups/{quote(name, safe='')}"
            r = self.call("DELETE", path, api=API["resources"])
            if r.status in (200, 202, 204):
                lro = self.wait_lro("DELETE", path, r, time.monotonic() + self.timeout_s)
                if lro.status not in (None, "Succeeded"):
                    errors.append(f"DELETE {path} ended {lro.status}: {lro.detail}")
            elif r.status != 404:
                errors.append(f"DELETE {path}: {r.status} {r.text[:200]}")
        for did in self._custom_role_ids():
            if did not in self.baseline_definitions:
                r = self.call("DELETE", did, api=API["microsoft.authorization"])
                if r.status >= 300 and r.status != 404:
                    errors.append(f"DELETE {did}: {r.status} {r.text[:200]}")
        return errors

    # ---- one example ----------------------------------------------------------------

    def validator(self, op: Operation, schema: dict) -> ResponseValidator:
        key = id(schema)
        v = self._validators.get(key)
        if v is None:
            v = ResponseValidator(self.bundle.schema_for(schema, op.spec_file))
            self._validators[key] = v
        return v

    def run(self, op: Operation, ex: Example) -> Outcome:
        self.seq += 1
        ctx = ExampleContext(Mapper(self.sub, self.seq, self.known_locations, self.run_id), ex)
        try:
            out = self._run(op, ex, ctx)
        except ReplayError as e:
            out = Outcome(False, f"setup: {e}", notes=ctx.mapper.notes)
        out.cleanup = self.cleanup(ctx)
        return out

    def _run(self, op: Operation, ex: Example, ctx: ExampleContext) -> Outcome:
        m = ctx.mapper
        params = dict(ex.parameters)
        path_names = re.findall(r"\{([^}]+)\}", op.path)
        values: dict[str, str] = {}
        skip_enc = {p.name for p in op.param("path") if p.skip_url_encoding}
        for name in path_names:
            if name not in params:
                raise ReplayError(f"example has no value for path parameter {name!r}")
            v = str(params[name])
            if name == "subscriptionId":
                v = self.sub
            elif name in ("resourceGroupName", "sourceResourceGroupName"):
                v = m.group(v)
            elif name == "location":
                v = m.location(v)
            else:
                v = placeholder(name, v, self.sub, ex, m)
                v = m.string(v)
            values[name] = v
        path = op.path
        for name, v in values.items():
            if name in skip_enc or not op.has_spec and "/" in v:
                rep = v.strip("/")
            else:
                rep = quote(v, safe="")
            path = path.replace("{" + name + "}", rep)
        path = "/" + path.lstrip("/")
        path = re.sub(r"/{2,}", "/", path)

        query = {"api-version": params.get("api-version") or op.api_version}
        for p in op.param("query"):
            if p.name != "api-version" and p.name in params:
                query[p.name] = m.string(str(params[p.name]))
        headers = {}
        for p in op.param("header"):
            if p.name in params:
                headers[p.name] = str(params[p.name])
        body = None
        body_params = op.param("body")
        if body_params:
            if body_params[0].name in params:
                body = m.body(params[body_params[0].name])
        elif not op.has_spec and op.method in ("PUT", "PATCH", "POST"):
            dicts = [v for k, v in params.items() if isinstance(v, dict)]
            if dicts:
                body = m.body(dicts[0])
        if isinstance(body, dict) and isinstance(body.get("location"), str):
            ctx.location = body["location"]

        # prerequisites
        ctx.service_principal_cluster = path.lower().endswith("/resetserviceprincipalprofile")
        is_collection = _is_collection(path)
        chain = resource_chain(path)
        target_is_group = (not is_collection and chain and chain[-1][1] == "resourcegroups")
        # the groups the path names (a group named only inside the body is created with the
        # resource the body references, if any)
        segs_lower = [x.lower() for x in split_path(path)]
        for g in sorted(g for g in m.groups.values() if g.lower() in segs_lower):
            if not (op.method == "PUT" and target_is_group and chain[-1][0].endswith("/" + g)):
                self.ensure_group(g, ctx.location)
        hint = m.body(_example_body(ex))
        if op.method == "PUT" and not UPDATE_TITLE.match(ex.title):
            self.ensure_chain(path, ctx, include_last=False)
        elif op.method == "GET" and is_collection:
            self.ensure_chain(path, ctx, include_last=True)
            self._ensure_member(path, ctx, hint)
        elif op.method == "POST" and is_collection:
            self.ensure_chain(path, ctx, include_last=True)     # an action on the resource before it
        else:
            # reads, deletes, patches, and PUTs whose example updates an existing resource
            # ("Start Agent Pool", "Update Agent Pool"): the target exists first. An update
            # starts from the example's own body (less the power state it changes), so that
            # immutable properties (vmSize...) do not differ.
            overlay = None
            if op.method == "PUT" and isinstance(body, dict):
                overlay = drop_power_state(body)
            self.ensure_chain(path, ctx, include_last=True, hint=hint, overlay=overlay)
        if body is not None:
            body = self._principals(path, body, ctx)
            self.ensure_references(body, ctx)

        # the request
        url = path + "?" + urlencode(query)
        hdrs = {LRO_HEADER: self.lro_spec, **headers}
        resp = self.client.request(op.method, url, body=body, headers=hdrs)
        out = Outcome(True, status=resp.status, notes=m.notes)

        listed = {int(k) for k in ex.responses if str(k).isdigit()}
        allowed = set(listed)
        if op.long_running and allowed & {200, 201, 202}:
            allowed |= {200, 201, 202}
        problems = []
        if resp.status not in allowed:
            problems.append(f"status {resp.status}, example allows {sorted(listed)}: {_error_text(resp)}")
        elif op.has_spec:
            problems += self._schema_problems(op, resp)
            problems += self._identity_problems(op, path, ex, resp)
        if resp.status < 300 and (op.long_running or not op.has_spec):
            if resp.status == 202 and not (resp.header("azure-asyncoperation") or resp.header("location")):
                problems.append("202 Accepted without an Azure-AsyncOperation or Location header")
            lro = self.wait_lro(op.method, url, resp, time.monotonic() + self.timeout_s)
            if lro.how:
                out.lro = f"{lro.how}, {lro.polls} poll(s), {lro.status}"
            if lro.status is not None and lro.status != "Succeeded":
                problems.append(f"long-running operation ended {lro.status}: {lro.detail}")
            elif op.method in ("PUT", "PATCH") and op.has_spec and not problems:
                # the resource once the operation is over, read as the operation's 200 body
                final = self.client.request("GET", url)
                if final.status != 200:
                    problems.append(f"GET after the operation answered {final.status}: {_error_text(final)}")
                else:
                    if _provisioning_state(final.json()).lower() not in ("succeeded", ""):
                        problems.append(f"after the operation, provisioningState is "
                                        f"{_provisioning_state(final.json())!r}")
                    problems += [f"after the operation, {p}" for p in self._schema_problems(op, final, 200)]
        if problems:
            out.passed = False
            out.reason = problems[0]
            out.detail = "\n".join(problems)
        return out

    def _identity_problems(self, op: Operation, path: str, ex: Example, resp) -> list[str]:
        """A resource's answer names the resource the request addressed: `id` is the request
        path and `name` its last segment (ignoring case), and `type` is the example's."""
        if op.method not in ("GET", "PUT", "PATCH") or _is_collection(path):
            return []
        try:
            got = resp.json()
        except ValueError:
            return []
        if not isinstance(got, dict):
            return []
        out = []
        want_id = "/" + "/".join(split_path(path))
        if isinstance(got.get("id"), str) and got["id"].lower() != want_id.lower():
            out.append(f"id is {got['id']!r}, the request addressed {want_id!r}")
        if isinstance(got.get("name"), str) and got["name"].lower() != split_path(path)[-1].lower():
            out.append(f"name is {got['name']!r}, the request addressed {split_path(path)[-1]!r}")
        want = ex.responses.get(str(resp.status)) or ex.responses.get("200") or {}
        want_type = (want.get("body") or {}).get("type") if isinstance(want, dict) else None
        if isinstance(want_type, str) and isinstance(got.get("type"), str) and \
                got["type"].lower() != want_type.lower():
            out.append(f"type is {got['type']!r}, the example's answer has {want_type!r}")
        return out

    def _schema_problems(self, op: Operation, resp, as_status: int | None = None) -> list[str]:
        status = as_status or resp.status
        found, schema = op.response_schema(status)
        if not found and status in (200, 201):
            # LRO leniency: a status the spec does not list; read it as the spec's 200/201.
            for alt in (200, 201):
                found, schema = op.response_schema(alt)
                if found:
                    break
        if not schema:
            return []
        try:
            body = resp.json()
        except ValueError:
            return [f"schema: body is not JSON: {resp.text[:200]!r}"]
        if body is None:
            return [f"schema: empty body, the spec describes a body for {status}"]
        errs = sorted(self.validator(op, schema).iter_errors(body), key=lambda e: list(e.absolute_path))
        out = []
        for e in _leaf_errors(errs)[:5]:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            out.append(f"schema: at {where}: {e.message[:300]}")
        return out

    def _ensure_member(self, path: str, ctx: ExampleContext, hint):
        """For a list, one member (named as the example's first listed item) so that items get
        validated too."""
        segs = split_path(path)
        ns_idx = max((i for i, s in enumerate(segs) if s.lower() == "providers"), default=None)
        if ns_idx is None or ns_idx + 2 >= len(segs):
            return          # /subscriptions/S/providers, .../resources, .../resourcegroups
        ns = segs[ns_idx + 1].lower()
        types = [segs[i] for i in range(ns_idx + 2, len(segs), 2)]
        type_path = f"{ns}/{'/'.join(types)}".lower()
        first = None
        if isinstance(hint, dict) and isinstance(hint.get("value"), list) and hint["value"]:
            first = hint["value"][0] if isinstance(hint["value"][0], dict) else None
        name = first.get("name") if first and isinstance(first.get("name"), str) else None
        name = name.split("/")[-1] if name else None
        if type_path == "microsoft.authorization/roleassignments" and not (name and GUID_RE.match(name)):
            name = deterministic_guid(ctx.example.name, "member")
        if type_path == "microsoft.authorization/roledefinitions":
            return          # built-in roles are always there
        member = path.split("?")[0].rstrip("/") + "/" + (name or "conformance1")
        if not resource_chain(path) and type_path.count("/") == 1 and \
                type_path != "microsoft.authorization/roleassignments":
            # a list across the subscription: the member lives in a resource group
            rg_id = first.get("id") if first and isinstance(first.get("id"), str) else ""
            m = re.search(r"(?i)/resourcegroups/([^/]+)", rg_id)
            group = m.group(1) if m else ctx.mapper.group("rg1")
            self.ensure_group(group, ctx.location)
            member = (f"/subscriptions/{self.sub}/resourceGroups/{group}/providers/"
                      + "/".join(segs[ns_idx + 1:]) + "/" + (name or "conformance1"))
        if self.exists(member):
            return
        self.create(member, type_path, ctx, hint=first)

    def _principals(self, path: str, body, ctx: ExampleContext):
        """Role assignment bodies: keep principalId when principalType is given, else use an
        identity created for the example."""
        chain = resource_chain(path)
        if not chain or chain[-1][1] != "microsoft.authorization/roleassignments" or not isinstance(body, dict):
            return body
        props = body.get("properties")
        if isinstance(props, dict) and not props.get("principalType"):
            props["principalId"] = ctx.principal(self)
            ctx.mapper.notes.append("principalId -> a user-assigned identity created for the example")
        return body


UPDATE_TITLE = re.compile(r"(?i)^(start|stop|update)\b")

CREATABLE_REFERENCES = {
    "microsoft.managedidentity/userassignedidentities",
    "microsoft.network/virtualnetworks",
    "microsoft.network/virtualnetworks/subnets",
    "microsoft.containerregistry/registries",
}


class ExampleContext:
    def __init__(self, mapper: Mapper, ex: Example):
        self.mapper = mapper
        self.example = ex
        self.location = DEFAULT_LOCATION
        self.created: list[str] = []
        self.subnet_seq = 0
        self.service_principal_cluster = False
        self._principal: str | None = None

    def principal(self, rp: Replayer) -> str:
        if self._principal is None:
            rg = self.mapper.group("principals")
            rp.ensure_group(rg, self.location)
            rid = (f"/subscriptions/{rp.sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/"
                   f"userAssignedIdentities/principal1")
            r = rp.call("PUT", rid, {"location": self.location}, api=API["microsoft.managedidentity"])
            rp._must(r, "identity for a principal")
            self._principal = (r.json() or {}).get("properties", {}).get("principalId")
            if not self._principal:
                raise ReplayError(f"identity has no principalId: {r.text[:300]}")
        return self._principal


# --------------------------------------------------------------------------------------
# helpers


def placeholder(name: str, value: str, sub: str, ex: Example, m: Mapper) -> str:
    """Example values that are placeholders for something that has to be real."""
    if name == "scope" and "/" not in value:
        m.notes.append(f"scope '{value}' -> the subscription")
        return f"subscriptions/{sub}"
    if name in ("roleDefinitionId", "roleAssignmentName") and not GUID_RE.match(value):
        g = deterministic_guid(ex.name, name)
        m.notes.append(f"{name} '{value}' -> a GUID")
        return g
    if name == "roleId" and "/" not in value:
        g = deterministic_guid(ex.name, "roleDefinitionId")
        m.notes.append(f"roleId '{value}' -> a role definition id")
        return f"subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{g}"
    return value


def _provisioning_state(body) -> str:
    if isinstance(body, dict) and isinstance(body.get("properties"), dict):
        return str(body["properties"].get("provisioningState") or "")
    return ""


def deep_merge(base, over):
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base.get(k), v) if k in base else v
        return out
    return over


def drop_power_state(body: dict) -> dict:
    out = dict(body)
    props = out.get("properties")
    if isinstance(props, dict) and "powerState" in props:
        out["properties"] = {k: v for k, v in props.items() if k != "powerState"}
    return out


def _strings(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(k, str):
                yield k
            yield from _strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from _strings(x)
    elif isinstance(v, str):
        yield v


def _is_collection(path: str) -> bool:
    """True when the path ends in a collection or action segment (not at a resource)."""
    segs = split_path(path)
    chain = resource_chain(path)
    if not chain:
        return True
    return len(split_path(chain[-1][0])) != len(segs)


def _example_body(ex: Example):
    for code in ("200", "201"):
        r = ex.responses.get(code)
        if isinstance(r, dict) and "body" in r:
            return r["body"]
    return None


def _error_text(resp) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        e = body["error"]
        return f"{e.get('code')}: {str(e.get('message'))[:300]}"
    return resp.text[:300]


def _leaf_errors(errs):
    """The specific errors under anyOf/oneOf (e.g. the nullable wrapper), skipping the branch
    that only says 'not null'."""
    out = []
    for e in errs:
        if e.validator in ("anyOf", "oneOf", "allOf") and e.context:
            branches = [c for c in e.context if not (c.validator == "type" and c.validator_value == "null")]
            if branches:
                out.extend(_leaf_errors(branches))
                continue
        out.append(e)
    return out
