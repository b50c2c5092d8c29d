"""The codebook evaluator (learned binary codes, ``methods/progressive/``): the exact report of every learned code.

Per run (``WORKDIR/codebook_report.json``): the codewords (bit strings, message order), minimum distance, distance
spectrum, linear / coset flags, the equivalent reference code (with the coordinate permutation and translation),
exact BLER and BER on the BSC at ``eval.p_grid`` for the ML decoder of the learned codebook and for the learned
neural decoder (a table over all ``2^n`` received words), with the exact polynomials; whether stage 2 improved the
neural decoder; AWGN configs add Monte Carlo results against the reference code under soft ML.

Per set of runs (the seeds of one experiment, ``DIR/codebook_summary.json``, ``DIR/summary.md``,
``DIR/bler_vs_p.png``; AWGN ``DIR/bler_vs_ebn0.png``): counts over seeds (equivalent to the reference, ML BLER
equal to it, perfect, linear, d_min histogram, median ML BLER / converse) and the plots.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from neuralcodes_jax import channels, config_utils, specs
from neuralcodes_jax.codes import bounds as codes_bounds
from neuralcodes_jax.codes import exact as codes_exact
from neuralcodes_jax.codes import gf2
from neuralcodes_jax.codes import structure as codes_structure
from neuralcodes_jax.config_utils import check_int
from neuralcodes_jax.methods import progressive as prog

#: The fixed grid of BSC crossover probabilities of every exact report (exact values, no Monte Carlo).
P_GRID = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


@dataclasses.dataclass(frozen=True)
class EvalFields:
    """``eval`` fields of the codebook report."""

    reference: str = "Hamming(7,4)"  # a name of codes.structure.reference_codes() or a JSON file of generators
    p_grid: tuple[float, ...] = P_GRID
    p_ratio: float = 0.05  # p of the single "ratio to the converse" number (one of p_grid)
    neural_table: bool = True  # exact BLER/BER of the neural decoder (table over all 2^n words)
    stage2_check: bool = True  # also tabulate the stage-1 decoder (did stage 2 improve the decoder?)
    max_equivalence_nodes: int = 100_000
    ebn0_db: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0)  # AWGN Monte Carlo grid (AWGN configs only)
    mc_target_errors: int = 200
    mc_max_blocks: int = 400_000
    mc_batch: int = 20_000
    mc_seeds: int = 0  # AWGN: Monte Carlo for the first mc_seeds seeds (0 = all)


@dataclasses.dataclass(frozen=True)
class CONFIG:
    """What the evaluator reads from a config."""

    eval: EvalFields = EvalFields()


PyTree = Any


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _decoder_table_chunk(decoder_params: PyTree, spec: prog.ProgressiveSpec, start: int, size: int) -> jax.Array:
    ints = start + jnp.arange(size, dtype=jnp.int32)
    shifts = jnp.arange(spec.n - 1, -1, -1, dtype=jnp.int32)
    z = 1.0 - 2.0 * ((ints[:, None] >> shifts) & 1).astype(jnp.float32)
    return prog.decode(decoder_params, z, spec)


def decoder_table(decoder_params: PyTree, spec: prog.ProgressiveSpec, chunk: int | None = None) -> np.ndarray:
    """Neural decoder decision (message index) for each received word ``y`` of the BSC, ``int64 [2^n]``.

    Word ``y`` is the integer ``sum_j y_j 2^(n-1-j)`` and enters the decoder as ``1 - 2y``. For the bitwise
    decoder the decided label bits are converted to the message index (labels are the default ones), so the
    table can be passed to :func:`codes.exact.decoder_bler_bsc` / ``decoder_ber_bsc`` as row indices.
    """
    if spec.n > prog.MAX_TABLE_BITS:
        raise ValueError(f"n must be <= {prog.MAX_TABLE_BITS} for a decoder table, got {spec.n}")
    total = 1 << spec.n
    if chunk is None:  # about 2^24 floats per layer activation
        widest = max((spec.n, *spec.decoder_hidden, spec.num_messages if spec.decoder_output == "softmax" else spec.k))
        chunk = max(1 << 10, 1 << max(0, (1 << 24) // widest).bit_length() - 1)
    size = min(int(chunk), total)
    parts = [np.asarray(_decoder_table_chunk(decoder_params, spec, start, size)) for start in range(0, total, size)]
    return np.concatenate(parts).astype(np.int64)


def bit_strings(codebook: Any) -> list[str]:
    """Rows of a 0/1 codebook as strings like ``"0110100"``."""
    bits = np.asarray(codebook, np.uint8)
    return ["".join("1" if b else "0" for b in row) for row in bits]


def check_p_grid(p_grid: Any, name: str = "eval.p_grid") -> np.ndarray:
    """A non-empty 1-D grid of crossover probabilities in ``[0, 0.5]`` as float64."""
    arr = np.asarray(p_grid, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    return config_utils.check_probability(name, arr)


def _poly_dict(poly: codes_exact.WeightPolynomial, p_grid: np.ndarray) -> dict[str, Any]:
    return {"values": [float(v) for v in np.atleast_1d(poly(p_grid))], "polynomial": poly.to_dict()}


def codebook_report(
    codebook: Any,
    p_grid: Any,
    decoder: Any = None,
    references: Mapping[str, Any] | None = None,
    reference_bler: codes_exact.WeightPolynomial | None = None,
    converse: np.ndarray | None = None,
    p_ratio: float = 0.05,
    tol: float = 1e-12,
) -> dict[str, Any]:
    """Structure and exact BSC error rates of a codebook in message order (JSON-ready).

    Args:
      codebook: ``[M, n]`` bits, ``M = 2^k``, row ``m`` = codeword of message ``m`` (repeated rows allowed).
      p_grid: crossover probabilities in ``[0, 0.5]``.
      decoder: optional neural decoder as a table ``[2^n]`` of message indices (:func:`decoder_table`).
      references: name -> reference codebook for the equivalence search (default: classical codes of the
        same ``n`` and ``M``, :func:`codes.structure.reference_codes`).
      reference_bler: optional BLER polynomial of the reference (classical ML); the report then says whether
        the codebook's ML BLER equals it at every grid point to ``tol`` and as a polynomial.
      converse: optional converse values on ``p_grid``; gives ``ml.ratio_to_converse``.
      p_ratio: the ``p`` at which a single ratio to the converse is reported (must be in ``p_grid``).

    Returns:
      ``codewords`` (bit strings), the keys of :func:`codes.structure.summarize_codebook` (with
      ``distance_spectrum`` = ``distance_distribution``), ``ml`` (``bler``/``ber`` value lists on ``p_grid``
      and their exact polynomials), ``neural_decoder`` (same, if ``decoder`` is given), comparisons.
    """
    p_grid = check_p_grid(p_grid, "p_grid")
    bits = gf2.as_binary_matrix(codebook, "codebook")
    m, n = bits.shape
    if m < 2 or m & (m - 1):
        raise ValueError(f"codebook must have 2^k >= 2 rows, got {m}")
    summary = codes_structure.summarize_codebook(bits, references=references)
    out: dict[str, Any] = {"codewords": bit_strings(bits)}
    out.update(summary)
    out["distance_spectrum"] = summary["distance_distribution"]
    ml_bler = codes_exact.ml_bler_bsc(bits, allow_repeated=True)
    ml_ber = codes_exact.ml_ber_bsc(bits, allow_repeated=True)
    out["ml"] = {"bler": _poly_dict(ml_bler, p_grid), "ber": _poly_dict(ml_ber, p_grid)}
    if decoder is not None:
        table = np.asarray(decoder)
        if table.shape != (1 << n,):
            raise ValueError(f"decoder must be a table of shape ({1 << n},), got {table.shape}")
        if table.min() < 0 or table.max() >= m:
            raise ValueError(f"decoder entries must be message indices in [0, {m}), got [{table.min()}, {table.max()}]")
        d_bler = codes_exact.decoder_bler_bsc(bits, table, allow_repeated=True)
        d_ber = codes_exact.decoder_ber_bsc(bits, table, allow_repeated=True)
        out["neural_decoder"] = {
            "bler": _poly_dict(d_bler, p_grid),
            "ber": _poly_dict(d_ber, p_grid),
            "equals_ml_bler": bool(d_bler == ml_bler),
        }
    ml_vals = np.asarray(out["ml"]["bler"]["values"])
    if reference_bler is not None:
        ref_vals = np.atleast_1d(reference_bler(p_grid))
        out["ml"]["max_abs_diff_to_reference_bler"] = float(np.max(np.abs(ml_vals - ref_vals)))
        out["ml"]["bler_equals_reference"] = bool(np.all(np.abs(ml_vals - ref_vals) <= tol))
        out["ml"]["bler_polynomial_equals_reference"] = bool(ml_bler == reference_bler)
    if converse is not None:
        conv = np.asarray(converse, np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(conv > 0, ml_vals / conv, np.nan)
        out["ml"]["ratio_to_converse"] = [None if not np.isfinite(r) else float(r) for r in ratio]
        hit = np.flatnonzero(np.isclose(p_grid, p_ratio))
        if hit.size:
            r = ratio[hit[0]]
            out["ml"][f"ratio_to_converse_at_{p_ratio:g}"] = None if not np.isfinite(r) else float(r)
    return out


def reference_curves(n: int, k: int, p_grid: Any, reference: Any = None) -> dict[str, Any]:
    """Uncoded, converse and (if given) classical-code ML BLER/BER on ``p_grid`` for the report and plot."""
    p_grid = check_p_grid(p_grid, "p_grid")
    out: dict[str, Any] = {
        "p_grid": p_grid.tolist(),
        "uncoded_bler": [float(v) for v in np.atleast_1d(codes_exact.uncoded_bler(k, p_grid))],
        "converse_bler": [float(v) for v in np.atleast_1d(codes_bounds.bsc_converse(n, k, p_grid))],
    }
    if reference is not None:
        name, code = reference
        cw = code.codewords() if hasattr(code, "codewords") else np.asarray(code)
        out["reference_name"] = name
        out["reference_bler"] = _poly_dict(codes_exact.ml_bler_bsc(cw), p_grid)
        out["reference_ber"] = _poly_dict(codes_exact.ml_ber_bsc(cw), p_grid)
    return out


# --------------------------------------------------------------------------------------------- AWGN


def soft_ml_decode(codebook: Any, r: jax.Array) -> jax.Array:
    """Exact soft ML decoding on BPSK-AWGN: ``argmax_m <r, 1 - 2 x_m>`` over all ``M`` codewords, ``int32 [...]``.

    Equal-energy BPSK codewords make the Gaussian likelihood a monotone function of the correlation, so this
    enumerates every codeword for every received vector (ties -> lowest index).
    """
    s = 1.0 - 2.0 * jnp.asarray(codebook, jnp.float32)
    return jnp.argmax(jnp.asarray(r, jnp.float32) @ s.T, axis=-1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _awgn_batch(key, codebooks, decoder_params, sigma, spec, batch):
    """Block and bit errors of a batch for: neural decoder, soft ML of each codebook in ``codebooks``."""
    k_msg, k_noise = jax.random.split(key)
    msgs = jax.random.randint(k_msg, (batch,), 0, spec.num_messages)
    noise = sigma * jax.random.normal(k_noise, (batch, spec.n), jnp.float32)
    labels = prog.message_bits(msgs, spec.k)
    results = []
    for i in range(codebooks.shape[0]):
        r = 1.0 - 2.0 * codebooks[i][msgs].astype(jnp.float32) + noise
        decided = [soft_ml_decode(codebooks[i], r)]
        if i == 0 and decoder_params is not None:
            decided.append(prog.decode(decoder_params, r, spec))
        for d in decided:
            bit_err = jnp.sum(prog.message_bits(d, spec.k) != labels)
            results.append((jnp.sum(d != msgs), bit_err))
    return results


def awgn_monte_carlo(
    key: jax.Array,
    spec: prog.ProgressiveSpec,
    codebook: Any,
    decoder_params: PyTree,
    reference_codebook: Any,
    ebn0_db: Sequence[float],
    target_block_errors: int = 200,
    max_blocks: int = 1_000_000,
    batch: int = 20_000,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """BPSK-AWGN Monte Carlo of a learned code and a reference code at several Eb/N0 (dB, rate ``k/n``).

    The same messages and noise are used for every decoder: the learned codebook with its neural decoder and
    with exact soft ML (:func:`soft_ml_decode`), and ``reference_codebook`` with exact soft ML. Each Eb/N0 runs
    batches until every decoder has ``target_block_errors`` block errors or ``max_blocks`` blocks were sent.

    Returns:
      one dict per Eb/N0 with ``sigma``, ``blocks`` and, for ``neural``, ``learned_ml``, ``reference_ml``:
      ``block_errors``, ``bler``, ``bler_ci`` (Wilson), ``bit_errors``, ``ber``.
    """
    check_int("target_block_errors", target_block_errors, 1)
    check_int("max_blocks", max_blocks, 1)
    check_int("batch", batch, 1)
    books = jnp.stack([jnp.asarray(codebook, jnp.uint8), jnp.asarray(reference_codebook, jnp.uint8)])
    if books.shape[1:] != (spec.num_messages, spec.n):
        raise ValueError(f"codebooks must have shape ({spec.num_messages}, {spec.n}), got {books.shape[1:]}")
    names = ("learned_ml", "neural", "reference_ml")
    out = []
    for j, ebn0 in enumerate(ebn0_db):
        sigma = channels.ebn0_db_to_sigma(float(ebn0), spec.rate)
        counts = np.zeros((3, 2), np.int64)
        blocks = 0
        sub = jax.random.fold_in(key, j)
        i = 0
        while blocks < max_blocks and counts[:, 0].min() < target_block_errors:
            res = _awgn_batch(jax.random.fold_in(sub, i), books, decoder_params, sigma, spec, batch)
            counts += np.asarray([[int(a), int(b)] for a, b in res], np.int64)
            blocks += batch
            i += 1
        row: dict[str, Any] = {"ebn0_db": float(ebn0), "sigma": sigma, "blocks": blocks}
        for name, (be, bits) in zip(names, counts):
            row[name] = {
                "block_errors": int(be),
                "bler": be / blocks,
                "bler_ci": list(codes_exact.wilson_interval(int(be), blocks, confidence)),
                "bit_errors": int(bits),
                "ber": bits / (blocks * spec.k),
            }
        out.append(row)
    return out


def soft_ml_awgn(
    key: jax.Array,
    codebooks: Sequence[Any],
    k: int,
    ebn0_db: Sequence[float],
    target_block_errors: int = 200,
    max_blocks: int = 1_000_000,
    batch: int = 10_000,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Soft-ML BLER of several ``(n, 2^k)`` codebooks on BPSK-AWGN at each Eb/N0 (dB, rate ``k/n``), all on the
    same messages and noise; batches until each has ``target_block_errors`` errors or ``max_blocks`` blocks.
    Returns one dict per Eb/N0 with ``blocks`` and per codebook ``block_errors``, ``bler``, ``bler_ci`` (Wilson)."""
    check_int("target_block_errors", target_block_errors, 1)
    check_int("max_blocks", max_blocks, 1)
    books = jnp.stack([jnp.asarray(b, jnp.uint8) for b in codebooks])
    n = books.shape[2]
    if books.shape[1] != 1 << k:
        raise ValueError(f"codebooks must have 2^k = {1 << k} rows, got {books.shape[1]}")
    out = []
    for j, ebn0 in enumerate(ebn0_db):
        sigma = channels.ebn0_db_to_sigma(float(ebn0), k / n)
        errors = np.zeros(books.shape[0], np.int64)
        blocks, i = 0, 0
        while blocks < max_blocks and errors.min() < target_block_errors:
            errors += np.asarray(
                _sigma_batch(jax.random.fold_in(jax.random.fold_in(key, j), i), books, jnp.float32(sigma), batch)
            )
            blocks += batch
            i += 1
        out.append(
            {
                "ebn0_db": float(ebn0),
                "sigma": sigma,
                "blocks": blocks,
                "codes": [
                    {
                        "block_errors": int(e),
                        "bler": e / blocks,
                        "bler_ci": list(codes_exact.wilson_interval(int(e), blocks, confidence)),
                    }
                    for e in errors
                ],
            }
        )
    return out


