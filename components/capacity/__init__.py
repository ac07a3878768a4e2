"""Capacity layer: task nodes that appear when tasks need them, and a stack that can sleep.

- :mod:`.aws`: Karpenter's AWS side (node role + access entry, interruption queue + EventBridge
  rules, node-volume key), created with the cluster so the identity layer can scope the controller's
  role to them;
- :mod:`.karpenter`: the controller release, the task EC2NodeClass and NodePools (:mod:`.nodes`);
- :mod:`.sleep`: the optional working-hours schedule (node groups, task nodes and RDS).

Wired in ``__main__.py`` after the identity layer (the controller's role) and before nothing: no
other layer waits for task capacity, so it stays off the deploy's critical path.
"""
