"""Rules of the edge's sessions: can the accepted worst-case session pass NGINX as cookies (issue 14,
journey 3), and where does logout send the browser (journey 4). Called from
:mod:`components.settings.rules`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from components.settings import session_size
from components.settings.types import https_url

if TYPE_CHECKING:
    from components.settings.stack import Settings

Add = Callable[[str, str], None]
#: oauth2-proxy's session cookie (components/edge/oauth2_proxy.py ``COOKIE_NAME``); its length counts.
COOKIE_NAME = "__Host-airflow-auth"


def session_shape(s: Settings) -> session_size.SessionShape:
    """The largest session the stack accepts."""
    return session_size.SessionShape(
        groups=s.oauth2_proxy_session_max_groups,
        group_name_bytes=s.oauth2_proxy_session_max_group_name_bytes,
        token_bytes=s.oauth2_proxy_session_max_token_bytes,
    )


def session_rules(s: Settings, add: Add) -> None:
    """``cookie`` sessions only when the worst case fits NGINX's request header line; a valid logout URL."""
    shape = session_shape(s)
    if s.oauth2_proxy_session_store == "cookie" and not session_size.fits_in_cookies(shape, COOKIE_NAME):
        wire = session_size.cookie_session(shape, COOKIE_NAME)
        add(
            "oauth2ProxySessionStore",
            f"'cookie' cannot carry the session you accept (oauth2ProxySessionMaxGroups={shape.groups}, "
            f"oauth2ProxySessionMaxGroupNameBytes={shape.group_name_bytes}, "
            f"oauth2ProxySessionMaxTokenBytes={shape.token_bytes}): it is {len(wire.cookies)} cookies and a "
            f"{wire.cookie_header}-byte Cookie header, NGINX accepts {session_size.cookie_room()} for it "
            f"({session_size.NGINX_HEADER_LINE_BYTES} minus {session_size.OTHER_COOKIES_BYTES} for Airflow's "
            "own cookies); set it to 'redis', or filter the groups claim at the IdP and lower the limits",
        )
    groups_line = session_size.cookie_session(shape, COOKIE_NAME).groups_header
    if groups_line > session_size.GROUPS_HEADER_MAX_BYTES:
        add(
            "oauth2ProxySessionMaxGroups",
            f"{shape.groups} groups of {shape.group_name_bytes} bytes make a {groups_line}-byte groups header on "
            f"every request to Airflow (at most {session_size.GROUPS_HEADER_MAX_BYTES}, whatever the session "
            "store); filter the groups claim at the IdP to the groups Airflow maps",
        )
    if s.oidc_end_session_endpoint:
        try:
            https_url(s.oidc_end_session_endpoint)
        except ValueError as error:
            add("oidcEndSessionEndpoint", f"{s.oidc_end_session_endpoint!r}: {error}")


def logout_host(s: Settings) -> str:
    """The IdP host logout redirects to: the end-session endpoint's, else the issuer's (Okta, Entra ID,
    Keycloak and Auth0 all serve ``end_session_endpoint`` from the issuer's host)."""
    return urlsplit(s.oidc_end_session_endpoint or s.oidc_issuer_url).hostname or ""
