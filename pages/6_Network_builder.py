"""Build a network as in PyTorch, stack or graph: every shape, parameter and receptive field, the network as a
picture, and the layer that does not fit."""

from __future__ import annotations

import streamlit as st

from cnnviz import (
    ConvConfigError,
    Network,
    apply_all_fixes,
    apply_fix,
    check_erf_cost,
    check_region_cost,
    describe_region,
    field_steps,
    format_count,
    parse_input_size,
    read_import,
    to_json,
    to_json_lines,
)
from cnnviz.plots import PrebuiltFigure, erf_figure
from cnnviz.ui import chart, page_header, side_by_side, url
from cnnviz.ui import network_editor as editor
from cnnviz.ui.network_views import (
    baselines_of,
    code_of,
    erf_of,
    growth_picture,
    params_picture,
    png_of,
    region_of,
    region_picture,
    summary_of,
    svg_of,
)

PLOT_CONFIG = {"displayModeBar": False}

controls = page_header(
    "Network builder",
    "Build a network as in PyTorch, a stack or with shortcuts and skips, and see every shape, parameter "
    "and receptive field. When a layer does not fit, the page names it and fixes it in one click.",
)
editor.start()
with controls:
    stack = editor.preset_controls()
    shape_text, batch = editor.input_controls()


top = st.container()  # the headline numbers, a break point's fix and the diagram: drawn once the table reads

# --- The table -------------------------------------------------------------------------------------
st.subheader("The layers", anchor=False)
st.caption(
    "One row per layer, arguments as in PyTorch. Edit a cell and press Enter; **+** below the table adds "
    "a row, and selecting rows (left edge) lets you delete them. **inputs** names the rows a layer reads "
    "when not the row before: an Add of rows 5 and 2 is a shortcut, 'input' is the network's input."
)
editor.show_notice()
table = editor.layer_table(editor.current_network())
if not table.problems:
    editor.remember_stack(stack, table.nodes)
try:
    input_size, input_error = parse_input_size(shape_text), None
except ConvConfigError as exc:
    input_size, input_error = None, exc
if input_size is not None and not table.problems:
    network = Network(table.nodes, input_size, batch)
    key = to_json(network, indent=None)
    result = summary_of(key, network)
    editor.table_tools(network, result)
with st.expander("Import PyTorch code or JSON", icon=":material/upload:"):
    st.text_area(
        "Paste an nn.Sequential(...), a model class with its forward, layer calls one per line, or JSON "
        "exported below", key="nb_import_text", height=160, max_chars=200_000,
        placeholder="class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)\n    def forward(self, x):\n"
        "        return F.relu(self.conv1(x))",
    )  # fmt: skip
    if st.button("Import", key="nb_import", icon=":material/upload:"):
        try:
            fallback = editor.current_network()
            imported, notes = read_import(
                st.session_state["nb_import_text"], input_size or fallback.input_size, batch
            )
        except ConvConfigError as exc:
            editor.show_problem("Nothing imported, the stack is unchanged: " + str(exc))
        else:
            said = f" Read as: {'; '.join(notes)}." if notes else ""
            editor.request(
                imported, f"Imported {len(imported.layers)} layers, input shape {imported.input_size}.{said}"
            )
for row, message in table.problems:
    editor.show_problem(f"Row {row}: {message}")
if table.empty_rows:
    st.caption(f"Empty rows {', '.join(map(str, table.empty_rows))} are left out until you pick their type.")
if input_error is not None:
    with top:
        editor.show_problem(input_error)
    st.stop()
if table.problems:
    with top:
        st.info("Fix the rows of the table below to see the network; the table keeps what you typed.")
    st.stop()

# --- The headline, a break point, the diagram (at the top of the page) -----------------------------
broken = result.first_error
with top:
    editor.headline(result, batch)
    if broken is not None:
        editor.show_problem(f"Layer {broken.index} ({broken.layer.kind}) does not fit. {broken.error or ''}")
        if broken.fix is not None:
            fixes = side_by_side(wrap=True)
            label = f"Fix layer {broken.index}: {editor.plain(broken.fix.text)}"
            if fixes.button(label, key="nb_fix", type="primary", icon=":material/build:", width="stretch"):
                fixed = apply_fix(network.nodes, input_size, broken.index)
                editor.request(
                    Network(fixed, input_size, batch),
                    f"Fixed layer {broken.index}: {broken.fix.text}.",
                )
            if fixes.button("Fix every layer that breaks", key="nb_fix_all", icon=":material/auto_fix_high:",
                              width="stretch"):  # fmt: skip
                fixed = apply_all_fixes(network.nodes, input_size)
                editor.request(Network(fixed, input_size, batch), "Applied every fix the network needed.")
        else:
            st.info("No single number fixes this layer: change it in the table below.")
    # Drawn after the unit picker, so it outlines the layer picked there.
    diagram_slot = st.container(key="cnnviz-main-figure")
    st.caption(
        "Each box is a layer (with the batch norm and activation after it) over the shape it makes; "
        "arrows show what each reads, shortcuts arc above. Click a box to see its receptive field below. "
        "The PNG and SVG are under Export (the camera icon saves this view as it is on screen)."
    )

# --- Summary --------------------------------------------------------------------------------------
st.subheader("Summary", anchor=False)
editor.summary_table(result, key)
with st.expander("As torchinfo prints it"):
    st.code(str(result), language=None)

