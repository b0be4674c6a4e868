"""One writer at a time: an exclusive advisory lock on a file, held while its handle is open.

Separate opens conflict even within one process (two threads, two UI sessions), and the lock goes away
with the process, so a killed writer never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO


def try_lock(path: Path) -> IO[str] | None:
    """The open handle holding an exclusive lock on ``path`` (created if missing), or None if it is held."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
