"""The update record: the order in which workers updated the shared params, so a run can be replayed.

With several workers the OS decides which one reaches the lock first; everything else (env
seeds, action-sampling keys, XLA on the CPU) is deterministic. So a run is fixed by, for each
update, the worker that made it and the params version (update number) its gradients were
computed from. Two files beside a run's metrics.csv:

- `update_record.bin`: one 16-byte entry per event (ENTRY), appended as the run goes and
  flushed with every checkpoint.
- `update_record.json`: the config of each training session (a fresh start, then each
  --resume) and the entry at which it began.

An entry is (kind, worker, version): UPDATE and SKIP (non-finite gradients, not applied)
name the worker and the version it read; CHECKPOINT marks a checkpoint taken at update
`version`; SESSION marks a (re)start from update `version`, with fresh envs.
"""
import json
import os
import threading

import numpy as np

from a3c_jax.config import A3CConfig

ENTRY = np.dtype([("kind", "<i4"), ("worker", "<i4"), ("version", "<i8")])
UPDATE, SKIP, CHECKPOINT, SESSION = 0, 1, 2, 3
ENTRIES_FILE, SESSIONS_FILE = "update_record.bin", "update_record.json"


class RecordError(ValueError):
    """An update record that is missing, damaged, or does not belong to the run or checkpoint."""


class UpdateRecord:
    """Appends entries in memory (in SharedState's order) and writes them on flush()."""

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self._pending: list[tuple[int, int, int]] = []
        self._lock = threading.Lock()

    @classmethod
    def start(cls, run_dir: str, config: A3CConfig, updates: int = 0) -> "UpdateRecord":
        """A fresh run (updates == 0) starts a new record; a resumed one continues the run dir's
        record from its checkpoint at `updates`, dropping what came after that checkpoint (a
        run dir without a record starts one at the checkpoint: replay then needs that checkpoint)."""
        record = cls(run_dir)
        if updates == 0 or not os.path.exists(os.path.join(run_dir, ENTRIES_FILE)):
            entries, sessions = np.zeros(0, ENTRY), []
        else:
            entries, sessions = read(run_dir)
            marks = np.flatnonzero((entries["kind"] == CHECKPOINT) & (entries["version"] == updates))
            if not len(marks):
                raise RecordError(
                    f"the update record in {run_dir!r} has no checkpoint at update {updates}: this "
                    f"run dir belongs to another run; resume with a new --log-dir (the record "
                    f"starts there) or resume the checkpoint this run dir recorded")
            entries = entries[:marks[-1] + 1]
            sessions = [s for s in sessions if s["entry"] < len(entries)]
        sessions.append(dict(entry=len(entries), config=config.to_dict()))
        os.makedirs(run_dir, exist_ok=True)
        _write_whole(os.path.join(run_dir, ENTRIES_FILE), entries.tobytes())
        _write_whole(os.path.join(run_dir, SESSIONS_FILE), json.dumps(dict(sessions=sessions), indent=1).encode())
        record.append(SESSION, 0, updates)
        record.flush()
        return record

    def append(self, kind: int, worker: int, version: int) -> None:
        with self._lock:
            self._pending.append((kind, worker, version))

    def flush(self) -> None:
        """Appends the pending entries to update_record.bin."""
        with self._lock:
            pending, self._pending = self._pending, []
            if pending:
                with open(os.path.join(self.run_dir, ENTRIES_FILE), "ab") as f:
                    f.write(np.array(pending, ENTRY).tobytes())


def read(run_dir: str) -> tuple[np.ndarray, list[dict]]:
    """The entries [N] (dtype ENTRY) and sessions of the record in run_dir."""
    paths = [os.path.join(run_dir, name) for name in (ENTRIES_FILE, SESSIONS_FILE)]
    if not all(os.path.isfile(path) for path in paths):
        raise RecordError(f"{run_dir!r} has no update record ({ENTRIES_FILE}, {SESSIONS_FILE}): "
                          f"pass the --log-dir of a training run")
    with open(paths[0], "rb") as f:
        data = f.read()
    try:
        with open(paths[1]) as f:
            sessions = json.load(f)["sessions"]
        entries = np.frombuffer(data[:len(data) - len(data) % ENTRY.itemsize], ENTRY)
    except (ValueError, KeyError, TypeError) as error:
        raise RecordError(f"the update record in {run_dir!r} is damaged ({error})") from None
    return entries, sessions


def _write_whole(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
