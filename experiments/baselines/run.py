"""NECST's separation baselines: VAE + rate-1/2 LDPC (Fig. 3 left) and WebP + ideal channel code (Fig. 2); the
library behind ``launch/baselines.py`` (which parses the flags and calls :func:`run_vae_ldpc` / :func:`run_webp`).

    python -m launch.baselines --task=vae_ldpc --config=experiments/baselines/vae.py:binary_mnist \
        --workdir=DIR [--data_root=../shared/data] [--budget_epochs=N] \
        [--necst_workdirs=workdirs/necst_bmnist_eps{eps}] [--figure=PNG]
    python -m launch.baselines --task=webp --config=experiments/baselines/webp.py:binary_mnist --workdir=DIR \
        [--necst_workdirs=workdirs/necst_bmnist_eps{eps}] [--figure=PNG]

``vae_ldpc``: trains the discrete VAE of the config (``train.train_and_evaluate`` in ``DIR/vae``; resumable, a
finished run is reused), restores its best-by-validation checkpoint, sends the test set through VAE -> LDPC -> BSC
-> BP -> VAE decoder at every ``separation.noise_levels`` (``analysis.separation.vae_ldpc_evaluate``) and writes
``DIR/vae_ldpc.json``, ``DIR/vae_ldpc.md`` and a plot of distortion vs noise beside NECST (ours, read from the
``eval.json`` of the NECST runs named by ``--necst_workdirs``, a pattern with ``{eps}``) and the paper's numbers.

``webp``: compresses the NECST runs' test images with WebP over the config's grid, finds for every NECST operating
point (the run at training noise eps, evaluated at eps) the WebP payload reaching its distortion, converts it to
channel bits with an ideal code (``b / C``) and at finite blocklength, and writes ``DIR/webp.json``,
``DIR/webp.md`` and a Fig. 2 style plot.

``--config.x=y`` overrides config fields, as for ``launch.main``.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import time
from collections.abc import Callable, Sequence

from neuralcodes_jax.config_utils import jsonable

TASKS = ("vae_ldpc", "webp")


# ----------------------------------------------------------------------------------------------------------------
# Shared helpers.


def _with_figure_and_command(lines: list[str], figure: str | None, alt: str, command: str | None) -> str:
    if figure:
        lines += ["", f"![{alt}]({figure})"]
    if command:
        lines += ["", f"Command: `{command}`"]
    return "\n".join(lines) + "\n"


def necst_reference(pattern: str | None, noise_levels: Sequence[float], metric: str) -> dict[float, dict]:
    """NECST rows (trained and tested at eps) from ``eval.json`` of the runs ``pattern.format(eps=...)``.

    Levels without a finished run are skipped. Returns eps -> {'value', 'se', 'workdir', 'num_examples'}.
    """
    from neuralcodes_jax.analysis import separation

    out = {}
    if not pattern:
        return out
    if "{eps}" not in pattern:
        raise ValueError(f"necst_workdirs must contain '{{eps}}', got {pattern!r}")
    for eps in noise_levels:
        for text in (f"{eps:g}", f"{eps}"):
            workdir = pattern.format(eps=text)
            if (pathlib.Path(workdir) / "eval.json").is_file():
                row = separation.read_eval_row(workdir)
                if abs(float(row["eps"]) - eps) < 1e-9:
                    out[eps] = {
                        "value": row[metric],
                        "se": row.get(metric + "_se", 0.0),
                        "workdir": workdir,
                        "num_examples": row["num_examples"],
                        "num_channel_samples": row["num_channel_samples"],
                    }
                break
    return out


def _paper_block(dataset: str):
    from experiments import paper_tables

    try:
        return paper_tables.get_table("necst_fig3").block(dataset)
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------------------------
# VAE + LDPC.


def run_vae_ldpc(
    config,
    workdir: str | os.PathLike,
    *,
    data_root: str | None = None,
    budget_epochs: int | None = None,
    necst_workdirs: str | None = None,
    figure: str | os.PathLike | None = None,
    command: str = "",
    log: Callable[[str], None] = print,
) -> dict:
    """Train (or reuse) the VAE, evaluate VAE + LDPC, write JSON / markdown / PNG. Returns the result dict."""
    import jax

    from neuralcodes_jax import train
    from neuralcodes_jax.analysis import model_io, separation
    from neuralcodes_jax.config_utils import apply_overrides
    from neuralcodes_jax.data import local_data_overrides
    from neuralcodes_jax.methods import vae as vae_lib
    from neuralcodes_jax.specs import parse

    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    s = parse(vae_lib.VAEConfig, config).separation
    dataset = s.dataset
    data_overrides, data_note = local_data_overrides(dataset, data_root) if data_root else ({}, "")
    apply_overrides(config, data_overrides)
    if budget_epochs is not None:
        if budget_epochs < 1:
            raise ValueError(f"budget_epochs must be >= 1, got {budget_epochs}")
        config.train.num_epochs = int(budget_epochs)
    k = int(config.model.bits)
    n = int(s.channel_bits)
    link = separation.make_ldpc_link(
        n, k, d_v=int(s.ldpc_d_v), d_c=int(s.ldpc_d_c), seed=int(s.ldpc_seed), construction=s.ldpc_construction
    )  # fails fast on a bad code
    log(f"[code] {link.description}")

    vae_dir = workdir / "vae"
    t0 = time.time()
    log(f"[train] VAE, {k} bits, {config.train.num_epochs} epochs -> {vae_dir}")
    out = train.train_and_evaluate(config, str(vae_dir))
    train_wall = time.time() - t0
    model = model_io.load_model(str(vae_dir), kind="best")
    x = model.splits.test
    if int(s.max_examples):
        x = x[: int(s.max_examples)]
    t1 = time.time()
    evaluations = {}
    for mode in s.encoders:
        log(f"[eval] VAE + LDPC, encoder '{mode}', {x.shape[0]} test images x {s.num_draws} draws")
        evaluations[mode] = separation.vae_ldpc_evaluate(
            model.method,
            model.params,
            link,
            x,
            jax.random.key(int(config.seed) + 1),
            s.noise_levels,
            encoder=mode,
            num_draws=int(s.num_draws),
            algorithm=s.bp_algorithm,
            max_iters=int(s.bp_max_iters),
            batch_size=int(s.batch_size),
            log=log,
        )
    eval_wall = time.time() - t1
    metric = "pixel_error_rate"
    necst = necst_reference(necst_workdirs, s.noise_levels, metric)
    result = {
        "task": "vae_ldpc",
        "dataset": dataset,
        "data": repr(model.splits),
        "data_note": data_note,
        "vae_bits": k,
        "kl_weight": float(model.method.kl_weight),
        "channel_bits": n,
        "code": link.description,
        "bp_algorithm": s.bp_algorithm,
        "bp_max_iters": int(s.bp_max_iters),
        "epochs": int(config.train.num_epochs),
        "steps": int(jax.device_get(out["state"]["step"])),
        "best_step": model.step,
        "best_valid_neg_elbo": out.get("best_valid"),
        "train_wall_seconds": train_wall,
        "eval_wall_seconds": eval_wall,
        "uncoded": out["eval"],
        "vae_ldpc": evaluations,
        "necst": {f"{e:g}": v for e, v in necst.items()},
        "metric": metric,
        "command": command,
        "config": json.loads(config.to_json_best_effort()),
    }
    (workdir / "vae_ldpc.json").write_text(json.dumps(jsonable(result, finite=True), indent=2))
    fig_path = pathlib.Path(figure) if figure else workdir / "vae_ldpc.png"
    plot_vae_ldpc(result, fig_path)
    md = vae_ldpc_markdown(result, figure=os.path.relpath(fig_path, workdir))
    (workdir / "vae_ldpc.md").write_text(md)
    log(f"[done] {workdir / 'vae_ldpc.md'} ({train_wall:.0f} s training, {eval_wall:.0f} s LDPC evaluation)")
    return result


def vae_ldpc_markdown(result: dict, figure: str | None = None) -> str:
    """Markdown: distortion per noise level for VAE + LDPC (both encoder modes), uncoded VAE, NECST, the paper."""
    metric = result["metric"]
    modes = list(result["vae_ldpc"])
    levels = [r["eps"] for r in result["vae_ldpc"][modes[0]]["rows"]]
    uncoded = {round(r["eps"], 9): r for r in result["uncoded"]["rows"]}
    block = _paper_block(result["dataset"])
    paper_cols = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    k, n = result["vae_bits"], result["channel_bits"]
    beta = result.get("kl_weight", 1.0)
    vae_name = "VAE" if beta == 1.0 else f"beta-VAE (beta = {beta:g})"
    lines = [
        f"### {result['dataset']}: {vae_name} ({k} bits) + rate-{k}/{n} LDPC vs NECST ({n} bits)",
        "",
        f"Code: {result['code']}; BP {result['bp_algorithm']}, at most {result['bp_max_iters']} iterations. "
        f"{vae_name}: {result['epochs']} epochs ({result['steps']} steps), best validation -ELBO"
        f"{' (KL weighted by beta)' if beta != 1.0 else ''} "
        f"{result['best_valid_neg_elbo']:.2f} nats at step {result['best_step']} (the checkpoint used); "
        f"data {result['data']}. "
        f"Metric: `{metric}` (mean ± s.e. over test images).",
        "",
    ]
    if result.get("data_note"):
        lines += [f"Note: {result['data_note']}.", ""]
    header = "| system | " + " | ".join(f"{e:g}" for e in levels) + " |"
    lines += [header, "|---|" + "---|" * len(levels)]

    def cell(v, se=None):
        return "—" if v is None else (f"{v:.4f}" if se is None else f"{v:.4f} ± {se:.4f}")

    for mode in modes:
        ev = result["vae_ldpc"][mode]
        rows = {round(r["eps"], 9): r for r in ev["rows"]}
        lines.append(
            f"| VAE + LDPC, {mode} bits (ours) | "
            + " | ".join(cell(rows[round(e, 9)][metric], rows[round(e, 9)][metric + "_se"]) for e in levels)
            + " |"
        )
    if block is not None and "vae_ldpc" in block.paper:
        lines.append(
            "| VAE + LDPC (paper) | "
            + " | ".join(cell(block.paper["vae_ldpc"][paper_cols.index(e)]) if e in paper_cols else "—" for e in levels)
            + " |"
        )
    necst = {float(e): v for e, v in result["necst"].items()}
    lines.append(
        f"| NECST {n} bits (ours) | "
        + " | ".join(cell(necst[e]["value"], necst[e]["se"]) if e in necst else "—" for e in levels)
        + " |"
    )
    if block is not None and "necst" in block.paper:
        lines.append(
            "| NECST (paper) | "
            + " | ".join(cell(block.paper["necst"][paper_cols.index(e)]) if e in paper_cols else "—" for e in levels)
            + " |"
        )
    lines.append(
        f"| VAE {k} bits sent uncoded, {result['uncoded']['encoder_mode']} (ours) | "
        + " | ".join(
            cell(uncoded[round(e, 9)][metric], uncoded[round(e, 9)][metric + "_se"]) if round(e, 9) in uncoded else "—"
            for e in levels
        )
        + " |"
    )
    lines += [
        "",
        "BP statistics (per channel draw; FER: decoded word differs from the sent codeword; failure: no "
        "valid codeword after the last iteration, the VAE then gets BP's hard decision of the systematic "
        "bits; undetected: a valid but wrong codeword):",
        "",
        "| encoder | eps | FER | BP failures | undetected | source-bit error rate | mean iterations |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        for r in result["vae_ldpc"][mode]["rows"]:
            lines.append(
                f"| {mode} | {r['eps']:g} | {r['frame_error_rate']:.4f} | {r['bp_failure_rate']:.4f} | "
                f"{r['undetected_error_rate']:.4f} | {r['source_bit_error_rate']:.4f} | "
                f"{r['mean_iterations']:.1f} |"
            )
    lines += [
        "",
        "VAE decoded from its own bits (no channel): "
        + ", ".join(f"{mode}: {result['vae_ldpc'][mode]['noiseless'][metric]:.4f}" for mode in modes)
        + ".",
        f"Wall time: {result['train_wall_seconds']:.0f} s VAE training (0 if reused), "
        f"{result['eval_wall_seconds']:.0f} s LDPC evaluation.",
    ]
    if necst:
        lines.append("NECST runs: " + ", ".join(f"`{v['workdir']}`" for v in necst.values()) + ".")
    return _with_figure_and_command(lines, figure, "VAE + LDPC vs NECST", result.get("command"))


def plot_vae_ldpc(result: dict, path: str | os.PathLike) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = result["metric"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for mode, style in zip(result["vae_ldpc"], ("-o", "-s")):
        rows = result["vae_ldpc"][mode]["rows"]
        ax.plot([r["eps"] for r in rows], [r[metric] for r in rows], style, label=f"VAE + LDPC, {mode} (ours)")
    necst = sorted((float(e), v["value"]) for e, v in result["necst"].items())
    if necst:
        ax.plot(*zip(*necst), "-^", label="NECST (ours)")
    rows = result["uncoded"]["rows"]
    ax.plot(
        [r["eps"] for r in rows],
        [r[metric] for r in rows],
        ":",
        color="grey",
        label=f"VAE {result['vae_bits']} bits uncoded",
    )
    block = _paper_block(result["dataset"])
    if block is not None:
        cols = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
        for name, style in (("vae_ldpc", "--o"), ("necst", "--^")):
            if name in block.paper:
                ax.plot(
                    cols,
                    block.paper[name],
                    style,
                    alpha=0.5,
                    mfc="none",
                    label=f"{'VAE + LDPC' if name == 'vae_ldpc' else 'NECST'} (paper)",
                )
    ax.set_xlabel("BSC crossover probability eps")
    ax.set_ylabel("per-pixel error rate" if metric == "pixel_error_rate" else metric)
    ax.set_title(f"{result['dataset']}: {result['channel_bits']} channel bits")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------------------------
# WebP + ideal channel code.


def run_webp(
    config,
    workdir: str | os.PathLike,
    *,
    necst_workdirs: str | None = None,
    figure: str | os.PathLike | None = None,
    command: str = "",
    log: Callable[[str], None] = print,
) -> dict:
    """WebP sweep of the NECST runs' test images, matched to each run's distortion; JSON / markdown / PNG."""
    import jax
    import numpy as np

    from neuralcodes_jax.analysis import model_io, separation, webp_ideal

    raw_config, config = config, webp_ideal.webp_config(config)

    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    pattern = necst_workdirs or config.necst_workdirs
    levels = [float(e) for e in config.noise_levels]
    runs = {}
    for eps in levels:
        wd = pattern.format(eps=f"{eps:g}")
        if not (pathlib.Path(wd) / "eval.json").is_file():
            raise ValueError(f"necst_workdirs: no finished NECST run at eps={eps:g} ({wd}/eval.json missing)")
        runs[eps] = wd
    t0 = time.time()
    first = model_io.load_model(runs[levels[0]])
    splits = first.splits
    x = splits.test[: int(config.max_examples)] if int(config.max_examples) else splits.test
    log(
        f"[webp] {x.shape[0]} test images of {splits.name}, {len(config.qualities)} qualities x "
        f"{len(config.scales)} scales (+ lossless)"
    )
    sweep = webp_ideal.webp_sweep(
        x,
        config.qualities,
        lossless=bool(config.lossless),
        method=int(config.method),
        scales=tuple(config.scales),
        metrics=tuple(config.metrics),
    )
    sweep_wall = time.time() - t0
    t1 = time.time()
    necst_full, points, own = {}, {metric: [] for metric in config.metrics}, {metric: {} for metric in config.metrics}
    for i, eps in enumerate(levels):
        model = first if i == 0 else model_io.load_model(runs[eps], splits=splits)
        necst_full[eps] = separation.read_eval_row(runs[eps])
        for metric in config.metrics:
            per_image = separation.necst_per_image_distortion(
                model,
                x,
                jax.random.fold_in(jax.random.key(int(config.seed)), i),
                eps,
                metric,
                num_draws=int(config.necst_draws),
            )
            own[metric][eps] = per_image
            points[metric].append(
                {
                    "eps": eps,
                    "bits": int(model.config.model.bits),
                    "distortion": float(per_image.mean()),
                    "distortion_se": float(per_image.std(ddof=1) / math.sqrt(per_image.size)),
                    "full_test_distortion": float(necst_full[eps][metric]),
                }
            )
        log(f"[necst] eps={eps:g}: " + ", ".join(f"{m} {points[m][-1]['distortion']:.4f}" for m in config.metrics))
    tables = {}
    for metric in config.metrics:
        for rule in (False, True):
            key = f"{metric}{'_no_frame_header' if rule else ''}"
            tables[key] = webp_ideal.webp_ideal_rows(
                sweep,
                points[metric],
                metric=metric,
                block_error=float(config.block_error),
                own_targets=own[metric],
                exclude_frame_header=rule,
            )
            for row, p in zip(tables[key], points[metric]):
                row.update(necst_distortion_se=p["distortion_se"], necst_full_test=p["full_test_distortion"])
    match_wall = time.time() - t1
    result = {
        "task": "webp",
        "data": repr(splits),
        "num_images": int(x.shape[0]),
        "settings": list(sweep.settings),
        "sweep_summary": sweep.summary(),
        "tables": tables,
        "necst_runs": {f"{e:g}": w for e, w in runs.items()},
        "block_error": float(config.block_error),
        "necst_draws": int(config.necst_draws),
        "sweep_wall_seconds": sweep_wall,
        "match_wall_seconds": match_wall,
        "command": command,
        "config": json.loads(raw_config.to_json_best_effort()),
    }
    (workdir / "webp.json").write_text(json.dumps(jsonable(result, finite=True), indent=2))
    np.savez_compressed(
        workdir / "webp_sweep.npz",
        chunk_bits=sweep.chunk_bits,
        frame_header_bits=sweep.frame_header_bits,
        file_bytes=sweep.file_bytes,
        settings=np.asarray(sweep.settings),
        **{f"distortion_{k}": v for k, v in sweep.distortion.items()},
    )
    fig_path = pathlib.Path(figure) if figure else workdir / "webp.png"
    plot_webp(result, fig_path)
    (workdir / "webp.md").write_text(webp_markdown(result, figure=os.path.relpath(fig_path, workdir)))
    log(f"[done] {workdir / 'webp.md'} ({sweep_wall:.0f} s WebP sweep, {match_wall:.0f} s NECST + matching)")
    return result


def webp_markdown(result: dict, figure: str | None = None) -> str:
    lines = [
        f"### WebP + ideal channel code vs NECST ({result['num_images']} test images of {result['data']})",
        "",
        f"Payload: WebP image-chunk data (file minus the 12-byte RIFF header and 8-byte chunk headers); "
        f"'no frame header' also drops the 10-byte VP8 / 5-byte VP8L frame header. Ideal code: b / (1 - "
        f"H_b(eps)), per image, averaged. Finite blocklength: the smallest n carrying b bits at block error "
        f"{result['block_error']:g} (normal approximation; meta-converse = no code below it), per image, "
        f"averaged. NECST distortion: mean over the same images and {result['necst_draws']} channel draws "
        f"(its full-test-set value in parentheses).",
        "",
    ]
    for rows in result["tables"].values():
        metric = rows[0]["metric"]
        lines += [
            f"**{metric}, payload {'without' if rows[0]['exclude_frame_header'] else 'with'} frame header**",
            "",
            "| eps | NECST bits | NECST distortion | WebP payload b (min–max) | lossless share | "
            "ideal n = b/C | + bits over NECST | FBL n (normal) | FBL n (converse) | one setting for all: "
            "b, n = b/C | own-target b, n = b/C |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            fixed = (
                f"{r['fixed_setting_payload_bits']:.0f} ({r['fixed_setting']}), "
                f"{r['fixed_setting_ideal_channel_bits']:.0f}"
                if r["fixed_setting"]
                else "—"
            )
            own = (
                f"{r['own_target_payload_bits']:.0f}, {r['own_target_ideal_channel_bits']:.0f}"
                if "own_target_payload_bits" in r
                else "—"
            )
            lines.append(
                f"| {r['eps']:g} | {r['necst_bits']} | {r['necst_distortion']:.4f} ({r['necst_full_test']:.4f}) | "
                f"{r['webp_payload_bits']:.0f} ({r['webp_payload_bits_min']:.0f}–{r['webp_payload_bits_max']:.0f}) | "
                f"{r['lossless_fraction']:.2f} | {r['ideal_channel_bits']:.0f} | {r['ideal_additional_bits']:+.0f} | "
                f"{r['fbl_normal_channel_bits']:.0f} | {r['fbl_converse_channel_bits']:.0f} | {fixed} | {own} |"
            )
        lines.append("")
    lines += [
        "WebP operating points (means over the images):",
        "",
        "| setting | payload bits | without frame header | file bytes | "
        + " | ".join(m for m in result["config"]["metrics"])
        + " |",
        "|---|---|---|---|" + "---|" * len(result["config"]["metrics"]),
    ]
    for r in result["sweep_summary"]:
        lines.append(
            f"| {r['setting']} | {r['mean_payload_bits']:.0f} | {r['mean_payload_bits_no_frame_header']:.0f}"
            f" | {r['mean_file_bytes']:.1f} | " + " | ".join(f"{r[m]:.4f}" for m in result["config"]["metrics"]) + " |"
        )
    lines += [
        "",
        f"Wall time: {result['sweep_wall_seconds']:.0f} s WebP sweep, {result['match_wall_seconds']:.0f} s "
        f"NECST evaluation and matching.",
    ]
    return _with_figure_and_command(lines, figure, "WebP + ideal code vs NECST", result.get("command"))


def plot_webp(result: dict, path: str | os.PathLike) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = result["config"]["metrics"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    rows = result["tables"][metrics[0]]
    eps = [r["eps"] for r in rows]
    ax.plot(eps, [r["ideal_additional_bits"] for r in rows], "-o", label="WebP + ideal code")
    ax.plot(
        eps,
        [r["fbl_normal_channel_bits"] - r["necst_bits"] for r in rows],
        "-s",
        label=f"WebP + best code at n (normal approx., BLER {result['block_error']:g})",
    )
    rows_nh = result["tables"][metrics[0] + "_no_frame_header"]
    ax.plot(eps, [r["ideal_additional_bits"] for r in rows_nh], "--o", label="WebP w/o frame header + ideal code")
    ax.set_yscale("log")
    ax.set_xlabel("BSC crossover probability eps")
    ax.set_ylabel("additional channel bits over NECST")
    ax.set_title(f"bits to match NECST's {metrics[0]} (NECST Fig. 2 style)", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    ax = axes[1]
    summary = result["sweep_summary"]
    for scale in sorted({s["setting"].partition("@")[2] for s in summary}):
        pts = sorted(
            (s for s in summary if s["setting"].partition("@")[2] == scale), key=lambda p: p["mean_payload_bits"]
        )
        ax.plot(
            [p["mean_payload_bits"] for p in pts],
            [p[metrics[0]] for p in pts],
            ".-",
            label=f"WebP {scale or 'full size'}",
        )
    for r in rows:
        ax.plot([r["necst_bits"]], [r["necst_distortion"]], "k^")
        ax.annotate(
            f"NECST, {r['necst_bits']} channel bits at eps={r['eps']:g}",
            (r["necst_bits"], r["necst_distortion"]),
            fontsize=7,
            xytext=(4, 0),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_xlabel("bits (WebP: payload; NECST: channel bits)")
    ax.set_ylabel(metrics[0])
    ax.set_title("WebP mean payload vs distortion (q 0-100, lossless) and NECST", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------------------------
