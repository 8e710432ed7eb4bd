"""Change it and watch: the page's own forward and backward pass after edits and SGD steps,
held to the Python engine entry by entry (1e-12 relative) for every hidden activation and
both losses, in a real browser. Edits go through the page's controls as a learner's would:
the number field, the drag, the label's menu; steps through its SGD button.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from explorer_browser import SETTINGS, Python, Session, Setting, browser, close, open_page

from microbp import SGD, Value
from microbp.nn import HIDDEN_ACTIVATIONS

__all__ = ["browser", "open_page"]  # the fixtures, used by name

pytestmark = [pytest.mark.dot, pytest.mark.browser]

CASES = [
    Setting((3, 4, 2), hidden, loss, seed=7)
    for hidden in HIDDEN_ACTIVATIONS
    for loss in ("cross_entropy", "squared_error")
]


def assert_page_matches(session: Session, want: Python) -> None:
    """Every entry of every matrix the page shows equals the engine's."""
    for q, k, i, j, value, _ in session.cells():
        expected = want.value(q, k, i, j)
        if expected is None:
            assert value == "", (q, k, i, j)
        else:
            assert close(float(value), expected), (q, k, i, j, value, expected)


def set_field(session: Session, value: float) -> None:
    session.page.fill("#edit-number", repr(value))
    session.page.dispatch_event("#edit-number", "change")


def random_edits(session: Session, want: Python, rng: random.Random) -> None:
    """Change x, the target, a weight and a bias (by field and by drag), in the page and in
    the Python network alike."""
    sizes = want.net.sizes
    j = rng.randint(1, sizes[0])
    session.choose("h", 0, j)
    want.x[j - 1] = Value(round(rng.uniform(-2, 2), 3), f"x[{j}]")
    set_field(session, want.x[j - 1].data)
    k = rng.randint(1, len(sizes) - 1)
    i, j = rng.randint(1, sizes[k]), rng.randint(1, sizes[k - 1])
    session.choose("W", k, i, j)
    w = rng.uniform(-1.5, 1.5)
    set_field(session, w)
    want.net.layers[k - 1].W[i - 1][j - 1].data = w
    session.choose("gb", k, i)  # the drag: where it lands is what the field then shows
    session.page.eval_on_selector(
        "#edit-drag",
        "(d, v) => { d.value = v; d.dispatchEvent(new Event('input')); }",
        str(rng.uniform(-1, 1)),
    )
    want.net.layers[k - 1].b[i - 1].data = float(session.page.input_value("#edit-number"))
    n = len(sizes) - 1
    if want.loss == "cross_entropy":
        label = rng.randrange(sizes[-1])
        session.page.select_option("#label", str(label))
        want.target = label
    else:
        i = rng.randint(1, sizes[-1])
        session.choose("y", n, i)
        y = round(rng.uniform(-1, 1), 2)
        set_field(session, y)
        assert isinstance(want.target, list)
        want.target[i - 1] = y
    want.run()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[Setting, Path]:
    folder = tmp_path_factory.mktemp("explorer-edits")
    return {setting: setting.write(folder) for setting in [*CASES, *SETTINGS.values()]}


@pytest.mark.parametrize(
    "setting",
    CASES + list(SETTINGS.values()),
    ids=[f"{s.hidden}-{s.loss}" for s in CASES] + list(SETTINGS),
)
def test_after_random_edits_and_sgd_steps_every_number_is_the_engines(
    setting: Setting, pages: Any, open_page: Any
) -> None:
    session = open_page(pages[setting])
    want = Python(
        setting.net(),
        [Value(v, f"x[{j + 1}]") for j, v in enumerate(setting.x())],
        setting.target(),
        setting.loss,
    )
    assert_page_matches(session, want)
    rng = random.Random(f"{setting}")
    random_edits(session, want, rng)
    assert_page_matches(session, want)
    lr = 0.1
    session.page.fill("#lr", str(lr))
    for _ in range(2):
        session.page.click("#sgd")
        SGD(want.net.parameters(), lr).step()
        want.run()
        assert_page_matches(session, want)


@pytest.mark.parametrize("name", ["default", "tanh-squared"])
def test_sgd_steps_make_the_loss_fall_and_undo_brings_back_the_engines_pass(
    name: str, tmp_path: Path, open_page: Any
) -> None:
    session = open_page(SETTINGS[name].write(tmp_path))
    read_L = 'document.querySelector("#matrices .entry[data-q=L] span").dataset.value'
    losses = [float(session.page.evaluate(read_L))]
    session.page.fill("#lr", "0.2")
    for _ in range(5):
        session.page.click("#sgd")
        losses.append(float(session.page.evaluate(read_L)))
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0]
    assert "SGD step 5 (η = 0.2)" in session.page.inner_text("#status")
    session.page.click("#undo")
    assert float(session.page.evaluate(read_L)) == losses[0]


def test_an_edit_that_breaks_the_pass_is_refused_and_changes_nothing(
    tmp_path: Path, open_page: Any
) -> None:
    session = open_page(SETTINGS["default"].write(tmp_path))
    before = [cell[:5] for cell in session.cells()]
    session.choose("b", 3, 1)
    set_field(session, 1e4)  # ŷ_ℓ = e^{a3[2] − a3[1]} / … underflows to 0: no log of it
    assert "Not applied" in session.page.inner_text("#edit-error")
    assert [cell[:5] for cell in session.cells()] == before
    session.page.fill("#edit-number", "")
    session.page.dispatch_event("#edit-number", "change")
    assert "must be a finite number" in session.page.inner_text("#edit-error")


SHOWN_ENTRIES_JS = """() => {
  const pane = document.getElementById("matrices").getBoundingClientRect();
  return [...document.querySelectorAll("#matrices button.entry")].filter((b) => {
    const box = b.getBoundingClientRect();
    return box.top >= pane.top && box.bottom <= pane.bottom;
  }).map((b) => [
    b.getAttribute("aria-label"), b.firstChild.textContent, b.firstChild.dataset.value]);
}"""


def test_entries_off_screen_during_an_edit_show_its_numbers_once_scrolled_to(
    tmp_path: Path, open_page: Any
) -> None:
    session = open_page(SETTINGS["largest"].write(tmp_path))
    page = session.page
    bottom = "document.getElementById('matrices').scrollTop = 1e6"
    page.evaluate(bottom)
    page.wait_for_timeout(100)
    name = lambda label: label.rsplit(" = ", 1)[0]  # noqa: E731
    before = {name(label): text for label, text, _ in page.evaluate(SHOWN_ENTRIES_JS)}
    session.choose("W", 3, 1, 1)  # at the top: the entries at the bottom are off screen now
    set_field(session, -2.5)
    page.evaluate(bottom)
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 50)))")
    shown = page.evaluate(SHOWN_ENTRIES_JS)
    assert len(shown) > 20
    for label, text, full in shown:
        assert label == f"{name(label)} = {text}"
        if full:  # the number shown is the entry's value, to 4 significant digits
            assert float(text.replace("−", "-")) == pytest.approx(float(full), rel=6e-4), label
    changed = [name(label) for label, text, _ in shown if before.get(name(label), text) != text]
    assert {f"∇x[{j}]" for j in (1, 2, 3, 4)} <= set(changed)  # reached while off screen
