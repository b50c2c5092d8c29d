"""NECST on cifar10 (TFDS), 500 bits, BSC, the reference code's conv network (`conv_cifar10`).

Paper: NECST section 5.2 / Fig. 2 (WebP + ideal channel code vs NECST at fixed m = 500) and IABF Table 1 CIFAR10
rows (per-image SSE).
Fixed-variance Gaussian decoder, per-image SSE as the reference's distortion.

Commands:
  python -m launch.main --config=experiments/necst/cifar10.py --workdir=workdirs/necst_cifar10 \
      --config.data.data_dir=TFDS_DIR
  python -m launch.main --config=experiments/necst/cifar10.py:smoke --workdir=workdirs/smoke   # synthetic, seconds
Variants: ``smoke`` (a few random images of the right shape, two short epochs), ``bec``.
"""

from experiments import common

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke", "bec")


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    return common.necst_tfds_conv_config(
        variant, run="cifar10", dataset="cifar10", bits=500, net="conv_cifar10", eps=0.1, image_shape=(32, 32, 3)
    )
