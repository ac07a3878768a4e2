"""Proof that runs the real thing on a recorded plan (issue 12).

Everything here reads only the recorded plan (``plan.harness.Plan.resources``: dicts with ``type``,
``name``, ``inputs``...), never the program's components, so it keeps working however the program
is structured. The modules:

- ``charts``: render every ``kubernetes:helm.sh/v3:Release`` with the real chart from
  ``$AIRFLOW_MESH_UPSTREAM_DIR/charts`` (helm-python-sdk, Helm's own engine), cached.
- ``objects``: the set of Kubernetes objects one plan puts in a cluster (rendered + emitted).
- ``apiserver``: validation like the API server's (Kubernetes schemas, strict CRD schemas, CEL).
- ``cel_k8s``: the Kubernetes CEL library functions cel-python lacks.
- ``wiring`` and ``pod_security``: what a cluster trips over that no schema sees.
- ``checkov_scan``: checkov on the rendered set with the reviewed suppression list.
"""
