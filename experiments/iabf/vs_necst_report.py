"""The IABF-vs-NECST report from the runs of ``experiments/iabf/vs_necst.py`` (finished or not).

    python -m experiments.iabf.vs_necst_report WORKDIR [--dataset=binary_mnist] [--data_dir=DATA/binarized_mnist] \\
        [--out=results/iabf_vs_necst.md]      # other datasets: results/iabf_vs_necst_<dataset>.md

Reads every run directory under WORKDIR (``<point>/seed<s>``: ``metrics.jsonl`` for the validation curve and the
epoch a run stopped at, ``eval.json`` for the test distortion at the training noise), chooses lambda per noise from
the seed-0 IABF runs (lowest best validation loss; printed, with the second stage's commands), and writes the
generated part of the report between the markers ``<!-- generated -->`` and ``<!-- /generated -->`` of ``--out``
(the hand-written plan and findings around them are kept), plus the validation-curve figure and the finished runs
(``<out>_runs.json``: curves and test metrics, read back where WORKDIR lacks a run) beside it. A runs file with a
``source`` field was written by hand from a report whose run directories no longer exist (Binary MNIST): its runs are
kept and marked as such on every rewrite, and it alone never regenerates the report (its values are rounded and some
runs lack a test value), so the report is left as it is unless WORKDIR holds a finished run.

Statistics per method and noise: the per-seed test distortion (Table 1's metric: per-pixel cross-entropy in nats on
Binary MNIST, per-image SSE on MNIST and Omniglot), the mean and the seed standard deviation, and the difference to
NECST with Welch's t from the seed spreads (the per-image standard errors are far smaller and are not used for the
comparison)."""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import re

import numpy as np

from experiments import paper_tables
from experiments.iabf import vs_necst
from neuralcodes_jax import metrics_writer

LABELS = {
    "necst": "NECST",
    "abf": "ABF",
    "iabf": "IABF",
    "abf_masked": "ABF, budget over masked bits (a)",
    "abf_on_top": "ABF, flips on top of BSC(eps) (b)",
}
BEGIN, END = "<!-- generated -->", "<!-- /generated -->"


def paper_block(dataset: str) -> tuple[str, dict[str, dict[float, float]]]:
    """Table 1's metric on ``dataset`` and its numbers ``{method: {noise: value}}``."""
    table = paper_tables.get_table("iabf_table1")
    block = table.block(dataset)
    return block.metric, {m: dict(zip(table.noise_levels, v)) for m, v in block.paper.items()}


def read_run(path: str, metric: str = "bce_per_pixel_nats") -> dict:
    """One run directory: validation curve, the epoch it reached, whether it stopped early, its test metric."""
    curve = []
    metrics = os.path.join(path, "metrics.jsonl")
    if os.path.isfile(metrics):
        for row in metrics_writer.read_records(metrics):
            if "valid/loss" in row and "epoch" in row:
                curve.append((int(row["epoch"]), float(row["valid/loss"])))
    out = {
        "path": path,
        "curve": curve,
        "epochs": curve[-1][0] if curve else 0,
        "best_valid": min(v for _, v in curve) if curve else math.nan,
        "test": None,
    }
    ev = os.path.join(path, "eval.json")
    if os.path.isfile(ev):
        with open(ev) as f:
            rows = json.load(f)["rows"]
        out["test"] = rows[0][metric]
        out["test_se"] = rows[0][metric + "_se"]
    return out


def read_point(workdir: str, name: str, metric: str = "bce_per_pixel_nats") -> dict[int, dict]:
    """``{seed: run}`` of one point directory (empty if it does not exist): its ``seed<s>`` sub-directories (a
    point of several seeds, ``sweeps.seed_members``), or the directory itself for a point of one seed (its seed
    read from its ``config.json``, else 0)."""
    root = os.path.join(workdir, name)
    runs = {}
    if os.path.isdir(root):
        for entry in sorted(os.listdir(root)):
            m = re.fullmatch(r"seed(\d+)", entry)
            if m:
                runs[int(m.group(1))] = read_run(os.path.join(root, entry), metric)
        if not runs and os.path.isfile(os.path.join(root, "metrics.jsonl")):
            seed = 0
            if os.path.isfile(os.path.join(root, "config.json")):
                with open(os.path.join(root, "config.json")) as f:
                    seed = int(json.load(f).get("seed", 0))
            runs[seed] = read_run(root, metric)
    return runs


