"""Shared pytest configuration: `--full` runs the paper-scale tests marked `slow`."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full", action="store_true", default=False, help="also run paper-scale tests marked slow"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--full"):
        return
    skip_slow = pytest.mark.skip(reason="paper-scale test: run with --full")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
