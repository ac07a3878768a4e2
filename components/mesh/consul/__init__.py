"""Consul on Kubernetes (consul-k8s 1.9.11, Consul 1.22.7; the server is BUSL-1.1): ACL default deny,
ServiceIntentions per access-model edge, a terminating gateway with ServiceDefaults destinations.

:mod:`.component` builds the servers, injector and gateway; :mod:`.values` the chart values;
:mod:`.config_entries` the intentions and exits. Implements :class:`components.mesh.provider.MeshProvider`.
"""
