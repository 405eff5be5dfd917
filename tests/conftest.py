"""Shared pytest configuration: `--full` runs the paper-scale tests marked `slow`."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full", action="store_true", default=False, help="also run paper-scale tests marked slow"
    )


#: test modules that load torch or JAX: both start thread pools, and a process forked after
#: that (the sweep's and the pipeline's worker processes are forked on Linux) can deadlock, so
#: these run after every other test of the session
FRAMEWORK_MODULES = ("test_torch_adapter.py", "test_jax_adapter.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name in FRAMEWORK_MODULES)  # stable: order kept otherwise
    if config.getoption("--full"):
        return
    skip_slow = pytest.mark.skip(reason="paper-scale test: run with --full")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


def pytest_sessionstart(session: pytest.Session) -> None:
    """With PLASTICITY_REQUIRE_MODULES=a,b set (CI does), a missing optional module is an
    error rather than a reason to skip: the tests that need it must really run there."""
    import importlib.util
    import os

    wanted = [m for m in os.environ.get("PLASTICITY_REQUIRE_MODULES", "").split(",") if m.strip()]
    missing = []
    for name in wanted:
        # found, not imported: importing torch or jax here would load their thread pools
        # into every test of the session
        try:
            found = importlib.util.find_spec(name.strip()) is not None
        except ImportError:
            found = False
        if not found:
            missing.append(name.strip())
    if missing:
        raise pytest.UsageError("PLASTICITY_REQUIRE_MODULES: not installed: " + "; ".join(missing))
