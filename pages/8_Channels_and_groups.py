"""Many input channels, many filters: each output channel sums one dot product per input channel it reads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnviz import (
    ConvConfigError,
    channel_mixing,
    channel_sums,
    number_text,
    seeded_channel_values,
)
from cnnviz.plots import (
    PrebuiltFigure,
)
from cnnviz.ui import (
    chart,
    hover_grid,
    page_header,
    show_error,
    size_steps,
    table,
    typed_channel_values,
    url,
)
from cnnviz.ui.channels_views import Settings, Values, board_specs, cell_specs, hover_spec, layer, mixing_spec

P = "ch"
NO_BAR = {"displayModeBar": False}
VALUE_SOURCES = {"seed": "From the seed", "typed": "Type the values"}

controls = page_header(
    "Channels and groups",
    "A convolution reads every input channel: each output channel has its own filter, one k×k slice per "
    "input channel it reads, and adds their dot products. Groups split the channels into independent blocks.",
)


with controls:
    st.markdown("**Input**")
    c1, c2 = st.columns(2)
    height = int(url.at(c1).number_input("Height", 1, 12, 5, key=f"{P}_h"))
    width = int(url.at(c2).number_input("Width", 1, 12, 5, key=f"{P}_w"))
    source = url.radio(
        "Values",
        list(VALUE_SOURCES),
        format_func=VALUE_SOURCES.get,
        horizontal=True,
        key=f"{P}_values",
        help="Random small integers from the seed, or every input plane, filter slice and bias typed in.",
    )
    typed = source == "typed"
    seed = int(
        url.number_input(
            "Seed",
            0,
            9999,
            0,
            key=f"{P}_seed",
            help="The typed grids start from this seed's values."
            if typed
            else "Input values and weights come from this seed.",
        )
    )
    st.markdown("**Channels**")
    c1, c2 = st.columns(2)
    c_in = int(url.at(c1).number_input("C_in", 1, 8, 4, key=f"{P}_cin", help="Input channels (planes)."))
    c_out = int(
        url.at(c2).number_input(
            "C_out", 1, 8, 4, key=f"{P}_cout", help="Output channels = number of filters."
        )
    )
    depthwise = url.checkbox(
        "Depthwise (groups = C_in)",
        key=f"{P}_depthwise",
        help="Each input channel gets its own filters and no filter mixes channels. C_out must be a multiple of C_in.",
    )
    groups = int(
        url.number_input(
            "Groups",
            1,
            8,
            1,
            key=f"{P}_groups",
            disabled=depthwise,
            help="Split the input and output channels into this many blocks; block g's filters read block g only.",
        )
    )
    if depthwise:
        groups = c_in
    st.markdown("**Kernel**")
    c1, c2, c3 = st.columns(3)
    kernel = int(url.at(c1).number_input("Size", 1, 5, 3, key=f"{P}_k", help="k: every filter slice is k×k."))
    stride = int(url.at(c2).number_input("Stride", 1, 4, 1, key=f"{P}_s"))
    padding = int(url.at(c3).number_input("Padding", 0, 4, 0, key=f"{P}_p"))
    bias = url.checkbox(
        "Bias", value=True, key=f"{P}_bias", help="One number per output channel, added last."
    )


cfg: Settings = ((height, width), c_in, c_out, kernel, stride, padding, groups, bias, seed)
try:
    seeded = seeded_channel_values(*cfg)
except ConvConfigError as exc:
    show_error(exc)
    if depthwise and c_out % c_in:
        st.info(f"Depthwise needs C_out to be a multiple of C_in = {c_in}: try C_out = {c_in} or {2 * c_in}.")
    st.stop()

# The channel wiring comes first, right under the title; typed grids, shapes and counts follow it.
main_figure = st.container(key="cnnviz-main-figure")
values: Values = typed_channel_values(*seeded, groups, P) if typed else None
try:
    view = layer(cfg, values)
except ConvConfigError as exc:
    show_error(exc)
    st.stop()

g, cpg, opg = view.groups, view.in_per_group, view.out_per_group
input_fig, wiring_fig, weights_fig, output_fig = (PrebuiltFigure(spec) for spec in board_specs(cfg, values))

# --- The main picture: which filter reads which input channel (right under the title) ----------------
with main_figure:
    left, right = st.columns([2, 3])
    chart(wiring_fig, where=left, key=f"{P}_wiring", config=NO_BAR)
    chart(weights_fig, where=right, key=f"{P}_weights", config=NO_BAR)
    kind = (
        "an ordinary convolution: every filter reads every input channel"
        if g == 1
        else f"depthwise: filter o reads input channel o // {opg} only"
        if cpg == 1
        else f"{g} groups: filters {opg} at a time read blocks of {cpg} input channels"
    )
    st.markdown(
        f"Right: the weight as a {c_out}×{c_in} board of {kernel}×{kernel} slices, one row per filter. "
        f"An empty square means the filter never sees that channel. This layer is {kind}."
    )

# --- Shapes and counts --------------------------------------------------------------------------------
st.subheader("Shapes, parameters and multiply-accumulates", anchor=False)
ho, wo = view.output.shape[1:]
st.markdown(
    f"input **({c_in}, {height}, {width})** → weight **({c_out}, {c_in}/{g} = {cpg}, {kernel}, {kernel})**"
    + (f" + bias **({c_out},)**" if bias else "")
    + f" → output **({c_out}, {ho}, {wo})**"
)
size_steps(view.explanations, title=None)
bias_sym, bias_num = (r" + C_{out}", f" + {c_out}") if bias else ("", "")
st.latex(
    r"\text{params} = C_{out} \cdot \frac{C_{in}}{g} \cdot k_h \cdot k_w"
    + bias_sym
    + rf" = {c_out} \cdot \frac{{{c_in}}}{{{g}}} \cdot {kernel} \cdot {kernel}{bias_num} = {view.params:,}"
)
st.latex(
    r"\text{MACs} = C_{out} \cdot H_{out} \cdot W_{out} \cdot \frac{C_{in}}{g} \cdot k_h \cdot k_w"
    + rf" = {c_out} \cdot {ho} \cdot {wo} \cdot {cpg} \cdot {kernel} \cdot {kernel} = {view.macs:,}"
)
m1, m2, m3, m4 = st.columns(4)
m1.metric("parameters", f"{view.params:,}")
m2.metric("multiply-accumulates", f"{view.macs:,}")
m3.metric(
    "parameters with groups = 1",
    f"{view.params_dense:,}",
    delta=f"{view.params_dense / view.params:.2g}× more" if g > 1 else "same layer",
    delta_color="off",
)
m4.metric(
    "MACs with groups = 1",
    f"{view.macs_dense:,}",
    delta=f"{g}× more" if g > 1 else "same layer",
    delta_color="off",
)
if g > 1:
    st.caption(
        f"With {g} groups each filter reads {cpg} of the {c_in} input channels instead of all of them, "
        f"so weights and MACs shrink by {g}× (the bias does not)."
    )

# --- Planes and filters -------------------------------------------------------------------------------
st.subheader(f"{c_in} input planes", anchor=False)
chart(input_fig, key=f"{P}_input", config=NO_BAR)
st.caption("Frame colour: the group a channel belongs to.")

st.subheader(f"{c_out} output planes", anchor=False)
chart(output_fig, key=f"{P}_output", config=NO_BAR)

# --- Point at a cell: answered in the browser -----------------------------------------------------------
CELL_KEYS = (f"{P}_oc", f"{P}_row", f"{P}_col")


def pick(panel: str, row: int, col: int) -> None:
    """A click on an output cell shows it channel by channel below."""
    if panel.startswith("y"):
        for key, value in zip(CELL_KEYS, (int(panel[1:]), row, col), strict=True):
            st.session_state[key] = value


spec = hover_spec(cfg, values)
if spec is not None:
    st.subheader("Point at any cell", anchor=False)
    limits = (c_out, ho, wo)
    shown = [
        min(max(int(st.session_state.get(k, 0)), 0), n - 1) for k, n in zip(CELL_KEYS, limits, strict=True)
    ]
    hover_grid(
        {**spec, "pinned": [f"y{shown[0]}", shown[1], shown[2]]},
        key=f"{P}_hover",
        on_pick=pick,
        pickable=tuple(f"y{o}" for o in range(c_out)),
        idle="Point at an output cell to see the window it reads in every input channel, or at an input cell "
        "to see the output cells that read it.",
    )
    st.caption(
        "Point at an output cell: its window lights up in each input channel its filter reads (its group), "
        "and the sum is written channel by channel. Click it to show it in the section below."
    )

# --- One output cell ----------------------------------------------------------------------------------
st.subheader("One output cell, channel by channel", anchor=False)
c1, c2, c3, _ = st.columns([1, 1, 1, 2])
out_channel = int(url.at(c1).number_input("output channel", 0, c_out - 1, 0, key=f"{P}_oc"))
row = int(url.at(c2).number_input("output row", 0, ho - 1, 0, key=f"{P}_row"))
col = int(url.at(c3).number_input("output column", 0, wo - 1, 0, key=f"{P}_col"))
cell = channel_sums(view, out_channel, (row, col))
read_spec, cell_spec = cell_specs(cfg, values, out_channel, row, col)
chart(PrebuiltFigure(read_spec), key=f"{P}_read", config=NO_BAR)
left, right = st.columns([3, 2])
chart(PrebuiltFigure(cell_spec), where=left, key=f"{P}_cell", config=NO_BAR)
with right:
    st.markdown(
        f"y[{out_channel}, {row}, {col}] = "
        + " + ".join(f"(in {c} · slice {i})" for i, c in enumerate(cell.channels))
        + (" + bias" if bias else "")
    )
    st.metric("output value", number_text(cell.total, fractions=False))
    table(
        pd.DataFrame(
            {
                "input channel": list(cell.channels),
                "weight slice": [f"w[{out_channel}, {i}]" for i in range(len(cell.channels))],
                "dot product": list(cell.dots),
            }
        ),
        hide_index=True,
    )
st.markdown(
    f"Each input channel's window times its weight slice, product by product (input value × weight), "
    f"then the channels' sums added{' with the bias' if bias else ''}:"
)
st.code("\n".join(cell.lines()), language=None, wrap_lines=True)

# --- 1x1 convolution -------------------------------------------------------------------------------
st.subheader("1×1 convolution: mixing channels", anchor=False)
if kernel != 1:
    st.info(
        "Set the kernel size to 1: a 1×1 convolution looks at one pixel at a time and mixes its channels with "
        f"a {c_out}×{c_in} matrix."
    )
else:
    c1, c2, _ = st.columns([1, 1, 3])
    prow = int(url.at(c1).number_input("pixel row", 0, ho - 1, 0, key=f"{P}_px_row"))
    pcol = int(url.at(c2).number_input("pixel column", 0, wo - 1, 0, key=f"{P}_px_col"))
    chart(PrebuiltFigure(mixing_spec(cfg, values, prow, pcol)), key=f"{P}_mixing", config=NO_BAR)
    st.markdown(
        f"At output pixel ({prow}, {pcol}) the layer multiplies the {c_in} channel values of one input pixel "
        f"by a {c_out}×{c_in} matrix and adds the bias: the same matrix at every pixel, like a fully connected "
        "layer applied to each pixel's channel vector."
        + (" Zeros in W are the pairs that groups cut." if g > 1 else "")
    )
    mix = channel_mixing(view, (prow, pcol))
    st.markdown(
        "Row by row: output channel o is the sum over the input channels c it reads of W[o, c] × x[c]"
        + (", plus its bias:" if bias else ":")
    )
    st.code("\n".join(r.equation() for r in mix.rows), language=None, wrap_lines=True)

# --- PyTorch -----------------------------------------------------------------------------------------
st.subheader("The same layer in PyTorch", anchor=False)
st.code(
    f"layer = torch.nn.Conv2d({c_in}, {c_out}, kernel_size={kernel}, stride={stride}, padding={padding}, "
    f"groups={g}, bias={bias})\n"
    f"layer.weight.shape  # torch.Size([{c_out}, {cpg}, {kernel}, {kernel}])\n"
    f"sum(p.numel() for p in layer.parameters())  # {view.params}",
    language="python",
)
