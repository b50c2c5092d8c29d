"""Vmapped sweeps against sequential runs: wall time (compilation included) and speedup.

    python benchmarks/sweep_vmap.py [--json out.json] [--only progressive,necst] [--seeds 16]
        [--stage1_steps N --stage2_steps N] [--necst_seeds 4 --necst_epochs 2] [--processes [--parallel N]]
        [--cpu_devices N]

The process first exposes one CPU device per core (``distributed.use_cpu_cores``, ``--cpu_devices``), as the
launchers do, so that a vmapped program is split over the cores. Two sweeps, each run both ways in this one process
(cold JAX caches before every measured run, so every run pays its own compilation, as a separate process would):

* **(7,4) learned code** (``experiments/progressive/hamming_7_4.py``, progressive training, the config's steps
  unless ``--stage1_steps`` / ``--stage2_steps``): ``--seeds`` points differing in the seed.
  *vmapped*: all seeds as one program (``progressive.train_seeds`` on keys split over the devices, which is
  ``sweeps.train_progressive_seeds``), and the same program on one device.
  *sequential, compile per run*: ``progressive.train_seed_jit`` once per seed with the caches cleared before each
  (what one process per seed pays, without interpreter start-up and imports).
  *sequential, one compile*: the same measurements with a single compilation (a Python loop over seeds in one
  process reusing the executable: the first run's compile time plus every run's execution time).
* **NECST** (100-bit MLP on the embedded MNIST digits, ``experiments/necst/mnist.py:embedded`` with
  ``--necst_epochs`` epochs of 40 steps, test noise 0.1 and 0.2): ``2 * --necst_seeds`` points, the seeds crossed with
  training noise 0.1 / 0.2 (a traced per-point scalar). *vmapped*: ``sweeps.train_group`` (training, per-epoch
  validation, evaluation, files). *sequential*: ``train.train_and_evaluate`` per point (what ``launch.main``
  runs; it also writes Orbax checkpoints, which the vmapped group does not).

``--processes`` adds the end-to-end commands a user runs: ``python -m launch.sweep`` without ``--vmap`` (one
process per point: interpreter, imports, compilation, training, evaluation each time), for the (7,4) sweep also
with ``--parallel=N`` (default: one process per core), against the same command with ``--vmap`` (one process).
Reported per row: wall seconds, process CPU seconds (this process and its children), compile seconds where
measured, and the speedup: in-process rows against the in-process vmapped row, command rows against
``launch.sweep --vmap``.
"""

from __future__ import annotations

import argparse
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

import jax  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

from experiments.progressive import hamming_7_4  # noqa: E402
from neuralcodes_jax import distributed  # noqa: E402
from neuralcodes_jax import sweeps  # noqa: E402
from neuralcodes_jax import train  # noqa: E402
from neuralcodes_jax.methods import progressive  # noqa: E402


class Clock:
    """Wall and CPU time (this process and finished children) of a block."""

    def __enter__(self):
        self.t0, self.c0 = time.perf_counter(), os.times()
        return self

    def __exit__(self, *exc):
        c1 = os.times()
        self.wall = time.perf_counter() - self.t0
        self.cpu = (c1.user - self.c0.user) + (c1.system - self.c0.system) + \
            (c1.children_user - self.c0.children_user) + (c1.children_system - self.c0.children_system)


def _row(mode: str, wall: float, cpu: float, compile_s: float | None = None, note: str = "") -> dict:
    return {"mode": mode, "wall_s": wall, "cpu_s": cpu, "compile_s": compile_s, "note": note}


# ----------------------------------------------------------------------------------------------- (7,4)

def progressive_spec(stage1_steps: int | None, stage2_steps: int | None):
    config = hamming_7_4.get_config()
    if stage1_steps is not None:
        config.train.stage1_steps = stage1_steps
    if stage2_steps is not None:
        config.train.stage2_steps = stage2_steps
    return progressive.spec_from_config(config, "progressive")


