"""Run a sweep: every point of a config's ``get_sweep()`` (or of a ``--grid``) as its own run in ``DIR/<point name>``.

    python -m launch.sweep --config=experiments/iabf/table1.py --workdir=DIR [--set=train.num_epochs=20]
    python -m launch.sweep --config=experiments/necst/mnist.py:embedded --workdir=DIR \\
        --grid=seed=0:4 --grid=channel.eps=0.1,0.2 [--parallel=2 | --vmap] [--dry_run]
    python -m launch.sweep --config=experiments/progressive/hamming_7_4.py --workdir=DIR \\
        --grid=seed=0:16 --set=num_seeds=1 --vmap

Points (``neuralcodes_jax/sweeps.py``): a sweep entry is a dict of dotted config overrides, with optional
``'config'`` (the point's own ``file.py:variant``) and ``'name'``; ``--grid=field=v1,v2`` / ``field=start:stop``
multiplies the entries by a product grid; ``--set=field=value`` applies to every point; ``--only=name,...``
keeps the points whose names start with one of the given prefixes. A point's name comes from the fields that vary
(``eps0.2_seed3``). Every point runs ``python -m launch.main``.

Modes:

* default: the points run one after another, each as ``python -m launch.main --config=... --workdir=DIR/<name>
  --config.x=y``, output in ``DIR/<name>/log.txt``;
* ``--parallel=N``: N such processes at a time;
* ``--vmap``: points whose configs differ only in what a group may vary (the seed, the test grid and the method's
  ``group_fields``, e.g. the training noise) are trained as one group by ``train.train_group``, the same loop as
  ``launch.main``: one vmapped program, checkpoints in every point's directory, resumable after a crash or
  SIGTERM (exit 75 once the checkpoints are written; rerun the sweep to resume). ``--max_group`` caps the number of
  runs per group (a point with ``num_seeds`` seeds counts as that many runs and is never split).

Every finished point has ``DIR/<name>/result.json`` (status, mode, metrics, wall time); re-running skips finished
points, and a process-mode point that was interrupted resumes from its last checkpoint. ``DIR/sweep.md`` tabulates
the results and ``DIR/sweep.json`` lists the points with their commands. ``--multihost`` appends ``--multihost``
to every point's command (one point at a time on every host of a TPU pod; see ``launch/tpu_vm.py``).
``--dry_run`` prints the commands (or the vmapped groups) and exits.
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from absl import app, flags, logging

from neuralcodes_jax import sweeps

FLAGS = flags.FLAGS

#: Exit code of a preempted ``launch.main`` run (``launch/main.py``; os.EX_TEMPFAIL).
PREEMPTED_EXIT_CODE = 75


def define_flags() -> None:
    """Flags, defined only when run as a program (absl flags are global; tests import this module)."""
    flags.DEFINE_string(
        "config",
        None,
        "Config file of the sweep (file.py or file.py:variant); its get_sweep() gives the points unless --grid does.",
    )
    flags.DEFINE_string("workdir", None, "Root directory of the sweep (one sub-directory per point).")
    flags.DEFINE_multi_string("grid", [], "field=v1,v2,... or field=start:stop[:step]; several give a product grid.")
    flags.DEFINE_multi_string("set", [], "field=value applied to every point, e.g. train.num_epochs=5.")
    flags.DEFINE_list("only", None, "Run only the points whose names start with one of these prefixes.")
    flags.DEFINE_integer("parallel", 1, "Number of point processes at a time.")
    flags.DEFINE_bool("vmap", False, "Train points that differ only in seed / channel noise as one vmapped program.")
    flags.DEFINE_integer("max_group", 0, "With --vmap: at most this many points per program (0 = no cap).")
    flags.DEFINE_integer(
        "cpu_devices",
        0,
        "With --vmap on a CPU-only host: CPU devices to split each group over "
        "(0: one per core; distributed.use_cpu_cores).",
    )
    flags.DEFINE_bool("multihost", False, "Append --multihost to every point's command (multi-host TPU runs).")
    flags.DEFINE_string("python", None, "Python interpreter of the point processes (default: this one).")
    flags.DEFINE_bool("dry_run", False, "Print the commands (or the vmapped groups) and exit.")


def plan(
    config: str,
    workdir: str | os.PathLike,
    *,
    grid: Sequence[str] = (),
    settings: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> list[sweeps.Point]:
    """The sweep's points (configs built and validated, nothing run)."""
    entries = sweeps.sweep_entries(config, [sweeps.parse_grid(g) for g in grid])
    points = sweeps.make_points(config, entries, dict(sweeps.parse_setting(s) for s in settings))
    if only:
        points = [p for p in points if any(p.name.startswith(prefix) for prefix in only)]
        if not points:
            raise ValueError(f"--only={','.join(only)} matches no point of the sweep")
    return points


