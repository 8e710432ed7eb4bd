"""One self-contained HTML page of a class's audit: the summary table, then each target's lines,
counterexamples and pictures (SVG inlined). No script, no request: it opens anywhere offline."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from microbp.audit.grading import Graded, short_names
from microbp.audit.report import PropertyResult

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { text-align: left; padding: .25em .8em; border-bottom: 1px solid #ddd; }
td { vertical-align: top; }
.pass { color: #1a7f37; } .FAIL, .fail, .refused { color: #cf222e; font-weight: bold; }
.convention, .limit, .skipped { color: #9a6700; } .not-supported { color: #6e7781; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
section { border-top: 2px solid #ddd; margin-top: 2em; }
svg { max-width: 100%; height: auto; }
"""


def _status(text: str) -> str:
    return f'<span class="{escape(text.replace(" ", "-"))}">{escape(text)}</span>'


def _summary(graded: Sequence[Graded], strict: bool) -> str:
    common, names = short_names([g.target for g in graded])
    rows = "".join(
        f'<tr><td><a href="#t{i}">{escape(name)}</a></td>'
        f"<td>{_status(g.verdict(strict))}</td><td>{escape(g.first_failure(strict))}</td></tr>"
        for i, (g, name) in enumerate(zip(graded, names))
    )
    where = f"<p>files in {escape(common)}</p>" if common else ""
    head = "<tr><th>target</th><th>verdict</th><th>first failure</th></tr>"
    return f"{where}<table>{head}{rows}</table>"


def _picture(path: str | None) -> str:
    if path is None or not path.endswith(".svg"):
        return ""
    try:
        svg = Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""
    return svg[svg.find("<svg") :] if "<svg" in svg else ""


def _line(r: PropertyResult) -> str:
    shown = "FAIL" if r.status == "fail" else r.status
    return (
        f"<tr><td>{escape(r.title)}</td><td>{_status(shown)}</td><td>{escape(r.detail)}</td></tr>"
    )


def _target(i: int, g: Graded, strict: bool) -> str:
    head = f'<section id="t{i}"><h2>{escape(g.target)}: {_status(g.verdict(strict))}</h2>'
    if g.report is None:
        return f"{head}<p>{escape(g.refused)}</p></section>"
    report = g.report
    lines = "".join(_line(r) for r in report.results)
    examples = []
    for r in report.results:
        example = r.counterexample
        if example is None:
            continue
        note = f"<p>{escape(example.note)}</p>" if example.note else ""
        examples.append(
            f"<h3>{escape(r.title)}</h3><p>{escape(r.detail)}</p>{note}"
            f"<pre>{escape(example.snippet)}</pre>{_picture(example.svg)}"
        )
    return (
        f"{head}<p>{report.examples} examples a line, seed {report.seed}</p>"
        f"<table><tr><th>line</th><th>result</th><th>detail</th></tr>{lines}</table>"
        f"{''.join(examples)}</section>"
    )


def render(graded: Sequence[Graded], strict: bool = False) -> str:
    """The page for ``graded``, one string of HTML."""
    passing = sum(g.passes(strict) for g in graded)
    title = f"microbp audit: {passing} of {len(graded)} pass"
    body = "".join(_target(i, g, strict) for i, g in enumerate(graded))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{_summary(graded, strict)}{body}</body></html>\n"
    )
