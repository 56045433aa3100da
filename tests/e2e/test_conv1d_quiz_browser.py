"""The 1D convolution page and the quiz in Chromium: every control once, a visible check after each change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from playwright.sync_api import Browser, Page, expect

from cnnviz.conv.kernels import LECTURE_SIGNAL, TEMPLATE_MATCHING
from cnnviz.conv.numbers import number_text
from cnnviz.conv.shapes import conv_output_size
from cnnviz.topics.quiz import QuizAnswer, answer_matrix
from tests.e2e.actions import choose, open_page, rerun_after, set_number

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ERROR = '[data-testid="stAlertContentError"]'
SUCCESS = '[data-testid="stAlertContentSuccess"]'
EXCEPTION = '[data-testid="stException"]'
# Answer boxes are keyed by the question ("qz_k_q1"): a new question gets new, empty boxes.
QUIZ_FIELDS = (("kernel size", "qz_k"), ("stride", "qz_s"), ("dilation", "qz_d"), ("padding", "qz_p"))


def _warm(browser: Browser, app_url: str, url_path: str) -> None:
    """Load a page once, so a cold server's first run is not timed by the opener's short wait."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{app_url}/{url_path}")
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=120_000)
    finally:
        context.close()


@pytest.fixture(scope="module")
def warm(browser: Browser, app_url: str) -> None:
    _warm(browser, app_url, "Convolution_1D")
    _warm(browser, app_url, "Convolution_quiz")


def _opened(browser: Browser, app_url: str, url_path: str, title: str) -> Iterator[Page]:
    # A shared, busy machine can take more than Playwright's default 5 s to redraw a page.
    expect.set_options(timeout=30_000)
    try:
        yield from open_page(browser, app_url, url_path, title)
    finally:
        expect.set_options(timeout=5_000)


@pytest.fixture()
def conv1d_tab(browser: Browser, app_url: str, warm: None) -> Iterator[Page]:
    yield from _opened(browser, app_url, "Convolution_1D", "Convolution in 1D")


@pytest.fixture()
def quiz_tab(browser: Browser, app_url: str, warm: None) -> Iterator[Page]:
    yield from _opened(browser, app_url, "Convolution_quiz", "Name that convolution")


def _no_errors(page: Page) -> None:
    expect(page.locator(EXCEPTION)).to_have_count(0)
    # Pausing cancels Plotly's running animate() call, whose promise rejects with no reason ("undefined").
    assert [e for e in page.js_errors if e != "undefined"] == []  # type: ignore[attr-defined]


def _radio(page: Page, key: str, option: str) -> None:
    """Pick `option` in the radio group with widget key `key`, and wait for the rerun."""
    rerun_after(page, page.locator(f".st-key-{key}").get_by_text(option, exact=True).click)


def _type_line(page: Page, key: str, text: str) -> None:
    """Type into the one-line text box with widget key `key` and press Enter, waiting for the rerun."""
    field = page.locator(f".st-key-{key} input")
    field.fill(text)
    rerun_after(page, lambda: field.press("Enter"))


def _type_area(page: Page, key: str, text: str) -> None:
    """Type into the text area with widget key `key` and submit it with Ctrl+Enter, waiting for the rerun."""
    field = page.locator(f".st-key-{key} textarea")
    field.fill(text)
    rerun_after(page, lambda: field.press("Control+Enter"))


def _expect_length(page: Page, n_in: int, n_out: int) -> None:
    """The matrix's title names the output and input lengths."""
    title = page.locator(".st-key-c1_matrix .gtitle")
    expect(title).to_have_text(re.compile(rf"^{n_out} outputs × {n_in} inputs(?!\d)"))


def _torch_output(
    signal: list[float],
    kernel: list[float],
    bias: float,
    stride: int,
    padding: tuple[int, int],
    dilation: int,
    mode: str,
) -> np.ndarray:
    """The convolution's output computed by PyTorch, padding first with F.pad in the given mode."""
    x = torch.tensor(signal, dtype=torch.float64)[None, None]
    pad_mode = "constant" if mode == "zeros" else mode
    x = F.pad(x, padding, mode=pad_mode)
    w = torch.tensor(kernel, dtype=torch.float64)[None, None]
    b = torch.tensor([bias], dtype=torch.float64)
    return F.conv1d(x, w, b, stride=stride, dilation=dilation)[0, 0].numpy()


