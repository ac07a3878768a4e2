"""Drive the policy pack exactly as the Pulumi CLI does: start ``policy/__main__.py``, read the port
it prints, and speak the engine's Analyzer gRPC protocol to it (``pulumirpc.Analyzer``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from plan import harness
from policy.rules.model import UNKNOWN, Resource

PACK = harness.ROOT / "policy" / "__main__.py"


def _engine_value(value: Any) -> Any:
    """Plan markers -> what the engine sends: unknowns as the unknown sentinel."""
    if isinstance(value, Mapping):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_engine_value(v) for v in value]
    return UNKNOWN_STRING_VALUE if value == UNKNOWN else value


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(_engine_value(dict(props)))
    return s


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::airflow-mesh::{type_}::{name}"


class Analyzer:
    """The running pack. Use as a context manager; it is stopped on exit."""

    def __enter__(self) -> Analyzer:
        self.process = subprocess.Popen(
            [sys.executable, str(PACK)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=PACK.parent
        )
        assert self.process.stdout is not None
        port = self.process.stdout.readline().decode().strip()
        if not port.isdigit():
            self.process.kill()
            raise RuntimeError(f"policy pack did not start: {port!r} {self.process.stderr.read().decode()}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        return self

    def __exit__(self, *exc: object) -> None:
        self.channel.close()
        self.process.kill()
        self.process.wait(timeout=10)

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        return self.stub.GetAnalyzerInfo(empty_pb2.Empty())

    def configure_stack(self, stack: str, tags: Mapping[str, str] | None = None) -> None:
        request = analyzer_pb2.AnalyzerStackConfigureRequest(stack=stack, project="airflow-mesh", tags=dict(tags or {}))
        self.stub.ConfigureStack(request)

    def _provider(self, stack: str, r: Resource) -> analyzer_pb2.AnalyzerProviderResource | None:
        if r.provider_type is None:
            return None
        name = "aws" if r.provider_type.endswith(":aws") else "k8s"
        return analyzer_pb2.AnalyzerProviderResource(
            type=r.provider_type, name=name, urn=urn(stack, r.provider_type, name), properties=_struct(r.provider_props)
        )

    def analyze(self, stack: str, resources: Iterable[Resource]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        """Every resource-policy diagnostic for ``resources``, one Analyze call each (as during preview)."""
        found = []
        for r in resources:
            request = analyzer_pb2.AnalyzeRequest(
                type=r.type,
                name=r.name,
                urn=urn(stack, r.type, r.name),
                properties=_struct(r.props),
                options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect),
                provider=self._provider(stack, r),
            )
            found += list(self.stub.Analyze(request).diagnostics)
        return found

    def analyze_stack(self, stack: str, resources: Iterable[Resource]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        """Every stack-policy diagnostic for the stack made of ``resources`` (end of preview)."""
        items = []
        for r in resources:
            items.append(
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    name=r.name,
                    urn=urn(stack, r.type, r.name),
                    properties=_struct(r.props),
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect),
                    provider=self._provider(stack, r),
                    parent=urn(stack, "component", r.parent) if r.parent else "",
                    dependencies=[urn(stack, "dep", d) for d in r.dependencies],
                )
            )
        # dependencies are matched by URN: give each resource the URN the others use for it
        by_name = {i.name: i.urn for i in items}
        for i in items:
            deps = [by_name.get(d.rsplit("::", 1)[-1], d) for d in i.dependencies]
            del i.dependencies[:]
            i.dependencies.extend(deps)
            if i.parent:
                i.parent = by_name.get(i.parent.rsplit("::", 1)[-1], i.parent)
        return list(self.stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=items)).diagnostics)