# --- Receptive fields -----------------------------------------------------------------------------
st.subheader("Receptive fields", anchor=False)
steps = field_steps(result)
local = [step for step in steps if step.size is not None]
if local:
    table_col, growth_col = st.columns([2, 3])
    with table_col:
        editor.field_table(local, key)
    chart(
        PrebuiltFigure(growth_picture(key, result)),
        where=growth_col, key="nb_growth", config=PLOT_CONFIG,
    )  # fmt: skip
    st.caption(
        "r: input cells one unit sees along an axis; jump: input cells between neighbouring units; start: "
        "the first input cell of unit 0 (negative: in the padding). r grows by (k − 1) × jump per layer."
    )
    windowless = next((step for step in steps if step.size is None), None)
    if windowless is not None:
        st.caption(
            f"From layer {windowless.index} ({windowless.kind}) on, no single window: "
            + editor.plain(f"{windowless.note}.")
        )
else:
    st.info("No layer here slides a window over positions, so every unit depends on the whole input.")

st.markdown("**Pick a unit and see the input cells it reads**")
picked = editor.unit_picker(result)
with diagram_slot:
    editor.diagram_view(result, key)
if picked is not None:
    layer, unit = picked
    region_col, erf_col = st.columns(2)
    with region_col:
        try:
            check_region_cost(result, layer)
            region = region_of(key, network, layer, unit)
        except ConvConfigError as exc:
            editor.show_problem(exc)
        else:
            chart(
                PrebuiltFigure(region_picture(key, network, layer, unit)), key="nb_region", config=PLOT_CONFIG
            )
            st.markdown(f"Unit {unit} of layer {layer}. " + describe_region(region, input_size))
            st.caption(
                "In colour: the cells the unit reads (faded: the rest). Green: their extent. Dashed: the "
                "formula's window, grey where it reaches into the padding."
            )
    with erf_col:
        st.markdown("**Effective receptive field**")
        show = url.toggle("Compute it (random weights, one backward pass per network)", key="nb_erf")
        if show:
            runs = url.select_slider("Average over random networks", [1, 2, 4, 8], value=4, key="nb_erf_runs")
            try:
                check_erf_cost(network.nodes, input_size, layer, runs)
                gradient = erf_of(key, network, layer, unit, runs)
            except ConvConfigError as exc:
                editor.show_problem(exc)
            else:
                window = region_of(key, network, layer, unit).unclipped
                chart(erf_figure(gradient, window), key="nb_erf_chart", config=PLOT_CONFIG)
                st.caption(
                    "|∂ unit / ∂ input| with PyTorch's default random weights and a random input. It is "
                    "strongest in the middle of the theoretical window (dashed) and fades towards its "
                    "edges: the effective field is smaller than r (Luo et al. 2016)."
                )
        else:
            st.caption("Off until asked: it runs the stack in PyTorch, which takes a moment on big inputs.")

# --- Fully connected instead ----------------------------------------------------------------------
st.subheader("The same task, fully connected", anchor=False)
try:
    baselines = baselines_of(key, network)
except ConvConfigError as exc:
    st.info(editor.plain(str(exc)))
else:
    stack = baselines[0]
    if len(baselines) == 1:
        st.info("This stack has no convolution: it is the fully connected baseline itself.")
    cards = side_by_side(wrap=True)
    for baseline in baselines:
        cards.metric(
            baseline.label, format_count(baseline.params), border=True,
            help=f"{baseline.params:,} parameters: {baseline.description}",
            delta=None if baseline is stack else f"{baseline.times(stack):,.1f}× the stack's parameters",
            delta_color="off", delta_arrow="off",
        )  # fmt: skip
    if len(baselines) > 1:
        chart(PrebuiltFigure(params_picture(key, baselines)), key="nb_params_chart", config=PLOT_CONFIG)
        st.caption(
            "Same input, same number of outputs. A convolution reuses one small kernel at every position; "
            "a fully connected layer has a weight for every input-output pair."
        )

# --- Export ---------------------------------------------------------------------------------------
st.subheader("Export", anchor=False)
as_code, as_json, as_picture = st.tabs(["PyTorch code", "JSON", "Diagram (PNG, SVG)"])
with as_code:
    code = code_of(key, network)
    st.code(code, language="python", height=480 if len(network.layers) > 14 else "content")
    st.download_button("Download model.py", code, file_name="model.py", mime="text/x-python",
                       key="nb_download_code", on_click="ignore", icon=":material/download:")  # fmt: skip
with as_json:
    text = to_json_lines(network)
    st.code(text, language="json", height=480 if len(network.layers) > 14 else "content", wrap_lines=True)
    st.download_button("Download network.json", text, file_name="network.json", mime="application/json",
                       key="nb_download_json", on_click="ignore", icon=":material/download:")  # fmt: skip
with as_picture:
    st.caption(
        "The diagram above for slides and handouts: a PNG with large labels, or a vector picture (SVG) "
        "that stays sharp at any size."
    )
    downloads = side_by_side(wrap=True)
    downloads.download_button("Download network.png", lambda: png_of(key, result), file_name="network.png",
                              mime="image/png", key="nb_download_png", on_click="ignore",
                              icon=":material/image:", width="content")  # fmt: skip
    downloads.download_button("Download network.svg", lambda: svg_of(key, result), file_name="network.svg",
                              mime="image/svg+xml", key="nb_download_svg", on_click="ignore",
                              icon=":material/download:", width="content")  # fmt: skip
