"""Output folders are checked before any work starts, not after an hour of training."""
import os
import tempfile


class UnwritablePathError(ValueError):
    """An output folder that cannot be created or written."""


def ensure_writable_dir(directory: str, flag: str) -> None:
    """Creates `directory` if needed and proves it writable; raises UnwritablePathError naming `flag`."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise UnwritablePathError(f"cannot write to {directory!r} ({error.strerror}): "
                                  f"pass a writable folder with {flag}") from None