def unfinished(
    points: Sequence[sweeps.Point], root: str | os.PathLike, log: Callable[[str], None]
) -> list[sweeps.Point]:
    """The points without a finished ``result.json`` (the others are logged as skipped)."""
    todo = []
    for p in points:
        if sweeps.is_done(p, root):
            log(f"[skip] {p.name}: finished")
        else:
            todo.append(p)
    return todo


def run_processes(
    points: Sequence[sweeps.Point],
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
    running: list[tuple[sweeps.Point, subprocess.Popen, float, object]] = []
    queue = list(todo)
    while queue or running:
        while queue and len(running) < parallel:
            p = queue.pop(0)
            workdir = pathlib.Path(p.workdir(root))
            workdir.mkdir(parents=True, exist_ok=True)
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
            sweeps.collect_process_result(p, root, wall, code)
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
    return [sweeps.read_result(p.workdir(root)) for p in points]


def group_points(points: Sequence[sweeps.Point], max_group: int = 0) -> list[list[sweeps.Point]]:
    """Points that train as one group, in sweep order: the same config except for the fields a group may vary
    (``methods.ALWAYS_GROUPABLE`` and the method's ``group_fields``). ``max_group > 0`` caps the runs per group
    (a point counts ``num_seeds`` runs; its seeds are never split)."""
    from neuralcodes_jax import methods

    if max_group < 0:
        raise ValueError(f"max_group must be >= 0 (0 = no cap), got {max_group}")
    groups: dict[str, list[list[sweeps.Point]]] = {}
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
    points: Sequence[sweeps.Point], root: str | os.PathLike, *, max_group: int = 0, log: Callable[[str], None] = print
) -> list[dict | None]:
    """Runs the unfinished points, one ``train.train_group`` call per group (:func:`group_points`); writes every
    point's ``result.json``. A preempted group raises ``train.Preempted`` (its checkpoints are on disk)."""
    from neuralcodes_jax import train

    todo = unfinished(points, root, log)
    for group in group_points(todo, max_group):
        configs, workdirs, summaries = [], [], []
        for p in group:
            c, w, s = sweeps.seed_members(p.load_config(), p.workdir(root))
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
                sweeps.write_result(
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
            sweeps.write_result(
                p,
                root,
                sweeps.read_metrics(p.workdir(root)),
                mode="group",
                wall_seconds=wall,
                extra={
                    "group_size": len(configs),
                    "group_seconds": out["seconds"],
                    "group_run_steps": out["run_steps"],
                },
            )
        log(f"[done] {len(group)} point(s), {len(configs)} run(s) in {wall:.1f} s")
    return [sweeps.read_result(p.workdir(root)) for p in points]


def describe(
    points: Sequence[sweeps.Point],
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
    points: Sequence[sweeps.Point],
    root: str | os.PathLike,
    command: str,
    python: str = "python",
    extra: Sequence[str] = (),
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
    md = sweeps.summary_markdown(points, root, command)
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


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if FLAGS.config is None or FLAGS.workdir is None:
        raise app.UsageError("--config and --workdir are required")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    if FLAGS.vmap and not FLAGS.dry_run:
        from neuralcodes_jax import distributed

        distributed.use_cpu_cores(FLAGS.cpu_devices)
    command = "python -m launch.sweep " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    from neuralcodes_jax import train
    from neuralcodes_jax.config_utils import DamagedFileError

    try:
        results = run_sweep(
            FLAGS.config,
            FLAGS.workdir,
            grid=FLAGS.grid,
            settings=FLAGS.set,
            only=FLAGS.only,
            parallel=FLAGS.parallel,
            vmap=FLAGS.vmap,
            max_group=FLAGS.max_group,
            multihost=FLAGS.multihost,
            python=FLAGS.python or sys.executable,
            dry_run=FLAGS.dry_run,
            command=command,
        )
    except train.Preempted as err:
        print(f"[preempted] {err}; rerun the sweep to resume", flush=True)
        sys.exit(PREEMPTED_EXIT_CODE)
    except DamagedFileError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
    failed = [r["name"] for r in results if r is not None and r.get("status") != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} point(s) did not finish: {', '.join(failed)}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
