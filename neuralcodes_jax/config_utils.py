"""Config helpers without JAX: validators, dotted fields, overrides, command-line values.

Validators take ``(field, value, ...)`` in that order and raise ``ValueError`` naming the config field and what is
allowed; they return the value converted (an ``int``, a ``float``). Every config check in the package uses them.
"""

from __future__ import annotations

import ast
import difflib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------------------------------------------
# Validators.


def check_choice(field: str, value: Any, allowed: Sequence[Any]) -> Any:
    if value not in tuple(allowed):
        raise ValueError(f"{field} must be one of {list(allowed)}, got {value!r}")
    return value


def check_int(field: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{field} must be an int, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if hi is None:
            rng = f">= {lo}"
        elif lo is None:
            rng = f"<= {hi}"
        else:
            rng = f"in [{lo}, {hi}]"
        raise ValueError(f"{field} must be {rng}, got {value!r}")
    return int(value)


def check_real(field: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
    ):
        raise ValueError(f"{field} must be a finite real number, got {value!r}")
    return float(value)


def check_positive(field: str, value: Any, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{field} must be a real number, got {value!r}")
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        raise ValueError(f"{field} must be a finite number {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


def check_probability(
    field: str, value: Any, hi: float = 0.5, *, lo: float = 0.0, lo_open: bool = False, hi_open: bool = False
) -> np.ndarray:
    """A probability (or an array of them) as float64, every entry in ``[lo, hi]`` (an end is excluded when
    ``lo_open`` / ``hi_open``); nothing is clipped. ``float(...)`` of the result for a scalar. The one probability
    validator of the package (channels, exact evaluations, bounds, configs)."""
    left, right = "(" if lo_open else "[", ")" if hi_open else "]"
    allowed = f"in {left}{lo:g}, {hi:g}{right}"
    if isinstance(value, (bool, np.bool_)) or getattr(np.asarray(value), "dtype", None) == np.bool_:
        raise ValueError(f"{field} must be a probability {allowed}, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be a probability {allowed}, got {value!r}") from None
    below = arr <= lo if lo_open else arr < lo
    above = arr >= hi if hi_open else arr > hi
    bad = ~np.isfinite(arr) | below | above
    if np.any(bad):
        raise ValueError(f"{field} must be {allowed}, got {float(arr[bad].flat[0])!r}")
    return arr


def check_bool(field: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{field} must be a bool, got {value!r}")
    return bool(value)


# ----------------------------------------------------------------------------------------------------------------
# Dotted fields.


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """``{'a.b': value}`` for every leaf of a ConfigDict or mapping (sequences become tuples)."""
    out: dict[str, Any] = {}
    items = _plain(config)
    for key, value in items.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            sub = flatten(value, name + ".")
            out.update(sub if sub else {name: {}})
        elif isinstance(value, list | tuple):
            out[name] = tuple(value)
        else:
            out[name] = value
    return out


def unknown_field_error(config: Any, key: str) -> ValueError:
    """The error for an unknown dotted field: names it and the closest existing fields."""
    close = difflib.get_close_matches(key, list(flatten(config)), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return ValueError(f"unknown config field {key!r}{hint}")


def apply_overrides(config: Any, overrides: Mapping[str, Any]) -> None:
    """Sets dotted fields of a ConfigDict in place; an unknown field raises ``ValueError`` naming it and the
    closest existing ones."""
    for key, value in overrides.items():
        node = config
        *path, last = key.split(".")
        for part in path:
            if part not in node or not hasattr(node[part], "keys"):
                raise unknown_field_error(config, key)
            node = node[part]
        if last not in node:
            raise unknown_field_error(config, key)
        if isinstance(value, list):
            value = tuple(value)
        try:
            node[last] = value
        except TypeError as err:
            raise ValueError(f"config field {key!r}: {err}") from None


# ----------------------------------------------------------------------------------------------------------------
# Values on the command line.


def parse_value(raw: str) -> Any:
    """A Python literal when ``raw`` parses as one, else the string itself."""
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def parse_setting(text: str) -> tuple[str, Any]:
    """``'a.b=value'`` -> ``('a.b', value)``."""
    if "=" not in text:
        raise ValueError(f"settings must look like field=value, got {text!r}")
    key, raw = text.split("=", 1)
    return key.strip(), parse_value(raw.strip())


def cli_value(value: Any) -> str:
    """How ``launch.main`` takes a value after ``--config.x=`` (one argv word; tuples as ``(a,b,)``)."""
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(repr(v) if isinstance(v, str) else cli_value(v) for v in value) + ",)"
    if isinstance(value, float):
        return repr(value)
    return str(value)


# ----------------------------------------------------------------------------------------------------------------
# Files a run reads back from its workdir.


class DamagedFileError(ValueError):
    """A file a run wrote and reads back (``config.json``, ``result.json``, ...) is damaged, truncated or hand-edited
    beyond reading: one line naming the file, what is wrong and what to do."""


def read_json_file(path: Any, remedy: str, expect: type | None = dict) -> Any:
    """The JSON value of ``path``; :class:`DamagedFileError` (one line: the file, the reason, ``remedy``) when it
    cannot be read or parsed, or is not of type ``expect``."""
    import json

    try:
        with open(path) as f:
            value = json.load(f)
    except json.JSONDecodeError as err:
        raise DamagedFileError(
            f"{path} is damaged ({err.msg} at line {err.lineno}, column {err.colno}): {remedy}"
        ) from None
    except UnicodeDecodeError as err:
        raise DamagedFileError(f"{path} is damaged (not UTF-8 text: {err.reason}): {remedy}") from None
    except OSError as err:
        raise DamagedFileError(f"{path} cannot be read ({err.strerror}): {remedy}") from None
    if expect is not None and not isinstance(value, expect):
        raise DamagedFileError(
            f"{path} is damaged (a JSON {type(value).__name__} where a {expect.__name__} belongs): {remedy}"
        )
    return value


def jsonable(obj: Any, *, finite: bool = False) -> Any:
    """``obj`` through JSON and back: tuples become lists, NumPy/JAX scalars and arrays numbers and lists, other
    objects their ``str``. With ``finite``, non-finite floats become the strings ``'inf'``, ``'-inf'``, ``'nan'``
    (strict JSON)."""
    out = json.loads(json.dumps(obj, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))
    return _finite_floats(out) if finite else out


def _finite_floats(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {k: _finite_floats(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite_floats(x) for x in v]
    return v
