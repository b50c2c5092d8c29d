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

from ml_collections import ConfigDict

from experiments import common


def get_config(arg=None):
    variant = common.parse_variant(arg, ("binary_mnist", "smoke"))
    c = ConfigDict()
    c.dataset = "binary_mnist"
    c.necst_workdirs = "workdirs/necst_bmnist_eps{eps}"   # finished NECST runs, one per eps
    c.noise_levels = (0.1, 0.2, 0.3, 0.4)
    c.qualities = tuple(range(0, 101, 10))
    c.lossless = True
    c.scales = (1.0, 0.75, 0.5, 0.25)        # shrink before coding, enlarge after (lets WebP go below ~500 bits)
    c.method = 6                              # WebP effort (6: smallest files)
    c.metrics = ("pixel_error_rate", "mse_per_pixel")
    c.max_examples = 1000                     # test images (0: all)
    c.necst_draws = 5                         # channel draws per image for NECST's per-image distortion
    c.block_error = 1e-3                      # target block error rate of the finite-blocklength estimates
    c.seed = 0
    if "smoke" in variant:
        c.max_examples = 20
        c.qualities = (0, 50, 100)
        c.scales = (1.0, 0.5)
        c.necst_draws = 1
    return c
