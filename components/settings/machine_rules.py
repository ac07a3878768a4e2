"""Rules on the machine-client keys (:mod:`.machine`): each problem as ``add(key, message)``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from components.settings.machine import BUILTIN_ROLES
from components.settings.types import https_url

if TYPE_CHECKING:
    from components.settings.stack import Settings

Add = Callable[[str, str], None]


#: A client id or scope as machineRoleMappings takes it: what IdPs issue (Okta ``0oa...``, Entra GUIDs,
#: Keycloak names, ``api://x/.default``-style scopes), and nothing that oauth2-proxy's authenticated
#: emails file (CSV, ``#`` comments: validator.go LoadAuthenticatedEmailsFile) or the mapping would split.
_MACHINE_NAME = re.compile(r"^[A-Za-z0-9._:@/+-]{1,256}$")


#: Scopes every person's access token carries too (the edge's login asks for them, oauth2_proxy.py SCOPES;
#: OIDC Core 5.4 and 11): mapping one would give the role to every person who signs in.
_PEOPLE_SCOPES = ("openid", "email", "profile", "offline_access", "address", "phone", "groups")


def machine_rules(s: Settings, add: Add) -> None:
    """Machine clients: who they are (client id or scope), which role, which tokens the edge accepts.

    The edge is oauth2-proxy 7.15.3; for a bearer token it sets the session's email to the token's
    ``sub`` when the token has no email (providers/oidc.go ``CreateSessionFromToken``) and then checks
    it against the email domains, and its groups against the allowed groups (oauthproxy.go
    ``getAuthenticatedSession``; oauth2-proxy/oauth2-proxy#2943). docs/edge.md says who decides what.
    """
    known_roles = set(BUILTIN_ROLES) | {d.airflow_role for d in s.domains}
    seen: dict[str, str] = {}
    for i, mapping in enumerate(s.machine_role_mappings):
        key = f"machineRoleMappings[{i}]"
        principal, sep, role = mapping.rpartition("=")
        kind, colon, name = principal.partition(":")
        if not sep or not colon or kind not in ("client", "scope"):
            add(key, f"{mapping!r} must be client:<client id>=Role or scope:<scope>=Role")
        elif not _MACHINE_NAME.match(name):
            add(key, f"{name!r} is not a {kind} name (letters, digits and . _ : @ / + -, no spaces, commas or #)")
        elif role not in known_roles:
            add(key, f"{role!r} is not a role (known: {', '.join(sorted(known_roles))})")
        elif kind == "client" and name == s.oidc_client_id:
            # People's access tokens carry the web client's id (cid/azp): they would all get this role.
            add(key, f"{name!r} is oidcClientId, the people's client: register a separate client for machines")
        elif kind == "scope" and name in _PEOPLE_SCOPES:
            add(key, f"{name!r} is a scope of people's tokens too: every person would get {role!r}")
        elif kind == "scope" and s.oidc_allowed_email_domains:
            add(
                key,
                "a scope names no token subject, and oauth2-proxy checks machine tokens' subjects against "
                "oidcAllowedEmailDomains: map client ids (client:<id>=Role) on this stack",
            )
        elif principal in seen and seen[principal] != role:
            add(key, f"{principal!r} is already mapped to {seen[principal]!r}")
        else:
            seen[principal] = role
    audiences = s.machine_token_audiences
    for i, audience in enumerate(audiences):
        if not audience.strip() or audience != audience.strip():
            add(f"machineTokenAudiences[{i}]", f"{audience!r}: an audience is non-empty, without surrounding spaces")
        elif "=" in audience or "," in audience:
            # oauth2-proxy's extra_jwt_issuers entries are issuer=audience (validation/options.go parseJwtIssuers).
            add(f"machineTokenAudiences[{i}]", f"{audience!r} must not contain '=' or ','")
    if len(set(audiences)) != len(audiences):
        add("machineTokenAudiences", "contains duplicates")
    if s.machine_role_mappings and not audiences:
        add(
            "machineTokenAudiences",
            "required with machineRoleMappings: the `aud` of the machine access tokens (at Okta the authorization "
            "server's audience, e.g. api://default; oauth2-proxy/oauth2-proxy#1350)",
        )
    if audiences and not s.machine_role_mappings:
        add("machineTokenAudiences", "has no effect without machineRoleMappings (no machine client would get a role)")
    if s.machine_token_issuer_url:
        try:
            https_url(s.machine_token_issuer_url)
        except ValueError as err:
            add("machineTokenIssuerUrl", f"{s.machine_token_issuer_url!r}: {err}")
    group = s.machine_edge_group
    people_groups = {m.partition("=")[0] for m in s.airflow_role_mappings} | {
        g for d in s.domains for g in d.oidc_groups
    }
    if s.machine_role_mappings and s.oidc_allowed_groups and not group:
        add(
            "machineEdgeGroup",
            "required when airflow-mesh:oidcAllowedGroups and airflow-mesh:machineRoleMappings are both "
            "set: oauth2-proxy lets a token "
            "through only with an allowed group in its groups claim, which client-credentials tokens lack unless "
            "the IdP adds one (docs/edge.md)",
        )
    if group and not s.machine_role_mappings:
        add("machineEdgeGroup", f"{group!r} has no effect without machineRoleMappings")
    if group and group in people_groups:
        add("machineEdgeGroup", f"{group!r} is mapped to an Airflow role: every person in it would get that role")
