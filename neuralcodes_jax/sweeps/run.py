"""Runs a sweep's points: as processes (``python -m launch.main`` each, ``parallel`` at a time), or as vmapped groups
through ``train.train_group`` (points that differ only in what a group may vary). The one orchestrator: the paper
tables of ``experiments/reproduce.py`` are plans of points run here. Every point gets ``DIR/<name>/point.json``
when it starts and ``DIR/<name>/result.json`` when it ends (``sweeps.results``); ``DIR/sweep.md`` tabulates them
and ``DIR/sweep.json`` lists the points with their commands. ``launch/sweep.py`` parses the flags.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import subprocess
import time
from collections.abc import Callable, Sequence

from neuralcodes_jax import metrics_writer
from neuralcodes_jax.config_utils import parse_setting
from neuralcodes_jax.sweeps.points import Point, make_points, parse_grid, seed_members, sweep_entries
from neuralcodes_jax.sweeps.results import (
    claim,
    collect_process_result,
    is_done,
    read_result,
    summary_markdown,
    write_result,
)

#: Exit code of a preempted ``launch.main`` run (``launch/main.py``; os.EX_TEMPFAIL).
PREEMPTED_EXIT_CODE = 75


def plan(
    config: str,
    workdir: str | os.PathLike,
    *,
    grid: Sequence[str] = (),
    settings: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> list[Point]:
    """The sweep's points (configs built and validated, nothing run)."""
    entries = sweep_entries(config, [parse_grid(g) for g in grid])
    points = make_points(config, entries, dict(parse_setting(s) for s in settings))
    if only:
        points = [p for p in points if any(p.name.startswith(prefix) for prefix in only)]
        if not points:
            raise ValueError(f"--only={','.join(only)} matches no point of the sweep")
    return points


def unfinished(points: Sequence[Point], root: str | os.PathLike, log: Callable[[str], None]) -> list[Point]:
    """The points without a finished ``result.json`` (the others are logged as skipped)."""
    todo = []
    for p in points:
        if is_done(p, root):
            log(f"[skip] {p.name}: finished")
        else:
            todo.append(p)
    return todo


def run_processes(
    points: Sequence[Point],
    root: str | os.PathLike,
    *,
    parallel: int = 1,
    python: str = "python",
    extra: Sequence[str] = (),
    log: Callable[[str], None] = print,
    poll_seconds: float = 0.5,
) -> list[dict | None]:
    """Runs the unfinished points as processes, at most ``parallel`` at a time; writes each ``result.json``.

    Each process writes its output to ``<point workdir>/log.txt``. Returns the results in point order.
    """
    if parallel < 1:
        raise ValueError(f"parallel must be >= 1, got {parallel}")
    todo = unfinished(points, root, log)
    running: list[tuple[Point, subprocess.Popen, float, object]] = []
    queue = list(todo)
    while queue or running:
        while queue and len(running) < parallel:
            p = queue.pop(0)
            claim(p, root)
            workdir = pathlib.Path(p.workdir(root))
            argv = p.command(root, python=python, extra=extra)
            log(f"[run] {p.name}: {shlex.join(argv)}")
            out = open(workdir / "log.txt", "a")  # noqa: SIM115  (the process writes it; closed when it ends)
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
            running.append((p, proc, time.time(), out))
        still = []
        for p, proc, t0, out in running:
            code = proc.poll()
            if code is None:
                still.append((p, proc, t0, out))
                continue
            out.close()
            wall = time.time() - t0
            collect_process_result(p, root, wall, code)
            if code == 0:
                log(f"[done] {p.name}: {wall:.0f} s")
            elif code == PREEMPTED_EXIT_CODE:
                # The point saved a checkpoint and stopped on SIGTERM: the machine is going away, so start nothing
                # new; rerunning the sweep resumes this point and runs the rest.
                log(f"[preempted] {p.name}: checkpoint written, rerun the sweep to resume; no new points started")
                queue.clear()
            else:
                log(f"[failed] {p.name}: exit code {code}, see {os.path.join(p.workdir(root), 'log.txt')}")
        running = still
        if running:
            time.sleep(poll_seconds)
    return [read_result(p.workdir(root)) for p in points]


def group_points(points: Sequence[Point], max_group: int = 0) -> list[list[Point]]:
    """Points that train as one group, in sweep order: the same config except for the fields a group may vary
    (``methods.ALWAYS_GROUPABLE`` and the method's ``group_fields``). ``max_group > 0`` caps the runs per group
    (a point counts ``num_seeds`` runs; its seeds are never split)."""
    from neuralcodes_jax import methods

    if max_group < 0:
        raise ValueError(f"max_group must be >= 0 (0 = no cap), got {max_group}")
    groups: dict[str, list[list[Point]]] = {}
    sizes: dict[str, int] = {}  # runs in the last group of each key
    for p in points:
        config = p.load_config()
        key = methods.group_key(config)
        runs = int(config.get("num_seeds", 1))
        chunks = groups.setdefault(key, [[]])
        if chunks[-1] and max_group and sizes[key] + runs > max_group:
            chunks.append([])
            sizes[key] = 0
        chunks[-1].append(p)
        sizes[key] = sizes.get(key, 0) + runs
    return [g for chunks in groups.values() for g in chunks]


