"""Write a file so that a reader sees the old content or the new, never half of either.

The one atomic-write rule kg uses for posts, the library, caches, exports and build records.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write(path: str | Path, data: bytes | str, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and one rename.

    ``durable`` fsyncs the file before the rename, so a power cut cannot leave an empty file
    under the new name; caches that are derived again when unreadable skip it. A new file's mode
    follows the umask (not ``mkstemp``'s 0600, which a server running as another user could not
    read); a replaced file keeps its mode. On any failure the temporary file is removed and the
    old file is left as it was.
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as out:
            out.write(payload)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
