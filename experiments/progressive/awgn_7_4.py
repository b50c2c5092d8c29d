"""(7,4) learned code over BPSK-AWGN with a soft-decision decoder, against Hamming(7,4) soft ML.

Paper: arXiv 2511.09221, third next check ("AWGN channels with soft decision decoding"). Stage 1 sends the
continuous symbols ``1 - 2c`` over the AWGN channel itself; after binarization the decoder is fine-tuned on
BPSK of the hard codewords. As on the BSC, a low training noise works best: at Eb/N0 = 4 dB the codes stay at d_min = 2,
at 8 dB most seeds find Hamming(7,4). Evaluation is Monte Carlo at ``eval.ebn0_db`` (Wilson intervals): the learned
codebook with its neural decoder and with exact soft ML (correlation with all 16 codewords), and
Hamming(7,4) with exact soft ML, on the same noise. The codebooks also get the exact BSC (hard-decision) report.

Commands:
  python -m launch.main --config=experiments/progressive/awgn_7_4.py --workdir=workdirs/progressive_awgn_7_4
  python -m launch.main --config=experiments/progressive/awgn_7_4.py:smoke --workdir=workdirs/smoke
Variants: ``smoke``.
"""

from experiments import common
from experiments.progressive import base

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke",) + base.TRAININGS


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    c = base.base_config()
    c.name = "progressive_awgn_7_4"
    c.code.n, c.code.k = 7, 4
    c.channel.name = "awgn"
    # 4 dB: 1/20 seeds Hamming-equivalent, 8 dB: 17-19/20 (results/progressive_longer.md)
    c.channel.train_ebn0_db = 8.0
    c.eval.reference = "Hamming(7,4)"
    c.eval.neural_table = False  # the neural decoder expects soft inputs: Monte Carlo instead
    c.eval.mc_seeds = 5  # Monte Carlo for the first 5 seeds of each training
    base.apply_variant(c, variant)
    return c


def get_sweep():
    return base.trainings_sweep()
