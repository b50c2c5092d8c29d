"""The Colab notebooks under notebooks/ run headless on CPU (nbclient), in their SMOKE setting.

Each notebook is executed top to bottom in a fresh kernel with ``NEURALCODES_NOTEBOOK_SMOKE=1`` (a few hundred
training steps instead of the full run); any exception in a cell fails the test. The committed notebooks must
have their outputs cleared.
"""

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("progressive_7_4.ipynb", "necst_mnist.ipynb")


def test_notebooks_are_committed_without_outputs():
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name} has outputs"
        assert "_install_neuralcodes()" in nb.cells[0].source  # the first cell: the install


def _install_cell(name):
    """The first cell's source and its namespace after defining (not calling) the install function."""
    source = nbformat.read(NOTEBOOKS / name, as_version=4).cells[0].source
    namespace = {}
    exec(source.replace("print(_install_neuralcodes())", ""), namespace)
    return source, namespace


def test_install_cell_url_is_the_one_in_setup_cfg():
    """REPO_URL of every notebook equals setup.cfg's ``url`` (the one place it is set), and the cells are equal."""
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(NOTEBOOKS.parent / "setup.cfg")
    sources = [_install_cell(name) for name in NAMES]
    for _, namespace in sources:
        assert namespace["REPO_URL"] == cfg["metadata"].get("url", "").strip()
    assert len({source for source, _ in sources}) == 1


def test_install_cell_finds_a_checkout_a_wheel_or_the_url_else_says_what_to_do(tmp_path, monkeypatch):
    import importlib.util
    import subprocess

    _, ns = _install_cell(NAMES[0])
    install = ns["_install_neuralcodes"]
    assert install() == "neuralcodes_jax is importable"  # here: nothing to do, nothing run
    calls = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(subprocess, "run", lambda cmd, check: calls.append(cmd))
    empty, checkout, upload = (tmp_path / d for d in ("empty", "checkout", "upload"))
    for d in (empty, checkout, upload):
        d.mkdir()
    with pytest.raises(RuntimeError, match=r"no source was found.*python -m build --wheel.*REPO_URL"):
        install("", places=(str(empty),))
    assert calls == []
    (checkout / "setup.cfg").write_text("[metadata]\nname = neuralcodes_jax\n")
    assert install("", places=(str(empty), str(checkout))) == f"installed the checkout {checkout}"
    assert calls[-1][-2:] == ["-e", str(checkout)]
    wheel = upload / "neuralcodes_jax-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert install("", places=(str(empty), str(upload))) == f"installed the wheel {wheel}"
    assert calls[-1][-1] == str(wheel)
    assert install("https://example.org/x.git", places=(str(empty),)) == "installed https://example.org/x.git"
    assert calls[-1][-1] == "git+https://example.org/x.git"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_headless(name, monkeypatch, tmp_path):
    monkeypatch.setenv("NEURALCODES_NOTEBOOK_SMOKE", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary workdirs
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # figures as display data
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS.parent)}}
    )
    client.execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "devices:" in text
    assert any(
        o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    if name == "necst_mnist.ipynb":
        assert "best validation loss" in text
    else:
        assert "trained and evaluated 2 seeds" in text and "d_min" in text
