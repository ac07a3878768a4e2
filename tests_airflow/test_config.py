"""Airflow 3.1.7 reads every option the program sets, under the name it sets it, and lint finds nothing on them."""

from __future__ import annotations

import pytest

from tests_airflow.support import VARIANTS, facts


def _ours(config: dict) -> set[tuple[str, str]]:
    return {(section, key) for section, key, _ in config["set"]}


def unknown_options(probes, variant: str) -> list[tuple[str, str, str, str]]:
    return sorted({(s, k, where, why) for s, k, where, why in facts(probes, variant, "config")["unknown"]})


def badly_typed_options(probes, variant: str) -> list[list[str]]:
    return facts(probes, variant, "config")["bad_type"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_airflow_config_lint_finds_nothing_on_an_option_we_set(probes, variant):
    """``airflow config lint`` (cli/commands/config_command.py ``lint_config``) on the merged airflow.cfg;
    findings on the chart's own defaults (e.g. ``[webserver] enable_proxy_fix``) are not ours."""
    config = facts(probes, variant, "config")
    assert config["lint"]["output"], "lint printed nothing: it did not run"
    ours = _ours(config)
    assert [f for f in config["lint"]["findings"] if (f[0], f[1]) in ours] == []


def test_airflow_knows_every_option_we_set(probes):
    """Every option in ``values.config``, in an ``AIRFLOW__S__K`` env of the values or of a task pod
    template, is described by Airflow core's config.yml or an installed provider's config
    (``conf.configuration_description`` after ``initialize_providers_configuration``). Anything else
    is silently ignored by Airflow: a setting that looks applied and is not."""
    unknown = {variant: unknown_options(probes, variant) for variant in VARIANTS}
    assert {v: u for v, u in unknown.items() if u} == {}


def test_no_option_we_set_uses_a_deprecated_name(probes):
    """Options read only through ``deprecated_options`` (configuration.py) warn and go away in a minor."""
    found = {v: facts(probes, v, "config")["deprecated"] for v in VARIANTS}
    assert {v: d for v, d in found.items() if d} == {}


def test_every_option_we_set_parses_as_its_declared_type(probes):
    """A boolean Airflow cannot parse raises at first read, in whichever component reads it first."""
    found = {v: badly_typed_options(probes, v) for v in VARIANTS}
    assert {v: b for v, b in found.items() if b} == {}


@pytest.mark.parametrize("variant", VARIANTS)
def test_options_were_collected_from_every_source(probes, variant):
    """The options checked above include the values' config, their env and the task pod templates."""
    config = facts(probes, variant, "config")
    sources = {where.split(" ")[0] for _, _, where in config["set"]}
    expected = {"values.config", "values.env"} | ({"pod"} if probes[variant]["task_pod"] else set())
    assert expected <= sources
