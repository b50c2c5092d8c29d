"""The results of a sweep's points: one ``result.json`` schema for every orchestrator (``sweeps.run``, the paper
tables of ``experiments/reproduce.py``), and the markdown summary.

``DIR/<name>/point.json`` holds the point's identity from its start (a directory that holds another run is refused
before any training); ``DIR/<name>/result.json``, written when it ends::

    {"identity": {...}, "name": str, "status": "ok" | "failed" | "nonfinite", "mode": "process" | "group",
     "budget": {"train.num_epochs": N, ...}, "metrics": {the evaluator's flat metrics, with "train/steps",
     "valid/best", "valid/best_step"}, "wall_seconds": float, "command": str, ...}

``metrics`` is what the run itself wrote in ``result_metrics.json`` (``metrics_writer.read_run_metrics``).
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from neuralcodes_jax import config_utils, metrics_writer
from neuralcodes_jax.config_utils import jsonable
from neuralcodes_jax.sweeps.points import Point

RESULT_FILE = "result.json"
POINT_FILE = "point.json"


def read_result(workdir: str | os.PathLike) -> dict | None:
    path = pathlib.Path(workdir) / RESULT_FILE
    if not path.is_file():
        return None
    return config_utils.read_json_file(path, "delete it to run the point again")


def _write_json(path: pathlib.Path, value: Any) -> None:
    """Writes ``value`` whole or not at all (a crash leaves the old file or none, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(jsonable(value), indent=2))
    os.replace(tmp, path)


def claim(point: Point, root: str | os.PathLike) -> None:
    """Records the point's identity in ``ROOT/<name>/point.json`` before it runs; a directory that holds another
    run raises ``ValueError`` (naming both), so two points never share checkpoints."""
    path = pathlib.Path(point.workdir(root)) / POINT_FILE
    if path.is_file():
        stored = config_utils.read_json_file(path, "delete the point's directory to start it over")
        if stored != point.identity:
            raise ValueError(f"{path.parent} holds a different run ({stored}); use another --workdir")
    else:
        _write_json(path, point.identity)


def is_done(point: Point, root: str | os.PathLike) -> bool:
    """Whether the point finished (``result.json`` with status 'ok') at its current budget; a result of a different
    run in its directory raises. A finished point whose budget grew is not done: it continues from its checkpoints."""
    result = read_result(point.workdir(root))
    if result is None:
        return False
    if result.get("identity") != point.identity:
        raise ValueError(
            f"{point.workdir(root)} holds a different run ({result.get('identity')}); use another --workdir"
        )
    return result.get("status") == "ok" and result.get("budget", {}) == jsonable(point.budget)


def write_result(
    point: Point,
    root: str | os.PathLike,
    metrics: Mapping[str, Any],
    *,
    mode: str,
    wall_seconds: float,
    status: str = "ok",
    extra: Mapping[str, Any] | None = None,
) -> dict:
    """Writes ``ROOT/<name>/result.json`` (the schema in the module docstring) and returns it."""
    result = {
        "identity": point.identity,
        "name": point.name,
        "status": status,
        "mode": mode,
        "budget": point.budget,
        "metrics": metrics,
        "wall_seconds": wall_seconds,
        "command": " ".join(point.command(root)),
    }
    result.update(extra or {})
    _write_json(pathlib.Path(point.workdir(root)) / RESULT_FILE, result)
    return jsonable(result)


def collect_process_result(point: Point, root: str | os.PathLike, wall_seconds: float, returncode: int) -> dict:
    """``result.json`` for a point run as a process, from the metrics its run wrote."""
    if returncode != 0:
        return write_result(
            point,
            root,
            {},
            mode="process",
            wall_seconds=wall_seconds,
            status="failed",
            extra={"returncode": returncode},
        )
    metrics = metrics_writer.read_run_metrics(point.workdir(root))
    return write_result(point, root, metrics, mode="process", wall_seconds=wall_seconds)


def summary_markdown(points: Sequence[Point], root: str | os.PathLike, command: str = "") -> str:
    """A table of the points' results (status, mode, wall time, metrics without their standard errors: ``*_se`` and
    ``*_se@<noise>``)."""
    results = [read_result(p.workdir(root)) or {} for p in points]
    keys: list[str] = []
    for r in results:
        for k, v in (r.get("metrics") or {}).items():
            if k not in keys and not isinstance(v, (dict, list)) and not k.split("@")[0].endswith("_se"):
                keys.append(k)
    lines = [f"# Sweep: {len(points)} point(s)", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    header = ["point", "status", "mode", "wall s"] + keys
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for p, r in zip(points, results):
        m = r.get("metrics") or {}
        wall = r.get("wall_seconds")
        cells = [p.name, r.get("status", "pending"), r.get("mode", ""), "" if wall is None else f"{wall:.1f}"]
        lines.append("| " + " | ".join(cells + [_fmt_cell(m.get(k)) for k in keys]) + " |")
    return "\n".join(lines) + "\n"


def _fmt_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
