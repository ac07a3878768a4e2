"""Linkerd (open-source edge release): default-deny inbound, Server/AuthorizationPolicy/MeshTLSAuthentication,
EgressNetwork exits, identity issuer from cert-manager.

:mod:`.component` builds the control plane; :mod:`.identity` the trust anchors, identity issuer and
trust bundle; :mod:`.policies` the authorization per access-model edge; :mod:`.exits` the
EgressNetworks. Implements :class:`components.mesh.provider.MeshProvider` from :mod:`components.mesh.policy`.
"""
