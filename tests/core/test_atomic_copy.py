"""best.pt is made from last.pt without a second serialisation: a linked (or copied) file renamed into place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cvkit.io.atomic import atomic_copy, write_bytes


def test_copy_survives_the_source_being_replaced(tmp_path: Path) -> None:
    write_bytes(tmp_path / "last.pt", b"epoch 1")
    atomic_copy(tmp_path / "last.pt", tmp_path / "best.pt")
    write_bytes(tmp_path / "last.pt", b"epoch 2")  # the next epoch replaces last.pt by a rename
    assert (tmp_path / "best.pt").read_bytes() == b"epoch 1"
    atomic_copy(tmp_path / "last.pt", tmp_path / "best.pt")
    assert (tmp_path / "best.pt").read_bytes() == b"epoch 2"
    assert sorted(os.listdir(tmp_path)) == ["best.pt", "last.pt"]


def test_copies_bytes_where_links_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    write_bytes(tmp_path / "last.pt", b"weights")
    atomic_copy(tmp_path / "last.pt", tmp_path / "best.pt")
    assert (tmp_path / "best.pt").read_bytes() == b"weights"
    assert os.stat(tmp_path / "best.pt").st_ino != os.stat(tmp_path / "last.pt").st_ino
    assert sorted(os.listdir(tmp_path)) == ["best.pt", "last.pt"]


def test_a_missing_source_leaves_the_old_copy_and_no_temporary(tmp_path: Path) -> None:
    write_bytes(tmp_path / "best.pt", b"old")
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "last.pt", tmp_path / "best.pt")
    assert (tmp_path / "best.pt").read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["best.pt"]