@functools.partial(jax.jit, static_argnums=(3,))
def _sigma_batch(key, books, sigma, batch):
    k_msg, k_noise = jax.random.split(key)
    msgs = jax.random.randint(k_msg, (batch,), 0, books.shape[1])
    noise = sigma * jax.random.normal(k_noise, (batch, books.shape[2]), jnp.float32)
    return jnp.stack(
        [jnp.sum(soft_ml_decode(b, 1.0 - 2.0 * b[msgs].astype(jnp.float32) + noise) != msgs) for b in books]
    )


def uncoded_awgn_bler(k: int, ebn0_db: Any) -> np.ndarray:
    """BLER ``1 - (1 - Q(sqrt(2 Eb/N0)))^k`` of ``k`` uncoded BPSK bits."""
    ebn0 = 10.0 ** (np.asarray(ebn0_db, np.float64) / 10.0)
    pb = stats.norm.sf(np.sqrt(2.0 * ebn0))
    return 1.0 - (1.0 - pb) ** k


# ------------------------------------------------------------------------------------------ the evaluator


def reference_code(name: str, n: int, k: int):
    """The classical code ``eval.reference`` (a name of ``codes.structure.reference_codes()`` or a JSON file of
    generators, :func:`codes.structure.code_from_source`), checked to be an ``(n, k)`` code."""
    return codes_structure.code_from_source(name, n, k, field="eval.reference")


