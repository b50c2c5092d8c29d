"""The learned-decoder benchmark table: any decoder on any code of the set at Eb/N0 4, 5, 6 dB (``-ln(BER)``).

Run by ``python -m launch.neural_decoders`` (flags there). Decoders (columns):

* ``bp``: flooding sum-product BP with the neural decoders' number of iterations (``--iterations``, default 5, as
  neural BP) on the benchmark file's matrix as given (``codes.ldpc.bp_decode``);
* ``neural_bp``: the trained run ``NBP_ROOT/<code>`` (``methods/neural_bp.py``; the latest checkpoint): its own
  ``neural_decoder`` evaluation when it has these Eb/N0 points and stop rule (other noise draws than the other
  columns), else a new one with ``--seed``;
* ``ecct``: the trained run ``ECCT_ROOT/<code>`` when present (``methods/ecct.py``); ``--ecct_root`` (and
  ``--nbp_root``) may list several roots, the first holding the code's run is used;
* ``osd``: ordered-statistics decoding (``codes.osd``; order ``--osd_order`` where ``k <= --osd_max_k``, else order
  1), a near-ML reference; ``ml``: soft ML where ``k <= 16``;
* ``published``: the numbers of Choukroun and Wolf 2022 (NeurIPS), Table 1, for the same code, where
  :data:`PUBLISHED` holds them.

Each (code, decoder) cell is one Monte Carlo run of :func:`evaluators.neural_decoder.simulate` (random codewords,
BER over codeword bits, stop after ``--target_block_errors`` block errors or ``--max_blocks`` blocks; the key is
``--seed``), kept in ``ROWS_DIR/<code>.json`` so that a rerun adds only what is missing. The table is
``results/neural_decoders.md`` and ``.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from experiments.neural_decoders.neural_bp import CODES
from neuralcodes_jax.codes import ldpc, osd
from neuralcodes_jax.evaluators import neural_decoder as evaluator
from neuralcodes_jax.methods import _neural_decoder as nd

DECODERS = ("bp", "neural_bp", "ecct", "osd", "ml")

#: Published -ln(BER) at 4, 5, 6 dB by code and column, from Choukroun and Wolf 2022, "Error Correction Code
#: Transformer", NeurIPS, Table 1. Empty: no copy of the table could be read where this table was made; fill
#: ``{code: {column: (v4, v5, v6)}}`` from the paper and the table shows them with their source.
#: Published -ln(BER) at 4, 5, 6 dB: ECCT N = 2, d = 32 (first row of the "N=2" column) and BP with 5 iterations
#: (first row of the BP column) of Choukroun & Wolf 2022, Table 1, as reproduced with the same layout in Table 1
#: of "Denoising Diffusion Error Correction Codes" (Choukroun & Wolf, ICLR 2023). BCH(31,16) is not in that table.
PUBLISHED: dict[str, dict[str, tuple[float, float, float]]] = {
    "POLAR_N64_K32": {"ecct_n2_d32": (4.27, 5.44, 6.95), "bp5": (3.52, 4.04, 4.48)},
    "POLAR_N64_K48": {"ecct_n2_d32": (4.92, 6.46, 8.41), "bp5": (4.15, 4.68, 5.31)},
    "POLAR_N128_K64": {"ecct_n2_d32": (3.51, 4.52, 5.93), "bp5": (3.38, 3.80, 4.15)},
    "POLAR_N128_K86": {"ecct_n2_d32": (4.30, 5.58, 7.34), "bp5": (3.80, 4.19, 4.62)},
    "POLAR_N128_K96": {"ecct_n2_d32": (4.56, 5.98, 7.93), "bp5": (3.99, 4.41, 4.78)},
    "LDPC_N49_K24": {"ecct_n2_d32": (4.51, 6.07, 8.11), "bp5": (5.30, 7.28, 9.88)},
    "LDPC_N121_K60": {"ecct_n2_d32": (3.88, 5.51, 8.06), "bp5": (4.82, 7.21, 10.87)},
    "LDPC_N121_K70": {"ecct_n2_d32": (4.63, 6.68, 9.73), "bp5": (5.88, 8.76, 13.04)},
    "LDPC_N121_K80": {"ecct_n2_d32": (5.27, 7.59, 10.08), "bp5": (6.66, 9.82, 13.98)},
    "MACKAY_N96_K48": {"ecct_n2_d32": (4.95, 6.67, 8.94), "bp5": (6.84, 9.40, 12.57)},
    "CCSDS_N128_K64": {"ecct_n2_d32": (4.35, 6.01, 8.30), "bp5": (6.55, 9.65, 13.78)},
    "BCH_N63_K36": {"ecct_n2_d32": (3.79, 4.87, 6.35), "bp5": (3.72, 4.65, 5.66)},
    "BCH_N63_K45": {"ecct_n2_d32": (4.47, 5.88, 7.81), "bp5": (4.08, 4.96, 6.07)},
    "BCH_N63_K51": {"ecct_n2_d32": (4.60, 6.05, 8.05), "bp5": (4.34, 5.29, 6.35)},
}

PUBLISHED_SOURCE = (
    "Choukroun and Wolf 2022 (NeurIPS), Table 1, as reproduced in Table 1 of Choukroun and Wolf 2023 "
    "(ICLR, DDECC): ecct_n2_d32 = ECCT N = 2, d = 32; bp5 = BP, 5 iterations"
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one benchmark run uses (the flags of ``launch.neural_decoders``)."""

    ebno_db: tuple[float, ...] = (4.0, 5.0, 6.0)
    iterations: int = 5
    seed: int = 0
    batch_size: int = 1000
    target_block_errors: int = 100
    max_blocks: int = 100_000
    osd_order: int = 2
    osd_max_k: int = 128
    osd_max_blocks: int = 20_000

    def __post_init__(self):
        object.__setattr__(self, "ebno_db", nd.check_ebno("--ebno", tuple(self.ebno_db)))

    def eval_fields(self, max_blocks: int | None = None) -> evaluator.EvalFields:
        return evaluator.EvalFields(
            ebno_db=self.ebno_db,
            batch_size=self.batch_size,
            target_block_errors=self.target_block_errors,
            max_blocks=max_blocks or self.max_blocks,
        )


