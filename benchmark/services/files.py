"""Zoo files on object storage: each machine works in its local ``ARENA_ZOO_ROOT`` and copies
what it wrote to the bucket, and what it needs from it.

With the file system storage (the default) every function here does nothing: all machines see
one directory (one machine, or NFS). With ``ARENA_S3_BUCKET`` set, the pure zoo library still
reads and writes plain files (it knows nothing of buckets), so the tasks around it push and
pull a track's files under the bucket's ``zoo/`` prefix, keyed by their path under the zoo
root:

- a zoo worker pushes the chunk it trained, the finalizing one pulls every chunk to write the
  bundle and pushes the bundle;
- a scoring worker pulls the track's solutions, an attack worker the whole track, the web
  process a black-box track's weights for its queries.

A file is copied when the other side lacks it or holds another size (zoo files are written
once per build: a rebuilt chunk is the same bytes). Downloads land in a temporary file renamed
into place, so two processes pulling on one machine never see half a file. What a process has
pulled for a built track is remembered by the track's zoo fingerprint, so a busy scoring
worker lists the bucket once per track, not once per submission.
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings

from benchmark.models import Track, zoo_storage

#: Which files of a track: the participant tree (and the manifest, population and README
#: beside it), the organizer's solutions, the bundle.
PARTS = ("participant", "solutions", "bundle")
_pulled: set[tuple[str, str, str]] = set()


def remote() -> bool:
    """True when files live in a bucket (``ARENA_S3_BUCKET``), not on a shared disk."""
    return bool(settings.ARENA_S3_BUCKET)


def _prefixes(slug: str, parts: tuple[str, ...]) -> list[str]:
    known = {
        "participant": [f"{slug}/", f"{slug}."],
        "solutions": [f"solutions/{slug}/"],
        "bundle": [f"bundles/{slug}.zip"],
    }
    unknown = set(parts) - set(known)
    if unknown:
        raise ValueError(f"unknown parts {sorted(unknown)}; use any of {PARTS}")
    return [prefix for part in parts for prefix in known[part]]


def _local_files(root: Path, prefixes: list[str]) -> Iterator[tuple[str, Path]]:
    """(path under the root, file) of every local file under the prefixes."""
    for prefix in prefixes:
        directory, _, start = prefix.rpartition("/")
        base = root / directory if directory else root
        if not base.is_dir():
            continue
        if not start:  # a folder: everything in it
            for path in base.rglob("*"):
                if path.is_file():
                    yield path.relative_to(root).as_posix(), path
            continue
        for path in base.iterdir():
            if path.name.startswith(start) and path.is_file():
                yield path.relative_to(root).as_posix(), path


def _remote_files(storage: Any, prefixes: list[str]) -> dict[str, int]:
    """Size of every object under the prefixes, by its path under the zoo root."""
    location = storage.location.strip("/")
    found: dict[str, int] = {}
    for prefix in prefixes:
        for item in storage.bucket.objects.filter(Prefix=f"{location}/{prefix}"):
            found[item.key[len(location) + 1 :]] = item.size
    return found


def zoo_push(*, track: Track, parts: tuple[str, ...] = PARTS) -> int:
    """Copy the track's local files that the bucket lacks (or holds at another size) to it.

    Returns how many files were copied (0 without object storage).
    """
    if not remote():
        return 0
    storage: Any = zoo_storage()
    prefixes = _prefixes(track.slug, parts)
    there = _remote_files(storage, prefixes)
    copied = 0
    for relative, path in _local_files(Path(settings.ARENA_ZOO_ROOT), prefixes):
        if there.get(relative) != path.stat().st_size:
            storage.bucket.upload_file(str(path), f"{storage.location.strip('/')}/{relative}")
            copied += 1
    return copied


def zoo_pull(*, track: Track, parts: tuple[str, ...] = PARTS) -> int:
    """Copy the track's files that this machine lacks (or holds at another size) from the
    bucket into its zoo root. Returns how many files were copied (0 without object storage,
    or when this process pulled these parts of this build already)."""
    if not remote():
        return 0
    key = (track.slug, ",".join(parts), track.zoo_fingerprint)
    if track.zoo_fingerprint and key in _pulled:
        return 0
    storage: Any = zoo_storage()
    root = Path(settings.ARENA_ZOO_ROOT)
    copied = 0
    for relative, size in _remote_files(storage, _prefixes(track.slug, parts)).items():
        target = root / relative
        if target.is_file() and target.stat().st_size == size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(handle)
        try:
            storage.bucket.download_file(f"{storage.location.strip('/')}/{relative}", temporary)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        copied += 1
    if track.zoo_fingerprint:
        _pulled.add(key)
    return copied


def bundle_url(*, track: Track) -> str | None:
    """A short-lived pre-signed URL of the track's bundle in the bucket (None on a disk)."""
    if not remote() or not track.bundle.name:
        return None
    return str(track.bundle.storage.url(track.bundle.name))
