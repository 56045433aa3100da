"""Step-by-step explanations of output-size arithmetic, ready to render as LaTeX.

Each `explain_*` function returns an `Explanation`: the formula in symbols, the same formula with the
user's numbers put in, each evaluation step, the result, and plain-language notes (cells the stride
leaves unread, why 'same' is split unevenly). The result always equals the matching `cnnviz.conv.shapes`
function, which also does the validation: an impossible configuration raises `ConvConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.conv.args import Padding, resolve_geometry
from cnnviz.conv.shapes import (
    conv_output_size,
    conv_transpose_output_size,
    pool_output_size,
    unread_cells,
)

__all__ = [
    "Explanation",
    "explain_conv_output_size",
    "explain_conv_transpose_output_size",
    "explain_pool_output_size",
]


@dataclass(frozen=True)
class Explanation:
    """One output-size computation, written out."""

    title: str
    formula: str  # LaTeX, symbols only
    substituted: str  # LaTeX, the user's numbers put in
    steps: tuple[str, ...]  # LaTeX, one evaluation step each, ending with the result
    result: int
    notes: tuple[str, ...] = ()  # plain text, for a person

    def to_latex(self) -> str:
        """An `aligned` block: formula, numbers, each step (for `st.latex` or a notebook)."""
        lines = [self.formula, "&= " + self.substituted.split("=", 1)[1].strip()]
        lines += ["&= " + step for step in self.steps]
        first = lines[0].replace("=", "&=", 1)
        return "\\begin{aligned}" + " \\\\ ".join([first, *lines[1:]]) + "\\end{aligned}"

    def __str__(self) -> str:
        return f"{self.title}: {self.result}"


def _floor_frac(numerator: int, stride: int) -> str:
    return rf"\left\lfloor \frac{{{numerator}}}{{{stride}}} \right\rfloor"


def explain_conv_output_size(
    n: int,
    kernel_size: int,
    stride: int = 1,
    padding: Padding = 0,
    dilation: int = 1,
    symbol: str = "n",
) -> Explanation:
    """Explain o = floor((n + p_before + p_after - d(k-1) - 1)/s) + 1 for one axis."""
    result = conv_output_size(n, kernel_size, stride, padding, dilation)
    g = resolve_geometry(1, kernel_size, stride, padding, dilation)
    k, s, (pb, pa), d = g.kernel_size[0], g.stride[0], g.padding[0], g.dilation[0]
    o = f"{symbol}_{{out}}"
    i = f"{symbol}_{{in}}"
    symmetric = pb == pa
    pad_sym = "2p" if symmetric else r"p_{\text{before}} + p_{\text{after}}"
    pad_num = f"2 \\cdot {pb}" if symmetric else f"{pb} + {pa}"
    formula = rf"{o} = \left\lfloor \frac{{{i} + {pad_sym} - d(k-1) - 1}}{{s}} \right\rfloor + 1"
    substituted = rf"{o} = \left\lfloor \frac{{{n} + {pad_num} - {d}({k}-1) - 1}}{{{s}}} \right\rfloor + 1"
    numerator = n + pb + pa - d * (k - 1) - 1
    steps = (
        rf"{_floor_frac(numerator, s)} + 1",
        rf"{numerator // s} + 1",
        rf"{result}",
    )
    notes: list[str] = []
    if d > 1:
        notes.append(f"Dilation {d} spreads the {k} taps over d(k-1)+1 = {d * (k - 1) + 1} cells.")
    if isinstance(padding, str) and padding.strip().lower() == "same":
        if pb != pa:
            notes.append(
                f"'same' needs {pb + pa} padding cells in total, an odd number: PyTorch puts "
                f"{pb} before and {pa} after (the extra cell goes after)."
            )
        else:
            notes.append(f"'same' pads d(k-1)/2 = {pb} on each side, so the output keeps size {n}.")
    left = unread_cells(n, kernel_size, stride, padding, dilation)
    if left:
        notes.append(
            f"The stride leaves the last {left} input cell{'s' if left > 1 else ''} unread: "
            f"({n} + {pb + pa} - {d * (k - 1) + 1}) is not a multiple of {s}, and floor drops the rest."
        )
    return Explanation("Convolution output size", formula, substituted, steps, result, tuple(notes))


def explain_conv_transpose_output_size(
    n: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
    symbol: str = "n",
) -> Explanation:
    """Explain o = (n-1)s - 2p + d(k-1) + output_padding + 1 for one axis."""
    result = conv_transpose_output_size(n, kernel_size, stride, padding, output_padding, dilation)
    k, s, p, op, d = kernel_size, stride, padding, output_padding, dilation
    o, i = f"{symbol}_{{out}}", f"{symbol}_{{in}}"
    formula = rf"{o} = ({i}-1)\,s - 2p + d(k-1) + p_{{\text{{out}}}} + 1"
    substituted = rf"{o} = ({n}-1) \cdot {s} - 2 \cdot {p} + {d}({k}-1) + {op} + 1"
    steps = (
        rf"{(n - 1) * s} - {2 * p} + {d * (k - 1)} + {op} + 1",
        rf"{result}",
    )
    notes = [
        f"The stride puts {s - 1} gap cell{'s' if s != 2 else ''} between input cells"
        if s > 1
        else "Stride 1: no gaps between input cells.",
    ]
    if op and op < s:
        notes.append(
            f"output_padding {op} adds {op} cell{'s' if op > 1 else ''} at the end: it picks which of "
            f"the {s} input sizes that a stride-{s} convolution maps to {n} cells to give back."
        )
    elif op:
        notes.append(
            f"output_padding {op} adds {op} cell{'s' if op > 1 else ''} at the end. PyTorch allows it "
            f"because it is smaller than the dilation {d}, but it is not smaller than the stride {s}: "
            f"no stride-{s} convolution maps {result} cells back to {n}."
        )
    return Explanation(
        "Transposed convolution output size", formula, substituted, steps, result, tuple(notes)
    )


def explain_pool_output_size(
    n: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    symbol: str = "n",
) -> Explanation:
    """Explain pooling's output size, including ceil_mode's rule for the last window."""
    result = pool_output_size(n, kernel_size, stride, padding, dilation, ceil_mode)
    k, p, d = kernel_size, padding, dilation
    s = kernel_size if stride is None else stride
    o, i = f"{symbol}_{{out}}", f"{symbol}_{{in}}"
    bracket = (r"\left\lceil", r"\right\rceil") if ceil_mode else (r"\left\lfloor", r"\right\rfloor")
    formula = rf"{o} = {bracket[0]} \frac{{{i} + 2p - d(k-1) - 1}}{{s}} {bracket[1]} + 1"
    substituted = rf"{o} = {bracket[0]} \frac{{{n} + 2 \cdot {p} - {d}({k}-1) - 1}}{{{s}}} {bracket[1]} + 1"
    numerator = n + 2 * p - d * (k - 1) - 1
    raw = -(-numerator // s) if ceil_mode else numerator // s
    steps = [rf"{bracket[0]} \frac{{{numerator}}}{{{s}}} {bracket[1]} + 1", rf"{raw} + 1"]
    notes: list[str] = []
    if stride is None:
        notes.append(f"No stride given: pooling uses stride = kernel size = {k}.")
    if ceil_mode and raw + 1 != result:
        steps.append(rf"{raw + 1} - 1")
        notes.append(
            "ceil_mode would add a window that starts in the right padding; PyTorch drops it, "
            "because every window must start inside the input or the left padding."
        )
    elif ceil_mode and numerator % s:
        notes.append("ceil_mode keeps a last, partial window that floor would drop.")
    steps.append(str(result))
    return Explanation("Pooling output size", formula, substituted, tuple(steps), result, tuple(notes))
