"""Cluster layer: EKS control plane and access, managed node groups, managed add-ons, the one
Kubernetes provider, and the workload-identity mechanism (IRSA's OIDC provider or Pod Identity).

Owns :mod:`.component` (Cluster), :mod:`.node_groups`, :mod:`.addons` and :mod:`.workload_role`
(how one workload gets one IAM role: every layer above uses it through the cluster's
``identity``). Takes the network's VPC and private subnets, and settings.
"""
