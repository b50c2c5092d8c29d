"""The points of a sweep (no JAX here): config files, grids, names, and the seeds of one run.

A sweep is a list of override dicts. A config module may define ``get_sweep()`` returning them (e.g.
``experiments/iabf/table1.py``; ``get_sweep(arg)`` gets the variant of ``file.py:variant``); each dict maps dotted
config fields to values (``{'seed': 3, 'channel.eps': 0.2}``) and may carry two reserved keys: ``'config'``
(``file.py[:variant]``, the point's own config; default: the sweep's) and ``'name'`` (the point's directory name;
default: built from the fields that vary across the sweep, e.g. ``eps0.2_seed3``). A sweep can also be a grid given
on the command line (:func:`parse_grid`, ``seed=0:16``).

Each point becomes a :class:`Point`: a config reference, its overrides and the arguments of ``launch.main``
(``--config=... --workdir=DIR/<name> --config.seed=3``). A point whose config has ``num_seeds > 1`` is a run of
several seeds (:func:`seed_members`: seeds ``seed .. seed + num_seeds - 1`` in ``DIR/<name>/seed<s>``, summarized
in ``DIR/<name>``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import itertools
import json
import os
import pathlib
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from neuralcodes_jax.config_utils import apply_overrides, cli_value, jsonable, parse_setting, parse_value  # noqa: F401

PyTree = Any

#: Keys of a sweep entry that are not config fields.
RESERVED_KEYS = ("config", "name")

PROGRAM = "launch.main"

#: Overrides that say how long a point trains: raising one continues the finished run from its checkpoints.
BUDGET_FIELDS = ("train.num_epochs",)
#: Overrides that are not part of a point's identity: its budget, and how it shows progress.
NOT_IDENTITY = BUDGET_FIELDS + ("train.progress",)
_NAME_OK = re.compile(r"[^A-Za-z0-9._=+\-/]")
REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------------------------------------------
# Config files.


def split_config_ref(ref: str) -> tuple[str, str | None]:
    """``'path/file.py:variant'`` -> ``('path/file.py', 'variant')``; no colon -> variant ``None``."""
    if not isinstance(ref, str) or not ref:
        raise ValueError(f"config must be 'file.py' or 'file.py:variant', got {ref!r}")
    path, sep, variant = ref.partition(":")
    if not path.endswith(".py"):
        raise ValueError(f"config must name a .py file ('file.py[:variant]'), got {ref!r}")
    return path, (variant if sep else None)


def resolve_config_path(path: str) -> pathlib.Path:
    """The config file: ``path`` as given (relative to the working directory), else relative to the repository."""
    p = pathlib.Path(path)
    if p.is_file():
        return p.resolve()
    q = REPO_ROOT / path
    if not p.is_absolute() and q.is_file():
        return q
    raise ValueError(
        f"config file {path!r} does not exist (relative paths are read from the working directory "
        f"or the repository root)"
    )


@functools.cache
def load_config_module(path: str):
    """Imports a config file. Files inside the repository are imported by module name (``experiments.x.y``)."""
    file = resolve_config_path(path)
    try:
        rel = file.relative_to(REPO_ROOT)
    except ValueError:
        rel = None
    if rel is not None and all(part.isidentifier() for part in rel.with_suffix("").parts):
        dotted = ".".join(rel.with_suffix("").parts)
        if str(REPO_ROOT) not in sys.path and importlib.util.find_spec(rel.parts[0]) is None:
            sys.path.insert(0, str(REPO_ROOT))
        return importlib.import_module(dotted)
    spec = importlib.util.spec_from_file_location(f"_sweep_config_{abs(hash(str(file)))}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_config(ref: str, overrides: Mapping[str, Any] | None = None):
    """``get_config(variant)`` of a config file with dotted ``overrides`` applied (unknown fields raise)."""
    path, variant = split_config_ref(ref)
    module = load_config_module(path)
    if not hasattr(module, "get_config"):
        raise ValueError(f"config file {path!r} has no get_config()")
    config = module.get_config(variant) if variant is not None else module.get_config()
    apply_overrides(config, overrides or {})
    return config


# ----------------------------------------------------------------------------------------------------------------
# Values on the command line.


def parse_grid(text: str) -> tuple[str, list[Any]]:
    """A grid axis: ``'seed=0:16'`` (integers 0..15), ``'seed=0:16:2'``, or ``'channel.eps=0.1,0.2'``."""
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not key or not raw:
        raise ValueError(f"grid entries must look like field=v1,v2,... or field=start:stop[:step], got {text!r}")
    if re.fullmatch(r"-?\d+:-?\d+(:-?\d+)?", raw):
        values: list[Any] = list(range(*(int(x) for x in raw.split(":"))))
    else:
        values = [parse_value(v.strip()) for v in _split_top_level(raw)]
    if not values:
        raise ValueError(f"grid entry {text!r} gives no values")
    return key, values


def _split_top_level(raw: str) -> list[str]:
    """Splits on commas outside brackets, so tuples survive: ``'(1,2),(3,4)'`` -> ``['(1,2)', '(3,4)']``."""
    out, depth, cur = [], 0, ""
    for ch in raw:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [s for s in out if s.strip()]


# ----------------------------------------------------------------------------------------------------------------
# Points.


@dataclasses.dataclass(frozen=True)
class Point:
    """One run of a sweep.

    Attributes:
      name: directory name under the sweep's workdir (may contain '/').
      config: ``file.py[:variant]``.
      overrides: ``((field, value), ...)`` in the sweep's order.
      kind: ``config.method``.
    """

    name: str
    config: str
    overrides: tuple[tuple[str, Any], ...]
    kind: str

    @property
    def program(self) -> str:
        return PROGRAM

    @property
    def override_dict(self) -> dict[str, Any]:
        return dict(self.overrides)

    def workdir(self, root: str | os.PathLike) -> str:
        return os.path.join(str(root), self.name)

    def args(self, root: str | os.PathLike) -> list[str]:
        """Arguments of the point's program: ``--config=... --workdir=ROOT/<name> --config.x=y ...``."""
        return [f"--config={self.config}", f"--workdir={self.workdir(root)}"] + [
            f"--config.{k}={cli_value(v)}" for k, v in self.overrides
        ]

    def command(self, root: str | os.PathLike, python: str = "python", extra: Sequence[str] = ()) -> list[str]:
        """The argv of ``python -m <program> <args> <extra>``."""
        return [python, "-m", self.program, *self.args(root), *extra]

    @property
    def identity(self) -> dict[str, Any]:
        """What makes a point the same run (stored in its ``point.json`` and ``result.json``): the config and the
        overrides, without :data:`NOT_IDENTITY` (a longer budget continues the same run)."""
        overrides = {k: v for k, v in self.overrides if k not in NOT_IDENTITY}
        return jsonable({"config": self.config, "overrides": overrides, "program": self.program})

    @property
    def budget(self) -> dict[str, Any]:
        """The overrides of :data:`BUDGET_FIELDS` (empty: the config's own budget)."""
        return {k: v for k, v in self.overrides if k in BUDGET_FIELDS}

    def load_config(self):
        return load_config(self.config, self.override_dict)


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (tuple, list)):
        return "-".join(_fmt_value(x) for x in v)
    return str(v)


