"""BLER and BER versus Eb/N0 of a short block code under one or more decoders, on BPSK-AWGN with soft decisions.

Monte Carlo on device with an errors-to-stop rule and Clopper-Pearson intervals (``codes.awgn.simulate_awgn``),
beside the BI-AWGN normal approximation and meta-converse at the same ``(n, k)``. Prints a row per finished point
and the table, and writes ``<out>.json``, ``<out>.md`` and ``<out>.png``.

  python -m launch.codes --code=polar5g:128,64,crc11 --decoder=scl:8 --decoder=sc --ebno=0:0.5:4 --out=DIR/polar
  python -m launch.codes --code=ebch:128,64 --decoder=osd:2 --ebno=1,2,3 --errors=100 --max_blocks=100000
  python -m launch.codes --code=file:../shared/data/ecc_codes/BCH_N63_K45.txt --decoder=osd:2 --decoder=bp:20

Codes and decoders: ``neuralcodes_jax/codes/catalog.py``.
"""

from __future__ import annotations

import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Command-line flags; defined only when run as a program (absl flags are global; tests import this module)."""
    flags.DEFINE_string("code", None, "The code, e.g. polar5g:128,64,crc11 (codes/catalog.py).")
    flags.DEFINE_multi_string("decoder", None, "A decoder, e.g. scl:8; repeat for several.")
    flags.DEFINE_string("ebno", "0:1:4", "Eb/N0 in dB: START:STEP:STOP or a comma-separated list.")
    flags.DEFINE_integer("errors", 100, "Stop a point once this many block errors are counted.")
    flags.DEFINE_integer("max_blocks", 100_000, "Stop a point after this many blocks.")
    flags.DEFINE_integer("batch", 1000, "Blocks per jitted step.")
    flags.DEFINE_integer("seed", 0, "Seed of messages and noise (the same for every decoder).")
    flags.DEFINE_bool("converse", True, "Also compute the BI-AWGN meta-converse (about a second per point).")
    flags.DEFINE_string("out", None, "Output prefix for .json, .md and .png (default: print only).")


def main(argv) -> None:
    del argv
    from neuralcodes_jax.codes import catalog  # JAX: keep --help fast

    try:
        catalog.report(
            FLAGS.code,
            FLAGS.decoder or [],
            FLAGS.ebno,
            errors=FLAGS.errors,
            max_blocks=FLAGS.max_blocks,
            batch=FLAGS.batch,
            seed=FLAGS.seed,
            converse=FLAGS.converse,
            out=FLAGS.out,
            log=lambda s: print(s, flush=True),
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    define_flags()
    flags.mark_flag_as_required("code")
    app.run(main)
