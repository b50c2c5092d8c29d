"""Rows of ``results/learned_codes_optimal.md`` from the summaries of finished runs.

Usage:
  python -m experiments.linear_code.table WORKDIR[+WORKDIR] [...] [--golay_out FILE]

Each WORKDIR holds either a ``linear_code_summary.json`` (the ``linear_code`` method) or a
``codebook_summary.json`` (the ``progressive`` method: progressive / straight-through / Gumbel-softmax, MLP or
linear encoder). Prints one markdown row per summary: seeds, seeds reaching the reference distance, seeds equivalent
to the reference (verified exactly), the d_min histogram, the exact ML BLER / converse at p = 0.01 and 0.05 (median
[min, max]) and the training wall time. ``--golay_out`` collects the generators of the learned codes equivalent to
Golay(23,12) (for the test that checks them). ``A+B``: one row pooling the seeds of one ``linear_code`` variant
trained as separate groups (``--config.seed=10 --config.num_seeds=10`` beside seeds 0-9).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib

import numpy as np

from neuralcodes_jax.codes import bounds as codes_bounds
from neuralcodes_jax.codes import exact as codes_exact
from neuralcodes_jax.codes import gf2

HEADER = (
    "| code | method | seeds | reached d | equivalent | d_min histogram | ML BLER / converse p=0.01 | "
    "p=0.05 | train s |\n|---|---|---|---|---|---|---|---|---|"
)


def _fmt(vals) -> str:
    vals = np.asarray(vals, np.float64)
    return f"{np.median(vals):.4g} [{vals.min():.4g}, {vals.max():.4g}]"


def reference_row(name: str, n: int, k: int) -> str:
    """The reference code's own row: its distance and exact ML BLER / converse."""
    from neuralcodes_jax.codes import linear as codes_linear
    from neuralcodes_jax.evaluators import linear_code as ev

    ref = ev.reference(name, n, k)
    dec = codes_linear.SyndromeDecoder(ref)
    bler = codes_exact.syndrome_bler_bsc(dec)
    d = int(np.flatnonzero(codes_linear.weight_enumerator(ref)[1:])[0]) + 1
    ratios = [f"{bler(p) / float(codes_bounds.bsc_converse(n, k, p)):.4g}" for p in (0.01, 0.05)]
    return f"| ({n},{k}) {name} | the reference itself | | | | {d} | {ratios[0]} | {ratios[1]} | |"


def punctured_golay(generator_rows: list[str]) -> int | None:
    """The coordinate whose puncturing turns a learned (24,12) code into a code equivalent to Golay(23,12)
    (weight enumerator and a coordinate-permutation search), or None."""
    from neuralcodes_jax.codes import linear as codes_linear
    from neuralcodes_jax.codes import structure as codes_structure

    g = np.array([[int(b) for b in row] for row in generator_rows], np.uint8)
    golay = codes_linear.golay_code()
    target = codes_linear.weight_enumerator(golay)
    for j in range(g.shape[1]):
        punctured = np.delete(g, j, axis=1)
        if gf2.rank(punctured) < g.shape[0]:
            continue
        code = codes_linear.LinearCode.from_generator(punctured)
        if (
            np.array_equal(codes_linear.weight_enumerator(code), target)
            and codes_structure.find_equivalence(code.codewords(), golay.codewords()) is not None
        ):
            return j
    return None


def add_histograms(histograms) -> dict[str, int]:
    """The sum of ``{distance: count}`` histograms (seeds pooled from several groups), largest distance first."""
    total: dict[str, int] = {}
    for h in histograms:
        for d, c in h.items():
            total[d] = total.get(d, 0) + c
    return dict(sorted(total.items(), key=lambda kv: -int(kv[0])))


_COUNTS = ("num_seeds", "reached_distance", "equivalent", "equivalence_undecided", "same_enumerator")


def pool_linear_summaries(summaries: list[dict]) -> dict:
    """One summary of the seeds of several ``linear_code`` summaries of one variant (counts and histograms added,
    seeds concatenated; the per-seed ratios are what :func:`linear_row` reads); ``train_seconds`` becomes a list."""
    first = summaries[0]
    keys = {(s["name"], s["n"], s["k"], s["reference"], s.get("training")) for s in summaries}
    if len(keys) != 1:
        raise ValueError(f"pooled rows must be one variant of one code, got {sorted(map(str, keys))}")
    names = [os.path.basename(w) for s in summaries for w in s["workdirs"]]
    if len(set(names)) != len(names):
        raise ValueError(f"pooled rows share seeds: {sorted(names)}")

    def pool(parts: list[dict]) -> dict:
        out = dict(parts[0])
        for key in _COUNTS:
            out[key] = sum(p[key] for p in parts)
        out["minimum_distance_histogram"] = add_histograms(p["minimum_distance_histogram"] for p in parts)
        for key in [k for k in out if k.startswith("ratio_to_converse_at_")]:
            del out[key]  # medians do not pool; linear_row recomputes them from the seeds
        if "seconds" in out:
            out["seconds"] = sum(p["seconds"] for p in parts)
        return out

    pooled = dict(first)
    pooled["summary"] = pool([s["summary"] for s in summaries])
    if all("polish" in s for s in summaries):
        pooled["polish"] = pool([s["polish"] for s in summaries])
    else:
        pooled.pop("polish", None)
    pooled["seeds"] = [r for s in summaries for r in s["seeds"]]
    pooled["workdirs"] = [w for s in summaries for w in s["workdirs"]]
    pooled["train_seconds"] = [float(s["train_seconds"]) for s in summaries]
    return pooled


