"""Test configuration: 8 fake CPU devices, set before JAX is imported anywhere."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("JAX_NUM_CPU_DEVICES", "8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pathlib  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir():
    """The offline data folder, or None. Mandatory when NEURALCODES_SHARED_DATA is set."""
    env = os.environ.get("NEURALCODES_SHARED_DATA")
    if env:
        path = pathlib.Path(env)
        if not path.is_dir():
            raise RuntimeError(f"NEURALCODES_SHARED_DATA={env} is not a directory")
        return path
    default = REPO_ROOT.parent / "shared" / "data"
    return default if default.is_dir() else None


@pytest.fixture
def shared_data():
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is absent and NEURALCODES_SHARED_DATA is not set")
    return path