def _tables(code_name: str) -> nd.CodeTables:
    return nd.code_tables(code_name)


def bp_decoder(tables: nd.CodeTables, iterations: int) -> tuple[Callable, str]:
    """Flooding sum-product BP on the matrix as given, ``(messages, codewords)``, and what runs it:
    ``codes.ldpc.bp_decode``, whose stacked layout (above ``ldpc.STACKED_ABOVE_DEGREE``) also takes the polar codes'
    matrices (check degrees up to 128)."""
    graph = ldpc.TannerGraph.from_parity_check(tables.parity_check)

    def decode(llr):
        bits = ldpc.bp_decode(graph, llr, max_iters=iterations).bits
        return tables.unencode(bits), bits

    layout = "stacked" if ldpc.use_stacked(graph) else "per-slot"
    return decode, f"codes.ldpc.bp_decode ({layout} check update)"


def osd_decoder(tables: nd.CodeTables, order: int | None) -> Callable:
    """OSD of ``order`` (None: soft ML by listing the codewords, ``k <= 16``), ``(messages, codewords)``."""
    code = tables.code.obj

    def decode(llr):
        out = osd.ml_decode(code, llr) if order is None else osd.osd_decode(code, llr, order=order)
        words = out.codewords.astype(jnp.uint8)
        return tables.unencode(words), words

    return decode


def trained_decoder(workdir: str) -> tuple[Callable, dict[str, Any]]:
    """The decoder of a trained neural-decoder run (latest checkpoint) and what it was."""
    from neuralcodes_jax.analysis import model_io

    model = model_io.load_model(workdir, kind="latest")
    params = jax.device_get(model.params)
    return model.method.llr_decoder(params), {"workdir": workdir, "step": model.step, **model.method.eval_settings()}


