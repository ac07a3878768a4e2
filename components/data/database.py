"""Database: RDS PostgreSQL for Airflow's metadata, with its own key, network and rotated password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_command as command
import pulumi_random as random
import pulumiverse_time as time

from components import versions
from components.kms import customer_key
from components.platform import DATABASE_PORT

#: Database and master user Airflow connects as (through PgBouncer).
DB_NAME = "airflow"
DB_USER = "airflow"


@dataclass(frozen=True)
class DatabaseArgs:
    """Inputs of :class:`Database`. Nothing here comes from the cluster: the database is created while
    the cluster comes up, and outlives it on destroy."""

    #: VPC of the database's security group.
    vpc_id: pulumi.Input[str]
    #: Private subnets (one per AZ) of the DB subnet group.
    subnet_ids: pulumi.Input[Sequence[str]]
    #: The only security group allowed in on 5432: the EKS nodes' (pods use the node's group).
    client_security_group_id: pulumi.Input[str]
    #: Region of the RDS trust bundle clients verify the server certificate with.
    region: str
    #: The region's AWS partition id (``aws``, ``aws-cn``...): its RDS trust store host (versions.py).
    partition: str
    #: RDS instance class, e.g. ``db.t4g.medium``.
    instance_class: str
    #: Standby in a second AZ with synchronous replication (required in prod by the settings).
    multi_az: bool
    #: Allocated gp3 storage in GiB; storage autoscaling may grow it to 4x.
    storage_gib: int
    #: Automated backup retention in days.
    backup_retention_days: int
    #: The master password is regenerated after this many days (at the first ``pulumi up`` after).
    password_rotation_days: int
    #: Prod: deletion protection, final snapshot, ``protect`` and retain-on-delete on the data.
    protect: bool
    #: Keep the database through `pulumi destroy` without ``protect`` (a stack being retired):
    #: retained on delete, deletion protection and final snapshot stay on.
    retain: bool = False


class Database(pulumi.ComponentResource):
    """RDS PostgreSQL in private subnets, reachable only from the cluster's nodes, TLS forced.

    - storage encrypted with the component's own KMS key (rotated yearly);
    - a parameter group that refuses non-TLS connections (``rds.force_ssl``) and TLS < 1.2;
    - the master password comes from pulumi-random and is regenerated every
      ``password_rotation_days`` by a ``pulumiverse_time.Rotating`` keeper;
    - prod: Multi-AZ (settings), deletion protection, final snapshot, and the instance and key are
      ``protect``ed and retained if the stack is ever destroyed. Dev: everything is disposable.

    Outputs: ``address``, ``port``, ``db_name``, ``username``, ``password`` (secret),
    ``ca_bundle`` (PEM trust bundle for ``sslmode=verify-full``), ``security_group_id``.
    """

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:airflow:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # In prod the instance and everything it stands on outlive `pulumi destroy`: deleting its
        # subnet group or security group under a retained instance would fail and strand the VPC.
        # (The VPC and subnets themselves are retained by the network while a stack is retired.)
        retain = args.protect or args.retain
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=retain)

        key = customer_key(
            f"{name}-key",
            "Airflow metadata database storage, snapshots and Performance Insights",
            alias=name,
            protect=args.protect,
            parent=self,
            retain=retain,
        )
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=args.subnet_ids, description="private subnets", opts=keep
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Airflow metadata database: PostgreSQL from the EKS nodes only",
            opts=keep,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-nodes",
            security_group_id=group.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=DATABASE_PORT,
            to_port=DATABASE_PORT,
            description="PostgreSQL from PgBouncer on the EKS nodes",
            # Never retained: it references the nodes' security group, which AWS will not delete
            # while a rule in another group still points at it (DependencyViolation).
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        parameters = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{versions.POSTGRES_MAJOR_VERSION}",
            description="Airflow metadata: TLS required",
            parameters=[
                {"name": "rds.force_ssl", "value": "1"},
                {"name": "ssl_min_protocol_version", "value": "TLSv1.2"},
                {"name": "password_encryption", "value": "scram-sha-256"},
                {"name": "log_connections", "value": "1"},
            ],
            opts=keep,
        )

        # The keeper: when the rotation time has passed, the next `pulumi up --refresh` recreates the
        # Rotating resource, its id changes, and with it the password (an in-place RDS update).
        rotation = time.Rotating(f"{name}-password-rotation", rotation_days=args.password_rotation_days, opts=child)
        password = random.RandomPassword(
            f"{name}-password",
            length=40,
            # alphanumeric only: the password also goes into a connection URL and PgBouncer's users.txt
            special=False,
            keepers={"rotation": rotation.id},
            opts=child,
        )

        final_snapshot = f"{name}-final" if retain else None
        instance = aws.rds.Instance(
            f"{name}-postgres",
            engine="postgres",
            engine_version=versions.POSTGRES_MAJOR_VERSION,
            auto_minor_version_upgrade=True,
            instance_class=args.instance_class,
            allocated_storage=args.storage_gib,
            max_allocated_storage=args.storage_gib * 4,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            db_name=DB_NAME,
            username=DB_USER,
            password=password.result,
            port=DATABASE_PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            ca_cert_identifier=versions.RDS_CA_CERT_IDENTIFIER,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            delete_automated_backups=not retain,
            deletion_protection=retain,
            skip_final_snapshot=not retain,
            final_snapshot_identifier=final_snapshot,
            performance_insights_enabled=retain,
            performance_insights_kms_key_id=key.arn if retain else None,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            apply_immediately=not retain,
            opts=keep,
        )

        # RDS server certificates chain to AWS's own RDS CAs, which are in no public trust store; the
        # bundle is public and fetched once at deploy time (not at every pod start, and not vendored
        # unverified). Change RDS_CA_BUNDLE_URL in versions.py to fetch it again.
        bundle_url = versions.RDS_CA_BUNDLE_URLS[args.partition].format(region=args.region)
        ca_bundle = command.local.Command(
            f"{name}-ca-bundle",
            create=f"curl --fail --silent --show-error --proto =https --tlsv1.2 {bundle_url}",
            triggers=[bundle_url],
            logging="stderr",
            opts=child,
        )

        self.address = instance.address
        self.port = instance.port
        self.db_name = DB_NAME
        self.username = DB_USER
        self.password = pulumi.Output.secret(password.result)
        self.password_rotation = rotation.id
        self.ca_bundle = ca_bundle.stdout
        self.security_group_id = group.id
        #: For the dev sleep schedule (components/capacity/sleep.py), which stops and starts the instance.
        self.instance_arn = instance.arn
        self.identifier = instance.identifier
        self.register_outputs({"address": self.address, "port": self.port})
