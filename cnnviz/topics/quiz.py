""" "Name the convolution" quiz (lecture 001, questions 1-3): a weight matrix from hidden settings.

The student sees the banded matrix of a 1D convolution and names its kernel size, stride, dilation
and padding. An answer counts as right when it builds the same matrix, so equivalent answers (a
1-tap kernel has no visible dilation) are accepted; the feedback says which field differs and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.conv.matrix import conv_matrix
from cnnviz.errors import ConvConfigError

__all__ = ["QuizQuestion", "QuizAnswer", "QuizFeedback", "make_question", "check_answer", "answer_matrix"]


@dataclass(frozen=True)
class QuizAnswer:
    """A configuration of a 1D, single-channel convolution (padding per side, zeros)."""

    kernel_size: int
    stride: int
    dilation: int
    padding: int  # zero padding on each side; 0 is 'valid'


@dataclass(frozen=True)
class QuizQuestion:
    n_inputs: int
    hidden: QuizAnswer
    weights: tuple[float, ...]  # distinct, so every tap can be told apart

    @property
    def matrix(self) -> np.ndarray:
        return answer_matrix(self.hidden, self.n_inputs, self.weights)


@dataclass(frozen=True)
class QuizFeedback:
    correct: bool
    lines: tuple[str, ...]  # one per field: right, or what it should be and how to see it


def answer_matrix(answer: QuizAnswer, n_inputs: int, weights: tuple[float, ...] | None = None) -> np.ndarray:
    """The (outputs, inputs) matrix of that configuration; weights default to 1, 2, ..., k."""
    k = answer.kernel_size
    w = np.array(weights if weights is not None else range(1, k + 1), dtype=float)
    if w.size != k:
        raise ConvConfigError(f"need {k} weights, got {w.size}", "weights")
    return conv_matrix((1, n_inputs), w[None, None], answer.stride, answer.padding, answer.dilation)


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
                return QuizQuestion(n_inputs, answer, weights)
        except ConvConfigError:
            continue


def check_answer(question: QuizQuestion, answer: QuizAnswer) -> QuizFeedback:
    """Right when the answer builds the question's matrix (up to weight values); explain each field."""
    target = question.matrix != 0
    try:
        mine = answer_matrix(answer, question.n_inputs) != 0
        same = mine.shape == target.shape and bool((mine == target).all())
    except ConvConfigError as exc:
        return QuizFeedback(False, (f"That configuration is impossible here: {exc}",))
    h = question.hidden
    hints = {
        "kernel size": (answer.kernel_size, h.kernel_size, "count the coloured cells in a full row"),
        "stride": (answer.stride, h.stride, "how far the band moves right from one row to the next"),
        "dilation": (answer.dilation, h.dilation, "the spacing between coloured cells within a row"),
        "padding": (
            answer.padding,
            h.padding,
            "rows at the top and bottom with cut-off bands mean zero padding; none means valid",
        ),
    }
    lines = []
    for name, (given, truth, how) in hints.items():
        if given == truth:
            lines.append(f"{name}: {given} is right.")
        elif same:
            lines.append(f"{name}: {given} gives the same matrix here (the intended value was {truth}).")
        else:
            lines.append(f"{name}: not {given} but {truth}: {how}.")
    if not same and mine.shape != target.shape:
        lines.append(f"Your settings give {mine.shape[0]} outputs; the matrix has {target.shape[0]} rows.")
    return QuizFeedback(same, tuple(lines))
