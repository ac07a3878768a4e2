"""Network: the VPC the cluster, its load balancers and the database live in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.platform import KARPENTER_DISCOVERY_TAG
from components.settings.regions import Partition


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of :class:`Network`."""

    #: EKS cluster name; subnets carry ``kubernetes.io/cluster/<name>`` so load balancers find them.
    cluster_name: str
    #: AWS region, for the endpoint service names.
    region: str
    #: The region's AWS partition (the flow-log service principal).
    partition: Partition
    #: IPv4 CIDR of the VPC.
    vpc_cidr: str
    #: One AZ per public/private subnet pair.
    availability_zones: Sequence[str]
    #: Public subnet CIDRs (NAT gateways, internet-facing NLBs), index-aligned with the AZs.
    public_subnet_cidrs: Sequence[str]
    #: Private subnet CIDRs (nodes, pods, RDS, internal NLBs), index-aligned with the AZs.
    private_subnet_cidrs: Sequence[str]
    #: ``single`` NAT gateway for the VPC, or ``per-az`` so an AZ outage does not cut egress.
    nat_gateways: str
    #: Interface endpoint services (e.g. ``sts``) kept inside the VPC.
    interface_endpoints: Sequence[str]
    #: Retention of the VPC flow log, in days.
    flow_log_retention_days: int
    #: A stack being retired: the VPC and the private subnets outlive `pulumi destroy`, because a
    #: retained database still has its network interfaces, subnet group and security group there.
    retain_private: bool = False


class Network(pulumi.ComponentResource):
    """VPC with public and private subnets per AZ, NAT, gateway/interface endpoints and flow logs.

    Outputs: ``vpc_id``, ``vpc_cidr``, ``private_subnet_ids``, ``public_subnet_ids``.
    """

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow-mesh:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, retain_on_delete=args.retain_private)
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,  # required by EKS private endpoints and interface endpoints
            enable_dns_support=True,
            tags={"Name": name},
            opts=kept,
        )
        # The default security group allows all traffic between its members; nothing should use it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[], opts=child)

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": name}, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags={"Name": f"{name}-public"},
            opts=child,
        )

        public_subnets, private_subnets, nats = [], [], []
        for az, public_cidr, private_cidr in zip(
            args.availability_zones, args.public_subnet_cidrs, args.private_subnet_cidrs, strict=True
        ):
            public = aws.ec2.Subnet(
                f"{name}-public-{az}",
                vpc_id=vpc.id,
                cidr_block=public_cidr,
                availability_zone=az,
                map_public_ip_on_launch=False,  # only NAT gateways and NLBs live here, with their own IPs
                tags={"Name": f"{name}-public-{az}", "kubernetes.io/role/elb": "1", **cluster_tag},
                opts=child,
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{az}",
                vpc_id=vpc.id,
                cidr_block=private_cidr,
                availability_zone=az,
                tags={
                    "Name": f"{name}-private-{az}",
                    "kubernetes.io/role/internal-elb": "1",
                    # Karpenter launches task nodes into the subnets with this tag (components/capacity).
                    KARPENTER_DISCOVERY_TAG: args.cluster_name,
                    **cluster_tag,
                },
                opts=kept,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{az}", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            if args.nat_gateways == "per-az" or not nats:
                eip = aws.ec2.Eip(f"{name}-nat-eip-{az}", domain="vpc", tags={"Name": f"{name}-nat-{az}"}, opts=child)
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{az}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags={"Name": f"{name}-nat-{az}"},
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                    )
                )
            public_subnets.append(public)
            private_subnets.append(private)

        private_rts = []
        for az, private, nat in zip(
            args.availability_zones, private_subnets, _nat_for_each_az(nats, len(private_subnets)), strict=True
        ):
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{az}",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags={"Name": f"{name}-private-{az}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{az}", subnet_id=private.id, route_table_id=rt.id, opts=child
            )
            private_rts.append(rt)

        # S3 (ECR image layers, task logs, data) stays on the AWS network and costs no NAT data.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=endpoint_service("s3", "Gateway", child),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags={"Name": f"{name}-s3"},
            opts=child,
        )
        if args.interface_endpoints:
            endpoint_sg = aws.ec2.SecurityGroup(
                f"{name}-endpoints-sg",
                vpc_id=vpc.id,
                description="HTTPS from the VPC to AWS interface endpoints",
                ingress=[
                    {
                        "protocol": "tcp",
                        "from_port": 443,
                        "to_port": 443,
                        "cidr_blocks": [args.vpc_cidr],
                        "description": "HTTPS from the VPC",
                    },
                ],
                tags={"Name": f"{name}-endpoints"},
                opts=child,
            )
            for service in args.interface_endpoints:
                aws.ec2.VpcEndpoint(
                    f"{name}-{service.replace('.', '-')}",
                    vpc_id=vpc.id,
                    service_name=endpoint_service(service, "Interface", child),
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=True,
                    subnet_ids=[s.id for s in private_subnets],
                    security_group_ids=[endpoint_sg.id],
                    tags={"Name": f"{name}-{service}"},
                    opts=child,
                )

        self._flow_logs(name, vpc, args.flow_log_retention_days, args.partition)

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
            }
        )

    def _flow_logs(self, name: str, vpc: aws.ec2.Vpc, retention_days: int, part: Partition) -> None:
        """Rejected and accepted flows to CloudWatch: the first thing asked for in an incident."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", retention_in_days=retention_days, opts=child)
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": part.principal("vpc-flow-logs")},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": name},
            opts=child,
        )


def _nat_for_each_az(nats: list, az_count: int) -> list:
    """Per-AZ NAT: each AZ routes through its own; single NAT: every AZ shares the first."""
    return nats if len(nats) == az_count else [nats[0]] * az_count


def endpoint_service(service: str, kind: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """The VPC endpoint service name of ``service`` in the provider's region, as AWS answers it
    (``DescribeVpcEndpointServices``): ``com.amazonaws.<region>.<service>`` in most partitions, but AWS
    China names many interface services ``cn.com.amazonaws.<region>.<service>``, so the name is looked
    up, not written."""
    found = aws.ec2.get_vpc_endpoint_service_output(
        service=service, service_type=kind, opts=pulumi.InvokeOutputOptions(parent=opts.parent)
    )
    return found.service_name