def run_groups(
    points: Sequence[Point], root: str | os.PathLike, *, max_group: int = 0, log: Callable[[str], None] = print
) -> list[dict | None]:
    """Runs the unfinished points, one ``train.train_group`` call per group (:func:`group_points`); writes every
    point's ``result.json``. A preempted group raises ``train.Preempted`` (its checkpoints are on disk)."""
    from neuralcodes_jax import train

    todo = unfinished(points, root, log)
    for group in group_points(todo, max_group):
        configs, workdirs, summaries = [], [], []
        for p in group:
            claim(p, root)
            c, w, s = seed_members(p.load_config(), p.workdir(root))
            summaries += [(d, [len(configs) + i for i in members]) for d, members in s]
            configs += c
            workdirs += w
        log(f"[group] {len(configs)} run(s): {', '.join(p.name for p in group)}")
        t0 = time.time()
        try:
            out = train.train_group(configs, workdirs, summaries=summaries)
        except train.NonFiniteLossError as err:
            log(f"[failed] {', '.join(p.name for p in group)}: {err}")
            for p in group:
                write_result(
                    p,
                    root,
                    {},
                    mode="group",
                    wall_seconds=time.time() - t0,
                    status="nonfinite",
                    extra={"error": str(err)},
                )
            continue
        wall = time.time() - t0
        for p in group:
            write_result(
                p,
                root,
                metrics_writer.read_run_metrics(p.workdir(root)),
                mode="group",
                wall_seconds=wall,
                extra={
                    "group_size": len(configs),
                    "group_seconds": out["seconds"],
                    "group_run_steps": out["run_steps"],
                },
            )
        log(f"[done] {len(group)} point(s), {len(configs)} run(s) in {wall:.1f} s")
    return [read_result(p.workdir(root)) for p in points]


def describe(
    points: Sequence[Point],
    root: str | os.PathLike,
    vmap: bool = False,
    max_group: int = 0,
    python: str = "python",
    extra: Sequence[str] = (),
) -> list[str]:
    """Lines of a dry run: one command per point, or (``vmap``) the groups and their points."""
    lines = []
    if vmap:
        groups = group_points(points, max_group)
        lines.append(f"{len(points)} point(s) in {len(groups)} group(s) under {root}:")
        for i, g in enumerate(groups):
            lines.append(f"group {i + 1} ({g[0].kind}, {len(g)} point(s)):")
            for p in g:
                lines.append(f"  {p.name}: {shlex.join(p.args(root))}")
    else:
        lines.append(f"{len(points)} point(s) under {root}:")
        for p in points:
            lines.append(shlex.join(p.command(root, python=python, extra=extra)))
    return lines


def write_summary(
    points: Sequence[Point], root: str | os.PathLike, command: str, python: str = "python", extra: Sequence[str] = ()
) -> str:
    """``ROOT/sweep.json`` (points, identities, commands) and ``ROOT/sweep.md`` (results table)."""
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    listing = {
        "command": command,
        "points": [
            {
                "name": p.name,
                "kind": p.kind,
                "identity": p.identity,
                "command": shlex.join(p.command(root, python=python, extra=extra)),
            }
            for p in points
        ],
    }
    (root / "sweep.json").write_text(json.dumps(listing, indent=2, default=str))
    md = summary_markdown(points, root, command)
    (root / "sweep.md").write_text(md)
    return md


def run_sweep(
    config: str,
    workdir: str | os.PathLike,
    *,
    grid: Sequence[str] = (),
    settings: Sequence[str] = (),
    only: Sequence[str] | None = None,
    parallel: int = 1,
    vmap: bool = False,
    max_group: int = 0,
    multihost: bool = False,
    python: str = "python",
    dry_run: bool = False,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> list[dict | None]:
    """Plans and runs (or, with ``dry_run``, prints) a sweep; returns the points' results (empty for a dry run)."""
    if vmap and (parallel != 1 or multihost):
        raise ValueError("--vmap runs each group in this process: it cannot be combined with --parallel or --multihost")
    if multihost and parallel != 1:
        raise ValueError("--multihost runs one point at a time on every host: use --parallel=1")
    points = plan(config, workdir, grid=grid, settings=settings, only=only)
    extra = ["--multihost"] if multihost else []
    if dry_run:
        for line in describe(points, workdir, vmap=vmap, max_group=max_group, python=python, extra=extra):
            log(line)
        return []
    command = command or f"python -m launch.sweep --config={config} --workdir={workdir}"
    write_summary(points, workdir, command, python=python, extra=extra)
    if vmap:
        results = run_groups(points, workdir, max_group=max_group, log=log)
    else:
        results = run_processes(points, workdir, parallel=parallel, python=python, extra=extra, log=log)
    md = write_summary(points, workdir, command, python=python, extra=extra)
    log(md)
    return results
