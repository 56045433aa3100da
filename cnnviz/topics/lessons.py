"""Ready-made lessons: one page opened on settings that show one lecture topic, linked from Home.

Each query holds link values exactly as the page's URL-bound widgets write them (option text, numbers,
1/0 for switches); a setting left out keeps the page's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LESSONS", "Lesson"]


@dataclass(frozen=True)
class Lesson:
    """One lesson: a title, the page file it opens, the link's query, and what it teaches in one line."""

    title: str
    page: str  # relative to the app's folder, as st.page_link takes it
    query: dict[str, str] = field(default_factory=dict)
    goal: str = ""


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "Valid vs same padding",
        "pages/1_Convolution_explorer.py",
        {"cx_pad_kind": "same", "cx_k_h": "5", "cx_k_w": "5"},
        "'same' pads a 5×5 kernel by 2 on every side so a 7×7 input stays 7×7; 'valid' shrinks it to 3×3.",
    ),
    Lesson(
        "Stride",
        "pages/1_Convolution_explorer.py",
        # The shift demo's default shift (1 row) is no multiple of stride 2 and would open on a warning
        # the student never asked for: the lesson shifts by 2 rows, which commutes with the stride.
        {"cx_s_h": "2", "cx_s_w": "2", "cx_eq_dy": "2"},
        "Stride 2 skips every other position: a 3×3 kernel on a 7×7 input gives a 3×3 output.",
    ),
    Lesson(
        "Dilation",
        "pages/1_Convolution_explorer.py",
        {"cx_d_h": "2", "cx_d_w": "2"},
        "Dilation 2 spreads the same 9 weights over a 5×5 patch: a wider view at no extra cost.",
    ),
    Lesson(
        "Transposed convolution",
        "pages/9_Transposed_convolution.py",
        {"tc_k": "3", "tc_s": "2", "tc_p": "1", "tc_op": "1"},
        "Each input cell stamps a scaled copy of the kernel; stride 2, padding 1, output_padding 1 turn 3×3 "
        "into exactly 6×6.",
    ),
    Lesson(
        "Channels and groups",
        "pages/8_Channels_and_groups.py",
        {"ch_groups": "2"},
        "With 2 groups each filter reads only half of the input channels: half the weights, half the MACs.",
    ),
    Lesson(
        "Pooling and small shifts",
        "pages/5_Pooling.py",
        {"pl_shift": "1", "pl_inv_kernel": "3", "pl_inv_stride": "3"},
        "Shift an edge by one pixel: the conv map moves with it, the 3×3 max-pooled map does not change at all.",
    ),
    Lesson(
        "Receptive-field growth",
        "pages/6_Network_builder.py",
        {"nb_preset": "Stacked 3-wide convs"},
        "Every 3-wide conv adds 2 to the receptive field; stride and pooling make later layers grow it faster.",
    ),
    Lesson(
        "MLP vs CNN",
        "pages/7_Live_training.py",
        {"lt_dataset": "mnist1d", "lt_model": "mlp"},
        "Train the MLP, then the conv net on the same signals: sharing weights across positions wins.",
    ),
)
