"""The access trail's documented questions, as CloudWatch Logs Insights queries (docs/observability.md).

Each is run against the stack's access-trail log group. Records are the collector's
``awscloudwatchlogs`` JSON (``raw_log: false``): ``body``, ``attributes.*`` and ``resource.*``, which
Logs Insights discovers as fields. The attributes each source writes:

- mesh (every provider, components/mesh/provider.py ``ACCESS_LOG_FIELDS``): ``log_source = "mesh"``,
  ``source_identity``, ``destination_identity`` (SPIFFE ids), ``denied_by``; Kuma adds ``method``,
  ``path``, ``status`` and, on requests oauth2-proxy forwarded, ``user`` and ``groups``;
- edge (components/edge/access_log.py): ``log_source = "edge-gateway"`` with ``user``, ``groups``,
  ``uri``, ``status``; ``edge-oauth2-proxy`` with ``user`` and sign-in outcomes;
- task pods: ``log_source = "task"``, ``identity`` (``ns/<namespace>/sa/<service account>``, the one
  identity pods of that namespace may run as) and the task runner's JSON line ``Executing workload``,
  which names the DAG, task and run (airflow/sdk/execution_time/execute_workload.py in task-sdk 1.1.7).

``{x}``-style parameters are filled by the reader: the queries are documentation, not code paths.
"""

from __future__ import annotations

from components.observability.dashboard import DENIALS_QUERY

#: Who reached X (here: the Airflow api-server), through the edge and inside the mesh.
WHO_REACHED = (
    "fields @timestamp, attributes.log_source, attributes.source_identity, attributes.user, attributes.groups, "
    "attributes.method, coalesce(attributes.path, attributes.uri) as target, attributes.status\n"
    "| filter (attributes.log_source = 'mesh' and attributes.destination_identity like /sa\\/airflow-api-server$/)\n"
    "    or attributes.log_source = 'edge-gateway'\n"
    "| stats count(*) as requests, latest(@timestamp) as last_seen\n"
    "    by attributes.log_source, attributes.source_identity, attributes.user, attributes.groups"
)

#: Which identity ran task T (DAG ``finance_close``, task ``load``): the task pod's own line, and the
#: execution-API calls that identity made through the mesh.
WHICH_IDENTITY_RAN = (
    "fields @timestamp, attributes.identity, resource.k8s.namespace.name, resource.k8s.pod.name\n"
    "| filter attributes.log_source = 'task' and @message like /Executing workload/\n"
    "    and @message like /dag_id\\W+finance_close\\W/ and @message like /task_id\\W+load\\W/\n"
    "| sort @timestamp desc"
)

#: What was denied: every connection or request the mesh refused, newest first.
WHAT_WAS_DENIED = DENIALS_QUERY.replace(" | ", "\n| ")

QUERIES = {
    "who reached X": WHO_REACHED,
    "which identity ran task T": WHICH_IDENTITY_RAN,
    "what was denied": WHAT_WAS_DENIED,
}
