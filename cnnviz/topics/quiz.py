""" "Name the convolution" quiz (lecture 001, questions 1-3): a weight matrix from hidden settings.

The student sees the banded matrix of a 1D convolution and names its kernel size, stride, dilation
and padding. An answer counts as right when it builds the same matrix, so equivalent answers (a
1-tap kernel has no visible dilation) are accepted. A wrong answer gets hints first (which field is
off and where in the matrix to look); the values themselves are in `lines`, shown on demand.

Besides random questions there are the lectures' own 1D settings (`LECTURE_QUESTIONS`), by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.conv.matrix import conv_matrix
from cnnviz.errors import ConvConfigError

__all__ = [
    "LECTURE_QUESTIONS",
    "QuizAnswer",
    "QuizFeedback",
    "QuizQuestion",
    "answer_matrix",
    "check_answer",
    "lecture_question",
    "make_question",
]


@dataclass(frozen=True)
class QuizAnswer:
    """A configuration of a 1D, single-channel convolution (zero padding, the same on both sides unless
    `padding_after` says otherwise, as PyTorch's 'same' does for an even kernel)."""

    kernel_size: int
    stride: int
    dilation: int
    padding: int  # zero padding before (and after, when padding_after is None); 0 is 'valid'
    padding_after: int | None = None

    def __post_init__(self) -> None:
        if self.padding_after == self.padding:  # one answer, one form: (2, 2) is plain padding 2
            object.__setattr__(self, "padding_after", None)

    @property
    def pads(self) -> tuple[int, int]:
        """Zeros (before, after) the input."""
        return (self.padding, self.padding if self.padding_after is None else self.padding_after)

    @property
    def padding_text(self) -> str:
        """'0 (valid)', '1 on each side' or '2 before and 3 after'."""
        before, after = self.pads
        if before != after:
            return f"{before} before and {after} after"
        return "0 (valid)" if before == 0 else f"{before} on each side"


@dataclass(frozen=True)
class QuizQuestion:
    n_inputs: int
    hidden: QuizAnswer
    weights: tuple[float, ...]  # distinct, so every tap can be told apart
    id: str = ""  # names the question in keys and links: 'q5' (random number 5) or a lecture id
    name: str = ""  # what the page calls it: 'question 5', 'Lecture 002: stride 2'

    @property
    def matrix(self) -> np.ndarray:
        return answer_matrix(self.hidden, self.n_inputs, self.weights)


@dataclass(frozen=True)
class QuizFeedback:
    correct: bool
    lines: tuple[str, ...]  # one per field: right, or what it should be and how to see it (the answer)
    hints: tuple[str, ...] = ()  # for a wrong answer: which fields are off and where to look, no values


# Where each setting shows in the matrix (rows: outputs, columns: inputs); a hint names no value.
_WHERE_TO_LOOK = {
    "kernel size": "count the coloured cells in a row whose band is complete; the band's full width, "
    "gaps included, is the dilated span d(k-1)+1",
    "stride": "compare where the band starts in one row and in the next: that shift, in columns, is the stride",
    "dilation": "look at the gaps inside one row: dilation d leaves d-1 empty cells between neighbouring taps",
    "padding": "look at the first and last rows: a band cut off at the left or right edge reads padding "
    "zeros (count the missing cells, at each end: the two can differ); if every row is complete, it is "
    "valid (0)",
}


@dataclass(frozen=True)
class _LectureSetting:
    id: str
    name: str
    answer: QuizAnswer
    n_inputs: int
    weights: tuple[float, ...] | None = None  # default 1, 2, ..., k; a 0 leaves a gap in the band


# The 1D settings the lectures pose or show (seeds 000-002), with their input lengths.
_LECTURE_SETTINGS = (
    _LectureSetting("l000-receptive", "Lecture 000: a 3-wide kernel over x1…x5", QuizAnswer(3, 1, 1, 0), 5),
    _LectureSetting("l001-zero-pad", "Lecture 001: kernel 3 with zero padding", QuizAnswer(3, 1, 1, 1), 6),
    _LectureSetting(
        "l001-stride-2", "Lecture 001: kernel 3, stride 2, zero padding", QuizAnswer(3, 2, 1, 1), 6
    ),
    # Question 1's band has taps at offsets -2, -1, 0, 1 and 3 from the diagonal: kernel 6 with its fifth
    # weight zero, padded as PyTorch's 'same' pads an even kernel (tests/test_lectures.py derives it).
    _LectureSetting(
        "l001-q1", "Lecture 001: question 1", QuizAnswer(6, 1, 1, 2, 3), 8, (1.0, 2.0, 3.0, 4.0, 0.0, 5.0)
    ),
    _LectureSetting("l001-q2", "Lecture 001: question 2", QuizAnswer(3, 1, 1, 0), 8),
    _LectureSetting("l001-q3", "Lecture 001: question 3", QuizAnswer(1, 1, 1, 0), 8),
    _LectureSetting(
        "l001-signal", "Lecture 001: the 12-sample signal, kernel 3, zero padding", QuizAnswer(3, 1, 1, 1), 12
    ),
    _LectureSetting("l002-template", "Lecture 002: template matching", QuizAnswer(2, 1, 1, 0), 5),
    _LectureSetting("l002-stride-2", "Lecture 002: stride 2", QuizAnswer(3, 2, 1, 0), 5),
    _LectureSetting("l002-stride-2-pad-1", "Lecture 002: stride 2, padding 1", QuizAnswer(3, 2, 1, 1), 5),
)
LECTURE_QUESTIONS: dict[str, str] = {q.id: q.name for q in _LECTURE_SETTINGS}  # id -> name, in order


def lecture_question(question_id: str) -> QuizQuestion:
    """The lecture's question with this id (see `LECTURE_QUESTIONS`), weights 1, 2, …, k."""
    for setting in _LECTURE_SETTINGS:
        if setting.id == question_id:
            weights = setting.weights or tuple(float(v) for v in range(1, setting.answer.kernel_size + 1))
            return QuizQuestion(setting.n_inputs, setting.answer, weights, setting.id, setting.name)
    raise ConvConfigError(
        f"no lecture question {question_id!r}; choose one of {list(LECTURE_QUESTIONS)}", "question"
    )


def answer_matrix(answer: QuizAnswer, n_inputs: int, weights: tuple[float, ...] | None = None) -> np.ndarray:
    """The (outputs, inputs) matrix of that configuration; weights default to 1, 2, ..., k."""
    k = answer.kernel_size
    w = np.array(weights if weights is not None else range(1, k + 1), dtype=float)
    if w.size != k:
        raise ConvConfigError(f"need {k} weights, got {w.size}", "weights")
    return conv_matrix((1, n_inputs), w[None, None], answer.stride, answer.pads, answer.dilation)


def make_question(seed: int, n_inputs: int = 8) -> QuizQuestion:
    """A random, valid configuration whose matrix has at least two rows."""
    rng = np.random.default_rng(seed)
    while True:
        k = int(rng.choice([1, 2, 3, 3, 3, 4, 5]))
        answer = QuizAnswer(
            kernel_size=k,
            stride=int(rng.choice([1, 1, 2, 2, 3])),
            dilation=int(rng.choice([1, 1, 2, 3])) if k > 1 else 1,
            padding=int(rng.choice([0, 0, 1, 2])),
        )
        try:
            if answer_matrix(answer, n_inputs).shape[0] >= 2:
                weights = tuple(float(v) for v in range(1, k + 1))
                return QuizQuestion(n_inputs, answer, weights, f"q{seed}", f"question {seed}")
        except ConvConfigError:
            continue


def _pads_shown(answer: QuizAnswer) -> str:
    """The padding as a feedback line names it: '1', or '2 before and 3 after'."""
    before, after = answer.pads
    return str(before) if before == after else f"{before} before and {after} after"


def check_answer(question: QuizQuestion, answer: QuizAnswer) -> QuizFeedback:
    """Right when the answer builds the question's matrix (up to weight values); explain each field.

    `hints` name the fields that differ and where to look, without their values; `lines` give them.
    """
    target = question.matrix != 0
    # The question's own weights when the kernel sizes agree, so a zero weight leaves the same gap.
    weights = question.weights if answer.kernel_size == len(question.weights) else None
    try:
        mine = answer_matrix(answer, question.n_inputs, weights) != 0
        same = mine.shape == target.shape and bool((mine == target).all())
    except ConvConfigError as exc:
        message = f"That configuration is impossible here: {exc}"
        return QuizFeedback(False, (message,), (message,))
    h = question.hidden
    fields = {
        "kernel size": (answer.kernel_size, h.kernel_size),
        "stride": (answer.stride, h.stride),
        "dilation": (answer.dilation, h.dilation),
        "padding": (_pads_shown(answer), _pads_shown(h)),
    }
    lines = []
    hints = []
    for name, (given, truth) in fields.items():
        if given == truth:
            lines.append(f"{name}: {given} is right.")
        elif same:
            lines.append(f"{name}: {given} gives the same matrix here (the intended value was {truth}).")
        else:
            lines.append(f"{name}: not {given} but {truth}: {_WHERE_TO_LOOK[name]}.")
            if not (name == "dilation" and h.kernel_size == 1 and answer.kernel_size == 1):
                hints.append(f"Check the {name}: {_WHERE_TO_LOOK[name]}.")
    if not same and mine.shape != target.shape:
        count = f"Your settings give {mine.shape[0]} outputs; the matrix has {target.shape[0]} rows."
        lines.append(count)
        hints.append(count)
    return QuizFeedback(same, tuple(lines), tuple(hints) if not same else ())
