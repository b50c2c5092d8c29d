"""The linear-code evaluator (``methods/linear_code.py``): the exact report of every learned linear code.

Per run (``WORKDIR/linear_code_report.json``): the binarized systematic generator, the exact weight enumerator
(``codes.linear.weight_enumerator``) and minimum distance, the comparison with the reference code
(``eval.reference``, a name of ``codes.structure.reference_codes()``): whether the reference's minimum distance is
reached, whether the weight enumerators are equal and whether the codes are equivalent (exact: the parity-check
columns for Hamming codes, a coordinate-permutation search over the codebooks for ``k <= eval.max_equivalence_k``,
otherwise not decided), and the exact BLER and BER polynomials of coset-leader ML decoding on the BSC with their
values on ``eval.p_grid`` and the ratio to the finite-blocklength converse.

Per set of runs (``DIR/linear_code_summary.json``, ``DIR/summary.md``): counts over seeds (distance reached,
equivalent, same enumerator), the minimum-distance histogram, the ratio to the converse at ``eval.p_ratios``
(median, min, max) and the training time.

``eval.polish`` (1: single flips, 2: single and double flips; 0: off) adds a discrete finishing stage after
training: the method's ``polish`` (flip descent of its final surrogate from the binarized code,
``codes.flip_descent``), whose code gets its own full report (``report['polish']``) and its own counts
(``summary['polish']``): "gradient" and "gradient + polish" are separate claims. Its wall time is reported.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import time
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from neuralcodes_jax import specs
from neuralcodes_jax.codes import bounds as codes_bounds
from neuralcodes_jax.codes import exact as codes_exact
from neuralcodes_jax.codes import linear as codes_linear
from neuralcodes_jax.codes import structure as codes_structure
from neuralcodes_jax.config_utils import check_int
from neuralcodes_jax.evaluators.codebook import P_GRID, check_p_grid, reference_code


@dataclasses.dataclass(frozen=True)
class EvalFields:
    """``eval`` fields of the linear-code report."""

    reference: str  # required: a name of codes.structure.reference_codes() or a JSON file
    p_grid: tuple[float, ...] = P_GRID
    p_ratios: tuple[float, ...] = (0.01, 0.05)
    max_equivalence_k: int = 12  # coordinate-permutation search over the 2^k codewords up to this k
    max_equivalence_nodes: int = 100_000
    polish: int = 0  # 0: off; 1: single-flip descent; 2: single- and double-flip descent


@dataclasses.dataclass(frozen=True)
class CONFIG:
    """What the evaluator reads from a config."""

    eval: EvalFields


def reference(name: str, n: int, k: int) -> codes_linear.LinearCode:
    """The reference code ``name`` (``codes.structure.reference_codes()``), checked to be an ``(n, k)`` code."""
    return reference_code(name, n, k)


def _poly(poly: codes_exact.WeightPolynomial, p_grid: np.ndarray) -> dict[str, Any]:
    return {"values": [float(v) for v in np.atleast_1d(poly(p_grid))], "polynomial": poly.to_dict()}


def equivalence(
    code: codes_linear.LinearCode, ref: codes_linear.LinearCode, same_enumerator: bool, max_k: int, max_nodes: int
) -> dict[str, Any]:
    """Whether ``code`` is equivalent to ``ref`` (``equivalent``: True / False / None = not decided) and how."""
    if not same_enumerator:
        return {"equivalent": False, "method": "weight enumerators differ"}
    if codes_linear.is_hamming_equivalent(ref):
        return {"equivalent": codes_linear.is_hamming_equivalent(code), "method": "parity-check columns"}
    if code.k > max_k:
        return {"equivalent": None, "method": f"not decided (k > eval.max_equivalence_k = {max_k})"}
    try:
        eq = codes_structure.find_equivalence(code.codewords(), ref.codewords(), max_nodes)
    except codes_structure.EquivalenceSearchError as e:
        return {"equivalent": None, "method": f"search stopped: {e}"}
    out = {"equivalent": eq is not None, "method": "coordinate-permutation search"}
    if eq is not None:
        out["permutation"] = eq.to_dict()["permutation"]
    return out


def code_report(
    code: codes_linear.LinearCode,
    ref: codes_linear.LinearCode,
    p_grid: np.ndarray,
    p_ratios: tuple[float, ...],
    max_k: int = 12,
    max_nodes: int = 100_000,
) -> dict[str, Any]:
    """Exact report of one linear code against the reference (module docstring)."""
    n, k = code.n, code.k
    enum = codes_linear.weight_enumerator(code)
    ref_enum = codes_linear.weight_enumerator(ref)
    d = int(np.flatnonzero(enum[1:])[0]) + 1
    ref_d = int(np.flatnonzero(ref_enum[1:])[0]) + 1
    same = bool(np.array_equal(enum, ref_enum))
    dec = codes_linear.SyndromeDecoder(code)
    bler = codes_exact.syndrome_bler_bsc(dec)
    ber = codes_exact.syndrome_ber_bsc(dec)
    ratios = {}
    for p in p_ratios:
        conv = float(codes_bounds.bsc_converse(n, k, p))
        ratios[f"{p:g}"] = {"bler": float(bler(p)), "converse": conv, "ratio": float(bler(p)) / conv}
    return {
        "n": n,
        "k": k,
        "generator": ["".join(map(str, row)) for row in code.generator],
        "weight_enumerator": enum.tolist(),
        "minimum_distance": d,
        "reference": ref.name,
        "reference_distance": ref_d,
        "reached_distance": d >= ref_d,
        "same_enumerator": same,
        **equivalence(code, ref, same, max_k, max_nodes),
        "coset_leader_weights": dec.leader_weight_distribution.tolist(),
        "bler": _poly(bler, p_grid),
        "ber": _poly(ber, p_grid),
        "p_grid": p_grid.tolist(),
        "converse": [float(v) for v in np.atleast_1d(codes_bounds.bsc_converse(n, k, p_grid))],
        "ratio_to_converse": ratios,
    }


def _polish_level(config) -> int:
    return check_int("eval.polish", specs.parse(CONFIG, config).eval.polish, 0, 2)


def report_settings(config) -> tuple[np.ndarray, tuple[float, ...], int, int, str]:
    """The report's settings of a run's config, checked: ``(p_grid, p_ratios, max_equivalence_k,
    max_equivalence_nodes, reference)``."""
    ev = specs.parse(CONFIG, config).eval
    p_grid = check_p_grid(ev.p_grid, "eval.p_grid")
    p_ratios = tuple(float(p) for p in ev.p_ratios)
    for p in p_ratios:
        if not 0.0 < p < 0.5:
            raise ValueError(f"eval.p_ratios must lie in (0, 0.5), got {ev.p_ratios!r}")
    max_k = check_int("eval.max_equivalence_k", ev.max_equivalence_k, 1, 16)
    nodes = check_int("eval.max_equivalence_nodes", ev.max_equivalence_nodes, 1)
    check_int("eval.polish", ev.polish, 0, 2)
    return p_grid, p_ratios, max_k, nodes, ev.reference


def evaluate(run) -> list[dict]:
    """The exact report of every run's learned code (``linear_code_report.json`` in its workdir)."""
    config = run.configs[0]
    p_grid, p_ratios, max_k, nodes, ref_name = report_settings(config)
    settings = run.method.eval_settings()
    ref = reference(ref_name, settings["n"], settings["k"])
    params = run.host(run.params)
    out = []
    for i in range(run.num_points):
        generator = run.methods[i].generator(jax.tree.map(lambda a, i=i: a[i], params))
        code = codes_linear.LinearCode.from_generator(generator)
        rep = code_report(code, ref, p_grid, p_ratios, max_k, nodes)
        rep.update(
            seed=int(run.configs[i].seed),
            step=int(run.metas[i].get("step", 0)),
            surrogate=settings["surrogate"],
            restarts=settings["restarts"],
        )
        level = _polish_level(run.configs[i])
        if level:
            t0 = time.time()
            polished, info = run.methods[i].polish(generator, pairs=level == 2)
            seconds = time.time() - t0
            prep = code_report(codes_linear.LinearCode.from_generator(polished), ref, p_grid, p_ratios, max_k, nodes)
            prep.update(info, seconds=seconds, flips="single and double" if level == 2 else "single")
            rep["polish"] = prep
        if run.is_main:
            with open(os.path.join(run.workdirs[i], "linear_code_report.json"), "w") as f:
                json.dump(rep, f, indent=1)
        out.append(rep)
    return out


