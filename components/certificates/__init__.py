"""Certificates layer: cert-manager and the ClusterIssuers other layers ask for certificates.

Owns :class:`~components.certificates.component.Certificates`: the ACME (Let's Encrypt, DNS-01)
issuer the edge uses and the private root issuer the mesh CA is signed by. Takes the identity
layer's cert-manager role and settings (zone, ACME account).
"""
