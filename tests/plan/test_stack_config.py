"""The offline plan reads stack configuration as the Pulumi CLI does (docs/configuration.md).

Checked against the CLI's own test vectors (pulumi/pulumi
``sdk/go/common/resource/config/testdata/repr/<n>.yaml`` -> ``<n>.expected.yaml``, ``decrypt:``),
transcribed below, and against the rules of the Go code the docs cite (yaml.v3 ``resolve.go``,
``object.go`` ``MarshalString``, ``pkg/workspace/config.go``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from plan import go_yaml, stack_config

# (repr vector number, stack YAML, key -> the string the program receives)
PULUMI_VECTORS = [
    (0, "my:anotherTestKey: anotherTestValue\nmy:testKey: testValue\n", {"my:testKey": "testValue"}),
    (1, "my:parent:\n  nested: 12321123131\n", {"my:parent": '{"nested":12321123131}'}),
    (2, "my:parent:\n  nested:\n  - 12321123131\n", {"my:parent": '{"nested":[12321123131]}'}),
    (4, "my:parent:\n  nested: 4.2\n", {"my:parent": '{"nested":4.2}'}),
    (7, "my:secureTestKey:\n  secure: securevalue\n", {"my:secureTestKey": "securevalue"}),
    (8, "my:arrayKey:\n- a\n- b\n- c\n", {"my:arrayKey": '["a","b","c"]'}),
    (9, "my:mapKey:\n  a: b\n  c: d\n", {"my:mapKey": '{"a":"b","c":"d"}'}),
    (10, "my:servers:\n- host: example\n  port: 80\n", {"my:servers": '[{"host":"example","port":80}]'}),
    (11, "my:mapKey:\n  nums:\n  - 1\n  - 2\n  - 3\n", {"my:mapKey": '{"nums":[1,2,3]}'}),
    (
        14,
        "my:mapKey:\n  a:\n    bar: blah\n    secure: foo\n  c: d\n",
        {"my:mapKey": '{"a":{"bar":"blah","secure":"foo"},"c":"d"}'},
    ),
    (22, "my:0: testValue\n", {"my:0": "testValue"}),
    (25, "my:outer:\n  inner: true\n", {"my:outer": '{"inner":true}'}),
    (28, "my:outer:\n  inner: -2\n", {"my:outer": '{"inner":-2}'}),
    (37, "my:foo:\n  bar: baz\n  secure: myvalue\n", {"my:foo": '{"bar":"baz","secure":"myvalue"}'}),
    (38, "my:true: testValue\n", {"my:true": "testValue"}),
]


@pytest.mark.parametrize(("number", "text", "expected"), PULUMI_VECTORS, ids=[str(v[0]) for v in PULUMI_VECTORS])
def test_values_match_the_clis_own_vectors(number, text, expected):
    decoded = go_yaml.load(text)
    for key, want in expected.items():
        assert stack_config.marshal(decoded[key], key, decrypt=lambda c: c)[0] == want


# Plain scalars as yaml.v3 decodes them and Pulumi then stores them (YAML 1.1 readers differ).
SCALARS = [
    ("yes", "yes"),  # YAML 1.1 (PyYAML): True
    ("on", "on"),
    ("NO", "NO"),
    ("True", "true"),
    ('"True"', "True"),
    ("3", "3"),
    ('"3"', "3"),
    ("3.0", "3"),
    ("1e3", "1000"),
    ("0777", "511"),  # octal kept from YAML 1.1 by yaml.v3
    ("0o17", "15"),
    ("0x1F", "31"),
    ("1_000", "1000"),
    ("08", "8"),  # not octal, so a float
    ("1:30", "1:30"),  # YAML 1.1 (PyYAML): 90
    ("~", "null"),
    ("2026-01-02", "2026-01-02 00:00:00 +0000 UTC"),
    ("'2026-01-02'", "2026-01-02"),
    ("!!str 0777", "0777"),
    ("[1, on, '2']", '[1,"on","2"]'),
    ("[a<b]", '["a\\u003cb"]'),  # Go's json.Marshal escapes < > &
    ("{b: 1, a: [x]}", '{"a":["x"],"b":1}'),
]


@pytest.mark.parametrize(("text", "expected"), SCALARS, ids=[s[0] for s in SCALARS])
def test_scalars_follow_yaml_v3_and_marshal_string(text, expected):
    value = go_yaml.load(f"my:key: {text}\n")["my:key"]
    assert stack_config.marshal(value, "my:key")[0] == expected


def project(tmp_path: Path, config: str, stack: str) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(f"name: my\nruntime: python\nstackConfigDir: stacks\nconfig:\n{config}")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text("config:\n" + stack)
    return tmp_path


def test_project_defaults_values_and_namespaces(tmp_path):
    root = project(
        tmp_path,
        "  size: 3\n  aws:region: us-west-2\n  my:list:\n    default: [a, b]\n  my:flag:\n    default: true\n",
        "  my:config:given: x\n  my:nested:\n    secret: {secure: AAAB}\n",
    )
    config, secrets, placeholders = stack_config.assemble("dev", None, root)
    assert config == {
        "my:size": "3",
        "aws:region": "us-west-2",
        "my:list": '["a","b"]',
        "my:flag": "true",
        "my:given": "x",
        "my:nested": '{"secret":"offline-placeholder:my:nested"}',
    }
    assert secrets == placeholders == ["my:nested"]


@pytest.mark.parametrize(
    ("config", "stack", "message"),
    [
        ("  my:a: {}\n  my:b: {}\n", "  my:c: x\n", "Stack 'dev' is missing configuration values 'my:a' and 'my:b'"),
        (
            "  my:n: {type: integer}\n",
            "  my:n: two\n",
            "Stack 'dev' with configuration key 'my:n' must be of type 'integer'",
        ),
        ("  my:b: {type: boolean}\n", "  my:b: 'True'\n", "key 'my:b' must be of type 'boolean'"),
        ("  my:l: {type: array, items: {type: string}}\n", "  my:l: [1]\n", "must be of type 'array<string>'"),
        ("  my:s: {secret: true}\n", "  my:s: plain\n", "key 'my:s' must be encrypted as it's secret"),
        ("  my:x: {}\n", "  region: us-east-1\n", "could not parse region as a configuration key"),
        ("  my:x: {}\n", "  my:x: 1\n  my:x: 2\n", "mapping key 'my:x' already defined at line 2"),
    ],
)
def test_the_clis_own_checks(tmp_path, config, stack, message):
    root = project(tmp_path, config, stack)
    with pytest.raises(stack_config.StackConfigError) as caught:
        stack_config.assemble("dev", None, root)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("decl", "value"),
    [("integer", "'3'"), ("integer", "3"), ("integer", "3.0"), ("boolean", "True"), ("boolean", "'true'")],
)
def test_typed_keys_accept_what_the_cli_accepts(tmp_path, decl, value):
    root = project(tmp_path, f"  my:k: {{type: {decl}}}\n", f"  my:k: {value}\n")
    stack_config.assemble("dev", None, root)
