"""Groups of runs against the same runs one at a time, through the one training loop: wall time and speedup.

    python benchmarks/sweep_vmap.py [--json out.json] [--only progressive,necst] [--seeds 16]
        [--stage1_steps N --stage2_steps N] [--necst_seeds 4 --necst_epochs 2] [--processes [--parallel N]]
        [--cpu_devices N]

The process first exposes one CPU device per core (``distributed.use_cpu_cores``, ``--cpu_devices``), as the
launchers do, so that a group is split over the cores. Every in-process mode calls ``train.train_group`` (the loop
of ``launch.main`` and ``launch.sweep --vmap``) in a fresh temporary workdir (nothing resumes from another mode's
checkpoints), with the JAX caches cleared before each call, so that every call pays its own compilation, as a
separate process would. A timed call is the whole of ``train.train_group``: initialization, training (compilation
included), checkpoints, evaluation and report files. An untimed warm-up call (a group of two runs with one step
per stage, or one epoch) comes first, so that one-time costs of the process (imports of the evaluation and
plotting code, the data set's first load) fall on no timed mode. Two sweeps:

* **(7,4) learned code** (``experiments/progressive/hamming_7_4.py``, progressive training, the config's steps
  unless ``--stage1_steps`` / ``--stage2_steps``): ``--seeds`` runs differing in the seed.
  *vmapped*: one ``train.train_group`` call on ``sweeps.seed_members`` of the config with ``num_seeds = --seeds``
  (what ``python -m launch.main`` runs for that config: one vmapped group split over the devices, with the summary
  over seeds), and the same group with ``train.num_devices = 1``.
  *sequential, compile per run*: one ``train.train_group`` call per seed (a group of one, no summary over seeds)
  on one device (``train.num_devices = 1``, what ``launch.main`` has for a single run), one after another: a
  stand-in for one process per seed, without interpreter start-up and imports.
  ``same_codebook`` counts the seeds whose evaluated codewords (``out['runs'][i]['eval']['codewords']``) from the
  vmapped group equal those of the seed trained alone (``same_codebook_one_device``: the one-device group).
* **NECST** (100-bit MLP on the embedded MNIST digits, ``experiments/necst/mnist.py:embedded`` with
  ``--necst_epochs`` epochs of 40 steps, test noise 0.1 and 0.2): ``2 * --necst_seeds`` points, the seeds crossed with
  training noise 0.1 / 0.2 (a traced per-run scalar in the group). *vmapped*: one ``train.train_group`` call on
  the points (what ``launch.sweep --vmap`` runs in its process). *sequential*: ``train.train_and_evaluate`` per
  point on one device (what ``launch.main`` runs for each point; it returns no seconds, so this row has no training
  and evaluation columns). Both write checkpoints and validate every epoch.

Columns: wall and CPU seconds (this process and its children), compile seconds, and the seconds of training and
of evaluation that ``train.train_group`` reports (``out['seconds']``; training includes the compilation of the
training programs, which happens inside the loop). Compile seconds are the union of the time spans JAX reports
for tracing, lowering and XLA compilation of every jitted program of the call (``jax.monitoring`` events
``/jax/core/compile/*``; training and evaluation programs alike). Execution alone is not reported: the rest of a
call's wall time also holds checkpoint writes, host-side evaluation and report files. The former row
"sequential, one compile" (one executable reused over the seeds) is not reported either: the loop builds its
programs per call, so runs in one process do not share executables, and that row would be an estimate, not a
measurement.

``--processes`` adds the end-to-end commands a user runs: ``python -m launch.sweep`` without ``--vmap`` (one
process per point: interpreter, imports, compilation, training, evaluation each time), for the (7,4) sweep also
with ``--parallel=N`` (default: one process per core), against the same command with ``--vmap`` (one process).
Speedups: in-process rows against the first (vmapped) row, command rows against ``launch.sweep --vmap``; a
speedup is the row's time divided by the reference's.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import jax

from experiments.progressive import hamming_7_4
from neuralcodes_jax import config_utils, distributed, sweeps, train
from neuralcodes_jax.methods import progressive

PROGRESSIVE_CONFIG = "experiments/progressive/hamming_7_4.py"
NECST_CONFIG = "experiments/necst/mnist.py:embedded"

#: JAX's time spans of tracing, lowering and XLA compilation of a jitted program.
COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_compile_spans: list[tuple[float, float]] = []


def _on_span(event: str, start: float, end: float, **kwargs) -> None:
    if event in COMPILE_EVENTS:
        _compile_spans.append((start, end))


jax.monitoring.register_event_time_span_listener(_on_span)


def _union(spans: list[tuple[float, float]]) -> float:
    total, cur_start, cur_end = 0.0, None, None
    for start, end in sorted(spans):
        if cur_end is None or start > cur_end:
            if cur_end is not None:
                total += cur_end - cur_start
            cur_start, cur_end = start, end
        else:
            cur_end = max(cur_end, end)
    return total + (cur_end - cur_start if cur_end is not None else 0.0)


class Clock:
    """Wall and CPU time (this process and finished children) of a block, and the compile time JAX reports in it."""

    def __enter__(self):
        self.first_span = len(_compile_spans)
        self.t0, self.c0 = time.perf_counter(), os.times()
        return self

    def __exit__(self, *exc):
        c1 = os.times()
        self.wall = time.perf_counter() - self.t0
        self.cpu = (
            (c1.user - self.c0.user)
            + (c1.system - self.c0.system)
            + (c1.children_user - self.c0.children_user)
            + (c1.children_system - self.c0.children_system)
        )
        self.compile = _union(_compile_spans[self.first_span :])


def _row(mode: str, wall: float, cpu: float | None, compile_s: float | None = None, note: str = "", **extra) -> dict:
    return {"mode": mode, "wall_s": wall, "cpu_s": cpu, "compile_s": compile_s, "note": note, **extra}


def timed_group(configs, workdirs, summaries=(), single: bool = False) -> tuple[dict, Clock]:
    """One ``train.train_group`` call (``single``: ``train.train_and_evaluate``) after clearing the JAX caches."""
    jax.clear_caches()
    with Clock() as clock:
        if single:
            one = train.train_and_evaluate(configs[0], workdirs[0], handle_signals=False)
            out = {"runs": [{"eval": one["eval"], "meta": one["meta"]}], "seconds": {}}
        else:
            out = train.train_group(configs, workdirs, summaries=summaries, handle_signals=False)
    return out, clock


def warm_up(configs, workdirs, summaries=()) -> None:
    """An untimed group call, so that one-time costs of the process (imports of the evaluation and plotting code,
    the first load of a data set, thread pools) are not charged to the first timed mode."""
    train.train_group(configs, workdirs, summaries=summaries, handle_signals=False)


def group_row(mode: str, out: dict, clock: Clock, **extra) -> dict:
    return _row(
        mode,
        clock.wall,
        clock.cpu,
        clock.compile,
        train_s=out["seconds"].get("train"),
        eval_s=out["seconds"].get("eval"),
        **extra,
    )


def one_device(config):
    config = copy.deepcopy(config)
    with config.unlocked():
        config.train.num_devices = 1
    return config


def mesh_shape(num_runs: int, num_devices: int = 0) -> dict[str, int]:
    """The ``('points', 'data')`` mesh ``train.train_group`` builds for ``num_runs`` runs."""
    mesh = train.make_mesh(num_runs, num_devices, train.split_batches(num_devices))
    return {k: int(v) for k, v in mesh.shape.items()}


def devices_label(mesh: dict[str, int]) -> str:
    n = mesh[train.POINTS_AXIS] * mesh[train.DATA_AXIS]
    return f"{n} device{'s' if n > 1 else ''}"


def _total(values: list) -> float | None:
    return None if any(v is None for v in values) else sum(values)


def sequential(configs, workdirs, mode: str, log, single: bool = False) -> tuple[dict, list[dict]]:
    """Every run alone, one after another, on one device (``single``: through ``train.train_and_evaluate``, which
    does not return the loop's seconds): the summed row, the per-run times and the runs' outputs."""
    per_run = {"wall_s": [], "cpu_s": [], "compile_s": [], "train_s": [], "eval_s": []}
    outs = []
    for c, w in zip(configs, workdirs):
        out, clock = timed_group([one_device(c)], [w], single=single)
        outs.append(out)
        per_run["wall_s"].append(clock.wall)
        per_run["cpu_s"].append(clock.cpu)
        per_run["compile_s"].append(clock.compile)
        per_run["train_s"].append(out["seconds"].get("train"))
        per_run["eval_s"].append(out["seconds"].get("eval"))
        log(
            f"  {os.path.relpath(w, os.path.dirname(os.path.dirname(w)))}: {clock.wall:.1f} s (compile "
            f"{clock.compile:.1f} s)"
        )
    row = _row(
        mode,
        sum(per_run["wall_s"]),
        sum(per_run["cpu_s"]),
        sum(per_run["compile_s"]),
        "one run at a time on one device, caches cleared before each",
        train_s=_total(per_run["train_s"]),
        eval_s=_total(per_run["eval_s"]),
    )
    if single:
        del per_run["train_s"], per_run["eval_s"]
    return {"row": row, "per_run": per_run}, outs


# ----------------------------------------------------------------------------------------------- (7,4)


def progressive_config(num_seeds: int, stage1_steps: int | None, stage2_steps: int | None):
    config = hamming_7_4.get_config()
    config.num_seeds = num_seeds
    config.train.progress = False
    if stage1_steps is not None:
        config.train.stage1_steps = stage1_steps
    if stage2_steps is not None:
        config.train.stage2_steps = stage2_steps
    return config


def _codewords(out: dict) -> list[list[str]]:
    return [run["eval"]["codewords"] for run in out["runs"]]


def bench_progressive(config, workroot: str, log) -> dict:
    num_seeds = int(config.num_seeds)
    rows = []
    configs, _, _ = sweeps.seed_members(config, workroot)

    def vmapped(name: str, group_config, num_devices: int):
        root = os.path.join(workroot, name)
        members, workdirs, summaries = sweeps.seed_members(group_config, root)
        out, clock = timed_group(members, workdirs, summaries)
        mesh = mesh_shape(num_seeds, num_devices)
        mode = f"vmapped ({num_seeds} seeds, one group, {devices_label(mesh)})"
        rows.append(group_row(mode, out, clock, mesh=mesh))
        log(
            f"  {mode}: {clock.wall:.1f} s (compile {clock.compile:.1f} s, train {out['seconds']['train']:.1f} s, "
            f"eval {out['seconds']['eval']:.1f} s)"
        )
        return _codewords(out)

    short = copy.deepcopy(config)
    short.num_seeds = min(num_seeds, 2)
    short.train.stage1_steps = short.train.stage2_steps = 1
    warm_up(*sweeps.seed_members(short, os.path.join(workroot, "warm_up")))
    books = vmapped("vmap", config, 0)
    books_one = None
    if jax.device_count() > 1:
        books_one = vmapped("vmap_1_device", one_device(config), 1)
    seq, outs = sequential(
        configs,
        [os.path.join(workroot, "seq", f"seed{int(c.seed)}") for c in configs],
        "sequential, compile per run",
        log,
    )
    rows.append(seq["row"])
    alone = [_codewords(o)[0] for o in outs]
    same = sum(a == b for a, b in zip(books, alone))
    log(f"  {same}/{num_seeds} seeds give the same codebook in the group and alone")
    res = {
        "points": num_seeds,
        "config": PROGRESSIVE_CONFIG,
        "spec": dataclasses.asdict(progressive.spec_from_config(config)),
        "steps_per_seed": int(config.train.stage1_steps) + int(config.train.stage2_steps),
        "rows": rows,
        "same_codebook": same,
        "per_seed": seq["per_run"],
    }
    if books_one is not None:
        res["same_codebook_one_device"] = sum(a == b for a, b in zip(books_one, alone))
        log(
            f"  {res['same_codebook_one_device']}/{num_seeds} seeds give the same codebook in the one-device "
            f"group and alone"
        )
    return res


# ----------------------------------------------------------------------------------------------- NECST

NECST_SETTINGS = {"train.tensorboard": False, "train.progress": False, "eval.noise_levels": (0.1, 0.2)}


def necst_entries(num_seeds: int, epochs: int) -> list[dict]:
    return [
        {"seed": s, "channel.eps": e, "train.num_epochs": epochs, **NECST_SETTINGS}
        for s in range(num_seeds)
        for e in (0.1, 0.2)
    ]


def bench_necst(num_seeds: int, epochs: int, workroot: str, log) -> dict:
    warm = sweeps.make_points(NECST_CONFIG, necst_entries(1, 1))
    warm_up([p.load_config() for p in warm], [p.workdir(os.path.join(workroot, "warm_up")) for p in warm])
    points = sweeps.make_points(NECST_CONFIG, necst_entries(num_seeds, epochs))
    configs, workdirs, summaries = [], [], []
    for p in points:
        c, w, s = sweeps.seed_members(p.load_config(), p.workdir(os.path.join(workroot, "vmap")))
        summaries += [(d, [len(configs) + i for i in members]) for d, members in s]
        configs += c
        workdirs += w
    out, clock = timed_group(configs, workdirs, summaries)
    mesh = mesh_shape(len(configs))
    mode = f"vmapped ({len(points)} points, one group, {devices_label(mesh)})"
    rows = [group_row(mode, out, clock, mesh=mesh)]
    log(
        f"  {mode}: {clock.wall:.1f} s (compile {clock.compile:.1f} s, train {out['seconds']['train']:.1f} s, "
        f"eval {out['seconds']['eval']:.1f} s)"
    )
    steps = int(out["runs"][0]["meta"]["step"])
    seq, _ = sequential(
        [p.load_config() for p in points],
        [p.workdir(os.path.join(workroot, "seq")) for p in points],
        "sequential train_and_evaluate, compile per run",
        log,
        single=True,
    )
    rows.append(seq["row"])
    return {
        "points": len(points),
        "steps_per_point": steps,
        "config": NECST_CONFIG,
        "rows": rows,
        "per_point": seq["per_run"],
    }


# ------------------------------------------------------------------------------------------- processes


def sweep_command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "launch.sweep", *args]


def bench_processes(name: str, args: list[str], workroot: str, log, parallel: int = 1) -> list[dict]:
    modes = [("launch.sweep, one process per point", [])]
    if parallel > 1:
        modes.append((f"launch.sweep --parallel={parallel}", [f"--parallel={parallel}"]))
    modes.append(("launch.sweep --vmap", ["--vmap"]))
    rows = []
    for mode, extra in modes:
        workdir = os.path.join(workroot, name + "_" + (extra[0].strip("-").replace("=", "") if extra else "proc"))
        cmd = sweep_command(args + [f"--workdir={workdir}"] + extra)
        with Clock() as c:
            subprocess.run(cmd, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        rows.append(_row(mode, c.wall, c.cpu, None, " ".join(["python -m launch.sweep", *args, *extra])))
        log(f"  {mode}: {c.wall:.1f} s")
    return rows


# ----------------------------------------------------------------------------------------------- report


def speedups(rows: list[dict], ref_mode: str) -> None:
    """Every row of ``rows`` that is not vmapped gets its time divided by that of the row ``ref_mode``."""
    ref = next(r for r in rows if r["mode"] == ref_mode)
    for r in rows:
        if "vmap" in r["mode"]:
            continue
        r["speedup_wall"] = r["wall_s"] / ref["wall_s"]
        r["speedup_cpu"] = r["cpu_s"] / ref["cpu_s"] if r["cpu_s"] else None


def table(title: str, rows: list[dict]) -> str:
    lines = [
        f"{title}",
        "",
        "| mode | wall s | CPU s | compile s | train s | eval s | vmapped speedup (wall) | (CPU) |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def f(v, d=1):
        return "" if v is None else f"{v:.{d}f}"

    for r in rows:
        lines.append(
            f"| {r['mode']} | {f(r['wall_s'])} | {f(r['cpu_s'])} | {f(r['compile_s'])} | "
            f"{f(r.get('train_s'))} | {f(r.get('eval_s'))} | "
            f"{f(r.get('speedup_wall'), 2) + 'x' if r.get('speedup_wall') else ''} | "
            f"{f(r.get('speedup_cpu'), 2) + 'x' if r.get('speedup_cpu') else ''} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--only", default="progressive,necst", help="comma-separated: progressive, necst")
    parser.add_argument("--seeds", type=int, default=16, help="(7,4) runs (seeds)")
    parser.add_argument("--stage1_steps", type=int, default=None, help="(7,4) stage-1 steps (config: 16000)")
    parser.add_argument("--stage2_steps", type=int, default=None, help="(7,4) stage-2 steps (config: 1000)")
    parser.add_argument("--necst_seeds", type=int, default=4, help="NECST seeds (x 2 noise levels = points)")
    parser.add_argument("--necst_epochs", type=int, default=2, help="NECST epochs of 40 steps")
    parser.add_argument("--processes", action="store_true", help="also time the launch.sweep commands")
    parser.add_argument(
        "--parallel",
        type=int,
        default=0,
        help="with --processes: also time launch.sweep --parallel=N for the (7,4) sweep "
        "(default: one process per core)",
    )
    parser.add_argument(
        "--cpu_devices", type=int, default=0, help="CPU devices the groups are split over (0: one per core)"
    )
    args = parser.parse_args()
    distributed.use_cpu_cores(args.cpu_devices)
    only = set(args.only.split(","))
    unknown = only - {"progressive", "necst"}
    if unknown:
        parser.error(f"--only takes progressive and/or necst, got {sorted(unknown)}")

    def log(s):
        print(s, flush=True)

    result = {
        "machine": {
            "python": platform.python_version(),
            "jax": jax.__version__,
            "devices": [str(d) for d in jax.devices()],
            "cpus": os.cpu_count(),
            "load_average_start": os.getloadavg(),
        }
    }
    workroot = tempfile.mkdtemp(prefix="sweep_vmap_")
    try:
        if "progressive" in only:
            config = progressive_config(args.seeds, args.stage1_steps, args.stage2_steps)
            s1, s2 = int(config.train.stage1_steps), int(config.train.stage2_steps)
            log(f"(7,4) progressive, {args.seeds} seeds, {s1} + {s2} steps")
            res = bench_progressive(config, os.path.join(workroot, "progressive"), log)
            speedups(res["rows"], res["rows"][0]["mode"])
            if args.processes:
                grid = [
                    f"--config={PROGRESSIVE_CONFIG}",
                    f"--grid=seed=0:{args.seeds}",
                    "--set=num_seeds=1",
                    "--only=progressive",
                    f"--set=train.stage1_steps={s1}",
                    f"--set=train.stage2_steps={s2}",
                ]
                procs = bench_processes(
                    "progressive_cmd", grid, workroot, log, parallel=args.parallel or os.cpu_count() or 1
                )
                speedups(procs, "launch.sweep --vmap")
                res["rows"] += procs
            result["progressive"] = res
            log(table(f"(7,4) code, {args.seeds} seeds x {res['steps_per_seed']} steps:", res["rows"]))
        if "necst" in only:
            log(f"NECST embedded MNIST, {2 * args.necst_seeds} points, {args.necst_epochs} epochs")
            res = bench_necst(args.necst_seeds, args.necst_epochs, os.path.join(workroot, "necst"), log)
            speedups(res["rows"], res["rows"][0]["mode"])
            if args.processes:
                grid = [
                    f"--config={NECST_CONFIG}",
                    f"--grid=seed=0:{args.necst_seeds}",
                    "--grid=channel.eps=0.1,0.2",
                    f"--set=train.num_epochs={args.necst_epochs}",
                    *[f"--set={k}={config_utils.cli_value(v)}" for k, v in NECST_SETTINGS.items()],
                ]
                procs = bench_processes("necst_cmd", grid, workroot, log)
                speedups(procs, "launch.sweep --vmap")
                res["rows"] += procs
            result["necst"] = res
            log(table(f"NECST, {res['points']} points x {res['steps_per_point']} steps:", res["rows"]))
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    result["machine"]["load_average_end"] = os.getloadavg()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
