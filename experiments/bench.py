"""Training throughput on an Atari game: `make bench` (or `python experiments/bench.py --help`).

Each repeat trains with the given config for --seconds after --warmup seconds, and
reports frames/s, where the worker threads spent their time, memory and XLA
compilations. The emulator alone is measured in the same run, so the result reads
as a fraction of what the machine can do. The last line is `frames_per_second: N`.

--backend ray then measures the Ray backend in the same run: frames/s, the parameter
server's apply time, the round trip per update and the server's saturation rate, and
how updates/s scale with N = 1, 2, 4, 8 CPU-light workers (a fixed sleep instead of the env).
"""
import argparse
import dataclasses
import resource
import statistics
import tempfile
import time
import typing

import jax
import numpy as np

from a3c_jax import A3CConfig
from a3c_jax.envs import ATARI_FRAME_SKIP, atari_vector_env, resolve_game
from a3c_jax.record import UpdateRecord
from a3c_jax.training_run import prepare_run
from a3c_jax.training_setup import starting_point, worker_envs

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
compilations = 0


def count_compilation(event, duration, **kwargs):
    global compilations
    if event == COMPILE_EVENT:
        compilations += 1


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_training(config: A3CConfig, warmup: float, seconds: float) -> dict:
    """Frames/s over `seconds` after `warmup`, with each worker's time split and memory."""
    run = prepare_run(config)
    run.start()
    time.sleep(warmup)
    workers, shared = run.workers, run.shared
    frames0, lock0, compiles0 = shared.frames, shared.lock_wait_seconds, compilations
    stats0 = [dataclasses.replace(w.stats) for w in workers]  # copies
    start, rss = time.perf_counter(), [rss_mib()]
    while time.perf_counter() - start < seconds:
        time.sleep(min(1.0, seconds - (time.perf_counter() - start)))
        rss.append(rss_mib())
    wall = time.perf_counter() - start
    frames, lock, compiles = shared.frames, shared.lock_wait_seconds, compilations
    stats = [dataclasses.replace(w.stats) for w in workers]
    run.stop_and_join()
    if any(w.error for w in workers):
        raise RuntimeError(next(w.error for w in workers if w.error))

    def spent(name):  # a WorkerStats field, summed over the workers, over the measured time
        return sum(getattr(s, name) for s in stats) - sum(getattr(s, name) for s in stats0)

    staleness = spent("stale_updates") / max(spent("applied_updates"), 1)
    thread_time = wall * len(workers)
    shares = {key: spent(f"{key}_seconds") / thread_time for key in ("env", "act", "grad")}
    shares["lock"] = (lock - lock0) / thread_time
    shares["other"] = 1.0 - sum(shares.values())
    return dict(fps=(frames - frames0) / wall, shares=shares, compilations=compiles - compiles0,
                rss_start=rss[0], rss_end=rss[-1], staleness=staleness)


def ray_start(config: A3CConfig):
    """Connects to Ray and returns the run's fresh Start (params, optimizer, sizes)."""
    from a3c_jax import ray_backend
    ray_backend.connect(config)
    game = resolve_game(config.game)
    probe = worker_envs(config, game, 0)
    start = starting_point(config, game, probe, None)
    probe.close()
    return start


def measure_ray(config: A3CConfig, warmup: float, seconds: float) -> dict:
    """The Ray backend's frames/s over `seconds` after `warmup`, the parameter server's apply
    time per update, the workers' round trip per update (push to newest params) and the
    server's saturation rate (1 / apply time)."""
    import ray
    from a3c_jax import ray_backend
    server, workers = ray_backend.start_actors(config, ray_start(config))
    runs = [worker.run.remote(server) for worker in workers]
    time.sleep(warmup)
    before, start = ray.get(server.poll.remote()), time.perf_counter()
    time.sleep(seconds)
    after, wall = ray.get(server.poll.remote()), time.perf_counter() - start
    server.stop.remote()
    stats = ray.get(runs)
    for actor in [server, *workers]:
        ray.kill(actor)
    pushes = after["pushes"] - before["pushes"]
    apply = (after["apply_seconds"] - before["apply_seconds"]) / max(pushes, 1)
    return dict(fps=(after["frames"] - before["frames"]) / wall, updates_per_second=pushes / wall,
                apply_ms=1e3 * apply, saturation=1 / apply if apply else float("inf"),
                round_trip_ms=1e3 * sum(s["push_seconds"] for s in stats)
                / max(sum(s["applied_updates"] for s in stats), 1))


