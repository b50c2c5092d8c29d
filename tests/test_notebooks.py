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
        assert "google.colab" in nb.cells[0].source      # the first cell: the guarded install


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_headless(name, monkeypatch, tmp_path):
    monkeypatch.setenv("NEURALCODES_NOTEBOOK_SMOKE", "1")
    monkeypatch.setenv("TMPDIR", str(tmp_path))        # the notebooks' temporary workdirs
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")   # figures as display data
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS.parent)}})
    client.execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "devices:" in text
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    if name == "necst_mnist.ipynb":
        assert "best validation loss" in text
    else:
        assert "trained and evaluated 2 seeds" in text and "d_min" in text
