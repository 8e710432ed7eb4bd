"""The project's chores, one nox session each: `nox` runs them all, `nox -s tests-3.12` one.

Every supported Python must be on the PATH as python3.X: a missing one is an error, not a skip.
"""

from __future__ import annotations

import os

import nox

#: The supported Pythons, as pyproject.toml's classifiers declare them.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

#: The property tests that hold the engine to the notes' matrix formulas, HIPS autograd and
#: finite differences, and the tape to the engine, the formulas and exact sums: what the
#: `thorough` session searches ten times longer (about 5 minutes of CPU).
PROPERTY_TESTS = [
    "tests/test_backprop_formulas.py",
    "tests/test_engine_properties.py",
    "tests/test_tape.py",
    "tests/test_tape_sums.py",
]

nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "lint", "typecheck", "docs", "bench"]
nox.options.reuse_existing_virtualenvs = True
# uv makes and fills a session's environment in seconds where venv and pip take a minute or
# more; without uv installed beside nox, venv and pip do it.
nox.options.default_venv_backend = "uv|venv"


def run_suite(session: nox.Session, profile: str, tests: list[str]) -> None:
    """``tests`` with hypothesis' ``profile`` (tests/conftest.py) on every core, unless the
    session's arguments say what to run instead; `dot` and chromium must be there."""
    session.install(".[test]")
    arguments = session.posargs or ["-n", "auto", *tests]
    environment = {"MICROBP_REQUIRE_TOOLS": "1", "HYPOTHESIS_PROFILE": profile}
    session.run("python", "-m", "pytest", "-q", *arguments, env=environment)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite on one Python."""
    run_suite(session, "default", [])


@nox.session(python=PYTHONS[-1])
def thorough(session: nox.Session) -> None:
    """The property tests (`PROPERTY_TESTS`) with ten times the examples (the `thorough`
    profile) on one Python, as CI runs them; not among the default sessions.
    `nox -s thorough -- -n auto tests` searches the whole suite that long."""
    run_suite(session, "thorough", PROPERTY_TESTS)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's rules and its formatting, as pinned in the test extra."""
    session.install(".[test]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the package (strict-leaning, see pyproject.toml), the tests and benchmarks;
    pyright over the package too, which reads some types differently."""
    session.install(".[test]", "mypy", "nox", "pyright")  # nox: the noxfile is checked too
    session.run("mypy")
    session.run("pyright", "microbp")


@nox.session
def docs(session: nox.Session) -> None:
    """The MkDocs site: every page, link and API entry builds without a warning."""
    session.install(".[docs]")
    site = os.path.join(session.create_tmp(), "site")
    session.run("mkdocs", "build", "--strict", "--site-dir", site, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks at small sizes: only that they run and agree, never timed."""
    session.install(".[bench]")
    session.run("python", "benchmarks/run.py", "--quick", silent=True)