def _name_part(key: str, value: Any, short: str) -> str:
    if key == "config":
        path, variant = split_config_ref(value)
        return (variant or pathlib.Path(path).stem).replace(",", "-")
    return f"{short}{_fmt_value(value)}"


def point_names(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    """Directory names for sweep entries: the entry's ``'name'``, else the fields that vary across the sweep.

    A varying field whose values correspond one to one to those of an earlier varying field (e.g.
    ``eval.noise_levels = (eps,)`` beside ``channel.eps``) is left out of the name; a field is shown by its last
    dotted component unless two varying fields share it. Names are unique (``_<i>`` is appended to repeats).
    """
    keys: list[str] = []
    for e in entries:
        for k in e:
            if k != "name" and k not in keys:
                keys.append(k)
    missing = object()

    def vals(k):
        return [
            json.dumps(jsonable(e.get(k, missing) if e.get(k, missing) is not missing else "<default>"), sort_keys=True)
            for e in entries
        ]

    varying = [k for k in keys if len(set(vals(k))) > 1]
    kept: list[str] = []
    for k in varying:
        vk = vals(k)
        if any(len({(a, b) for a, b in zip(vals(j), vk)}) == len(set(vals(j))) == len(set(vk)) for j in kept):
            continue  # one-to-one with a field already in the name
        kept.append(k)
    lasts = [k.split(".")[-1] for k in kept]
    shorts = {k: (k.split(".")[-1] if lasts.count(k.split(".")[-1]) == 1 else k) for k in kept}
    names = []
    for e in entries:
        if "name" in e:
            name = str(e["name"])
        else:
            parts = [_name_part(k, e[k], shorts[k]) for k in kept if k in e]
            name = "_".join(parts) or "run"
        name = _NAME_OK.sub("-", name).strip("/")
        if not name or any(p in ("", ".", "..") for p in name.split("/")):
            raise ValueError(f"sweep point name {name!r} is not a valid directory name")
        names.append(name)
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if names.count(n) > 1:
            seen[n] = seen.get(n, 0) + 1
            n = f"{n}_{seen[n] - 1}"
        out.append(n)
    return out


def expand_grid(
    entries: Sequence[Mapping[str, Any]], grid: Sequence[tuple[str, Sequence[Any]]]
) -> list[dict[str, Any]]:
    """Every entry combined with every point of the product grid (grid values win)."""
    entries = [dict(e) for e in entries] or [{}]
    if not grid:
        return entries
    keys = [k for k, _ in grid]
    if len(set(keys)) != len(keys):
        raise ValueError(f"grid fields must not repeat, got {keys}")
    out = []
    for e in entries:
        for combo in itertools.product(*(v for _, v in grid)):
            out.append({**e, **dict(zip(keys, combo))})
    return out


def sweep_entries(config_ref: str, grid: Sequence[tuple[str, Sequence[Any]]] = ()) -> list[dict[str, Any]]:
    """The config module's ``get_sweep()`` (if any), expanded by ``grid``; error if neither gives points."""
    path, variant = split_config_ref(config_ref)
    module = load_config_module(path)
    entries: list[dict[str, Any]] = []
    if hasattr(module, "get_sweep"):
        # ``get_sweep(arg)`` gets the variant of ``file.py:variant`` as ``get_config(arg)`` does; otherwise the
        # variant is the config of the points that name none.
        takes_arg = "arg" in inspect.signature(module.get_sweep).parameters
        entries = [dict(e) for e in (module.get_sweep(arg=variant) if takes_arg else module.get_sweep())]
        for i, e in enumerate(entries):
            if not isinstance(e, Mapping):
                raise ValueError(f"get_sweep() of {path!r} must return dicts, entry {i} is {type(e).__name__}")
    elif not grid:
        raise ValueError(
            f"config file {path!r} has no get_sweep(); give the points with --grid=field=values (e.g. --grid=seed=0:16)"
        )
    return expand_grid(entries, grid)


def make_points(
    config_ref: str, entries: Sequence[Mapping[str, Any]], settings: Mapping[str, Any] | None = None
) -> list[Point]:
    """Points of a sweep; every point's config is built once here, so bad fields fail before any training.

    ``settings`` (``--set``) apply to every point after its own overrides.
    """
    if not entries:
        raise ValueError("the sweep has no points")
    names = point_names(entries)
    points = []
    for name, e in zip(names, entries):
        ref = str(e.get("config", config_ref))
        overrides = {k: v for k, v in e.items() if k not in RESERVED_KEYS}
        overrides.update(settings or {})
        overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        config = load_config(ref, overrides)
        points.append(Point(name=name, config=ref, overrides=tuple(overrides.items()), kind=str(config.method)))
    return points


# ----------------------------------------------------------------------------------------------------------------
# Seeds of one run.


def seed_members(config, workdir: str | os.PathLike) -> tuple[list[Any], list[str], list[tuple[str, list[int]]]]:
    """The runs of one experiment: ``config.num_seeds`` (default 1) seeds ``seed, seed + 1, ...``.

    One seed: ``([config], [workdir], [])``. Several: copies of ``config`` with ``seed = seed + i`` and
    ``num_seeds = 1`` in ``WORKDIR/seed<s>``, and the summary set ``[(workdir, [0, 1, ...])]``.
    """
    num = int(config.get("num_seeds", 1))
    if isinstance(config.get("num_seeds", 1), bool) or num < 1:
        raise ValueError(f"num_seeds must be an int >= 1, got {config.get('num_seeds')!r}")
    workdir = str(workdir)
    if num == 1:
        return [config], [workdir], []
    configs, dirs = [], []
    for i in range(num):
        c = copy.deepcopy(config)
        with c.unlocked():
            c.seed = int(config.seed) + i
            c.num_seeds = 1
        configs.append(c)
        dirs.append(os.path.join(workdir, f"seed{int(config.seed) + i}"))
    return configs, dirs, [(workdir, list(range(num)))]
