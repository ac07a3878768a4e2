"""AirflowSecrets: Airflow's generated keys, their rotation, and the Kubernetes Secrets the chart reads."""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumiverse_time as time

from components.airflow import inputs, pgbouncer
from components.platform import AIRFLOW_NAMESPACE, AIRFLOW_RELEASE, PGBOUNCER_PORT, REDIS_PORT
from components.timeouts import ApiCall

#: Names of the Kubernetes Secrets (and the one ConfigMap) the chart is pointed at. Prefixed so they
#: never collide with the Secrets the chart would create under its own default names.
METADATA = "airflow-mesh-metadata"
FERNET_KEY = "airflow-mesh-fernet-key"
JWT = "airflow-mesh-jwt"
API_SECRET_KEY = "airflow-mesh-api-secret-key"
PGBOUNCER_CONFIG = "airflow-mesh-pgbouncer-config"
PGBOUNCER_STATS = "airflow-mesh-pgbouncer-stats"
OIDC = "airflow-mesh-oidc"
GIT_SSH = "airflow-mesh-git-ssh"
REDIS_PASSWORD = "airflow-mesh-redis-password"
BROKER_URL = "airflow-mesh-broker-url"
RDS_CA = "airflow-mesh-rds-ca"
#: Keys inside those Secrets, as the chart expects them.
OIDC_CLIENT_SECRET_KEY = "client-secret"
#: Key of the metadata Secret that holds ``[database] sql_alchemy_conn_async`` (beside ``connection``).
ASYNC_CONNECTION_KEY = "async-connection"
RDS_CA_FILE = "rds-ca-bundle.pem"


@dataclass(frozen=True)
class DatabaseEndpoint:
    """Where PgBouncer finds the metadata database, and as whom it logs in."""

    address: pulumi.Input[str]
    port: pulumi.Input[int]
    db_name: str
    username: str
    password: pulumi.Input[str]
    #: PEM bundle PgBouncer verifies the RDS certificate with (``server_tls_sslmode = verify-full``).
    ca_bundle: pulumi.Input[str]
    #: Changes when the password rotates: PgBouncer reads its auth file only at start, so it must roll.
    password_rotation: pulumi.Input[str] = ""


@dataclass(frozen=True)
class AirflowSecretsArgs:
    """Inputs of :class:`AirflowSecrets`."""

    #: The ``airflow`` Namespace (every Secret waits for it).
    namespace: k8s.core.v1.Namespace
    #: Generated keys are regenerated after this many days.
    rotation_days: int
    database: DatabaseEndpoint
    #: OIDC client secret (a ``secure:`` config value), for the api-server's own OIDC login.
    oidc_client_secret: pulumi.Input[str]
    #: SSH private key of the DAG repository (``secure:``); None: no SSH key Secret.
    git_ssh_key: pulumi.Input[str] | None = None
    #: Domain namespaces whose task pods clone the DAG repository too (they get a copy of the key).
    domain_namespaces: Mapping[str, k8s.core.v1.Namespace] = field(default_factory=dict)
    #: Executor; CeleryExecutor adds the result-backend database to PgBouncer.
    executor: str = "KubernetesExecutor"
    #: How long a query waits for a server connection in PgBouncer, in seconds (components/timeouts.py).
    pgbouncer_query_wait_seconds: int = ApiCall().pgbouncer_query_wait_seconds


