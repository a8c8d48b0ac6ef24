"""The evaluation command: whole games with a checkpoint, or the random agent.

    python -m a3c_jax.evaluate --game Pong --load_file checkpoints/Pong_1000000 --episodes 30
"""
import json
import os
import sys

from a3c_jax import checkpoint, cli
from a3c_jax.envs import UnknownGameError, resolve_game
from a3c_jax.evaluation_run import evaluate, results_record
from a3c_jax.paths import UnwritablePathError, ensure_writable_dir


def main(argv=None) -> int:
    args = cli.parse_evaluate_command(argv, description=__doc__)
    try:
        if args.episodes < 1:
            raise ValueError(f"--episodes {args.episodes} is invalid: play at least 1 episode")
        if args.game is None and args.load_file is None:
            raise ValueError("no game to play: pass --game NAME or --load_file CHECKPOINT")
        for path, flag in ((args.results, "--results"), (args.gif, "--gif")):
            if path is not None:
                ensure_writable_dir(os.path.dirname(os.path.abspath(path)), flag)
        ckpt = checkpoint.load(args.load_file) if args.load_file else None
        game = resolve_game(args.game or ckpt.config.game)
        result = evaluate(ckpt, game.name, args.episodes, seed=args.seed, greedy=args.greedy,
                          gif_path=args.gif, sticky_actions=args.sticky_actions)
    except (ValueError, UnknownGameError, checkpoint.CheckpointError, UnwritablePathError) as error:
        cli.exit_with_error(str(error))
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

