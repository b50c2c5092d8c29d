"""Reproduce a paper table: run its grid as a sweep, evaluate, and write a markdown table beside the paper's numbers.

    python -m launch.reproduce --table=iabf_table1 --workdir=DIR [--datasets=binary_mnist] [--methods=necst,iabf]
        [--noise_levels=0.1,0.2] [--budget_epochs=N] [--data_root=../shared/data] [--set=iabf.infomax_weight=0.01]
        [--out=results/iabf_table1_binary_mnist.md] [--smoke] [--dry_run]

Flags only: what a run does, the files it writes and the report are described in ``experiments/reproduce.py``.
"""

from __future__ import annotations

import sys

from absl import app, flags, logging

from experiments import paper_tables
from experiments.reproduce import reproduce
from neuralcodes_jax.config_utils import DamagedFileError

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command-line flags; defined only when run as a program, so tests can import this module beside
    other launchers (absl flags are global)."""
    flags.DEFINE_string("table", None, f"Table to reproduce: one of {sorted(paper_tables.TABLES)}.")
    flags.DEFINE_string("workdir", None, "Root directory of the sweep (one sub-directory per run).")
    flags.DEFINE_list("datasets", None, "Dataset blocks to run (default: all of the table's).")
    flags.DEFINE_list("methods", None, "Methods to run (default: all runnable methods of the table).")
    flags.DEFINE_list("noise_levels", None, "Training/test noise levels (default: the table's).")
    flags.DEFINE_integer("budget_epochs", None, "Training epochs per run (default: the config's, i.e. the paper's).")
    flags.DEFINE_string("data_root", None, "Folder with local datasets (binarized_mnist/, mnist/, omniglot/).")
    flags.DEFINE_multi_string(
        "set",
        [],
        "field=value override for every run, e.g. data.limit.train=1000; a swept "
        "field (iabf.infomax_weight) is pinned only in the runs that sweep it.",
    )
    flags.DEFINE_string("out", None, "Markdown report path (default: WORKDIR/<table>_<datasets>.md).")
    flags.DEFINE_bool("smoke", False, "Use the configs' smoke variants (seconds per run).")
    flags.DEFINE_bool("dry_run", False, "List the grid and exit.")
    flags.DEFINE_bool("progress", False, "Show each run's progress bar.")
    flags.DEFINE_integer(
        "max_group", 1, "Runs per program: 1 trains one run at a time; 0 or N > 1 vmaps the runs a group may hold."
    )
    flags.DEFINE_bool("plot", True, "Plot validation curves next to the report.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if FLAGS.table is None or FLAGS.workdir is None:
        raise app.UsageError("--table and --workdir are required")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    command = "python -m launch.reproduce " + " ".join(sys.argv[1:])
    from neuralcodes_jax.sweeps import PREEMPTED_EXIT_CODE
    from neuralcodes_jax.train import Preempted

    try:
        reproduce(
            FLAGS.table,
            FLAGS.workdir,
            datasets=FLAGS.datasets,
            methods=FLAGS.methods,
            noise_levels=FLAGS.noise_levels,
            budget_epochs=FLAGS.budget_epochs,
            data_root=FLAGS.data_root,
            settings=FLAGS.set,
            smoke=FLAGS.smoke,
            dry_run=FLAGS.dry_run,
            out=FLAGS.out,
            plot=FLAGS.plot,
            progress=FLAGS.progress,
            max_group=FLAGS.max_group,
            command=command,
        )
    except Preempted as err:
        print(f"[preempted] {err}; rerun the same command to resume", flush=True)
        sys.exit(PREEMPTED_EXIT_CODE)
    except DamagedFileError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    define_flags()
    app.run(main)
