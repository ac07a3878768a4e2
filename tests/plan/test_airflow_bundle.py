"""The exporter that hands the generated Airflow files to tests_airflow/ finds them in every stack's plan.

tests_airflow/ runs in its own environment and only sees what tests_airflow/export.py writes; if
the program moves what it generates, these fail here (in the main suite) before the Airflow side
silently checks less.
"""

from __future__ import annotations

import ast

import yaml

from tests_airflow import export


def test_each_stack_has_one_airflow_release_with_the_generated_texts(plan):
    values = export.airflow_release(plan)["values"]
    assert values["config"], "no airflow.cfg sections"
    for text in (values["apiServer"]["apiServerConfig"], values["airflowLocalSettings"]):
        ast.parse(text)  # both are Python the chart mounts as is
        assert "{{" not in text, "the chart runs these through tpl: a '{{' would be templated"


def test_pod_templates_the_scheduler_mounts_are_found(plan):
    values = export.airflow_release(plan)["values"]
    files = export.pod_template_files(plan, values)
    if values["executor"] != "KubernetesExecutor" or not values.get("scheduler", {}).get("extraVolumes"):
        assert files == {}
        return
    assert files, "the scheduler mounts a pod-templates ConfigMap the plan does not hold"
    for name, text in files.items():
        pod = yaml.safe_load(text)
        assert pod["kind"] == "Pod" and pod["spec"]["serviceAccountName"], name


def test_cfg_text_is_what_the_chart_writes():
    assert export.cfg_text({"b": {"y": "2", "x": "1"}, "a": {"k": "v"}}) == "[a]\nk = v\n\n[b]\nx = 1\ny = 2\n"


def test_log_grants_read_put_object_patterns_on_the_log_bucket_only(plan):
    values = export.airflow_release(plan)["values"]
    grants = export.log_grants(plan, values)
    bucket = values["config"]["logging"]["remote_base_log_folder"].removeprefix("s3://").split("/")[0]
    assert grants, "no role may write task logs"
    assert all(p.startswith(f"arn:aws:s3:::{bucket}/") for patterns in grants.values() for p in patterns)