def bench_progressive(num_seeds: int, spec, log) -> dict:
    keys = [progressive.seed_keys(s, 1)[0] for s in range(num_seeds)]
    stacked = jax.numpy.stack(keys)
    rows = []

    def vmapped(mesh, mode):
        sharded = jax.device_put(stacked, NamedSharding(mesh, P("points")))
        jax.clear_caches()
        with Clock() as total:
            with Clock() as comp:
                compiled = progressive.train_seeds.lower(sharded, spec).compile()
            out = jax.block_until_ready(compiled(sharded))
        rows.append(_row(mode, total.wall, total.cpu, comp.wall))
        log(f"  {mode}: {total.wall:.1f} s (compile {comp.wall:.1f} s)")
        return jax.device_get(out["codebook"])

    mesh = sweeps.points_mesh(num_seeds)
    vmapped_books = vmapped(mesh, f"vmapped ({num_seeds} seeds, one program, {mesh.devices.size} device(s))")
    if mesh.devices.size > 1:
        vmapped(sweeps.points_mesh(num_seeds, max_devices=1), f"vmapped ({num_seeds} seeds, one program, 1 device)")

    compile_s, exec_s, cpu_s, same = [], [], [], 0
    for i, key in enumerate(keys):
        jax.clear_caches()
        with Clock() as c1:
            compiled = progressive.train_seed_jit.lower(key, spec).compile()
        with Clock() as c2:
            one = jax.block_until_ready(compiled(key))
        compile_s.append(c1.wall)
        exec_s.append(c2.wall)
        cpu_s.append(c1.cpu + c2.cpu)
        same += bool((jax.device_get(one["codebook"]) == vmapped_books[i]).all())
        log(f"  seed {i}: compile {c1.wall:.1f} s, run {c2.wall:.1f} s")
    rows.append(_row("sequential, compile per run", sum(compile_s) + sum(exec_s), sum(cpu_s), sum(compile_s)))
    rows.append(_row("sequential, one compile", compile_s[0] + sum(exec_s),
                     None, compile_s[0], "first run's compile + every run's execution (no separate measurement)"))
    log(f"  {same}/{num_seeds} seeds give the same codebook vmapped and alone")
    return {"points": num_seeds, "spec": dataclasses.asdict(spec), "rows": rows, "same_codebook": same,
            "per_seed": {"compile_s": compile_s, "exec_s": exec_s}}


# ----------------------------------------------------------------------------------------------- NECST

NECST_SETTINGS = {"train.tensorboard": False, "train.progress": False, "eval.noise_levels": (0.1, 0.2)}


def necst_entries(num_seeds: int, epochs: int) -> list[dict]:
    return [{"seed": s, "channel.eps": e, "train.num_epochs": epochs, **NECST_SETTINGS}
            for s in range(num_seeds) for e in (0.1, 0.2)]


