"""Command line: ``python -m launch.main --config=experiments/necst/binary_mnist.py[:variant] --workdir=DIR``.

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
"""

import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

PREEMPTED_EXIT_CODE = 75   # os.EX_TEMPFAIL

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file (file.py or file.py:variant).",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and evaluation tables.")
flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() before touching devices (one process per "
                  "host; arguments auto-detected on Cloud TPU, Slurm, Open MPI unless given below).")
flags.DEFINE_alias("multiprocess", "multihost")
flags.DEFINE_string("coordinator_address", None, "With --multihost: 'host:port' of process 0 (manual clusters).")
flags.DEFINE_integer("num_processes", None, "With --multihost: number of processes (manual clusters).")
flags.DEFINE_integer("process_id", None, "With --multihost: this process's id in [0, num_processes).")
flags.DEFINE_list("local_device_ids", None, "With --multihost: devices this process uses (e.g. one GPU each).")
flags.DEFINE_integer("preempted_exit_code", PREEMPTED_EXIT_CODE,
                     "Exit code after a stop signal (SIGTERM/SIGINT) once the checkpoint is written.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)   # Orbax logs every save at INFO; --verbosity=0 shows it
    manual = {name: FLAGS[name].value for name in ("coordinator_address", "num_processes", "process_id",
                                                   "local_device_ids") if FLAGS[name].value is not None}
    if manual and not FLAGS.multihost:
        raise app.UsageError(f"--{', --'.join(manual)}: only with --multihost")
    import jax  # after flag parsing, so --help stays fast

    from neuralcodes_jax import distributed

    if FLAGS.multihost:
        try:
            distributed.initialize(**manual)
        except ValueError as e:
            raise app.UsageError(str(e)) from e
    from neuralcodes_jax import train

    if jax.process_index() == 0:
        print(f"JAX {jax.__version__}, {jax.process_count()} process(es), {jax.device_count()} device(s): "
              f"{jax.devices()[0].platform}", flush=True)
    try:
        result = train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
    except train.Preempted as e:
        print(f"process {jax.process_index()}: {e}", flush=True)
        sys.exit(FLAGS.preempted_exit_code)
    if jax.process_index() == 0:
        from neuralcodes_jax import evaluation

        print(evaluation.markdown_table(result["eval"]))
        print(f"(written to {FLAGS.workdir}/eval.md and eval.json)")


if __name__ == "__main__":
    app.run(main)
