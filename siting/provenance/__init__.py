"""Floor 6: where a run came from and whether its files still hold up.

- :mod:`~siting.provenance.manifest`: ``manifest.json`` (input hashes, versions, options, certificate).
- :mod:`~siting.provenance.audit`: ``siting verify RUN_DIR``, with :mod:`~siting.provenance.checks` (shared
  readers and the report), :mod:`~siting.provenance.audit_locate` and :mod:`~siting.provenance.audit_network`.
- :mod:`~siting.provenance.memory`: the memory guard (estimate before building, refuse when it cannot fit).
"""
