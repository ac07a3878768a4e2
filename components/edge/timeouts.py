"""How long each layer of the edge waits for Airflow: one number per journey, outer >= inner.

A request crosses NLB -> NGINX -> oauth2-proxy -> (mesh) -> Airflow. If an outer layer gives up first,
the client gets its 504 while the inner layers are still working and nobody logs why (issue 14,
journey 2: NGINX's 60 s default under oauth2-proxy's 120 s, nginx/nginx-gateway-fabric#2164, #5131).
So every timeout below comes from :data:`API_CALL_SECONDS`, each outer layer adds
:data:`MARGIN_SECONDS`, and :func:`check` refuses a value the NLB's fixed idle timeout cannot hold.
``plan/journey_timeouts.py`` reads them back from the recorded objects.
"""

from __future__ import annotations

#: A person's or machine's API call, end to end, in seconds: oauth2-proxy waits this long for Airflow
#: (Airflow's api-server, uvicorn, has no request timeout of its own; the meshes add none on TCP).
API_CALL_SECONDS = 120
#: What each outer layer adds, so the inner one answers (and logs) first.
MARGIN_SECONDS = 5
#: AWS NLB TCP idle timeout: fixed at 350 s for load balancers the in-tree cloud provider makes.
NLB_IDLE_SECONDS = 350
#: NGINX's time to open a connection to oauth2-proxy (in-cluster; a slow connect is a dead pod).
CONNECT_SECONDS = 10


def oauth2_proxy_upstream_timeout() -> str:
    """oauth2-proxy ``upstream_timeout`` (Go duration)."""
    return f"{API_CALL_SECONDS}s"


def nginx_proxy_timeout() -> str:
    """NGINX ``proxy_read_timeout`` / ``proxy_send_timeout`` on the Airflow route (NGINX duration)."""
    return f"{API_CALL_SECONDS + MARGIN_SECONDS}s"


def check() -> None:
    """``ValueError`` when the NLB would cut an idle connection before NGINX gives up."""
    if API_CALL_SECONDS + 2 * MARGIN_SECONDS > NLB_IDLE_SECONDS:
        raise ValueError(f"API_CALL_SECONDS={API_CALL_SECONDS} does not fit under the NLB's {NLB_IDLE_SECONDS}s")


check()
