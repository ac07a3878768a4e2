"""Edge layer: the only way into Airflow.

Owns the Gateway API CRDs (:mod:`.gateway_api`, also read by Istio, so created before the mesh),
NGINX Gateway Fabric, the NLB Service and DNS record (:mod:`.component`), the Gateway, routes and
TLS certificate as data (:mod:`.routes`), and the OIDC login in front of Airflow
(:mod:`.oauth2_proxy`). Takes the certificates layer's ACME issuer, the identity layer's
oauth2-proxy ServiceAccount, the mesh's pod annotations and ``ready``, and the network's subnets.
"""
