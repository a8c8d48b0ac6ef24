"""Learning curves: `python -m a3c_jax.plot RUN_DIR [--out PNG]` draws metrics.csv as a PNG."""
import argparse
import csv
import os
import sys

import numpy as np


def plot_run(run_dir: str, out: str | None = None, window: int = 20) -> str:
    """Episode returns against frames, with a moving average over `window` episodes; returns the PNG path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = os.path.join(run_dir, "metrics.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} has no finished episodes yet: train longer, then plot")
    frames = np.array([float(r["frames"]) for r in rows])
    returns = np.array([float(r["episode_return"]) for r in rows])
    window = max(1, min(window, len(returns)))
    smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(frames, returns, ".", alpha=0.3, label="episode return")
    ax.plot(frames[window - 1:], smooth, label=f"mean of last {window}")
    ax.set_xlabel("frames")
    ax.set_ylabel("episode return (unclipped)")
    ax.set_title(os.path.basename(os.path.normpath(run_dir)))
    ax.legend()
    fig.tight_layout()
    out = out or os.path.join(run_dir, "learning_curve.png")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a3c_jax.plot", description=__doc__)
    parser.add_argument("run_dir", help="a run folder holding metrics.csv (runs/<Game>_<arch>_seed<seed>)")
    parser.add_argument("--out", help="PNG path (default: <run_dir>/learning_curve.png)")
    parser.add_argument("--window", type=int, default=20, help="episodes in the moving average")
    args = parser.parse_args(argv)
    try:
        print(plot_run(args.run_dir, args.out, args.window))
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
