"""Settings: the bottom of the stack. Every stack config key, validated, handed down as one object.

Owns the typed model of the ``airflow-mesh:*`` keys (:mod:`.model`; domains: :mod:`.domains`), the
rules that need several keys at once (:mod:`.rules`), the instance-type table the node rules use
(:mod:`.instance_types`), reading the keys from the Pulumi engine (:mod:`.loader`) and
``Pulumi.yaml``'s generated schema (:mod:`.schema`). Takes nothing from the layers above: only
``components.versions`` and ``components.platform`` constants. Every other layer reads a
:class:`Settings`, never ``pulumi.Config``.
"""

from components.settings.domains import DomainConfig, EgressRule, S3Grant
from components.settings.loader import SettingsError, load, stack_file, validate
from components.settings.model import (
    ENVIRONMENTS,
    PROJECT,
    STACK_CONFIG_DIR,
    Environment,
    Settings,
    StackConfig,
    config_key,
    derive_subnets,
)
from components.settings.schema import config_fields, project_config_schema

__all__ = [
    "ENVIRONMENTS",
    "PROJECT",
    "STACK_CONFIG_DIR",
    "DomainConfig",
    "EgressRule",
    "Environment",
    "S3Grant",
    "Settings",
    "SettingsError",
    "StackConfig",
    "config_fields",
    "config_key",
    "derive_subnets",
    "load",
    "project_config_schema",
    "stack_file",
    "validate",
]
