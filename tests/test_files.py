"""Files are written whole or not at all, through a temporary name in the same folder."""

from __future__ import annotations

import os

import pytest

from microbp.files import write_atomically


def test_writes_exactly_the_bytes_to_exactly_the_path_and_returns_it(tmp_path):
    path = write_atomically(tmp_path / "page.html", b"<p>\xce\xb1</p>")
    assert path == tmp_path / "page.html"
    assert path.read_bytes() == b"<p>\xce\xb1</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_replaces_an_existing_file_and_gives_it_the_permissions_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    target = tmp_path / "target"
    target.write_bytes(b"old")
    write_atomically(str(target), b"new")
    assert target.read_bytes() == b"new"
    assert os.stat(target).st_mode == os.stat(plain).st_mode


def test_a_failed_rename_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.write_bytes(b"old")

    def refuse(source: object, destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["target"]


def test_a_directory_in_the_way_is_an_error_and_nothing_is_left_behind(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomically(tmp_path / "folder", b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "missing" / "page.html", b"data")
