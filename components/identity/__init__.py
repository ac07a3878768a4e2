"""Identity layer: every namespace and every workload identity the access model names.

Owns :mod:`.namespaces` (labelled for the chosen mesh) and :mod:`.workloads` (a ServiceAccount per
workload and a least-privilege IAM role per workload that calls AWS). Takes the access model, the
cluster's workload-identity mechanism and the data layer's bucket and key ARNs (grant values).
"""
