"""Sweeps as data: points, names, commands, grouping, and vmapped training of a group of points.

A sweep is a list of override dicts. A config module may define ``get_sweep()`` returning them (e.g.
``experiments/iabf/table1.py``); each dict maps dotted config fields to values (``{'seed': 3, 'channel.eps': 0.2}``)
and may carry two reserved keys: ``'config'`` (``file.py[:variant]``, the point's own config; default: the sweep's)
and ``'name'`` (the point's directory name; default: built from the fields that vary across the sweep, e.g.
``eps0.2_seed3``). A sweep can also be a grid given on the command line (:func:`parse_grid`, ``seed=0:16``).

Each point becomes a :class:`Point`: a config reference, its overrides, its program (``launch.main`` for the
trainer methods NECST/IABF, ``launch.progressive`` for the learned-code configs) and the arguments of that
program (``--config=... --workdir=DIR/<name> --config.seed=3``). ``launch/sweep.py`` runs points as separate
processes; ``launch/tpu_vm.py`` and ``launch/xm_launch.py`` turn the same arguments into cloud jobs.

Vmapped sweeps (DESIGN convention 7: independent runs of a sweep are one program). Points whose configs are equal
except for the fields of :data:`VMAP_FIELDS` (the seed, the training channel noise where the method takes it as an
array, and the test noise levels) have the same shapes and are trained as one jitted, vmapped program with their states stacked on a leading
axis:

* trainer methods (:func:`train_group`): ``method.init`` and ``method.train_step`` (``methods/base.py``) under
  ``jax.vmap``. Each point keeps the RNG conventions of ``train.train_and_evaluate``: streams
  ``fold_in(key(seed), i)``, step key ``fold_in(train, step)``, epoch permutation ``fold_in(data, epoch)``, the same
  batches, validation at every epoch end with best-by-validation parameters, and the same evaluation over
  ``eval.noise_levels``; so a point of a vmapped group trains what ``launch.main`` would have trained, up to float
  rounding. NECST's training noise enters as a per-point traced scalar: the channel objects hold ``eps`` as a
  Python float (``channels.BinaryInputChannel``), and their training-time operations (``sample``, ``log_prob``
  through ``bsc_noisy_log_probs`` / ``bec_noisy_log_probs``) accept an array, so :func:`with_channel_eps` gives the
  method a copy of its channel whose ``eps`` is the traced value (only inside the vmapped step; evaluation uses
  each point's own method). IABF gets the same copy inside its NECST base; where its flip decision needs the
  noise (``IABF.flips_enabled``: no flips at noise 0) a traced noise gives a traced decision, so the flips are
  computed for every point and zeroed where ``eps = 0``.
* progressive codes (:func:`train_progressive_group`): ``methods.progressive.train_seed`` under ``jax.vmap`` over
  the seed keys of all points of the group (``config.seed`` -> ``seed_keys(seed, num_seeds)``), with the training
  crossover ``channel.train_p`` per key as a traced value (:func:`with_train_p`); without varying ``train_p``
  this is exactly ``progressive.train_seeds``.

A trainer-method group is sharded over the devices along the stacked axis (the largest divisor of the group size
not above the device count), so points never communicate. Each point's directory gets ``result.json`` (the common summary that
``launch/sweep.py`` also writes for points run as processes), ``config.json`` and, for trainer methods,
``metrics.jsonl``, ``eval.json`` and ``eval.md`` as ``launch.main`` writes them; for learned codes
``codebook_reports.json`` (per training and seed the report of ``progressive.codebook_report``, as in
``launch.progressive``'s ``codebook_report.json``). Vmapped groups do not checkpoint:
an interrupted group is retrained from the start (finished points are skipped).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import importlib
import importlib.util
import itertools
import json
import os
import pathlib
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

PyTree = Any

#: Fields a vmapped group may vary, per kind of run (``config.method``, or ``'progressive'``): the seed, the training
#: noise where the method takes it as an array, and the test noise levels (evaluated per point).
VMAP_FIELDS: dict[str, tuple[str, ...]] = {
    "necst": ("seed", "channel.eps", "eval.noise_levels"),
    "iabf": ("seed", "channel.eps", "eval.noise_levels"),
    "progressive": ("seed", "channel.train_p"),
}

#: Keys of a sweep entry that are not config fields.
RESERVED_KEYS = ("config", "name")

#: The program that runs a point of each kind.
PROGRAMS = {"progressive": "launch.progressive"}
DEFAULT_PROGRAM = "launch.main"

_NAME_OK = re.compile(r"[^A-Za-z0-9._=+\-/]")
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


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
    raise ValueError(f"config file {path!r} does not exist (relative paths are read from the working directory "
                     f"or the repository root)")


@functools.lru_cache(maxsize=None)
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


def apply_overrides(config, overrides: Mapping[str, Any]) -> None:
    """Sets dotted fields of a ConfigDict in place; an unknown field raises ValueError naming it."""
    for key, value in overrides.items():
        node = config
        *path, last = key.split(".")
        for part in path:
            if part not in node:
                raise ValueError(f"unknown config field {key!r} (no {part!r})")
            node = node[part]
        if last not in node:
            raise ValueError(f"unknown config field {key!r}")
        if isinstance(value, list):
            value = tuple(value)
        try:
            node[last] = value
        except TypeError as err:
            raise ValueError(f"config field {key!r}: {err}") from None


def config_kind(config) -> str:
    """``'progressive'`` for learned-code configs (``launch.progressive``), else ``config.method``."""
    if "trainings" in config and "code" in config:
        return "progressive"
    return str(config.get("method", "necst"))


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


def cli_value(value: Any) -> str:
    """How ``launch.main`` / ``launch.progressive`` take a value after ``--config.x=`` (one argv word)."""
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(repr(v) if isinstance(v, str) else cli_value(v) for v in value) + ",)"
    if isinstance(value, float):
        return repr(value)
    return str(value)


# ----------------------------------------------------------------------------------------------------------------
# Points.

@dataclasses.dataclass(frozen=True)
class Point:
    """One run of a sweep.

    Attributes:
      name: directory name under the sweep's workdir (may contain '/').
      config: ``file.py[:variant]``.
      overrides: ``((field, value), ...)`` in the sweep's order.
      kind: ``config.method`` (``'necst'``, ``'iabf'``) or ``'progressive'``.
    """

    name: str
    config: str
    overrides: tuple[tuple[str, Any], ...]
    kind: str

    @property
    def program(self) -> str:
        return PROGRAMS.get(self.kind, DEFAULT_PROGRAM)

    @property
    def override_dict(self) -> dict[str, Any]:
        return dict(self.overrides)

    def workdir(self, root: str | os.PathLike) -> str:
        return os.path.join(str(root), self.name)

    def args(self, root: str | os.PathLike) -> list[str]:
        """Arguments of the point's program: ``--config=... --workdir=ROOT/<name> --config.x=y ...``."""
        return [f"--config={self.config}", f"--workdir={self.workdir(root)}"] + [
            f"--config.{k}={cli_value(v)}" for k, v in self.overrides]

    def command(self, root: str | os.PathLike, python: str = "python", extra: Sequence[str] = ()) -> list[str]:
        """The argv of ``python -m <program> <args> <extra>``."""
        return [python, "-m", self.program, *self.args(root), *extra]

    @property
    def identity(self) -> dict[str, Any]:
        """What makes a point the same run (stored in its ``result.json``)."""
        return _jsonable({"config": self.config, "overrides": self.override_dict, "program": self.program})

    def load_config(self):
        return load_config(self.config, self.override_dict)


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


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
        return [json.dumps(_jsonable(e.get(k, missing) if e.get(k, missing) is not missing else "<default>"),
                           sort_keys=True) for e in entries]

    varying = [k for k in keys if len(set(vals(k))) > 1]
    kept: list[str] = []
    for k in varying:
        vk = vals(k)
        if any(len({(a, b) for a, b in zip(vals(j), vk)}) == len(set(vals(j))) == len(set(vk)) for j in kept):
            continue          # one-to-one with a field already in the name
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


