"""Every experiment config builds, has a smoke variant and a docstring with a command; TFDS and BEC paths train."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import REPO_ROOT

from neuralcodes_jax import methods, train

NECST_CONFIGS = sorted(p.stem for p in (REPO_ROOT / "experiments" / "necst").glob("*.py") if p.stem != "__init__")

PAPER_BITS = {
    "binary_mnist": 100,
    "mnist": 100,
    "omniglot": 200,
    "svhn": 500,
    "cifar10": 500,
    "celeba": 1000,
    "random_bits": 50,
}
SHAPES = {
    "binary_mnist": (28, 28, 1),
    "mnist": (28, 28, 1),
    "omniglot": (28, 28, 1),
    "svhn": (32, 32, 3),
    "cifar10": (32, 32, 3),
    "celeba": (64, 64, 3),
    "random_bits": (100,),
}


def test_all_paper_configs_present():
    assert set(NECST_CONFIGS) == set(PAPER_BITS)


@pytest.mark.parametrize("name", NECST_CONFIGS)
def test_config_builds(name):
    module = importlib.import_module(f"experiments.necst.{name}")
    doc = module.__doc__
    assert "python -m launch.main" in doc and ":smoke" in doc
    full = module.get_config()
    assert full.model.bits == PAPER_BITS[name]
    assert full.necst.num_samples == 5 and full.necst.estimator == "vimco"
    assert full.train.batch_size == 100 and full.optim.lr == 1e-3
    smoke = module.get_config("smoke")
    assert smoke.train.num_epochs <= 2
    method = methods.build(full, methods.DataSpec(SHAPES[name], name in ("binary_mnist", "random_bits")))
    assert method.channel.eps == full.channel.eps
    with pytest.raises(ValueError, match="variant"):
        module.get_config("nosuchvariant")


@pytest.mark.slow
def test_bec_training_runs(tmp_path):
    from experiments.necst import random_bits

    c = random_bits.get_config("smoke,bec")
    c.model.bits = 10
    c.data.limit.train = 80
    c.train.batch_size = 16
    c.train.num_epochs = 1
    c.train.tensorboard = False
    c.eval.noise_levels = (0.0, 0.5, 0.9)  # BEC noise goes up to (but not including) 1
    result = train.train_and_evaluate(c, str(tmp_path))
    assert result["eval"]["channel"] == "bec"
    assert all(np.isfinite(r["bce_per_pixel_nats"]) for r in result["eval"]["rows"])
    # the evaluation path really erases: at test eps 0.9 about 90% of the received symbols are erasures (2)
    method = methods.build(c, methods.DataSpec((100,), True))
    x = jnp.zeros((400, 100))
    y = method.transmit(result["state"]["params"], x, jax.random.key(0), 0.9, 1)
    frac = float(jnp.mean(y == 2))
    assert abs(frac - 0.9) < 5 * np.sqrt(0.09 / y.size)  # 5 standard errors
    assert set(np.unique(np.asarray(y)).tolist()) <= {0, 1, 2}


@pytest.mark.slow
def test_cifar10_iabf_through_tfds_mock(tmp_path):
    """IABF Table 1's CIFAR10 row (conv nets, 500 bits, flips + infomax) end to end through the TFDS path."""
    pytest.importorskip("tensorflow", reason="tfds.testing.mock_data needs TensorFlow (the 'test' extra)")
    import tensorflow_datasets as tfds

    from experiments.iabf import table1

    c = table1.get_config("cifar10,iabf,smoke")
    assert c.method == "iabf" and c.model.encoder == "conv_cifar10"
    c.data.name = "cifar10"
    c.data.source = "tfds"
    del c.data["shape"]
    c.data.data_dir = str(tmp_path / "tfds")
    c.data.limit.train = 16  # one training step: conv nets run slowly at XLA's optimisation level 0 (conftest)
    c.data.limit.valid = 16
    c.data.limit.test = 16
    c.data.num_valid = 40
    c.train.num_epochs = 1
    c.train.tensorboard = False
    c.eval.noise_levels = (0.1,)
    with tfds.testing.mock_data(num_examples=80):
        result = train.train_and_evaluate(c, str(tmp_path / "wd"))
    assert result["eval"]["num_examples"] == 16
    row = result["eval"]["rows"][0]
    # per-image SSE of a 32x32x3 image is 3072 times the per-pixel MSE
    assert np.isclose(row["sse_per_image"], 3072 * row["mse_per_pixel"], rtol=1e-5)
