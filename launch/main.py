"""Command line: ``python -m launch.main --config=experiments/necst/binary_mnist.py[:variant] --workdir=DIR``.

Trains the config's run with ``train.train_group``, the one loop: one seed in ``DIR``, or (``num_seeds > 1``) the
seeds ``seed .. seed + num_seeds - 1`` as one vmapped group in ``DIR/seed<s>`` with the evaluator's summary over
seeds in ``DIR``. Every method goes this way (NECST, IABF, the VAE, learned codes: ``experiments/progressive``).
Any config field can be overridden with ``--config.a.b=value`` (types are checked against the config file).

Multi-host: ``--multihost`` calls ``jax.distributed.initialize()`` before JAX touches a device. On Cloud TPU, Slurm or
Open MPI no more is needed (run the same command on every host). For a manual cluster, e.g. two processes on one
machine, give every process the coordinator (process 0's "host:port"), the process count and its own id::

    python -m launch.main --config=... --workdir=DIR --multihost \\
        --coordinator_address=localhost:12345 --num_processes=2 --process_id=0   # and =1 in a second shell

All processes must use the same config and workdir (a filesystem they all see). ``--multiprocess`` is an alias of
``--multihost``.

Preemption: SIGTERM (or Ctrl-C) stops training at the next step-chunk boundary; every process stops after the same
step, a checkpoint is written, "preempted at step N" is printed and the process exits with ``--preempted_exit_code``
(default 75, EX_TEMPFAIL: "temporary failure, run again"). Running the same command again resumes from that
checkpoint and gives the result of an uninterrupted run. Ctrl-C twice interrupts at once.

Exit codes: 0 done; 75 preempted (rerun to resume); 3 diverged (a non-finite loss or gradient norm, or a loss above
``train.max_loss``: the last good checkpoint is kept, nothing is evaluated); 1 any other error, e.g. a workdir held
by another live run (``WORKDIR/run.lock`` names it).
"""

import os
import pathlib
import sys

from absl import app, flags, logging
from ml_collections import config_flags

PREEMPTED_EXIT_CODE = 75  # os.EX_TEMPFAIL
DIVERGED_EXIT_CODE = 3  # a loss or gradient norm became non-finite (or exceeded train.max_loss)

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file(
    "config", None, "Experiment config file (file.py or file.py:variant).", lock_config=True
)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and evaluation tables.")
flags.DEFINE_bool(
    "multihost",
    False,
    "Call jax.distributed.initialize() before touching devices (one process per "
    "host; arguments auto-detected on Cloud TPU, Slurm, Open MPI unless given below).",
)
flags.DEFINE_alias("multiprocess", "multihost")
flags.DEFINE_string("coordinator_address", None, "With --multihost: 'host:port' of process 0 (manual clusters).")
flags.DEFINE_integer("num_processes", None, "With --multihost: number of processes (manual clusters).")
flags.DEFINE_integer("process_id", None, "With --multihost: this process's id in [0, num_processes).")
flags.DEFINE_list("local_device_ids", None, "With --multihost: devices this process uses (e.g. one GPU each).")
flags.DEFINE_integer(
    "preempted_exit_code",
    PREEMPTED_EXIT_CODE,
    "Exit code after a stop signal (SIGTERM/SIGINT) once the checkpoint is written.",
)
flags.DEFINE_integer(
    "cpu_devices",
    0,
    "On a CPU-only host, the CPU devices to expose (0: one per core when the run "
    "has several seeds, else JAX's default; distributed.use_cpu_cores).",
)
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # Orbax logs every save at INFO; --verbosity=0 shows it
    manual = {
        name: FLAGS[name].value
        for name in ("coordinator_address", "num_processes", "process_id", "local_device_ids")
        if FLAGS[name].value is not None
    }
    if manual and not FLAGS.multihost:
        raise app.UsageError(f"--{', --'.join(manual)}: only with --multihost")
    from neuralcodes_jax import distributed, sweeps

    configs, workdirs, summaries = sweeps.seed_members(FLAGS.config, FLAGS.workdir)
    if not FLAGS.multihost and (len(configs) > 1 or FLAGS.cpu_devices):
        distributed.use_cpu_cores(FLAGS.cpu_devices)  # a group of seeds splits over the cores
    import jax  # after flag parsing, so --help stays fast

    if FLAGS.multihost:
        try:
            distributed.initialize(**manual)
        except ValueError as e:
            raise app.UsageError(str(e)) from e
    from neuralcodes_jax import checkpointing, config_utils, run_config, train

    try:
        for config in configs:
            run_config.parse(config)  # every field read or refused, every value checked: one line if not
    except ValueError as e:
        raise app.UsageError(str(e)) from None

    if jax.process_index() == 0:
        print(
            f"JAX {jax.__version__}, {jax.process_count()} process(es), {jax.device_count()} device(s): "
            f"{jax.devices()[0].platform}",
            flush=True,
        )
    try:
        out = train.train_group(configs, workdirs, summaries=summaries)
    except train.Preempted as e:
        print(f"process {jax.process_index()}: {e}", flush=True)
        sys.exit(FLAGS.preempted_exit_code)
    except train.NonFiniteLossError as e:
        print(f"process {jax.process_index()}: {e}", file=sys.stderr, flush=True)
        sys.exit(DIVERGED_EXIT_CODE)
    except train.WorkdirLocked as e:
        raise app.UsageError(str(e)) from None
    except (checkpointing.CheckpointError, checkpointing.CheckpointWriteError, config_utils.DamagedFileError) as e:
        print(f"process {jax.process_index()}: error: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    if jax.process_index() == 0:
        for name in ("summary.md", "eval_summary.md", "eval.md", "codebook_report.json"):
            path = os.path.join(FLAGS.workdir, name)
            if os.path.isfile(path):
                if name.endswith(".md"):
                    print(pathlib.Path(path).read_text())
                print(f"(written to {path})")
                break
        print(f"{len(configs)} run(s) in {out['seconds']['total']:.0f} s; reports in {FLAGS.workdir}")


def check_overrides(argv) -> None:
    """Exits with one line naming an unknown ``--config.<field>`` and the closest existing fields, before the
    config flag parser (which would raise a bare ``AttributeError``)."""
    from neuralcodes_jax import config_utils, sweeps

    ref = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
    keys = [a[len("--config.") :].split("=", 1)[0] for a in argv if a.startswith("--config.")]
    if ref is None or not keys:
        return
    try:
        config = sweeps.load_config(ref)
    except Exception:
        return
    flat = config_utils.flatten(config)
    for key in keys:
        if key not in flat and not any(k.startswith(key + ".") for k in flat):
            sys.exit(f"error: --config.{key}: {config_utils.unknown_field_error(config, key)}")


if __name__ == "__main__":
    check_overrides(sys.argv[1:])
    app.run(main)
