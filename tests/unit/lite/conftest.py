"""The in-process lite fixtures of tests/unit/test_jenkins_lite.py, for the tests of this folder."""

from tests.unit.lite.test_server import one, start

__all__ = ["one", "start"]
