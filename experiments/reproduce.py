"""Reproduce a paper table: run its grid as a sweep, evaluate, and write a markdown table beside the paper's numbers
(the library behind ``launch/reproduce.py``, which parses the flags and calls :func:`reproduce`).

    python -m launch.reproduce --table=iabf_table1 --workdir=DIR [--datasets=binary_mnist] [--methods=necst,iabf]
        [--noise_levels=0.1,0.2] [--budget_epochs=N] [--data_root=../shared/data] [--set=iabf.infomax_weight=0.01]
        [--out=results/iabf_table1_binary_mnist.md] [--smoke] [--dry_run]

Tables and their grids are data (``experiments/paper_tables.py``): ``iabf_table1`` (IABF Table 1: NECST / ABF /
IABF, lambda chosen on validation) and ``necst_fig3`` (NECST Fig. 3 left). A table is a plan over sweep points
(``sweeps.Point``, one per run, in ``DIR/<dataset>/<method>/<run>``), run by the sweep orchestrator
(``sweeps.run_groups``: one program per run, or vmapped groups with ``--max_group``) and recorded in the sweep's one
``result.json`` schema (``sweeps.results``). Each run trains one model at one training noise, then evaluates its
best-by-validation checkpoint on the test set at the same noise with the table's metric. Runs are resumable: a
finished run (``result.json`` with the same identity and budget) is skipped, an interrupted one resumes from its
last checkpoint, and a larger ``--budget_epochs`` continues finished runs. Swept fields (IABF's lambda)
give one run per value; the one with the lowest validation loss represents its cell. ``--set=field=value`` applies
an override to every run; on a swept field it pins the value in the runs that sweep it (``--set
iabf.infomax_weight=0.01`` fixes IABF's lambda and leaves ABF at 0).

The report states the command, the budget (epochs per run, the paper used 200), the data actually used, the
paper's numbers, ours with standard errors over test images, the differences, the comparison of every method with
the first (e.g. IABF - NECST), the chosen lambda per cell, a table of runs, and a plot of the validation curves
(Fig. 2 style, ``<out>_<dataset>_valid.png``).

``--data_root`` points at a folder with the offline datasets (``binarized_mnist/``, ``mnist/``, ``omniglot/``);
where only part of a dataset is there, the harness picks the split scheme that fits and says so in the report
(MNIST test set only: 'test_only', a 6000/2000/2000 split of it; Omniglot background-small-1 zip: 'small1').
Without it every dataset comes from its config's default source (TFDS for the image datasets).
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import math
import os
import pathlib
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from experiments import paper_tables
from neuralcodes_jax import metrics_writer, sweeps
from neuralcodes_jax.config_utils import apply_overrides, flatten, parse_setting, unknown_field_error
from neuralcodes_jax.data import local_data_overrides

# ----------------------------------------------------------------------------------------------------------------
# Configs.


def load_config(run: paper_tables.Run, smoke: bool):
    module = importlib.import_module(run.config_module)
    variant = ",".join(v for v in (run.config_variant, "smoke" if smoke else "") if v)
    return module.get_config(variant)


@dataclasses.dataclass
class Plan:
    """A run of the table: its sweep point (config, overrides, budget) under the table's workdir."""

    run: paper_tables.Run
    point: sweeps.Point
    root: pathlib.Path
    data_note: str
    smoke: bool

    @property
    def rundir(self) -> pathlib.Path:
        return pathlib.Path(self.point.workdir(self.root))

    @property
    def overrides(self) -> dict[str, Any]:
        return self.point.override_dict

    @property
    def budget_epochs(self) -> int:
        return int(self.overrides["train.num_epochs"])

    def command(self) -> str:
        return shlex.join(self.point.command(self.root))


