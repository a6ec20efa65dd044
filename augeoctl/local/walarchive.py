"""The sandbox's ``archive_command``: copy one WAL file into the archive, atomically.

Usage (set by the sandbox): ``python -m augeoctl.local.walarchive %p %f ARCHIVE_DIR``.

* The file is written under a temporary name, fsynced, then renamed, so a crash never
  leaves a half-written segment under its real name.
* A file that already exists with the same content is accepted (PostgreSQL may retry an
  archive after a crash); one with different content is refused with a non-zero exit,
  so PostgreSQL keeps the segment and reports the failure in pg_stat_archiver.
"""

from __future__ import annotations

import filecmp
import os
import sys


def archive(src: str, name: str, dest_dir: str) -> int:
    if "/" in name or name.startswith("."):
        print(f"walarchive: refusing suspicious file name {name!r}", file=sys.stderr)
        return 2
    dest = os.path.join(dest_dir, name)
    if os.path.exists(dest):
        if filecmp.cmp(src, dest, shallow=False):
            return 0
        print(
            f"walarchive: {dest} exists with different content; refusing to overwrite",
            file=sys.stderr,
        )
        return 1
    tmp = os.path.join(dest_dir, f".{name}.{os.getpid()}.tmp")
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while True:
                chunk = fin.read(1 << 20)
                if not chunk:
                    break
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        os.link(tmp, dest)  # fails if dest appeared meanwhile: never overwrite
    except FileExistsError:
        os.unlink(tmp)
        return archive(src, name, dest_dir)
    except OSError as exc:
        print(f"walarchive: {exc}", file=sys.stderr)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return 1
    os.unlink(tmp)
    dfd = os.open(dest_dir, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m augeoctl.local.walarchive %p %f ARCHIVE_DIR", file=sys.stderr)
        return 2
    return archive(*args)


if __name__ == "__main__":
    sys.exit(main())
