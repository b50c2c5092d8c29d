"""The WebP + ideal channel code separation baseline of NECST (Choi et al. 2019, section 5.2, Fig. 2).

**WebP + ideal channel code** (NECST section 5.2, Fig. 2). Test images are compressed with WebP (Pillow,
``method=6``) over a quality grid and losslessly. The *payload* (:func:`webp_payload_bits`) is the data of the image
chunks (``VP8 ``, ``VP8L``, ``ALPH``): the file minus the 12-byte RIFF header, 8-byte chunk headers, padding and
metadata chunks (``VP8X``, ``ICCP``, ``EXIF``, ``XMP ``, ...), i.e. ``8 (len(file) - 20)`` bits for Pillow's
one-chunk files of small images. ``exclude_frame_header=True`` also drops the fixed frame header (``VP8 ``: 3-byte
frame tag + 7-byte key-frame header; ``VP8L``: 5-byte signature and size), a generous count for a receiver that knows
the image size. For a NECST operating point (m bits, distortion D at noise eps) the smallest payload ``b`` reaching D
is found per image (:func:`smallest_bits_at_distortion`); channel bits are ``b / C``, ``C = 1 - H_b(eps)``
(:func:`ideal_channel_bits`), or the finite-blocklength limits of ``codes.bounds`` at a target block error rate
(:func:`fbl_channel_bits`).

Distortion (per image, then averaged; as in ``likelihoods`` / ``evaluation``): ``pixel_error_rate`` (fraction of
pixels with ``round(x_hat) != round(x)``; NECST Fig. 3 left) and ``mse_per_pixel`` (mean ``(x_hat - x)^2``, x_hat
the decoder mean or the decoded WebP image in [0, 1]).
"""

from __future__ import annotations

import dataclasses
import io
import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from neuralcodes_jax.codes import bounds

WEBP_IMAGE_CHUNKS = ("VP8 ", "VP8L", "ALPH")
"""Chunks whose data is counted as payload; every other chunk (VP8X, ICCP, EXIF, XMP, ANIM, ...) is metadata."""

WEBP_FRAME_HEADER_BYTES = {"VP8 ": 10, "VP8L": 5}
"""Fixed-size frame headers removed by ``exclude_frame_header`` (VP8: frame tag 3 + start code 3 + size 4;
VP8L: signature 1 + size/alpha/version 4)."""

IMAGE_METRICS = ("pixel_error_rate", "mse_per_pixel")


# ----------------------------------------------------------------------------------------------------------------
# WebP: encoding, container parsing, payload bits.


def _image_mode(shape: tuple[int, ...]) -> str:
    if len(shape) == 2 or (len(shape) == 3 and shape[2] == 1):
        return "L"
    if len(shape) == 3 and shape[2] == 3:
        return "RGB"
    raise ValueError(f"image must have shape [H, W], [H, W, 1] or [H, W, 3], got {shape}")


def to_uint8_image(image: Any) -> np.ndarray:
    """A float image in [0, 1] (or uint8) as uint8 ``[H, W]`` (grey) or ``[H, W, 3]`` (RGB)."""
    arr = np.asarray(image)
    _image_mode(arr.shape)
    if arr.dtype == np.uint8:
        out = arr
    else:
        arr = arr.astype(np.float64)
        if arr.size and (not np.all(np.isfinite(arr)) or arr.min() < 0.0 or arr.max() > 1.0):
            raise ValueError(f"image values must be in [0, 1], got range [{arr.min()}, {arr.max()}]")
        out = np.round(arr * 255.0).astype(np.uint8)
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[:, :, 0]
    return out


