"""Registry mapping task-kind names to implementations.

Adding a kind is adding one module under ``evaluator/kinds/`` that decorates its
class with ``@register``; modules are discovered automatically.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from typing import TYPE_CHECKING

from evaluator.errors import ValidationError

if TYPE_CHECKING:
    from evaluator.kinds.base import Kind

_KINDS: dict[str, type[Kind]] = {}
_loaded = False


def register(cls: type[Kind]) -> type[Kind]:
    name = cls.name
    if not name:
        raise TypeError(f"{cls.__name__} has no kind name")
    if name in _KINDS and _KINDS[name] is not cls:
        raise TypeError(f"kind {name!r} registered twice")
    _KINDS[name] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    import evaluator.kinds as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_") and mod.name != "base":
            importlib.import_module(f"evaluator.kinds.{mod.name}")
    _loaded = True


def kind_names() -> list[str]:
    _load_all()
    return sorted(_KINDS)


def get_kind(name: str) -> Kind:
    if name not in _KINDS:
        # Convention: kind "change-detection" lives in kinds/change_detection.py.
        # Importing just that module keeps start-up fast.
        module = name.replace("-", "_")
        if module.isidentifier() and importlib.util.find_spec(f"evaluator.kinds.{module}"):
            importlib.import_module(f"evaluator.kinds.{module}")
        else:
            _load_all()
    try:
        return _KINDS[name]()
    except KeyError:
        raise ValidationError(
            f"unknown task kind {name!r} (known: {', '.join(kind_names())})"
        ) from None