def _check_eval_config(config) -> tuple[EvalFields, np.ndarray]:
    fields = specs.parse(CONFIG, config).eval
    p_grid = check_p_grid(fields.p_grid, "eval.p_grid")
    if not any(abs(p - fields.p_ratio) < 1e-12 for p in p_grid):
        raise ValueError(f"eval.p_ratio must be one of eval.p_grid, got {fields.p_ratio!r}")
    return fields, p_grid


def evaluate(run) -> list[dict]:
    """The exact report of every run's learned codebook (``codebook_report.json`` in its workdir)."""
    config = run.configs[0]
    ev, p_grid = _check_eval_config(config)
    spec = run.method.spec
    reference = reference_code(ev.reference, spec.n, spec.k)
    reference_bler = codes_exact.ml_bler_bsc(reference.codewords())
    converse = np.asarray(codes_bounds.bsc_converse(spec.n, spec.k, p_grid))
    ratio_index = int(np.flatnonzero(np.isclose(p_grid, ev.p_ratio))[0])
    params = run.host(run.params)
    stage1_decoders = run.host(run.method.stage1_decoder(run.state))
    mc_count = int(ev.mc_seeds) or run.num_points
    out = []
    for p in range(run.num_points):
        pspec = run.methods[p].spec
        prm = jax.tree.map(lambda a, i=p: a[i], params)
        codebook = np.asarray(run.methods[p].codebook(prm))
        table = None
        if ev.neural_table and pspec.channel == "bsc":
            table = decoder_table(prm["decoder"], pspec)
        rep = codebook_report(
            codebook,
            p_grid,
            decoder=table,
            reference_bler=reference_bler,
            converse=converse,
            p_ratio=float(ev.p_ratio),
            references={ev.reference: reference.codewords()},
        )
        rep.update(
            seed=int(run.configs[p].seed),
            p_ratio_index=ratio_index,
            train_p=float(pspec.train_p),
            training=pspec.training,
            step=int(run.metas[p].get("step", 0)),
        )
        soft = np.asarray(run.methods[p].soft_codebook(prm))
        rep["soft_codebook_mean_distance_to_binary"] = float(np.mean(np.minimum(soft, 1 - soft)))
        if table is not None and ev.stage2_check and pspec.stage2_steps > 0:
            # The decoder as stage 1 left it, on the binarized codebook: did stage 2 improve it?
            dec1 = jax.tree.map(lambda a, i=p: a[i], stage1_decoders)
            before = codes_exact.decoder_bler_bsc(codebook, decoder_table(dec1, pspec), allow_repeated=True)
            rep["stage1_decoder_bler"] = [float(v) for v in np.atleast_1d(before(p_grid))]
            after = codes_exact.WeightPolynomial(**_poly_args(rep["neural_decoder"]["bler"]["polynomial"]))
            rep["stage2_improved_neural_bler"] = bool(
                after(float(pspec.train_p)) <= before(float(pspec.train_p)) + 1e-12
            )
        if pspec.channel == "awgn" and p < mc_count:
            rep["awgn"] = awgn_monte_carlo(
                jax.random.fold_in(jax.random.key(int(run.configs[p].seed) + 1), 0),
                pspec,
                codebook,
                prm["decoder"],
                reference.codewords(),
                tuple(ev.ebn0_db),
                int(ev.mc_target_errors),
                int(ev.mc_max_blocks),
                int(ev.mc_batch),
            )
        if run.is_main:
            with open(os.path.join(run.workdirs[p], "codebook_report.json"), "w") as f:
                json.dump(rep, f, indent=1)
        out.append(rep)
    return out