class AirflowSecrets(pulumi.ComponentResource):
    """Fernet key, JWT secret, API secret key and PgBouncer's view of the database, as Kubernetes Secrets.

    Rotation: every key has a ``pulumiverse_time.Rotating`` keeper. JWT and API keys are simply
    regenerated. The Fernet key keeps its predecessor: two key slots each live two rotation periods,
    offset by one period, so after every rotation the newest key encrypts and the previous one still
    decrypts (``fernet_key = new,previous``) until the next rotation retires it.

    Outputs: ``names`` (purpose -> Secret name), ``resources`` (what the release must wait for),
    ``rotation_stamp`` (changes whenever any generated value changes; pods roll on it).
    """

    def __init__(self, name: str, args: AirflowSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:airflow:AirflowSecrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        days = args.rotation_days

        keys_rotation = time.Rotating(f"{name}-keys-rotation", rotation_days=days, opts=child)
        jwt = random.RandomPassword(
            f"{name}-jwt", length=64, special=False, keepers={"rotation": keys_rotation.id}, opts=child
        )
        api_key = random.RandomPassword(
            f"{name}-api-secret-key", length=64, special=False, keepers={"rotation": keys_rotation.id}, opts=child
        )

        # Fernet slots: A rotates at t0+2N, t0+4N...; B is anchored one period after A, so it rotates at
        # t0+3N, t0+5N... `ignore_changes` keeps B's base when only A was replaced.
        slot_a = time.Rotating(f"{name}-fernet-a-rotation", rotation_days=2 * days, opts=child)
        slot_b = time.Rotating(
            f"{name}-fernet-b-rotation",
            rfc3339=slot_a.rfc3339.apply(lambda ts: _add_days(ts, days)),
            rotation_days=2 * days,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["rfc3339"]),
        )
        key_a = random.RandomBytes(f"{name}-fernet-a", length=32, keepers={"rotation": slot_a.id}, opts=child)
        key_b = random.RandomBytes(f"{name}-fernet-b", length=32, keepers={"rotation": slot_b.id}, opts=child)
        fernet = pulumi.Output.secret(
            pulumi.Output.all(slot_a.rfc3339, key_a.base64, slot_b.rfc3339, key_b.base64).apply(
                lambda v: fernet_keys((v[0], v[1]), (v[2], v[3]))
            )
        )

        db = args.database
        password = pulumi.Output.secret(db.password)
        metadata = password.apply(lambda p: metadata_connection(db.username, p))
        metadata_async = password.apply(lambda p: async_metadata_connection(db.username, p))
        stats = password.apply(lambda p: stats_connection(db.username, p))
        users = password.apply(lambda p: f'"{db.username}" "{p}"\n')
        ini = pulumi.Output.all(db.address, db.port).apply(
            lambda v: pgbouncer.pgbouncer_ini(
                host=v[0],
                port=int(v[1]),
                db_name=db.db_name,
                user=db.username,
                ca_file=f"{inputs.PGBOUNCER_CA_DIR}/{RDS_CA_FILE}",
                result_backend=args.executor == "CeleryExecutor",
                query_wait_timeout=args.pgbouncer_query_wait_seconds,
            )
        )

        def secret(key: str, secret_name: str, data: Mapping[str, pulumi.Input[str]]) -> k8s.core.v1.Secret:
            return k8s.core.v1.Secret(
                f"{name}-{key}",
                metadata={"name": secret_name, "namespace": AIRFLOW_NAMESPACE, "labels": _LABELS},
                type="Opaque",
                string_data=data,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[args.namespace]),
            )

        self.names: dict[str, str] = {
            "metadata": METADATA,
            "fernet": FERNET_KEY,
            "jwt": JWT,
            "api": API_SECRET_KEY,
            "pgbouncer-config": PGBOUNCER_CONFIG,
            "pgbouncer-stats": PGBOUNCER_STATS,
            "oidc": OIDC,
        }
        self.resources: list[pulumi.Resource] = [
            secret("metadata", METADATA, {"connection": metadata, ASYNC_CONNECTION_KEY: metadata_async}),
            secret("fernet-key", FERNET_KEY, {"fernet-key": fernet}),
            secret("jwt-secret", JWT, {"jwt-secret": jwt.result}),
            secret("api-secret", API_SECRET_KEY, {"api-secret-key": api_key.result}),
            secret("pgbouncer-config", PGBOUNCER_CONFIG, {"pgbouncer.ini": ini, "users.txt": users}),
            secret("pgbouncer-stats", PGBOUNCER_STATS, {"connection": stats}),
            secret("oidc", OIDC, {OIDC_CLIENT_SECRET_KEY: pulumi.Output.secret(args.oidc_client_secret)}),
            k8s.core.v1.ConfigMap(
                f"{name}-rds-ca",
                metadata={"name": RDS_CA, "namespace": AIRFLOW_NAMESPACE, "labels": _LABELS},
                data={RDS_CA_FILE: db.ca_bundle},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[args.namespace]),
            ),
        ]
        if args.executor == "CeleryExecutor":
            broker_password = random.RandomPassword(
                f"{name}-broker-password", length=32, special=False, keepers={"rotation": keys_rotation.id}, opts=child
            )
            broker_url = broker_password.result.apply(lambda p: f"redis://:{p}@{AIRFLOW_RELEASE}-redis:{REDIS_PORT}/0")
            self.names["redis-password"] = REDIS_PASSWORD
            self.names["broker-url"] = BROKER_URL
            self.resources.append(secret("redis-password", REDIS_PASSWORD, {"password": broker_password.result}))
            self.resources.append(secret("broker-url", BROKER_URL, {"connection": pulumi.Output.secret(broker_url)}))
        if args.git_ssh_key is not None:
            # Task pods clone the DAGs in their own namespace, so each domain namespace gets the
            # (read-only deploy) key too; no ServiceAccount there may read Secrets.
            ssh = {"gitSshKey": pulumi.Output.secret(args.git_ssh_key)}
            self.names["git-ssh"] = GIT_SSH
            self.resources.append(secret("git-ssh", GIT_SSH, ssh))
            for ns, namespace in sorted(args.domain_namespaces.items()):
                self.resources.append(
                    k8s.core.v1.Secret(
                        f"{name}-git-ssh-{ns}",
                        metadata={"name": GIT_SSH, "namespace": ns, "labels": _LABELS},
                        type="Opaque",
                        string_data=ssh,
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
                    )
                )

        # PgBouncer reads pgbouncer.ini at start, from a subPath mount that kubelet never refreshes: its pods
        # roll when the file changes (a new RDS endpoint, a timeout), through this checksum annotation.
        self.pgbouncer_config_checksum: pulumi.Output[str] = ini.apply(
            lambda text: hashlib.sha256(text.encode()).hexdigest()
        )
        # Secrets are mounted or read as env at start: pods roll when any generated value changes.
        self.rotation_stamp: pulumi.Output[str] = pulumi.Output.concat(
            "keys=", keys_rotation.id, ";fernet=", slot_a.id, "/", slot_b.id, ";db=", db.password_rotation
        )
        self.register_outputs({"names": self.names})


