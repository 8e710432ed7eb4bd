"""The `microbp` command: explain, verify and train, their output, exit status and errors.

Gradients printed by `explain --json` are checked against the notes' formulas computed here
with numpy from the network's weights, independently of `microbp.formulas`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from examples import scaled
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import run_with_file_size_limit

from microbp import __version__, comparison, formulas
from microbp.cli import main, output
from microbp.datasets import make_xor
from microbp.explorer import explore
from microbp.nn import MLP


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `microbp argv…` in this process: exit status, stdout, stderr."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def numpy_backprop(
    W: list[np.ndarray], b: list[np.ndarray], x: np.ndarray, label: int
) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """∇a_k, ∇W_k, ∇b_k, ∇h_k per layer, and ∇x, for sigmoid hidden layers, softmax output and
    cross-entropy."""
    h, a = [x], []
    for k, (W_k, b_k) in enumerate(zip(W, b), start=1):
        a.append(b_k + W_k @ h[-1])
        if k < len(W):
            h.append(1.0 / (1.0 + np.exp(-a[-1])))
    y_hat = np.exp(a[-1] - a[-1].max())
    y_hat /= y_hat.sum()
    e = np.eye(len(y_hat))[label]
    grad_h = -e / y_hat[label]  # ∇ŷ L for L = −log ŷ_ℓ
    grad_a = y_hat - e  # ∇a_L = ŷ − e(ℓ)
    layers = []
    for k in range(len(W), 0, -1):
        layers.append(
            {"grad_a": grad_a, "grad_W": np.outer(grad_a, h[k - 1]), "grad_b": grad_a}
            | {"grad_h": grad_h}  # ∇W_k = ∇a_k h_{k-1}ᵀ, ∇b_k = ∇a_k
        )
        grad_h = W[k - 1].T @ grad_a  # ∇h_{k-1} = W_kᵀ ∇a_k
        if k > 1:
            s = h[k - 1]
            grad_a = grad_h * s * (1.0 - s)  # ∇a_{k-1} = ∇h_{k-1} ⊙ σ'
    return layers[::-1], grad_h


# ---- the command itself ----


def test_bare_microbp_prints_the_usage_with_the_three_subcommands(capsys):
    status, out, err = run(capsys)
    assert status == 0 and not err
    assert out.startswith("usage: microbp")
    for command in ("explain", "verify", "train"):
        assert f"\n    {command} " in out


def test_version_prints_the_package_version(capsys):
    status, out, _ = run(capsys, "--version")
    assert status == 0
    assert out.strip() == f"microbp {__version__}"


# ---- explain ----


@pytest.mark.parametrize(
    "given",
    [["--target", "0.25,-0.75"], ["--output", "linear"], ["--output", "linear", "--x", "1,2"]],
    ids=" ".join,
)
def test_a_target_or_a_linear_output_implies_squared_error(given, capsys):
    status, out, err = run(capsys, "explain", "--sizes", "2,3,2", *given)
    assert status == 0, err
    assert "loss squared-error" in out.splitlines()[0]


@given(
    x=st.lists(st.floats(-9.5, 9.5).map(lambda v: round(v, 2)), min_size=2, max_size=2),
    spaced=st.booleans(),
)
def test_an_input_starting_with_a_minus_sign_is_taken_with_or_without_an_equals_sign(x, spaced):
    text = ",".join(map(repr, x))
    argv = ["explain", "--sizes", "2,2", "--json"]
    argv += ["--x", text] if spaced else [f"--x={text}"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    assert json.loads(out.getvalue())["x"] == x


def test_a_network_without_hidden_layers_names_no_hidden_activation(capsys):
    status, out, _ = run(capsys, "explain", "--sizes", "3,2")
    assert status == 0
    assert out.splitlines()[0] == ("MLP 3 → 2, output softmax, loss cross-entropy, seed 0")


@pytest.mark.parametrize("hidden", ["relu", "sigmoid", "tanh", "linear"])
def test_explain_prints_no_negative_zero_and_no_trailing_spaces(hidden, capsys):
    # relu zeroes gradients: exactly where a −0.0 or a tiny negative number would print as −0
    for seed in range(4):
        status, out, _ = run(capsys, "explain", "--hidden", hidden, "--seed", str(seed))
        assert status == 0
        assert not re.search(r"-0\.0+(?![0-9])", out), out
        assert all(line == line.rstrip() for line in out.splitlines())


def test_explain_prints_every_layer_and_exits_0_when_the_engine_agrees(capsys):
    status, out, err = run(capsys, "explain")
    assert status == 0, err
    for k in (1, 2, 3):
        assert f"∇W{k} L (engine)" in out
        assert f"largest |engine − formula| in layer {k}" in out
    assert "∇a1 L · xᵀ (formula)" in out and "∇a3 L · h2ᵀ (formula)" in out
    assert "every entry agrees" in out
    assert "\x1b[" not in out, "output must be plain text when not a terminal"


@settings(max_examples=scaled(25))
@given(
    sizes=st.tuples(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(2, 4)).map(
        lambda drawn: [*drawn[0], drawn[1]]  # a softmax needs at least 2 outputs
    ),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_explain_json_gradients_are_the_notes_formulas_computed_with_numpy(sizes, seed, data):
    x = data.draw(st.lists(st.floats(-3, 3), min_size=sizes[0], max_size=sizes[0]))
    label = data.draw(st.integers(0, sizes[-1] - 1))
    argv = ["explain", "--json", f"--sizes={','.join(map(str, sizes))}", f"--seed={seed}"]
    argv += [f"--x={','.join(map(repr, x))}", f"--label={label}"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    assert status == 0
    document = json.loads(out.getvalue())

    net = MLP(sizes, seed=seed)
    W = [np.array([[w.data for w in row] for row in layer.W]) for layer in net.layers]
    b = [np.array([v.data for v in layer.b]) for layer in net.layers]
    expected, grad_x = numpy_backprop(W, b, np.array(x), label)
    assert [layer["k"] for layer in document["layers"]] == list(range(1, len(sizes)))
    assert (document["sizes"], document["x"], document["label"]) == (sizes, x, label)
    shown = [
        (layer[name], expected_layer[name])
        for layer, expected_layer in zip(document["layers"], expected)
        for name in expected_layer
    ]
    worst = 0.0
    for pair, value in [*shown, (document["grad_x"], grad_x)]:
        for side in ("engine", "formula"):
            np.testing.assert_allclose(np.array(pair[side]), value, rtol=1e-9, atol=1e-12)
            assert np.array(pair[side]).shape == value.shape
        diff = np.abs(np.array(pair["engine"]) - np.array(pair["formula"]))
        worst = max(worst, float(diff.max()))
    assert document["max_abs_diff"] == worst  # the JSON holds every entry that was compared
    assert document["max_abs_diff"] < 1e-12


def test_explain_squared_error_with_a_linear_output_uses_the_target(capsys):
    status, out, err = run(
        capsys,
        "explain", "--json", "--sizes", "2,3,2", "--hidden", "tanh", "--output", "linear",
        "--loss", "squared-error", "--x", "0.5,-1", "--target", "0.25,-0.75",
    )  # fmt: skip
    assert status == 0, err
    document = json.loads(out)
    net = MLP([2, 3, 2], hidden="tanh", output="linear", seed=0)
    expected = formulas.gradients(net, [0.5, -1.0], [0.25, -0.75], "squared_error")
    y_hat = formulas.forward(net, [0.5, -1.0]).h[-1]
    # The output layer is linear, so ∇a_L = ∇ŷ = 2(ŷ − y), computed here directly.
    np.testing.assert_allclose(
        document["layers"][-1]["grad_a"]["engine"], 2 * (y_hat - [0.25, -0.75]), rtol=1e-12
    )
    np.testing.assert_allclose(
        document["layers"][0]["grad_W"]["engine"], expected.layers[0].grad_W, rtol=1e-12
    )


def test_explain_exits_1_and_says_so_when_engine_and_formulas_disagree(capsys, monkeypatch):
    honest = formulas.gradients

    def off_by_a_little(*args, **kwargs):
        grads = honest(*args, **kwargs)
        grads.layers[0].grad_W[0, 0] += 1e-6
        return grads

    monkeypatch.setattr(comparison, "gradients", off_by_a_little)
    status, out, _ = run(capsys, "explain")
    assert status == 1
    assert "DISAGREE" in out and "✗" in out
    status, out, _ = run(capsys, "explain", "--json")
    assert status == 1
    assert json.loads(out)["max_abs_diff"] == pytest.approx(1e-6, rel=1e-3)


@pytest.mark.dot
def test_explain_svg_writes_the_graph_of_the_loss(capsys, tmp_path):
    path = tmp_path / "graph.svg"
    status, out, err = run(capsys, "explain", "--sizes", "2,2,2", "--svg", str(path))
    assert status == 0, err
    svg = path.read_text()
    assert "<svg" in svg and "W2[1,2]" in svg
    assert f"wrote the graph of L to {path}" in out


@pytest.mark.dot
def test_explain_json_with_svg_prints_only_the_json(capsys, tmp_path):
    status, out, _ = run(capsys, "explain", "--json", "--svg", str(tmp_path / "g.svg"))
    assert status == 0
    assert set(json.loads(out)) >= {"max_abs_diff", "layers"}


@pytest.mark.dot
@pytest.mark.parametrize(
    ("options", "target", "loss"),
    [
        (["--label", "1"], 1, "cross_entropy"),
        (["--output", "linear", "--target", "1,-0.5"], [1.0, -0.5], "squared_error"),
    ],
)
def test_explain_html_writes_the_explorer_page_of_the_pass_it_explains(
    options, target, loss, capsys, tmp_path
):
    path = tmp_path / "explorer.html"
    argv = ["explain", "--sizes", "3,3,2", "--x", "0.5,-1,2", *options, "--html", str(path)]
    status, out, err = run(capsys, *argv)
    assert status == 0, err
    output = "softmax" if loss == "cross_entropy" else "linear"
    net = MLP([3, 3, 2], output=output, seed=0)
    assert (
        path.read_text(encoding="utf-8") == explore(net, [0.5, -1.0, 2.0], target, loss=loss).html
    )
    assert f"wrote the explorer page of this pass to {path}" in out
    assert [p.name for p in tmp_path.iterdir()] == ["explorer.html"]


@pytest.mark.dot
def test_explain_json_with_html_prints_only_the_json(capsys, tmp_path):
    status, out, _ = run(capsys, "explain", "--json", "--html", str(tmp_path / "page.html"))
    assert status == 0
    assert set(json.loads(out)) >= {"max_abs_diff", "layers"}
    assert (tmp_path / "page.html").stat().st_size > 0


def test_same_seed_same_output_and_another_seed_other_weights(capsys):
    first = run(capsys, "explain", "--seed", "7")
    again = run(capsys, "explain", "--seed", "7")
    other = run(capsys, "explain", "--seed", "8")
    assert first == again
    assert first[1] != other[1]


# ---- bad arguments: one line on stderr, exit status 2, no traceback ----

BAD_ARGUMENTS = [
    (["fit"], "invalid choice"),
    (["explain", "--sizes", "3,0,2"], "at least 1"),
    (["explain", "--sizes", "3,x,2"], "positive integers"),
    (["explain", "--sizes", "3"], "at least two sizes"),
    (["explain", "--sizes", "3,-1"], "at least 1"),
    (["explain", "--label", "2"], "--label 2 is out of range"),
    (["explain", "--sizes", "3,5", "--label", "5"], "use 0 to 4"),
    (["explain", "--x", "1,2"], "--x has 2 values but the network has 3 inputs"),
    (["explain", "--x", "1,2,nan"], "not a finite number"),
    (["explain", "--x", "1,2,inf"], "not a finite number"),
    (["explain", "--x", "1,two,3"], "not a number"),
    (["explain", "--seed", "-1"], "at least 0"),
    (["explain", "--hidden", "softplus"], "invalid choice"),
    (["explain", "--label", "1", "--target", "1,0"], "not allowed with"),
    (
        ["explain", "--loss", "cross-entropy", "--target", "1,0"],
        "--target goes with --loss squared",
    ),
    (["explain", "--loss", "squared-error", "--label", "1"], "--label goes with"),
    (["explain", "--loss", "squared-error", "--target", "1,0,0"], "--target has 3 values"),
    (["explain", "--output", "linear", "--loss", "cross-entropy"], "needs --output softmax"),
    (["explain", "--svg", "/no/such/folder/g.svg"], "does not exist"),
    (["explain", "--svg", "/proc/g.svg"], "cannot write"),
    (["explain", "--svg", "/etc/hostname/g.svg"], "is a file, not a directory"),
    (["explain", "--svg", ""], "the path is empty"),
    (["train", "--plot", "/proc/p.png"], "cannot write"),
    (["explain", "--sizes", "10,20,20,2", "--svg", "big.svg"], "use smaller --sizes"),
    (["explain", "--sizes", "10,20,20,2", "--html", "big.html"], "--html: the graph of L has"),
    (["explain", "--html", "/no/such/folder/page.html"], "does not exist"),
    (["verify", "--examples", "0"], "at least 1"),
    (["train", "--sizes", "3,4,2"], "must start with 2"),
    (["train", "--sizes", "2,4,3"], "end with 2"),
    (["train", "--epochs", "0"], "at least 1"),
    (["train", "--lr", "0"], "must be positive"),
    (["train", "--lr", "-0.5"], "must be positive"),
    (["train", "--data", "spirals"], "invalid choice"),
    (["train", "--plot", "/no/such/folder/p.png"], "does not exist"),
    (["train", "--plot", "curve.txt"], "end the file name with one of"),
    (["train", "--samples", "20", "--epochs", "2", "--lr", "1e6"], "try a smaller lr"),
    (
        ["train", "--samples", "20", "--epochs", "2", "--lr", "1e6", "--engine", "scalar"],
        "smaller lr",
    ),
    (["train", "--batch", "0"], "--batch: must be at least 1"),
    (["train", "--lr", "20"], "diverged: the mean loss over the points rose from"),
    (["train", "--hidden", "relu", "--lr", "4", "--data", "circles"], "rose from 0.6476"),
    (["train", "--lr", "20", "--engine", "scalar"], "try a smaller lr than 20"),
    (["explain", "--sizes", "3,3,1"], "at least 2 outputs"),
    (["train", "--engine", "gpu"], "invalid choice: 'gpu'"),
]


@pytest.mark.parametrize(("argv", "says"), BAD_ARGUMENTS, ids=lambda a: " ".join(a))
def test_a_bad_argument_is_one_line_on_stderr_and_exit_status_2(
    argv, says, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert says in err
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir()), "nothing half-built is left behind"


def test_an_existing_folder_is_refused_as_an_output_file(capsys, tmp_path):
    status, _, err = run(capsys, "explain", "--svg", str(tmp_path))
    assert status == 2 and "is a directory" in err


def test_plot_without_matplotlib_says_which_extra_to_install(capsys, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    status, out, err = run(capsys, "train", "--plot", str(tmp_path / "p.png"))
    assert status == 2 and out == ""
    assert "-m pip install '.[plot]'" in err and err.count("\n") == 1


def test_help_exits_0(capsys):
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0 and "--epochs" in out


# ---- verify ----


def test_verify_leaves_no_hypothesis_folder_behind(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, "verify", "--examples", "3")
    assert status == 0, err
    assert list(tmp_path.iterdir()) == []


def test_verify_passes_every_formula_and_exits_0(capsys):
    status, out, err = run(capsys, "verify", "--examples", "30", "--seed", "1")
    assert status == 0, err
    for formula in ("∇W_k L = ∇a_k L · h_{k-1}ᵀ", "∇b_k L = ∇a_k L", "W_k ← W_k − η ∇W_k L"):
        row = next(line for line in out.splitlines() if formula in line)
        assert row.split()[-1] == "pass"
        assert " 30 " in row, "every drawn network has weights and biases"
    assert "FAIL" not in out


def test_verify_reports_a_failing_formula_and_exits_1(capsys, monkeypatch):
    honest = formulas.gradients

    def wrong_bias_gradient(*args, **kwargs):
        grads = honest(*args, **kwargs)
        grads.layers[-1].grad_b[0] += 0.01
        return grads

    monkeypatch.setattr(comparison, "gradients", wrong_bias_gradient)
    status, out, _ = run(capsys, "verify", "--examples", "10")
    assert status == 1
    row = next(line for line in out.splitlines() if "∇b_k L = ∇a_k L" in line)
    assert "FAIL (10)" in row
    assert "∇b_k L = ∇a_k L fails, first on: sizes [" in out
    w_row = next(line for line in out.splitlines() if "∇W_k L = ∇a_k L · h_{k-1}ᵀ" in line)
    assert w_row.split()[-1] == "pass"


def test_verify_with_the_same_seed_draws_the_same_networks(capsys):
    assert run(capsys, "verify", "--examples", "15", "--seed", "4") == run(
        capsys, "verify", "--examples", "15", "--seed", "4"
    )


# ---- train ----


def test_train_learns_xor_and_reports_final_loss_and_accuracy(capsys):
    status, out, err = run(capsys, "train", "--data", "xor", "--samples", "40", "--epochs", "15")
    assert status == 0, err
    final = out.splitlines()[-1]
    loss = float(final.split("after training: loss ")[1].split()[0])
    correct, total = final.split("(")[-1].rstrip(")").split("/")
    assert total == "40"
    assert int(correct) >= 36
    X, y = make_xor(40, seed=0)
    untrained = MLP([2, 8, 2], hidden="tanh", seed=0)
    untrained_loss = np.mean(
        [-np.log(formulas.forward(untrained, x).h[-1][c]) for x, c in zip(X, y)]
    )
    assert loss < untrained_loss / 4


@pytest.mark.parametrize("batch", ["1", "8"])
def test_train_on_the_tape_and_on_the_scalar_engine_reaches_the_same_result(capsys, batch):
    common = ("train", "--data", "moons", "--samples", "24", "--epochs", "4", "--batch", batch)
    outputs = {}
    for engine in ("tape", "scalar"):
        status, out, err = run(capsys, *common, "--engine", engine)
        assert status == 0, err
        assert f"batch {batch}" in out and f"{engine} engine" in out
        outputs[engine] = out.splitlines()[-1]
    assert outputs["tape"] == outputs["scalar"]  # same final loss to 4 digits, same accuracy


def test_on_a_terminal_train_shows_a_progress_bar_with_the_loss_and_colours(monkeypatch):
    from rich.console import Console

    monkeypatch.setenv("TERM", "xterm-256color")  # the terminal this test sets up for itself
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100, highlight=False)
    monkeypatch.setattr(output, "console", lambda: terminal)
    assert main(["train", "--samples", "20", "--epochs", "3"]) == 0
    shown = screen.getvalue()
    assert "training on moons" in shown and "3/3" in shown and "loss 0." in shown
    assert "\x1b[" in shown
    assert "after training: loss" in shown


def test_train_plot_writes_an_image(capsys, tmp_path):
    path = tmp_path / "training.png"
    status, out, err = run(capsys, "train", "--samples", "20", "--epochs", "3", "--plot", str(path))
    assert status == 0, err
    assert path.read_bytes().startswith(b"\x89PNG")
    assert f"to {path}" in out


# ---- the real command in a subprocess ----


def test_python_m_microbp_runs_explain_as_a_process():
    done = subprocess.run(
        [sys.executable, "-m", "microbp", "explain", "--json", "--sizes", "3,3,2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert [layer["k"] for layer in document["layers"]] == [1, 2]
    assert document["max_abs_diff"] < 1e-12


@pytest.mark.parametrize("argv", [["explain"], ["explain", "--json"]], ids=" ".join)
def test_a_reader_that_stops_early_ends_the_command_with_the_broken_pipe_status(argv):
    # Far more output than a pipe holds (64 KiB), so the command is still writing when the
    # reader leaves, however slow the machine.
    command = [sys.executable, "-m", "microbp", *argv, "--sizes", "80,80,2"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # as `| head -1` does
        err = process.stderr.read().decode()
    assert process.returncode == 141, err  # 128 + SIGPIPE, not 1 ("the formulas disagree")
    assert "Traceback" not in err and "Exception ignored" not in err


def test_python_m_microbp_bad_argument_is_one_line_without_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "microbp", "explain", "--sizes", "3,0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


# ---- ordinary faults: never a traceback, never a hang ----


def microbp_process(*argv: str, **options: object) -> subprocess.CompletedProcess[str]:
    """`python -m microbp argv…` as its own process, within a minute."""
    return subprocess.run(
        [sys.executable, "-m", "microbp", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **options,  # type: ignore[call-overload]
    )


def test_an_ascii_terminal_gets_the_output_with_question_marks_for_what_it_cannot_show():
    done = microbp_process("explain", env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "MLP 3 ? 3 ? 3 ? 2" in done.stdout and "Traceback" not in done.stderr


def test_a_full_disk_is_one_line_and_exit_status_3():
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "microbp", "explain"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 3
    assert (
        done.stderr == "microbp explain: error: cannot write the output: No space left on device\n"
    )


@pytest.mark.parametrize("option", ["--svg", "--plot"])
def test_a_fifo_as_an_output_file_is_refused_at_once_instead_of_waiting_for_a_reader(
    option, tmp_path
):
    fifo = tmp_path / "out.svg"
    os.mkfifo(fifo)
    command = "explain" if option == "--svg" else "train"
    done = microbp_process(command, option, str(fifo))
    assert done.returncode == 2
    assert "is not a regular file" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["explain", "--sizes", "99999999999,2"], "more than the 2,000,000"),
        (["train", "--samples", "1000000000"], "at most 1,000,000"),
        (["train", "--sizes", "2,2000,2000,2"], "more than the 2,000,000"),
    ],
    ids=" ".join,
)
def test_what_cannot_fit_is_refused_up_front_naming_the_limit(argv, says):
    done = microbp_process(*argv)
    assert done.returncode == 2
    assert says in done.stderr and done.stderr.count("\n") == 1


def wait_until_loaded(pid: int, library: str) -> None:
    """Wait until process ``pid`` has mapped a shared library whose path contains ``library``."""
    import time

    maps = Path(f"/proc/{pid}/maps")
    for _ in range(6000):
        if library in maps.read_text():
            return
        time.sleep(0.005)
    raise AssertionError(f"{library} was never loaded")


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3, 1.0])
def test_ctrl_c_while_importing_or_running_is_one_line_and_exit_status_130(delay):
    """From the moment numpy starts to load (inside the command, past Python's own start-up,
    which no program can guard), through hypothesis' import, to drawing networks."""
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "microbp", "verify", "--examples", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until_loaded(process.pid, "numpy")
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert "Traceback" not in err
    assert err == "microbp verify: interrupted\n"
    # 130 = 128 + SIGINT: an exit(130), or, when Python finishes by re-raising the signal as
    # it does after an interrupt, death by SIGINT, which a shell reports as 130 too.
    assert process.returncode in (130, -signal.SIGINT)


