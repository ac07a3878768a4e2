"""airflow-mesh components: one package per layer, wired together only in ``__main__.py``.

Bottom to top; a module imports only from its own package or from packages below it (a test checks
it from the import statements):

- ``versions``, ``platform``, ``kms``: pinned versions, shared names and ports, the one KMS key helper;
- ``settings``: the stack's validated configuration, the only reader of ``pulumi.Config``;
- ``access_model``: who may talk to whom and do what, built from the settings;
- the layers: ``network``, ``cluster``, ``data``, ``identity``, ``certificates``, ``mesh``, ``edge``,
  ``airflow``.

In a layer package, ``component.py`` is the layer's main ComponentResource where it has one; other
modules are named for what they hold.
"""