_LABELS = {"app.kubernetes.io/part-of": "airflow-mesh", "app.kubernetes.io/component": "airflow-secrets"}


def _add_days(rfc3339: str, days: int) -> str:
    start = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return (start + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def fernet_keys(slot_a: tuple[str, str], slot_b: tuple[str, str]) -> str:
    """``newest,previous`` Fernet keys from two (rotation base timestamp, standard base64 key) slots.

    Airflow encrypts with the first key and decrypts with any (MultiFernet); Fernet wants URL-safe base64.
    """
    newest, previous = sorted([slot_a, slot_b], key=lambda slot: slot[0], reverse=True)
    return ",".join(base64.urlsafe_b64encode(base64.b64decode(key)).decode() for _, key in (newest, previous))


def metadata_connection(user: str, password: str) -> str:
    """Airflow's metadata connection: through PgBouncer, inside the mesh.

    The leg to PgBouncer is mTLS-encrypted by the mesh (a second TLS layer would add nothing); the leg
    that leaves the mesh, PgBouncer to RDS, is ``verify-full`` against the RDS trust bundle.
    """
    host = f"{inputs.PGBOUNCER_SERVICE}.{AIRFLOW_NAMESPACE}.svc.cluster.local"
    return f"postgresql://{_credentials(user, password)}@{host}:{PGBOUNCER_PORT}/{inputs.PGBOUNCER_DB}?sslmode=disable"


def async_metadata_connection(user: str, password: str) -> str:
    """``[database] sql_alchemy_conn_async``: the same PgBouncer, as asyncpg can take it.

    Set explicitly because Airflow 3.1.7 derives it from the sync URL by swapping the scheme only
    (``airflow/settings.py`` ``_get_async_conn_uri_from_sync``), and SQLAlchemy's asyncpg dialect
    hands every URL query parameter to ``asyncpg.connect()`` as a keyword (``create_connect_args``:
    ``opts.update(url.query)``), which has no ``sslmode``: ``TypeError: connect() got an unexpected
    keyword argument 'sslmode'`` (apache/airflow#67801, MagicStack/asyncpg#737). So:

    - ``ssl=disable``: asyncpg's own spelling; the hop is inside the mesh (see :func:`metadata_connection`);
    - ``prepared_statement_cache_size=0``: SQLAlchemy keeps no prepared statement across transactions;
      behind transaction-mode PgBouncer the next transaction may run on another server connection,
      where the cached statement does not exist. The statements SQLAlchemy still prepares inside a
      transaction are named protocol-level ones, which PgBouncer >= 1.21 tracks per server connection
      (``max_prepared_statements`` in :func:`components.airflow.pgbouncer.pgbouncer_ini`).
    """
    host = f"{inputs.PGBOUNCER_SERVICE}.{AIRFLOW_NAMESPACE}.svc.cluster.local"
    query = "ssl=disable&prepared_statement_cache_size=0"
    return f"postgresql+asyncpg://{_credentials(user, password)}@{host}:{PGBOUNCER_PORT}/{inputs.PGBOUNCER_DB}?{query}"


def stats_connection(user: str, password: str) -> str:
    """PgBouncer's metrics exporter: the admin console of the PgBouncer in the same pod."""
    return f"postgresql://{_credentials(user, password)}@127.0.0.1:{PGBOUNCER_PORT}/pgbouncer?sslmode=disable"


def _credentials(user: str, password: str) -> str:
    return f"{quote(user, safe='')}:{quote(password, safe='')}"