def summarize(run, results: list[dict], members: list[int], directory: str) -> dict:
    """Counts over the seeds ``members`` and the plots, in ``directory`` (``codebook_summary.json``,
    ``summary.md``, ``bler_vs_p.png``; AWGN: ``bler_vs_ebn0.png``)."""
    config = run.configs[members[0]]
    spec = run.methods[members[0]].spec
    ev, p_grid = _check_eval_config(config)
    reference = reference_code(ev.reference, spec.n, spec.k)
    training = spec.training
    entry = {
        "spec": {k: v for k, v in spec.__dict__.items()},
        "seeds": results,
        "train_seconds": run.train_seconds,
        "summary": summarize_training(results, spec.num_messages, float(ev.p_ratio)),
    }
    report: dict[str, Any] = {
        "name": config.get("name", "progressive"),
        "n": spec.n,
        "k": spec.k,
        "p_grid": p_grid.tolist(),
        "config": config.to_dict(),
        "references": reference_curves(spec.n, spec.k, p_grid, (ev.reference, reference)),
        "trainings": {training: entry},
        "workdirs": [run.workdirs[i] for i in members],
    }
    awgn = [r["awgn"] for r in results if "awgn" in r]
    if awgn:
        report["awgn"] = {"ebn0_db": [float(e) for e in ev.ebn0_db], "trainings": {training: awgn}}
    if run.is_main:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "codebook_summary.json"), "w") as f:
            json.dump(report, f, indent=1)
        plot_bsc(report, os.path.join(directory, "bler_vs_p.png"))
        if awgn:
            _plot_awgn(report, os.path.join(directory, "bler_vs_ebn0.png"))
        with open(os.path.join(directory, "summary.md"), "w") as f:
            f.write(markdown_summary(report))
    return report


