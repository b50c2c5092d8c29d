"""Longer learned codes over the BSC: (15,11) vs Hamming, (23,12) vs Golay, (8,4) vs extended Hamming.

Paper: arXiv 2511.09221 lists longer blocks ("(15,11) Hamming or (23,12) Golay") as its first next check. The
three lengths have exact references: Hamming(15,11) and Golay(23,12) are perfect (their ML BLER equals the
finite-blocklength converse); n = 8, M = 16 has no perfect code, and extended Hamming(8,4) is the reference (it
is quasi-perfect: its ML BLER also equals the converse, so no (8,16) code does better).

Budget (2 CPU cores, about 15 minutes per length): the decoders are linear softmax decoders for (15,11) (a
correlation decoder: exact ML on hard inputs is within its reach) and bitwise decoders for (23,12) (a
4096-way decoder cannot be tabulated over 2^23 received words in the budget); stage 1 is shorter than for
(7,4) (2,500 and 4,000 steps instead of 16,000). For (23,12) the stage-1 decoder is not tabulated
(``eval.stage2_check=False``) and the baselines run 10 seeds (second command). See
results/progressive_longer.md.

Commands:
  python -m launch.main --config=experiments/progressive/longer.py:15_11 --workdir=workdirs/prog15
  python -m launch.main --config=experiments/progressive/longer.py:23_12 --workdir=workdirs/prog23
  python -m launch.main --config=experiments/progressive/longer.py:23_12,gumbel --workdir=workdirs/prog23g \
      --config.num_seeds=10
  python -m launch.main --config=experiments/progressive/longer.py:8_4 --workdir=workdirs/prog8
  python -m launch.main --config=experiments/progressive/longer.py:15_11,smoke --workdir=workdirs/smoke
  python -m launch.main --config=experiments/progressive/longer.py:23_12,softmax --workdir=workdirs/prog23s \
      --config.num_seeds=5
Variants: exactly one of ``15_11``, ``23_12``, ``8_4`` (default ``15_11``), optionally ``smoke``; ``linear`` (the
encoder is the relaxed systematic generator ``[I | P]``, learned end to end through the channel); ``softmax``
(with ``23_12``): a 4096-way linear softmax decoder instead of the bitwise one (the neural decoder is then
not tabulated; only the learned codebooks are evaluated exactly); ``warm`` (with ``15_11`` or ``23_12``): the MLP
encoder starts fitted to a learned linear code equivalent to Hamming(15,11) / Golay (``results/learned_codes/``).
"""

import os

from experiments import common
from experiments.progressive import base

LENGTHS = ("15_11", "23_12", "8_4")

_RESULTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "results")
#: The learned linear codes the ``warm`` variant starts the MLP encoder from (results/learned_codes/).
WARM_START_CODES = {
    "15_11": os.path.join(_RESULTS, "learned_codes", "hamming_15_11_generator.json"),
    "23_12": os.path.join(_RESULTS, "learned_codes", "golay_23_12_generators.json") + ":0",
}


#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = LENGTHS + ("softmax", "smoke", "linear", "warm") + base.TRAININGS


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    lengths = [v for v in LENGTHS if v in variant]
    if len(lengths) > 1:
        raise ValueError(f"config variant must name at most one length of {list(LENGTHS)}, got {lengths}")
    length = lengths[0] if lengths else "15_11"
    c = base.base_config()
    c.name = f"progressive_{length}"
    if length == "15_11":
        c.code.n, c.code.k = 15, 11
        c.eval.reference = "Hamming(15,11)"
        c.model.decoder_hidden = ()
        c.train.stage1_steps = 2500
        c.train.stage2_steps = 300
    elif length == "23_12":
        c.code.n, c.code.k = 23, 12
        c.eval.reference = "Golay(23,12)"
        c.model.decoder_output = "bitwise"
        c.model.decoder_hidden = (256,)
        c.train.stage1_steps = 4000
        c.train.stage2_steps = 500
        c.eval.stage2_check = False
        if "softmax" in variant:
            # 4096-way linear softmax (correlation) decoder; too costly to tabulate over 2^23 words.
            c.model.decoder_output = "softmax"
            c.model.decoder_hidden = ()
            c.eval.neural_table = False
    else:
        c.code.n, c.code.k = 8, 4
        c.eval.reference = "extended Hamming(8,4)"
    if "linear" in variant:
        # The relaxed systematic generator of codes/relaxed.py as the encoder, trained end to end.
        c.model.encoder = "linear"
        c.name += "_linear"
    if "warm" in variant:
        # The MLP encoder starts at a learned linear code equivalent to the reference (issue 13: does
        # fine-tuning keep the optimum?).
        if length not in WARM_START_CODES:
            raise ValueError(f"config variant 'warm' needs a length of {sorted(WARM_START_CODES)}, got {length!r}")
        c.model.warm_start = WARM_START_CODES[length]
        c.name += "_warm"
    base.apply_variant(c, variant)
    return c


def get_sweep():
    return base.trainings_sweep()