def summarize_reports(reports: list[dict], p_ratios: tuple[float, ...]) -> dict[str, Any]:
    """Counts over seeds: distance reached, equivalent (True / undecided), same enumerator, d_min histogram and
    the ratio to the converse at each ``p_ratios`` (median, min, max)."""
    dmins = collections.Counter(r["minimum_distance"] for r in reports)
    out: dict[str, Any] = {
        "num_seeds": len(reports),
        "reached_distance": sum(r["reached_distance"] for r in reports),
        "equivalent": sum(r["equivalent"] is True for r in reports),
        "equivalence_undecided": sum(r["equivalent"] is None for r in reports),
        "same_enumerator": sum(r["same_enumerator"] for r in reports),
        "minimum_distance_histogram": {str(d): c for d, c in sorted(dmins.items(), reverse=True)},
    }
    for p in p_ratios:
        vals = np.array([r["ratio_to_converse"][f"{p:g}"]["ratio"] for r in reports])
        out[f"ratio_to_converse_at_{p:g}"] = {
            "median": float(np.median(vals)),
            "min": float(vals.min()),
            "max": float(vals.max()),
        }
    return out


def markdown_summary(summary: Mapping[str, Any]) -> str:
    s = summary["summary"]
    lines = [
        f"# {summary['name']}: learned ({summary['n']},{summary['k']}) linear codes vs {summary['reference']}",
        "",
        f"Surrogate `{summary['surrogate']}` ({summary.get('training', '')}), {s['num_seeds']} seeds, "
        f"training {summary['train_seconds']:.1f} s.",
        "",
        "| seeds | reached d | equivalent | same enumerator | d_min histogram | ML BLER / converse |",
        "|---|---|---|---|---|---|",
    ]
    ratios = "; ".join(
        f"p={k.rsplit('_', 1)[1]}: {v['median']:.4g} [{v['min']:.4g}, {v['max']:.4g}]"
        for k, v in s.items()
        if k.startswith("ratio_to_converse_at_")
    )
    hist = ", ".join(f"{d} ({c})" for d, c in s["minimum_distance_histogram"].items())
    lines.append(
        f"| {s['num_seeds']} | {s['reached_distance']} | {s['equivalent']} | {s['same_enumerator']} | "
        f"{hist} | {ratios} |"
    )
    if "polish" in summary:
        s = summary["polish"]
        ratios = "; ".join(
            f"p={k.rsplit('_', 1)[1]}: {v['median']:.4g} [{v['min']:.4g}, {v['max']:.4g}]"
            for k, v in s.items()
            if k.startswith("ratio_to_converse_at_")
        )
        hist = ", ".join(f"{d} ({c})" for d, c in s["minimum_distance_histogram"].items())
        lines += [
            "",
            f"Gradient + polish ({s['flips']} flips, {s['seconds']:.1f} s over the seeds):",
            "",
            lines[4],
            lines[5],
            f"| {s['num_seeds']} | {s['reached_distance']} | {s['equivalent']} | {s['same_enumerator']} | "
            f"{hist} | {ratios} |",
        ]
    return "\n".join(lines) + "\n"


