"""A/B runs: train several configs one after another for the same frame budget and compare them.

    python experiments/ab.py --frames 4000000 \\
        "adam6e-4: --optimizer adam --learning-rate 6e-4" "rmsprop: --optimizer rmsprop"
    make ab AB_ARGS='...'                 # the same through make
    python experiments/ab.py --summarise experiments/results/ab_*_metrics.csv
    python experiments/ab.py --table         # every Pong attempt kept, one markdown line each
    python experiments/ab.py --game Breakout --frames 500000 --dead-units "lr3e-4: --learning-rate 3e-4"

Each config is `NAME: FLAGS` (flags of `python -m a3c_jax.train`). Every run's metrics CSV is
kept as experiments/results/ab_<game>_<NAME>_metrics.csv. Per config it prints frames/s,
the frames at which the mean of the last 50 games first reached the bar (-15 on Pong), the
entropy per step at 4M frames (ln 6 = 1.79 is Pong's uniform policy) and the mean of the last
10 and 50 games at the end; with --dead-units, also the torso units that never fire in the
final checkpoint (experiments/dead_units.py, kept as ab_<game>_<NAME>_dead_units.txt). Run
nothing else beside it: frames/s is only comparable then.

--table prints the README's table of attempts from every Pong metrics CSV under
experiments/results (A/B runs and learning_run.py's 15-minute runs): the flags in which each
run differs from today's defaults, its figures, and its 30-game evaluations where kept.
"""
import argparse
import csv
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from a3c_jax import checkpoint
from a3c_jax.config import ARCH_DEFAULTS, A3CConfig
from a3c_jax.envs import resolve_game
from learning_run import first_reached

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# What a kept run did that its config does not show: code since changed or reverted, resumed
# runs, and the first runs, which kept no config.
CODE_NOTES = {
    "pong_attempt1": "2 x 16, loss averaged over envs, RMSProp eps 1e-5, uncentred frames",
    "pong_attempt2": "uncentred frames",
    "pong_attempt3": "2 x 8, RMSProp lr 7e-4, uncentred frames",
    "pong_attempt4": "2 x 8, RMSProp lr 2e-3, uncentred frames",
    "pong_attempt5": "uncentred frames",
    "pong_attempt6": "2 x 8, lr 2e-3, orthogonal init, uncentred frames",
    "pong_attempt7": "2 x 8, zero heads, uncentred frames",
    "pong_attempt8": "2 x 8, zero heads, RMSProp lr 7e-4",
    "ab_pong_a12-universe": "42x42 input, universe-starter-agent's 4 convs + ELU",
    "pong_attempt27": "entropy bonus 0.01 to 0.0025 over 8M frames",
    "pong_attempt29": "resumed from attempt 28 at 8M",
    "pong_attempt30": "resumed from attempt 28 at 8M",
    "pong_attempt31": "resumed from attempt 28 at 8M",
    "pong_attempt32": "resumed from attempt 26's end",
    "pong_attempt39": "LayerNorm before the dense ReLU",
    "pong_attempt40": "LayerNorm before the dense ReLU",
    "pong_attempt44": "ELU on the dense layer",
    "pong_attempt47": "advantages over their running RMS",
    "pong_attempt48": "checkpoints hold a running average of the params",
    "pong_attempt57b": "attempt 57 resumed",
    "pong_attempt64": "42x42 screen, conv1 4x4/2",
    "pong_attempt71": "shared Adam's second-moment decay 0.99, not 0.999",
    "pong_attempt100": "advantages standardised over each update, as PPO; stopped at 10.5 min",
    "pong_attempt103": "defaults, XLA_FLAGS=--xla_cpu_multi_thread_eigen=false (no faster: bench 1.02x)",
    "pong_attempt117": "defaults, a diagnostic: Pong's score rows (0-8 of 84) set to the background",
    "pong_attempt133": "--max-frames 6500000, the rate held for its first 70%, code since reverted",
    "pong_attempt136": "its first minute beside attempt 135's evaluation, its last 3 beside attempt 137",
    "pong_attempt137": "its first 8 minutes beside attempt 136's end and evaluation",
    **{f"pong_attempt{n}": "stopped at 5.5M frames on a host at half speed; 10 games each evaluation"
       for n in range(139, 143)},
    **{f"pong_attempt{n}": "stopped at 4.5M frames on a host at half speed; 10 games each evaluation"
       for n in range(143, 145)},
    **{f"pong_attempt{n}": "each agent step 6 emulator frames instead of 4, a patch outside the "
       "package; stopped at 4.5M frames on a host at half speed; 10 games each evaluation"
       for n in range(145, 147)},
    "pong_attempt147": "`make pong`'s command, a host at half speed speeding up",
    "pong_attempt148": "`make pong`'s command, a host at half speed",
    "pong_attempt149": "`make pong`'s command with a checkpoint every 0.5M frames, a host at half speed",
    "pong_attempt150": "a checkpoint every 0.5M frames; stopped at 4.0M frames on a host at half speed; "
                       "10 games each evaluation",
    **{f"pong_attempt{n}": "ELU on the dense layer, as --dense-activation elu now; a checkpoint every "
       "0.5M frames, a host at half speed; 10 games each evaluation" for n in (152, 153)},
    "pong_attempt154": "each training observation shifted by up to 4 pixels each way, a patch outside "
                       "the package; a checkpoint every 0.5M frames, a host at half speed; stopped at "
                       "1.6M frames; 10 games each evaluation",
    "pong_attempt155": "`make pong`'s command, a host at half speed",
    **{f"pong_attempt{n}": "a checkpoint every 0.5M frames, a host at half speed; 10 games each "
       "evaluation" for n in (151, 156, 158, 159, 160)},
    "pong_attempt157": "a checkpoint every 0.5M frames, a host at half speed; the policy collapsed "
                       "to -21 at 3.4M frames; 10 games each evaluation",
    **{f"pong_attempt{n}": "`make pong`'s command" for n in (*range(161, 167), 171, 172, 176, 178)},
    "pong_attempt167": "`make pong`'s command, with three more params averages (0.03, 0.25 and 0.5 "
                       "of the updates) kept beside the agent's: a diagnostic patch outside the package",
}
# Config fields that say where a run wrote, not how it learnt.
NOT_SETTINGS = {"game", "max_frames", "checkpoint_dir", "run_dir", "log_dir", "checkpoint_every",
                "keep_checkpoints", "max_nonfinite_updates", "backend", "ray_address",
                "max_worker_restarts"}


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
    # sums of 50 integer returns are exact; a mean through 1/50 lands either side of the bar
    sum50 = np.convolve(returns, np.ones(50), mode="valid") if len(returns) >= 50 else []
    reached = np.flatnonzero(np.asarray(sum50) >= 50 * bar)
    near = rows[int(np.argmin(np.abs(frames - entropy_at)))]  # the game that ended closest to it
    entropy = float(near["entropy"]) / steps_per_update if steps_per_update and near["entropy"] else None
    dead_path = path.removesuffix("_metrics.csv") + "_dead_units.txt"
    dead = {}
    if os.path.exists(dead_path):
        with open(dead_path) as f:  # lines "conv2: 3 of 32 units never fire"
            dead = {line.split(":")[0]: line.split()[1] for line in f if "never fire" in line}
    return dict(run=os.path.basename(path), games=len(rows), frames=int(frames[-1]),
                minutes=round(wall[-1] / 60, 1),
                frames_per_second=(int((frames[-1] - frames[0]) / (wall[-1] - wall[0]))
                                   if wall[-1] > wall[0] else None),
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


def stored_config(stem: str) -> dict | None:
    """A kept run's config: ab.py's <stem>_config.json, else the one in its evaluation JSON."""
    for path, key in ((stem + "_config.json", None), (stem + "_evaluation.json", "config")):
        if os.path.exists(path):
            with open(path) as f:
                stored = json.load(f)
            return stored[key] if key else stored
    return None


def flag(field: str, value) -> str:
    """The train flag that sets a config field: --t-max 5, --learning-rate 0.0007, --no-centred-features."""
    name = field.replace("_", "-")
    if isinstance(value, bool):
        return f"--{name}" if value else f"--no-{name}"
    return f"--{name} {value:g}" if isinstance(value, float) else f"--{name} {value}"


def setting(stem: str) -> str:
    """The flags in which a kept run differs from today's defaults, then its CODE_NOTES."""
    flags = []
    stored = stored_config(stem)
    if stored is not None:
        # None: the arch's default for an ARCH_DEFAULTS field, else the code of the day's value.
        used = A3CConfig.from_dict({k: v for k, v in stored.items()
                                    if v is not None or k in ARCH_DEFAULTS["ff"]}).as_used()
        if used["lr_anneal_frames"] == -1:  # annealed over the run's budget
            used["lr_anneal_frames"] = used["max_frames"]
        today = A3CConfig(arch=used["arch"]).as_used()
        if used["arch"] != A3CConfig.arch:
            flags.append(f"--arch {used['arch']}")
        flags += [flag(field, value) for field, value in used.items()
                  if field not in NOT_SETTINGS and field != "arch" and value != today[field]]
    note = CODE_NOTES.get(os.path.basename(stem))
    return " ".join(flags) + (f" ({note})" if flags and note else note or "")


def evaluation(stem: str) -> str:
    """'sampled mean +- std / greedy mean' of a kept run's final evaluations, '-' where none."""
    means = []
    for suffix in ("_evaluation.json", "_evaluation_greedy.json"):
        if os.path.exists(stem + suffix):
            with open(stem + suffix) as f:
                result = json.load(f)
            means.append(f"{result['mean']:.1f}" + ("" if means else f" +- {result['std']:.1f}"))
    return " / ".join(means) or "-"


def table(paths: list[str], bar: float, target: float) -> list[str]:
    """The README's table of attempts: one markdown line per metrics CSV, numbers only."""
    lines = [f"| run | setting (flags against today's defaults) | frames/s | last 50 first >= {bar:g} "
             f"| last 50 at 2.5M | last 10 at 10 min | last 10 first >= {target:g} | last 10 at the "
             "end | final checkpoint, sampled / greedy |", "|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        stem = path.removesuffix("_metrics.csv")
        figures = summarise(path, bar, entropy_at=0)
        if not figures["games"]:
            continue
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        at_25 = mean_until(rows, "frames", 2_500_000, 50)
        at_10min = mean_until(rows, "wall_time", 600, 10)
        reached = first_reached(path, 10, target)
        cells = [os.path.basename(stem), setting(stem) or "defaults",
                 f"{figures['frames_per_second']:,}",
                 f"{figures['frames_to_bar'] / 1e6:.2f}M" if figures["frames_to_bar"] else "-",
                 "-" if at_25 is None else f"{at_25[0]:.1f}",
                 "-" if at_10min is None else f"{at_10min[0]:.1f} ({at_10min[1] / 1e6:.2f}M)",
                 f"{reached[1] / 1e6:.2f}M, {reached[0]:.1f} min" if reached else "-",
                 f"{figures['last10']:.1f} ({figures['frames'] / 1e6:.2f}M)", evaluation(stem)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def mean_until(rows: list[dict], column: str, limit: float, n: int) -> tuple[float, int] | None:
    """(mean of the last n games (metrics.csv rows) that ended by `limit` in `column` (frames
    or wall_time), frames then); None when the run stopped before it."""
    before = [row for row in rows if float(row[column]) <= limit]
    if not rows or float(rows[-1][column]) < limit or len(before) < n:
        return None
    return float(np.mean([float(row["episode_return"]) for row in before[-n:]])), int(before[-1]["frames"])


def pong_results(results: str = RESULTS) -> list[str]:
    """Every Pong metrics CSV kept under experiments/results: attempts in the order they ran
    (1, 2, ..., 10, 11; 57 before 57b), then the A/B runs, then the runs of record."""
    def order(path):
        name = os.path.basename(path).removesuffix("_metrics.csv")
        number = re.search(r"attempt(\d+)(\w*)$", name)
        group = 1 if name.startswith("ab_") else 0 if "_attempt" in name and "lstm" not in name else 2
        return (group, "lstm" in name, int(number[1]) if number else 0, name)
    return sorted(glob.glob(os.path.join(results, "*pong*_metrics.csv")), key=order)


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
    parser.add_argument("--table", action="store_true",
                        help="print the markdown table of every kept Pong attempt (no training)")
    parser.add_argument("--target", type=float, default=18.0,
                        help="--table: the mean of the last 10 games it reports reaching")
    args = parser.parse_args()
    if args.table:
        print("\n".join(table(pong_results(), args.bar, args.target)))
        return
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
