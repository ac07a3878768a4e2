"""The offline plan: run the real program under Pulumi's mock engine and record every resource.

What is recorded is what the engine would receive from ``pulumi up``: each registration's type,
name, parent, provider, dependencies (explicit ``depends_on`` and the implicit ones that come from
passing Outputs) and inputs, with secret values replaced by ``"[secret]"``.

Stack configuration is assembled the way the Pulumi CLI does it (:mod:`plan.stack_config`):
``Pulumi.yaml`` defaults, then the stack file read as yaml.v3 reads it, each value handed to the
program as the string the CLI would pass. ``secure:`` values cannot be decrypted here, so they get an
offline placeholder that is still marked secret.
"""

from __future__ import annotations

import json
import runpy
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from plan import stack_config as stack_configuration
from plan.mocks import RealisticMocks
from plan.stack_config import Secure as Secure  # re-exported: tests and plan/ use harness.Secure
from plan.stack_config import StackConfigError as StackConfigError

ROOT = Path(__file__).resolve().parent.parent

_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass
class Plan:
    """Every resource one run of the program registered, in a stable order."""

    stack: str
    resources: list[dict[str, Any]]
    seconds: float = 0.0
    placeholders: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_name = {r["name"]: r for r in self.resources}

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self._by_name[name]

    def of_type(self, typ: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == typ]

    def one(self, typ: str) -> dict[str, Any]:
        found = self.of_type(typ)
        assert len(found) == 1, f"expected one {typ}, found {[r['name'] for r in found]}"
        return found[0]

    def requires(self, name: str) -> set[str]:
        """Everything ``name`` waits for on create (and outlives it on destroy): dependencies,
        parents and providers, transitively."""
        seen: set[str] = set()
        todo = [name]
        while todo:
            r = self._by_name[todo.pop()]
            for nxt in [*r["dependsOn"], r["parent"], r["provider"]]:
                if nxt and nxt not in seen and nxt in self._by_name:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def to_json(self) -> str:
        return json.dumps({"stack": self.stack, "resources": self.resources}, indent=2, sort_keys=True) + "\n"

    def tree(self) -> str:
        children: dict[str | None, list[dict[str, Any]]] = {}
        for r in self.resources:
            children.setdefault(r["parent"], []).append(r)
        lines: list[str] = []

        def walk(parent: str | None, prefix: str) -> None:
            kids = children.get(parent, [])
            for i, r in enumerate(kids):
                last = i == len(kids) - 1
                lines.append(f"{prefix}{'└─ ' if last else '├─ '}{r['type']}  {r['name']}")
                walk(r["name"], prefix + ("   " if last else "│  "))

        lines.append(f"pulumi:pulumi:Stack  {pulumi_project()}-{self.stack}")
        walk(None, "")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# Stack configuration, as the CLI assembles it
# --------------------------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    """YAML through libyaml when PyYAML has it (several times faster than the pure-Python parser)."""
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def pulumi_project(root: Path = ROOT) -> str:
    return stack_configuration.project_file(root)["name"]


def stacks_folder(root: Path = ROOT, stacks_dir: Path | None = None) -> Path:
    """Where stack files live: ``stacks_dir`` when given (tests keep their own fixture stacks in
    tests/stacks/), else ``Pulumi.yaml``'s ``stackConfigDir`` as the CLI reads it."""
    return stack_configuration.stacks_folder(root, stacks_dir)


def stack_names(root: Path = ROOT, stacks_dir: Path | None = None) -> list[str]:
    """Every ``Pulumi.<name>.yaml`` in the stacks folder, sorted."""
    return stack_configuration.stack_names(root, stacks_dir)


def stack_config(
    stack: str, overrides: dict[str, Any] | None = None, root: Path = ROOT, stacks_dir: Path | None = None
) -> tuple[dict[str, str], list[str], list[str]]:
    """(config strings, secret keys, keys given offline placeholders) for ``stack``, read from
    ``stacks_dir`` (default: the project's stackConfigDir) and assembled as the CLI does
    (:func:`plan.stack_config.assemble`).

    Offline only: a secret key of the settings model that the stack file does not set (it is set on
    the deployer's machine, or in an ESC environment) gets a placeholder that stays marked secret.
    """
    from components.settings import config_fields, config_key

    config, secret_keys, placeholders = stack_configuration.assemble(stack, overrides, root, stacks_dir)
    for name, decl in config_fields().items():
        key = config_key(name)
        if decl["secret"] and "default" not in decl and key not in config:
            config[key] = f"offline-placeholder:{key}"
            secret_keys = sorted({*secret_keys, key})
            placeholders = sorted({*placeholders, key})
    return config, secret_keys, placeholders


