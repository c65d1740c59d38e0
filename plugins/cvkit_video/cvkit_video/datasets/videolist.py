"""Video list files (the mmaction2 layout): one video a line, ``path label [label ...]``.

Separators are spaces or commas (``a.mp4 3``, ``a.mp4 3 7``, ``a.mp4,3,7``, ``a.mp4 3,7``), so paths may
not contain either. Labels are class indices, or class names when any label is not an integer. ``PATH`` is:

- a list file: every split reads it; or
- a folder of list files, one per split: ``{split}.txt``, ``{split}_list.txt``, ``{split}list.txt`` or a single
  ``*{split}*.txt`` (``val`` also matches ``valid``/``validation``), and optionally ``labels.txt`` or
  ``classes.txt`` (one class name a line, line number = index).

Classes: the names file when present; otherwise ``0 .. max index`` for indices, or the sorted names, taken
over every list file of the folder so that all splits agree. Video paths are relative to ``--videos DIR`` when
given, else to the list file's folder. Listed videos that do not exist are counted, skipped and reported in one
warning line, as for Sports-1M.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cvkit.contract import DatasetFormat, DatasetInfo, RawSplit
from cvkit.errors import BadInput
from cvkit_video.datasets.common import parse_split, read_symmetries, report_missing
from cvkit_video.decode import VIDEO_EXTENSIONS

SEP = re.compile(r"[\s,]+")
NAMES = ("labels.txt", "classes.txt")
ALIASES = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}


def parse_line(line: str) -> tuple[str, list[str]] | None:
    tokens = [t for t in SEP.split(line.strip()) if t]
    if not tokens or tokens[0].startswith("#"):
        return None
    return tokens[0], tokens[1:]


def read_list(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line number, video path, label tokens) for every non-blank line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(path, "not UTF-8 text") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        parsed = parse_line(line)
        if parsed is not None:
            out.append((n, *parsed))
    return out


def _is_list(path: Path) -> bool:
    if not path.is_file() or path.name in NAMES or path.suffix.lower() not in (".txt", ".csv", ".lst", ".list"):
        return False
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                parsed = parse_line(line)
                if parsed is not None:
                    return Path(parsed[0]).suffix.lower() in VIDEO_EXTENSIONS and bool(parsed[1])
    except (OSError, UnicodeDecodeError):
        return False
    return False


def split_file(folder: Path, split: str) -> Path | None:
    for alias in ALIASES[split]:
        for name in (f"{alias}.txt", f"{alias}_list.txt", f"{alias}list.txt"):
            if (folder / name).is_file():
                return folder / name
    for alias in ALIASES[split]:
        found = sorted(p for p in folder.glob(f"*{alias}*.txt") if _is_list(p))
        if len(found) == 1:
            return found[0]
    return None


def label_index(token: str, index: dict[str, int], num_classes: int) -> int:
    """A class name, or else a class index."""
    if token in index:
        return index[token]
    if token.isdigit() and int(token) < num_classes:
        return int(token)
    raise ValueError(f"unknown label {token!r} ({num_classes} classes)")


class VideoListFormat(DatasetFormat):
    name = "videolist"
    description = "list file(s) of 'path label [label...]' lines (spaces or commas), mmaction2 style"

    def detect(self, path: Path) -> bool:
        if path.is_file():
            return _is_list(path)
        return path.is_dir() and any(split_file(path, s) is not None for s in ("train", "val"))

    def load(self, path: Path, split: str, options: dict[str, Any]) -> RawSplit:
        name, order = parse_split(split)
        path = Path(path)
        if path.is_file():
            ann, lists, root = path, [path], path.parent
        elif path.is_dir():
            found = split_file(path, name)
            if found is None:
                raise BadInput(path, f"no list file for split {name!r} ({name}.txt, {name}_list.txt, ...)")
            ann, root = found, path
            lists = [f for f in (split_file(path, s) for s in ALIASES) if f is not None]
        else:
            raise BadInput(path, "no such list file or folder")
        classes = self._classes(root, lists)
        index = {c: i for i, c in enumerate(classes)}
        base = Path(options["videos"]) if options.get("videos") else ann.parent
        skip_bad = bool(options.get("skip_bad"))
        sources, targets, missing, bad, total = [], [], 0, 0, 0
        for n, video, tokens in read_list(ann):
            total += 1
            try:
                if not tokens:
                    raise ValueError("no label")
                labels = sorted({label_index(t, index, len(classes)) for t in tokens})
            except ValueError as exc:
                if not skip_bad:
                    raise BadInput(ann, f"expected 'path label [label ...]' ({exc})", where=f"line {n}") from None
                bad += 1
                continue
            file = Path(video) if Path(video).is_absolute() else base / video
            if not file.is_file():
                missing += 1
                continue
            sources.append(str(file))
            targets.append(labels)
        report_missing(missing, total, ann)
        info = DatasetInfo(name=root.name or "videolist", format=self.name, spec=f"{self.name}:{path}",
                           split=split, classes=classes,
                           extra={"frame_order": order, "missing_videos": missing, **read_symmetries(root, classes)})
        return RawSplit(info, sources, targets, files=[ann], skipped=missing + bad)

    def _classes(self, root: Path, lists: list[Path]) -> list[str]:
        for name in NAMES:
            if (root / name).is_file():
                names = [line.strip() for line in (root / name).read_text(encoding="utf-8").splitlines()]
                while names and not names[-1]:
                    names.pop()
                if not names:
                    raise BadInput(root / name, "no class names")
                return names
        tokens = {t for f in lists for _, _, toks in read_list(f) for t in toks}
        if not tokens:
            raise BadInput(lists[0], "no labels")
        if all(t.isdigit() for t in tokens):
            return [str(i) for i in range(max(int(t) for t in tokens) + 1)]
        return sorted(tokens)
