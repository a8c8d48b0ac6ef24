"""Per-run metrics: a CSV row per finished episode, TensorBoard scalars, and the progress line."""
import csv
import os
import sys
import threading
import time

import numpy as np

CSV_FIELDS = ("frames", "wall_time", "episode_return", "episode_length", "policy_loss",
              "value_loss", "entropy", "grad_norm", "learning_rate", "updates", "skipped_updates")
TENSORBOARD_FIELDS = ("episode_return", "episode_length", "policy_loss", "value_loss", "entropy",
                      "grad_norm", "learning_rate", "skipped_updates")
# tensorboardX costs about 0.2 ms per scalar (it passes each through a multiprocessing queue):
# one point per field per episode halved training speed on envs with short episodes.
TENSORBOARD_EVERY_SECONDS = 1.0


class RunLog:
    """Collects episodes from all workers (thread-safe) into `<run_dir>/metrics.csv` and TensorBoard.

    The CSV gets every episode; TensorBoard gets, at most once a second, the mean of each field
    over the episodes since its last point. Opening an existing run appends to its CSV, so a
    resumed run keeps one continuous curve.
    """

    def __init__(self, run_dir: str | None, max_frames: int, start_frames: int = 0):
        self._lock = threading.Lock()
        self.returns: list[float] = []
        self.max_frames = max_frames
        self._start_time = time.time()
        self._start_frames = start_frames
        self._csv = self._writer = self._tb = None
        self._tb_rows: list[dict] = []  # episodes not yet in TensorBoard
        self._tb_written_at = time.monotonic()
        if run_dir is not None:
            os.makedirs(run_dir, exist_ok=True)
            path = os.path.join(run_dir, "metrics.csv")
            is_new = not os.path.exists(path) or os.path.getsize(path) == 0
            fields = CSV_FIELDS if is_new else _header(path)  # a resumed older run keeps its columns
            self._csv = open(path, "a", newline="")
            self._writer = csv.DictWriter(self._csv, fields, extrasaction="ignore")
            if is_new:
                self._writer.writeheader()
            from tensorboardX import SummaryWriter
            self._tb = SummaryWriter(run_dir)

    def episode(self, episode_return: float, length: int, *, frames: int, updates: int,
                skipped_updates: int, learning_rate: float, losses: dict) -> None:
        row = dict(frames=frames, wall_time=round(time.time() - self._start_time, 2),
                   episode_return=episode_return, episode_length=length, updates=updates,
                   skipped_updates=skipped_updates, learning_rate=learning_rate,
                   **{k: float(losses[k]) if k in losses else "" for k in
                      ("policy_loss", "value_loss", "entropy", "grad_norm")})
        with self._lock:
            self.returns.append(episode_return)
            if self._writer is not None:
                self._writer.writerow(row)
                self._csv.flush()  # readable while training runs, and kept if it is killed
                self._tb_rows.append(row)
                if time.monotonic() - self._tb_written_at >= TENSORBOARD_EVERY_SECONDS:
                    self._write_tensorboard()

    def _write_tensorboard(self) -> None:
        """One point per field: its mean over the episodes since the last, at the last one's frames."""
        rows, self._tb_rows, self._tb_written_at = self._tb_rows, [], time.monotonic()
        for key in TENSORBOARD_FIELDS:
            values = [row[key] for row in rows if row[key] != ""]
            if values:
                self._tb.add_scalar(key, float(np.mean(values)), rows[-1]["frames"])

    def progress(self, frames: int) -> str:
        """`frames 1.20M/10.00M | 3,400 fps | return(last 10) -20.1 | ETA 0:45:12`."""
        elapsed = max(time.time() - self._start_time, 1e-9)
        fps = (frames - self._start_frames) / elapsed
        with self._lock:
            recent = self.returns[-10:]
        mean = f"{np.mean(recent):.1f}" if recent else "n/a"
        eta = max(self.max_frames - frames, 0) / fps if fps > 0 else float("inf")
        eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta < 86400 * 30 else "?"
        return (f"frames {frames / 1e6:.2f}M/{self.max_frames / 1e6:.2f}M | {fps:,.0f} fps | "
                f"return(last 10) {mean} | ETA {eta_text}")

    def show_progress(self, frames: int, final: bool = False) -> None:
        line = self.progress(frames)
        if sys.stdout.isatty():
            print("\r" + line, end="\n" if final else "", flush=True)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self._csv is not None:
            with self._lock:
                self._write_tensorboard()
            self._csv.close()
            self._tb.close()


def _header(path: str) -> list[str]:
    with open(path, newline="") as f:
        return next(csv.reader(f))