def plan_runs(
    table_id: str,
    workdir: str | os.PathLike,
    *,
    datasets=None,
    methods=None,
    noise_levels=None,
    budget_epochs: int | None = None,
    data_root=None,
    settings: Sequence[str] = (),
    smoke: bool = False,
    progress: bool = False,
) -> list[Plan]:
    """Expand a table into runs: sweep points with their overrides and budget (no training)."""
    fixed = dict(parse_setting(s) for s in settings)
    if noise_levels is not None:
        noise_levels = [float(n) for n in noise_levels]
    runs = paper_tables.grid(table_id, datasets=datasets, methods=methods, noise_levels=noise_levels, fixed=fixed)
    if budget_epochs is not None and budget_epochs < 1:
        raise ValueError(f"budget_epochs must be >= 1, got {budget_epochs}")
    table = paper_tables.get_table(table_id)
    swept_somewhere = {k for fields in table.sweep.values() for k in fields}
    plans = []
    configs = [load_config(run, smoke) for run in runs]
    # A --set field applies to the runs whose method reads it (iabf.* to ABF and IABF, not to NECST); a field that
    # no run of the table has is refused, naming it.
    fields = [set(flatten(c)) for c in configs]
    for key in fixed:
        if not any(key in f for f in fields):
            raise unknown_field_error({k: None for k in set().union(*fields)}, key)
    for run, config, have in zip(runs, configs, fields):
        data, note = ({}, "") if smoke else local_data_overrides(run.dataset, data_root)
        # a swept field (IABF's lambda) is pinned only where it is swept: ABF keeps lambda = 0
        mine = {
            k: v
            for k, v in fixed.items()
            if (k not in swept_somewhere or k in table.sweep.get(run.method, {})) and k in have
        }
        overrides = {**data, **run.overrides, **mine}
        apply_overrides(config, overrides)  # validates the field names now, before any training
        overrides["train.num_epochs"] = int(budget_epochs if budget_epochs is not None else config.train.num_epochs)
        overrides["train.progress"] = bool(progress)
        overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
        point = sweeps.Point(
            name=run.name, config=run.config_ref(smoke), overrides=tuple(overrides.items()), kind=str(config.method)
        )
        plans.append(Plan(run=run, point=point, root=pathlib.Path(workdir), data_note=note, smoke=smoke))
    return plans


# ----------------------------------------------------------------------------------------------------------------
# Running: the sweep orchestrator, one program per run (or vmapped groups with ``max_group``).


def run_plans(plans: Sequence[Plan], *, max_group: int = 1, log: Callable[[str], None] = print) -> list[dict]:
    """Trains and evaluates the unfinished runs (``sweeps.run_groups``) and returns every run's cell
    (:func:`cell`); a finished run is skipped and a run whose budget grew continues from its checkpoints."""
    if not plans:
        return []
    root = plans[0].root
    if any(p.root != root for p in plans):
        raise ValueError("the runs of one table share one workdir")
    results = sweeps.run_groups([p.point for p in plans], root, max_group=max_group, log=log)
    return [cell(p, r) for p, r in zip(plans, results)]


def cell(plan: Plan, result: dict | None) -> dict:
    """What the report reads of a run's ``result.json`` (the sweep schema): the table's metric and its standard
    error at the run's noise, how it trained, and the data it used. ``value`` is None for a run that did not finish."""
    metric = paper_tables.get_table(plan.run.table_id).block(plan.run.dataset).metric
    result = result or {}
    m = result.get("metrics") or {}
    key = f"@{plan.run.noise:g}"
    config = plan.point.load_config()
    ok = result.get("status") == "ok" and metric + key in m
    return {
        "status": result.get("status", "pending"),
        "metric": metric,
        "value": m[metric + key] if ok else None,
        "se": m[metric + "_se" + key] if ok else None,
        "steps": m.get("train/steps"),
        "best_valid": m.get("valid/best"),
        "best_step": m.get("valid/best_step"),
        "budget_epochs": plan.budget_epochs,
        "batch_size": int(config.train.batch_size),
        "bits": int(config.model.bits),
        "data": _data_summary(plan.rundir),
        "wall_seconds": float(result.get("wall_seconds") or 0.0),
    }


def _data_summary(rundir: pathlib.Path) -> str:
    """The data line of the run's eval.md context (dataset, split sizes)."""
    try:
        text = (rundir / "eval.md").read_text().splitlines()
    except OSError:
        return ""
    for line in text:
        if line.startswith("method `"):
            start = line.find("data `")
            end = line.find(")", start)
            return line[start : end + 1] if start >= 0 and end > start else ""
    return ""


