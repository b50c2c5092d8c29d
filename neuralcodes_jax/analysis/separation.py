"""Separation baselines of NECST (Choi et al. 2019): WebP + ideal channel code (Fig. 2) and VAE + LDPC (Fig. 3 left).

Both replace NECST's joint source-channel code with a source code followed by a channel code. The WebP baseline is
in ``analysis/webp_ideal.py``; this module holds the VAE + LDPC baseline and reads trained NECST runs.

**VAE + LDPC** (NECST section 5.3, Fig. 3 left). A discrete VAE (``methods/vae.py``) maps x to k bits, a rate-1/2
regular LDPC code (``codes.ldpc``) maps them to n = 2k channel bits, the BSC flips them, BP decodes, and the VAE
decoder reconstructs x from the systematic bits of BP's hard decision, also when BP fails (the last iteration's
decision; :class:`LdpcLink`). At eps = 0 BP is not run.

Distortion (per image, then averaged; as in ``likelihoods`` / ``evaluation``): ``pixel_error_rate`` (fraction of
pixels with ``round(x_hat) != round(x)``; NECST Fig. 3 left) and ``mse_per_pixel`` (mean ``(x_hat - x)^2``, x_hat
the decoder mean or the decoded WebP image in [0, 1]).
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neuralcodes_jax.analysis import model_io

PyTree = Any

# ----------------------------------------------------------------------------------------------------------------
# VAE + LDPC.


LDPC_CONSTRUCTIONS = ("peg", "gallager")


@dataclasses.dataclass(frozen=True, eq=False)
class LdpcLink:
    """A systematic LDPC link carrying ``num_source_bits`` source bits in ``n`` channel bits.

    Message bit i is codeword bit ``message_positions[i]`` (systematic ``LdpcCode.generator``); source bits fill the
    first ``num_source_bits``. Extra message bits (dependent rows of ``H``) are fixed to 0, known to the receiver
    (LLR ``+known_llr``) and still sent, so the source rate is exactly ``num_source_bits / n``.

    Attributes:
      code: the ``codes.ldpc.LdpcCode``.
      num_source_bits: k, the bits the VAE sends.
      description: how the code was made, for reports.
      known_llr: LLR of the known (fixed-zero) message positions.
    """

    code: Any
    num_source_bits: int
    description: str = ""
    known_llr: float = 20.0

    def __post_init__(self):
        k = self.num_source_bits
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"num_source_bits must be a positive int, got {k!r}")
        if k > self.code.k:
            raise ValueError(
                f"num_source_bits ({k}) exceeds the code dimension k={self.code.k} (n={self.code.n}); use a longer code"
            )

    @property
    def n(self) -> int:
        return int(self.code.n)

    @property
    def message_positions(self) -> np.ndarray:
        return np.asarray(self.code.information_positions, np.int64)

    @property
    def source_rate(self) -> float:
        return self.num_source_bits / self.n

    def encode(self, source_bits: Any) -> np.ndarray:
        """``[N, k]`` source bits -> ``[N, n]`` uint8 codewords (padding message bits are 0)."""
        s = np.asarray(source_bits)
        if s.ndim != 2 or s.shape[1] != self.num_source_bits:
            raise ValueError(f"source_bits must have shape [N, {self.num_source_bits}], got {s.shape}")
        if np.any((s != 0) & (s != 1)):
            raise ValueError("source_bits must be 0/1")
        msg = np.zeros((s.shape[0], self.code.k), np.uint8)
        msg[:, : self.num_source_bits] = s
        return np.asarray(self.code.encode(msg), np.uint8)

    def extract(self, bits: Any) -> np.ndarray:
        """The source bits at the systematic positions of ``[N, n]`` words, ``[N, k]`` uint8."""
        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.n:
            raise ValueError(f"bits must have shape [N, {self.n}], got {bits.shape}")
        return bits[:, self.message_positions[: self.num_source_bits]].astype(np.uint8)

    def decode_bsc(
        self, received: Any, eps: float, *, algorithm: str = "sum_product", max_iters: int = 50, **bp_kw: Any
    ) -> dict[str, np.ndarray]:
        """BP decoding of BSC outputs ``[N, n]``: ``{'bits' [N, n], 'converged' [N], 'iterations' [N]}``.

        At eps = 0 BP is not run (received words returned); at eps = 0.5 the LLRs are 0 (decision: all zeros).
        ``bits`` is BP's last hard decision, converged or not.
        """
        from neuralcodes_jax.codes import ldpc

        if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating)) or not 0.0 <= eps <= 0.5:
            raise ValueError(f"eps must be in [0, 0.5], got {eps!r}")
        eps = float(eps)
        y = np.asarray(received)
        if y.ndim != 2 or y.shape[1] != self.n:
            raise ValueError(f"received must have shape [N, {self.n}], got {y.shape}")
        if eps == 0.0:
            return {
                "bits": y.astype(np.uint8),
                "converged": np.ones(y.shape[0], bool),
                "iterations": np.zeros(y.shape[0], np.int32),
            }
        if eps == 0.5:
            llr = np.zeros(y.shape, np.float32)
        else:
            llr = np.asarray(ldpc.channel_llr("bsc", y, eps), np.float32).copy()
        pad = self.message_positions[self.num_source_bits :]
        if pad.size:
            llr[:, pad] = self.known_llr
        res = ldpc.bp_decode(self.code, llr, algorithm=algorithm, max_iters=max_iters, **bp_kw)
        return {
            "bits": np.asarray(res.bits).astype(np.uint8),
            "converged": np.asarray(res.converged, bool),
            "iterations": np.asarray(res.iterations, np.int32),
        }


def make_ldpc_link(
    n: int,
    num_source_bits: int,
    *,
    d_v: int = 3,
    d_c: int = 6,
    seed: int = 0,
    construction: str = "peg",
    max_seed_tries: int = 100,
) -> LdpcLink:
    """A regular (d_v, d_c) LDPC code of length n carrying ``num_source_bits`` source bits.

    ``construction='peg'``: ``codes.ldpc.peg_regular`` (``n d_v`` a multiple of ``d_c``) with the first seed
    ``>= seed`` giving no 4-cycle; ``'gallager'``: ``codes.ldpc.gallager_regular``, 4-cycles removed (n a multiple
    of ``d_c``). Raises ValueError for an unknown construction, bad n / degrees, or a dimension below
    ``num_source_bits``.
    """
    from neuralcodes_jax.codes import ldpc

    if construction not in LDPC_CONSTRUCTIONS:
        raise ValueError(f"construction must be one of {list(LDPC_CONSTRUCTIONS)}, got {construction!r}")
    if construction == "peg":
        # The degree cap can force a 4-cycle on the last edges; take the first seed >= ``seed`` without one.
        for used in range(int(seed), int(seed) + max_seed_tries):
            h = ldpc.peg_regular(n, d_v, d_c, seed=used)
            if ldpc.count_4cycles(h) == 0:
                break
        else:
            raise ValueError(
                f"no 4-cycle-free PEG matrix for n={n}, ({d_v},{d_c}) with seeds {seed} ... "
                f"{seed + max_seed_tries - 1}; raise max_seed_tries"
            )
        seed = used
        label = "progressive edge growth"
    else:
        h = ldpc.gallager_regular(int(n), int(d_v), int(d_c), seed=int(seed), remove_4cycles=True)
        label = "Gallager's construction, 4-cycles removed"
    code = ldpc.LdpcCode(h, f"({d_v},{d_c}) {construction} n={n} seed={seed}")
    girth = code.girth()
    extra = code.k - int(num_source_bits) if isinstance(num_source_bits, (int, np.integer)) else 0
    desc = (
        f"regular ({d_v},{d_c}) LDPC by {label}, n={code.n}, {code.m} checks of rank {code.rank}, dimension "
        f"k={code.k}, girth {girth if girth is not None else '> 12'}, seed {seed}; {num_source_bits} source bits"
        + (f" ({extra} message bit(s) fixed to 0, known to the decoder)" if extra > 0 else "")
    )
    return LdpcLink(
        code=code, num_source_bits=int(num_source_bits), description=desc, known_llr=float(ldpc.DEFAULT_LLR_CLIP)
    )


def _metric_fns(method) -> Callable:
    import jax
    import jax.numpy as jnp

    from neuralcodes_jax import likelihoods

    nd = len(method.output_shape)

    def metrics(params, z, x):
        out = method.decode_float(params, z.astype(jnp.float32))
        return {
            "pixel_error_rate": likelihoods.pixel_error_rate(out, x, event_ndim=nd),
            "mse_per_pixel": likelihoods.per_pixel_mse(out, x, event_ndim=nd),
            "bce_per_pixel_nats": likelihoods.per_pixel_bce(out, x, event_ndim=nd),
            "sse_per_image": likelihoods.per_image_sse(out, x, event_ndim=nd),
        }

    return jax.jit(metrics)


def vae_latents(method, params, x: np.ndarray, key, mode: str, batch_size: int = 2000) -> np.ndarray:
    """The VAE's k bits for images x: ``'threshold'`` (1[q > 1/2]) or ``'sample'`` (z ~ q(z|x)), ``[N, k]``."""
    import jax

    if mode not in ("threshold", "sample"):
        raise ValueError(f"encoder mode must be one of ['threshold', 'sample'], got {mode!r}")
    encode = jax.jit(method.encode)
    out = []
    for i, start in enumerate(range(0, x.shape[0], batch_size)):
        logits = np.asarray(encode(params, x[start : start + batch_size]))
        if mode == "threshold":
            out.append((logits > 0).astype(np.uint8))
        else:
            u = np.asarray(jax.random.uniform(jax.random.fold_in(key, i), logits.shape))
            out.append((u < 1.0 / (1.0 + np.exp(-logits))).astype(np.uint8))
    return np.concatenate(out)


