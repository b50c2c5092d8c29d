"""Codes and decoders by name, for the AWGN evaluator and ``python -m launch.codes``.

A code is named ``family:args`` and a decoder ``name[:args]``:

=========================  ===========================================================================
code                       what
=========================  ===========================================================================
``polar5g:N,K[,crcX]``     polar code, 5G reliability sequence (TS 38.212), optional 5G CRC (``crc6``,
                           ``crc11``, ``crc16``, ``crc24a``, ``crc24b``, ``crc24c``); K counts message bits
``polarga:N,K,DB[,crcX]``  polar code by Gaussian approximation at design Eb/N0 ``DB`` (dB)
``ldpc5g:N,K``             5G NR LDPC code (base graph and lifting by the standard, shortening, puncturing)
``bch:N,K``, ``ebch:N,K``  primitive BCH code and its extension by an overall parity bit
``rm:R,M``                 Reed-Muller code RM(R, M)
``hamming:R``              Hamming(2^R - 1, 2^R - 1 - R); ``golay``, ``egolay``
``ref:NAME``               a name of ``codes.structure.reference_codes()`` (e.g. ``ref:Golay(23,12)``)
``file:PATH``              a parity-check matrix: ``.alist`` or a dense ``.txt`` (the learned-decoder benchmark's
                           ``ecc_codes/`` files), or a JSON file of generators (``PATH.json[:INDEX]``, e.g. a
                           learned code's report)
=========================  ===========================================================================

=====================================  =====================================================================
decoder                                for
=====================================  =====================================================================
``sc``, ``scl:L``, ``scl:L,nocrc``     polar codes (SCL with CRC-aided selection when the code has a CRC)
``bp[:ITERS[,layered|flooding]``       LDPC codes and any code given by its parity-check matrix (sum-product;
``[,min_sum]]``                        ``min_sum`` is normalised min-sum with the library's alpha)
``osd:ORDER``                          any linear code (ordered statistics, order 0..3)
``ml``                                 any linear code with k <= 16 (correlation with every codeword)
=====================================  =====================================================================

Every decoder maps channel LLRs ``[B, n]`` (``log P(0)/P(1)``) to message decisions ``[B, k]``, is jit-safe, and
is what :func:`codes.awgn.simulate_awgn` calls.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from neuralcodes_jax.codes import crc, gf2, ldpc, ldpc5g, linear, osd, polar, structure

CODE_FAMILIES = ("polar5g", "polarga", "ldpc5g", "bch", "ebch", "rm", "hamming", "golay", "egolay", "ref", "file")
DECODERS = ("sc", "scl", "bp", "osd", "ml")
#: Decoders whose decisions are codewords: their runs also bound the ML BLER from below (``codes.awgn``).
ML_BRACKETED = ("osd", "ml")


@dataclasses.dataclass(frozen=True, eq=False)
class Code:
    """A named code: ``n``, ``k`` (message bits), ``encode`` (JAX, ``[B, k] -> [B, n]``), and the object behind it
    (a :class:`polar.PolarCode`, :class:`ldpc5g.NrLdpcCode` or :class:`linear.LinearCode`)."""

    name: str
    n: int
    k: int
    obj: Any
    encode: Callable[[Any], Any]
    #: The parity-check matrix BP runs on, as given (a benchmark file's redundant rows kept); None: the code's own.
    bp_matrix: Any = None

    @property
    def rate(self) -> float:
        return self.k / self.n


def _ints(spec: str, args: str, count: tuple[int, ...]) -> list[int]:
    parts = [a.strip() for a in args.split(",") if a.strip()] if args else []
    if len(parts) not in count:
        raise ValueError(
            f"code {spec!r} needs {' or '.join(map(str, count))} comma-separated arguments, got {len(parts)}"
        )
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"code {spec!r}: arguments must be integers, got {args!r}") from None


def _crc_of(spec: str, word: str | None):
    if word is None:
        return None
    name = word.upper()
    if name not in crc.CRC_POLYNOMIALS:
        raise ValueError(
            f"code {spec!r}: the CRC must be one of {[c.lower() for c in crc.CRC_POLYNOMIALS]}, got {word!r}"
        )
    return crc.CRC_POLYNOMIALS[name]


def _linear(name: str, code: linear.LinearCode) -> Code:
    return Code(name=name, n=code.n, k=code.k, obj=code, encode=lambda u: code.encode(u))


def _from_file(spec: str, path: str) -> Code:
    base = path.split(".json")[0] + ".json" if ".json" in path else path
    if not os.path.isfile(base):
        raise ValueError(f"code {spec!r}: no file {base!r}")
    if ".json" in path:
        import json

        with open(base) as f:
            data = json.load(f)
        rows = data.get("generator") or (data.get("generators") or [None])[0]
        if rows is None:
            raise ValueError(f"code {spec!r}: {base!r} holds no 'generator' or 'generators'")
        g = np.array([[int(b) for b in r] for r in rows], np.uint8)
        return _linear(os.path.basename(path), structure.code_from_source(path, g.shape[1], g.shape[0], "code"))
    h = parity_check_from_file(path)
    reduced, pivots = gf2.row_reduce(h, f"parity-check matrix of {path!r}")
    code = linear.LinearCode.from_parity_check(reduced[: len(pivots)], name=os.path.basename(path))
    return dataclasses.replace(_linear(os.path.basename(path), code), bp_matrix=h)


def parity_check_from_file(path: str) -> np.ndarray:
    """A parity-check matrix from an ``.alist`` file or a dense ``.txt`` file (rows of 0/1 separated by spaces),
    checked: binary entries, and rank ``n - k`` where the file's name gives them (``..._N<n>_K<k>...``, as the
    learned-decoder benchmark's files do; LDPC matrices may have redundant rows), else full row rank
    (``ValueError`` naming the file otherwise)."""
    if path.endswith(".alist"):
        h = ldpc.read_alist(path)
    else:
        try:
            h = np.loadtxt(path, dtype=np.int64, ndmin=2)
        except ValueError as err:
            raise ValueError(f"parity-check file {path!r} is not a matrix of integers: {err}") from None
        if not np.isin(h, (0, 1)).all():
            raise ValueError(f"parity-check file {path!r} has entries other than 0 and 1")
    h = gf2.as_binary_matrix(h, f"parity-check matrix of {path!r}")
    rank = gf2.rank(h)
    named = re.search(r"_N(\d+)_K(\d+)", os.path.basename(path))
    if named:
        n, k = int(named.group(1)), int(named.group(2))
        if h.shape[1] != n:
            raise ValueError(f"parity-check file {path!r}: the matrix has {h.shape[1]} columns, its name says n = {n}")
        if rank != n - k:
            raise ValueError(
                f"parity-check file {path!r}: the {h.shape[0]} x {n} matrix has rank {rank}, its name "
                f"says n - k = {n - k}"
            )
    elif rank != h.shape[0]:
        raise ValueError(
            f"parity-check file {path!r}: the {h.shape[0]} x {h.shape[1]} matrix has rank {rank}, "
            f"not {h.shape[0]} (its rows must be independent)"
        )
    return h


def make_code(spec: str) -> Code:
    """The code named by ``spec`` (module docstring); ``ValueError`` naming the spec and what is allowed."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"code must be a string such as 'polar5g:128,64,crc11', got {spec!r}")
    family, _, args = spec.partition(":")
    family = family.strip().lower()
    if family in ("polar5g", "polarga"):
        words = [a.strip() for a in args.split(",") if a.strip()]
        crc_word = words.pop() if words and words[-1].lower().startswith("crc") else None
        if family == "polar5g":
            n, k = _ints(spec, ",".join(words), (2,))
            code = polar.polar_code(n, k, _crc_of(spec, crc_word))
        else:
            if len(words) != 3:
                raise ValueError(f"code {spec!r} needs N,K,DESIGN_EBNO_DB[,crcX]")
            n, k = _ints(spec, ",".join(words[:2]), (2,))
            code = polar.polar_code(n, k, _crc_of(spec, crc_word), construction="ga", design_ebno_db=float(words[2]))
        return Code(name=spec, n=n, k=k, obj=code, encode=lambda u: polar.polar_encode(code, u))
    if family == "ldpc5g":
        n, k = _ints(spec, args, (2,))
        code = ldpc5g.nr_ldpc(k, n)
        return Code(name=spec, n=n, k=k, obj=code, encode=lambda u: code.encode(jnp.asarray(u)))
    if family in ("bch", "ebch"):
        n, k = _ints(spec, args, (2,))
        return _linear(spec, (linear.bch_code if family == "bch" else linear.extended_bch_code)(n, k))
    if family == "rm":
        r, m = _ints(spec, args, (2,))
        return _linear(spec, linear.reed_muller(r, m))
    if family == "hamming":
        (r,) = _ints(spec, args, (1,))
        return _linear(spec, linear.hamming_code(r))
    if family in ("golay", "egolay"):
        _ints(spec, args, (0,))
        return _linear(spec, linear.golay_code() if family == "golay" else linear.extended_golay_code())
    if family == "ref":
        refs = structure.reference_codes()
        if args not in refs:
            raise ValueError(f"code {spec!r}: the name must be one of {sorted(refs)}")
        return _linear(spec, refs[args]())
    if family == "file":
        return _from_file(spec, args)
    raise ValueError(f"code family must be one of {list(CODE_FAMILIES)}, got {family!r} (in {spec!r})")


