"""Machine clients' keys: their descriptions (for :mod:`.model`) and the roles they may map to.

A machine client (a CI job, a script) calls the REST API with an IdP access token; the edge and the
api-server decide as docs/edge.md ("Who decides what") says. The rules on these keys are
:mod:`.machine_rules`. Imports nothing, so the model and the rules can both read it.
"""

from __future__ import annotations

#: Descriptions of the keys (Pulumi.yaml and the README reference are generated from them).
DESCRIPTIONS = {
    "issuer": "HTTPS issuer of machine clients' access tokens (e.g. an Okta custom authorization server); "
    "empty: oidcIssuerUrl.",
    "audiences": "Audiences (`aud`) accepted on machine access tokens, e.g. `api://airflow`: at Okta the "
    "authorization server's audience, never the client id. Required with machineRoleMappings.",
    "mappings": "Machine client to Airflow role, as `client:<client id>=Role` or `scope:<scope>=Role` "
    "(Admin, Op, User, Viewer or a domain's role). IdP tokens of unmapped clients get nothing.",
    "group": "Group the IdP puts into every machine token's groups claim (oidcGroupsClaim), so machine "
    "tokens pass oidcAllowedGroups at the edge; required when both are set, mapped to no Airflow role.",
}
#: Airflow's built-in FAB roles (rules.BUILTIN_AIRFLOW_ROLES is this tuple).
BUILTIN_ROLES = ("Admin", "Op", "User", "Viewer", "Public")