def webp_encode(image: Any, *, quality: int | None = None, lossless: bool = False, method: int = 6) -> bytes:
    """WebP bytes of ``image`` (float in [0, 1] or uint8; grey or RGB) written by Pillow.

    ``quality`` 0..100 is required for lossy coding; with ``lossless`` (VP8L) it is the effort (default 100).
    ``method``: encoder effort 0..6 (6: slowest, smallest).
    """
    from PIL import Image, features

    if not features.check("webp"):
        raise RuntimeError("this Pillow build has no WebP support")
    if not isinstance(method, int) or not 0 <= method <= 6:
        raise ValueError(f"method must be an int in [0, 6], got {method!r}")
    if lossless:
        quality = 100 if quality is None else quality
    elif quality is None:
        raise ValueError("quality must be given for lossy WebP (an int in [0, 100])")
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 0 <= quality <= 100:
        raise ValueError(f"quality must be an int in [0, 100], got {quality!r}")
    arr = to_uint8_image(image)
    buf = io.BytesIO()
    Image.fromarray(arr, _image_mode(arr.shape)).save(
        buf, format="WEBP", quality=int(quality), lossless=bool(lossless), method=method
    )
    return buf.getvalue()


def webp_decode(data: bytes, mode: str = "L") -> np.ndarray:
    """Decode WebP bytes to float64 in [0, 1]: ``[H, W]`` for ``mode='L'``, ``[H, W, 3]`` for ``'RGB'``."""
    from PIL import Image

    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be one of ['L', 'RGB'], got {mode!r}")
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert(mode), dtype=np.float64) / 255.0


def webp_chunks(data: bytes) -> list[tuple[str, int, int]]:
    """The chunks of a WebP (RIFF) file, ``[(fourcc, data_offset, data_size), ...]``; ValueError if malformed."""
    data = bytes(data)
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError(f"data must be a WebP file (RIFF....WEBP header), got {data[:12]!r}")
    riff_size = struct.unpack("<I", data[4:8])[0]
    end = 8 + riff_size
    if end > len(data):
        raise ValueError(f"data is truncated: RIFF size says {end} bytes, got {len(data)}")
    chunks = []
    pos = 12
    while pos < end:
        if pos + 8 > end:
            raise ValueError(f"data has a truncated chunk header at byte {pos}")
        fourcc = data[pos : pos + 4].decode("latin-1")
        size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + size > end:
            raise ValueError(f"data chunk {fourcc!r} at byte {pos} (size {size}) runs past the RIFF end {end}")
        chunks.append((fourcc, pos + 8, size))
        pos += 8 + size + (size & 1)
    return chunks


def webp_payload_bits(data: bytes, *, exclude_frame_header: bool = False) -> int:
    """Payload bits of a WebP file: ``8 x`` the data bytes of its image chunks (module docstring).

    With ``exclude_frame_header`` minus the frame header of ``VP8 `` (10 bytes) / ``VP8L`` (5 bytes). Raises
    ValueError for a non-WebP file or one without an image chunk.
    """
    total = 0
    found = False
    for fourcc, _, size in webp_chunks(data):
        if fourcc in WEBP_IMAGE_CHUNKS:
            found = True
            total += size
            if exclude_frame_header and fourcc in WEBP_FRAME_HEADER_BYTES:
                total -= min(size, WEBP_FRAME_HEADER_BYTES[fourcc])
    if not found:
        raise ValueError(f"data has no image chunk (one of {list(WEBP_IMAGE_CHUNKS)})")
    return 8 * total


def image_distortion(recon: Any, x: Any, metric: str) -> np.ndarray:
    """Per-image distortion of reconstructions ``recon`` (values in [0, 1]) of images ``x``, ``[N, ...] -> [N]``.

    ``pixel_error_rate``: mean of ``round(recon) != round(x)`` (round half to even, as ``likelihoods``);
    ``mse_per_pixel``: mean of ``(recon - x)^2``.
    """
    recon = np.asarray(recon, np.float64)
    x = np.asarray(x, np.float64)
    if recon.shape != x.shape or recon.ndim < 2:
        raise ValueError(f"recon and x must have the same shape [N, ...], got {recon.shape} and {x.shape}")
    axes = tuple(range(1, x.ndim))
    if metric == "pixel_error_rate":
        return np.mean(np.round(recon) != np.round(x), axis=axes)
    if metric == "mse_per_pixel":
        return np.mean(np.square(recon - x), axis=axes)
    raise ValueError(f"metric must be one of {list(IMAGE_METRICS)}, got {metric!r}")


