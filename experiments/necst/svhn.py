"""NECST on svhn_cropped (TFDS), 500 bits, BSC, the reference code's conv network (`conv_svhn`).

Paper: NECST section 5.2 / Fig. 2 (WebP + ideal channel code vs NECST at fixed m = 500).
Fixed-variance Gaussian decoder, per-image SSE as the reference's distortion.

Commands:
  python -m launch.main --config=experiments/necst/svhn.py --workdir=workdirs/necst_svhn --config.data.data_dir=TFDS_DIR
  python -m launch.main --config=experiments/necst/svhn.py:smoke --workdir=workdirs/smoke   # synthetic, seconds
Variants: ``smoke`` (a few random images of the right shape, two short epochs), ``bec``.
"""

from experiments import common

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke", "bec")


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    return common.necst_tfds_conv_config(
        variant, run="svhn", dataset="svhn_cropped", bits=500, net="conv_svhn", eps=0.1, image_shape=(32, 32, 3)
    )
