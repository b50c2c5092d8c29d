"""Run a sweep: every point of a config's ``get_sweep()`` (or of a ``--grid``) as its own run in ``DIR/<point name>``.

    python -m launch.sweep --config=experiments/iabf/table1.py --workdir=DIR [--set=train.num_epochs=20]
    python -m launch.sweep --config=experiments/necst/mnist.py:embedded --workdir=DIR \\
        --grid=seed=0:4 --grid=channel.eps=0.1,0.2 [--parallel=2 | --vmap] [--dry_run]
    python -m launch.sweep --config=experiments/progressive/hamming_7_4.py --workdir=DIR \\
        --grid=seed=0:16 --set=num_seeds=1 --vmap

Points (the package ``neuralcodes_jax/sweeps``): a sweep entry is a dict of dotted config overrides, with optional
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

import shlex
import sys

from absl import app, flags, logging

from neuralcodes_jax import sweeps

FLAGS = flags.FLAGS


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
        results = sweeps.run_sweep(
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
        sys.exit(sweeps.PREEMPTED_EXIT_CODE)
    except DamagedFileError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
    failed = [r["name"] for r in results if r is not None and r.get("status") != "ok"]
    if failed:
        raise SystemExit(f"{len(failed)} point(s) did not finish: {', '.join(failed)}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
