"""What the test suites share: the local stack, workspace helpers, task stand-ins, a browser.

The fixture modules are registered once as plugins in ``tests/conftest.py``, so no test module imports a
fixture from another; helpers (plain functions and classes) are imported from here.
"""