def linear_row(summary: dict, polished: bool = False) -> tuple[str, list]:
    """The row of a ``linear_code`` summary; ``polished``: the row of its polish stage (``eval.polish``)."""
    s = summary["polish"] if polished else summary["summary"]
    seeds = [r["polish"] for r in summary["seeds"]] if polished else summary["seeds"]
    hist = ", ".join(f"{d} ({c})" for d, c in s["minimum_distance_histogram"].items())
    ratios = [_fmt([r["ratio_to_converse"][p]["ratio"] for r in seeds]) for p in ("0.01", "0.05")]
    undecided = f" (+{s['equivalence_undecided']} undecided)" if s["equivalence_undecided"] else ""
    method = f"linear, {summary.get('training', summary['surrogate'])}"
    t = summary["train_seconds"]
    seconds = " + ".join(f"{float(x):.0f}" for x in t) if isinstance(t, list) else f"{float(t):.0f}"
    if polished:
        method += f" **+ polish** ({s['flips']} flips)"
        seconds += f" + {s['seconds']:.0f} polish"
    row = (
        f"| ({summary['n']},{summary['k']}) {summary['reference']} | {method} | "
        f"{s['num_seeds']} | {s['reached_distance']} | {s['equivalent']}{undecided} | {hist} | {ratios[0]} | "
        f"{ratios[1]} | {seconds} |"
    )
    golay = [r["generator"] for r in seeds if r["reference"] == "Golay(23,12)" and r["equivalent"]]
    if (summary["n"], summary["k"]) == (24, 12):
        for r in seeds:
            if r["minimum_distance"] == 7:
                j = punctured_golay(r["generator"])
                if j is not None:
                    golay.append([row[:j] + row[j + 1 :] for row in r["generator"]])
    return row, golay


def codebook_row(summary: dict, ref_distance: int) -> list[str]:
    rows = []
    n, k = summary["n"], summary["k"]
    ref_name = summary["config"]["eval"]["reference"]
    for training, entry in summary["trainings"].items():
        seeds = entry["seeds"]
        dmins = collections.Counter(r["minimum_distance"] for r in seeds)
        hist = ", ".join(f"{d} ({c})" for d, c in sorted(dmins.items(), reverse=True))
        ratios = []
        for p in (0.01, 0.05):
            conv = float(codes_bounds.bsc_converse(n, k, p))
            vals = [codes_exact.WeightPolynomial(**_poly_args(r["ml"]["bler"]["polynomial"]))(p) / conv for r in seeds]
            ratios.append(_fmt(vals))
        encoder = entry["spec"].get("encoder", "mlp")
        if entry["spec"].get("warm_start"):
            encoder += f" (warm start: {os.path.basename(entry['spec']['warm_start'])})"
        reached = sum((r["minimum_distance"] or 0) >= ref_distance for r in seeds)
        equivalent = sum(r["equivalent_to"] is not None for r in seeds)
        rows.append(
            f"| ({n},{k}) {ref_name} | {training}, {encoder} "
            f"encoder | {len(seeds)} | {reached} | {equivalent} | {hist} | {ratios[0]} | {ratios[1]} | "
            f"{entry['train_seconds']:.0f} |"
        )
    return rows


def _poly_args(d: dict) -> dict:
    return {"n": d["n"], "counts": tuple(d["counts"]), "denominator": d["denominator"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--golay_out", default=None)
    args = parser.parse_args(argv)
    print(HEADER)
    golay = []
    seen = set()
    for d in args.workdirs:
        parts = d.split("+")
        lin = os.path.join(parts[0], "linear_code_summary.json")
        book = os.path.join(d, "codebook_summary.json")
        if os.path.exists(lin):
            summaries = [
                json.loads(pathlib.Path(os.path.join(w, "linear_code_summary.json")).read_text()) for w in parts
            ]
            summary = summaries[0] if len(summaries) == 1 else pool_linear_summaries(summaries)
            key = (summary["reference"], summary["n"], summary["k"])
            if key not in seen:
                seen.add(key)
                print(reference_row(*key))
            row, found = linear_row(summary)
            print(row)
            golay += found
            if "polish" in summary:
                row, found = linear_row(summary, polished=True)
                print(row)
                golay += found
        elif os.path.exists(book):
            summary = json.loads(pathlib.Path(book).read_text())
            ref = summary["config"]["eval"]["reference"]
            ref_distance = {"Hamming(7,4)": 3, "Hamming(15,11)": 3, "Golay(23,12)": 7, "extended Hamming(8,4)": 4}[ref]
            for row in codebook_row(summary, ref_distance):
                print(row)
        else:
            print(f"| {d} | (no summary yet) |")
    if args.golay_out:
        with open(args.golay_out, "w") as f:
            json.dump({"generators": golay}, f, indent=1)
        print(f"{len(golay)} Golay generators -> {args.golay_out}")


if __name__ == "__main__":
    main()