def _pair(decision: osd.SoftDecision) -> tuple[Any, Any]:
    return decision.messages, decision.codewords


def make_decoder(code: Code, spec: str, *, with_codewords: bool = False) -> Callable[[Any], Any]:
    """The decoder ``spec`` of ``code``: channel LLRs ``[B, n]`` -> message decisions ``[B, k]`` (jit-safe). With
    ``with_codewords`` (``osd`` and ``ml`` only, whose decisions are codewords): ``(messages, codewords [B, n])``,
    as ``codes.awgn.simulate_awgn(..., ml_bracket=True)`` reads."""
    if with_codewords and spec.partition(":")[0].strip().lower() not in ML_BRACKETED:
        raise ValueError(f"with_codewords is for the decoders {list(ML_BRACKETED)}, got {spec!r}")
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"decoder must be a string such as 'scl:8', got {spec!r}")
    name, _, args = spec.partition(":")
    name = name.strip().lower()
    words = [a.strip().lower() for a in args.split(",") if a.strip()] if args else []
    obj = code.obj
    if name in ("sc", "scl"):
        if not isinstance(obj, polar.PolarCode):
            raise ValueError(f"decoder {spec!r} needs a polar code, got {code.name!r}")
        if name == "sc":
            return lambda llr: polar.sc_decode(obj, llr).message
        if not words:
            raise ValueError(f"decoder {spec!r} needs a list size, e.g. 'scl:8'")
        try:
            size = int(words[0])
        except ValueError:
            raise ValueError(f"decoder {spec!r}: the list size must be an integer, got {words[0]!r}") from None
        aided = "nocrc" not in words[1:]
        polar.scl_decode(obj, np.zeros((1, obj.n), np.float32), size, crc_aided=aided)  # checks the arguments
        return lambda llr: polar.scl_decode(obj, llr, size, crc_aided=aided).message
    if name == "bp":
        iters = int(words[0]) if words else 20
        schedule = next(
            (w for w in words[1:] if w in ("layered", "flooding")),
            "layered" if isinstance(obj, ldpc5g.NrLdpcCode) else "flooding",
        )
        algorithm = "min_sum" if "min_sum" in words[1:] else "sum_product"
        unknown = [w for w in words[1:] if w not in ("layered", "flooding", "min_sum", "sum_product")]
        if unknown:
            raise ValueError(
                f"decoder {spec!r}: unknown options {unknown}; allowed: layered, flooding, min_sum, sum_product"
            )
        if isinstance(obj, ldpc5g.NrLdpcCode):
            return lambda llr: obj.decode(llr, schedule=schedule, algorithm=algorithm, max_iters=iters).message
        if isinstance(obj, linear.LinearCode):
            h = obj.parity_check if code.bp_matrix is None else code.bp_matrix
            return lambda llr: obj.unencode(
                ldpc.bp_decode(h, llr, algorithm=algorithm, max_iters=iters, schedule=schedule).bits
            )
        raise ValueError(f"decoder {spec!r} needs an LDPC or linear code, got {code.name!r}")
    if name in ("osd", "ml"):
        if not isinstance(obj, linear.LinearCode):
            raise ValueError(f"decoder {spec!r} needs a linear code given by a generator, got {code.name!r}")
        if name == "ml":
            osd.ml_decode(obj, np.zeros((1, obj.n), np.float32))  # checks k <= 16
            return (
                (lambda llr: _pair(osd.ml_decode(obj, llr)))
                if with_codewords
                else (lambda llr: osd.ml_decode(obj, llr).messages)
            )
        if len(words) != 1:
            raise ValueError(f"decoder {spec!r} needs its order, e.g. 'osd:2'")
        order = int(words[0])
        osd.osd_decode(obj, np.zeros((1, obj.n), np.float32), order=order)  # checks the order
        return (
            (lambda llr: _pair(osd.osd_decode(obj, llr, order=order)))
            if with_codewords
            else (lambda llr: osd.osd_decode(obj, llr, order=order).messages)
        )
    raise ValueError(f"decoder must be one of {list(DECODERS)}, got {name!r} (in {spec!r})")


