"""NECST on random 100-bit strings, 50 code bits, BSC.

Paper: NECST Fig. 3 left, "Random bits" rows (50-bit NECST: 0.291 / 0.357 / 0.407 / 0.456 / 0.500 / 0.498 at noise
0.0 ... 0.5, against VAE + rate-1/2 LDPC). 5000/1000/1000 uniform random strings, Bernoulli decoder.

Commands:
  python -m launch.main --config=experiments/necst/random_bits.py --workdir=workdirs/necst_bits
  python -m launch.main --config=experiments/necst/random_bits.py:smoke --workdir=workdirs/smoke
"""

from experiments import common

#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke", "bec")


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    c = common.base_config()
    c.name = "necst_random_bits"
    c.data.name = "random_bits"
    c.model.bits = 50
    c.channel.eps = 0.1
    if "bec" in variant:
        c.channel.name = "bec"
    if "smoke" in variant:
        common.apply_smoke(c)
    return c
