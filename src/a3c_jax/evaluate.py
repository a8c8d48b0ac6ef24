"""The evaluation command: whole games with a checkpoint, or the random agent.

    python -m a3c_jax.evaluate --game Pong --load_file checkpoints/Pong_1000000 --episodes 30
"""
import argparse
import json
import os
import sys

from a3c_jax import checkpoint
from a3c_jax.envs import UnknownGameError
from a3c_jax.evaluation_run import evaluate, results_record
from a3c_jax.paths import UnwritablePathError, ensure_writable_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m a3c_jax.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", help="game to play (default: the checkpoint's)")
    parser.add_argument("--load-file", "--load_file", dest="load_file",
                        help="checkpoint to play; without it the random agent plays")
    parser.add_argument("--episodes", type=int, default=30, help="whole games to play (default: 30)")
    parser.add_argument("--seed", type=int, default=0, help="episode i is seeded with seed + i")
    parser.add_argument("--greedy", action="store_true",
                        help="take the most probable action instead of sampling")
    parser.add_argument("--results", help="write a JSON results file here")
    parser.add_argument("--gif", help="record the first episode as an animated GIF here")
    parser.add_argument("--sticky-actions", "--sticky_actions", dest="sticky_actions",
                        action="store_true", help="repeat the last action with probability 0.25")
    args = parser.parse_args(argv)
    try:
        if args.episodes < 1:
            raise ValueError(f"--episodes {args.episodes} is invalid: play at least 1 episode")
        if args.game is None and args.load_file is None:
            raise ValueError("no game to play: pass --game NAME or --load_file CHECKPOINT")
        for path, flag in ((args.results, "--results"), (args.gif, "--gif")):
            if path is not None:
                ensure_writable_dir(os.path.dirname(os.path.abspath(path)), flag)
        ckpt = checkpoint.load(args.load_file) if args.load_file else None
        game = args.game or ckpt.config.game
        result = evaluate(args.load_file, game, args.episodes, seed=args.seed, greedy=args.greedy,
                          gif_path=args.gif, sticky_actions=args.sticky_actions)
    except (ValueError, UnknownGameError, checkpoint.CheckpointError, UnwritablePathError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    record = results_record(result, game, ckpt, args.greedy, args.seed)
    print(f"{record['game']} | {record['agent']} agent | {record['frames_trained']} frames trained")
    print(f"{'episode':>7} {'score':>9} {'length':>7}")
    for i, (score, length) in enumerate(zip(result.returns, result.lengths)):
        print(f"{i:>7} {score:>9.1f} {length:>7}")
    normalised = record["human_normalised"]
    print(f"mean {result.mean:.2f} std {result.std:.2f} min {result.min:.1f} max {result.max:.1f}"
          + (f" | human-normalised {100 * normalised:.1f}%" if normalised is not None else ""))
    if args.results:
        with open(args.results, "w") as f:
            json.dump(record, f, indent=2)
        print(f"results: {args.results}")
    if args.gif:
        print(f"gif: {args.gif}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