class SleepingWorker:
    """A CPU-light worker: sleeps instead of rolling out, then pushes zero gradients."""

    def run(self, server, rank: int, sleep: float, grads) -> int:
        import ray
        version, _ = ray.get(server.read.remote())
        go_on, pushes = True, 0
        while go_on:
            time.sleep(sleep)
            version, _, _, go_on = ray.get(server.push.remote(rank, grads, True, version, 0, [], {}))
            pushes += 1
        return pushes


def ray_scaling(config: A3CConfig, sleep: float, seconds: float, counts=(1, 2, 4, 8)) -> None:
    """Updates/s with N sleeping workers pushing full-size gradients, against N / sleep."""
    import ray
    from a3c_jax import ray_backend
    start = ray_start(config)
    grads = jax.device_get(jax.tree.map(np.zeros_like, start.params))
    one = None
    for n in counts:
        server = ray.remote(ray_backend.ParameterServer).remote(
            config, jax.device_get(start.params), jax.device_get(start.opt_state), 0, 0,
            start.frames_per_update, None)
        workers = [ray.remote(SleepingWorker).options(num_cpus=0).remote() for _ in range(n)]
        runs = [w.run.remote(server, rank, sleep, grads) for rank, w in enumerate(workers)]
        time.sleep(2.0)
        before, t0 = ray.get(server.poll.remote())["pushes"], time.perf_counter()
        time.sleep(seconds)
        rate = (ray.get(server.poll.remote())["pushes"] - before) / (time.perf_counter() - t0)
        server.stop.remote()
        ray.get(runs)
        for actor in [server, *workers]:
            ray.kill(actor)
        one = one or rate
        print(f"ray scaling: {n} sleeping workers ({1e3 * sleep:.0f} ms each): {rate:,.1f} "
              f"updates/s, {rate / (n * one):.2f} of linear", flush=True)