def select(plans: Sequence[Plan], results: Sequence[dict]) -> dict[tuple, tuple[Plan, dict]]:
    """Per (dataset, method, noise) group: the run with the lowest validation loss."""
    best: dict[tuple, tuple[Plan, dict]] = {}
    for plan, result in zip(plans, results):
        key = plan.run.group
        if result["value"] is None:
            continue
        if key not in best or _valid_of(result) < _valid_of(best[key][1]):
            best[key] = (plan, result)
    return best


def _valid_of(result: dict) -> float:
    valid = result.get("best_valid")
    return math.inf if valid is None else float(valid)


# ----------------------------------------------------------------------------------------------------------------
# Report.


def _fmt(v: float, ref: float | None = None) -> str:
    scale = abs(ref if ref is not None else v)
    digits = 3 if scale >= 10 else 4
    return f"{v:.{digits}f}"


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=os.path.dirname(os.path.abspath(__file__)),
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def markdown_report(
    table_id: str,
    plans: Sequence[Plan],
    results: Sequence[dict],
    *,
    command: str,
    plots: Mapping[str, str] | None = None,
    settings: Sequence[str] = (),
) -> str:
    """The report: paper vs ours per block, method comparisons, the runs, the budget and the command."""
    table = paper_tables.get_table(table_id)
    best = select(plans, results)
    datasets = [d for d in table.datasets if any(p.run.dataset == d for p in plans)]
    budgets = sorted({p.budget_epochs for p in plans})
    total_wall = sum(float(r.get("wall_seconds", 0.0)) for r in results)
    smoke = any(p.smoke for p in plans)
    lines = [
        f"# {table.source}: reproduction",
        "",
        f"{table.caption[0].upper()}{table.caption[1:]}. Command: `{command}`",
        "",
        f"Generated {datetime.date.today().isoformat()}"
        + (f" at commit {_git_commit()}" if _git_commit() else "")
        + f". Budget: {', '.join(map(str, budgets))} epoch(s) per run (the papers: 200), batch "
        f"{results[0].get('batch_size') if results else '?'}, {len(plans)} run(s), {_hms(total_wall)} of "
        f"training and evaluation in this invocation (runs reused from earlier invocations count 0).",
        "",
    ]
    if smoke:
        lines += ["**Smoke run**: stand-in data and tiny budgets; the numbers only show that the pipeline works.", ""]
    if settings:
        lines += ["Overrides applied to every run: " + ", ".join(f"`{s}`" for s in settings) + ".", ""]
    lines += [f"- {n}" for n in table.notes] + [""]
    for dataset in datasets:
        block = table.block(dataset)
        noises = [n for n in table.noise_levels if any(p.run.dataset == dataset and p.run.noise == n for p in plans)]
        label = paper_tables.METRIC_LABELS.get(block.metric, block.metric)
        lines += [f"## {block.title}, {block.bits} bits: {label} (`{block.metric}`)", ""]
        data_lines = sorted({r.get("data", "") for p, r in zip(plans, results) if p.run.dataset == dataset} - {""})
        notes = sorted({p.data_note for p in plans if p.run.dataset == dataset} - {""})
        lines += [f"Data: {d}." for d in data_lines] + [f"Note: {n}." for n in notes]
        our_bits = sorted({r.get("bits") for p, r in zip(plans, results) if p.run.dataset == dataset} - {None})
        if our_bits and our_bits != [block.bits]:
            lines.append(f"Note: ours use {', '.join(map(str, our_bits))} bits (the paper: {block.bits}).")
        lines += ["", "| method | | " + " | ".join(f"{n:g}" for n in noises) + " |", "|---|---|" + "---|" * len(noises)]
        for method in table.methods:
            title = table.method_titles.get(method, method)
            paper_row = block.paper.get(method)
            col = {n: table.noise_levels.index(n) for n in noises}
            if paper_row is not None:
                lines.append(f"| {title} | paper | " + " | ".join(_fmt(paper_row[col[n]]) for n in noises) + " |")
                title = ""
            if method not in table.runnable or not any(
                p.run.dataset == dataset and p.run.method == method for p in plans
            ):
                continue
            ours, diffs = [], []
            for n in noises:
                entry = best.get((dataset, method, n))
                if entry is None:
                    ours.append("—")
                    diffs.append("—")
                    continue
                plan, res = entry
                swept = "".join(f" ({k.split('.')[-1]}={v:g})" for k, v in plan.run.sweep)
                ours.append(f"{_fmt(res['value'])} ± {_fmt(res['se'], res['value'])}{swept}")
                if paper_row is not None:
                    p = paper_row[col[n]]
                    diffs.append(f"{res['value'] - p:+.4g} ({100 * (res['value'] - p) / p:+.1f}%)")
            lines.append(f"| {title} | ours | " + " | ".join(ours) + " |")
            if paper_row is not None:
                lines.append("| | ours − paper | " + " | ".join(diffs) + " |")
        lines += [
            "",
            "Ours: mean ± standard error over test images (one channel draw each unless "
            "`eval.num_samples` says otherwise).",
        ]
        lines += _comparison(table, dataset, noises, best)
        if plots and dataset in plots:
            lines += [
                "",
                f"Validation curves (`valid/loss`, -log p(x|y) per image at the training noise): "
                f"![validation curves]({plots[dataset]})",
            ]
        lines += [
            "",
            "Runs:",
            "",
            "| run | epochs | steps | best valid (step) | ours ± s.e. | wall time |",
            "|---|---|---|---|---|---|",
        ]
        for plan, res in zip(plans, results):
            if plan.run.dataset != dataset:
                continue
            siblings = sum(p.run.group == plan.run.group for p in plans)
            chosen = " (chosen)" if siblings > 1 and best.get(plan.run.group, (None,))[0] is plan else ""
            if res["value"] is None:
                lines.append(f"| `{plan.run.name}` | {res['budget_epochs']} | | | {res['status']} | |")
                continue
            valid = "—" if res["best_valid"] is None else f"{res['best_valid']:.3f} ({res['best_step']})"
            lines.append(
                f"| `{plan.run.name}`{chosen} | {res['budget_epochs']} | {res['steps']} | {valid} | "
                f"{_fmt(res['value'])} ± {_fmt(res['se'], res['value'])} | {_hms(res['wall_seconds'])} |"
            )
        lines.append("")
    lines += [
        "Each run's config, metrics (`metrics.jsonl`), checkpoints and full evaluation (`eval.md`: every "
        "metric) are in its directory under the workdir; `result.json` holds the command that reproduces it "
        "alone.",
        "",
    ]
    return "\n".join(lines)


