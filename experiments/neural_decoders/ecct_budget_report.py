"""The ECCT CPU-budget report: learning curve, final -ln(BER), BP baseline -> results/ecct_budget.{md,json,png}.

For each run directory ``ROOT/<code>`` of ``benchmarks/ecct_budget.sh`` (``launch.main`` with
``experiments/neural_decoders/ecct.py:small,budget,<code>``):

* the learning curve: every kept checkpoint (the budget keeps all of them) decoded at Eb/N0 = 5 dB on random
  codewords (``evaluators.neural_decoder.simulate``: stop after ``--curve_block_errors`` block errors or
  ``--curve_blocks`` blocks), ``-ln(BER)`` against training words (= step x batch);
* the final ``-ln(BER)`` at 4, 5, 6 dB: the run's own ``neural_decoder_eval.json`` (written by the loop);
* BP with the same number of iterations as the published BP column (5; flooding sum-product,
  ``codes.ldpc.bp_decode`` on the benchmark file's matrix, as the catalog's ``bp:5``) at 4, 5, 6 dB, with the same
  evaluator, the same stop rule and the same seed;
* the uncoded BER ``Q(sqrt(2 R Eb/N0))`` (what a decoder returning the hard decisions gets).

Each code's numbers are cached in ``ROOT/<code>/ecct_budget_report.json`` (rerun: only what is missing is computed).

  python -m experiments.neural_decoders.ecct_budget_report --root=workdirs/ecct_budget --out=results/ecct_budget
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import jax

from experiments.neural_decoders import benchmark
from neuralcodes_jax import checkpointing, methods
from neuralcodes_jax.analysis import model_io
from neuralcodes_jax.evaluators import neural_decoder as nd_eval

#: Published -ln(BER) at 4, 5, 6 dB (the benchmark's table, with its source).
PUBLISHED = benchmark.PUBLISHED

#: Iterations of the BP baseline (the BP column of ECCT's Table 1, taken from Nachmani et al., is 5 iterations).
BP_ITERS = 5
EBNO = (4.0, 5.0, 6.0)


def uncoded_ber(ebn0_db: float, rate: float) -> float:
    """BER of hard decisions on BPSK-AWGN, ``Q(sqrt(2 R Eb/N0))``."""
    return 0.5 * math.erfc(math.sqrt(rate * 10 ** (ebn0_db / 10)))


def _read_json(path: str, default=None):
    if default is not None and not os.path.isfile(path):
        return default
    with open(path) as f:
        return json.load(f)


def report_code(workdir: str, args) -> dict:
    cache_path = os.path.join(workdir, "ecct_budget_report.json")
    cache = _read_json(cache_path, {})
    config = model_io.read_config(workdir)
    method = methods.build(config, None)
    final = _read_json(os.path.join(workdir, "neural_decoder_eval.json"))
    key = jax.random.key(args.seed)
    curve_ev = nd_eval.EvalFields(
        ebno_db=(5.0,), batch_size=1000, target_block_errors=args.curve_block_errors, max_blocks=args.curve_blocks
    )
    curve = {int(r["step"]): r for r in cache.get("curve", [])}
    ckpts = checkpointing.Checkpointer(workdir, keep=1000)
    abstract = jax.eval_shape(method.init, jax.random.key(0))
    for step in ckpts.latest_steps():
        if step in curve:
            continue
        state, _ = ckpts.restore_latest(abstract, step)
        t0 = time.time()
        row = nd_eval.simulate(method.llr_decoder(state["params"]), method.code, (5.0,), key, curve_ev)[0]
        curve[step] = {"step": step, "words": step * method.batch_size, **row}
        print(
            f"{method.code.name} step {step}: -ln(BER) at 5 dB {row['neg_ln_ber']:.3f} "
            f"({row['blocks']} blocks, {time.time() - t0:.0f} s)",
            flush=True,
        )
    ckpts.close()
    if "bp" not in cache:
        ev = nd_eval.EvalFields(
            ebno_db=EBNO, batch_size=1000, target_block_errors=args.bp_block_errors, max_blocks=args.bp_blocks
        )
        cache["bp"] = nd_eval.simulate(benchmark.bp_decoder(method.tables, BP_ITERS)[0], method.code, EBNO, key, ev)
        print(
            f"{method.code.name} BP-{BP_ITERS}: " + ", ".join(f"{r['neg_ln_ber']:.2f}" for r in cache["bp"]), flush=True
        )
    out = {
        "code": method.code.name,
        "n": method.n,
        "k": method.k,
        "batch_size": method.batch_size,
        "steps": method.steps,
        "lr": method.lr,
        "num_layers": method.num_layers,
        "d_model": method.d_model,
        "train_seconds": _train_seconds(workdir),
        "curve": [curve[s] for s in sorted(curve)],
        "final": final["points"],
        "bp": cache["bp"],
        "published": PUBLISHED.get(method.code.name),
        "uncoded_neg_ln_ber": {str(e): -math.log(uncoded_ber(e, method.rate)) for e in EBNO},
    }
    with open(cache_path, "w") as f:
        json.dump(out, f, indent=1)
    return out


def _train_seconds(workdir: str) -> float | None:
    """Seconds from the first to the last training row of the run's metrics.jsonl (None without rows)."""
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        times = [r["time"] for r in map(json.loads, f) if "train/loss" in r]
    return times[-1] - times[0] if len(times) > 1 else None


