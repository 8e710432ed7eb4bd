"""The project's chores, one nox session each: `nox` runs them all, `nox -s tests-3.12` one.

Every supported Python must be on the PATH as python3.X: a missing one is an error, not a skip.
"""

from __future__ import annotations

import os

import nox

#: The supported Pythons, as pyproject.toml's classifiers declare them.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "lint", "typecheck", "docs", "bench"]
nox.options.reuse_existing_virtualenvs = True


def run_suite(session: nox.Session, profile: str) -> None:
    """The test suite with hypothesis' ``profile`` (tests/conftest.py), on every core unless
    the session's arguments say otherwise; `dot` and chromium must be there."""
    session.install(".[test]")
    options = session.posargs or ["-n", "auto"]
    environment = {"MICROBP_REQUIRE_TOOLS": "1", "HYPOTHESIS_PROFILE": profile}
    session.run("python", "-m", "pytest", "-q", *options, env=environment)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite on one Python."""
    run_suite(session, "default")


@nox.session(python=PYTHONS[-1])
def thorough(session: nox.Session) -> None:
    """The suite with ten times the examples (the `thorough` profile) on one Python: the long
    search, not among the default sessions; `nox -s thorough` runs it."""
    run_suite(session, "thorough")


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
