"""A real learning run: train on Pong until the mean of the last 10 games reaches 18, or the time runs out.

    make pong        # runs in the background; log in experiments/results/pong.log

Then it stops training with SIGINT (which writes a final checkpoint), copies the
metrics CSV and the learning curve to experiments/results/, and evaluates the final
checkpoint for 10 games.
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

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def mean_of_last(path: str, n: int) -> tuple[float | None, int]:
    """Mean unclipped return of the last n finished games in metrics.csv, and the games seen."""
    if not os.path.exists(path):
        return None, 0
    with open(path, newline="") as f:
        returns = [float(row["episode_return"]) for row in csv.DictReader(f)]
    return (sum(returns[-n:]) / n if len(returns) >= n else None), len(returns)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=float, default=18.0)
    parser.add_argument("--minutes", type=float, default=90.0)
    parser.add_argument("--work-dir", default="runs/pong-experiment")
    parser.add_argument("train_args", nargs="*", help="extra flags for a3c_jax.train (after --)")
    args = parser.parse_args()
    run_dir = os.path.join(args.work_dir, "run")
    if os.path.exists(args.work_dir):
        sys.exit(f"error: {args.work_dir} exists: remove it or pass --work-dir")
    command = [sys.executable, "-m", "a3c_jax.train", "--game", "Pong",
               "--checkpoint-dir", os.path.join(args.work_dir, "checkpoints"),
               "--log-dir", run_dir, *args.train_args]
    print("running:", " ".join(command), flush=True)
    start = time.time()
    trainer = subprocess.Popen(command)
    reached = False
    while trainer.poll() is None and time.time() - start < args.minutes * 60:
        time.sleep(30)
        mean, games = mean_of_last(os.path.join(run_dir, "metrics.csv"), 10)
        print(f"{(time.time() - start) / 60:.1f} min: {games} games, mean of last 10: {mean}",
              flush=True)
        if mean is not None and mean >= args.target:
            reached = True
            break
    if trainer.poll() is None:
        trainer.send_signal(signal.SIGINT)
        trainer.wait()
    minutes = (time.time() - start) / 60
    print(f"{'reached' if reached else 'did not reach'} {args.target} in {minutes:.1f} min", flush=True)
    os.makedirs(RESULTS, exist_ok=True)
    shutil.copy(os.path.join(run_dir, "metrics.csv"), os.path.join(RESULTS, "pong_metrics.csv"))
    subprocess.run([sys.executable, "-m", "a3c_jax.plot", run_dir, "--out",
                    os.path.join(RESULTS, "pong_curve.png")], check=True)
    newest = checkpoint.latest(os.path.join(args.work_dir, "checkpoints"), "Pong")
    subprocess.run([sys.executable, "-m", "a3c_jax.evaluate", "--load_file", newest,
                    "--episodes", "10", "--results",
                    os.path.join(RESULTS, "pong_evaluation.json")], check=True)


if __name__ == "__main__":
    main()
