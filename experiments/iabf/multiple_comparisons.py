"""The twelve ABF/IABF-vs-NECST tests of the IABF-vs-NECST reports, corrected for multiple comparisons.

    python -m experiments.iabf.multiple_comparisons [--results=results] [--alpha=0.05]

Three datasets (Binary MNIST, MNIST, Omniglot) x two noise levels (0.1, 0.3) x two methods (ABF, IABF), each against
NECST, 3 training seeds per side. Each test is Welch's t of mean(method) - mean(NECST) from the seed spreads, with
the Welch-Satterthwaite degrees of freedom and a two-sided p. The family of twelve is corrected with Holm-Bonferroni
(family-wise error rate ``alpha``); the Benjamini-Hochberg adjusted p (false discovery rate) is printed beside it.

Per-seed test values: MNIST and Omniglot from ``results/iabf_vs_necst_<dataset>_runs.json`` (full precision; IABF is
the seed-0 run of the lambda with the lowest best validation loss plus the second stage's seeds 1-2, as in
``experiments/iabf/vs_necst_report.py``); Binary MNIST from the report's table (:data:`BINARY_MNIST`, four digits:
its run directories no longer exist). ``REPORTED_T`` holds the t values the reports print, to check the
recomputation against. numpy and scipy only.
"""

from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np
from scipy import stats

NOISE = (0.1, 0.3)
METHODS = ("abf", "iabf")
LAMBDAS = (0.1, 0.01, 0.001)
DATASETS = ("binary_mnist", "mnist", "omniglot")
TITLES = {"binary_mnist": "Binary MNIST", "mnist": "MNIST", "omniglot": "Omniglot"}
LABELS = {"abf": "ABF", "iabf": "IABF"}

#: Binary MNIST test per-pixel cross-entropy (nats) per seed 0, 1, 2, as printed in ``results/iabf_vs_necst.md``
#: (four digits; the run directories are gone).
BINARY_MNIST = {
    0.1: {"necst": (0.1196, 0.1198, 0.1189), "abf": (0.1199, 0.1194, 0.1183), "iabf": (0.1180, 0.1191, 0.1190)},
    0.3: {"necst": (0.1943, 0.1939, 0.1927), "abf": (0.1979, 0.1991, 0.1985), "iabf": (0.1977, 0.1986, 0.1987)},
}

#: Welch's t as the reports print it (``results/iabf_vs_necst*.md``, generated tables).
REPORTED_T = {
    ("binary_mnist", 0.1, "abf"): -0.39,
    ("binary_mnist", 0.1, "iabf"): -1.65,
    ("binary_mnist", 0.3, "abf"): 8.30,
    ("binary_mnist", 0.3, "iabf"): 8.18,
    ("mnist", 0.1, "abf"): 2.21,
    ("mnist", 0.1, "iabf"): 2.90,
    ("mnist", 0.3, "abf"): 5.78,
    ("mnist", 0.3, "iabf"): 6.08,
    ("omniglot", 0.1, "abf"): -3.96,
    ("omniglot", 0.1, "iabf"): -6.29,
    ("omniglot", 0.3, "abf"): 0.90,
    ("omniglot", 0.3, "iabf"): 0.65,
}


def welch_from_stats(m1: float, s1: float, n1: int, m2: float, s2: float, n2: int) -> tuple[float, float, float]:
    """Welch's t of ``m1 - m2`` from means, sample standard deviations (ddof 1) and sizes: ``(t, df, p)``, p
    two-sided."""
    v1, v2 = s1**2 / n1, s2**2 / n2
    t = (m1 - m2) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    return t, df, float(2 * stats.t.sf(abs(t), df))


def welch(a, b) -> tuple[float, float, float]:
    """Welch's t of ``mean(a) - mean(b)`` from samples: ``(t, df, p)``."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return welch_from_stats(a.mean(), a.std(ddof=1), len(a), b.mean(), b.std(ddof=1), len(b))


def holm(p) -> np.ndarray:
    """Holm-Bonferroni adjusted p values (reject where adjusted p <= alpha): the i-th smallest p times
    ``m - i + 1`` (i from 1), made non-decreasing in that order, capped at 1."""
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini-Hochberg adjusted p values: the i-th smallest p times ``m / i``, made non-increasing from the
    largest down, capped at 1."""
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = adj
    return out


