"""How long the explorer page's main thread takes to answer a learner, on the largest network.

    python benchmarks/explorer_timing.py [--repeats N] [--json]

The page is written for the 4-16-16-3 sigmoid network (485 nodes, the largest graph the page
is drawn for) and opened in Debian's chromium (/usr/bin/chromium, headless, via Playwright).
Two actions are timed from inside the page with the browser's performance API:

- click-to-highlight: choosing an entry of ∇W_2 (clicked by script), the choice shown in the
  matrices, the layer view and the panel;
- edit-recompute: a new value for W_2[i,j] in the panel's number field, then the page's
  forward and backward pass and every number of the page updated.

Each is measured twice: the event handler alone (performance.now around the dispatch, the
script's own work, style recalculation and layout it forces included), and up to the next
frame after it (two requestAnimationFrame callbacks: the paint is done). Entries cycle so that
each repeat changes what is lit. Figures are the median and the largest of the repeats.
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
CHROMIUM = "/usr/bin/chromium"

MEASURE = """async ([kind, repeats]) => {
  const frame = () =>
    new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const handler = [], total = [];
  for (let r = 0; r < repeats; r++) {
    const i = 1 + (r % 16), j = 1 + ((r * 7) % 16);
    let act;
    if (kind === "click") {
      const entry = document.querySelector(
        `#matrices button.entry[data-q="gW"][data-k="2"][data-i="${i}"][data-j="${j}"]`);
      act = () => entry.click();
    } else {
      const field = document.getElementById("edit-number");
      field.value = String(0.01 * (r % 2 ? r : -r));
      act = () => field.dispatchEvent(new Event("change"));
    }
    await frame();
    const start = performance.now();
    act();
    handler.push(performance.now() - start);
    await frame();
    total.push(performance.now() - start);
  }
  return { handler, total };
}"""


def measure(repeats: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from microbp import MLP
    from microbp.explorer import write_html

    with tempfile.TemporaryDirectory() as folder:
        page_path = write_html(
            MLP(SIZES, seed=0), [0.3, -0.2, 0.5, 0.1], 1, Path(folder) / "largest.html"
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(page_path.as_uri())
            results = {"click-to-highlight": page.evaluate(MEASURE, ["click", repeats])}
            page.click('#matrices button.entry[data-q="gW"][data-k="2"][data-i="1"][data-j="1"]')
            results["edit-recompute"] = page.evaluate(MEASURE, ["edit", repeats])
            version = browser.version
            browser.close()
    summary: dict[str, Any] = {"sizes": SIZES, "repeats": repeats, "chromium": version}
    for action, times in results.items():
        summary[action] = {
            part: {"median_ms": statistics.median(values), "max_ms": max(values)}
            for part, values in times.items()
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    summary = measure(args.repeats)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"MLP {SIZES}, chromium {summary['chromium']}, {args.repeats} repeats (ms)")
    print(f"{'action':20} {'handler median':>15} {'max':>8} {'to next frame':>14} {'max':>8}")
    for action in ("click-to-highlight", "edit-recompute"):
        handler, total = summary[action]["handler"], summary[action]["total"]
        print(
            f"{action:20} {handler['median_ms']:15.1f} {handler['max_ms']:8.1f} "
            f"{total['median_ms']:14.1f} {total['max_ms']:8.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