def bench_necst(num_seeds: int, epochs: int, workroot: str, log) -> dict:
    ref = "experiments/necst/mnist.py:embedded"
    points = sweeps.make_points(ref, necst_entries(num_seeds, epochs))
    configs = [p.load_config() for p in points]
    rows = []
    jax.clear_caches()
    with Clock() as total:
        run = sweeps.train_group(configs, [p.workdir(os.path.join(workroot, "vmap")) for p in points])
    rows.append(_row(f"vmapped ({len(points)} points, one program)", total.wall, total.cpu, None,
                     f"train {run.seconds['train']:.1f} s, eval {run.seconds['eval']:.1f} s"))
    log(f"  vmapped: {total.wall:.1f} s {run.seconds}")
    wall, cpu = 0.0, 0.0
    for p, c in zip(points, configs):
        jax.clear_caches()
        with Clock() as one:
            train.train_and_evaluate(c, p.workdir(os.path.join(workroot, "seq")))
        wall += one.wall
        cpu += one.cpu
        log(f"  {p.name}: {one.wall:.1f} s")
    rows.append(_row("sequential train_and_evaluate, compile per run", wall, cpu))
    steps = int(configs[0].train.num_epochs) * (4000 // int(configs[0].train.batch_size))
    return {"points": len(points), "steps_per_point": steps, "config": ref, "rows": rows}


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
    lines = [f"{title}", "", "| mode | wall s | CPU s | compile s | vmapped speedup (wall) | (CPU) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        def f(v, d=1):
            return "" if v is None else f"{v:.{d}f}"
        lines.append(f"| {r['mode']} | {f(r['wall_s'])} | {f(r['cpu_s'])} | {f(r['compile_s'])} | "
                     f"{f(r.get('speedup_wall'), 2) + 'x' if r.get('speedup_wall') else ''} | "
                     f"{f(r.get('speedup_cpu'), 2) + 'x' if r.get('speedup_cpu') else ''} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--only", default="progressive,necst", help="comma-separated: progressive, necst")
    parser.add_argument("--seeds", type=int, default=16, help="(7,4) points (seeds)")
    parser.add_argument("--stage1_steps", type=int, default=None, help="(7,4) stage-1 steps (config: 16000)")
    parser.add_argument("--stage2_steps", type=int, default=None, help="(7,4) stage-2 steps (config: 1000)")
    parser.add_argument("--necst_seeds", type=int, default=4, help="NECST seeds (x 2 noise levels = points)")
    parser.add_argument("--necst_epochs", type=int, default=2, help="NECST epochs of 40 steps")
    parser.add_argument("--processes", action="store_true", help="also time the launch.sweep commands")
    parser.add_argument("--parallel", type=int, default=0,
                        help="with --processes: also time launch.sweep --parallel=N for the (7,4) sweep "
                             "(default: one process per core)")
    parser.add_argument("--cpu_devices", type=int, default=0,
                        help="CPU devices the vmapped programs are split over (0: one per core)")
    args = parser.parse_args()
    distributed.use_cpu_cores(args.cpu_devices)
    only = set(args.only.split(","))

    def log(s):
        print(s, flush=True)

    result = {"machine": {"python": platform.python_version(), "jax": jax.__version__,
                          "devices": [str(d) for d in jax.devices()], "cpus": os.cpu_count(),
                          "load_average_start": os.getloadavg()}}
    workroot = tempfile.mkdtemp(prefix="sweep_vmap_")
    try:
        if "progressive" in only:
            spec = progressive_spec(args.stage1_steps, args.stage2_steps)
            log(f"(7,4) progressive, {args.seeds} seeds, {spec.stage1_steps} + {spec.stage2_steps} steps")
            res = bench_progressive(args.seeds, spec, log)
            speedups(res["rows"], res["rows"][0]["mode"])
            if args.processes:
                grid = ["--config=experiments/progressive/hamming_7_4.py", f"--grid=seed=0:{args.seeds}",
                        "--set=num_seeds=1", "--set=trainings=('progressive',)",
                        f"--set=train.stage1_steps={spec.stage1_steps}",
                        f"--set=train.stage2_steps={spec.stage2_steps}"]
                procs = bench_processes("progressive", grid, workroot, log,
                                        parallel=args.parallel or os.cpu_count() or 1)
                speedups(procs, "launch.sweep --vmap")
                res["rows"] += procs
            result["progressive"] = res
            log(table(f"(7,4) code, {args.seeds} seeds:", res["rows"]))
        if "necst" in only:
            log(f"NECST embedded MNIST, {2 * args.necst_seeds} points, {args.necst_epochs} epochs")
            res = bench_necst(args.necst_seeds, args.necst_epochs, workroot, log)
            speedups(res["rows"], res["rows"][0]["mode"])
            if args.processes:
                grid = ["--config=experiments/necst/mnist.py:embedded", f"--grid=seed=0:{args.necst_seeds}",
                        "--grid=channel.eps=0.1,0.2", f"--set=train.num_epochs={args.necst_epochs}",
                        *[f"--set={k}={sweeps.cli_value(v)}" for k, v in NECST_SETTINGS.items()]]
                procs = bench_processes("necst", grid, workroot, log)
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
