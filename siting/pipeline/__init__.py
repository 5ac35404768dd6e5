"""Floor 8: the two jobs end to end.

- :mod:`~siting.pipeline.run`: scenario -> ``NetworkProblem`` -> multi-tier model -> HiGHS -> verifier -> outputs.
- :mod:`~siting.pipeline.locate`: point files -> ``Problem`` -> single-level model -> HiGHS -> verifier.
"""