def test_running_out_of_memory_is_one_line_and_exit_status_3(capsys, monkeypatch):
    from microbp.cli import explain

    def exhausted(args: object) -> object:
        raise MemoryError

    monkeypatch.setattr(explain, "run_pass", exhausted)
    status, _, err = run(capsys, "explain")
    assert status == 3 and "out of memory" in err and err.count("\n") == 1


@pytest.mark.parametrize("option", ["--svg", "--html"])
def test_a_picture_past_the_file_size_limit_is_exit_3_and_the_old_file_stays(option, tmp_path):
    picture = tmp_path / "old.out"
    picture.write_text("old")
    done = run_with_file_size_limit(
        "import sys; from microbp.cli import main",
        f"sys.exit(main(['explain', {option!r}, {str(picture)!r}]))",
        2000,
    )
    assert done.returncode == 3, done.stderr
    assert "File too large" in done.stderr and done.stderr.count("\n") == 1
    assert picture.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["old.out"]


@pytest.mark.parametrize("argv", [["--version"], ["--help"], []], ids=" ".join)
def test_usage_and_version_that_cannot_be_written_are_exit_3(argv):
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "microbp", *argv],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 3 and "No space left on device" in done.stderr


def test_a_loss_that_rounds_to_zero_prints_without_a_minus_sign(capsys):
    status, out, _ = run(capsys, "explain", "--sizes", "3,2", "--x", "20,20,20")
    assert status == 0
    assert "-0.000000" not in out and "L = 0.000000" in out.splitlines()[1]
