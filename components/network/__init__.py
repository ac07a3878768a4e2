"""Network layer: the VPC, its public and private subnets per AZ, NAT, interface endpoints, flow logs.

Owns :class:`~components.network.component.Network`. Takes only settings (CIDRs, AZs, NAT mode,
endpoints); the cluster, the database and the edge's load balancer live in what it makes.
"""
