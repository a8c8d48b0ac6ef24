"""A/B runs: train several configs one after another for the same frame budget and compare them.

    python experiments/ab.py --frames 4000000 \\
        "adam6e-4: --optimizer adam --learning-rate 6e-4" "rmsprop: --optimizer rmsprop"
    make ab AB_ARGS='...'                 # the same through make
    python experiments/ab.py --summarise experiments/results/ab_*_metrics.csv
    python experiments/ab.py --game Breakout --frames 500000 --dead-units "lr3e-4: --learning-rate 3e-4"

Each config is `NAME: FLAGS` (flags of `python -m a3c_jax.train`). Every run's metrics CSV is
kept as experiments/results/ab_<game>_<NAME>_metrics.csv. Per config it prints frames/s,
the frames at which the mean of the last 50 games first reached the bar (-15 on Pong), the
entropy per step at 4M frames (ln 6 = 1.79 is Pong's uniform policy) and the mean of the last
10 and 50 games at the end; with --dead-units, also the torso units that never fire in the
final checkpoint (experiments/dead_units.py, kept as ab_<game>_<NAME>_dead_units.txt). Run
nothing else beside it: frames/s is only comparable then.
"""
import argparse
import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from a3c_jax import checkpoint
from a3c_jax.envs import resolve_game

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def summarise(path: str, bar: float, entropy_at: int) -> dict:
    """Reads one run's metrics CSV (and its config.json, if any) into the comparison's figures."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return dict(run=path, games=0)
    frames = np.array([int(r["frames"]) for r in rows])
    returns = np.array([float(r["episode_return"]) for r in rows])
    wall = np.array([float(r["wall_time"]) for r in rows])
    steps_per_update = _steps_per_update(path)
    mean50 = np.convolve(returns, np.ones(50) / 50, mode="valid") if len(returns) >= 50 else []
    reached = np.flatnonzero(np.asarray(mean50) >= bar)
    near = rows[int(np.argmin(np.abs(frames - entropy_at)))]  # the game that ended closest to it
    entropy = float(near["entropy"]) / steps_per_update if steps_per_update and near["entropy"] else None
    dead_path = path.removesuffix("_metrics.csv") + "_dead_units.txt"
    dead = {}
    if os.path.exists(dead_path):
        with open(dead_path) as f:  # lines "conv2: 3 of 32 units never fire"
            dead = {line.split(":")[0]: line.split()[1] for line in f if "never fire" in line}
    return dict(run=os.path.basename(path), games=len(rows), frames=int(frames[-1]),
                minutes=round(wall[-1] / 60, 1),
                frames_per_second=int(frames[-1] / wall[-1]) if wall[-1] > 0 else None,
                frames_to_bar=int(frames[reached[0] + 49]) if len(reached) else None,
                minutes_to_bar=round(wall[reached[0] + 49] / 60, 1) if len(reached) else None,
                entropy_per_step=None if entropy is None else round(entropy, 3),
                last10=round(float(returns[-10:].mean()), 2),
                last50=round(float(returns[-50:].mean()), 2),
                **({"dead_units": dead} if dead else {}))


def _steps_per_update(metrics_path: str) -> int | None:
    """t_max x envs_per_worker from the config.json that ab.py keeps beside each metrics CSV."""
    config_path = metrics_path.removesuffix("_metrics.csv") + "_config.json"
    if not metrics_path.endswith("_metrics.csv") or not os.path.exists(config_path):
        return None
    with open(config_path) as f:
        config = json.load(f)
    return config["t_max"] * config["envs_per_worker"]


def run_one(name: str, flags: list[str], game: str, frames: int, work_dir: str,
            dead_units: bool = False) -> str:
    """Trains one config for `frames` frames; returns the path of its kept metrics CSV."""
    run_dir = os.path.join(work_dir, name)
    command = [sys.executable, "-m", "a3c_jax.train", "--game", game, "--max-frames", str(frames),
               "--checkpoint-dir", os.path.join(run_dir, "checkpoints"),
               "--log-dir", os.path.join(run_dir, "run"), *flags]
    print("running:", shlex.join(command), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    final = checkpoint.latest(os.path.join(run_dir, "checkpoints"), resolve_game(game).label)
    config = checkpoint.load(final).config.to_dict()
    stem = os.path.join(RESULTS, f"ab_{game.lower()}_{name}")
    shutil.copy(os.path.join(run_dir, "run", "metrics.csv"), stem + "_metrics.csv")
    with open(stem + "_config.json", "w") as f:
        json.dump(config, f, indent=1)
    if dead_units:
        counted = subprocess.run([sys.executable, os.path.join(os.path.dirname(RESULTS), "dead_units.py"),
                                  final], check=True, capture_output=True, text=True)
        with open(stem + "_dead_units.txt", "w") as f:
            f.write(counted.stdout)
    return stem + "_metrics.csv"


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", help="'NAME: FLAGS' per config, run in this order")
    parser.add_argument("--game", default="Pong")
    parser.add_argument("--frames", type=int, default=4_000_000, help="frame budget of each run")
    parser.add_argument("--bar", type=float, default=-15.0,
                        help="report the frames until the mean of the last 50 games reaches this")
    parser.add_argument("--entropy-at", type=int, default=4_000_000)
    parser.add_argument("--dead-units", action="store_true",
                        help="count the torso's never-firing units in each run's final checkpoint")
    parser.add_argument("--summarise", nargs="+", metavar="CSV",
                        help="only summarise these metrics CSVs (no training)")
    args = parser.parse_args()
    paths = list(args.summarise or [])
    if not paths:
        os.makedirs(RESULTS, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="a3c-ab-") as work_dir:
            for spec in args.configs:
                name, _, flags = spec.partition(":")
                paths.append(run_one(name.strip(), shlex.split(flags), args.game, args.frames,
                                     work_dir, args.dead_units))
                print(json.dumps(summarise(paths[-1], args.bar, args.entropy_at)), flush=True)
    for path in paths:
        print(json.dumps(summarise(path, args.bar, args.entropy_at)))


if __name__ == "__main__":
    main()