# ----------------------------------------------------------------------------------------------------------------
# BLER / BER versus Eb/N0 of a code and its decoders, beside the BI-AWGN limits at the same (n, k).


def parse_ebno(text: str) -> list[float]:
    """``'0:0.5:4'`` (start:step:stop, stop included) or ``'1,2,3.5'`` -> Eb/N0 values in dB (at least one)."""
    text = str(text).strip()
    try:
        if ":" in text:
            start, step, stop = (float(v) for v in text.split(":"))
            if step <= 0:
                raise ValueError(f"ebno step must be > 0, got {step}")
            values = [round(start + i * step, 10) for i in range(int(np.floor((stop - start) / step + 1e-9)) + 1)]
        else:
            values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise ValueError(
            f"ebno must be START:STEP:STOP or a comma-separated list of dB values, got {text!r} ({err})"
        ) from None
    if not values or not all(np.isfinite(values)):
        raise ValueError(f"ebno must name at least one finite Eb/N0 value, got {text!r}")
    return values


def limits(n: int, k: int, ebno_db: list[float], converse: bool = True) -> dict[str, list[float]]:
    """The BI-AWGN normal approximation and (``converse``) meta-converse BLER of an ``(n, k)`` code at each Eb/N0."""
    from neuralcodes_jax.codes import bounds

    sigma = [bounds.ebn0_db_to_sigma(e, k / n) for e in ebno_db]
    out = {"normal_approximation": [float(bounds.biawgn_normal_approximation(n, k, s)) for s in sigma]}
    if converse:
        out["converse"] = [float(bounds.biawgn_converse(n, k, s)) for s in sigma]
    return out


