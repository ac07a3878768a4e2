"""The probes' cache (support.run_probe) reuses facts only while every input is unchanged."""

from __future__ import annotations

import shutil

from tests_airflow import support


def test_the_digest_follows_the_variant_the_shared_bundle_files_and_nothing_else(tmp_path, monkeypatch):
    bundle = tmp_path / "bundle"
    first, *others = support.VARIANTS
    for name in [first, *others[:1]]:
        shutil.copytree(support.BUNDLE / name, bundle / name)
    for path in support.BUNDLE.iterdir():
        if path.is_file():
            shutil.copy(path, bundle / path.name)
    monkeypatch.setattr(support, "BUNDLE", bundle)
    before = support.probe_inputs_digest("probe", first)
    assert support.probe_inputs_digest("probe", first) == before
    assert support.probe_inputs_digest("probe_api", first) != before

    values = bundle / first / "values.json"
    values.write_text(values.read_text() + " ")
    changed = support.probe_inputs_digest("probe", first)
    assert changed != before

    if others:  # another variant's files are not an input of this one's probe
        other = bundle / others[0] / "values.json"
        other.write_text(other.read_text() + " ")
        assert support.probe_inputs_digest("probe", first) == changed

    index = bundle / "index.json"
    index.write_text(index.read_text() + " ")
    assert support.probe_inputs_digest("probe", first) != changed


def test_cached_facts_are_returned_without_running_the_probe(tmp_path, monkeypatch):
    bundle = tmp_path / "bundle"
    variant = support.VARIANTS[0]
    shutil.copytree(support.BUNDLE / variant, bundle / variant)
    monkeypatch.setattr(support, "BUNDLE", bundle)
    monkeypatch.setenv(support.CACHE_ENV, "on")
    cache = tmp_path / "bundle-probes" / "cache"
    cache.mkdir(parents=True)
    (cache / f"{support.probe_inputs_digest('no_such_probe', variant)}.json").write_text('{"fact": 1}')
    assert support.run_probe("no_such_probe", variant) == {"fact": 1}
    monkeypatch.setenv(support.CACHE_ENV, "off")  # off: the probe runs, and a missing one fails
    try:
        support.run_probe("no_such_probe", variant, timeout=60)
    except RuntimeError as err:
        assert "no_such_probe" in str(err)
    else:
        raise AssertionError("the cache was used although it is off")
