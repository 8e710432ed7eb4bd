"""The examples in README.md and docs/*.md run, and print what the pages say they print.

- Every ```python block runs, in page order, in one namespace per page (in a scratch folder).
  A ```text block right after it is the output it must print.
- Every ```console block starting with ``$ .venv/bin/microbp …`` is run as the command, and
  everything after that line is the output it must print (as when piped: plain text, 80
  columns), and the command exits 0. A block right after ``<!-- numbers vary -->`` is compared
  with every number masked: its numbers come from hypothesis draws, which may change between
  hypothesis versions; one after ``<!-- exit 1 -->`` (or ``<!-- numbers vary, exit 1 -->``)
  exits 1 instead.
- A largest |engine − formula| below 1e-15 is rounding, whose last digits depend on the BLAS
  that numpy's matrix products use: it is compared as "ε", a larger one digit for digit.
- Every test a page cites as `tests/test_x.py::test_name` exists, so the citations cannot rot.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from microbp.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(
    r"(?:<!-- (?P<marker>[a-z0-9, ]+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```\n", re.S | re.M
)
EXIT_STATUS = re.compile(r"\bexit (\d+)\b")
NUMBER = re.compile(r"[-+]?\d+(\.\d+)?(e[-+]?\d+)?%?")


@dataclass
class Block:
    lang: str
    body: str
    line: int
    numbers_vary: bool
    status: int = 0  # the exit status a command block's command ends with
    output: str | None = None  # the ```text block right after a python block


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, each python block paired with the text block after it."""
    text = page.read_text()
    found: list[Block] = []
    previous_end = None
    for match in FENCE.finditer(text):
        lang, body = match["lang"], match["body"]
        adjacent = previous_end is not None and not text[previous_end : match.start()].strip()
        if lang == "text" and adjacent and found and found[-1].lang == "python":
            found[-1].output = body
        else:
            line = text.count("\n", 0, match.start()) + 1
            marker = match["marker"] or ""
            status = EXIT_STATUS.search(marker)
            found.append(
                Block(lang, body, line, "numbers vary" in marker, int(status[1]) if status else 0)
            )
        previous_end = match.end()
    return found


#: A largest difference at the level of rounding (below 1e-15), masked by `lines`.
ROUNDING_DIFFERENCE = re.compile(
    r"(largest \|engine − formula\|[^:=]*[:=] )(?:0|\d\.\d+e-(?:1[6-9]|[2-9]\d|\d{3}))\b"
)


def lines(text: str) -> list[str]:
    """Lines without trailing spaces, rounding-level differences masked, and without blank
    lines at the end."""
    result = [ROUNDING_DIFFERENCE.sub(r"\1ε", line.rstrip()) for line in text.splitlines()]
    while result and not result[-1]:
        result.pop()
    return result


def masked(text: str) -> list[str]:
    """Lines with every number replaced by N and runs of spaces (column padding) by one."""
    return [" ".join(NUMBER.sub("N", line).split()) for line in lines(text)]


def python_pages() -> list[Path]:
    return [p for p in PAGES if any(b.lang == "python" for b in blocks(p))]


#: How a page shows the command run: from the README's virtual environment, as a newcomer
#: who followed the quick start can paste it.
COMMAND_PROMPT = "$ .venv/bin/microbp "


def commands() -> list[Any]:
    return [
        pytest.param(page, block, marks=drawing(block.body.partition("\n")[0]))
        for page in PAGES
        for block in blocks(page)
        if block.lang == "console" and block.body.startswith(COMMAND_PROMPT)
    ]


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """Run in an empty folder (conftest's plain_environment makes the output as when piped to a
    file, 80 columns wide)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def drawing(text: str) -> list[pytest.MarkDecorator]:
    """The `dot` mark for an example that writes an SVG, which needs Graphviz's program."""
    return [pytest.mark.dot] if "render_svg" in text or "--svg" in text else []


@pytest.mark.parametrize(
    "page",
    [pytest.param(p, marks=drawing(p.read_text())) for p in python_pages()],
    ids=lambda p: p.name,
)
def test_python_examples_run_and_print_what_the_page_shows(page, scratch):
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in blocks(page):
        if block.lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block.body, f"{page.name}:{block.line}", "exec"), namespace)
        if block.output is not None:
            assert lines(out.getvalue()) == lines(block.output), f"{page.name}:{block.line}"


