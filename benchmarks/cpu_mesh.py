"""How to lay runs over the CPU devices of one host: the training chunk of a Binary-MNIST step of
``experiments/iabf/vs_necst.py`` (MLP 784-500-100 / 100-500-500-784, batch 100, K = 5, VIMCO; ``--method iabf``
adds ABF + infomax) on each mesh a group of 1, 2, ... runs can have.

    python benchmarks/cpu_mesh.py [--method iabf] [--groups 1,2] [--steps 20] [--repeats 10] [--cpu_devices 0]
        [--json out.json]

The process exposes ``--cpu_devices`` CPU devices (0: one per core, as the launchers do). Rows: runs in the group,
devices used, the mesh ``(points, data)``, run-steps per second (each run's steps counted), the ratio to one run on
one device in the same process, and ``cpu/wall`` (near the core count on an idle machine; compare only rows of one
run). Each size in ``--groups`` gets a row on one device and, when the device count divides it, one with its runs
spread over all devices. ``train.make_mesh(..., split_batch=False)`` (what the trainer uses on CPU devices,
``train.split_batches``) never splits a run's batch; the ``(1, devices)`` row is what splitting it costs. Random
binary images stand in for the data (the step's cost does not depend on them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", default="iabf", choices=("necst", "abf", "iabf"), help="the step timed")
    ap.add_argument("--groups", default="1,2", help="group sizes (runs), comma-separated")
    ap.add_argument("--steps", type=int, default=20, help="steps per host call")
    ap.add_argument("--repeats", type=int, default=10, help="timed host calls per row")
    ap.add_argument("--cpu_devices", type=int, default=0, help="CPU devices to expose (0: one per core)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    from neuralcodes_jax import distributed

    distributed.use_cpu_cores(args.cpu_devices)
    import jax
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from neuralcodes_jax import methods, programs, sweeps, train

    groups = [int(g) for g in args.groups.split(",")]
    if not groups or min(groups) < 1:
        raise SystemExit(f"--groups must list positive group sizes, got {args.groups!r}")
    config = sweeps.load_config(f"experiments/iabf/vs_necst.py:{args.method}", {})
    method = methods.build(config, methods.DataSpec((784,), True))
    x = (np.random.default_rng(0).random((args.steps, 100, 784)) < 0.3).astype(np.float32)
    d = jax.device_count()
    cases = [(1, 1)] + ([(1, d)] if d > 1 else [])
    for g in groups:
        cases += [(g, 1)] if g > 1 else []
        cases += [(g, d)] if d > 1 and g > 1 and g % d == 0 else []
    rows = []
    for runs, devices in cases:
        mesh = train.make_mesh(runs, devices)
        pts = train.on_points(mesh)
        streams = programs.group_streams(list(range(runs)), pts)
        init = jax.jit(programs.per_point(method.init, runs, (0, None)), out_shardings=pts)
        state = init(streams["init"], x[0, :1])
        chunk = programs.make_run_chunk(method, mesh, runs, 0, args.steps, True)
        xs = jax.device_put(
            np.broadcast_to(x, (runs,) + x.shape).copy(),
            NamedSharding(mesh, P(train.POINTS_AXIS, None, train.DATA_AXIS)),
        )
        state, _ = chunk(state, xs, streams["train"], {})
        jax.block_until_ready(state)
        t, c = time.perf_counter(), time.process_time()
        for _ in range(args.repeats):
            state, _ = chunk(state, xs, streams["train"], {})
        jax.block_until_ready(state)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        rows.append(
            {
                "runs": runs,
                "devices": devices,
                "mesh": [int(v) for v in mesh.devices.shape],
                "run_steps_per_s": runs * args.steps * args.repeats / wall,
                "cpu_over_wall": cpu / wall,
            }
        )
    base = rows[0]["run_steps_per_s"]
    cpu_name = platform.processor() or platform.machine()
    print(f"{args.method} step; JAX {jax.__version__}, {d} CPU devices, {os.cpu_count()} cores, {cpu_name}")
    print("| runs | devices | mesh (points, data) | run-steps/s | vs 1 run on 1 device | cpu/wall |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        r["ratio"] = r["run_steps_per_s"] / base
        print(
            f"| {r['runs']} | {r['devices']} | {tuple(r['mesh'])} | {r['run_steps_per_s']:.1f} | "
            f"{r['ratio']:.2f} | {r['cpu_over_wall']:.2f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "method": args.method,
                    "jax_version": jax.__version__,
                    "devices": d,
                    "cores": os.cpu_count(),
                    "steps": args.steps,
                    "repeats": args.repeats,
                    "rows": rows,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
