"""Methods, found by module name: ``config.method = "x"`` is built by ``neuralcodes_jax/methods/x.py:build``.

To add a method, write ``methods/<name>.py`` with a subclass of :class:`base.Method` whose ``CONFIG`` is its typed
spec (the config sections it reads, ``neuralcodes_jax.specs``) and whose ``from_spec(spec, data)`` builds it
(``data``: a :class:`base.DataSpec`, or ``None`` when the method draws its own inputs), and ``METHOD = <the
class>``; no other file changes. Every method is built the same way, by :func:`build`. See ``methods/base.py`` for
the contract and WORKSPACE.md for a walk-through.
"""

from __future__ import annotations

import importlib
import pkgutil

from neuralcodes_jax.methods.base import ALWAYS_GROUPABLE, DataSpec, Method, Stage  # noqa: F401

_NOT_METHODS = frozenset({"base"})


def available() -> list[str]:
    """Names of the method modules of this package."""
    return sorted(
        m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_METHODS and not m.name.startswith("_")
    )


def module(name: str):
    """The module of method ``name`` (``ValueError`` naming the available ones if there is none)."""
    if not isinstance(name, str) or name not in available():
        raise ValueError(f"method must be one of {available()}, got {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def method_class(name: str) -> type[Method]:
    """The class of method ``name`` (its ``METHOD``), e.g. for its ``group_fields`` before any data is loaded."""
    cls = getattr(module(name), "METHOD", None)
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise ValueError(f"method module {name!r} must define METHOD, its methods.base.Method subclass")
    return cls


def may_vary(field: str, group_fields: tuple[str, ...]) -> bool:
    """Whether the runs of a group may differ in config ``field`` (or a field below it): the fields every group may
    vary (:data:`ALWAYS_GROUPABLE`) and the method's ``group_fields``."""
    return any(field == a or field.startswith(a + ".") for a in ALWAYS_GROUPABLE + tuple(group_fields))


def group_key(config) -> str:
    """What configs of one group share: every field of ``config`` a group may not vary (JSON, sorted)."""
    import json

    from neuralcodes_jax import config_utils

    fields = method_class(config.method).group_fields
    return json.dumps(
        {k: v for k, v in config_utils.flatten(config).items() if not may_vary(k, fields)}, sort_keys=True, default=str
    )


def build(config, data: DataSpec | None) -> Method:
    """The method ``config.method`` built from ``config`` and the dataset's :class:`DataSpec` (or ``None``)."""
    method = method_class(config.method).from_config(config, data)
    if method.uses_data and data is None:
        raise ValueError(f"method {config.method!r} trains on a dataset: the config needs a 'data' section")
    return method
