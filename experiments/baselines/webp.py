"""WebP + ideal channel code matched to trained NECST models, NECST Fig. 2 style.

Paper: Choi et al. 2019 (NECST), section 5.2 and Fig. 2 (CIFAR10, CelebA, binarized SVHN there; the offline data here
has Binary MNIST, for which trained 100-bit NECST models exist: ``results/necst_binary_mnist.md``). For each NECST
run (one per training noise eps, tested at eps) the WebP payload reaching its distortion is converted to channel bits
with an ideal code (b / (1 - H_b(eps))) and at finite blocklength (``codes.bounds``).

Command:
  python -m launch.baselines --task=webp --config=experiments/baselines/webp.py:binary_mnist \
      --workdir=workdirs/baselines/webp_binary_mnist
Variant ``smoke``: 20 images, a coarse grid (seconds, given trained NECST runs).
"""

from experiments import common
from neuralcodes_jax import specs
from neuralcodes_jax.analysis import webp_ideal

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("binary_mnist", "smoke")


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    c = specs.default_config(webp_ideal.WebPConfig)  # Binary MNIST: the defaults
    if "smoke" in variant:
        c.max_examples = 20
        c.qualities = (0, 50, 100)
        c.scales = (1.0, 0.5)
        c.necst_draws = 1
    return c
