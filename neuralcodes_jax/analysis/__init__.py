from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence

ANALYSES = ("interpolation", "classification", "markov_chain")


def analyze(
    workdirs: Sequence[str],
    analyses: Sequence[str] = ANALYSES,
    *,
    labels: Sequence[str] | None = None,
    out: str | None = None,
    data_dir: str | None = None,
    checkpoint: str = "best",
    seed: int = 0,
    interpolation_kw: dict | None = None,
    classification_kw: dict | None = None,
    markov_kw: dict | None = None,
    log=None,
) -> dict:
    """Load every workdir's model and run the requested analyses; returns ``{analysis: result dict}``."""
    log = log or functools.partial(print, flush=True)
    import threadpoolctl

    from neuralcodes_jax.analysis import classification, interpolation, markov_chain, model_io

    if not workdirs:
        raise ValueError("workdirs must name at least one training workdir")
    unknown = sorted(set(analyses) - set(ANALYSES))
    if unknown:
        raise ValueError(f"analyses must be a subset of {list(ANALYSES)}, got unknown {unknown}")
    labels = list(labels) if labels else [os.path.basename(os.path.normpath(w)) for w in workdirs]
    if len(labels) != len(workdirs):
        raise ValueError(f"labels must name every workdir: {len(workdirs)} workdirs, {len(labels)} labels")
    out = out or os.path.join(workdirs[0], "analysis")
    models = []
    for w in workdirs:
        models.append(model_io.load_model(w, kind=checkpoint, data_dir=data_dir))
        log(f"loaded {model_io.describe(models[-1])}")
    results = {}
    runners = {
        "interpolation": lambda: interpolation.run(models, labels, out, seed=seed, **(interpolation_kw or {})),
        "classification": lambda: classification.run(
            models, labels, out, seed=seed, log=log, **(classification_kw or {})
        ),
        "markov_chain": lambda: markov_chain.run(models, labels, out, seed=seed, **(markov_kw or {})),
    }
    for name in ANALYSES:
        if name in analyses:
            t0 = time.time()
            # scikit-learn on one BLAS thread: multi-threaded OpenBLAS spin-waits on a shared CPU (~10x slower).
            with threadpoolctl.threadpool_limits(1):
                results[name] = runners[name]()
            log(f"{name}: {time.time() - t0:.1f} s, written to {out}/{name}.md")
    return results