def data_settings(workdir: str) -> dict:
    """``config.data``'s ``data_dir`` and ``split_scheme`` of the first run found under ``workdir`` ({} if none)."""
    for root, _, files in sorted(os.walk(workdir)):
        if "config.json" in files:
            with open(os.path.join(root, "config.json")) as f:
                data = json.load(f).get("data") or {}
            return {k: data[k] for k in ("data_dir", "split_scheme") if data.get(k)}
    return {}


def welch(a: list[float], b: list[float]) -> tuple[float, float]:
    """Welch's t of mean(a) - mean(b) and its degrees of freedom (nan with fewer than 2 values per side)."""
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    if va + vb == 0:
        return math.nan, math.nan
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return float(t), float(df)


def choose_lambda(point, eps: float) -> tuple[float | None, dict]:
    """The lambda whose seed-0 IABF run has the lowest best validation loss (None until all three finished);
    ``point(name)`` reads a point's runs."""
    runs = {lam: point(f"iabf_lambda{lam}_eps{eps}").get(0) for lam in vs_necst.LAMBDAS}
    if any(r is None or r["test"] is None for r in runs.values()):
        return None, runs
    return min(runs, key=lambda lam: runs[lam]["best_valid"]), runs


def collect(workdir: str, dataset: str = "binary_mnist", saved: dict | None = None) -> dict:
    """``{eps: {method: {seed: run}}}`` with IABF = the chosen lambda's seed 0 plus the second stage's seeds.

    ``saved`` (:func:`load_runs`) fills in the finished runs the workdir does not hold (a run directory lost with its
    machine) and the data settings; ``out['points']`` holds every point read, ``out['data']`` the runs' data
    settings (:func:`data_settings`)."""
    metric, _ = paper_block(dataset)
    saved = saved or {}
    out: dict = {
        "dataset": dataset,
        "metric": metric,
        "lambda": {},
        "lambda_runs": {},
        "points": {},
        "data": data_settings(workdir) or saved.get("data", {}),
    }

    def point(name: str) -> dict[int, dict]:
        runs = read_point(workdir, name, metric)
        for seed, run in saved.get("points", {}).get(name, {}).items():
            if run.get("test") is not None and (seed not in runs or runs[seed]["test"] is None):
                runs[seed] = run
        out["points"][name] = runs
        return runs

    for eps in vs_necst.NOISE:
        lam, lam_runs = choose_lambda(point, eps)
        out["lambda"][eps], out["lambda_runs"][eps] = lam, lam_runs
        methods = {"necst": point(f"necst_eps{eps}"), "abf": point(f"abf_eps{eps}")}
        iabf_runs = {}
        if lam is not None:
            iabf_runs[0] = lam_runs[lam]
            iabf_runs.update(point(f"iabf_final_eps{eps}"))
        methods["iabf"] = iabf_runs
        if eps in vs_necst.OPTION_NOISE[dataset]:
            methods["abf_masked"] = point(f"abf_masked_eps{eps}")
            methods["abf_on_top"] = point(f"abf_on_top_eps{eps}")
        out[eps] = methods
    for name, runs in saved.get("points", {}).items():  # saved runs not read above are kept, not dropped
        for seed, run in runs.items():
            out["points"].setdefault(name, {}).setdefault(seed, run)
    return out