def _expect_equation_total(page: Page, value: float) -> None:
    """The one-output equation ends in `= value` (two decimals, as the page writes numbers)."""
    codes = page.locator('[data-testid="stMain"] [data-testid="stCode"]')
    equation = codes.filter(has_text="×").filter(has_not_text="Conv1d").first
    expect(equation).to_contain_text(
        re.compile(re.escape(f"= {number_text(value, fractions=False)}") + r"\s*$")
    )


def _picked(page: Page) -> int:
    """The output position the picker shows (an error's stop unmounts it, so it may have reset)."""
    return int(page.locator(".st-key-c1_pos input").input_value())


def test_conv1d_every_control(conv1d_tab: Page, screenshots_dir: Path) -> None:
    page = conv1d_tab
    lecture = list(LECTURE_SIGNAL)
    # Defaults: the lecture signal, the average of 3, stride 1, dilation 1, one zero on each side.
    _expect_length(page, len(lecture), conv_output_size(len(lecture), 3, 1, 1, 1))
    average = [1 / 3] * 3
    _expect_equation_total(page, _torch_output(lecture, average, 0.0, 1, (1, 1), 1, "zeros")[0])

    # The animation: play walks the window to the last output; pause holds it still.
    anim = page.locator(".st-key-c1_animation")
    label = anim.locator(".slider-group > .slider-label")
    expect(label).to_have_text("output position: 0")
    anim.scroll_into_view_if_needed()
    anim.locator(".updatemenu-button", has_text="play").click()
    last = conv_output_size(len(lecture), 3, 1, 1, 1) - 1
    expect(label).to_have_text(f"output position: {last}", timeout=30_000)
    anim.locator(".updatemenu-button", has_text="pause").click()
    held = label.text_content()
    # Nothing to wait for: the check is that the label stays put for two frames (400 ms each).
    page.wait_for_timeout(800)
    assert label.text_content() == held
    _no_errors(page)

    # Lecture 002's template matching: signal and filter from the lectures, checked against PyTorch.
    signal, template = list(TEMPLATE_MATCHING[0]), list(TEMPLATE_MATCHING[1])
    choose(page, "c1_signal", "template matching")
    _expect_length(page, len(signal), conv_output_size(len(signal), 3, 1, 1, 1))
    choose(page, "c1_kernel", "template (-1, 1)")
    expect(page.locator(".st-key-c1_k input")).to_be_disabled()
    _radio(page, "c1_pad_kind", "valid")
    _expect_length(page, len(signal), conv_output_size(len(signal), len(template), 1, "valid", 1))
    out = _torch_output(signal, template, 0.0, 1, (0, 0), 1, "zeros")
    _expect_equation_total(page, out[0])
    set_number(page, "c1_pos", len(out) - 1)  # the output position picker
    _expect_equation_total(page, out[-1])
    set_number(page, "c1_pos", 1)
    _expect_equation_total(page, out[1])
    _no_errors(page)

    # A typed signal and kernel, a malformed one of each giving its message, then fixed.
    choose(page, "c1_signal", "typed")
    signal = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0]
    _type_area(page, "c1_signal_text_typed", ", ".join(f"{v:g}" for v in signal))
    _expect_length(page, len(signal), conv_output_size(len(signal), len(template), 1, "valid", 1))
    _type_area(page, "c1_signal_text_typed", "1, 2, seven")
    expect(page.locator(ERROR)).to_contain_text("'seven' is not a number")
    _type_area(page, "c1_signal_text_typed", ", ".join(f"{v:g}" for v in signal))
    expect(page.locator(ERROR)).to_have_count(0)
    choose(page, "c1_kernel", "typed")
    kernel = [2.0, -1.0, 0.5]
    _type_line(page, "c1_kernel_text_typed", "1, x")
    expect(page.locator(ERROR)).to_contain_text("'x' is not a number")
    _no_errors(page)
    _type_line(page, "c1_kernel_text_typed", ", ".join(f"{v:g}" for v in kernel))
    expect(page.locator(ERROR)).to_have_count(0)
    _expect_length(page, len(signal), conv_output_size(len(signal), len(kernel), 1, "valid", 1))
    _expect_equation_total(page, _torch_output(signal, kernel, 0.0, 1, (0, 0), 1, "zeros")[_picked(page)])

    # Bias, stride, dilation: the length follows the formula, the value follows PyTorch.
    set_number(page, "c1_bias", 2)
    _expect_equation_total(page, _torch_output(signal, kernel, 2.0, 1, (0, 0), 1, "zeros")[_picked(page)])
    set_number(page, "c1_stride", 2)
    _expect_length(page, len(signal), conv_output_size(len(signal), len(kernel), 2, "valid", 1))
    set_number(page, "c1_dilation", 2)
    n_out = conv_output_size(len(signal), len(kernel), 2, "valid", 2)
    _expect_length(page, len(signal), n_out)
    _expect_equation_total(page, _torch_output(signal, kernel, 2.0, 2, (0, 0), 2, "zeros")[_picked(page)])

    # Padding: 'same' cannot go with stride 2 (a message), then per side, a number, and each mode.
    _radio(page, "c1_pad_kind", "same")
    expect(page.locator(ERROR)).to_contain_text("padding='same' needs stride 1")
    _no_errors(page)
    _radio(page, "c1_pad_kind", "per side")
    set_number(page, "c1_pad_l", 3)
    set_number(page, "c1_pad_r", 0)
    _expect_length(page, len(signal), conv_output_size(len(signal), len(kernel), 2, (3, 0), 2))
    set_number(page, "c1_pos", 0)
    for mode in ("reflect", "replicate", "circular", "zeros"):
        choose(page, "c1_mode", mode)
        _expect_equation_total(page, _torch_output(signal, kernel, 2.0, 2, (3, 0), 2, mode)[0])
    _radio(page, "c1_pad_kind", "number")
    set_number(page, "c1_pad", 4)
    _expect_length(page, len(signal), conv_output_size(len(signal), len(kernel), 2, 4, 2))

    # The average kernel's size box, back on the lecture signal with 'same' and stride 1.
    choose(page, "c1_kernel", "average")
    expect(page.locator(".st-key-c1_k input")).to_be_enabled()
    set_number(page, "c1_k", 5)
    set_number(page, "c1_stride", 1)
    choose(page, "c1_signal", "lecture signal (3 plateaus)")
    _expect_length(page, len(lecture), conv_output_size(len(lecture), 5, 1, 4, 2))
    _radio(page, "c1_pad_kind", "same")
    _expect_length(page, len(lecture), len(lecture))
    out = _torch_output(lecture, [0.2] * 5, 2.0, 1, (4, 4), 2, "zeros")
    _expect_equation_total(page, out[0])
    _no_errors(page)
    page.set_viewport_size({"width": 1440, "height": 3600})
    page.screenshot(path=str(screenshots_dir / "conv1d-controls.png"), full_page=True)