def _fmt(v):
    return "inf" if v is None else f"{v:.2f}"


def markdown_rows(rows: list[dict]) -> str:
    lines = [
        "| code | training words | ECCT 4 dB | ECCT 5 dB | ECCT 6 dB | BP-5 4 dB | BP-5 5 dB | BP-5 6 dB | "
        "uncoded 5 dB | ECCT - BP at 5 / 6 dB | published ECCT N=2 d=32 | published BP-5 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e = [p["neg_ln_ber"] for p in r["final"]]
        b = [p["neg_ln_ber"] for p in r["bp"]]
        ci = [f"{_fmt(p['neg_ln_ber'])} [{_fmt(p['neg_ln_ber_lo'])}, {_fmt(p['neg_ln_ber_hi'])}]" for p in r["final"]]
        bci = [f"{_fmt(p['neg_ln_ber'])} [{_fmt(p['neg_ln_ber_lo'])}, {_fmt(p['neg_ln_ber_hi'])}]" for p in r["bp"]]
        diff = " / ".join("n/a" if x is None or y is None else f"{x - y:+.2f}" for x, y in zip(e[1:], b[1:]))
        pub = r.get("published") or {}
        pe = " / ".join(f"{v:.2f}" for v in pub["ecct_n2_d32"]) if pub else "n/a"
        pb = " / ".join(f"{v:.2f}" for v in pub["bp5"]) if pub else "n/a"
        words = f"{r['steps'] * r['batch_size'] // 1000}k"
        lines.append(
            f"| {r['code']} | {words} | {' | '.join(ci)} | {' | '.join(bci)} | "
            f"{r['uncoded_neg_ln_ber']['5.0']:.2f} | {diff} | {pe} | {pb} |"
        )
    return "\n".join(lines)


def curve_rows(rows: list[dict]) -> str:
    steps = sorted({c["step"] for r in rows for c in r["curve"]})
    lines = [
        "| code | " + " | ".join(f"{s * rows[0]['batch_size'] // 1000}k" for s in steps) + " |",
        "|---|" + "---|" * len(steps),
    ]
    for r in rows:
        by = {c["step"]: c["neg_ln_ber"] for c in r["curve"]}
        lines.append(f"| {r['code']} | " + " | ".join(_fmt(by[s]) if s in by else "" for s in steps) + " |")
    return "\n".join(lines)


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, r in enumerate(rows):
        color = f"C{i}"
        ax.plot(
            [c["words"] for c in r["curve"]], [c["neg_ln_ber"] for c in r["curve"]], "o-", color=color, label=r["code"]
        )
        ax.axhline(r["bp"][1]["neg_ln_ber"], color=color, ls="--", lw=0.8)
        ax.axhline(r["uncoded_neg_ln_ber"]["5.0"], color=color, ls=":", lw=0.8)
    ax.set_xlabel("training words")
    ax.set_ylabel("-ln(BER) at Eb/N0 = 5 dB")
    ax.set_title("ECCT N=2, d=32 on one CPU core (dashed: BP-5, dotted: uncoded)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--root",
        required=True,
        help="the directories of benchmarks/ecct_budget.sh (one subdir per code), comma-separated",
    )
    p.add_argument("--out", default="results/ecct_budget", help="output stem: .json, .png (+ _tables.md)")
    p.add_argument("--codes", default="", help="comma-separated subdirs (default: every finished run)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--curve_block_errors", type=int, default=100)
    p.add_argument("--curve_blocks", type=int, default=20_000)
    p.add_argument("--bp_block_errors", type=int, default=100)
    p.add_argument("--bp_blocks", type=int, default=200_000)
    args = p.parse_args(argv)
    wanted = [c for c in args.codes.split(",") if c]
    runs = [
        os.path.join(root, d)
        for root in args.root.split(",")
        if root
        for d in sorted(os.listdir(root))
        if os.path.isfile(os.path.join(root, d, "neural_decoder_eval.json")) and (not wanted or d in wanted)
    ]
    if not runs:
        raise ValueError(f"--root {args.root!r} holds no finished run (no <code>/neural_decoder_eval.json)")
    rows = [report_code(run, args) for run in runs]
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"runs": rows, "args": vars(args)}, f, indent=1)
    with open(args.out + "_tables.md", "w") as f:
        f.write(
            "## Final -ln(BER) [95% CI]\n\n" + markdown_rows(rows) + "\n\n## Learning curve: -ln(BER) at 5 dB vs "
            "training words\n\n" + curve_rows(rows) + "\n"
        )
    plot(rows, args.out + ".png")
    print(markdown_rows(rows))
    print(curve_rows(rows))


if __name__ == "__main__":
    main()