def merge_summaries(directories: Sequence[str]) -> dict[str, Any]:
    """One report with the trainings of several ``codebook_summary.json`` (e.g. the three trainings of a sweep)."""
    reports = []
    for d in directories:
        with open(os.path.join(d, "codebook_summary.json")) as f:
            reports.append(json.load(f))
    out = dict(reports[0], trainings={}, workdirs=[])
    for r in reports:
        if (r["n"], r["k"], r["p_grid"]) != (out["n"], out["k"], out["p_grid"]):
            raise ValueError(f"summaries of different codes or grids cannot be merged: {list(directories)}")
        out["trainings"].update(r["trainings"])
        out["workdirs"] += r["workdirs"]
    return out


def metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """Flat numbers of one run's report (``minimum_distance``, ...) or of a summary (counts per training)."""
    if "trainings" not in result:
        out = {
            "minimum_distance": result["minimum_distance"],
            "equivalent_to_reference": result["equivalent_to"] is not None,
        }
        out.update({k: v for k, v in result["ml"].items() if k.startswith("ratio_to_converse_at")})
        return out
    out = {}
    for name, tr in result["trainings"].items():
        s = tr["summary"]
        for k in ("num_seeds", "equivalent_to_reference", "bler_equals_reference"):
            out[f"{name}/{k}"] = s.get(k)
        out[f"{name}/minimum_distance_histogram"] = s.get("minimum_distance_histogram")
        med = [k for k in s if k.startswith("median_ratio_to_converse")]
        if med:
            out[f"{name}/{med[0]}"] = s[med[0]]
    return out


