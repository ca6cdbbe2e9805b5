"""Checks the CLI makes on an output path before the slow work: its folder exists (created if
missing) and a file that must be new is not there yet; failures are FileAccessError/ConfigError."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from relayer.errors import ConfigError, FileAccessError


def ensure_parent(path: Path, flag: str) -> None:
    """Create `path`'s folder if missing, so that an unwritable output fails before minutes of work
    (FileAccessError naming the flag, the folder and the system's reason)."""
    parent = Path(path).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileAccessError(f"{flag} {path}: cannot create its folder: "
                              f"{FileAccessError.from_os_error(exc, parent)}") from None


def check_not_input(path: Path, flag: str, inputs: dict[str, Path | None]) -> None:
    """Refuse an output that is one of the command's inputs (`inputs`: flag -> path, None when not
    given), under any spelling, symlink or hard link of it: ConfigError."""
    path = Path(path)
    for in_flag, src in inputs.items():
        if src is None:
            continue
        same = path.resolve() == Path(src).resolve()
        if not same and path.exists() and Path(src).exists():
            same = os.path.samefile(path, src)
        if same:
            raise ConfigError(f"{flag} {path} is the {in_flag} file: an output is never written over an input "
                              "or another output of the command (a crash mid-write would lose it); choose a new file")


def check_new_file(path: Path, flag: str, inputs: dict[str, Path | None] | None = None) -> None:
    """Refuse an output that would overwrite: an existing `path` (file, folder or link), or one that
    is an input (see check_not_input). ConfigError."""
    path = Path(path)
    check_not_input(path, flag, inputs or {})
    if path.exists() or path.is_symlink():
        raise ConfigError(f"{flag} {path} already exists; it is never overwritten: choose a new file "
                          "(or move that one aside yourself)")


def write_new_file(path: Path, write: Callable[[Path], None], flag: str) -> None:
    """`write(tmp)` into a hidden file beside `path`, flush it to disk, then link it to `path`,
    which fails rather than replace a file that appeared meanwhile: `path` is complete or absent."""
    path = Path(path)
    ensure_parent(path, flag)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.partial-", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 is for secrets; these files are public
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # link(2) never replaces an existing name
        except FileExistsError:
            raise ConfigError(f"{flag} {path} appeared while it was being written; it is left as it is "
                              "and nothing was written") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # a file system without hard links: check once more, then rename
            check_new_file(path, flag)
            os.rename(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
