"""Writing the proof's on-disk caches (renders, checkov reports) safely from parallel test workers.

``make test`` runs the suite in two pytest-xdist workers that may render the same chart at the same
time; a reader must never see a half-written file, so each cache entry is written to a private
temporary name and renamed into place (``os.replace`` is atomic on POSIX within one filesystem).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (creating its folder) so concurrent readers see all of it or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
