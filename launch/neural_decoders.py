"""The learned-decoder benchmark: BP, neural BP, ECCT, OSD / ML and the published numbers on the codes of the set at
Eb/N0 4, 5, 6 dB -> ``results/neural_decoders.md`` (+ ``.json``). The work is ``experiments/neural_decoders/
benchmark.py``; this file holds the flags.

  python -m launch.neural_decoders --nbp_root=workdirs/nbp --ecct_root=workdirs/ecct_budget
  python -m launch.neural_decoders --codes=BCH_N63_K45,bch:31,16 --decoders=bp,osd --ebno=4,5,6 --out=DIR/t.md
  python -m launch.neural_decoders --nbp_root=workdirs/nbp --paired_ebno=6 --paired_errors=1000   # + paired test

Trained runs are ``NBP_ROOT/<code>`` (``experiments/neural_decoders/neural_bp.py``) and ``ECCT_ROOT/<code>``. Each
finished cell is kept in ``--rows_dir``; rerunning the command computes only what is missing.
"""

from __future__ import annotations

import pathlib
import shlex
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Command-line flags; defined only when run as a program (absl flags are global; tests import this module)."""
    flags.DEFINE_list("codes", None, "Codes (benchmark names or codes.catalog specs); default: the 15 of the set.")
    flags.DEFINE_list("decoders", ["bp", "neural_bp", "ecct", "osd", "ml"], "Columns to compute.")
    flags.DEFINE_string("ebno", "4,5,6", "Eb/N0 in dB: a comma-separated list or START:STEP:STOP.")
    flags.DEFINE_integer("iterations", 5, "BP iterations (the neural decoders' number).")
    flags.DEFINE_integer("seed", 0, "Seed of messages and noise (the same for every decoder).")
    flags.DEFINE_integer("errors", 100, "Stop a point once this many block errors are counted.")
    flags.DEFINE_integer("max_blocks", 100_000, "Stop a point after this many blocks.")
    flags.DEFINE_integer("batch", 1000, "Blocks per jitted step.")
    flags.DEFINE_integer("osd_order", 2, "OSD order where k <= --osd_max_k (else order 1).")
    flags.DEFINE_integer("osd_max_k", 128, "Largest k decoded with --osd_order.")
    flags.DEFINE_integer("osd_max_blocks", 20_000, "Stop an OSD point after this many blocks.")
    flags.DEFINE_list(
        "nbp_root", ["workdirs/nbp"], "Directories of trained neural-BP runs, one per code (the first holding it)."
    )
    flags.DEFINE_list(
        "ecct_root", None, "Directories of trained ECCT runs, one per code, in order of preference (optional)."
    )
    flags.DEFINE_string("rows_dir", "results/neural_decoders_rows", "Where finished cells are kept.")
    flags.DEFINE_string("out", "results/neural_decoders.md", "The table (.md; the .json beside it).")
    flags.DEFINE_string("notes", None, "A markdown file appended to the table (budget, measured speed, ...).")
    flags.DEFINE_float(
        "paired_ebno",
        None,
        "Also compare BP and neural BP on the same noise blocks at this Eb/N0 (dB): a paired test per code "
        "(experiments/neural_decoders/paired.py), kept in ROWS_DIR/paired and added to the table.",
    )
    flags.DEFINE_integer("paired_errors", 1000, "Paired test: stop once both decoders have this many block errors.")
    flags.DEFINE_integer("paired_max_blocks", 1_000_000, "Paired test: stop after this many blocks.")


def parse_ebno(text: str) -> tuple[float, ...]:
    """Eb/N0 values from the flag; an empty list is refused naming --ebno."""
    from neuralcodes_jax.codes import catalog

    if not str(text).strip():
        raise ValueError("--ebno must name at least one Eb/N0 value in dB, got an empty list")
    try:
        return tuple(catalog.parse_ebno(text))
    except ValueError as err:
        raise ValueError(f"--ebno: {err}") from None


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from experiments.neural_decoders import benchmark

    try:
        settings = benchmark.Settings(
            ebno_db=parse_ebno(FLAGS.ebno),
            iterations=FLAGS.iterations,
            seed=FLAGS.seed,
            batch_size=FLAGS.batch,
            target_block_errors=FLAGS.errors,
            max_blocks=FLAGS.max_blocks,
            osd_order=FLAGS.osd_order,
            osd_max_k=FLAGS.osd_max_k,
            osd_max_blocks=FLAGS.osd_max_blocks,
        )
    except ValueError as err:
        raise app.UsageError(str(err)) from None
    codes = list(FLAGS.codes or benchmark.CODES)
    results = benchmark.run(codes, list(FLAGS.decoders), settings, FLAGS.rows_dir, FLAGS.nbp_root, FLAGS.ecct_root)
    paired_rows = None
    if FLAGS.paired_ebno is not None:
        if FLAGS.paired_errors < 1 or FLAGS.paired_max_blocks < 1:
            raise app.UsageError("--paired_errors and --paired_max_blocks must be >= 1")
        paired_rows = benchmark.run_paired(
            codes,
            settings,
            FLAGS.paired_ebno,
            FLAGS.nbp_root,
            FLAGS.rows_dir,
            target_block_errors=FLAGS.paired_errors,
            max_blocks=FLAGS.paired_max_blocks,
        )
    notes = pathlib.Path(FLAGS.notes).read_text() if FLAGS.notes else ""
    command = "python -m launch.neural_decoders " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    benchmark.write(results, settings, FLAGS.out, command, notes, paired_rows)
    print(pathlib.Path(FLAGS.out).read_text())


if __name__ == "__main__":
    define_flags()
    app.run(main)
