"""NECST's separation baselines: VAE + rate-1/2 LDPC (Fig. 3 left) and WebP + ideal channel code (Fig. 2).

    python -m launch.baselines --task=vae_ldpc --config=experiments/baselines/vae.py:binary_mnist \
        --workdir=DIR [--data_root=../shared/data] [--budget_epochs=N] \
        [--necst_workdirs=workdirs/necst_bmnist_eps{eps}] [--figure=PNG]
    python -m launch.baselines --task=webp --config=experiments/baselines/webp.py:binary_mnist --workdir=DIR \
        [--necst_workdirs=workdirs/necst_bmnist_eps{eps}] [--figure=PNG]

Flags only: what a run does, the files it writes and the report are described in ``experiments/baselines/run.py``.
"""

from __future__ import annotations

import sys

from absl import app, flags, logging

from experiments.baselines.run import TASKS, run_vae_ldpc, run_webp

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Command-line flags; defined only when run as a program (absl flags are global; tests import this module)."""
    from ml_collections import config_flags

    flags.DEFINE_enum("task", None, list(TASKS), "Which baseline to run.")
    config_flags.DEFINE_config_file(
        "config", None, "Config file (experiments/baselines/*.py:variant).", lock_config=False
    )
    flags.DEFINE_string("workdir", None, "Output directory.")
    flags.DEFINE_string("data_root", None, "Folder with local datasets (binarized_mnist/, omniglot/); vae_ldpc only.")
    flags.DEFINE_integer("budget_epochs", None, "VAE training epochs (default: the config's).")
    flags.DEFINE_string(
        "necst_workdirs",
        None,
        "NECST run directories, a pattern with {eps} (e.g. "
        "workdirs/necst_bmnist_eps{eps}); for webp it overrides the config's.",
    )
    flags.DEFINE_string("figure", None, "Where to write the plot (default: DIR/<task>.png).")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if FLAGS.task is None or FLAGS.config is None or FLAGS.workdir is None:
        raise app.UsageError("--task, --config and --workdir are required")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    command = "python -m launch.baselines " + " ".join(sys.argv[1:])
    from neuralcodes_jax.config_utils import DamagedFileError

    try:
        if FLAGS.task == "vae_ldpc":
            run_vae_ldpc(
                FLAGS.config,
                FLAGS.workdir,
                data_root=FLAGS.data_root,
                budget_epochs=FLAGS.budget_epochs,
                necst_workdirs=FLAGS.necst_workdirs,
                figure=FLAGS.figure,
                command=command,
            )
        else:
            run_webp(
                FLAGS.config, FLAGS.workdir, necst_workdirs=FLAGS.necst_workdirs, figure=FLAGS.figure, command=command
            )
    except DamagedFileError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    define_flags()
    app.run(main)
