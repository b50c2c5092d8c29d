"""NECST on celeb_a (TFDS), 1000 bits, BSC, the reference code's conv network (`conv_celeba`).

Paper: NECST section 5.2 / Fig. 2 (WebP + ideal channel code vs NECST at fixed m = 1000).
Fixed-variance Gaussian decoder, per-image SSE as the reference's distortion.

Commands:
  python -m launch.main --config=experiments/necst/celeba.py --workdir=workdirs/necst_celeba \
      --config.data.data_dir=TFDS_DIR
  python -m launch.main --config=experiments/necst/celeba.py:smoke --workdir=workdirs/smoke   # synthetic, seconds
Variants: ``smoke`` (a few random images of the right shape, two short epochs), ``bec``.
"""

from experiments import common

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke", "bec")


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    return common.necst_tfds_conv_config(
        variant, run="celeba", dataset="celeb_a", bits=1000, net="conv_celeba", eps=0.2, image_shape=(64, 64, 3)
    )
