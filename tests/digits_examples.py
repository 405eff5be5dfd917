"""The digits examples (examples/torch_digits.py, examples/jax_digits.py) as the adapter tests
load them: imported by path, and wrapped in a module.py:factory file for the CLI."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_example(name: str) -> ModuleType:
    """examples/<name>.py imported by path (the examples are not a package)."""
    spec = importlib.util.spec_from_file_location(f"{name}_example", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_factory(tmp_path: Path, name: str) -> Path:
    """A module file whose ``landscape()`` builds examples/<name>.py's network at width 4 (N = 310),
    30 training steps: a factory SPEC as a user would write one."""
    factory = tmp_path / "digits_factory.py"
    example = str(ROOT / "examples" / f"{name}.py")
    factory.write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('ex', {example!r})\n"
        "ex = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(ex)\n"
        "def landscape():\n"
        "    return ex.make_landscape(width=4, steps=30)\n"
    )
    return factory
