"""The browser tests use the same running API and generator as the e2e tests."""

from tests.e2e.conftest import api, generator  # noqa: F401
