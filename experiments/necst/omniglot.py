"""NECST on Omniglot (28x28), 200 bits, BSC.

Paper: NECST Fig. 3 left (Binary Omniglot, 200 bits: 0.035 / 0.045 / 0.057 / 0.070 / 0.080 / 0.080 at noise
0.0 ... 0.5) and IABF Table 1 Omniglot rows. The public NECST code rounds Omniglot to {0,1} but scores it with the
Gaussian decoder (SSE); ``data.binarize`` and ``model.likelihood`` choose.

Commands:
  python -m launch.main --config=experiments/necst/omniglot.py --workdir=workdirs/necst_omniglot                 # TFDS
  python -m launch.main --config=experiments/necst/omniglot.py --workdir=workdirs/necst_omniglot \
      --config.data.source=local --config.data.data_dir=../shared/data/omniglot
  python -m launch.main --config=experiments/necst/omniglot.py:smoke --workdir=workdirs/smoke
"""

from experiments import common

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke", "bec")


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    c = common.base_config()
    c.name = "necst_omniglot"
    c.data.name = "omniglot"
    c.data.binarize = "threshold"
    c.model.bits = 200
    c.channel.eps = 0.1
    if "bec" in variant:
        c.channel.name = "bec"
    if "smoke" in variant:
        c.data.name = "digits"  # embedded stand-in
        c.data.binarize = "threshold"
        c.model.bits = 20
        common.apply_smoke(c)
    return c
