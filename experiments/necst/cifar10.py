"""NECST on cifar10 (TFDS), 500 bits, BSC, the reference code's conv network (`conv_cifar10`).

Paper: NECST section 5.2 / Fig. 2 (WebP + ideal channel code vs NECST at fixed m = 500) and IABF Table 1 CIFAR10 rows (per-image SSE).
Fixed-variance Gaussian decoder, per-image SSE as the reference's distortion.

Commands:
  python -m launch.main --config=experiments/necst/cifar10.py --workdir=/tmp/necst_cifar10 --config.data.data_dir=TFDS_DIR
  python -m launch.main --config=experiments/necst/cifar10.py:smoke --workdir=/tmp/smoke   # synthetic, seconds
Variants: ``smoke`` (a few random images of the right shape, two short epochs), ``bec``.
"""

from experiments import common


def get_config(arg=None):
    variant = common.parse_variant(arg, ("smoke", "bec"))
    c = common.base_config()
    c.name = "necst_cifar10"
    c.data.name = "cifar10"
    c.data.source = "tfds"
    c.model.bits = 500
    c.channel.eps = 0.1
    c.model.encoder = "conv_cifar10"
    c.model.decoder = "conv_cifar10"
    if "bec" in variant:
        c.channel.name = "bec"
    if "smoke" in variant:
        c.data.name = "synthetic_images"
        c.data.source = "synthetic"
        c.data.shape = (32, 32, 3)
        c.model.bits = 32
        common.apply_smoke(c)
        c.data.limit.train = 80
        c.data.limit.valid = 16
        c.data.limit.test = 16
        c.train.batch_size = 16
        c.eval.batch_size = 16
    return c
