"""Which files an import may read: paths inside the import roots an admin declared, and what a folder holds.

A path is refused (400) when it contains ``..``, when it is absolute and outside every root, or when
it is (or passes through) a symbolic link that leads outside the roots. A path that does not exist
is a 404. Relative paths are looked up in each root in turn, as JupyterLab shows them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from ..catalogue.errors import BadRequest, NotFound

MAX_PATH = 4096
# What a folder walk picks up; a file named explicitly is always tried, whatever its name.
IMAGE_SUFFIXES = (
    ".tif", ".tiff", ".btf", ".tf2", ".tf8", ".ome.tif", ".ome.tiff", ".ome.btf", ".svs", ".ndpi", ".scn", ".qptiff",
    ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".czi", ".nd2", ".lif", ".lsm", ".stk", ".dv", ".ims",
    ".vsi", ".oib", ".oif", ".ome.xml", ".companion.ome",
    # More that the formats extra reads (Bio-Formats): DeltaVision, ICS, Zeiss ZVI, Olympus OIR, Leica LOF,
    # Volocity, SlideBook, MRC.
    ".r3d", ".ics", ".zvi", ".oir", ".lof", ".mvd2", ".sld", ".sldy", ".mrc",
)


def is_zarr_folder(path: Path) -> bool:
    """An OME-Zarr (or any zarr) hierarchy is one source, not a folder to walk."""
    return path.is_dir() and any((path / marker).is_file() for marker in ("zarr.json", ".zgroup", ".zattrs", ".zarray"))


def looks_like_image(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(IMAGE_SUFFIXES)


@dataclass(frozen=True)
class Candidate:
    """Something to hand to a reader: a file, or a zarr folder; ``shown`` is the path as the user named it."""

    path: Path
    shown: str
    explicit: bool  # named by the user, not found by walking a folder
    label: bool = False  # to be imported as a label image


class ImportRoots:
    """The folders imports by path may read from (resolved, symbolic links followed)."""

    def __init__(self, roots: Sequence[str | os.PathLike]):
        self.roots = [Path(os.path.realpath(r)) for r in roots if str(r)]

    def describe(self) -> str:
        return ", ".join(str(r) for r in self.roots) or "(none configured)"

    def _root_of(self, real: Path) -> Path | None:
        for root in self.roots:
            if real == root or real.is_relative_to(root):
                return root
        return None

    def resolve(self, text: str) -> Path:
        """The real path of ``text`` (a file or folder inside a root), or a 400/404 that says why."""
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("an import path may not be empty")
        if len(text) > MAX_PATH or "\x00" in text:
            raise BadRequest("an import path must be at most 4096 characters, without NUL")
        if not self.roots:
            raise BadRequest("this server has no import roots: an admin must set ScopehubApp.import_roots")
        pure = PurePosixPath(text.replace("\\", "/"))
        if ".." in pure.parts:
            raise BadRequest(f"{text!r}: import paths may not contain '..'; name the file or folder inside the "
                             f"import roots ({self.describe()})")
        if pure.is_absolute():
            lexical = [Path(os.path.normpath(text))]
            if self._root_of(lexical[0]) is None and self._root_of(Path(os.path.realpath(text))) is None:
                raise BadRequest(f"{text!r} is outside the import roots ({self.describe()})")
        else:
            lexical = [root / pure for root in self.roots]
        for candidate in lexical:
            if not os.path.lexists(candidate):
                continue
            real = Path(os.path.realpath(candidate))
            if self._root_of(real) is None:
                raise BadRequest(f"{text!r} is a symbolic link (or passes through one) that leads outside the "
                                 f"import roots ({self.describe()})")
            if not real.exists():
                continue  # a dangling link
            return real
        raise NotFound(f"no file or folder {text!r} in the import roots ({self.describe()})")

    def check(self, real: Path, shown: str) -> None:
        """Refuse a file found while walking a folder if a symbolic link takes it outside the roots."""
        if self._root_of(Path(os.path.realpath(real))) is None:
            raise BadRequest(f"{shown!r} is a symbolic link that leads outside the import roots ({self.describe()})")


def candidates(named: Iterable[tuple[Path, str, bool]], roots: ImportRoots | None) -> tuple[list[Candidate], int]:
    """Expand named files and folders, each ``(path, as named, as label images)``, into sources: (candidates in a
    stable order, files skipped).

    Folders are walked recursively; hidden entries and files that do not look like images are
    skipped, zarr folders are taken whole. ``roots`` None (the command line) means any path may be read.
    A file named twice is one source, a label image if either says so.
    """
    found: dict[Path, Candidate] = {}
    skipped = 0

    def add(path: Path, shown: str, explicit: bool, label: bool) -> None:
        real = Path(os.path.realpath(path))
        if roots is not None:
            roots.check(path, shown)
        if real not in found:
            found[real] = Candidate(real, shown, explicit, label)
        elif label and not found[real].label:
            found[real] = replace(found[real], label=True)

    for path, shown, label in named:
        if path.is_file() or is_zarr_folder(path):
            add(path, shown, True, label)
            continue
        if not path.is_dir():
            raise NotFound(f"{shown!r} is neither a file nor a folder")
        for sub, sub_shown, is_dir in _walk(path, shown):
            if is_dir or looks_like_image(sub.name):
                add(sub, sub_shown, False, label)
            else:
                skipped += 1
    return list(found.values()), skipped


def _walk(folder: Path, shown: str) -> Iterator[tuple[Path, str, bool]]:
    """Files under ``folder`` in name order, and zarr folders (not descended into); hidden names skipped."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        raise BadRequest(f"cannot list {shown!r}: {e.strerror}") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        sub_shown = f"{shown.rstrip('/')}/{entry.name}"
        if entry.is_dir():  # follows links; check() refuses those that leave the roots
            if is_zarr_folder(path):
                yield path, sub_shown, True
            elif not entry.is_symlink():  # never descend through links: no loops
                yield from _walk(path, sub_shown)
        elif entry.is_file():
            yield path, sub_shown, False