def summarize_training(seeds: list[dict[str, Any]], num_messages: int, p_ratio: float) -> dict[str, Any]:
    """Counts and medians over the seed reports of one training method."""
    key = f"ratio_to_converse_at_{p_ratio:g}"
    dmins = [s["minimum_distance"] for s in seeds]
    ratios = [s["ml"].get(key) for s in seeds]
    out: dict[str, Any] = {
        "num_seeds": len(seeds),
        "equivalent_to_reference": sum(s["equivalent_to"] is not None for s in seeds),
        "perfect": sum(bool(s["is_perfect"]) for s in seeds),
        "bler_equals_reference": sum(bool(s["ml"].get("bler_equals_reference")) for s in seeds),
        "linear": sum(bool(s["is_linear"]) for s in seeds),
        "coset_of_linear": sum(bool(s["is_coset_of_linear"]) for s in seeds),
        "repeated_codewords": sum(s["num_distinct"] < num_messages for s in seeds),
        "minimum_distance_histogram": {str(d): dmins.count(d) for d in sorted(set(dmins))},
        key: ratios,
        f"median_{key}": float(np.median([r for r in ratios if r is not None]))
        if any(r is not None for r in ratios)
        else None,
    }
    if seeds and "neural_decoder" in seeds[0]:
        i = seeds[0]["p_ratio_index"]
        nd = [
            s["neural_decoder"]["bler"]["values"][i] / s["ml"]["bler"]["values"][i]
            if s["ml"]["bler"]["values"][i] > 0
            else None
            for s in seeds
        ]
        out["neural_equals_ml"] = sum(bool(s["neural_decoder"]["equals_ml_bler"]) for s in seeds)
        out[f"neural_to_ml_bler_at_{p_ratio:g}"] = nd
        out["neural_improved_by_stage2"] = sum(bool(s.get("stage2_improved_neural_bler")) for s in seeds)
    return out


