"""Atomic file writes, directory locks and hashing (torch-free): nothing half-written is ever left.

Every file gantool writes goes to a temporary name in the destination directory
and is renamed over the target only once it is complete, so a crash or Ctrl-C
leaves either the old file or the new one. A process that writes a run or export
directory holds an exclusive `flock` on it for as long as it writes; the OS releases
it when the process dies, so kill -9 never leaves a stale lock, and the next holder
removes the temp files a dead writer left behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from gantool.core.errors import GantoolError

TEMP_SUFFIX = ".tmp"  # atomic_path's temp files: .NAME.XXXXXXXX.tmp


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `target`; rename it over `target` on success."""
    target = Path(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as e:
        raise _write_error(target, e) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(e, OSError) and not isinstance(e, FileNotFoundError):
            raise _write_error(target, e) from None  # disk full, quota, permissions: the old file stays
        raise


def _write_error(target: Path, e: OSError) -> GantoolError:
    return GantoolError(
        f"could not write {str(target)!r} ({e.strerror or e}); the previous file, if any, "
        "is intact: free some space or choose another location"
    )


def remove_stale_temps(directory: str | os.PathLike) -> list[str]:
    """Delete the temp files atomic_path left in `directory` when a writer was killed mid-write.
    Call only while holding the directory's lock (no live writer can own them)."""
    removed = []
    d = Path(directory)
    if d.is_dir():
        for p in d.iterdir():
            if p.name.startswith(".") and p.name.endswith(TEMP_SUFFIX) and p.is_file():
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p.name)
    return removed


@contextlib.contextmanager
def dir_lock(directory: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold an exclusive flock on an existing directory (through its own descriptor: no lock file is
    left anywhere) for the block. A second process gets a one-line GantoolError naming `what`; the
    OS drops the lock when the holder exits, however it exits (kill -9 included)."""
    with _flock(lambda: os.open(directory, os.O_RDONLY), what):
        yield


@contextlib.contextmanager
def path_lock(target: str | os.PathLike, what: str) -> Iterator[None]:
    """The same for a path that is replaced as a whole by rename (an export folder), whose inode
    changes: the lock is a file in gantool's cache, keyed by the absolute path."""

    def open_lock() -> int:
        import hashlib

        locks = cache_root() / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha256(str(Path(target).absolute()).encode()).hexdigest()[:24]
        return os.open(locks / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)

    with _flock(open_lock, what):
        yield


@contextlib.contextmanager
def _flock(open_fd, what: str) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    try:
        fd = open_fd()
    except OSError as e:
        raise GantoolError(f"cannot lock {what} ({e.strerror or e}); choose a writable location") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise GantoolError(
                f"{what} is in use by another gantool process; wait for it to finish or choose another"
            ) from None
        yield
    finally:
        os.close(fd)


def cache_root() -> Path:
    """gantool's cache: $GANTOOL_CACHE, else $XDG_CACHE_HOME/gantool, else ~/.cache/gantool."""
    base = os.environ.get("GANTOOL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gantool"
    )
    return Path(base)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: str | os.PathLike, obj: object) -> None:
    write_text_atomic(target, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def user_path(value: object, what: str = "path") -> Path:
    """A path argument of the public API as a Path: a str or os.PathLike without NUL bytes, else one line."""
    if not isinstance(value, (str, os.PathLike)):
        raise GantoolError(
            f"{what} must be a file path (str or pathlib.Path), got {type(value).__name__} {value!r:.40}"
        )
    text = os.fspath(value)
    if not isinstance(text, str) or "\0" in text or not text:
        raise GantoolError(f"{what} {text!r:.60} is not a usable file path")
    return Path(text)


def check_writable_dir(path: str | os.PathLike, what: str) -> Path:
    """Create `path` if needed and prove we can write into it, or raise GantoolError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-probe-", delete=True)
        probe.close()
    except OSError as e:
        raise GantoolError(
            f"{what} {str(path)!r} is not writable ({e.strerror or e}); choose another directory"
        ) from None
    return path


def check_output_file(path: str | os.PathLike, what: str = "output") -> Path:
    """A file we are about to write: its folder must exist and the path must not be a directory."""
    path = Path(path)
    if path.is_dir():
        raise GantoolError(f"{what} {str(path)!r} is a directory; name a file")
    if not path.parent.is_dir():
        raise GantoolError(f"output directory {str(path.parent)!r} does not exist; create it first")
    check_writable_dir(path.parent, "output directory")  # before the work, not after it
    return path


STAGING_PREFIX, RETIRED_PREFIX = ".gantool-tmp-", ".gantool-old-"  # RETIRED: left by older versions' swaps
# A scratch folder's name carries its owner's pid (NAME-pidPID-RANDOM), so a later process can tell a
# folder whose owner was killed (kill -9 runs no clean-up) from one a live process is still writing.
_OWNED = re.compile(r"-pid(\d+)-[a-z0-9_]+$")


def owned_temp_dir(prefix: str, parent: str | os.PathLike | None = None) -> Path:
    """A new private (0700) folder named PREFIX-pidPID-RANDOM in `parent` (default: the temp dir)."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-pid{os.getpid()}-", dir=parent))


def _owner_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False


def remove_orphans(parent: str | os.PathLike, prefix: str) -> list[str]:
    """Remove the folders `owned_temp_dir(prefix, parent)` made whose owning process is gone: only
    this user's plain folders, never one whose pid is alive (a reused pid keeps its folder: the safe side)."""
    import shutil

    removed: list[str] = []
    try:
        entries = list(os.scandir(os.fspath(parent)))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        m = _OWNED.search(entry.name)
        if not entry.name.startswith(prefix) or m is None or int(m.group(1)) == os.getpid():
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or (uid is not None and st.st_uid != uid) or not _owner_gone(int(m.group(1))):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.name)
    return removed


def new_staging_dir(target: Path) -> Path:
    """An empty folder beside `target`, on the same filesystem, to build its replacement in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return owned_temp_dir(f"{STAGING_PREFIX}{target.name}", target.parent)


def remove_stale_staging(target: Path) -> None:
    """Staging and retired folders a killed process left beside `target` (call under its lock: no live
    export to `target` exists), and those of other exports in the same folder whose process is gone."""
    import shutil

    if target.parent.is_dir():
        for prefix in (STAGING_PREFIX, RETIRED_PREFIX):
            # this target's own (not those of "NAME-2"): the rest of the name is [pidPID-]RANDOM
            own = re.compile(re.escape(f"{prefix}{target.name}-") + r"(pid\d+-)?[a-z0-9_]+$")
            for p in target.parent.iterdir():
                if own.match(p.name) and p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
        remove_orphans(target.parent, STAGING_PREFIX)