def vae_ldpc_evaluate(
    method,
    params,
    link: LdpcLink,
    x: Any,
    key,
    noise_levels: Sequence[float],
    *,
    encoder: str = "threshold",
    num_draws: int = 1,
    algorithm: str = "sum_product",
    max_iters: int = 50,
    batch_size: int = 2000,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """VAE + LDPC over the BSC at each noise level: distortion and BP statistics.

    Per image and each of ``num_draws`` draws: VAE bits (``encoder`` mode; a fresh sample per draw for ``'sample'``)
    -> :meth:`LdpcLink.encode` -> BSC(eps) -> BP -> systematic bits -> VAE decoder.

    Returns ``{'rows': [...], 'noiseless': {...}, ...}``: per row, each metric's mean and standard error over images
    (of the per-image mean over draws), ``frame_error_rate`` (decoded word != sent codeword), ``bp_failure_rate``
    (no valid codeword), ``undetected_error_rate`` (valid but wrong codeword), ``source_bit_error_rate``,
    ``mean_iterations``. ``noiseless``: the VAE decoded from its own bits.
    """
    import jax

    x = np.asarray(x, np.float32)
    if x.shape[1:] != tuple(method.output_shape):
        raise ValueError(f"x must have shape [N, *{tuple(method.output_shape)}], got {x.shape}")
    if num_draws < 1:
        raise ValueError(f"num_draws must be >= 1, got {num_draws}")
    levels = [float(e) for e in noise_levels]
    for eps in levels:
        if not 0.0 <= eps <= 0.5:
            raise ValueError(f"noise_levels entries must be in [0, 0.5], got {eps}")
    metrics_fn = _metric_fns(method)
    n_img = x.shape[0]

    def distortion(z):
        acc = []
        for start in range(0, n_img, batch_size):
            acc.append(
                {
                    k: np.asarray(v, np.float64)
                    for k, v in metrics_fn(params, z[start : start + batch_size], x[start : start + batch_size]).items()
                }
            )
        return {k: np.concatenate([a[k] for a in acc]) for k in acc[0]}

    def summarise(per_image):
        out = {}
        for k, v in per_image.items():
            out[k] = float(v.mean())
            out[k + "_se"] = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0
        return out

    k_enc, k_chan = jax.random.split(key)
    z_fixed = vae_latents(method, params, x, k_enc, encoder) if encoder == "threshold" else None
    noiseless = summarise(
        distortion(
            z_fixed if z_fixed is not None else vae_latents(method, params, x, jax.random.fold_in(k_enc, 0), encoder)
        )
    )
    rows = []
    for li, eps in enumerate(levels):
        sums: dict[str, np.ndarray] = {}
        fer = fail = undetected = bit_err = iters = 0.0
        for d in range(num_draws):
            z = (
                z_fixed
                if z_fixed is not None
                else vae_latents(method, params, x, jax.random.fold_in(k_enc, d), encoder)
            )
            c = link.encode(z)
            flips = np.asarray(
                jax.random.bernoulli(jax.random.fold_in(jax.random.fold_in(k_chan, li), d), eps, c.shape), np.uint8
            )
            res = link.decode_bsc(c ^ flips, eps, algorithm=algorithm, max_iters=max_iters)
            z_hat = link.extract(res["bits"])
            wrong_word = np.any(res["bits"] != c, axis=1)
            fer += wrong_word.mean()
            fail += (~res["converged"]).mean()
            undetected += (wrong_word & res["converged"]).mean()
            bit_err += (z_hat != z).mean()
            iters += res["iterations"].mean()
            for k, v in distortion(z_hat).items():
                sums[k] = sums.get(k, 0.0) + v
        row = {
            "eps": eps,
            **summarise({k: v / num_draws for k, v in sums.items()}),
            "frame_error_rate": fer / num_draws,
            "bp_failure_rate": fail / num_draws,
            "undetected_error_rate": undetected / num_draws,
            "source_bit_error_rate": bit_err / num_draws,
            "mean_iterations": iters / num_draws,
        }
        rows.append(row)
        if log:
            log(
                f"  eps={eps:g}: pixel error {row['pixel_error_rate']:.4f}, FER {row['frame_error_rate']:.4f}, "
                f"BP failures {row['bp_failure_rate']:.4f}, {row['mean_iterations']:.1f} iterations"
            )
    return {
        "encoder": encoder,
        "num_draws": int(num_draws),
        "num_examples": int(n_img),
        "algorithm": algorithm,
        "max_iters": int(max_iters),
        "code": link.description,
        "n": link.n,
        "num_source_bits": link.num_source_bits,
        "noiseless": noiseless,
        "rows": rows,
    }


# ----------------------------------------------------------------------------------------------------------------
# Trained NECST runs (loaded by ``model_io.load_model``).


def read_eval_row(workdir: str | os.PathLike, eps: float | None = None) -> dict[str, Any]:
    """The row of ``WORKDIR/eval.json`` at test noise ``eps`` (default: the run's training noise)."""
    path = pathlib.Path(workdir) / "eval.json"
    if not path.is_file():
        raise ValueError(f"workdir must hold eval.json, not found: {path}")
    from neuralcodes_jax.config_utils import read_json_file

    results = read_json_file(path, "rerun the run's command to evaluate it again")
    eps = float(results["train_eps"]) if eps is None else float(eps)
    for row in results["rows"]:
        if abs(float(row["eps"]) - eps) < 1e-9:
            return dict(
                row, num_examples=results["num_examples"], num_channel_samples=results.get("num_channel_samples", 1)
            )
    raise ValueError(f"{path} has no row at eps={eps}; rows: {[r['eps'] for r in results['rows']]}")


def necst_per_image_distortion(
    model: model_io.LoadedModel, x: Any, key, eps: float, metric: str, *, num_draws: int = 5, batch_size: int = 2000
) -> np.ndarray:
    """Per-image distortion of a NECST model (``model_io.load_model``) at test noise eps, mean over ``num_draws``."""
    import functools

    import jax

    if metric not in ("pixel_error_rate", "mse_per_pixel", "bce_per_pixel_nats", "sse_per_image"):
        raise ValueError(f"metric must be a NECST eval metric, got {metric!r}")
    method = dataclasses.replace(model.method, eval_num_samples=int(num_draws))
    fn = jax.jit(functools.partial(method.eval_batch, eps=float(eps)))
    x = np.asarray(x, np.float32)
    out = []
    for i, start in enumerate(range(0, x.shape[0], batch_size)):
        res = fn(model.params, x[start : start + batch_size], jax.random.fold_in(key, i))
        out.append(np.asarray(res[metric], np.float64))
    return np.concatenate(out)
