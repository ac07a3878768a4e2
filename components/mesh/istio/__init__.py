"""Istio 1.30 in ambient mode: a mesh provider with no sidecars (ztunnel, L4 AuthorizationPolicies).

:mod:`.component` builds base, istiod, CNI and ztunnel and the policies. Implements
:class:`components.mesh.provider.MeshProvider` from :mod:`components.mesh.policy`.
"""