def emulator_fps(game: str, seconds: float, frame_stack: int, num_envs: int = 16) -> float:
    """ale-py's C++ vector env alone, random actions, on all cores: the machine's limit."""
    env = atari_vector_env(resolve_game(game).rom, num_envs, frame_stack=frame_stack)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, env.single_action_space.n, (4096, num_envs))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.step(actions[steps % len(actions)])
        steps += 1
    fps = steps * num_envs * ATARI_FRAME_SKIP / (time.perf_counter() - start)
    env.close()
    return fps


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", default="Pong")
    parser.add_argument("--num-workers", type=int, default=A3CConfig.num_workers)
    parser.add_argument("--envs-per-worker", type=int, default=A3CConfig.envs_per_worker)
    parser.add_argument("--arch", default="ff")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per repeat")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--emulator-seconds", type=float, default=5.0)
    parser.add_argument("--backend", choices=("threads", "ray"), default="threads",
                        help="ray: also measure the Ray backend, in the same run as threads")
    parser.add_argument("--scaling-sleep", type=float, default=0.1,
                        help="seconds each CPU-light worker sleeps per update in the Ray scaling test")
    parser.add_argument("--record-cost", action="store_true",
                        help="also train with the update record on and off in turns, and report the ratio")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="any other A3CConfig field, e.g. --set t_max=5 --set centred_features=false")
    args = parser.parse_args()
    jax.monitoring.register_event_duration_secs_listener(count_compilation)
    # a field's type from its annotation: `float | None` (learning_rate) parses as float
    fields = {f.name: (typing.get_args(f.type) or (f.type,))[0] for f in dataclasses.fields(A3CConfig)}
    overrides = {k: v.lower() == "true" if fields[k] is bool else fields[k](v)
                 for k, v in (item.split("=", 1) for item in args.set)}
    config = A3CConfig(**{**dict(game=args.game, arch=args.arch, num_workers=args.num_workers,
                                 envs_per_worker=args.envs_per_worker, max_frames=10**12,
                                 checkpoint_dir=tempfile.mkdtemp(prefix="a3c-bench-")),
                          **overrides})
    print("config:", {k: v for k, v in config.as_used().items()
                      if k not in ("checkpoint_dir", "run_dir")}, flush=True)
    limit = emulator_fps(args.game, args.emulator_seconds, config.frames_per_observation)
    print(f"emulator alone: {limit:,.0f} frames/s (the training protocol's AtariVectorEnv, "
          f"16 envs, all cores)", flush=True)
    runs = []
    for repeat in range(args.repeats):
        result = measure_training(config, args.warmup, args.seconds)
        runs.append(result)
        shares = " ".join(f"{k} {100 * v:.0f}%" for k, v in result["shares"].items())
        print(f"repeat {repeat + 1}: {result['fps']:,.0f} frames/s | thread time: {shares} | "
              f"staleness {result['staleness']:.2f} updates | "
              f"compilations after warm-up: {result['compilations']} | "
              f"RSS {result['rss_start']:.0f} -> {result['rss_end']:.0f} MiB", flush=True)
    fps = [r["fps"] for r in runs]
    median = statistics.median(fps)
    growth = 100 * (runs[-1]["rss_end"] / runs[-1]["rss_start"] - 1)
    print(f"frames/s median {median:,.0f} min {min(fps):,.0f} max {max(fps):,.0f} over "
          f"{len(fps)} repeats of {args.seconds:.0f} s; {100 * median / limit:.0f}% of the emulator alone")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
          f"RSS growth over the last repeat {growth:+.1f}%; "
          f"XLA compilations after warm-up: {sum(r['compilations'] for r in runs)}")
    if args.backend == "ray":
        ray_fps = []
        for repeat in range(args.repeats):
            result = measure_ray(config, args.warmup, args.seconds)
            ray_fps.append(result["fps"])
            print(f"ray repeat {repeat + 1}: {result['fps']:,.0f} frames/s | "
                  f"{result['updates_per_second']:.1f} updates/s | parameter server apply "
                  f"{result['apply_ms']:.2f} ms/update, saturates at {result['saturation']:,.0f} "
                  f"updates/s | round trip {result['round_trip_ms']:.1f} ms/update", flush=True)
        print(f"ray frames/s median {statistics.median(ray_fps):,.0f}: "
              f"{statistics.median(ray_fps) / median:.2f} of threads'")
        ray_scaling(config, args.scaling_sleep, args.seconds)
    if args.record_cost:
        on, off = record_cost(config, args.warmup, args.seconds * args.repeats)
        print(f"update record: {on:,.0f} frames/s on, {off:,.0f} off, on / off {on / off:.4f} "
              f"(one run, {args.seconds * args.repeats:.0f} s each, alternating every "
              f"{RECORD_WINDOW:.0f} s)")
    print(f"frames_per_second: {median:.0f}")


RECORD_WINDOW = 5.0


def record_cost(config: A3CConfig, warmup: float, seconds: float) -> tuple[float, float]:
    """Frames/s with the update record (record.py, written by every run with a metrics folder)
    on and off, alternating every RECORD_WINDOW seconds in one run so that drift cancels."""
    run = prepare_run(config)
    record = UpdateRecord.start(tempfile.mkdtemp(prefix="a3c-bench-record-"), config)
    run.start()
    time.sleep(warmup)
    frames, spent = {True: 0, False: 0}, {True: 0.0, False: 0.0}
    for window in range(2 * max(1, round(seconds / RECORD_WINDOW))):
        recording = window % 2 == 1
        run.shared.record = record if recording else None
        frames0, start = run.shared.frames, time.perf_counter()
        time.sleep(RECORD_WINDOW)
        frames[recording] += run.shared.frames - frames0
        spent[recording] += time.perf_counter() - start
    run.stop_and_join()
    return frames[True] / spent[True], frames[False] / spent[False]


if __name__ == "__main__":
    main()
