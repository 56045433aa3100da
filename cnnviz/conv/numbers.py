"""Numbers as people type and read them: one codec for every typed value, list and grid in the app.

Typed: `parse_number` reads '3', '-0.5', '1e-3' and the fractions lectures write ('1/16', '-2/8',
'(1+2)/8'), parsed with `ast` and never evaluated as code. Lists ('1, 2.5 -3') and grids ('1 0 -1; 2 0 -2',
rows by ';') build on it. Shown: `number_text` writes integers as integers and a third as 1/3, so a dot
product written out with these numbers adds up to the total shown next to it.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from cnnviz.errors import ConvConfigError

__all__ = [
    "MAX_NUMBER_TEXT",
    "grid_text",
    "number_text",
    "numbers_text",
    "parse_grid",
    "parse_number",
    "parse_numbers",
    "size_text",
]

MAX_NUMBER_TEXT = 40  # characters of one typed number or fraction ("-1.2345678901234567e-100" fits)
MAX_MAGNITUDE = 1e15  # typed values beyond this overflow the products a page shows (1e308 * 1e308)
_MAX_NODES = 15  # operators and numbers in one typed expression: '(1+2)/8' has 5
_MAX_DENOMINATOR = 64  # 1/3, 1/9, 1/16, 1/25, 1/49 are fractions a kernel uses; 1/97 is just a number
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def _evaluate(node: ast.AST) -> Fraction:
    """The exact value of a tree of numbers, + - * / and parentheses (anything else: ValueError)."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if not math.isfinite(node.value):
            raise ValueError("not finite")
        return Fraction(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        inner = _evaluate(node.operand)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise ZeroDivisionError
            return left / right
        if isinstance(node.op, ast.Mult):
            return left * right
        return left + right if isinstance(node.op, ast.Add) else left - right
    raise ValueError("not a number")


def parse_number(text: object, name: str = "value") -> float:
    """One typed number: '3', '-0.5', '1e-3', '1/16', '-2/8', '(1+2)/8'; ConvConfigError otherwise."""
    raw = str(text).strip() if text is not None else ""
    shown = raw[:20] + ("…" if len(raw) > 20 else "")
    if not raw:
        raise ConvConfigError(f"{name}: a cell is empty: type a number in it", name)
    if len(raw) > MAX_NUMBER_TEXT:
        raise ConvConfigError(f"{name}: {shown!r} is longer than a number can be here", name)
    try:
        value = float(raw)  # the common case, and the only one Python's float() reads that ast would not
    except ValueError:
        value = None
    if value is None:
        try:
            tree = ast.parse(raw.replace("×", "*").replace("−", "-").replace("÷", "/"), mode="eval")
            if sum(1 for _ in ast.walk(tree)) > _MAX_NODES + 1:
                raise ValueError("too long")
            value = float(_evaluate(tree.body))
        except ZeroDivisionError:
            raise ConvConfigError(f"{name}: {shown!r} divides by zero", name) from None
        except (SyntaxError, ValueError, TypeError, OverflowError, RecursionError, MemoryError):
            hint = "; write a decimal point, not a comma" if "," in raw else ""
            raise ConvConfigError(
                f"{name}: {shown!r} is not a number (type e.g. 2, -0.5 or 1/16){hint}", name
            ) from None
    if not math.isfinite(value):
        raise ConvConfigError(f"{name}: {shown!r} is not a finite number", name)
    if abs(value) > MAX_MAGNITUDE:
        raise ConvConfigError(
            f"{name}: {shown!r} is too large: keep numbers within ±{MAX_MAGNITUDE:.0e}", name
        )
    return value


def parse_numbers(text: str, name: str = "values", max_count: int = 256) -> np.ndarray:
    """Numbers typed as '1, 2.5 -3' or '1/4 1/2 1/4' (commas, spaces or semicolons) as a float64 vector."""
    if len(text) > max_count * (MAX_NUMBER_TEXT + 2):
        raise ConvConfigError(f"{name}: at most {max_count} numbers", name)
    parts = [p for p in text.replace(";", " ").replace(",", " ").split() if p]
    if not parts:
        raise ConvConfigError(f"{name}: type at least one number, e.g. 1, 0, -1", name)
    if len(parts) > max_count:
        raise ConvConfigError(f"{name}: at most {max_count} numbers (got {len(parts)})", name)
    return np.array([parse_number(part, name) for part in parts], dtype=np.float64)


def parse_grid(
    text: str, shape: tuple[int, int] | None = None, name: str = "grid", max_cells: int = 10_000
) -> np.ndarray:
    """A grid typed row by row, rows separated by ';' or new lines ('1 0 -1; 2 0 -2'), as a float64 array.

    With `shape`, the grid must have exactly that many rows and columns; one line of exactly
    rows x columns numbers is also read row by row.
    """
    if len(text) > max_cells * (MAX_NUMBER_TEXT + 2):
        raise ConvConfigError(f"{name}: longer than a grid of {max_cells} cells can be", name)
    lines = [line for line in text.replace("\n", ";").split(";") if line.strip()]
    if not lines:
        raise ConvConfigError(f"{name}: type at least one row of numbers", name)
    rows = [parse_numbers(line, name, max_count=max_cells) for line in lines]
    if shape is not None and len(rows) == 1 and shape[0] > 1 and rows[0].size == shape[0] * shape[1]:
        rows = list(rows[0].reshape(shape))
    widths = {row.size for row in rows}
    if len(widths) != 1:
        raise ConvConfigError(
            f"{name}: every row needs the same number of values (rows have {sorted(widths)})", name
        )
    grid = np.stack(rows)
    if grid.size > max_cells:
        raise ConvConfigError(f"{name}: at most {max_cells} cells (got {grid.size})", name)
    if shape is not None and grid.shape != tuple(shape):
        raise ConvConfigError(
            f"{name}: a {shape[0]}×{shape[1]} grid needs {shape[0]} rows of {shape[1]} numbers "
            f"(got {grid.shape[0]}×{grid.shape[1]})",
            name,
        )
    return grid


def _fraction(value: float) -> Fraction | None:
    """`value` as p/q with a small q when it is that fraction to float precision, else None."""
    guess = Fraction(value).limit_denominator(_MAX_DENOMINATOR)
    return (
        guess if guess.denominator > 1 and abs(float(guess) - value) <= 1e-12 * max(1.0, abs(value)) else None
    )


def number_text(value: float, digits: int = 4, fractions: bool = True) -> str:
    """A number as a person writes it: '8', '-2', '0.25', '1/3', '-2/9', '3.142' (`digits` places).

    Integers stay integers (float noise such as 2.0000000000000004 included), decimals that end within
    `digits` places are written out, other values that are a fraction with a small denominator are written
    as that fraction (unless `fractions` is False), and the rest to `digits` significant digits.
    """
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    close = 1e-9 * max(1.0, abs(value))
    if abs(value - round(value)) <= close and abs(value) < 1e15:
        return str(int(round(value))) if round(value) != 0 else "0"
    short = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    if abs(float(short) - value) <= close:
        return short
    fraction = _fraction(value) if fractions else None
    if fraction is not None:
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{value:.{digits}g}"


def numbers_text(values: Iterable[float], digits: int = 4) -> str:
    """Several numbers as one typed list: '1, 0, -1' (reads back with `parse_numbers`)."""
    return ", ".join(number_text(v, digits) for v in values)


def grid_text(grid: np.ndarray | Iterable[Iterable[float]], exact: bool = True) -> str:
    """A grid as text that `parse_grid` reads back: '1,2;3,4' (rows by ';').

    `exact` writes each float so that it reads back bit for bit (for links); otherwise as `number_text`.
    """
    rows = []
    for row in np.asarray(grid, dtype=np.float64):
        rows.append(",".join(_exact_text(v) if exact else number_text(v) for v in row))
    return ";".join(rows)


def _exact_text(value: float) -> str:
    """The shortest text that reads back to the same float ('2', '0.5', '1e-05', '1/3' when exact)."""
    value = float(value)
    text = repr(value)
    text = text[:-2] if text.endswith(".0") else text
    fraction = _fraction(value)
    if fraction is not None and len(text) > 8 and float(Fraction(fraction)) == value:
        return f"{fraction.numerator}/{fraction.denominator}"
    return text


def size_text(height: int, width: int) -> str:
    """A 2D size as the app writes it everywhere: height × width, PyTorch's (H, W) order ('3×5')."""
    return f"{int(height)}×{int(width)}"