def expand_grid(entries: Sequence[Mapping[str, Any]], grid: Sequence[tuple[str, Sequence[Any]]]
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
    path, _ = split_config_ref(config_ref)
    module = load_config_module(path)
    entries: list[dict[str, Any]] = []
    if hasattr(module, "get_sweep"):
        entries = [dict(e) for e in module.get_sweep()]
        for i, e in enumerate(entries):
            if not isinstance(e, Mapping):
                raise ValueError(f"get_sweep() of {path!r} must return dicts, entry {i} is {type(e).__name__}")
    elif not grid:
        raise ValueError(f"config file {path!r} has no get_sweep(); give the points with --grid=field=values "
                         f"(e.g. --grid=seed=0:16)")
    return expand_grid(entries, grid)


def make_points(config_ref: str, entries: Sequence[Mapping[str, Any]],
                settings: Mapping[str, Any] | None = None) -> list[Point]:
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
        points.append(Point(name=name, config=ref, overrides=tuple(overrides.items()), kind=config_kind(config)))
    return points


# ----------------------------------------------------------------------------------------------------------------
# Grouping.

def _group_key(point: Point) -> str:
    config = point.load_config().to_dict()
    for field in VMAP_FIELDS.get(point.kind, ()):
        node = config
        *path, last = field.split(".")
        for part in path:
            node = node.get(part, {})
        if isinstance(node, dict):
            node.pop(last, None)
    return json.dumps(_jsonable({"kind": point.kind, "config": config}), sort_keys=True)


def group_points(points: Sequence[Point], max_group: int = 0) -> list[list[Point]]:
    """Points that can share one vmapped program, in sweep order: same kind and the same config except for
    :data:`VMAP_FIELDS` of that kind. Kinds without a vmapped trainer get groups of one. ``max_group > 0`` caps the
    group size (memory)."""
    if max_group < 0:
        raise ValueError(f"max_group must be >= 0 (0 = no cap), got {max_group}")
    groups: dict[str, list[Point]] = {}
    for i, p in enumerate(points):
        key = _group_key(p) if p.kind in VMAP_FIELDS else f"single:{i}"
        groups.setdefault(key, []).append(p)
    out = []
    for members in groups.values():
        step = max_group or len(members)
        out += [members[i:i + step] for i in range(0, len(members), step)]
    return out


# ----------------------------------------------------------------------------------------------------------------
# Results.

RESULT_FILE = "result.json"


def read_result(workdir: str | os.PathLike) -> dict | None:
    path = pathlib.Path(workdir) / RESULT_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def is_done(point: Point, root: str | os.PathLike) -> bool:
    """Whether the point's ``result.json`` exists; a result of a different run in its directory raises."""
    result = read_result(point.workdir(root))
    if result is None:
        return False
    if result.get("identity") != point.identity:
        raise ValueError(f"{point.workdir(root)} holds a different run ({result.get('identity')}); "
                         f"use another --workdir")
    return result.get("status") == "ok"


def write_result(point: Point, root: str | os.PathLike, metrics: Mapping[str, Any], *, mode: str,
                 wall_seconds: float, status: str = "ok", extra: Mapping[str, Any] | None = None) -> dict:
    """Writes ``ROOT/<name>/result.json``: identity, status, mode ('process' / 'vmap'), metrics, wall time."""
    result = {"identity": point.identity, "name": point.name, "status": status, "mode": mode,
              "metrics": metrics, "wall_seconds": wall_seconds, "command": " ".join(point.command(root))}
    result.update(extra or {})
    path = pathlib.Path(point.workdir(root))
    path.mkdir(parents=True, exist_ok=True)
    (path / RESULT_FILE).write_text(json.dumps(_jsonable(result), indent=2))
    return result


def eval_metrics(eval_results: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary of a trainer run from its ``eval.json`` content: every metric per test noise level."""
    out: dict[str, Any] = {}
    for row in eval_results["rows"]:
        for k, v in row.items():
            if k not in ("eps", "effective_eps"):
                out[f"{k}@{row['eps']:g}"] = v
    if meta:
        for k in ("best_valid", "best_step"):
            if meta.get(k) is not None:
                out[k] = meta[k]
    return out


def progressive_metrics(report: Mapping[str, Any]) -> dict[str, Any]:
    """The summary of a learned-code run from ``codebook_report.json`` (``launch.progressive``) or from
    :func:`train_progressive_group`: per training the counts over seeds and the median ML BLER / converse."""
    out: dict[str, Any] = {}
    for name, tr in report["trainings"].items():
        s = tr["summary"]
        for k in ("num_seeds", "equivalent_to_reference", "bler_equals_reference"):
            out[f"{name}/{k}"] = s.get(k)
        out[f"{name}/minimum_distance_histogram"] = s.get("minimum_distance_histogram")
        med = [k for k in s if k.startswith("median_ratio_to_converse")]
        if med:
            out[f"{name}/{med[0]}"] = s[med[0]]
    return out


def collect_process_result(point: Point, root: str | os.PathLike, wall_seconds: float, returncode: int) -> dict:
    """``result.json`` for a point run as a process, from the files its program wrote."""
    workdir = pathlib.Path(point.workdir(root))
    if returncode != 0:
        return write_result(point, root, {}, mode="process", wall_seconds=wall_seconds, status="failed",
                            extra={"returncode": returncode})
    if point.kind == "progressive":
        report = json.loads((workdir / "codebook_report.json").read_text())
        metrics = progressive_metrics(report)
    else:
        metrics = eval_metrics(json.loads((workdir / "eval.json").read_text()))
    return write_result(point, root, metrics, mode="process", wall_seconds=wall_seconds)


def summary_markdown(points: Sequence[Point], root: str | os.PathLike, command: str = "") -> str:
    """A table of the points' results (status, mode, wall time, metrics)."""
    results = [read_result(p.workdir(root)) or {} for p in points]
    keys: list[str] = []
    for r in results:
        for k, v in (r.get("metrics") or {}).items():
            if k not in keys and not isinstance(v, (dict, list)) and not k.endswith("_se"):
                keys.append(k)
    lines = [f"# Sweep: {len(points)} point(s)", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    lines += ["| point | status | mode | wall s | " + " | ".join(keys) + " |",
              "|---|---|---|---|" + "---|" * len(keys)]
    for p, r in zip(points, results):
        m = r.get("metrics") or {}
        cells = [_fmt_cell(m.get(k)) for k in keys]
        wall = r.get("wall_seconds")
        lines.append(f"| {p.name} | {r.get('status', 'pending')} | {r.get('mode', '')} | "
                     f"{'' if wall is None else f'{wall:.1f}'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# ----------------------------------------------------------------------------------------------------------------
# Traced noise levels.

def with_channel_eps(method, eps):
    """``method`` with a copy of its channel whose ``eps`` is ``eps`` (a traced scalar is allowed).

    For use inside a traced training step only: the channel's ``sample`` / ``log_prob`` take ``eps`` as an array,
    while its Python-side helpers (``transition_matrix``, ``capacity``, ``noisy``) need a float. The copy skips
    the channel's range check, so ``eps`` must come from validated configs.
    """
    if not any(f.name == "channel" for f in dataclasses.fields(method)):    # IABF: the channel of its NECST base
        return dataclasses.replace(method, base=with_channel_eps(method.base, eps))
    channel = copy.copy(method.channel)
    object.__setattr__(channel, "eps", eps)
    return dataclasses.replace(method, channel=channel)


def with_train_p(spec, train_p):
    """A :class:`progressive.ProgressiveSpec` copy with ``train_p`` replaced (a traced scalar is allowed).

    ``progressive.train_seed`` uses ``train_p`` only as an operand (Bernoulli flips, the stage-1 crossover), so it
    can be traced; the copy is not hashable (do not pass it as a static argument) and skips validation.
    """
    out = copy.copy(spec)
    object.__setattr__(out, "train_p", train_p)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Devices.

def points_mesh(num_points: int, max_devices: int = 0):
    """A one-axis ``('points',)`` mesh over the largest divisor of ``num_points`` not above the device count."""
    import jax
    import numpy as np

    devices = jax.devices()
    limit = len(devices) if max_devices <= 0 else min(max_devices, len(devices))
    d = max(k for k in range(1, limit + 1) if num_points % k == 0)
    return jax.sharding.Mesh(np.asarray(devices[:d]), ("points",))


def _stack(trees: Sequence[PyTree]) -> PyTree:
    import jax
    import jax.numpy as jnp

    return jax.tree.map(lambda *xs: jnp.stack(xs), *trees)


# ----------------------------------------------------------------------------------------------------------------
# Vmapped trainer for the methods of the trainer contract (methods/base.py).

@dataclasses.dataclass
class GroupRun:
    """What :func:`train_group` returns: stacked final state [P, ...], per-point results, timings."""

    state: PyTree
    best_params: PyTree
    metrics: list[dict[str, Any]]          # per point: train metrics of the last step, best_valid, status ...
    evals: list[dict[str, Any] | None]     # per point: evaluation results (the eval.json content)
    losses: Any                            # [P, total_steps] training loss per step (NumPy)
    seconds: dict[str, float]


def _check_group(configs: Sequence[Any], kind: str) -> None:
    fields = VMAP_FIELDS[kind]
    keys = set()
    for c in configs:
        d = c.to_dict()
        for f in fields:
            node = d
            *path, last = f.split(".")
            for part in path:
                node = node.get(part, {})
            if isinstance(node, dict):
                node.pop(last, None)
        keys.add(json.dumps(_jsonable(d), sort_keys=True))
    if len(keys) != 1:
        raise ValueError(f"a vmapped group's configs may differ only in {list(fields)} (kind {kind!r})")


def train_group(configs: Sequence[Any], workdirs: Sequence[str | os.PathLike] | None = None, *,
                evaluate: bool = True, log: Callable[[str], None] | None = None) -> GroupRun:
    """Trains the points ``configs`` (trainer methods: NECST, IABF) as one vmapped program.

    The configs must be equal except for :data:`VMAP_FIELDS` of their method. Each point follows the RNG, batch,
    validation and evaluation conventions of ``train.train_and_evaluate`` (module docstring). With ``workdirs``,
    each point's directory gets ``config.json``, ``metrics.jsonl``, and (``evaluate``) ``eval.json``/``eval.md``.

    Returns a :class:`GroupRun`. A point whose loss becomes non-finite is marked ``status='nonfinite'`` with the
    step (the others continue; it is not evaluated).
    """
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from neuralcodes_jax import data as data_lib
    from neuralcodes_jax import evaluation
    from neuralcodes_jax import methods
    from neuralcodes_jax import metrics_writer
    from neuralcodes_jax import train as train_lib

    if not configs:
        raise ValueError("train_group needs at least one config")
    kind = config_kind(configs[0])
    if kind not in ("necst", "iabf"):
        raise ValueError(f"train_group trains methods of the trainer contract ('necst', 'iabf'), got {kind!r}")
    _check_group(configs, kind)
    if workdirs is not None and len(workdirs) != len(configs):
        raise ValueError(f"workdirs must have one entry per config ({len(configs)}), got {len(workdirs)}")
    log = log or (lambda s: None)
    seconds: dict[str, float] = {}
    t_start = time.time()
    c0 = configs[0]
    if int(c0.train.num_epochs) < 1:
        raise ValueError(f"train.num_epochs must be >= 1, got {c0.train.num_epochs}")
    if int(c0.train.steps_per_call) < 1:
        raise ValueError(f"train.steps_per_call must be >= 1, got {c0.train.steps_per_call}")
    num = len(configs)
    batch_size = int(c0.train.batch_size)
    if batch_size < 1:
        raise ValueError(f"train.batch_size must be >= 1, got {batch_size}")

    splits = data_lib.load_from_config(c0.data)
    if splits.train.nbytes > int(c0.train.get("max_device_bytes", 2 << 30)) \
            or c0.train.get("data_on_device", "auto") == "never":
        raise ValueError("vmapped sweeps keep the training set on the devices; it exceeds train.max_device_bytes "
                         "or train.data_on_device='never' (run these points as processes)")
    point_methods = [methods.build(c, splits.shape, splits.is_binary) for c in configs]
    base = point_methods[0]
    eps_list = [float(c.channel.eps) for c in configs]
    vary_eps = len(set(eps_list)) > 1
    if vary_eps and "channel.eps" not in VMAP_FIELDS[kind]:
        raise ValueError(f"channel.eps cannot vary inside a vmapped group of method {kind!r}")
    n_train = splits.train.shape[0]
    num_epochs = int(c0.train.num_epochs)
    steps_per_epoch, total_steps, steps_per_call = train_lib.schedule(n_train, batch_size, c0.train)

    mesh = points_mesh(num, int(c0.train.get("num_devices", 0)))
    on_points = NamedSharding(mesh, P("points"))
    repl = NamedSharding(mesh, P())
    streams = _stack([train_lib.rng_streams(int(c.seed)) for c in configs])
    streams = jax.device_put(streams, on_points)
    eps_arr = jax.device_put(jnp.asarray(eps_list, jnp.float32), on_points)
    example = jnp.asarray(splits.train[:1])
    train_x = jax.device_put(splits.train, repl)

    def step_method(eps):
        return with_channel_eps(base, eps) if vary_eps else base

    init = jax.jit(jax.vmap(base.init, in_axes=(0, None)), out_shardings=on_points)
    state = init(streams["init"], example)

    def make_chunk(n_steps: int):
        def one(state, perm, train_key, eps, x_all, offset):
            method = step_method(eps)

            def body(state, t):
                idx = jax.lax.dynamic_slice(perm, (offset + t * batch_size,), (batch_size,))
                x = jnp.take(x_all, idx, axis=0)
                return method.train_step(state, x, jax.random.fold_in(train_key, state["step"]))

            return jax.lax.scan(body, state, jnp.arange(n_steps, dtype=jnp.int32))

        chunk = jax.vmap(one, in_axes=(0, 0, 0, 0, None, None))
        return jax.jit(chunk, donate_argnums=(0,), out_shardings=(on_points, on_points))

    chunks: dict[int, Any] = {}
    perms_fn = jax.jit(jax.vmap(lambda k, e: train_lib.epoch_permutation(k, e, n_train), in_axes=(0, None)),
                       out_shardings=on_points)

    eval_bs = int(c0.eval.get("batch_size", 1000))

    def batched_valid(params, x_np, keys):
        """valid_loss of every point on x_np in batches (train.make_batched_eval's padding and keys)."""
        outs = []
        for i, batch, n_valid in train_lib.padded_batches(x_np, eval_bs):
            res = valid_fn(params, jax.device_put(batch, repl), keys, i, eps_arr)
            outs.append(np.asarray(res)[:, :n_valid])
        return np.concatenate(outs, axis=1)

    valid_fn = jax.jit(jax.vmap(
        lambda p, x, k, i, eps: step_method(eps).valid_loss(p, x, jax.random.fold_in(k, i)),
        in_axes=(0, None, 0, None, 0)))
    select = jax.jit(lambda mask, new, old: jax.tree.map(
        lambda a, b: jnp.where(mask.reshape((-1,) + (1,) * (a.ndim - 1)), a, b), new, old),
        out_shardings=on_points)

    writers = [metrics_writer.MetricWriter(str(w), enabled=True, tensorboard=bool(c.train.get("tensorboard", True)))
               for w, c in zip(_prepare_dirs(workdirs, configs), configs)] if workdirs is not None else None
    best_params = None        # stacked best-by-validation parameters (a fresh copy: the state is donated)
    best_valid = np.full(num, np.inf)
    best_step = np.full(num, -1)
    finite = np.ones(num, bool)
    bad_step = [None] * num
    losses = np.zeros((num, total_steps), np.float32)
    last_metrics: list[dict[str, float]] = [{} for _ in range(num)]
    log_every = int(c0.train.get("log_every_steps", 100))
    seconds["setup"] = time.time() - t_start
    t0 = time.time()
    step = 0
    for epoch in range(num_epochs):
        perms = perms_fn(streams["data"], epoch)
        epoch_end = (epoch + 1) * steps_per_epoch
        while step < epoch_end:
            n_steps = min(steps_per_call, epoch_end - step)
            if n_steps not in chunks:
                chunks[n_steps] = make_chunk(n_steps)
            offset = (step % steps_per_epoch) * batch_size
            state, metrics = chunks[n_steps](state, perms, streams["train"], eps_arr, train_x, offset)
            metrics = jax.device_get(metrics)
            loss = np.asarray(metrics["loss"])                       # [P, n_steps]
            losses[:, step:step + n_steps] = loss
            for p in range(num):
                if finite[p] and not np.all(np.isfinite(loss[p])):
                    finite[p] = False
                    bad_step[p] = step + int(np.argmin(np.isfinite(loss[p])))
                    log(f"[nonfinite] point {p}: non-finite training loss at step {bad_step[p]}")
            step += n_steps
            for p in range(num):
                last_metrics[p] = {k: float(np.asarray(v)[p, -1]) for k, v in metrics.items()}
            if writers and (step % log_every < n_steps or step == epoch_end):
                for p, w in enumerate(writers):
                    w.write_scalars(step, {f"train/{k}": float(np.mean(np.asarray(v)[p]))
                                           for k, v in metrics.items()})
        vkeys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(streams["valid"], epoch)
        valid = batched_valid(state["params"], splits.valid, vkeys)
        score = valid.mean(axis=1)
        improved = finite & (score < best_valid)
        if improved.any():
            best_params = select(jnp.asarray(improved), state["params"],
                                 state["params"] if best_params is None else best_params)
            best_valid = np.where(improved, score, best_valid)
            best_step = np.where(improved, step, best_step)
        if writers:
            elapsed = max(time.time() - t0, 1e-9)
            for p, w in enumerate(writers):
                w.write_scalars(step, {"valid/loss": float(score[p]), "valid/best": float(best_valid[p]),
                                       "epoch": epoch + 1, "examples_per_sec": step * batch_size / elapsed})
        log(f"epoch {epoch + 1}/{num_epochs}: valid " + " ".join(f"{s:.4f}" for s in score))
    jax.block_until_ready(state)
    seconds["train"] = time.time() - t0

    evals: list[dict[str, Any] | None] = [None] * num
    t1 = time.time()
    use_best = bool(c0.eval.get("use_best", True))
    eval_params = state["params"]
    if use_best and best_params is not None:   # points that never improved keep their final parameters
        eval_params = select(jnp.asarray(best_step >= 0), best_params, state["params"])
    if evaluate:
        good = [p for p in range(num) if finite[p]]
        evals_good = _evaluate_points(point_methods, configs, eval_params, splits, streams["eval"], good, repl)
        for p, res in zip(good, evals_good):
            evals[p] = res
    seconds["eval"] = time.time() - t1
    seconds["total"] = time.time() - t_start

    out_metrics = []
    for p in range(num):
        meta = {"epoch": num_epochs, "best_valid": float(best_valid[p]) if np.isfinite(best_valid[p]) else None,
                "best_step": int(best_step[p]), "step": total_steps}
        entry = {"status": "ok" if finite[p] else "nonfinite", "meta": meta, "train": last_metrics[p]}
        if bad_step[p] is not None:
            entry["nonfinite_step"] = bad_step[p]
        out_metrics.append(entry)
        if writers:
            writers[p].close()
            if evals[p] is not None:
                evaluation.write_results(evals[p], str(workdirs[p]), title=configs[p].get("name", configs[p].method),
                                         context=evaluation.describe_run(configs[p], splits, meta))
    return GroupRun(state=state, best_params=best_params, metrics=out_metrics, evals=evals, losses=losses,
                    seconds=seconds)


def _prepare_dirs(workdirs, configs) -> list[str]:
    out = []
    for w, c in zip(workdirs, configs):
        os.makedirs(w, exist_ok=True)
        with open(os.path.join(w, "config.json"), "w") as f:
            f.write(c.to_json_best_effort(indent=2))
        out.append(str(w))
    return out


def _evaluate_points(point_methods, configs, params, splits, eval_keys, points: Sequence[int], repl) -> list[dict]:
    """``evaluation.evaluate_noise_grid`` for several points at once (vmapped over the points).

    Point ``p`` is evaluated at its own ``eval.noise_levels``; level ``i`` of its list uses the key
    ``fold_in(eval_key_p, i)`` and batch ``b`` ``fold_in(., b)``, as ``train_and_evaluate`` does. ``eval_batch``
    depends on a point's training noise only through ``effective_test_eps`` (the test channel is
    ``channel.noisy(effective eps)``), so the points evaluated at the same test noise with the same effective
    noise share one vmapped call made with one of their methods.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from neuralcodes_jax import evaluation
    from neuralcodes_jax import train as train_lib

    if not points:
        return []
    config = configs[points[0]]
    eval_cfg = config.eval
    x = evaluation.eval_inputs(splits, eval_cfg)
    levels = {p: evaluation.check_noise_levels(configs[p].eval.noise_levels, point_methods[p].channel.name)
              for p in points}
    n_dev = train_lib.make_mesh(int(config.train.get("num_devices", 0))).devices.size
    bs = int(eval_cfg.get("batch_size", 1000))
    bs = max(n_dev, bs - bs % n_dev)
    # (test eps, effective eps) -> [(point, level index)]
    tasks: dict[tuple[float, float], list[tuple[int, int]]] = {}
    for p in points:
        for li, eps in enumerate(levels[p]):
            tasks.setdefault((eps, point_methods[p].effective_test_eps(eps)), []).append((p, li))
    per_example: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    for (eps, _), members in tasks.items():
        method = point_methods[members[0][0]]
        fn = jax.jit(jax.vmap(
            lambda prm, xb, k, li, b, m=method, e=eps: m.eval_batch(
                prm, xb, jax.random.fold_in(jax.random.fold_in(k, li), b), e), in_axes=(0, None, 0, 0, None)))
        idx = np.asarray([p for p, _ in members])
        mp = jax.tree.map(lambda a: a[idx], params)
        mk = eval_keys[idx]
        mli = jnp.asarray([li for _, li in members], jnp.int32)
        outs = []
        for b, batch, n_valid in train_lib.padded_batches(np.asarray(x), bs):
            res = fn(mp, jax.device_put(jnp.asarray(batch), repl), mk, mli, b)
            outs.append({k: np.asarray(v)[:, :n_valid] for k, v in res.items()})
        merged = {k: np.concatenate([o[k] for o in outs], axis=1) for k in outs[0]}
        for r, member in enumerate(members):
            per_example[member] = {k: v[r] for k, v in merged.items()}
    out = []
    for p in points:
        m = point_methods[p]
        rows = []
        for li, eps in enumerate(levels[p]):
            row = {"eps": eps, "effective_eps": m.effective_test_eps(eps)}
            for name in evaluation.METRIC_ORDER:
                if name in per_example[(p, li)]:
                    v = np.asarray(per_example[(p, li)][name], np.float64)
                    row[name] = float(v.mean())
                    row[name + "_se"] = float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0
            rows.append(row)
        out.append({
            "split": eval_cfg.get("split", "test"),
            "num_examples": int(x.shape[0]),
            "channel": m.channel.name,
            "train_eps": float(m.channel.eps),
            "num_channel_samples": int(getattr(m, "eval_num_samples", 1)),
            "encoder_mode": getattr(m, "eval_encoder", "sample"),
            "rows": rows,
        })
    return out


# ----------------------------------------------------------------------------------------------------------------
# Vmapped trainer for learned binary codes (methods/progressive.py).

@functools.lru_cache(maxsize=None)
def _train_seeds_train_p():
    """jit(vmap(train_seed)) over (key, train_p) pairs; built on first use (keeps JAX out of the import)."""
    import jax

    from neuralcodes_jax.methods import progressive

    def run(keys, train_ps, spec):
        return jax.vmap(lambda k, p: progressive.train_seed(k, with_train_p(spec, p)))(keys, train_ps)

    return jax.jit(run, static_argnums=2)


def train_progressive_seeds(keys, spec, train_ps: Sequence[float] | None = None) -> dict[str, Any]:
    """``progressive.train_seed`` for keys ``[S]`` as one vmapped program; ``train_ps`` (``[S]``) gives every key its
    own training crossover (else ``spec.train_p``, which is ``progressive.train_seeds``).

    The seeds are split over the devices (:func:`points_mesh`; they never communicate), so on a host with several
    CPU devices (``distributed.use_cpu_cores``) every core trains a share of them.
    """
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from neuralcodes_jax.methods import progressive

    on_points = NamedSharding(points_mesh(int(keys.shape[0])), P("points"))
    keys = jax.device_put(keys, on_points)
    if train_ps is None or len(set(float(p) for p in train_ps)) == 1:
        if train_ps is not None and float(train_ps[0]) != spec.train_p:
            spec = dataclasses.replace(spec, train_p=float(train_ps[0]))
        return progressive.train_seeds(keys, spec)
    for p in train_ps:
        from neuralcodes_jax import channels

        channels.check_prob("channel.train_p", float(p), 0.0, 0.5)
    return _train_seeds_train_p()(keys, jax.device_put(jnp.asarray(train_ps, jnp.float32), on_points), spec)


def progressive_seed_report(out: Mapping[str, Any], i: int, spec, config, reference, reference_bler,
                            converse) -> dict[str, Any]:
    """The report of seed ``i`` of a training output, as ``launch.progressive`` builds it (codebook structure,
    equivalence to the reference, exact ML and neural-decoder BLER/BER on ``eval.p_grid``)."""
    import numpy as np

    from neuralcodes_jax.methods import progressive

    p_grid = progressive.check_p_grid(config.eval.p_grid, "eval.p_grid")
    codebook = np.asarray(out["codebook"][i])
    table = None
    if config.eval.neural_table and spec.channel == "bsc":
        table = progressive.decoder_table(progressive.unstack(out["params"], i)["decoder"], spec)
    rep = progressive.codebook_report(
        codebook, p_grid, decoder=table, reference_bler=reference_bler, converse=converse,
        p_ratio=float(config.eval.p_ratio), references={config.eval.reference: reference.codewords()})
    rep["seed"] = i
    rep["stage2_codebook_unchanged"] = bool(np.array_equal(codebook, np.asarray(out["stage2_codebook"][i])))
    return rep


def summarize_progressive(seeds: Sequence[Mapping[str, Any]], p_ratio: float) -> dict[str, Any]:
    """Counts over seed reports (the fields of ``launch.progressive``'s summary that :func:`progressive_metrics`
    reads)."""
    import numpy as np

    key = f"ratio_to_converse_at_{p_ratio:g}"
    dmins = [s["minimum_distance"] for s in seeds]
    ratios = [s["ml"].get(key) for s in seeds]
    have = [r for r in ratios if r is not None]
    return {
        "num_seeds": len(seeds),
        "equivalent_to_reference": sum(s["equivalent_to"] is not None for s in seeds),
        "bler_equals_reference": sum(bool(s["ml"].get("bler_equals_reference")) for s in seeds),
        "minimum_distance_histogram": {str(d): dmins.count(d) for d in sorted(set(dmins))},
        key: ratios,
        f"median_{key}": float(np.median(have)) if have else None,
    }


def train_progressive_group(configs: Sequence[Any], workdirs: Sequence[str | os.PathLike] | None = None, *,
                            evaluate: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Trains the points ``configs`` (``experiments/progressive`` configs equal except ``seed`` and
    ``channel.train_p``) as one vmapped program per training method, over the seed keys of all points.

    Returns ``{'outputs': {training: stacked train_seed output [sum of num_seeds, ...]}, 'reports': per point
    {'trainings': {training: {'summary', 'seeds'}}}, 'seconds': {...}}``; with ``workdirs`` each point's
    report goes to ``<workdir>/codebook_reports.json``.
    """
    import jax
    import numpy as np

    from neuralcodes_jax.codes import analysis
    from neuralcodes_jax.codes import bounds
    from neuralcodes_jax.codes import exact
    from neuralcodes_jax.methods import progressive

    if not configs:
        raise ValueError("train_progressive_group needs at least one config")
    _check_group(configs, "progressive")
    log = log or (lambda s: None)
    c0 = configs[0]
    num_seeds = int(c0.num_seeds)
    if num_seeds < 1:
        raise ValueError(f"num_seeds must be an int >= 1, got {c0.num_seeds!r}")
    keys = jax.numpy.concatenate([progressive.seed_keys(int(c.seed), num_seeds) for c in configs])
    train_ps = [float(c.channel.train_p) for c in configs for _ in range(num_seeds)]
    for c in configs:
        progressive.spec_from_config(c, c.trainings[0])       # validates every point's fields
    seconds: dict[str, float] = {}
    outputs = {}
    for training in c0.trainings:
        spec = progressive.spec_from_config(c0, training)
        t0 = time.time()
        outputs[training] = jax.block_until_ready(train_progressive_seeds(keys, spec, train_ps))
        seconds[f"train/{training}"] = time.time() - t0
        log(f"[{training}] trained {len(configs)} point(s) x {num_seeds} seed(s) "
            f"in {seconds[f'train/{training}']:.1f} s")
    reports = []
    if evaluate:
        t0 = time.time()
        refs = analysis.reference_codes()
        if c0.eval.reference not in refs:
            raise ValueError(f"eval.reference must be one of {sorted(refs)}, got {c0.eval.reference!r}")
        reference = refs[c0.eval.reference]()
        p_grid = progressive.check_p_grid(c0.eval.p_grid, "eval.p_grid")
        reference_bler = exact.ml_bler_bsc(reference.codewords())
        spec0 = progressive.spec_from_config(c0, c0.trainings[0])
        converse = np.asarray(bounds.bsc_converse(spec0.n, spec0.k, p_grid))
        for j, c in enumerate(configs):
            trainings = {}
            for training in c0.trainings:
                spec = progressive.spec_from_config(c, training)
                seeds = [progressive_seed_report(outputs[training], j * num_seeds + i, spec, c, reference,
                                                 reference_bler, converse) for i in range(num_seeds)]
                for i, s in enumerate(seeds):
                    s["seed"] = i
                trainings[training] = {"summary": summarize_progressive(seeds, float(c.eval.p_ratio)),
                                       "seeds": seeds}
            report = {"name": c.name, "n": spec0.n, "k": spec0.k, "seed": int(c.seed),
                      "train_p": float(c.channel.train_p), "trainings": trainings}
            reports.append(report)
            if workdirs is not None:
                os.makedirs(workdirs[j], exist_ok=True)
                with open(os.path.join(workdirs[j], "config.json"), "w") as f:
                    f.write(c.to_json_best_effort(indent=2))
                with open(os.path.join(workdirs[j], "codebook_reports.json"), "w") as f:
                    json.dump(_jsonable(report), f, indent=1)
        seconds["eval"] = time.time() - t0
    return {"outputs": outputs, "reports": reports, "seconds": seconds}


# ----------------------------------------------------------------------------------------------------------------
# Running a sweep's vmapped groups.

def run_vmapped(points: Sequence[Point], root: str | os.PathLike, *, max_group: int = 0,
                log: Callable[[str], None] = print) -> list[dict]:
    """Runs the points not yet done, a vmapped program per group (:func:`group_points`); kinds without a vmapped
    trainer are rejected. Writes every point's ``result.json``; returns the results in point order."""
    todo = [p for p in points if not is_done(p, root)]
    for p in points:
        if p not in todo:
            log(f"[skip] {p.name}: finished")
    unsupported = sorted({p.kind for p in todo if p.kind not in VMAP_FIELDS})
    if unsupported:
        raise ValueError(f"--vmap supports kinds {sorted(VMAP_FIELDS)}, got {unsupported}")
    for group in group_points(todo, max_group):
        names = ", ".join(p.name for p in group)
        log(f"[vmap] {len(group)} point(s): {names}")
        configs = [p.load_config() for p in group]
        workdirs = [p.workdir(root) for p in group]
        t0 = time.time()
        if group[0].kind == "progressive":
            out = train_progressive_group(configs, workdirs, log=log)
            wall = time.time() - t0
            for p, report in zip(group, out["reports"]):
                write_result(p, root, progressive_metrics(report), mode="vmap", wall_seconds=wall,
                             extra={"group_size": len(group), "group_seconds": out["seconds"]})
        else:
            run = train_group(configs, workdirs, log=log)
            wall = time.time() - t0
            for p, m, ev in zip(group, run.metrics, run.evals):
                metrics = eval_metrics(ev, m["meta"]) if ev is not None else {}
                write_result(p, root, metrics, mode="vmap", wall_seconds=wall, status=m["status"],
                             extra={"group_size": len(group), "group_seconds": run.seconds,
                                    "nonfinite_step": m.get("nonfinite_step")})
        log(f"[done] {len(group)} point(s) in {time.time() - t0:.1f} s")
    return [read_result(p.workdir(root)) for p in points]


def describe(points: Sequence[Point], root: str | os.PathLike, vmap: bool = False, max_group: int = 0,
             python: str = "python", extra: Sequence[str] = ()) -> list[str]:
    """Lines of a dry run: one command per point, or (``vmap``) the groups and their points."""
    import shlex

    lines = []
    if vmap:
        groups = group_points(points, max_group)
        lines.append(f"{len(points)} point(s) in {len(groups)} vmapped group(s) under {root}:")
        for i, g in enumerate(groups):
            fields = VMAP_FIELDS.get(g[0].kind, ())
            lines.append(f"group {i + 1} ({g[0].kind}, {len(g)} point(s), varying {', '.join(fields) or '-'}):")
            for p in g:
                lines.append(f"  {p.name}: {shlex.join(p.args(root))}")
    else:
        lines.append(f"{len(points)} point(s) under {root}:")
        for p in points:
            lines.append(shlex.join(p.command(root, python=python, extra=extra)))
    return lines