def _comparison(table, dataset: str, noises: Sequence[float], best) -> list[str]:
    """Every runnable method against the first one (e.g. ABF/IABF - NECST), ours and the paper's."""
    baseline, others = table.runnable[0], table.runnable[1:]
    block = table.block(dataset)
    have = [m for m in others if any((dataset, m, n) in best for n in noises)]
    if not have or not any((dataset, baseline, n) in best for n in noises):
        return []
    bt = table.method_titles.get(baseline, baseline)
    header = ["noise"]
    for m in have:
        t = table.method_titles.get(m, m)
        header += [f"{t} − {bt} (ours)", "z", f"{t} − {bt} (paper)"]
    out = [
        "",
        f"Difference to {bt} (negative = better than {bt}; z = difference / combined standard error, "
        f"runs independent):",
        "",
        "| " + " | ".join(header) + " |",
        "|---" * len(header) + "|",
    ]
    for n in noises:
        cells = [f"{n:g}"]
        base = best.get((dataset, baseline, n))
        for m in have:
            other = best.get((dataset, m, n))
            if base is None or other is None:
                cells += ["—", "—", "—"]
                continue
            d = other[1]["value"] - base[1]["value"]
            se = math.hypot(other[1]["se"], base[1]["se"])
            col = table.noise_levels.index(n)
            paper = (
                f"{block.paper[m][col] - block.paper[baseline][col]:+.4g}"
                if m in block.paper and baseline in block.paper
                else "—"
            )
            cells += [f"{d:+.4g}", f"{d / se:+.1f}" if se > 0 else "—", paper]
        out.append("| " + " | ".join(cells) + " |")
    return out