def save_runs(path: str, data: dict) -> None:
    """The finished runs of ``data`` (curve, epochs, best validation, test metric) as JSON beside the report, so
    that the report can be regenerated, and a stage completed, without the run directories."""
    keep = ("curve", "epochs", "best_valid", "test", "test_se", "source")
    points = {
        name: {
            str(seed): {k: run[k] for k in keep if k in run}
            for seed, run in sorted(runs.items())
            if run.get("test") is not None or "source" in run
        }
        for name, runs in sorted(data["points"].items())
    }
    sources = sorted({run["source"] for runs in points.values() for run in runs.values() if "source" in run})
    head = {"dataset": data["dataset"], "metric": data["metric"], "data": data["data"]}
    if sources:
        head["source"] = "; ".join(sources)
    with open(path, "w") as f:
        json.dump({**head, "points": {k: v for k, v in points.items() if v}}, f, indent=None, separators=(",", ":"))
        f.write("\n")


def load_runs(path: str, dataset: str) -> dict:
    """``{'points': {point: {seed: run}}, 'data': settings}`` from :func:`save_runs` (empty if there is no file); the
    dataset must match. The file's ``source`` (runs written by hand from a report) marks each of its runs."""
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        saved = json.load(f)
    if saved.get("dataset") != dataset:
        raise ValueError(f"{path} holds runs of dataset {saved.get('dataset')!r}, not {dataset!r}")
    mark = {"source": saved["source"]} if saved.get("source") else {}
    points = {
        name: {
            int(seed): {**mark, **run, "curve": [tuple(c) for c in run.get("curve", [])]} for seed, run in runs.items()
        }
        for name, runs in saved["points"].items()
    }
    return {"points": points, "data": saved.get("data", {})}


def _fmt(x: float, digits: int = 4) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def tables(data: dict, workdir: str, data_dir: str) -> tuple[str, list[str]]:
    """Markdown of the generated part and the commands still to run."""
    lines, todo = [], []
    metric, paper_values = paper_block(data["dataset"])
    digits = 4 if metric == "bce_per_pixel_nats" else 2
    for eps in vs_necst.NOISE:
        lam = data["lambda"][eps]
        lines.append(f"### Noise {eps}\n")
        lam_cells = ", ".join(
            f"{k}: {_fmt(r['best_valid'], 3) if r else 'not run'}"
            + ("" if r is None or r["test"] is not None else " (running)")
            for k, r in data["lambda_runs"][eps].items()
        )
        lines.append(
            f"lambda (seed 0, best validation loss, nats per image): {lam_cells}; "
            f"chosen: {lam if lam is not None else 'not yet'}.\n"
        )
        if lam is not None and len(data[eps]["iabf"]) < vs_necst.SEEDS:
            todo.append(
                vs_necst.final_command(workdir, eps, lam, data_dir, data["dataset"], data["data"].get("split_scheme"))
            )
        lines.append(
            f"| method | per seed: test {metric} (epochs run) | mean | seed sd | − NECST | Welch t (df) "
            f"| paper | paper − NECST |"
        )
        lines.append("|---|---|---|---|---|---|---|---|")
        necst_vals = [r["test"] for r in data[eps]["necst"].values() if r["test"] is not None]
        for method, runs in data[eps].items():
            done = {s: r for s, r in sorted(runs.items()) if r["test"] is not None}
            cells = ", ".join(f"{r['test']:.{digits}f} ({r['epochs']})" for r in done.values())
            running = [f"seed {s}: epoch {r['epochs']}" for s, r in sorted(runs.items()) if r["test"] is None]
            if running:
                cells += ("; " if cells else "") + "running: " + ", ".join(running)
            missing = vs_necst.SEEDS - len(runs)
            if missing > 0:
                cells += ("; " if cells else "") + f"{missing} seed(s) not started"
            vals = [r["test"] for r in done.values()]
            mean = float(np.mean(vals)) if vals else math.nan
            sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else math.nan
            if method == "necst":
                diff, t, df = math.nan, math.nan, math.nan
            else:
                diff = mean - float(np.mean(necst_vals)) if vals and necst_vals else math.nan
                t, df = welch(vals, necst_vals)
            paper = paper_values.get(method, {}).get(eps)
            paper_diff = paper - paper_values["necst"][eps] if paper is not None and method != "necst" else None
            t_cell = "" if method == "necst" else _fmt(t, 2) + (f" ({df:.1f})" if not math.isnan(df) else "")
            label = LABELS[method] + (f" (lambda {lam})" if method == "iabf" and lam is not None else "")
            lines.append(
                f"| {label} | {cells or 'not started'} | {_fmt(mean, digits)} | {_fmt(sd, digits)} | "
                f"{'' if method == 'necst' else _fmt(diff, digits)} | "
                f"{t_cell} | {_fmt(paper, 3) if paper is not None else ''} | "
                f"{'' if paper_diff is None else f'{paper_diff:+.3f}'} |"
            )
        lines.append("")
    return "\n".join(lines), todo


