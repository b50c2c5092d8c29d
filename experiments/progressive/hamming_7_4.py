"""(7,4) binary code learned over the BSC, 20 seeds: progressive training, straight-through, Gumbel-softmax.

Paper: arXiv 2511.09221 (Ninkovic & Vukobratovic), the (7,4) BSC experiment: continuous pretraining, direct
binarization and decoder fine-tuning; the paper reports a codebook equivalent to Hamming(7,4) (a coset of it)
with the Hamming ML block error rate ``1 - (1-p)^7 - 7p(1-p)^6``, which equals the finite-blocklength
converse for n = 7, M = 16 (coding-anchors Sec. 2.2/2.5). The "next checks" of the paper (straight-through,
Gumbel-softmax) are trained with the same network and seeds.

Commands:
  python -m launch.main --config=experiments/progressive/hamming_7_4.py --workdir=workdirs/prog74
  python -m launch.main --config=experiments/progressive/hamming_7_4.py:gumbel --workdir=workdirs/prog74_gumbel
  python -m launch.sweep --config=experiments/progressive/hamming_7_4.py --workdir=workdirs/prog74_all --vmap
  python -m launch.main --config=experiments/progressive/hamming_7_4.py:smoke --workdir=workdirs/smoke  # seconds
Variants: ``straight_through`` or ``gumbel`` (the baselines; default progressive training), ``smoke`` (2 seeds,
a few steps). ``get_sweep()``: the three trainings.
"""

from experiments import common
from experiments.progressive import base

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke",) + base.TRAININGS


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    c = base.base_config()
    c.name = "progressive_7_4"
    c.code.n, c.code.k = 7, 4
    c.eval.reference = "Hamming(7,4)"
    base.apply_variant(c, variant)
    return c


def get_sweep():
    return base.trainings_sweep()