def settings_for(
    stack: str, overrides: dict[str, Any] | None = None, root: Path = ROOT, stacks_dir: Path | None = None
):
    """The program's validated Settings for ``stack``, from the same config the plan uses."""
    from components import settings as stack_settings

    config, secret_keys, _ = stack_config(stack, overrides, root, stacks_dir)
    prefix = f"{pulumi_project(root)}:"
    raw = {k.removeprefix(prefix): v for k, v in config.items() if k.startswith(prefix)}
    secrets = {k.removeprefix(prefix) for k in secret_keys}
    others = {k: "[secret]" if k in secret_keys else v for k, v in config.items() if not k.startswith(prefix)}
    try:
        return stack_settings.validate(stack, config.get("aws:region"), raw, secrets, others=others)
    except stack_settings.SettingsError as err:
        located = _located(err, stack, root, stacks_dir)
        if located is not err:
            raise located from None
        raise


def _located(err: Exception, stack: str, root: Path, stacks_dir: Path | None) -> Exception:
    """A settings error that names the stack file this run read (``stacks_dir``), not the folder the
    Pulumi CLI would read; any other exception as it is."""
    from components.settings import SettingsError

    if stacks_dir is None or not isinstance(err, SettingsError):
        return err
    path = stacks_folder(root, stacks_dir) / f"Pulumi.{stack}.yaml"
    return SettingsError(err.stack, err.problems, str(path.relative_to(root) if path.is_relative_to(root) else path))


# --------------------------------------------------------------------------------------------------
# Recording the engine's view
# --------------------------------------------------------------------------------------------------


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping every RegisterResource request as the engine would see it."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.requests: list[Any] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        if request.type != "pulumi:pulumi:Stack":
            self.requests.append(request)
        return super().RegisterResource(request)


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _type(urn: str) -> str:
    """The resource's own type: URNs carry the parent type chain, ``Stack$Component$Type``."""
    return urn.split("::")[2].rsplit("$", 1)[-1]


def _clean(value: Any) -> Any:
    """Struct data -> JSON: secrets hidden, unknowns marked, whole numbers as ints."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return "[secret]"
        if sig == _RESOURCE_SIG:
            return {"resource": _name(value.get("urn", ""))}
        return {k: _clean(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if value == _UNKNOWN:
        return "[unknown]"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _record(request: Any) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if request.protect:
        options["protect"] = True
    if request.retainOnDelete:
        options["retainOnDelete"] = True
    if request.deleteBeforeReplace:
        options["deleteBeforeReplace"] = True
    if request.ignoreChanges:
        options["ignoreChanges"] = sorted(request.ignoreChanges)
    if request.replaceOnChanges:
        options["replaceOnChanges"] = sorted(request.replaceOnChanges)
    if request.deletedWith:
        options["deletedWith"] = _name(request.deletedWith)
    if request.additionalSecretOutputs:
        options["additionalSecretOutputs"] = sorted(request.additionalSecretOutputs)
    aliases = [a.spec.name or _name(a.urn) for a in request.aliases] if request.aliases else []
    if aliases:
        options["aliases"] = sorted(aliases)
    return {
        "type": request.type,
        "name": request.name,
        "custom": bool(request.custom),
        "parent": None
        if not request.parent or _type(request.parent) == "pulumi:pulumi:Stack"
        else _name(request.parent),
        # a provider reference is "<urn>::<id>"
        "provider": _name(request.provider.rsplit("::", 1)[0]) if request.provider else None,
        "dependsOn": sorted({_name(u) for u in request.dependencies}),
        "inputs": _clean(json_format.MessageToDict(request.object)),
        "options": options,
    }


# --------------------------------------------------------------------------------------------------
# Running the program
# --------------------------------------------------------------------------------------------------


def run(
    stack: str,
    overrides: dict[str, Any] | None = None,
    root: Path = ROOT,
    first_preview: bool = False,
    stacks_dir: Path | None = None,
) -> Plan:
    """Run ``root/__main__.py`` for ``stack`` (its file in ``stacks_dir``, default the project's
    stackConfigDir) under the mock engine and return what it registered.

    Raises the program's own exceptions (``SettingsError`` for bad config) after the engine has
    settled, with ``registered_resources`` set on the exception: how many got registered before it.
    """
    config, secret_keys, placeholders = stack_config(stack, overrides, root, stacks_dir)
    region = config.get("aws:region", "us-east-1")
    monitor = RecordingMonitor(RealisticMocks(region, first_preview=first_preview))

    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.set_mocks(monitor.mocks, project=pulumi_project(root), stack=stack, preview=True, monitor=monitor)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))

    start = time.perf_counter()
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(root / "__main__.py"), run_name="__main__")))
    except Exception as err:
        located = _located(err, stack, root, stacks_dir)
        located.registered_resources = len(monitor.requests)  # type: ignore[attr-defined]
        if located is not err:
            raise located from None
        raise
    seconds = time.perf_counter() - start

    records = sorted((_record(r) for r in monitor.requests), key=lambda r: r["name"])
    names = Counter(r["name"] for r in records)
    duplicated = sorted(n for n, c in names.items() if c > 1)
    if duplicated:
        raise AssertionError(f"resource names must be unique in a stack (dependsOn uses them): {duplicated}")
    return Plan(stack=stack, resources=records, seconds=seconds, placeholders=placeholders)
