"""The batch engine's scoring side: job spec, mini-batch planning and the worker processes.

``engine.py`` orchestrates; this package holds what it orchestrates: the plain records and pure logic
(``spec``, ``plan``), the parent-side handle of one worker process (``pool``) and the code that runs
inside that process (``worker``, standard library only so that a worker starts fast).
"""
