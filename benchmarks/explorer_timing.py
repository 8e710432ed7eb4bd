"""How long the explorer page's main thread takes to answer a learner, on the largest network.

    python benchmarks/explorer_timing.py [--repeats N] [--json] [--against PAGE.html]

The page is written for the 4-16-16-3 sigmoid network (485 nodes, the largest graph the page
is drawn for) and opened in Debian's chromium (/usr/bin/chromium, headless, via Playwright).
Two actions are timed from inside the page with the browser's performance API:

- click-to-highlight: choosing an entry of ∇W_2 (clicked by script), the choice shown in the
  matrices, the layer view and the panel;
- edit-recompute: a new value for W_2[i,j] in the panel's number field, then the page's
  forward and backward pass, the scalar graph's, and every number on screen updated.

Each is measured twice: the event handler alone (performance.now around the dispatch, the
script's own work, style recalculation and layout it forces included), and up to the paint
of the next frame (a requestAnimationFrame callback posts a message, which runs once that
frame is painted). An *idle* row times the same wait with no action: the frame's own cost on
the machine as loaded at that moment, the baseline the other rows are read against. Also
counted, independent of the machine's speed and load: the DOM changes each action makes
(a MutationObserver's records). Entries cycle so that each repeat changes what is lit.

``--against PAGE.html`` times another page of the same network too (written by an earlier
version: ``git show REV:…`` into a folder, ``python -c "…write_html…"``), repeat by repeat
alternating with this one, so both see the same load. Figures are the median and the largest.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

SIZES = [4, 16, 16, 3]
X = [0.3, -0.2, 0.5, 0.1]
CHROMIUM = "/usr/bin/chromium"
ACTIONS = ("idle", "click-to-highlight", "edit-recompute")

MEASURE = """async ([kind, r]) => {
  const painted = () => new Promise((done) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = done;
    channel.port2.postMessage(0);
  }));
  const i = 1 + (r % 16), j = 1 + ((r * 7) % 16);
  let act = () => {};
  if (kind === "click-to-highlight") {
    const entry = document.querySelector(
      `#matrices button.entry[data-q="gW"][data-k="2"][data-i="${i}"][data-j="${j}"]`);
    act = () => entry.click();
  } else if (kind === "edit-recompute") {
    const field = document.getElementById("edit-number");
    field.value = String(0.01 * (r % 2 ? r : -r));
    act = () => field.dispatchEvent(new Event("change"));
  }
  await painted();
  await painted();
  let changes = 0;
  const observer = new MutationObserver((records) => { changes += records.length; });
  observer.observe(document.body,
    { subtree: true, childList: true, attributes: true, characterData: true });
  const start = performance.now();
  act();
  const handler = performance.now() - start;
  changes += observer.takeRecords().length;
  observer.disconnect();
  await painted();
  return { handler, total: performance.now() - start, changes };
}"""


def write_page(folder: Path) -> Path:
    from microbp import MLP
    from microbp.explorer import write_html

    return write_html(MLP(SIZES, seed=0), X, 1, folder / "largest.html")


def measure(repeats: int, pages: dict[str, Path]) -> dict[str, Any]:
    """Each action ``repeats`` times on each page, the pages alternating repeat by repeat."""
    from playwright.sync_api import sync_playwright

    times: dict[str, dict[str, dict[str, list[float]]]] = {
        label: {a: {"handler": [], "total": [], "changes": []} for a in ACTIONS} for label in pages
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        opened = {}
        for label, path in pages.items():
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(path.as_uri())
            page.click('#matrices button.entry[data-q="gW"][data-k="2"][data-i="1"][data-j="1"]')
            opened[label] = page
        for action in ACTIONS:
            for r in range(repeats):
                for label, page in opened.items():
                    page.bring_to_front()
                    result = page.evaluate(MEASURE, [action, r])
                    for part, value in result.items():
                        times[label][action][part].append(value)
        version = browser.version
        browser.close()
    summary: dict[str, Any] = {"sizes": SIZES, "repeats": repeats, "chromium": version}
    for label, actions in times.items():
        summary[label] = {
            action: {
                "handler_ms": _spread(parts["handler"]),
                "to_paint_ms": _spread(parts["total"]),
                "dom_changes": statistics.median(parts["changes"]),
            }
            for action, parts in actions.items()
        }
    return summary


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "max": max(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--against", type=Path, help="another page of the same network to time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        pages = {"this": write_page(Path(folder))}
        if args.against is not None:
            pages["against"] = args.against.resolve()
        summary = measure(args.repeats, pages)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"MLP {SIZES}, chromium {summary['chromium']}, {args.repeats} repeats (ms)")
    print(
        f"{'page':8} {'action':20} {'handler median':>15} {'max':>7} "
        f"{'to paint median':>16} {'max':>7} {'DOM changes':>12}"
    )
    for label in pages:
        for action in ACTIONS:
            row = summary[label][action]
            handler, paint = row["handler_ms"], row["to_paint_ms"]
            print(
                f"{label:8} {action:20} {handler['median']:15.1f} {handler['max']:7.1f} "
                f"{paint['median']:16.1f} {paint['max']:7.1f} {row['dom_changes']:12.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
