"""The neural-decoder evaluator (``methods/_neural_decoder.py``): BER, BLER and ``-ln(BER)`` on BPSK-AWGN.

Per run (``WORKDIR/neural_decoder_eval.json`` and ``.md``): at each ``eval.ebno_db`` (default 4, 5, 6 dB, the
benchmark's points: Choukroun and Wolf 2022, Table 1), Monte Carlo of uniformly random messages, encoded (not the
all-zero word), through :func:`codes.awgn.simulate_awgn` with ``decision='codeword'`` (BER over the n codeword bits,
as ECCT's public code counts them), stopping after the batch in which ``eval.target_block_errors`` block errors are
reached or after ``eval.max_blocks`` blocks. ``-ln(BER)`` has the interval ``[-ln(BER_hi), -ln(BER_lo)]`` of the
conservative block-level BER interval of ``codes.awgn`` (``None`` for an infinite end, when no bit was wrong).

Per set of seeds (``DIR/neural_decoder_summary.json``, ``DIR/summary.md``): per Eb/N0 the pooled BER over seeds
(bit errors over bits) and the mean, min and max of the seeds' ``-ln(BER)``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from neuralcodes_jax import specs
from neuralcodes_jax.codes import awgn
from neuralcodes_jax.config_utils import check_int


@dataclasses.dataclass(frozen=True)
class EvalFields:
    """``eval`` fields of the neural-decoder report."""

    ebno_db: tuple[float, ...] = (4.0, 5.0, 6.0)
    batch_size: int = 1000
    target_block_errors: int = 100
    max_blocks: int = 100_000
    confidence: float = 0.95

    def __post_init__(self):
        from neuralcodes_jax.methods._neural_decoder import check_ebno

        object.__setattr__(self, "ebno_db", check_ebno("eval.ebno_db", self.ebno_db))
        check_int("eval.batch_size", self.batch_size, 1)
        check_int("eval.target_block_errors", self.target_block_errors, 1)
        check_int("eval.max_blocks", self.max_blocks, 1)
        if not 0.0 < float(self.confidence) < 1.0:
            raise ValueError(f"eval.confidence must be in (0, 1), got {self.confidence!r}")


@dataclasses.dataclass(frozen=True)
class CONFIG:
    """What the evaluator reads from a config."""

    eval: EvalFields = EvalFields()


def settings(config) -> EvalFields:
    """The checked ``eval`` fields of ``config``."""
    return specs.parse(CONFIG, config).eval


def neg_ln(x: float) -> float | None:
    """``-ln(x)``, ``None`` where infinite (``x = 0``)."""
    return -math.log(x) if x > 0 else None


def point_row(p: awgn.AwgnPoint) -> dict[str, Any]:
    """One Eb/N0 point as a JSON row with ``-ln(BER)`` and its interval."""
    row = p.to_dict()
    row.update(neg_ln_ber=neg_ln(p.ber), neg_ln_ber_lo=neg_ln(p.ber_hi), neg_ln_ber_hi=neg_ln(p.ber_lo))
    return row


def simulate(decode, code, ebno_db, key, ev: EvalFields) -> list[dict[str, Any]]:
    """Rows of :func:`point_row` for a jit-safe ``decode: llr -> (messages, codewords)`` of ``code`` (a
    ``catalog.Code``) on random codewords."""
    points = awgn.simulate_awgn(
        decode,
        code.k,
        code.n,
        list(ebno_db),
        code.encode,
        key=key,
        batch_size=int(ev.batch_size),
        target_block_errors=int(ev.target_block_errors),
        max_blocks=int(ev.max_blocks),
        confidence=float(ev.confidence),
        decision="codeword",
    )
    return [point_row(p) for p in points]


def _fmt(v: float | None) -> str:
    return "inf" if v is None else f"{v:.2f}"


def markdown(report: Mapping[str, Any]) -> str:
    lines = [
        f"# {report['name']}: {report['code']} (n = {report['n']}, k = {report['k']}), BPSK-AWGN",
        "",
        f"Seed {report['seed']}, step {report['step']}; BER over codeword bits; stop at "
        f"{report['target_block_errors']} block errors or {report['max_blocks']} blocks.",
        "",
        "| Eb/N0 (dB) | -ln(BER) [95% CI] | BER | BLER | blocks |",
        "|---|---|---|---|---|",
    ]
    for r in report["points"]:
        lines.append(
            f"| {r['ebn0_db']:g} | {_fmt(r['neg_ln_ber'])} [{_fmt(r['neg_ln_ber_lo'])}, "
            f"{_fmt(r['neg_ln_ber_hi'])}] | {r['ber']:.3g} | {r['bler']:.3g} | {r['blocks']} |"
        )
    return "\n".join(lines) + "\n"


def evaluate(run) -> list[dict]:
    """The report of every run (``neural_decoder_eval.json`` / ``.md`` in its workdir)."""
    params = run.host(run.params)
    out = []
    for i in range(run.num_points):
        config = run.configs[i]
        ev = settings(config)
        method = run.methods[i]
        decode = method.llr_decoder(jax.tree.map(lambda a, i=i: np.asarray(a[i]), params))
        t0 = time.time()
        rows = simulate(decode, method.code, ev.ebno_db, run.eval_keys[i], ev)
        rep = {
            "name": config.get("name") or config.method,
            "method": config.method,
            **method.eval_settings(),
            "seed": int(config.seed),
            "step": int(run.metas[i].get("step", 0)),
            "target_block_errors": int(ev.target_block_errors),
            "max_blocks": int(ev.max_blocks),
            "eval_seconds": time.time() - t0,
            "points": rows,
        }
        if run.is_main:
            with open(os.path.join(run.workdirs[i], "neural_decoder_eval.json"), "w") as f:
                json.dump(rep, f, indent=1)
            with open(os.path.join(run.workdirs[i], "neural_decoder_eval.md"), "w") as f:
                f.write(markdown(rep))
        out.append(rep)
    return out


def summarize_reports(reports: list[dict]) -> list[dict[str, Any]]:
    """Per Eb/N0: pooled BER over the seeds and the mean, min and max of their ``-ln(BER)``."""
    rows = []
    for j, first in enumerate(reports[0]["points"]):
        pts = [r["points"][j] for r in reports]
        bits = sum(p["blocks"] * p["bits_per_block"] for p in pts)
        ber = sum(p["bit_errors"] for p in pts) / bits
        vals = [p["neg_ln_ber"] for p in pts]
        finite = [v for v in vals if v is not None]
        rows.append(
            {
                "ebn0_db": first["ebn0_db"],
                "pooled_ber": ber,
                "pooled_neg_ln_ber": neg_ln(ber),
                "neg_ln_ber_mean": float(np.mean(finite)) if len(finite) == len(vals) else None,
                "neg_ln_ber_min": min(finite) if finite else None,
                "neg_ln_ber_max": None if len(finite) < len(vals) else max(finite),
                "seeds": len(pts),
            }
        )
    return rows


def summarize(run, results: list[dict], members: list[int], directory: str) -> dict:
    """Over the seeds ``members``: ``neural_decoder_summary.json`` and ``summary.md`` in ``directory``."""
    reports = [results[i] for i in members]
    first = reports[0]
    summary = {
        "name": first["name"],
        "code": first["code"],
        "n": first["n"],
        "k": first["k"],
        "train_seconds": float(run.train_seconds),
        "summary": summarize_reports(reports),
        "seeds": reports,
        "workdirs": [run.workdirs[i] for i in members],
    }
    if run.is_main:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "neural_decoder_summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
        lines = [
            f"# {summary['name']}: {summary['code']} (n = {summary['n']}, k = {summary['k']}), {len(reports)} seeds",
            "",
            "| Eb/N0 (dB) | pooled -ln(BER) | mean [min, max] over seeds |",
            "|---|---|---|",
        ]
        for r in summary["summary"]:
            lines.append(
                f"| {r['ebn0_db']:g} | {_fmt(r['pooled_neg_ln_ber'])} | {_fmt(r['neg_ln_ber_mean'])} "
                f"[{_fmt(r['neg_ln_ber_min'])}, {_fmt(r['neg_ln_ber_max'])}] |"
            )
        with open(os.path.join(directory, "summary.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return summary


def metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """Flat numbers of one run's report or of a summary (for sweeps): ``-ln(BER)`` per Eb/N0."""
    if "summary" in result:
        return {f"neg_ln_ber_{r['ebn0_db']:g}dB": r["pooled_neg_ln_ber"] for r in result["summary"]}
    return {f"neg_ln_ber_{r['ebn0_db']:g}dB": r["neg_ln_ber"] for r in result["points"]}