@dataclasses.dataclass(frozen=True)
class WebPConfig:
    """What the WebP baseline reads from its config (``experiments/baselines/webp.py``)."""

    necst_workdirs: str = "workdirs/necst_bmnist_eps{eps}"  # finished NECST runs, one per eps
    noise_levels: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)
    qualities: tuple[int, ...] = tuple(range(0, 101, 10))
    lossless: bool = True
    scales: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)  # shrink before coding, enlarge after (WebP below ~500 bits)
    method: int = 6  # WebP effort (6: smallest files)
    metrics: tuple[str, ...] = ("pixel_error_rate", "mse_per_pixel")
    max_examples: int = 1000  # test images (0: all)
    necst_draws: int = 5  # channel draws per image for NECST's per-image distortion
    block_error: float = 1e-3  # target block error rate of the finite-blocklength estimates
    seed: int = 0


def webp_config(config: Any) -> WebPConfig:
    """The typed WebP config; a field it does not read is refused, naming the closest ones."""
    from neuralcodes_jax import specs

    specs.check_consumed(config, specs.consumed(WebPConfig), "the WebP baseline")
    return specs.parse(WebPConfig, config)


@dataclasses.dataclass(frozen=True)
class WebpSweep:
    """WebP over a grid of settings for N images.

    Attributes:
      settings: setting labels, e.g. ``('q0', 'q5', ..., 'lossless')``.
      chunk_bits: ``[N, S]`` payload bits, :func:`webp_payload_bits` (image chunk data, frame header included).
      frame_header_bits: ``[N, S]`` bits of the fixed frame header inside ``chunk_bits``.
      file_bytes: ``[N, S]`` whole file sizes in bytes.
      distortion: metric name -> ``[N, S]`` per-image distortion of the decoded image.
    """

    settings: tuple[str, ...]
    chunk_bits: np.ndarray
    frame_header_bits: np.ndarray
    file_bytes: np.ndarray
    distortion: dict[str, np.ndarray]

    def payload_bits(self, exclude_frame_header: bool = False) -> np.ndarray:
        """``[N, S]`` payload bits under the chosen rule (see :func:`webp_payload_bits`)."""
        return self.chunk_bits - self.frame_header_bits if exclude_frame_header else self.chunk_bits

    def summary(self) -> list[dict[str, Any]]:
        """Per setting: mean payload bits (both rules), mean file bytes and mean distortions over the images."""
        rows = []
        for j, name in enumerate(self.settings):
            row = {
                "setting": name,
                "mean_payload_bits": float(self.chunk_bits[:, j].mean()),
                "mean_payload_bits_no_frame_header": float(self.payload_bits(True)[:, j].mean()),
                "mean_file_bytes": float(self.file_bytes[:, j].mean()),
            }
            row.update({m: float(d[:, j].mean()) for m, d in self.distortion.items()})
            rows.append(row)
        return rows


