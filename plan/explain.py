"""``python -m plan explain --from <principal> --to <target> [STACK]``: which layer lets a request through.

Every answer is read back from the *recorded* plan (the objects ``pulumi up`` would send: mesh
permissions, IAM policies, Helm values, Gateway API policies), not from the intent they were built
from, so a layer that drifted from the access model shows up here as the layer that denies.

Principals: ``group:<IdP group>`` (a person), ``client:<client id>`` or ``scope:<scope>`` (a machine
with an IdP access token, :mod:`plan.journey_machine`), ``task:<domain>`` (a domain's task pod) or a
workload of the access model (``airflow-api-server``, ``edge-gateway``...).
Targets: a URL path (``/api/v2/dags``), ``<workload>:<port>`` (``airflow-triggerer:8794``), an exit
``<host>:<port>`` outside the cluster (``api.partner.example.com:443``, ``{database_address}:5432``), an
AWS ``<action> <resource ARN>`` (``"s3:GetObject arn:aws:s3:::bucket/key"``) or ``dag:<dag_id>``; for a
person also ``session`` (the largest accepted session through NGINX, and whose session Airflow serves) and ``logout``
(:mod:`plan.journey_sessions`).

Each :class:`Hop` says allowed or denied and the object that decides (a MeshTrafficPermission or
AuthorizationPolicy name, an IAM statement Sid, an Airflow role, a timeout and where it is set).
The per-provider readers of mesh objects are in :mod:`plan.journey_mesh`.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from components import access_model
from components.access_model import AccessModel
from components.platform import API_SERVER_PORT, OAUTH2_PROXY_PORT
from components.timeouts import ApiCall
from plan import harness, journey_exits, journey_machine, journey_mesh, journey_sessions, journey_timeouts
from plan.hops import Hop

#: Airflow's built-in FAB roles: each reaches every DAG (Viewer reads, the others also edit or run).
BUILTIN_ROLES = ("Admin", "Op", "User", "Viewer")
#: Workload names a target may also be spelled as (Kubernetes Service names of the chart releases).
SERVICE_ALIASES = {"oauth2-proxy": "edge-oauth2-proxy", "airflow-nginx": "edge-gateway"}


class Explainer:
    """Answers journeys on one recorded plan of one stack (its mesh provider read from the settings)."""

    def __init__(self, plan: harness.Plan, settings: Any):
        self.plan = plan
        self.settings = settings
        self.model: AccessModel = access_model.build(settings)
        self.provider: str = settings.mesh_provider

    # --- single layers ------------------------------------------------------------------------
    def mesh(self, source: str, destination: str, port: int) -> Hop:
        """The mesh's decision on ``source`` -> ``destination``:``port``, from its recorded policies."""
        return journey_mesh.decide(self.plan, self.model, self.provider, source, destination, port)

    def iam(self, workload: str, action: str, resource: str) -> Hop:
        """The IAM decision for ``workload``'s role: explicit Deny first, then any Allow (conditions are
        shown, not evaluated). Read from the recorded ``aws:iam/rolePolicy`` of the workload."""
        step = f"{workload}: {action} {resource}"
        policy = self._role_policy(workload)
        if policy is None:
            return Hop("iam", step, False, "no IAM role for this workload", "implicit deny")
        allows = []
        for st in policy["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            if any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
                fnmatch.fnmatchcase(resource, r) for r in resources
            ):
                if st["Effect"] == "Deny":
                    return Hop("iam", step, False, f"IAM statement {st.get('Sid', '?')} (Deny)")
                allows.append(st)
        if not allows:
            return Hop("iam", step, False, f"no statement of {workload}'s role policy", "implicit deny")
        st = allows[0]
        cond = f"if {json.dumps(st['Condition'], sort_keys=True)}" if st.get("Condition") else ""
        return Hop("iam", step, True, f"IAM statement {st.get('Sid', '?')}", cond)

    def airflow_roles(self, group: str) -> list[str]:
        """Airflow roles of a person in IdP ``group`` (the role mapping the api-server is given)."""
        return [role for g, role in self.model.role_mappings if g == group]

    def dag(self, group: str, dag_id: str) -> Hop:
        """Whether a person in ``group`` sees ``dag_id``: built-in roles see every DAG; a domain's role
        only its own (DAG ids ``<domain>_*``, placement by folder: components/airflow/runtime)."""
        roles = self.airflow_roles(group)
        step = f"group {group} -> DAG {dag_id}"
        if not roles:
            return Hop("airflow", step, False, "no AUTH_ROLES_MAPPING entry for the group", "unmapped: no role")
        for role in roles:
            if role in BUILTIN_ROLES:
                return Hop("airflow", step, True, f"Airflow role {role} (every DAG)")
            for domain in self.settings.domains:
                if domain.airflow_role == role and dag_id.startswith(f"{domain.name}_"):
                    return Hop("airflow", step, True, f"Airflow role {role} (DAGs {domain.name}_*)")
        return Hop("airflow", step, False, f"Airflow roles {', '.join(roles)}", "no role reaches this DAG")

    # --- journeys ------------------------------------------------------------------------------
    def person_request(self, group: str, path: str) -> list[Hop]:
        """A person in ``group`` opening ``https://<host><path>``: NLB, gateway, oauth2-proxy, mesh, Airflow."""
        hops = [
            self._nlb(),
            Hop("gateway", f"HTTPS route {path}", True, "HTTPRoute airflow-route (PathPrefix /)"),
            journey_mesh.gateway_addressing(self.plan, self.provider),
            self.mesh("edge-gateway", "edge-oauth2-proxy", OAUTH2_PROXY_PORT),
            self._oauth2_proxy_groups(group),
            self.mesh("edge-oauth2-proxy", "airflow-api-server", API_SERVER_PORT),
        ]
        roles = self.airflow_roles(group)
        hops.append(
            Hop("airflow", f"group {group} -> Airflow roles", bool(roles), "AUTH_ROLES_MAPPING", ", ".join(roles))
        )
        api_call = ApiCall(self.settings.api_call_timeout_seconds)
        hops.extend(journey_timeouts.person_api_call(self.plan, api_call, self.provider))
        return hops

    def explain(self, principal: str, target: str) -> list[Hop]:
        """Every hop from ``principal`` to ``target`` (see the module docstring for the spellings)."""
        if principal.startswith("group:"):
            group = principal.removeprefix("group:")
            if target.startswith("dag:"):
                return [*self.person_request(group, "/dags"), self.dag(group, target.removeprefix("dag:"))]
            if target == "session":
                return [
                    *self.person_request(group, "/oauth2/callback"),
                    *journey_sessions.login_session(self.plan, self.settings),
                    *journey_sessions.session_binding(self.plan),
                ]
            if target == "logout":
                return journey_sessions.person_logout(self.plan)
            if target.startswith("/"):
                return self.person_request(group, target)
            raise ValueError(f"a person's target is a URL path or dag:<id> (or session, logout), not {target!r}")
        if principal.startswith(("client:", "scope:")):
            if not target.startswith("/"):
                raise ValueError(f"a machine's target is a URL path, not {target!r}")
            return journey_machine.machine_request(self, principal, target)
        workload = self._workload(principal)
        if " " in target:
            action, resource = target.split(" ", 1)
            return [self.iam(workload, action, resource.strip())]
        if ":" in target:
            name, port = target.rsplit(":", 1)
            if not port.isdigit() or "/" in name:
                raise ValueError(
                    f"target {target!r}: write <workload>:<port> or <host>:<port> (a port number, no scheme)"
                )
            if SERVICE_ALIASES.get(name, name) not in self.model.workloads and not name.startswith("task:"):
                # Not a workload: an exit from the mesh (plan/journey_exits.py).
                return [journey_exits.decide_exit(self.plan, self.model, self.provider, workload, name, int(port))]
            return [self.mesh(workload, self._workload(name), int(port))]
        raise ValueError(
            f"target {target!r} is none of: /path, dag:<id>, <workload>:<port>, <host>:<port>, '<action> <arn>'"
        )

    # --- helpers -------------------------------------------------------------------------------
    def _workload(self, name: str) -> str:
        if name.startswith("task:"):
            name = f"domain-{name.removeprefix('task:')}"
        name = SERVICE_ALIASES.get(name, name)
        if name not in self.model.workloads:
            raise ValueError(f"unknown workload {name!r}; known: {', '.join(sorted(self.model.workloads))}")
        return name

    def _role_policy(self, workload: str) -> dict[str, Any] | None:
        for r in self.plan.of_type("aws:iam/rolePolicy:RolePolicy"):
            if r["name"].endswith(f"-identity-{workload}-policy"):
                policy = r["inputs"]["policy"]
                return json.loads(policy) if isinstance(policy, str) else policy
        return None

    def _nlb(self) -> Hop:
        (service,) = [r for r in self.plan.of_type("kubernetes:core/v1:Service") if r["name"].endswith("-edge-lb")]
        ranges = service["inputs"]["spec"].get("loadBalancerSourceRanges") or ["any address the scheme allows"]
        name = service["inputs"]["metadata"]["name"]
        return Hop("nlb", "client -> NLB :443", True, f"Service {name}", ", ".join(ranges))

    def _oauth2_proxy_groups(self, group: str) -> Hop:
        options = journey_timeouts.oauth2_proxy_options(self.plan)
        allowed = options.get("allowed_groups")
        step = f"group {group} -> oauth2-proxy login"
        if not allowed:
            return Hop("oauth2-proxy", step, True, "oauth2-proxy (no allowed_groups: any IdP user)")
        return Hop("oauth2-proxy", step, group in allowed, "oauth2-proxy allowed_groups", ", ".join(allowed))


def explain(stack: str, principal: str, target: str, stacks_dir: Any = None) -> list[Hop]:
    """Plan ``stack`` offline and explain ``principal`` -> ``target``."""
    plan = harness.run(stack, stacks_dir=stacks_dir)
    return Explainer(plan, harness.settings_for(stack, stacks_dir=stacks_dir)).explain(principal, target)


def render(hops: list[Hop]) -> str:
    """The hops one per line, then the verdict (the first denying layer, if any)."""
    lines = [h.line() for h in hops]
    denied = [h for h in hops if not h.allowed]
    lines.append(f"=> DENIED at {denied[0].layer}: {denied[0].decided_by}" if denied else "=> ALLOWED end to end")
    return "\n".join(lines)