def plot_validation_curves(table_id: str, plans: Sequence[Plan], out_prefix: str | os.PathLike) -> dict[str, str]:
    """One PNG per dataset (``<out_prefix>_<dataset>_valid.png``): validation loss vs epoch, a panel per noise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = paper_tables.get_table(table_id)
    written = {}
    for dataset in table.datasets:
        mine = [p for p in plans if p.run.dataset == dataset]
        if not mine:
            continue
        noises = [n for n in table.noise_levels if any(p.run.noise == n for p in mine)]
        fig, axes = plt.subplots(1, len(noises), figsize=(4 * len(noises), 3.2), squeeze=False)
        for ax, noise in zip(axes[0], noises):
            for plan in (p for p in mine if p.run.noise == noise):
                epochs, values = _valid_curve(plan.rundir / "metrics.jsonl")
                if not epochs:
                    continue
                label = table.method_titles.get(plan.run.method, plan.run.method) + "".join(
                    f" {k.split('.')[-1]}={v:g}" for k, v in plan.run.sweep
                )
                ax.plot(epochs, values, label=label, linewidth=1.2, marker=".", markersize=3)
            ax.set_title(f"noise {noise:g}")
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("validation -log p(x|y)")
        axes[0][-1].legend(fontsize=7)
        fig.suptitle(f"{table.block(dataset).title}: validation loss during training")
        fig.tight_layout()
        path = pathlib.Path(f"{out_prefix}_{dataset}_valid.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written[dataset] = str(path)
    return written


def _valid_curve(path: pathlib.Path) -> tuple[list[float], list[float]]:
    epochs, values = [], []
    if not path.exists():
        return epochs, values
    for rec in metrics_writer.read_records(path):
        if "valid/loss" in rec and "epoch" in rec:
            epochs.append(float(rec["epoch"]))
            values.append(float(rec["valid/loss"]))
    return epochs, values


def reproduce(
    table_id: str,
    workdir: str | os.PathLike,
    *,
    datasets=None,
    methods=None,
    noise_levels=None,
    budget_epochs: int | None = None,
    data_root=None,
    settings: Sequence[str] = (),
    smoke: bool = False,
    dry_run: bool = False,
    out: str | os.PathLike | None = None,
    plot: bool = True,
    progress: bool = False,
    max_group: int = 1,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Run (or list, with ``dry_run``) a table's grid and write the markdown report.

    Returns ``{'plans': [...], 'results': [...], 'markdown': str | None, 'out': path | None}``.
    """
    plans = plan_runs(
        table_id,
        workdir,
        datasets=datasets,
        methods=methods,
        noise_levels=noise_levels,
        budget_epochs=budget_epochs,
        data_root=data_root,
        settings=settings,
        smoke=smoke,
        progress=progress,
    )
    if dry_run:
        log(f"{len(plans)} run(s) of {table_id} in {workdir}:")
        for i, p in enumerate(plans):
            log(f"{i + 1:3d}. {p.run.name}: {p.budget_epochs} epochs; {p.command()}")
        return {"plans": plans, "results": [], "markdown": None, "out": None}
    results = run_plans(plans, max_group=max_group, log=log)
    used = [d for d in paper_tables.get_table(table_id).datasets if any(p.run.dataset == d for p in plans)]
    out = pathlib.Path(out) if out else pathlib.Path(workdir) / f"{table_id}_{'_'.join(used)}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    plots = {}
    if plot:
        written = plot_validation_curves(table_id, plans, out.with_suffix(""))
        plots = {d: os.path.relpath(p, out.parent) for d, p in written.items()}
    if command is None:
        command = f"python -m launch.reproduce --table={table_id} --workdir={workdir}"
    markdown = markdown_report(table_id, plans, results, command=command, plots=plots, settings=settings)
    out.write_text(markdown)
    log(f"report written to {out}")
    return {"plans": plans, "results": results, "markdown": markdown, "out": str(out)}