def evaluate(
    code_spec: str,
    decoder_specs: list[str],
    ebno_db: list[float],
    *,
    seed: int = 0,
    batch_size: int = 1000,
    target_block_errors: int = 100,
    max_blocks: int = 100_000,
    with_converse: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Monte Carlo BLER/BER of ``code_spec`` under each decoder on the same messages and noise (the same key per
    Eb/N0 point), with the BI-AWGN limits at its ``(n, k)``. Returns a JSON-ready dict."""
    import time

    from neuralcodes_jax.codes import awgn

    code = make_code(code_spec)
    bracketed = {spec: spec.partition(":")[0].strip().lower() in ML_BRACKETED for spec in decoder_specs}
    decoders = {spec: make_decoder(code, spec, with_codewords=bracketed[spec]) for spec in decoder_specs}
    out = {
        "code": code_spec,
        "n": code.n,
        "k": code.k,
        "rate": code.rate,
        "ebno_db": list(ebno_db),
        "seed": seed,
        "target_block_errors": target_block_errors,
        "max_blocks": max_blocks,
        "decoders": {},
        "limits": limits(code.n, code.k, ebno_db, converse=with_converse),
    }
    for spec, decode in decoders.items():
        t0 = time.time()

        def report(point, spec=spec):
            if progress is not None:
                progress(
                    f"{code_spec} {spec} Eb/N0 {point.ebn0_db:g} dB: BLER {point.bler:.3g} "
                    f"[{point.bler_lo:.3g}, {point.bler_hi:.3g}] ({point.block_errors} errors in "
                    f"{point.blocks} blocks)"
                )

        points = awgn.simulate_awgn(
            decode,
            code.k,
            code.n,
            ebno_db,
            code.encode,
            key=seed,
            batch_size=batch_size,
            target_block_errors=target_block_errors,
            max_blocks=max_blocks,
            progress=report,
            ml_bracket=bracketed[spec],
        )
        out["decoders"][spec] = {"points": [dataclasses.asdict(p) for p in points], "seconds": time.time() - t0}
    return out


def markdown(result: dict) -> str:
    """The table of one :func:`evaluate` result."""
    specs = list(result["decoders"])
    # OSD runs also bracket the ML BLER: [lower end of the likelier-decision rate, upper end of OSD's BLER].
    bracket = [
        s
        for s in specs
        if s.startswith("osd") and result["decoders"][s]["points"][0].get("ml_block_errors") is not None
    ]
    head = (
        ["Eb/N0 (dB)"]
        + [f"{s} BLER [95% CI]" for s in specs]
        + [f"ML BLER within (from {s})" for s in bracket]
        + ["normal approx."]
    )
    if "converse" in result["limits"]:
        head.append("converse")
    lines = [
        f"{result['code']}: n = {result['n']}, k = {result['k']}, BPSK-AWGN, soft decisions",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for i, e in enumerate(result["ebno_db"]):
        cells = [f"{e:g}"]
        for s in specs:
            p = result["decoders"][s]["points"][i]
            cells.append(
                f"{p['bler']:.3g} [{p['bler_lo']:.3g}, {p['bler_hi']:.3g}] ({p['block_errors']}/{p['blocks']})"
            )
        for s in bracket:
            p = result["decoders"][s]["points"][i]
            cells.append(f"[{p['ml_bler_lo']:.3g}, {p['bler_hi']:.3g}] ({p['ml_block_errors']} likelier)")
        cells.append(f"{result['limits']['normal_approximation'][i]:.3g}")
        if "converse" in result["limits"]:
            cells.append(f"{result['limits']['converse'][i]:.3g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(results: list[dict], path: str) -> None:
    """BLER versus Eb/N0 of every code and decoder in ``results``, with each code's normal approximation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 5.0))
    colors = plt.get_cmap("tab10").colors
    markers = "osD^vP*X<>"
    curve = 0
    limits_drawn = set()
    for r in results:
        e = r["ebno_db"]
        for spec, d in r["decoders"].items():
            bler = [p["bler"] if p["block_errors"] else np.nan for p in d["points"]]
            ax.semilogy(
                e,
                bler,
                marker=markers[curve % len(markers)],
                color=colors[curve % len(colors)],
                label=f"{r['code']} {spec}",
            )
            curve += 1
        if (r["n"], r["k"]) not in limits_drawn:
            limits_drawn.add((r["n"], r["k"]))
            ax.semilogy(
                e,
                r["limits"]["normal_approximation"],
                linestyle="--",
                color="black",
                label=f"normal approximation ({r['n']},{r['k']})",
            )
            if "converse" in r["limits"]:
                ax.semilogy(
                    e, r["limits"]["converse"], linestyle=":", color="black", label=f"meta-converse ({r['n']},{r['k']})"
                )
    ax.set_xlabel("Eb/N0 (dB)")
    ax.set_ylabel("BLER")
    ax.grid(True, which="both", alpha=0.3)
    if curve:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(
    code: str,
    decoders: list[str],
    ebno: str,
    *,
    errors: int,
    max_blocks: int,
    batch: int,
    seed: int,
    converse: bool,
    out: str | None,
    log=print,
) -> dict:
    """Evaluates ``code`` under ``decoders`` at the Eb/N0 list ``ebno`` (``parse_ebno``), logs the markdown table
    and, with ``out``, writes ``out.json``, ``out.md`` and ``out.png``; returns the result of :func:`evaluate`."""
    values = parse_ebno(ebno)
    if not decoders:
        raise ValueError("--decoder must be given at least once, e.g. --decoder=scl:8")
    result = evaluate(
        code,
        decoders,
        values,
        seed=seed,
        batch_size=batch,
        target_block_errors=errors,
        max_blocks=max_blocks,
        with_converse=converse,
        progress=log,
    )
    table = markdown(result)
    log(table)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out + ".json", "w") as f:
            json.dump(result, f, indent=1)
        with open(out + ".md", "w") as f:
            f.write(table)
        plot([result], out + ".png")
        log(f"wrote {out}.json, {out}.md, {out}.png")
    return result