def _resize(image_u8: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a uint8 grey/RGB image to ``size = (H, W)`` (Pillow)."""
    from PIL import Image

    if image_u8.shape[:2] == size:
        return image_u8
    im = Image.fromarray(image_u8, _image_mode(image_u8.shape))
    return np.asarray(im.resize((size[1], size[0]), Image.Resampling.BILINEAR))


def webp_sweep(
    images: Any,
    qualities: Sequence[int] = tuple(range(0, 101, 5)),
    *,
    lossless: bool = True,
    method: int = 6,
    scales: Sequence[float] = (1.0,),
    metrics: Sequence[str] = IMAGE_METRICS,
) -> WebpSweep:
    """Compress every image at every quality (and losslessly) and measure payload and distortion.

    ``images``: ``[N, H, W]``, ``[N, H, W, 1]`` or ``[N, H, W, 3]`` floats in [0, 1]; ``qualities``: lossy qualities
    in [0, 100], may be empty when ``lossless``; ``method``: encoder effort 0..6; ``metrics``: from
    :data:`IMAGE_METRICS`. ``scales`` in (0, 1]: below 1 the image is shrunk (bilinear) to
    ``round(scale H) x round(scale W)`` before coding and enlarged back after decoding (rates below the smallest
    full-size file); labels then read ``q10@14x14``.
    """
    images = np.asarray(images)
    if images.ndim < 3:
        raise ValueError(f"images must have shape [N, H, W(, C)], got {images.shape}")
    qualities = [int(q) for q in qualities]
    if not qualities and not lossless:
        raise ValueError("qualities must not be empty unless lossless=True")
    for m in metrics:
        if m not in IMAGE_METRICS:
            raise ValueError(f"metrics entries must be in {list(IMAGE_METRICS)}, got {m!r}")
    height, width = images.shape[1:3]
    sizes = []
    for sc in scales:
        if not (isinstance(sc, (int, float)) and 0.0 < sc <= 1.0):
            raise ValueError(f"scales entries must be in (0, 1], got {sc!r}")
        sizes.append((max(1, round(sc * height)), max(1, round(sc * width))))
    settings = []
    for size in sizes:
        tag = "" if size == (height, width) else f"@{size[0]}x{size[1]}"
        settings += [(f"q{q}{tag}", size, dict(quality=q)) for q in qualities]
        if lossless:
            settings.append((f"lossless{tag}", size, dict(lossless=True)))
    n = images.shape[0]
    mode = _image_mode(images.shape[1:])
    chunk = np.zeros((n, len(settings)), np.int64)
    header = np.zeros((n, len(settings)), np.int64)
    sizes_bytes = np.zeros((n, len(settings)), np.int64)
    recon = np.zeros((len(settings),) + images.shape, np.float64)
    for i in range(n):
        full = to_uint8_image(images[i])
        shrunk = {size: _resize(full, size) for size in set(sizes)}
        for j, (_, size, kw) in enumerate(settings):
            data = webp_encode(shrunk[size], method=method, **kw)
            chunk[i, j] = webp_payload_bits(data)
            header[i, j] = chunk[i, j] - webp_payload_bits(data, exclude_frame_header=True)
            sizes_bytes[i, j] = len(data)
            decoded = webp_decode(data, mode)
            if size != (height, width):
                decoded = _resize(np.round(decoded * 255).astype(np.uint8), (height, width)) / 255.0
            recon[j, i] = decoded.reshape(images.shape[1:])
    distortion = {
        m: np.stack([image_distortion(recon[j], images, m) for j in range(len(settings))], axis=1) for m in metrics
    }
    return WebpSweep(tuple(s for s, _, _ in settings), chunk, header, sizes_bytes, distortion)


def smallest_bits_at_distortion(bits: Any, distortion: Any, target: Any, *, tol: float = 1e-12) -> np.ndarray:
    """Per image, the fewest payload bits among settings whose distortion is ``<= target`` (inf if none).

    ``bits``, ``distortion``: ``[N, S]``; ``target``: a scalar (one for every image) or ``[N]`` (one per image).
    """
    bits = np.asarray(bits, np.float64)
    distortion = np.asarray(distortion, np.float64)
    if bits.ndim != 2 or bits.shape != distortion.shape:
        raise ValueError(f"bits and distortion must both be [N, S], got {bits.shape} and {distortion.shape}")
    target = np.asarray(target, np.float64)
    if target.ndim == 0:
        target = np.full(bits.shape[0], float(target))
    if target.shape != (bits.shape[0],):
        raise ValueError(f"target must be a scalar or [N] = [{bits.shape[0]}], got shape {target.shape}")
    ok = distortion <= target[:, None] + tol
    return np.where(ok, bits, np.inf).min(axis=1)


def fixed_setting_bits(bits: Any, distortion: Any, target: float) -> tuple[float, int | None]:
    """``(mean_bits, setting_index)`` of the setting with fewest mean bits whose mean distortion is ``<= target``.

    ``(inf, None)`` when no setting reaches the target on average.
    """
    bits = np.asarray(bits, np.float64)
    distortion = np.asarray(distortion, np.float64)
    mean_bits, mean_d = bits.mean(axis=0), distortion.mean(axis=0)
    ok = np.flatnonzero(mean_d <= target + 1e-12)
    if ok.size == 0:
        return math.inf, None
    j = int(ok[np.argmin(mean_bits[ok])])
    return float(mean_bits[j]), j


# ----------------------------------------------------------------------------------------------------------------
# Channel bits for a payload: ideal code and finite blocklength.


def _check_bsc_eps(eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)):
        raise ValueError(f"eps must be a number in [0, 0.5), got {eps!r}")
    eps = float(eps)
    if not (0.0 <= eps < 0.5):
        raise ValueError(f"eps must be in [0, 0.5) (the BSC capacity is 0 at 0.5), got {eps}")
    return eps


def ideal_channel_bits(payload_bits: Any, eps: float) -> Any:
    """Channel uses ``b / (1 - H_b(eps))`` of a capacity-achieving code (NECST 5.2); not rounded, eps in [0, 0.5)."""
    eps = _check_bsc_eps(eps)
    b = np.asarray(payload_bits, np.float64)
    if np.any(~(b >= 0)):
        raise ValueError(f"payload_bits must be >= 0, got {b[~(b >= 0)].flat[0]}")
    out = b / bounds.bsc_capacity(eps)
    return float(out) if np.ndim(out) == 0 else out


FBL_BOUNDS = ("normal", "converse")


def _normal_log2m_array(n: np.ndarray, block_error: float, eps: float) -> np.ndarray:
    c, v = bounds.bsc_capacity(eps), bounds.bsc_dispersion(eps)
    return n * c - np.sqrt(n * v) * stats.norm.isf(block_error) + 0.5 * np.log2(n)


def fbl_channel_bits(
    payload_bits: int, eps: float, *, block_error: float = 1e-3, bound: str = "normal", n_max: int = 10_000_000
) -> int:
    """The smallest blocklength n at which a code of ``payload_bits`` bits reaches ``block_error`` on BSC(eps).

    ``bound='normal'``: normal approximation with the third-order term (PPV Thm. 52,
    ``bounds.bsc_normal_approximation_log2m(n, block_error, eps) >= k``), the usual estimate of the best code.
    ``bound='converse'``: PPV meta-converse (``bounds.bsc_converse(n, k, eps) <= block_error``), a lower bound on n.
    At eps = 0, n = k.

    Raises ValueError for ``payload_bits`` not a non-negative int, ``eps`` outside [0, 0.5), ``block_error`` outside
    (0, 1), an unknown ``bound``, or no n <= ``n_max``.
    """
    if isinstance(payload_bits, bool) or not isinstance(payload_bits, (int, np.integer)) or payload_bits < 0:
        raise ValueError(f"payload_bits must be a non-negative int, got {payload_bits!r}")
    eps = _check_bsc_eps(eps)
    if not (0.0 < block_error < 1.0):
        raise ValueError(f"block_error must be in (0, 1), got {block_error}")
    if bound not in FBL_BOUNDS:
        raise ValueError(f"bound must be one of {list(FBL_BOUNDS)}, got {bound!r}")
    k = int(payload_bits)
    if k == 0:
        return 0
    if eps == 0.0:
        return k
    if bound == "normal":
        # Scan every n up to the first that meets the target: the smallest n, with no monotonicity assumption.
        start, size = 1, 4096
        while start <= n_max:
            n = np.arange(start, min(start + size, n_max + 1), dtype=np.float64)
            hit = np.flatnonzero(_normal_log2m_array(n, block_error, eps) >= k)
            if hit.size:
                found = int(n[hit[0]])
                assert bounds.bsc_normal_approximation_log2m(found, block_error, eps) >= k - 1e-9
                return found
            start += size
            size *= 2
        raise ValueError(f"no n <= n_max={n_max} carries {k} bits at block error {block_error} on BSC({eps})")

    def ok(n: int) -> bool:
        return n >= k and bounds.bsc_converse(n, k, eps) <= block_error

    hi = max(k, math.ceil(k / bounds.bsc_capacity(eps)))
    while not ok(hi):
        hi *= 2
        if hi > n_max:
            raise ValueError(f"no n <= n_max={n_max} carries {k} bits at block error {block_error} on BSC({eps})")
    lo = k - 1  # ok(lo) is False: fewer channel uses than bits
    while hi - lo > 1:  # the converse decreases with n: bisection
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def fbl_channel_bits_many(payload_bits: Any, eps: float, **kw: Any) -> np.ndarray:
    """:func:`fbl_channel_bits` for an array of payloads (each distinct value computed once)."""
    b = np.asarray(payload_bits)
    if not np.all(np.isfinite(b.astype(np.float64))):
        raise ValueError("payload_bits must be finite (an image with no WebP setting reaching the target?)")
    values = {int(v): fbl_channel_bits(int(v), eps, **kw) for v in np.unique(b.astype(np.int64))}
    return np.vectorize(lambda v: values[int(v)], otypes=[np.int64])(b.astype(np.int64))


def webp_ideal_rows(
    sweep: WebpSweep,
    operating_points: Sequence[dict[str, Any]],
    *,
    metric: str,
    block_error: float = 1e-3,
    own_targets: dict[float, np.ndarray] | None = None,
    exclude_frame_header: bool = False,
) -> list[dict]:
    """The WebP + ideal code table: one row per NECST operating point (NECST Fig. 2).

    Args:
      sweep: :func:`webp_sweep` of the test images.
      operating_points: dicts with ``eps``, ``bits`` (NECST's m) and ``distortion`` (NECST's mean ``metric``).
      metric: the distortion both sides use.
      block_error: target block error rate of the finite-blocklength estimates.
      own_targets: optional eps -> ``[N]`` NECST per-image distortions (the sweep's images) for ``own_target``.
      exclude_frame_header: payload rule (:meth:`WebpSweep.payload_bits`).

    Each row: the target and the mean payload bits under three rules (``mean_target``: each image reaches NECST's
    mean distortion; ``own_target``: NECST's distortion on that image; ``fixed_setting``: one WebP setting with mean
    distortion <= target); for ``mean_target`` also the ideal-code bits ``b / C``, the finite-blocklength bits
    (normal approximation and meta-converse, per image, averaged) and the additional bits over NECST's m.
    """
    if metric not in sweep.distortion:
        raise ValueError(f"metric must be one of {sorted(sweep.distortion)}, got {metric!r}")
    dist = sweep.distortion[metric]
    payload = sweep.payload_bits(exclude_frame_header)
    rows = []
    for op in operating_points:
        eps, m, target = float(op["eps"]), int(op["bits"]), float(op["distortion"])
        b = smallest_bits_at_distortion(payload, dist, target)
        row: dict[str, Any] = {
            "eps": eps,
            "necst_bits": m,
            "necst_distortion": target,
            "metric": metric,
            "exclude_frame_header": bool(exclude_frame_header),
            "capacity": float(bounds.bsc_capacity(eps)),
            "webp_payload_bits": float(b.mean()),
            "webp_payload_bits_min": float(b.min()),
            "webp_payload_bits_max": float(b.max()),
        }
        settings_used = np.asarray(sweep.settings)[
            np.argmax((payload == b[:, None]) & (dist <= target + 1e-12), axis=1)
        ]
        row["lossless_fraction"] = float(np.mean(settings_used == "lossless"))
        ideal = ideal_channel_bits(b, eps)
        row["ideal_channel_bits"] = float(np.mean(ideal))
        row["ideal_additional_bits"] = row["ideal_channel_bits"] - m
        for name in FBL_BOUNDS:
            n_fbl = fbl_channel_bits_many(b, eps, block_error=block_error, bound=name)
            row[f"fbl_{name}_channel_bits"] = float(np.mean(n_fbl))
        row["fbl_block_error"] = block_error
        fixed, j = fixed_setting_bits(payload, dist, target)
        row["fixed_setting_payload_bits"] = fixed
        row["fixed_setting"] = None if j is None else sweep.settings[j]
        row["fixed_setting_ideal_channel_bits"] = ideal_channel_bits(fixed, eps) if math.isfinite(fixed) else math.inf
        if own_targets is not None and eps in own_targets:
            own = smallest_bits_at_distortion(payload, dist, own_targets[eps])
            row["own_target_payload_bits"] = float(own.mean())
            row["own_target_ideal_channel_bits"] = float(np.mean(ideal_channel_bits(own, eps)))
        rows.append(row)
    return rows
