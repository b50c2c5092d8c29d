"""Command line: ``python -m launch.main --config=experiments/necst/binary_mnist.py[:variant] --workdir=DIR``.

Any config field can be overridden with ``--config.a.b=value`` (types are checked against the config file).
``--multiprocess`` calls ``jax.distributed.initialize()`` first (Cloud TPU, Slurm, or with the coordinator given by
the JAX environment variables).
"""

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file (file.py or file.py:variant).",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and evaluation tables.")
flags.DEFINE_bool("multiprocess", False, "Call jax.distributed.initialize() before touching devices.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)   # Orbax logs every save at INFO; --verbosity=0 shows it
    import jax  # after flag parsing, so --help stays fast

    if FLAGS.multiprocess:
        jax.distributed.initialize()
    from neuralcodes_jax import train

    if jax.process_index() == 0:
        print(f"JAX {jax.__version__}, {jax.process_count()} process(es), {jax.device_count()} device(s): "
              f"{jax.devices()[0].platform}", flush=True)
    result = train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
    if jax.process_index() == 0:
        from neuralcodes_jax import evaluation

        print(evaluation.markdown_table(result["eval"]))
        print(f"(written to {FLAGS.workdir}/eval.md and eval.json)")


if __name__ == "__main__":
    app.run(main)
