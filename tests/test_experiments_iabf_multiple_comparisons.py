"""The multiple-comparison correction of the IABF-vs-NECST reports: Holm and Benjamini-Hochberg on small examples
worked by hand, Welch's t against scipy, and the twelve tests from the saved runs."""

import numpy as np
import pytest
from conftest import REPO_ROOT
from scipy import stats

from experiments.iabf import multiple_comparisons as mc


def test_holm_matches_a_hand_computed_example():
    # p sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04, raised to 0.06: monotone)
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(mc.holm(p), [0.03, 0.06, 0.06, 0.02])
    assert list(mc.holm(p) <= 0.05) == [True, False, False, True]
    # capped at 1
    np.testing.assert_allclose(mc.holm([0.7, 0.8]), [1.0, 1.0])
    np.testing.assert_allclose(mc.holm([0.3, 0.6]), [0.6, 0.6])


def test_benjamini_hochberg_matches_a_hand_computed_example():
    # p sorted: 0.005 x 4/1 = 0.02, 0.01 x 4/2 = 0.02, 0.03 x 4/3 = 0.04, 0.04 x 4/4 = 0.04 (already monotone)
    np.testing.assert_allclose(mc.benjamini_hochberg([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02])
    # 0.04 x 2/1 = 0.08 is lowered to the next one's 0.05 x 2/2 = 0.05
    np.testing.assert_allclose(mc.benjamini_hochberg([0.04, 0.05]), [0.05, 0.05])


def test_welch_matches_scipy_on_raw_samples():
    rng = np.random.default_rng(0)
    for n1, n2, scale in [(3, 3, 1.0), (3, 5, 0.3), (7, 4, 2.0)]:
        a = rng.normal(0.5, scale, n1)
        b = rng.normal(0.0, 1.0, n2)
        ref = stats.ttest_ind(a, b, equal_var=False)
        t, df, p = mc.welch(a, b)
        np.testing.assert_allclose([t, df, p], [ref.statistic, ref.df, ref.pvalue], rtol=1e-10)
        # the same from the summary statistics
        t2, df2, p2 = mc.welch_from_stats(a.mean(), a.std(ddof=1), n1, b.mean(), b.std(ddof=1), n2)
        np.testing.assert_allclose([t2, df2, p2], [t, df, p], rtol=1e-12)


def test_the_twelve_tests_reproduce_the_reports():
    rows = mc.compute(str(REPO_ROOT / "results"))
    assert len(rows) == 12
    for r in rows:
        # MNIST and Omniglot from full-precision runs; Binary MNIST from its four-digit table (rounding moves t)
        tol = 0.1 if r["dataset"] == "binary_mnist" else 0.006
        assert abs(r["t"] - r["reported_t"]) < tol, r
        assert r["holm"] >= r["p"] and r["bh"] >= r["p"]
    assert "| Omniglot | 0.3 | IABF |" in mc.markdown(rows)


def test_binary_mnist_runs_file_holds_the_scripts_values_and_does_not_regenerate_the_report(tmp_path):
    import json
    import shutil

    from experiments.iabf import vs_necst_report as rep

    saved = rep.load_runs(str(REPO_ROOT / "results" / "iabf_vs_necst_runs.json"), "binary_mnist")
    points = saved["points"]
    assert all(
        run["source"].startswith("transcribed from the report") for runs in points.values() for run in runs.values()
    )
    lam = {0.1: 0.001, 0.3: 0.01}  # the lambdas the report chose
    for eps in mc.NOISE:
        iabf = [points[f"iabf_lambda{lam[eps]}_eps{eps}"][0]["test"]] + [
            points[f"iabf_final_eps{eps}"][s]["test"] for s in (1, 2)
        ]
        assert tuple(iabf) == mc.BINARY_MNIST[eps]["iabf"]
        for method in ("necst", "abf"):
            assert tuple(points[f"{method}_eps{eps}"][s]["test"] for s in range(3)) == mc.BINARY_MNIST[eps][method]
    # Alone (no finished run in the workdir), the transcribed file leaves the report and itself as they are.
    for name in ("iabf_vs_necst.md", "iabf_vs_necst_runs.json"):
        shutil.copy(REPO_ROOT / "results" / name, tmp_path / name)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="transcribed by hand"):
        rep.main([str(tmp_path / "empty"), "--out", str(tmp_path / "iabf_vs_necst.md")])
    for name in ("iabf_vs_necst.md", "iabf_vs_necst_runs.json"):
        assert (tmp_path / name).read_text() == (REPO_ROOT / "results" / name).read_text()
    assert json.loads((tmp_path / "iabf_vs_necst_runs.json").read_text())["source"].endswith("no longer exist")
