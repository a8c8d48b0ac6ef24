"""A real learning run: train a game for a fixed time, noting when the mean of the last games reaches a target.

    make pong        # Pong, 15 minutes, target 18; log in experiments/results/pong.log
    python experiments/learning_run.py --game Breakout --minutes 45 --target 50 --window 20 \
        --name breakout -- --max-frames 1000000000

After --minutes it stops training with SIGINT (which writes a final checkpoint), copies
the metrics CSV and the learning curve to experiments/results/<name>_*, and evaluates the
final checkpoint over --episodes games (sampled actions, then greedy ones).
"""
import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import time

from a3c_jax import checkpoint
from a3c_jax.envs import resolve_game

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def mean_of_last(path: str, n: int) -> tuple[float | None, int]:
    """Mean unclipped return of the last n finished games in metrics.csv, and the games seen."""
    if not os.path.exists(path):
        return None, 0
    with open(path, newline="") as f:
        returns = [float(row["episode_return"]) for row in csv.DictReader(f)]
    return (sum(returns[-n:]) / n if len(returns) >= n else None), len(returns)


def first_reached(path: str, n: int, target: float) -> tuple[float, int] | None:
    """(minutes, frames) of the first game after which the mean of the last n games was >= target,
    from every row of metrics.csv (a poll every 10 s would miss a mean that touches it briefly)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    returns = [float(row["episode_return"]) for row in rows]
    for i in range(n - 1, len(rows)):
        if sum(returns[i - n + 1:i + 1]) / n >= target:
            return float(rows[i]["wall_time"]) / 60, int(rows[i]["frames"])
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Pong")
    parser.add_argument("--target", type=float, default=18.0)
    parser.add_argument("--window", type=int, default=10, help="games the target is a mean over")
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--name", default="pong", help="results are experiments/results/<name>_*")
    parser.add_argument("--work-dir", default=None, help="default: runs/<name>-experiment")
    parser.add_argument("train_args", nargs="*", help="extra flags for a3c_jax.train (after --)")
    args = parser.parse_args()
    args.work_dir = args.work_dir or f"runs/{args.name}-experiment"
    run_dir = os.path.join(args.work_dir, "run")
    if os.path.exists(args.work_dir):
        sys.exit(f"error: {args.work_dir} exists: remove it or pass --work-dir")
    command = [sys.executable, "-m", "a3c_jax.train", "--game", args.game,
               "--checkpoint-dir", os.path.join(args.work_dir, "checkpoints"),
               "--log-dir", run_dir, *args.train_args]
    print("running:", " ".join(command), flush=True)
    start = time.time()
    trainer = subprocess.Popen(command)
    while trainer.poll() is None and time.time() - start < args.minutes * 60:
        time.sleep(10)
        mean, games = mean_of_last(os.path.join(run_dir, "metrics.csv"), args.window)
        minutes = (time.time() - start) / 60
        print(f"{minutes:.1f} min: {games} games, mean of last {args.window}: {mean}", flush=True)
    if trainer.poll() is None:
        trainer.send_signal(signal.SIGINT)
        trainer.wait()
    reached = first_reached(os.path.join(run_dir, "metrics.csv"), args.window, args.target)
    print(f"stopped after {(time.time() - start) / 60:.1f} min; the mean of the last "
          f"{args.window} games " + (f"first reached {args.target} at {reached[0]:.1f} min "
                                     f"({reached[1]:,} frames)" if reached else
                                     f"never reached {args.target}"), flush=True)
    os.makedirs(RESULTS, exist_ok=True)
    stem = os.path.join(RESULTS, args.name)
    shutil.copy(os.path.join(run_dir, "metrics.csv"), stem + "_metrics.csv")
    subprocess.run([sys.executable, "-m", "a3c_jax.plot", run_dir, "--out", stem + "_curve.png"],
                   check=True)
    newest = checkpoint.latest(os.path.join(args.work_dir, "checkpoints"),
                               resolve_game(args.game).label)
    for suffix, extra in (("evaluation", []), ("evaluation_greedy", ["--greedy"])):
        subprocess.run([sys.executable, "-m", "a3c_jax.evaluate", "--load_file", newest,
                        "--episodes", str(args.episodes), "--results",
                        f"{stem}_{suffix}.json", *extra], check=True)


if __name__ == "__main__":
    main()
