"""The tutorial notebook (docs/tutorial.ipynb) runs from top to bottom, in a kernel of the
interpreter running the tests, and shows what it says: the explorer inline, the product it
checks, and a loss that falls. Skipped without nbclient, nbformat and ipykernel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.dot

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"
KERNEL = "microbp-tests"


@pytest.fixture
def this_interpreters_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec that starts this very interpreter (so the kernel imports the microbp
    under test, whatever kernels the machine has installed), found first on JUPYTER_PATH."""
    pytest.importorskip("ipykernel")
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "microbp tests", "language": "python"}),
        encoding="utf-8",
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return KERNEL


def test_the_tutorial_notebook_runs_and_shows_the_explorer_inline(this_interpreters_kernel):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, kernel_name=this_interpreters_kernel, timeout=120, resources={}
    )
    client.execute()
    outputs = [cell.get("outputs", []) for cell in notebook.cells if cell.cell_type == "code"]
    html = [
        o["data"]["text/html"] for cell in outputs for o in cell if "text/html" in o.get("data", {})
    ]
    assert len(html) == 2 and all(h.startswith("<iframe srcdoc=") for h in html)
    printed = "".join(
        o.get("text", "") for cell in outputs for o in cell if o["output_type"] == "stream"
    )
    assert "∂L/∂W2[1,3] = 0.353906 = 0.551354 × 0.641886" in printed
    assert "the same number: True" in printed
    assert "the loss fell at every step: True" in printed