def plot_bsc(report: dict[str, Any], path: str) -> None:
    """BLER vs p (log axes), one panel per training: learned codes under ML and under their neural decoders,
    the classical reference under ML, uncoded bits and the converse (curves from the exact polynomials)."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend stays as it is

    n, k = report["n"], report["k"]
    p = np.logspace(-3, np.log10(0.5), 80)
    trainings = list(report["trainings"])
    fig = Figure(figsize=(4.6 * len(trainings), 4.2))
    axes = fig.subplots(1, len(trainings), squeeze=False)
    ref = report["references"]
    ref_poly = codes_exact.WeightPolynomial(**_poly_args(ref["reference_bler"]["polynomial"]))
    for ax, name in zip(axes[0], trainings):
        for i, seed in enumerate(report["trainings"][name]["seeds"]):
            ml = codes_exact.WeightPolynomial(**_poly_args(seed["ml"]["bler"]["polynomial"]))
            ax.loglog(
                p,
                np.maximum(ml(p), 1e-12),
                color="tab:blue",
                lw=1.0,
                alpha=0.6,
                label="learned code, ML decoder" if i == 0 else None,
            )
            if "neural_decoder" in seed:
                nd = codes_exact.WeightPolynomial(**_poly_args(seed["neural_decoder"]["bler"]["polynomial"]))
                ax.loglog(
                    p,
                    np.maximum(nd(p), 1e-12),
                    color="tab:orange",
                    lw=0.8,
                    ls=(0, (2, 2)),
                    alpha=0.7,
                    label="learned code, neural decoder" if i == 0 else None,
                )
        ax.loglog(p, ref_poly(p), color="black", lw=2.2, label=f"{ref['reference_name']}, ML")
        ax.loglog(p, codes_bounds.bsc_converse(n, k, p), color="red", lw=1.3, ls=":", label="converse (PPV)")
        ax.loglog(p, codes_exact.uncoded_bler(k, p), color="tab:green", lw=1.3, ls="-.", label=f"uncoded {k} bits")
        s = report["trainings"][name]["summary"]
        ax.set_title(
            f"{name}: {s['equivalent_to_reference']}/{s['num_seeds']} equivalent to {ref['reference_name']}", fontsize=9
        )
        ax.set_xlabel("BSC crossover p")
        ax.set_ylim(1e-6, 1.0)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("block error rate (exact)")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"({n},{k}) learned codes on the BSC ({report['name']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def _plot_awgn(report: dict[str, Any], path: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: the caller's backend stays as it is

    trainings = list(report["awgn"]["trainings"])
    fig = Figure(figsize=(4.6 * len(trainings), 4.2))
    axes = fig.subplots(1, len(trainings), squeeze=False)
    ebn0 = np.asarray(report["awgn"]["ebn0_db"])
    for ax, name in zip(axes[0], trainings):
        seeds = report["awgn"]["trainings"][name]
        for i, rows in enumerate(seeds):
            for key, color, style, label in (
                ("learned_ml", "tab:blue", "-", "learned, soft ML"),
                ("neural", "tab:orange", "--", "learned, neural decoder"),
            ):
                b = np.array([r[key]["bler"] for r in rows])
                ax.semilogy(
                    ebn0,
                    np.maximum(b, 1e-7),
                    color=color,
                    ls=style,
                    lw=0.7,
                    alpha=0.5,
                    marker=".",
                    label=label if i == 0 else None,
                )
        rows = seeds[0]
        ref = np.array([r["reference_ml"]["bler"] for r in rows])
        lo = np.array([r["reference_ml"]["bler_ci"][0] for r in rows])
        hi = np.array([r["reference_ml"]["bler_ci"][1] for r in rows])
        ax.errorbar(
            ebn0,
            ref,
            yerr=[ref - lo, hi - ref],
            color="black",
            lw=2,
            capsize=3,
            marker="o",
            ms=3,
            label="Hamming(7,4) soft ML (95% CI)",
        )
        ax.semilogy(
            ebn0,
            uncoded_awgn_bler(report["k"], ebn0),
            color="tab:green",
            ls="-.",
            marker="s",
            ms=3,
            label=f"uncoded BPSK, {report['k']} bits",
        )
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("Eb/N0 (dB)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("block error rate")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def markdown_summary(report: dict[str, Any]) -> str:
    """The per-training summary table (and the AWGN table) as markdown."""
    p_ratio = report["config"]["eval"]["p_ratio"]
    key = f"ratio_to_converse_at_{p_ratio:g}"
    lines = [
        f"# {report['name']}: ({report['n']},{report['k']}) learned codes, reference "
        f"{report['references']['reference_name']}",
        "",
        *([f"Command: `{report['command']}`", ""] if report.get("command") else []),
        "| training | seeds | equivalent to reference | ML BLER = reference (1e-12) | perfect | "
        f"coset of linear | d_min histogram | median ML BLER / converse at p={p_ratio:g} | "
        "neural = ML | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, tr in report["trainings"].items():
        s = tr["summary"]
        hist = ", ".join(f"d={d}: {c}" for d, c in s["minimum_distance_histogram"].items())
        med = s[f"median_{key}"]
        lines.append(
            f"| {name} | {s['num_seeds']} | {s['equivalent_to_reference']} | "
            f"{s['bler_equals_reference']} | {s['perfect']} | {s['coset_of_linear']} | {hist} | "
            f"{'-' if med is None else f'{med:.3f}'} | {s.get('neural_equals_ml', '-')} | "
            f"{tr.get('train_seconds', 0):.0f} |"
        )
    lines += ["", f"Per seed (ML BLER / converse at p = {p_ratio:g}; d_min; equivalent code):", ""]
    for name, tr in report["trainings"].items():
        cells = []
        for s in tr["seeds"]:
            r = s["ml"].get(key)
            cells.append(
                f"{'-' if r is None else f'{r:.2f}'} (d={s['minimum_distance']}"
                f"{', ' + s['equivalent_to'] if s['equivalent_to'] else ''})"
            )
        lines.append(f"- {name}: " + "; ".join(cells))
    if "awgn" in report:
        lines += [
            "",
            "## AWGN (Monte Carlo, 95% Wilson intervals; BLER)",
            "",
            "| training | seed | Eb/N0 dB | learned soft ML | learned neural | reference soft ML | blocks |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, seeds in report["awgn"]["trainings"].items():
            for i, rows in enumerate(seeds):
                for r in rows:

                    def fmt(d):
                        return f"{d['bler']:.3g} [{d['bler_ci'][0]:.3g}, {d['bler_ci'][1]:.3g}]"

                    lines.append(
                        f"| {name} | {i} | {r['ebn0_db']:g} | {fmt(r['learned_ml'])} | "
                        f"{fmt(r['neural'])} | {fmt(r['reference_ml'])} | {r['blocks']} |"
                    )
    lines.append("")
    return "\n".join(lines)


def _poly_args(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "n": d["n"],
        "counts": tuple(int(c) for c in d["counts"]),
        "denominator": int(d["denominator"]),
        "variable": d.get("variable", "p"),
    }