def seeds_from_runs(path: str) -> dict[float, dict[str, list[float]]]:
    """``{noise: {method: [test value per seed]}}`` for NECST, ABF and IABF from a ``_runs.json`` of
    ``vs_necst_report.save_runs``."""
    with open(path) as f:
        points = json.load(f)["points"]

    def tests(name: str) -> dict[int, float]:
        return {int(s): run["test"] for s, run in points.get(name, {}).items() if run.get("test") is not None}

    out = {}
    for eps in NOISE:
        lam_runs = {lam: points[f"iabf_lambda{lam}_eps{eps}"]["0"] for lam in LAMBDAS}
        lam = min(lam_runs, key=lambda k: lam_runs[k]["best_valid"])
        iabf = {0: lam_runs[lam]["test"], **tests(f"iabf_final_eps{eps}")}
        out[eps] = {
            "necst": list(tests(f"necst_eps{eps}").values()),
            "abf": list(tests(f"abf_eps{eps}").values()),
            "iabf": [iabf[s] for s in sorted(iabf)],
            "lambda": lam,
        }
    return out


def compute(results: str = "results", alpha: float = 0.05) -> list[dict]:
    """The twelve tests, each a dict with the Welch statistics and the Holm and BH adjusted p."""
    data = {"binary_mnist": BINARY_MNIST}
    for dataset in ("mnist", "omniglot"):
        data[dataset] = seeds_from_runs(os.path.join(results, f"iabf_vs_necst_{dataset}_runs.json"))
    rows = []
    for dataset in DATASETS:
        for eps in NOISE:
            necst = data[dataset][eps]["necst"]
            for method in METHODS:
                vals = data[dataset][eps][method]
                if len(vals) != 3 or len(necst) != 3:
                    raise ValueError(
                        f"{dataset} noise {eps}: expected 3 seeds per side, got {len(vals)} and {len(necst)}"
                    )
                t, df, p = welch(vals, necst)
                rows.append(
                    {
                        "dataset": dataset,
                        "noise": eps,
                        "method": method,
                        "diff": float(np.mean(vals) - np.mean(necst)),
                        "t": t,
                        "df": df,
                        "p": p,
                        "reported_t": REPORTED_T[(dataset, eps, method)],
                    }
                )
    for row, h, b in zip(rows, holm([r["p"] for r in rows]), benjamini_hochberg([r["p"] for r in rows])):
        row["holm"], row["bh"] = float(h), float(b)
        row["survives_holm"], row["survives_bh"] = bool(h <= alpha), bool(b <= alpha)
    return rows


def markdown(rows: list[dict], alpha: float = 0.05) -> str:
    """The table of the twelve tests and a line on which survive each correction."""
    lines = [
        "| dataset | noise | method | − NECST | Welch t (report's) | df | p (two-sided) | Holm p "
        f"| survives Holm ({alpha:g}) | BH p |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        digits = 4 if r["dataset"] == "binary_mnist" else 2
        lines.append(
            f"| {TITLES[r['dataset']]} | {r['noise']} | {LABELS[r['method']]} | {r['diff']:+.{digits}f} | "
            f"{r['t']:.2f} ({r['reported_t']:.2f}) | {r['df']:.1f} | {r['p']:.4f} | {r['holm']:.4f} | "
            f"{'yes' if r['survives_holm'] else 'no'} | {r['bh']:.4f} |"
        )

    def names(key: str) -> str:
        hit = [f"{TITLES[r['dataset']]} {r['noise']} {LABELS[r['method']]}" for r in rows if r[key]]
        return ", ".join(hit) if hit else "none"

    raw = [r for r in rows if r["p"] < alpha]
    lines += [
        "",
        f"Uncorrected p < {alpha:g}: {len(raw)} of {len(rows)}. "
        f"Survive Holm-Bonferroni (family-wise {alpha:g}): {names('survives_holm')}. "
        f"Survive Benjamini-Hochberg (false discovery rate {alpha:g}): {names('survives_bh')}.",
        f"Largest |t recomputed - t reported|: {max(abs(round(r['t'], 2) - r['reported_t']) for r in rows):.2f}.",
    ]
    return "\n".join(lines)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default="results", help="folder of the _runs.json files")
    parser.add_argument("--alpha", type=float, default=0.05)
    args = parser.parse_args(argv)
    text = markdown(compute(args.results, args.alpha), args.alpha)
    print(text)
    return text


if __name__ == "__main__":
    main()
