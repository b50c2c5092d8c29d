"""Shared config pieces: ``base_config()`` holds every field the trainer reads, with the papers' defaults.

Config files call ``base_config()`` and override what differs; ``parse_variant(arg)`` splits the part after the
colon in ``--config=file.py:variant`` (e.g. ``smoke``, ``embedded``, ``smoke,bec``) into a set of words.
"""

from __future__ import annotations

import ml_collections
from ml_collections.config_dict import placeholder


def parse_variant(arg: str | None, allowed: tuple[str, ...]) -> set[str]:
    words = {w.strip() for w in (arg or "").split(",") if w.strip()}
    unknown = words - set(allowed)
    if unknown:
        raise ValueError(f"config variant must be a comma-separated subset of {sorted(allowed)}, "
                         f"got unknown {sorted(unknown)}")
    return words


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "necst"
    c.method = "necst"
    c.seed = 0
    c.num_seeds = 1                 # launch.main trains seeds seed .. seed+num_seeds-1 as one group (WORKDIR/seed<s>)

    c.data = ml_collections.ConfigDict()
    c.data.name = "random_bits"
    c.data.source = "auto"          # 'auto' | 'synthetic' | 'embedded' | 'local' | 'tfds'
    c.data.data_dir = placeholder(str)      # local files or TFDS data_dir; None = the default
    c.data.seed = 0                         # split / synthetic-data seed (the reference used 1234)
    c.data.binarize = "none"                # 'none' | 'threshold' | 'stochastic'
    c.data.split_scheme = placeholder(str)  # dataset-specific split choice; None = the dataset's default
    c.data.limit = ml_collections.ConfigDict()   # cap examples per split (None = all); for smoke runs
    c.data.limit.train = placeholder(int)
    c.data.limit.valid = placeholder(int)
    c.data.limit.test = placeholder(int)

    c.model = ml_collections.ConfigDict()
    c.model.bits = 100              # m
    c.model.encoder = "auto"        # 'auto' picks the paper's network for the dataset (nets.default_nets_for)
    c.model.decoder = "auto"
    c.model.likelihood = "auto"     # 'auto': Bernoulli for binary data, fixed-variance Gaussian otherwise
    c.model.sigma2 = 0.5            # Gaussian variance; 0.5 makes -log p = SSE + const, as the reference code

    c.channel = ml_collections.ConfigDict()
    c.channel.name = "bsc"          # 'bsc' | 'bec'
    c.channel.eps = 0.1             # training noise level
    c.channel.erasure_input = "signed"   # BEC decoder input: 'signed' (-1, +1, 0=erased) | 'reference' (0, 1, 2)

    c.necst = ml_collections.ConfigDict()
    c.necst.estimator = "vimco"     # 'vimco' (paper Eq. 6) | 'vimco_reference' (public code) | 'reinforce_loo'
    c.necst.num_samples = 5         # K
    c.necst.encoder_l2 = 1e-4

    c.optim = ml_collections.ConfigDict()
    c.optim.name = "adam"
    c.optim.lr = 1e-3
    c.optim.b1 = 0.9
    c.optim.b2 = 0.999
    c.optim.eps = 1e-8

    c.train = ml_collections.ConfigDict()
    c.train.batch_size = 100
    c.train.num_epochs = 200
    c.train.steps_per_call = 100    # training steps per host call (lax.scan)
    c.train.num_devices = 0         # 0 = all devices
    c.train.data_on_device = "auto"  # 'auto' | 'always' | 'never'
    c.train.max_device_bytes = 2 << 30
    c.train.log_every_steps = 100
    c.train.checkpoint_every_epochs = 1
    c.train.keep_checkpoints = 2
    c.train.progress = True
    c.train.tensorboard = True
    c.train.max_loss = placeholder(float)  # stop (diverged) when a training loss exceeds this; None = no bound
    c.train.patience = placeholder(int)    # early stopping per run: epochs without a better validation score
    c.train.compact_stopped = True         # with patience: the runs left train as a smaller group (else masked)

    c.eval = ml_collections.ConfigDict()
    c.eval.noise_levels = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    c.eval.split = "test"
    c.eval.batch_size = 1000
    c.eval.num_samples = 1          # channel draws per test image
    c.eval.encoder = "sample"       # 'sample' (stochastic encoder, both papers) | 'threshold'
    c.eval.test_noise_rule = "paper"  # 'paper' | 'reference' (no test noise if trained at eps=0)
    c.eval.use_best = True          # evaluate the best-by-validation checkpoint
    c.eval.max_examples = 0
    c.eval.evaluator = "distortion"  # evaluators/<name>.py
    return c


def apply_smoke(c: ml_collections.ConfigDict) -> None:
    """Seconds on a CPU: few examples, two short epochs, small eval."""
    c.data.limit.train = 400
    c.data.limit.valid = 100
    c.data.limit.test = 200
    c.train.batch_size = 40
    c.train.num_epochs = 2
    c.train.steps_per_call = 5
    c.train.progress = False
    c.eval.batch_size = 200
    c.eval.noise_levels = (0.0, 0.1, 0.2)


def necst_tfds_conv_config(variant: set[str], *, run: str, dataset: str, bits: int, net: str, eps: float,
                           image_shape: tuple[int, int, int]) -> ml_collections.ConfigDict:
    """NECST on an RGB TFDS dataset with one of the reference conv nets (svhn, cifar10, celeba configs).

    The ``smoke`` variant swaps in smooth synthetic images of the same shape (no TFDS data needed).
    """
    c = base_config()
    c.name = f"necst_{run}"
    c.data.name = dataset
    c.data.source = "tfds"
    c.model.bits = bits
    c.channel.eps = eps
    c.model.encoder = net
    c.model.decoder = net
    if "bec" in variant:
        c.channel.name = "bec"
    if "smoke" in variant:
        c.data.name = "synthetic_images"
        c.data.source = "synthetic"
        c.data.shape = image_shape
        c.model.bits = 32
        apply_smoke(c)
        c.data.limit.train = 80
        c.data.limit.valid = 16
        c.data.limit.test = 16
        c.train.batch_size = 16
        c.eval.batch_size = 16
    return c