def _quiz_pattern(page: Page) -> np.ndarray:
    """Which cells of the quiz's matrix are coloured, read from the drawn Plotly heatmap."""
    cells = page.evaluate(
        """() => {
            const gd = document.querySelector('.st-key-qz_matrix .js-plotly-plot');
            return Array.from(gd._fullData[0].z, row => Array.from(row, v => Number.isFinite(v) && v !== 0));
        }"""
    )
    return np.array(cells, dtype=bool)


def _pattern(answer: QuizAnswer, n_inputs: int) -> np.ndarray | None:
    """The coloured cells an answer's matrix has, or None when it cannot be built."""
    try:
        return answer_matrix(answer, n_inputs) != 0
    except Exception:  # an impossible configuration is simply not a candidate
        return None


def _answer(page: Page, question_id: str, answer: QuizAnswer) -> None:
    """Fill the quiz's four boxes and press Check, waiting for the rerun."""
    values = (answer.kernel_size, answer.stride, answer.dilation, answer.padding)
    for (_, key), value in zip(QUIZ_FIELDS, values, strict=True):
        field = page.locator(f".st-key-{key}_{question_id} input")
        field.fill(str(value))
        field.press("Tab")
    rerun_after(page, page.get_by_role("button", name="Check").click)


def test_quiz_wrong_then_right_then_new(quiz_tab: Page, screenshots_dir: Path) -> None:
    page = quiz_tab
    title = page.locator(".st-key-qz_matrix .gtitle")
    expect(title).to_contain_text("question ")
    shown = _quiz_pattern(page)
    n_rows, n_inputs = shown.shape
    expect(title).to_contain_text(f"{n_rows} outputs × {n_inputs} inputs")
    number = re.search(r"question (\d+):", title.text_content() or "")
    assert number is not None
    question_id = f"q{number.group(1)}"

    # A wrong answer: one whose matrix (built independently) differs from the one drawn.
    candidates = [
        QuizAnswer(k, s, d, p) for k in (2, 4, 1, 3) for s in (3, 1) for d in (1, 2) for p in (0, 2)
    ]
    wrong = next(
        a
        for a in candidates
        if (m := _pattern(a, n_inputs)) is not None
        and m.shape[0] >= 1
        and (m.shape != shown.shape or not (m == shown).all())
    )
    _answer(page, question_id, wrong)
    expect(page.locator(ERROR)).to_have_text("Not quite.")
    expect(page.locator(SUCCESS)).to_have_count(0)
    assert "qz_checked=" in page.url
    # First a hint: which field to check and where to look, no values.
    feedback = page.locator('[data-testid="stMain"] li')
    expect(feedback.filter(has_text="Check the").first).to_be_visible()
    assert not any(" but " in line for line in feedback.all_text_contents())
    # The answer on demand.
    rerun_after(page, page.locator(".st-key-qz_reveal button").click)
    expect(page.locator('[data-testid="stAlertContentInfo"]')).to_contain_text("Answer: kernel size")
    assert "qz_shown=1" in page.url
    lines = feedback.all_text_contents()
    assert any(" but " in line for line in lines), lines  # at least one field is named as wrong
    # The page's explanation names each right value: read them off.
    right = []
    for name, _ in QUIZ_FIELDS:
        line = next(line for line in lines if line.startswith(f"{name}: "))
        found = re.match(rf"{name}: (?:not \d+ but (\d+)|(\d+) is right)", line)
        assert found, line
        right.append(int(found.group(1) or found.group(2)))
    answer = QuizAnswer(*right)
    # Each field the wrong answer got wrong is named with the value typed.
    typed = (wrong.kernel_size, wrong.stride, wrong.dilation, wrong.padding)
    for (name, _), given, truth in zip(QUIZ_FIELDS, typed, right, strict=True):
        said = next(line for line in lines if line.startswith(f"{name}: "))
        assert said.startswith(f"{name}: {given} is right") == (given == truth), said
    # Independently: those settings build exactly the drawn matrix.
    built = _pattern(answer, n_inputs)
    assert built is not None and built.shape == shown.shape and (built == shown).all()
    _answer(page, question_id, answer)
    expect(page.locator(SUCCESS)).to_have_text("Right: these settings build exactly this matrix.")
    expect(page.locator(ERROR)).to_have_count(0)
    expect(page.locator('[data-testid="stMain"] li', has_text="is right.")).to_have_count(4)
    checked = ",".join(str(v) for v in right)
    assert f"qz_checked={checked.replace(',', '%2C')}" in page.url, page.url  # the link holds the answer
    _no_errors(page)
    page.screenshot(path=str(screenshots_dir / "quiz-right.png"), full_page=True)

    # New question: another number in the title, the verdict cleared, and (within a few) another matrix.
    before_title = title.text_content()
    changed = False
    for _ in range(4):
        rerun_after(page, page.locator(".st-key-qz_new button").click)
        expect(title).not_to_have_text(before_title or "")
        expect(page.locator(SUCCESS)).to_have_count(0)
        now_number = re.search(r"question (\d+):", title.text_content() or "")
        assert now_number is not None
        for _, key in QUIZ_FIELDS:  # a clean slate: the new question's boxes are empty
            expect(page.locator(f".st-key-{key}_q{now_number.group(1)} input")).to_have_value("")
        now = _quiz_pattern(page)
        if now.shape != shown.shape or not (now == shown).all():
            changed = True
            break
        before_title = title.text_content()
    assert changed, "four new questions all drew the same matrix"
    seed = re.search(r"question (\d+):", title.text_content() or "")
    assert seed is not None and f"qz_seed={seed.group(1)}" in page.url
    _no_errors(page)
    page.screenshot(path=str(screenshots_dir / "quiz-new.png"), full_page=True)