def run_evaluation(workdir: str, s: Settings) -> dict[str, Any] | None:
    """The run's own ``neural_decoder`` evaluation when it used these Eb/N0 points and this stop rule (its noise
    is its own evaluation stream, not ``--seed``'s), else None."""
    path = os.path.join(workdir, "neural_decoder_eval.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        rep = json.load(f)
    same = (
        [p["ebn0_db"] for p in rep["points"]] == list(s.ebno_db)
        and rep["max_blocks"] == s.max_blocks
        and rep["target_block_errors"] == s.target_block_errors
    )
    if not same:
        return None
    return {
        "decoder": rep["method"],
        "workdir": workdir,
        "step": rep["step"],
        "from": "the run's evaluation",
        "seconds": rep["eval_seconds"],
        "points": rep["points"],
    }


def find_run(roots: str | list[str] | tuple[str, ...] | None, code_name: str) -> str | None:
    """The first ``ROOT/<code>`` holding a trained run (a ``checkpoints`` folder) among ``roots`` (one folder, a
    comma-separated list or a sequence, in order of preference), else None."""
    if not roots:
        return None
    if isinstance(roots, str):
        roots = [r for r in roots.split(",") if r]
    for root in roots:
        workdir = os.path.join(root, code_name)
        if os.path.isdir(os.path.join(workdir, "checkpoints")):
            return workdir
    return None


def run_cell(
    code_name: str,
    decoder: str,
    s: Settings,
    nbp_root: str | list[str] | None,
    ecct_root: str | list[str] | None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any] | None:
    """One (code, decoder) cell: its rows of -ln(BER), or None when the decoder does not apply (no trained run,
    ``ml`` with ``k > 16``)."""
    tables = _tables(code_name)
    info: dict[str, Any] = {}
    max_blocks = None
    if decoder == "bp":
        decode, impl = bp_decoder(tables, s.iterations)
        info = {"iterations": s.iterations, "schedule": "flooding", "algorithm": "sum_product", "implementation": impl}
    elif decoder in ("neural_bp", "ecct"):
        workdir = find_run(nbp_root if decoder == "neural_bp" else ecct_root, code_name)
        if workdir is None:
            return None
        kept = run_evaluation(workdir, s)
        if kept is not None:
            return kept
        decode, info = trained_decoder(workdir)
    elif decoder == "osd":
        order = s.osd_order if tables.k <= s.osd_max_k else 1
        decode, info, max_blocks = osd_decoder(tables, order), {"order": order}, s.osd_max_blocks
    elif decoder == "ml":
        if tables.k > osd.MAX_ML_DIMENSION:
            return None
        decode = osd_decoder(tables, None)
    else:
        raise ValueError(f"decoder must be one of {list(DECODERS)}, got {decoder!r}")
    t0 = time.time()
    rows = evaluator.simulate(decode, tables.code, s.ebno_db, jax.random.key(s.seed), s.eval_fields(max_blocks))
    out = {"decoder": decoder, **info, "seconds": time.time() - t0, "points": rows}
    progress(
        f"{code_name} {decoder}: "
        + ", ".join(f"{r['ebn0_db']:g} dB {evaluator._fmt(r['neg_ln_ber'])}" for r in rows)
        + f" ({out['seconds']:.0f} s)"
    )
    return out


def run(
    codes: list[str],
    decoders: list[str],
    s: Settings,
    rows_dir: str,
    nbp_root: str | list[str] | None = None,
    ecct_root: str | list[str] | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """Every missing (code, decoder) cell (trained runs: the first root holding ``<root>/<code>``, :func:`find_run`),
    kept in ``rows_dir/<code>.json``; returns ``{code: {decoder: cell}}``. A cell is recomputed when its settings
    (Eb/N0, seed, stop rule) differ from the kept one's."""
    for d in decoders:
        if d not in DECODERS:
            raise ValueError(f"decoder must be one of {list(DECODERS)}, got {d!r}")
    if not codes:
        raise ValueError("codes must name at least one code")
    os.makedirs(rows_dir, exist_ok=True)
    key = json.loads(json.dumps(dataclasses.asdict(s)))  # as it reads back from the kept file (lists)
    out = {}
    for code in codes:
        path = os.path.join(rows_dir, f"{code.replace(':', '_').replace('/', '_')}.json")
        kept = {}
        if os.path.isfile(path):
            with open(path) as f:
                kept = json.load(f)
        cells = kept.get("cells", {}) if kept.get("settings") == key else {}
        for d in decoders:
            if d in cells and (d not in ("neural_bp", "ecct") or cells[d] is not None):
                continue
            cells[d] = run_cell(code, d, s, nbp_root, ecct_root, progress)
            with open(path, "w") as f:
                json.dump({"code": code, "settings": key, "cells": cells}, f, indent=1)
        out[code] = cells
    return out


def _cell(cell: dict | None, i: int, interval: bool = False) -> str:
    if cell is None:
        return "-"
    r = cell["points"][i]
    # No bit error: only the lower end of the interval is known.
    v = evaluator._fmt(r["neg_ln_ber"]) if r["neg_ln_ber"] is not None else f"> {evaluator._fmt(r['neg_ln_ber_lo'])}"
    return f"{v} [{evaluator._fmt(r['neg_ln_ber_lo'])}, {evaluator._fmt(r['neg_ln_ber_hi'])}]" if interval else v


def markdown(
    results: dict[str, dict[str, Any]], s: Settings, command: str, notes: str = "", paired_rows: dict | None = None
) -> str:
    """The table: codes as rows; per decoder the -ln(BER) at each Eb/N0; the published numbers where known."""
    decoders = [d for d in DECODERS if any(d in cells for cells in results.values())]
    eb = "/".join(f"{e:g}" for e in s.ebno_db)
    head = ["code", "n", "k"] + [f"{d} ({eb} dB)" for d in decoders] + [f"published ({eb} dB)"]
    lines = [
        f"-ln(BER) on BPSK-AWGN at Eb/N0 = {eb} dB (higher is better; BER over the n codeword bits of random "
        f"codewords; 95% intervals in `results/neural_decoders.json`). BP: flooding sum-product, "
        f"{s.iterations} iterations; stop after {s.target_block_errors} block errors or {s.max_blocks} blocks "
        f"(OSD {s.osd_max_blocks}); seed {s.seed}.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for code, cells in results.items():
        t = _tables(code)
        row = [code, str(t.n), str(t.k)]
        for d in decoders:
            cell = cells.get(d)
            row.append(" / ".join(_cell(cell, i) for i in range(len(s.ebno_db))) if cell else "-")
        pub = PUBLISHED.get(code)
        row.append(
            "; ".join(f"{col} {' / '.join(f'{v:.2f}' for v in vals)}" for col, vals in pub.items())
            if pub
            else "not filled"
        )
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"Published column: {PUBLISHED_SOURCE}"
        + ("" if PUBLISHED else " (not filled in this table: see the notes)")
        + ".",
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
    ]
    if paired_rows:
        from experiments.neural_decoders import paired

        first = next(iter(paired_rows.values()))
        lines += [
            "",
            f"## Paired test at {first['ebn0_db']:g} dB: BP against neural BP on the same noise blocks",
            "",
            "Both decoders decode the same random codewords and noise (seed "
            f"{first['seed']}); each code stops after the batch of {s.batch_size} in which both reach "
            f"{first['target_block_errors']} block errors (or {first['max_blocks']} blocks). delta = -ln(BER) of "
            "neural BP minus BP's, 95% Poisson-bootstrap interval over blocks; the paired z-test of the per-block "
            "bit-error difference (one-sided: neural BP has fewer); McNemar's exact test on blocks where exactly one "
            "decoder fails. Last column: the one-sided paired test rejects 'no better' at 5% with Holm's "
            "correction over the codes listed (`experiments/neural_decoders/paired.py`).",
            "",
            paired.markdown(paired_rows).rstrip("\n"),
        ]
    if notes:
        lines += ["", notes]
    return "\n".join(lines) + "\n"


def write(
    results: dict, s: Settings, out_md: str, command: str, notes: str = "", paired_rows: dict | None = None
) -> None:
    os.makedirs(os.path.dirname(out_md) or ".", exist_ok=True)
    with open(out_md, "w") as f:
        f.write(markdown(results, s, command, notes, paired_rows))
    with open(os.path.splitext(out_md)[0] + ".json", "w") as f:
        json.dump(
            {
                "settings": dataclasses.asdict(s),
                "published": PUBLISHED,
                "published_source": PUBLISHED_SOURCE,
                "results": results,
                **({"paired": paired_rows} if paired_rows else {}),
            },
            f,
            indent=1,
        )


def run_paired(
    codes: list[str],
    s: Settings,
    ebno_db: float,
    nbp_root: str | list[str],
    rows_dir: str,
    target_block_errors: int = 1000,
    max_blocks: int = 1_000_000,
    progress: Callable[[str], None] = print,
) -> dict[str, dict[str, Any]]:
    """BP (``bp_decode``, ``s.iterations``) against the trained neural BP of ``nbp_root/<code>`` on the same noise
    blocks at ``ebno_db`` (``experiments/neural_decoders/paired.py``), each kept in ``rows_dir/paired/<code>.json``
    (recomputed when its settings differ). Codes without a trained run are skipped."""
    import numpy as np

    from experiments.neural_decoders import paired
    from neuralcodes_jax.analysis import model_io

    key = {
        "ebn0_db": float(ebno_db),
        "seed": s.seed,
        "iterations": s.iterations,
        "batch_size": s.batch_size,
        "target_block_errors": int(target_block_errors),
        "max_blocks": int(max_blocks),
    }
    folder = os.path.join(rows_dir, "paired")
    os.makedirs(folder, exist_ok=True)
    out = {}
    for code in codes:
        path = os.path.join(folder, f"{code.replace(':', '_').replace('/', '_')}.json")
        if os.path.isfile(path):
            with open(path) as f:
                kept = json.load(f)
            if kept.get("settings") == key:
                out[code] = kept["result"]
                continue
        workdir = find_run(nbp_root, code)
        if workdir is None:
            continue
        model = model_io.load_model(workdir, kind="latest")
        method, params = model.method, jax.device_get(model.params)
        if method.iterations != s.iterations:
            raise ValueError(f"{workdir}: neural BP has {method.iterations} iterations, BP --iterations={s.iterations}")
        graph = ldpc.TannerGraph.from_parity_check(method.parity_check)
        result = paired.simulate_pair(
            lambda llr, g=graph: np.asarray(ldpc.bp_decode(g, llr, max_iters=s.iterations).bits),
            lambda llr, m=method, p=params: np.asarray(m.decode_bits(p, llr).bits),
            method.code,
            ebno_db,
            seed=s.seed,
            batch_size=s.batch_size,
            target_block_errors=target_block_errors,
            max_blocks=max_blocks,
        )
        result.update(workdir=workdir, step=model.step)
        with open(path, "w") as f:
            json.dump({"code": code, "settings": key, "result": result}, f, indent=1)
        progress(
            f"{code} paired at {ebno_db:g} dB: {result['blocks']} blocks, delta {paired._f(result['delta'])} "
            f"[{paired._f(result['delta_lo'])}, {paired._f(result['delta_hi'])}], p {result['p_one_sided']:.1e} "
            f"({result['seconds']:.0f} s)"
        )
        out[code] = result
    return out


__all__ = [
    "CODES",
    "DECODERS",
    "PUBLISHED",
    "Settings",
    "find_run",
    "run",
    "run_cell",
    "run_paired",
    "markdown",
    "write",
]