@pytest.mark.parametrize(
    ("page", "block"), commands(), ids=lambda x: getattr(x, "name", None) or str(x.line)
)
def test_commands_print_what_the_page_shows(page, block, scratch):
    command, _, shown = block.body.partition("\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(shlex.split(command)[2:])
    assert status == block.status, f"{page.name}:{block.line}: {command}"
    if block.numbers_vary:
        assert masked(out.getvalue()) == masked(shown), f"{page.name}:{block.line}"
    else:
        assert lines(out.getvalue()) == lines(shown), f"{page.name}:{block.line}"


#: A command a newcomer would paste that is not on their PATH after the quick start: a line
#: of a bash block, or a ``$ `` line of a console or text block (the rest is output).
BARE_COMMANDS = {
    "bash": re.compile(r"^(?:microbp|python|python3 -m pip|pip) ", re.M),
    "console": re.compile(r"^\$ (?:microbp|python|python3 -m pip|pip) ", re.M),
}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_commands_on_the_pages_run_from_the_quick_starts_virtual_environment(page):
    for block in blocks(page):
        bare = BARE_COMMANDS["bash" if block.lang == "bash" else "console"].search(block.body)
        assert bare is None, f"{page.name}:{block.line}: {bare and bare[0]!r}"


def test_the_pages_have_examples_to_check():
    assert python_pages(), "no page has a python example"
    assert len(commands()) >= 3, "the pages should show explain, verify and train running"


TEST_REFERENCE = re.compile(r"`(tests/test_\w+\.py)(?:::(test_\w+))?`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_test_a_page_names_exists(page):
    for path, name in TEST_REFERENCE.findall(page.read_text()):
        source = (ROOT / path).read_text()
        assert not name or f"def {name}(" in source, f"{page.name} names {path}::{name}"


def readme_command(marker: str) -> str:
    """The command in the README's fenced block right after ``<!-- marker -->``."""
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {marker} -->\n```bash\n(.*?)\n```", text)
    assert found, f"README.md has no <!-- {marker} --> block"
    return found[1]


@pytest.mark.parametrize("marker", ["main command", "test command"])
def test_the_quick_start_commands_need_no_python_command_and_no_system_pip(marker):
    command = readme_command(marker)
    assert command.startswith("python3 -m venv .venv && ")
    assert not re.search(r"(^|&& )python ", command), "stock Debian has no `python` command"
    assert "pip install" in command and ".venv/bin/python -m pip install" in command
    assert command in (ROOT / "docs" / "index.md").read_text(), "index.md says the same"


def test_the_readme_runs_the_tests_on_every_core():
    """CI runs the README's test command itself: serial, it took most of CI's time."""
    assert readme_command("test command").endswith("-m pytest -n auto")


INLINE_TEX = re.compile(r"\\\((.+?)\\\)", re.S)
DISPLAY_TEX = re.compile(r"^\$\$\n(.+?)\n\$\$$", re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_formula_renders_to_mathml_when_the_site_is_built(page):
    from docs_hooks.mathml import to_mathml

    text = page.read_text()
    formulas = [(tex, "inline") for tex in INLINE_TEX.findall(text)]
    formulas += [(tex, "block") for tex in DISPLAY_TEX.findall(text)]
    for tex, display in formulas:
        rendered = to_mathml(tex, display)
        assert rendered.startswith("<math") and "merror" not in rendered, tex


def test_the_site_loads_no_script_or_font_from_the_network():
    config = (ROOT / "mkdocs.yml").read_text()
    assert "extra_javascript" not in config and "font: false" in config
    assert "docs_hooks/mathml.py" in config


def test_the_table_of_contents_shows_a_headings_formula_as_mathml_not_tex():
    """MkDocs keeps a heading's text in the table of contents with its markup stripped, so the
    hook renders the bare \\( … \\) left there, in entries at any depth."""
    from types import SimpleNamespace

    from docs_hooks.mathml import on_page_content

    def entry(title: str, *children: SimpleNamespace) -> SimpleNamespace:
        return SimpleNamespace(title=title, children=list(children))

    page = SimpleNamespace(
        toc=[entry(r"One entry of \(\nabla_{W_k} L\)", entry(r"Where \(a_{ki}\) is made"))]
    )
    on_page_content("", page=page)
    [top] = page.toc
    [inner] = top.children
    for item, text in ((top, "One entry of <math"), (inner, "Where <math")):
        assert item.title.startswith(text) and "\\(" not in item.title, item.title
        assert "merror" not in item.title
