"""deploy-time.md: the critical path through the recorded graph, with sourced typical times."""

from __future__ import annotations

import itertools

import pytest

from plan import deploy_time

TABLE = deploy_time.times_table()


def record(name: str, type_: str = "aws:ec2/vpc:Vpc", deps=(), parent=None, custom=True, provider=None, **inputs):
    return {
        "type": type_,
        "name": name,
        "custom": custom,
        "parent": parent,
        "provider": provider,
        "dependsOn": list(deps),
        "inputs": inputs,
    }


def test_every_typical_time_names_a_source():
    for typ, entry in TABLE["types"].items():
        assert entry["source"] in TABLE["sources"], typ
        assert entry["seconds"] > 0


def test_longest_chain_wins_and_parallel_work_is_free():
    resources = [
        record("vpc"),
        record("cluster", "aws:eks/cluster:Cluster", deps=["vpc"]),
        record("nodes", "aws:eks/nodeGroup:NodeGroup", deps=["cluster"]),
        record("nat", "aws:ec2/natGateway:NatGateway", deps=["vpc"]),
        record("db", "aws:rds/instance:Instance", deps=["vpc"], multiAz=False),
    ]
    d = deploy_time.critical_path("t", resources)
    assert [s.name for s in d.path] == ["vpc", "cluster", "nodes"]
    assert d.critical_seconds == 5 + 600 + 210
    assert d.wall_seconds == d.critical_seconds + TABLE["engine_overhead_seconds"]
    assert d.finish["db"] == 5 + TABLE["types"]["aws:rds/instance:Instance"]["seconds"]
    multi_az = record("db-ha", "aws:rds/instance:Instance", multiAz=True)
    assert deploy_time.duration(multi_az) == TABLE["special"]["rds_multi_az_seconds"], "it builds the standby too"


def test_depending_on_a_component_waits_for_its_children_and_providers_count():
    resources = [
        record("mesh", "airflow-mesh:mesh:Mesh", custom=False),
        record("control-plane", "kubernetes:helm.sh/v3:Release", parent="mesh", chart="kuma"),
        record("cluster", "aws:eks/cluster:Cluster"),
        record("k8s", "pulumi:providers:kubernetes", deps=["cluster"]),
        record("ns", "kubernetes:core/v1:Namespace", provider="k8s"),
        record("airflow", "kubernetes:helm.sh/v3:Release", deps=["mesh"], provider="k8s", chart="airflow"),
    ]
    d = deploy_time.critical_path("t", resources)
    assert d.finish["mesh"] == d.finish["control-plane"] == 120
    assert d.finish["ns"] == 600 + 2, "Kubernetes objects wait for their provider's cluster"
    assert [s.name for s in d.path] == ["cluster", "airflow"]
    assert d.path[-1].seconds == TABLE["special"]["chart_seconds"]["airflow"]


def test_a_cycle_is_an_error():
    with pytest.raises(deploy_time.CycleError):
        deploy_time.critical_path("t", [record("a", deps=["b"]), record("b", deps=["a"])])


def test_every_stack_has_a_connected_critical_path_through_the_cluster(plan):
    d = deploy_time.critical_path(plan.stack, plan.resources)
    names = [s.name for s in d.path]
    assert any(plan[n]["type"] == "aws:eks/cluster:Cluster" for n in names)
    for before, after in itertools.pairwise(names):
        assert before in plan.requires(after), f"{after} does not wait for {before}"
    assert 10 * 60 < d.wall_seconds < 90 * 60
    text = deploy_time.render(d, plan.resources)
    assert f"stack `{plan.stack}`" in text and "Sources:" in text
    assert all(f"`{n}`" in text for n in names)
