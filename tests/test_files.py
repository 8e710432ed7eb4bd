"""Files are written whole or not at all: the old file survives a failed or interrupted write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from limits import run_with_file_size_limit

from microbp.files import write_atomically, write_bytes_atomically, write_text_atomically


@given(text=st.text())
def test_the_file_holds_exactly_what_was_written(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("w") / "out.txt"
    write_text_atomically(path, text)
    assert path.read_bytes().decode("utf-8") == text
    assert os.listdir(path.parent) == ["out.txt"]


@pytest.mark.parametrize("fault", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_or_interrupted_write_leaves_the_old_file_and_no_partial_file(tmp_path, fault):
    path = tmp_path / "graph.svg"
    path.write_text("old")

    def write_half_then_fail(temporary: Path) -> None:
        temporary.write_text("new, but only ha")
        raise fault

    with pytest.raises(type(fault)):
        write_atomically(path, write_half_then_fail)
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["graph.svg"]


def test_a_write_past_the_file_size_limit_leaves_the_old_file(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("old")
    done = run_with_file_size_limit(
        "from microbp.files import write_text_atomically",
        f"write_text_atomically({str(path)!r}, 'x' * 100_000)",
        1000,
    )
    assert done.returncode != 0 and "File too large" in done.stderr
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["big.txt"]


def test_the_new_file_gets_the_old_files_mode_or_the_umask_default(tmp_path):
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    write_text_atomically(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    umask = os.umask(0o022)
    try:
        fresh = write_text_atomically(tmp_path / "fresh.txt", "new")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644


@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_gives_and_sits_beside_the_target_while_written(
    tmp_path, umask, mode
):
    seen: list[tuple[Path, int]] = []

    def write(temporary: Path) -> None:
        seen.append((temporary, os.umask(umask)))
        os.umask(umask)  # reading the umask is setting it: set it back to the same
        temporary.write_text("new")

    previous = os.umask(umask)
    try:
        fresh = write_atomically(tmp_path / "fresh.svg", write)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(fresh.stat().st_mode) == mode
    [(temporary, umask_while_writing)] = seen
    assert temporary.parent == tmp_path and temporary.name.startswith(".fresh.")
    assert temporary.suffix == ".svg"
    assert umask_while_writing == umask


def test_writing_never_changes_the_umask_so_other_threads_files_keep_their_mode(
    tmp_path, monkeypatch
):
    def umask_changed(mask: int) -> int:
        raise AssertionError(f"os.umask({mask:#o}) called: another thread's file gets that mode")

    monkeypatch.setattr(os, "umask", umask_changed)
    fresh = write_text_atomically(tmp_path / "fresh.txt", "new")
    assert fresh.read_text() == "new"


def test_a_target_that_is_not_a_regular_file_is_refused_before_writing(tmp_path):
    fifo = tmp_path / "pipe.svg"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        write_text_atomically(fifo, "never")  # opening a FIFO to write would wait for a reader


def test_writes_exactly_the_bytes_to_exactly_the_path_and_returns_it(tmp_path):
    path = write_bytes_atomically(tmp_path / "page.html", b"<p>\xce\xb1</p>")
    assert path == tmp_path / "page.html"
    assert path.read_bytes() == b"<p>\xce\xb1</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.html"]


def test_replaces_an_existing_file_and_gives_it_the_permissions_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    target = tmp_path / "target"
    target.write_bytes(b"old")
    write_bytes_atomically(str(target), b"new")
    assert target.read_bytes() == b"new"
    assert os.stat(target).st_mode == os.stat(plain).st_mode


def test_a_failed_rename_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.write_bytes(b"old")

    def refuse(source: object, destination: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["target"]


def test_a_directory_in_the_way_is_an_error_and_nothing_is_left_behind(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):
        write_bytes_atomically(tmp_path / "folder", b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_bytes_atomically(tmp_path / "missing" / "page.html", b"data")