def figure(data: dict, path: str) -> bool:
    """Validation curves (loss per epoch) of every run, one panel per noise level."""
    if not any(run["curve"] for eps in vs_necst.NOISE for runs in data[eps].values() for run in runs.values()):
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, len(vs_necst.NOISE), figsize=(6 * len(vs_necst.NOISE), 4.5))
    colors = dict(zip(LABELS, ("k", "tab:blue", "tab:red", "tab:green", "tab:purple")))
    for ax, eps in zip(np.atleast_1d(axes), vs_necst.NOISE):
        for method, runs in data[eps].items():
            for i, (_, run) in enumerate(sorted(runs.items())):
                if run["curve"]:
                    e, v = zip(*run["curve"])
                    ax.plot(e, v, color=colors[method], alpha=0.8, lw=1, label=LABELS[method] if i == 0 else None)
        title = paper_tables.get_table("iabf_table1").block(data["dataset"]).title
        ax.set_title(f"{title}, BSC noise {eps}: validation loss per seed")
        ax.set_xlabel("epoch")
        ax.set_ylabel("-log p(x|y), nats per image")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir")
    parser.add_argument("--dataset", default="binary_mnist", choices=vs_necst.DATASETS)
    parser.add_argument("--data_dir", default=None, help="default: the runs' data_dir")
    parser.add_argument("--out", default=None, help="default: results/iabf_vs_necst[_<dataset>].md")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = "results/iabf_vs_necst" + ("" if args.dataset == "binary_mnist" else f"_{args.dataset}") + ".md"
    runs_path = os.path.splitext(args.out)[0] + "_runs.json"
    data = collect(args.workdir, args.dataset, load_runs(runs_path, args.dataset))
    finished = sum(run.get("test") is not None for runs in data["points"].values() for run in runs.values())
    if not finished and os.path.isfile(args.out):
        raise SystemExit(
            f"no finished run in {args.workdir} nor in {runs_path}: {args.out} is left as it is "
            "(pass the sweep's workdir, or --out for a new report)"
        )
    own = sum(
        run.get("test") is not None and "source" not in run for runs in data["points"].values() for run in runs.values()
    )
    if not own and os.path.isfile(args.out):
        raise SystemExit(
            f"no finished run in {args.workdir}, and {runs_path} was transcribed by hand from the report "
            f"it would regenerate: {args.out} is left as it is (pass the sweep's workdir)"
        )
    save_runs(runs_path, data)
    if args.data_dir is None:  # the runs' own, else a placeholder
        args.data_dir = data["data"].get(
            "data_dir", "DATA/" + {"binary_mnist": "binarized_mnist"}.get(args.dataset, args.dataset)
        )
    body, todo = tables(data, args.workdir, args.data_dir)
    fig_path = os.path.splitext(args.out)[0] + "_valid.png"
    if figure(data, fig_path):
        body += f"\n![validation curves]({os.path.basename(fig_path)})\n"
    if todo:
        body += (
            "\nSecond stage, still to run (IABF seeds 1-2 at the chosen lambda):\n\n"
            + "\n".join(f"    {c}" for c in todo)
            + "\n"
        )
    text = pathlib.Path(args.out).read_text() if os.path.isfile(args.out) else f"# IABF vs NECST\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"--out {args.out!r} must contain the markers {BEGIN} and {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(args.out, "w") as f:
        f.write(f"{head}{BEGIN}\n{body}\n{END}{tail}")
    print(body)
    return body


if __name__ == "__main__":
    main()
