"""Kuma 2.14: the default mesh provider (MeshIdentity, MeshTrust, MeshTLS, MeshTrafficPermission).

:mod:`.component` builds the control plane and the policies; :mod:`.exits` turns the access model's
egress entries into MeshPassthrough matches (Kuma closes egress, so every exit is listed).
Implements :class:`components.mesh.provider.MeshProvider` from :mod:`components.mesh.policy`.
"""
