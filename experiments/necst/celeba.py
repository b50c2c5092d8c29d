"""NECST on celeb_a (TFDS), 1000 bits, BSC, the reference code's conv network (`conv_celeba`).

Paper: NECST section 5.2 / Fig. 2 (WebP + ideal channel code vs NECST at fixed m = 1000).
Fixed-variance Gaussian decoder, per-image SSE as the reference's distortion.

Commands:
  python -m launch.main --config=experiments/necst/celeba.py --workdir=/tmp/necst_celeba --config.data.data_dir=TFDS_DIR
  python -m launch.main --config=experiments/necst/celeba.py:smoke --workdir=/tmp/smoke   # synthetic, seconds
Variants: ``smoke`` (a few random images of the right shape, two short epochs), ``bec``.
"""

from experiments import common


def get_config(arg=None):
    variant = common.parse_variant(arg, ("smoke", "bec"))
    c = common.base_config()
    c.name = "necst_celeba"
    c.data.name = "celeb_a"
    c.data.source = "tfds"
    c.model.bits = 1000
    c.channel.eps = 0.2
    c.model.encoder = "conv_celeba"
    c.model.decoder = "conv_celeba"
    if "bec" in variant:
        c.channel.name = "bec"
    if "smoke" in variant:
        c.data.name = "synthetic_images"
        c.data.source = "synthetic"
        c.data.shape = (64, 64, 3)
        c.model.bits = 32
        common.apply_smoke(c)
        c.data.limit.train = 80
        c.data.limit.valid = 16
        c.data.limit.test = 16
        c.train.batch_size = 16
        c.eval.batch_size = 16
    return c
