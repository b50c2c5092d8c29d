"""Run outputs: JSON lines (``WORKDIR/metrics.jsonl``), TensorBoard scalars (``WORKDIR/tb``) and a progress bar.

Only process 0 writes. TensorBoard goes through ``tensorboardX`` (no TensorFlow import); when it is not
installed the JSON lines are still written.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time

from neuralcodes_jax import config_utils


class MetricWriter:
    def __init__(self, workdir: str, enabled: bool = True, tensorboard: bool = True):
        self.enabled = enabled
        self._file = None
        self._tb = None
        if not enabled:
            return
        path = os.path.join(workdir, "metrics.jsonl")
        if os.path.isfile(path) and os.path.getsize(path):
            with open(path, "rb") as f:  # a crash mid-line: start the next record on a line of its own
                f.seek(-1, os.SEEK_END)
                ends_line = f.read(1) == b"\n"
            if not ends_line:
                with open(path, "a") as f:
                    f.write("\n")
        self._file = open(path, "a")  # noqa: SIM115  (open for the run)
        if tensorboard:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:  # optional
                SummaryWriter = None
            if SummaryWriter is not None:
                self._tb = SummaryWriter(os.path.join(workdir, "tb"))

    def write_scalars(self, step: int, scalars: dict[str, float]) -> None:
        if not self.enabled:
            return
        record = {"step": int(step), "time": time.time()}
        for k, v in scalars.items():
            v = float(v)
            record[k] = v if math.isfinite(v) else str(v)
        self._file.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, float(v), int(step))

    def write_images(self, step: int, images: dict) -> None:
        """images: name -> array [N, H, W, C] in [0, 1] (TensorBoard only)."""
        if self.enabled and self._tb is not None:
            for k, v in images.items():
                self._tb.add_images(k, v, int(step), dataformats="NHWC")

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None


class Progress:
    """A progress bar over training steps with rate and ETA (tqdm on stderr)."""

    def __init__(self, total: int, initial: int = 0, enabled: bool = True):
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                initial=initial,
                unit="step",
                dynamic_ncols=True,
                file=sys.stderr,
                mininterval=1.0,
                smoothing=0.1,
            )

    def update(self, n: int, loss: float | None = None) -> None:
        if self._bar is not None:
            if loss is not None:
                self._bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def run_info() -> dict:
    import jax

    info = {
        "jax": jax.__version__,
        "python": platform.python_version(),
        "devices": [str(d) for d in jax.devices()],
        "process_count": jax.process_count(),
    }
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        info["git"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=os.path.dirname(__file__)
        ).stdout.strip()
    return info


def write_run_files(configs, workdirs) -> None:
    """Each run's ``config.json`` and ``run_info.json`` (versions, devices, its group)."""
    for c, w in zip(configs, workdirs):
        with open(os.path.join(w, "config.json"), "w") as f:
            f.write(c.to_json_best_effort(indent=2))
        with open(os.path.join(w, "run_info.json"), "w") as f:
            json.dump(dict(run_info(), group_size=len(configs), group=list(workdirs)), f, indent=2)


def read_records(path: str | os.PathLike) -> list[dict]:
    """The records of a ``metrics.jsonl``; a line a crash cut short (or any line that is not a JSON object) is
    skipped, so a run that resumed after a crash reads whole."""
    records = []
    if not os.path.isfile(path):
        return records
    with open(path) as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


#: The evaluator's flat metrics of a run (or of a run of several seeds), written by ``train`` when the run ends and
#: read by the sweeps (``sweeps.results``).
RUN_METRICS_FILE = "result_metrics.json"


def write_run_metrics(directory: str | os.PathLike, metrics: dict) -> None:
    """Writes ``DIRECTORY/result_metrics.json`` whole or not at all."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, RUN_METRICS_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump(metrics, f, indent=1, default=float)
    os.replace(path + ".tmp", path)


def read_run_metrics(directory: str | os.PathLike) -> dict:
    """The metrics :func:`write_run_metrics` left in ``DIRECTORY`` (empty if none)."""
    path = os.path.join(directory, RUN_METRICS_FILE)
    remedy = "delete it and rerun the run's command (it resumes and evaluates again)"
    return config_utils.read_json_file(path, remedy) if os.path.isfile(path) else {}
