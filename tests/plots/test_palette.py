"""The shared highlight is a hue no data scale uses, and cell text picks the readable ink."""

import plotly.colors
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnviz.plots.palette import HIGHLIGHT, ink_for

pytestmark = pytest.mark.quick


def _rgb(colour: str) -> tuple[int, int, int]:
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(v)) for v in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3])


def _hue_distance(a, b) -> float:
    import colorsys

    ha = colorsys.rgb_to_hsv(*(v / 255 for v in a))
    hb = colorsys.rgb_to_hsv(*(v / 255 for v in b))
    d = abs(ha[0] - hb[0])
    return min(d, 1 - d) * 360


@pytest.mark.parametrize("scale", ["RdBu", "PuOr", "Blues", "Oranges", "cividis"])
def test_highlight_hue_is_far_from_every_saturated_colour_of_the_data_scales(scale):
    highlight = _rgb(HIGHLIGHT)
    for _, colour in plotly.colors.get_colorscale(scale):
        rgb = _rgb(colour)
        import colorsys

        _, sat, _ = colorsys.rgb_to_hsv(*(v / 255 for v in rgb))
        if sat > 0.25:  # near-white and grey stops carry no hue
            assert _hue_distance(highlight, rgb) > 40, (scale, colour)


def test_ink_is_white_on_dark_cells_and_black_on_light_ones():
    assert ink_for(5, 48, 97) == "#ffffff"  # RdBu's darkest blue
    assert ink_for(103, 0, 31) == "#ffffff"  # RdBu's darkest red
    assert ink_for(247, 247, 247) == "#000000"  # its white middle
    assert ink_for(253, 219, 199) == "#000000"  # a light red


def _contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


@given(st.tuples(*[st.integers(0, 255)] * 3))
def test_the_chosen_ink_always_contrasts_at_least_4_5_to_1(rgb):
    def lum(r, g, b):
        lin = [
            c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in (r, g, b)
        ]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    ink = 0.0 if ink_for(*rgb) == "#000000" else 1.0
    assert _contrast(lum(*rgb), ink) >= 4.5