def summarize(run, results: list[dict], members: list[int], directory: str) -> dict:
    """Counts over the seeds ``members`` (``linear_code_summary.json``, ``summary.md`` in ``directory``)."""
    config = run.configs[members[0]]
    _, p_ratios, _, _, ref_name = report_settings(config)
    settings = run.methods[members[0]].eval_settings()
    reports = [results[i] for i in members]
    summary = {
        "name": config.get("name") or "linear_code",
        "n": settings["n"],
        "k": settings["k"],
        "reference": ref_name,
        "surrogate": settings["surrogate"],
        "config": config.to_dict(),
        "train_seconds": float(run.train_seconds),
        "summary": summarize_reports(reports, p_ratios),
        "seeds": reports,
        "workdirs": [run.workdirs[i] for i in members],
        "training": settings.get("training", settings["surrogate"]),
    }
    if all("polish" in r for r in reports):
        summary["polish"] = summarize_reports([r["polish"] for r in reports], p_ratios)
        summary["polish"]["seconds"] = float(sum(r["polish"]["seconds"] for r in reports))
        summary["polish"]["flips"] = reports[0]["polish"]["flips"]
    if run.is_main:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "linear_code_summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
        with open(os.path.join(directory, "summary.md"), "w") as f:
            f.write(markdown_summary(summary))
    return summary


def metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """Flat numbers of one run's report or of a summary (for sweeps)."""
    if "summary" not in result:
        out = {
            "minimum_distance": result["minimum_distance"],
            "reached_distance": result["reached_distance"],
            "equivalent": result["equivalent"],
        }
        out.update({f"ratio_to_converse_at_{p}": v["ratio"] for p, v in result["ratio_to_converse"].items()})
        return out
    s = result["summary"]
    out = {k: s[k] for k in ("num_seeds", "reached_distance", "equivalent", "same_enumerator")}
    out["minimum_distance_histogram"] = s["minimum_distance_histogram"]
    out.update({k: v["median"] for k, v in s.items() if k.startswith("ratio_to_converse_at_")})
    return out
