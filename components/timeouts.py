"""How long each layer waits on a request journey: one budget per journey, outer >= inner.

A person's or machine's API call crosses NLB -> NGINX -> oauth2-proxy -> mesh -> Airflow's api-server
-> PgBouncer -> RDS. If an outer layer gives up first, the client gets its 504 while the inner layers
are still working and nobody logs why (issue 14, journey 2: NGINX's 60 s default under oauth2-proxy's
120 s, nginx/nginx-gateway-fabric#2164, #5131). So every layer's timeout comes from the journey's
budget (the ``apiCallTimeoutSeconds`` setting), each layer outside adds :data:`MARGIN_SECONDS` and
each wait inside subtracts it, so the innermost layer that gives up answers (and logs) first:

==============  ==========================================  =====================================
layer           timeout                                     set by
==============  ==========================================  =====================================
NLB             350 s TCP idle, fixed                       AWS (NLBs the in-tree provider makes)
NGINX           budget + margin (read and send)             ProxySettingsPolicy on the route
oauth2-proxy    budget (``upstream_timeout``)               its config file
mesh            none on these TCP hops                      see below
api-server      none (uvicorn has no request timeout)       -
PgBouncer       budget - margin (``query_wait_timeout``)    pgbouncer.ini
==============  ==========================================  =====================================

The meshes add no request timeout here because every Service on the journey is plain TCP to them:
Kuma's default ``MeshTimeout`` bounds idle TCP connections at 1 h, and Envoy's 15 s route timeout
(kumahq/kuma ``pkg/plugins/policies/meshtimeout/plugin/testdata/basic_without_defaults_*``) applies
only to ports Kuma treats as HTTP, which it does only for an ``appProtocol`` or
``<port>.service.kuma.io/protocol`` annotation (``pkg/plugins/runtime/k8s/controllers/
inbound_converter.go`` ``ProtocolTagFor``: tcp otherwise); Istio ambient without waypoints, Linkerd
without route timeouts and Consul with protocol ``tcp`` have none. ``plan/journey_timeouts.py``
reads every value back from the recorded objects, including that no journey Service is HTTP to a mesh.
Exits follow the same rule: Consul builds a plain-HTTP destination's route in the caller's sidecar with
no timeout field (hashicorp/consul ``agent/xds/routes.go`` ``makeNamedAddressesRoute``), so Envoy's 15 s
default would cut a task's call and no config entry reaches it; the settings refuse port-80 exits with
Consul, and ``journey_timeouts.consul_exit_hop`` reads back that every destination is tcp.

PgBouncer's ``query_timeout`` (cancel a running query) stays 0: it would also cut the migration Job's
long statements, which pass through the same PgBouncer.
"""

from __future__ import annotations

from dataclasses import dataclass

#: AWS NLB TCP idle timeout: fixed at 350 s for load balancers the in-tree cloud provider makes.
NLB_IDLE_SECONDS = 350
#: What each outer layer adds (and each inner wait subtracts), so the inner one answers first.
MARGIN_SECONDS = 5
#: NGINX's time to open a connection to oauth2-proxy (in-cluster; a slow connect is a dead pod).
CONNECT_SECONDS = 10
#: ``apiCallTimeoutSeconds`` default: oauth2-proxy waits this long for Airflow.
DEFAULT_API_CALL_SECONDS = 120
#: Bounds of the budget: PgBouncer's wait must stay positive, NGINX's must fit under the NLB's.
MIN_API_CALL_SECONDS = 2 * MARGIN_SECONDS
MAX_API_CALL_SECONDS = NLB_IDLE_SECONDS - 2 * MARGIN_SECONDS


@dataclass(frozen=True)
class ApiCall:
    """The API-call journey's timeouts, in seconds, from its budget.

    Raises ``ValueError`` when the budget is outside [:data:`MIN_API_CALL_SECONDS`,
    :data:`MAX_API_CALL_SECONDS`] (the settings reject such a value before this is built).
    """

    budget_seconds: int = DEFAULT_API_CALL_SECONDS

    def __post_init__(self) -> None:
        if not MIN_API_CALL_SECONDS <= self.budget_seconds <= MAX_API_CALL_SECONDS:
            raise ValueError(
                f"API call budget {self.budget_seconds}s is outside {MIN_API_CALL_SECONDS}-{MAX_API_CALL_SECONDS}s "
                f"(NGINX's {MARGIN_SECONDS}s margin must fit under the NLB's {NLB_IDLE_SECONDS}s idle timeout)"
            )

    @property
    def nginx_seconds(self) -> int:
        """NGINX ``proxy_read_timeout`` / ``proxy_send_timeout`` on the Airflow route."""
        return self.budget_seconds + MARGIN_SECONDS

    @property
    def oauth2_proxy_seconds(self) -> int:
        """oauth2-proxy ``upstream_timeout``."""
        return self.budget_seconds

    @property
    def pgbouncer_query_wait_seconds(self) -> int:
        """PgBouncer ``query_wait_timeout``: how long a query waits for a server connection."""
        return self.budget_seconds - MARGIN_SECONDS
