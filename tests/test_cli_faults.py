"""The `microbp` command against hostile surroundings: closed or full standard streams (the
real command as a process), huge arguments, output paths that are links or too long."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from microbp.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `microbp argv…` in this process: exit status, stdout, stderr."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def microbp_in_shell(redirections: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """`python -m microbp argv…` started by sh with ``redirections`` (e.g. ``>&-``) applied;
    what the command could still write to stdout and stderr is captured where not redirected."""
    return subprocess.run(
        ["sh", "-c", f'exec "$@" {redirections}', "sh", sys.executable, "-m", "microbp", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


BAD_SIZES = ("explain", "--sizes", "0")


@pytest.mark.parametrize(
    ("redirections", "argv", "status"),
    [
        (">&-", ("explain",), 3),
        (">&-", ("--help",), 3),
        (">/dev/full", ("explain",), 3),
        ("2>&-", BAD_SIZES, 2),
        ("2>/dev/full", BAD_SIZES, 2),
        (">&- 2>&-", BAD_SIZES, 2),
        (">&- 2>&-", ("explain",), 3),
        (">/dev/full 2>/dev/full", ("explain",), 3),
        ("<&- 2>&-", ("explain",), 0),
    ],
)
def test_closed_or_full_standard_streams_change_neither_the_exit_status_nor_where_errors_go(
    redirections, argv, status
):
    done = microbp_in_shell(redirections, *argv)
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    if "2>" not in redirections:
        assert done.stderr.count("\n") == 1 and "error" in done.stderr
    if status != 0 and ">" not in redirections.replace("2>", ""):
        assert done.stdout == ""  # the error never lands on stdout


def test_a_closed_stdout_is_said_on_stderr_as_what_it_is():
    done = microbp_in_shell(">&-", "explain")
    assert (
        done.stderr
        == "microbp explain: error: cannot write the output: standard output is closed\n"
    )


HUGE = "9" * 100_000


@pytest.mark.parametrize(
    "argv",
    [
        ("explain", "--sizes", HUGE),
        ("explain", "--sizes", "a " * 50_000),
        ("explain", "--x", HUGE),
        ("explain", "--hidden", HUGE),
        ("explain", "--svg", HUGE),
        ("train", "--epochs", "-" + HUGE),
        ("explain", "--bogus", HUGE),
        ("audit", HUGE),
        (HUGE,),
    ],
    ids=lambda argv: " ".join(a[:12] for a in argv),
)
def test_a_100_kb_argument_is_not_echoed_whole(argv, capsys):
    status, _, err = run(capsys, *argv)
    assert status == 2, err[:300]
    assert err.count("\n") == 1 and len(err) < 1100, err[:300]


@pytest.mark.parametrize(
    ("option", "command"), [("--svg", "explain"), ("--html", "explain"), ("--plot", "train")]
)
def test_a_failed_run_writes_nothing_through_a_dangling_link(tmp_path, option, command, capsys):
    link = tmp_path / "out.svg"
    link.symlink_to(tmp_path / "target.svg")
    status, _, err = run(capsys, command, option, str(link), "--sizes", "0")
    assert status == 2, err
    assert link.is_symlink() and not (tmp_path / "target.svg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.svg"]


def test_a_path_component_too_long_is_a_bad_argument_exit_2(tmp_path, capsys):
    too_long = Path(tmp_path, "a" * 300 + ".svg")
    status, _, err = run(capsys, "explain", "--svg", str(too_long))
    assert status == 2, err
    assert "File name too long" in err and len(err) < 400


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("train", "--epochs", "1000001"), "--epochs: must be at most 1,000,000, got 1,000,001"),
        (("verify", "--examples", "10000000"), "--examples: must be at most 1,000,000"),
        (
            ("train", "--epochs", "100000", "--samples", "100000"),
            "10,000,000,000 point passes, more than the 1,000,000,000",
        ),
    ],
    ids=lambda argv: " ".join(argv) if isinstance(argv, tuple) else "",
)
def test_a_run_that_would_take_days_is_refused_up_front_naming_the_limit(argv, says, capsys):
    status, _, err = run(capsys, *argv)
    assert status == 2 and says in err and err.count("\n") == 1


def test_help_describes_every_subcommand_in_its_first_lines(capsys):
    status, out, _ = run(capsys, "--help")
    description = " ".join(out.split("positional arguments")[0].split())
    assert status == 0
    assert description.endswith(
        "explain one backward pass, verify the notes' formulas, train a network, audit your "
        "own engine."
    )
