"""The network builder's widgets: the network kept in session state, presets, the layer table and its tools,
the diagram, the summary table, and the unit picker. Every key starts with `nb_`.

A network is a stack or a graph: the table's "inputs" column names the rows a layer reads when it is not
the row before (blank), so a shortcut is an Add row with inputs "5, 2" and the input itself is "input".

The stack the table starts from lives in `st.session_state` as JSON (`nb_network`). A change that replaces
it (a fix, an import, a move) goes through `request`: it stores the new stack under `nb_pending` and reruns;
`preset_controls`, drawn before the input-shape widgets, then loads it, fills those widgets and gives the
table a new key so it shows the new rows. Edits typed in the table stay in the table widget's own state.

Everything travels in the page's link: the preset and its knobs, the input shape, the batch size, the
table tools, the unit picked, and the stack itself as short text (`nb_net`, see `cnnviz.network.link`),
left out of the link while it is exactly the chosen preset's stack. A link that names a preset loads it
(a link sets widgets without their callbacks, so loading follows the value, not an `on_change`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NoReturn

import pandas as pd
import streamlit as st

from cnnviz.errors import ConvConfigError
from cnnviz.network.code import layer_from_arguments
from cnnviz.network.diagram import Diagram, clicked_node, diagram
from cnnviz.network.json_form import from_json, to_json
from cnnviz.network.layers import INPUT, LAYER_TYPES, MAX_LAYERS, Layer, Network, Node, layer_for
from cnnviz.network.layers.graph import delete_node, insert_after, simplest, swap_layers
from cnnviz.network.link import MAX_LINK_CHARS, stack_from_link, stack_to_link
from cnnviz.network.presets import PRESETS, classic_cnn, preset
from cnnviz.network.regions import FieldStep, default_unit
from cnnviz.network.summary_table import LayerRow, Summary, format_bytes, format_count, format_input_size
from cnnviz.plots.conv import PrebuiltFigure
from cnnviz.plots.network import network_diagram_figure
from cnnviz.ui.layout import side_by_side
from cnnviz.ui.messages import escape_markdown
from cnnviz.ui.presentation import chart, is_presenting, table
from cnnviz.ui.url_state import BoundValue, url

__all__ = [
    "DEFAULT_PRESET",
    "TEMPLATE",
    "TableRead",
    "start",
    "request",
    "current_network",
    "show_notice",
    "preset_controls",
    "remember_stack",
    "input_controls",
    "layer_table",
    "table_tools",
    "summary_frame",
    "summary_table",
    "field_table",
    "plain",
    "escape_markdown",
    "show_problem",
    "headline",
    "diagram_view",
    "selected_layer",
    "select_layer",
    "unit_picker",
]

DEFAULT_PRESET = "ConvNet"
TEMPLATE = "Classic CNN template [[Conv→ReLU]×N→Pool]×M→[FC→ReLU]×K→FC"
TEMPLATE_INPUT = (3, 32, 32)

K_NETWORK = "nb_network"  # JSON of the stack the table starts from
K_VERSION = "nb_version"  # part of the table's key: a new stack gets a fresh table
K_PENDING = "nb_pending"  # JSON of a stack to load at the start of the next run
K_NOTICE = "nb_notice"  # a message shown once, after a change
K_PENDING_ROW = "nb_pending_row"  # the row the table tools select after the change
K_PRESET = "nb_preset"
K_INPUT = "nb_input"
K_BATCH = "nb_batch"
K_UNIT_LAYER = "nb_unit_layer"
K_UNIT_FOR = "nb_unit_for"  # (layer, shape) the unit position was set for
K_STACK = "nb_net"  # the stack in the link (cnnviz.network.link's text)
K_LOADED = "nb_loaded"  # the preset settings the loaded stack came from
K_STACK_REVISION = "nb_net_revision"  # the link stack's revision last loaded into the table
K_DEFAULT_INPUT = "nb_default_input"  # the chosen preset's input shape as text: the input box's default
ROW_PX = 36  # table row height: readable from the back of a lecture hall
KNOBS = {"nb_n": ("N: convs per block", 2), "nb_m": ("M: blocks", 2), "nb_k": ("K: hidden FC layers", 1)}


# --------------------------------------------------------------------------------------------------
# The stack in session state
# --------------------------------------------------------------------------------------------------


def start() -> None:
    """Set what the first run needs before any widget (kept for the page's order of calls)."""
    st.session_state.setdefault(K_VERSION, 0)


def _load(network: Network, row: int | None = None) -> None:
    """Make `network` the table's stack: a fresh table, and the input widgets filled from it."""
    state = st.session_state
    state[K_NETWORK] = to_json(network)
    state[K_VERSION] = state.get(K_VERSION, -1) + 1
    state[K_INPUT] = format_input_size(network.input_size)
    state[K_BATCH] = network.batch_size
    if row is not None:
        state["nb_row"] = row


def request(network: Network, notice: str, row: int | None = None) -> NoReturn:
    """Replace the stack with `network` (shown from the next run on), say `notice` once, and rerun now.

    `row` selects that row in the table tools, so a moved layer stays selected.
    """
    st.session_state[K_PENDING] = to_json(network)
    st.session_state[K_NOTICE] = notice
    st.session_state[K_PENDING_ROW] = row
    st.rerun()


def current_network() -> Network:
    """The stack as last loaded (before the edits typed in the table since)."""
    return _network_of(st.session_state[K_NETWORK])


@lru_cache(maxsize=64)
def _network_of(text: str) -> Network:
    """The network a JSON text holds, read once per text: every run of the page asks for it again."""
    return from_json(text)


def show_notice() -> None:
    """The message a change left for this run (e.g. 'Applied the fix ...'), once."""
    notice = st.session_state.pop(K_NOTICE, None)
    if notice:
        st.success(escape_markdown(notice), icon=":material/check_circle:")


# --------------------------------------------------------------------------------------------------
# Sidebar: presets, the template's knobs, the input shape
# --------------------------------------------------------------------------------------------------


Settings = tuple[object, ...]  # the preset's name, and the template's knobs when it is the template


def _preset_network(settings: Settings) -> Network:
    """The stack a preset (or the template with its knobs) starts from."""
    if settings[0] == TEMPLATE:
        n, m, k, padding = (int(v) for v in settings[1:])  # type: ignore[call-overload]
        return Network(
            tuple(classic_cnn(n, m, k, input_size=TEMPLATE_INPUT, padding=padding)), TEMPLATE_INPUT
        )
    return preset(str(settings[0])).network


def _loaded_notice(settings: Settings) -> str:
    if settings[0] == TEMPLATE:
        n, m, k, _padding = settings[1:]
        return f"Loaded the classic template with N={n}, M={m}, K={k}."
    return f"Loaded {settings[0]}."


def preset_controls() -> BoundValue[tuple[Layer, ...]]:
    """Preset picker (every lecture network, VGG-16, ResNet-18's stem, the classic template and its knobs).

    Then the stack's link value: a new preset (picked, or named by a link) loads its stack, unless the
    same link brings its own; a stack left by `request` (a fix, an import, a move) loads and goes into
    the link. Returns the link value; the page passes it the table's layers (`remember_stack`).
    """
    state = st.session_state
    name = url.selectbox(
        "Preset", [*PRESETS, TEMPLATE], index=list(PRESETS).index(DEFAULT_PRESET), key=K_PRESET
    )
    settings: Settings = (name,)
    if name == TEMPLATE:
        st.caption("Lecture 004's template on 3×32×32 input, 3×3 convs, 2×2 max pooling.")
        knobs = [
            url.number_input(label, min_value=0, max_value=6, value=value, step=1, key=key)
            for key, (label, value) in KNOBS.items()
        ]
        padding = url.selectbox(
            "conv padding", [0, 1], key="nb_padding",
            help="0 shrinks each map by 2 per conv; 1 keeps its size",
        )  # fmt: skip
        settings = (name, *(int(v) for v in knobs), int(padding))
    else:
        chosen = PRESETS[name]
        st.caption(f"{chosen.description} *Lecture {chosen.lecture}.*")
    start_from = _preset_network(settings)
    stack = url.value(
        K_STACK,
        tuple(simplest(start_from.nodes)),
        parse=stack_from_link,
        encode=stack_to_link,
        label="Network stack",
    )
    from_link = stack.revision != state.get(K_STACK_REVISION, 0)
    pending = state.pop(K_PENDING, None)
    if pending is not None:  # a fix, an import, a move
        network = from_json(pending)
        _load(network, state.pop(K_PENDING_ROW, None))
        remember_stack(stack, network.nodes)
    elif state.get(K_LOADED) != settings:  # another preset: picked here, or named by a link
        if K_LOADED in state and not from_link:
            state[K_NOTICE] = _loaded_notice(settings)
        _load(Network(stack.get() if from_link else start_from.nodes, start_from.input_size))
        if not from_link:
            stack.set(tuple(simplest(start_from.nodes)))
    elif from_link:  # a link with another stack on the same preset
        _load(Network(stack.get(), start_from.input_size))
    state[K_LOADED] = settings
    state[K_STACK_REVISION] = stack.revision
    state[K_DEFAULT_INPUT] = format_input_size(start_from.input_size)
    return stack


def remember_stack(
    stack: BoundValue[tuple[Layer, ...]], layers: tuple[Layer, ...] | tuple[Node, ...]
) -> None:
    """Put the table's network (every row read) into the link, or say why the link cannot hold it.

    A stack goes in as its layers, a graph as its nodes (the link text of a stack is as it always was).
    """
    layers = tuple(simplest(Network(layers, (1,)).nodes))
    if len(stack_to_link(layers)) > MAX_LINK_CHARS:
        st.caption(
            f"This stack is too long for a link (over {MAX_LINK_CHARS:,} characters): the share link keeps "
            "the last stack that fitted. Export it as code or JSON below instead."
        )
        return
    stack.set(tuple(layers))


def input_controls() -> tuple[str, int]:
    """The input shape as typed ('3, 32, 32') and the batch size N."""
    text = url.text_input(
        "Input shape (C, H, W) or (C, L)", st.session_state.get(K_DEFAULT_INPUT, ""), key=K_INPUT,
        help="One sample's shape, without the batch size: 3, 32, 32 for CIFAR-10, 1, 40 for MNIST-1D, "
        "784 for flat features.",
    )  # fmt: skip
    batch = url.number_input(
        "Batch size N", min_value=1, max_value=4096, value=1, step=1, key=K_BATCH,
        help="Only scales the shapes, MACs and memory; parameters do not depend on it.",
    )  # fmt: skip
    return text, int(batch)


# --------------------------------------------------------------------------------------------------
# The layer table and its tools
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRead:
    """What the table holds: its nodes when every row reads, else the rows' problems (row, message)."""

    nodes: tuple[Node, ...]
    problems: tuple[tuple[int, str], ...]
    empty_rows: tuple[int, ...]

    @property
    def layers(self) -> tuple[Layer, ...]:
        return tuple(node.layer for node in self.nodes)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or not str(value).strip()


def _inputs_text(node: Node, index: int) -> str:
    """'' when the node reads the row before, else '5, 2' ('input' for the network's input)."""
    if node.inputs == (index - 1,):
        return ""
    return ", ".join("input" if j == INPUT else str(j) for j in node.inputs)


def _read_inputs(text: str, row: int, rows: dict[int, int]) -> tuple[int, ...]:
    """Typed inputs ('5, 2', 'input, 3') as node indices; `rows` maps table rows to nodes."""
    if len(text) > 200:
        raise ConvConfigError("inputs: at most a few row numbers, e.g. 5, 2", "inputs")
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip().lower()
        if part in ("input", "x", "in", "-1"):
            out.append(INPUT)
            continue
        if (
            not part.isascii()
            or not part.isdigit()
            or len(part) > 4
            or int(part) not in rows
            or int(part) >= row
        ):
            raise ConvConfigError(
                f"inputs: {part[:20]!r} is not a row above this one; write row numbers such as 5, 2, or "
                "'input' for the network's input",
                "inputs",
            )
        out.append(rows[int(part)])
    if not out or len(out) > 16:
        raise ConvConfigError("inputs: name one to sixteen rows, e.g. 5, 2", "inputs")
    return tuple(out)


def layer_table(network: Network) -> TableRead:
    """The network as an editable table, one row per layer: its type, its arguments as in PyTorch and,
    in a graph, the rows it reads.

    In presentation mode the layers show as an HTML table in projector type and the editor (a data grid,
    whose cells stay at about 14 px) waits in an expander under it."""
    frame = _layers_frame(network)
    holder: Any = st  # where the editor goes
    if is_presenting():
        table(frame, hide_index=False, key="nb_layers_shown")  # rows numbered as the Row box counts them
        holder = st.expander("Edit the layers", icon=":material/edit:")
    edited = holder.data_editor(
        frame, key=f"nb_table_{st.session_state[K_VERSION]}", num_rows="dynamic", hide_index=False,
        width="stretch", row_height=ROW_PX, height=_table_height(len(frame) + 1, 20),
        column_config={
            "_index": st.column_config.NumberColumn("#", width=40),
            "type": st.column_config.SelectboxColumn(
                "type", options=list(LAYER_TYPES), required=True, width=190,
                help="The torch.nn class (Add and Concat merge the rows in inputs)",
            ),
            "arguments": st.column_config.TextColumn(
                "arguments", width="large", max_chars=2000,
                help="As inside the PyTorch call: in_channels=3, out_channels=16, kernel_size=3, padding=1",
            ),
            "inputs": st.column_config.TextColumn(
                "inputs", width="small", max_chars=200,
                help="The rows this layer reads, e.g. 5, 2 for an Add; blank: the row before; 'input': "
                "the network's input",
            ),
        },
    )  # fmt: skip
    nodes: list[Node] = []
    problems: list[tuple[int, str]] = []
    empty: list[int] = []
    rows: dict[int, int] = {}  # table row -> node index
    columns = [edited[c] if c in edited else [None] * len(edited) for c in ("type", "arguments", "inputs")]
    previous = INPUT
    for row, (kind, arguments, inputs) in enumerate(zip(*columns, strict=True)):
        if _blank(kind) and _blank(arguments) and _blank(inputs):
            empty.append(row)
            continue
        if _blank(kind):
            problems.append((row, "pick a layer type in the first column"))
            continue
        try:
            layer = layer_from_arguments(str(kind), None if _blank(arguments) else str(arguments))
            wiring = (previous,) if _blank(inputs) else _read_inputs(str(inputs), row, rows)
        except ConvConfigError as exc:
            problems.append((row, str(exc)))
            continue
        rows[row] = len(nodes)
        previous = len(nodes)
        nodes.append(Node(layer, wiring))
    if len(nodes) > MAX_LAYERS:
        problems.append((MAX_LAYERS, f"at most {MAX_LAYERS} layers (the table has {len(nodes)})"))
    return TableRead(tuple(nodes), tuple(problems), tuple(empty))


@lru_cache(maxsize=64)
def _layers_frame(network: Network) -> pd.DataFrame:
    """The editor's rows for `network`, made once per network (a frozen value): `data_editor` copies its
    data before it applies the typed edits, so the frame is shared read-only."""
    return pd.DataFrame(
        {
            "type": [layer.kind for layer in network.layers],
            "arguments": [layer.argument_text() for layer in network.layers],
            "inputs": [_inputs_text(node, i) for i, node in enumerate(network.nodes)],
        },
        dtype="object",
    )


def table_tools(network: Network, result: Summary) -> None:
    """Move, duplicate, delete a row, or insert a new layer after it that takes the shape it gets there.

    In a graph a move swaps two rows' layers and keeps the wiring; an inserted row reads the row it
    follows and takes over its readers; a deleted row's readers read what it read.
    """
    nodes = network.nodes
    n = len(nodes)
    state = st.session_state
    # One row of one block (st.columns would send eight): the buttons as wide as their words, the row
    # number and the layer type share what is left.
    tools = side_by_side(wrap=True)
    if n:
        state["nb_row"] = min(max(int(state.get("nb_row", 0)), 0), n - 1)
        row = int(url.at(tools).number_input("Row", min_value=0, max_value=n - 1, step=1, key="nb_row"))
    else:
        row = -1
        tools.markdown("*empty stack*")
    kind = url.at(tools).selectbox(
        "New layer", list(LAYER_TYPES), index=list(LAYER_TYPES).index("ReLU"), key="nb_new_type"
    )
    label = "Insert after" if n else "Add"

    def done(new: tuple[Node, ...], notice: str, select: int | None = None) -> None:
        request(Network(new, network.input_size, network.batch_size), notice, select)

    def merges(a: int, b: int) -> bool:
        return (nodes[a].layer.kind in ("Add", "Concat")) != (nodes[b].layer.kind in ("Add", "Concat"))

    if tools.button("Up", key="nb_up", icon=":material/arrow_upward:", disabled=row <= 0, width="content",
                    help="Move the row up"):  # fmt: skip
        if merges(row, row - 1):
            st.info("A merge and a layer cannot swap places: edit the inputs instead.")
        else:
            done(swap_layers(nodes, row, row - 1), f"Moved row {row} up.", row - 1)
    last = row == n - 1
    if tools.button("Down", key="nb_down", icon=":material/arrow_downward:", disabled=row < 0 or last,
                    width="content", help="Move the row down"):  # fmt: skip
        if merges(row, row + 1):
            st.info("A merge and a layer cannot swap places: edit the inputs instead.")
        else:
            done(swap_layers(nodes, row, row + 1), f"Moved row {row} down.", row + 1)
    if tools.button("Copy", key="nb_duplicate", icon=":material/content_copy:",
                    disabled=row < 0 or (row >= 0 and nodes[row].layer.kind in ("Add", "Concat")),
                    width="content", help="Duplicate the row below itself"):  # fmt: skip
        done(insert_after(nodes, row, nodes[row].layer), f"Duplicated row {row}.", row + 1)
    if tools.button("Delete", key="nb_delete", icon=":material/delete:", disabled=row < 0, width="content",
                    help="Delete the row"):  # fmt: skip
        done(delete_node(nodes, row), f"Deleted row {row}.")
    if tools.button(label, key="nb_insert", icon=":material/add:", type="primary", width="content",
                    help="Insert the new layer after the row, sized for what it gets there"):  # fmt: skip
        made = result.rows[row].output_shape if 0 <= row < len(result.rows) else None
        shape = network.input_size if row < 0 else None if made is None else made[1:]
        new_layer = layer_for(kind, shape)
        if kind in ("Add", "Concat"):
            st.info(f"{kind} merges rows: add a row in the table and write the rows it reads in its inputs.")
        else:
            done(
                insert_after(nodes, row, new_layer), f"Inserted {new_layer.code()} at row {row + 1}.", row + 1
            )


# --------------------------------------------------------------------------------------------------
# The summary table
# --------------------------------------------------------------------------------------------------

_STATUS = {"ok": "✓", "error": "✗ no automatic fix", "not computed": "not computed"}


def _numbers(values: Sequence[int | None]) -> pd.Series:
    """Counts as a nullable int column, or floats when they outgrow 64 bits (a table must still show them)."""
    if any(v is not None and abs(v) >= 2**63 for v in values):
        return pd.Series([float(v) if v is not None else None for v in values], dtype="float64")
    return pd.Series(values, dtype="Int64")


def _count_text(value: object) -> str:
    """A count with thousands separators ('138,357,544'), '—' for none: the HTML table's form of it."""
    return "—" if value is None or pd.isna(value) else f"{float(value):,.0f}"


def _shape(row: LayerRow) -> str:
    """'(1, 15, 16, 16)'; for the breaking row, the shape it was given; '—' after it."""
    if row.output_shape is not None:
        return "(" + ", ".join(map(str, row.output_shape)) + ")"
    if row.status == "error" and row.input_shape is not None:
        return "gets (" + ", ".join(map(str, row.input_shape)) + ")"
    return "—"


def _reads(row: LayerRow) -> str:
    """'' for a row that reads the row before, else the rows it reads: '5, 2'."""
    if row.inputs in ((), (row.index - 1,)):
        return ""
    return ", ".join("input" if j < 0 else str(j) for j in row.inputs)


def summary_frame(result: Summary) -> pd.DataFrame | pd.io.formats.style.Styler:
    """torchinfo's table, one row per layer: output shape, parameters, MACs, activation memory, status.

    The breaking row is red and says its fix; rows after it are grey ("not computed"). A network whose
    every layer fits is a plain frame: a Styler is rendered cell by cell on every run, for nothing to colour.
    """
    return _coloured(_summary_rows(result), result)


def _summary_rows(result: Summary) -> pd.DataFrame:
    """`summary_frame`'s cells, uncoloured."""
    rows = result.rows
    return pd.DataFrame(
        {
            "layer": [row.layer.code(prefix="") for row in rows],
            "reads": [_reads(row) for row in rows],
            "output shape": [_shape(row) for row in rows],
            "params": _numbers([row.params for row in rows]),
            "MACs": _numbers([row.macs for row in rows]),
            "activations": [format_bytes(r.activation_bytes) if r.activation_bytes else "—" for r in rows],
            "status": [f"✗ {row.fix.text}" if row.fix else _STATUS[row.status] for row in rows],
        }
    )  # fmt: skip


def _coloured(frame: pd.DataFrame, result: Summary) -> pd.DataFrame | pd.io.formats.style.Styler:
    """The frame as it is when every layer fits, else a new Styler of it with the breaking row red and the
    rows after it grey. A new one on every call: rendering a Styler writes into it, so none is shared."""
    if result.ok:
        return frame
    rows = result.rows

    def colour(line: pd.Series) -> list[str]:
        status = rows[line.name].status
        if status == "error":
            return ["background-color: #ffe3e3; color: #c92a2a; font-weight: 600"] * len(line)
        if status == "not computed":
            return ["color: #adb5bd"] * len(line)
        return [""] * len(line)

    return frame.style.apply(colour, axis=1)


@st.cache_resource(max_entries=32, show_spinner=False)
def _summary_rows_of(key: str, _result: Summary) -> pd.DataFrame:
    """`_summary_rows`, once per network (its JSON, `key`): the same frame run after run keeps its Arrow
    form (`as_arrow`). Shared read-only."""
    return _summary_rows(_result)


def summary_table(result: Summary, key: str) -> None:
    """The summary as a table, tall enough for every row up to about 20 (then it scrolls).

    `key` names the network (its JSON) for the cached frame."""
    table(
        _coloured(_summary_rows_of(key, result), result),
        key="nb_summary", hide_index=False, width="stretch", row_height=ROW_PX,
        height=_table_height(len(result.rows), 20), placeholder="—",
        formats={"params": _count_text, "MACs": _count_text},
        column_config={
            "_index": st.column_config.NumberColumn("#", width=40),
            "layer": st.column_config.TextColumn("layer", width="large"),
            "params": st.column_config.NumberColumn("params", format="localized"),
            "MACs": st.column_config.NumberColumn("MACs", format="localized"),
            "status": st.column_config.TextColumn("status", width="medium"),
        },
    )  # fmt: skip


def _table_height(rows: int, most: int) -> int:
    """Pixels for a table showing up to `most` rows (header included) before it scrolls."""
    return ROW_PX * (min(max(rows, 1), most) + 1) + 3


def _per_axis(values: tuple[int, ...] | None) -> str:
    """'5' when every axis agrees, '5 × 3' when not, '—' without a window."""
    if values is None:
        return "—"
    return str(values[0]) if len(set(values)) == 1 else " × ".join(map(str, values))


def _field_rows(steps: Sequence[FieldStep]) -> pd.DataFrame:
    """Per layer: receptive field r, jump j and start (unit 0's first input cell; negative: padding)."""
    return pd.DataFrame(
        {
            "layer": [step.label for step in steps],
            "r": [_per_axis(step.size) for step in steps],
            "jump": [_per_axis(step.jump) for step in steps],
            "start": [_per_axis(step.start) for step in steps],
        }
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _field_rows_of(key: str, _steps: Sequence[FieldStep]) -> pd.DataFrame:
    return _field_rows(_steps)


def field_table(steps: Sequence[FieldStep], key: str) -> None:
    """`_field_rows` as a table; `key` names the network (its JSON) whose steps these are."""
    table(
        _field_rows_of(key, steps), key="nb_fields", hide_index=True, width="stretch", row_height=ROW_PX,
        height=_table_height(len(steps), 11),
    )  # fmt: skip


def plain(text: str) -> str:
    """User-derived text for st.markdown, st.error and labels: see `escape_markdown`."""
    return escape_markdown(text)


def show_problem(message: object) -> None:
    """A red box with a message that may quote what someone typed or linked, escaped (never a traceback)."""
    st.error(escape_markdown(str(message)), icon=":material/error:")


_HEADLINE_STYLE = (
    "<style>.st-key-nb_headline [data-testid=stMetricValue] > div{white-space:normal;overflow:visible;"
    "text-overflow:clip;font-size:1.7rem;line-height:1.2}</style>"
)


def headline(result: Summary, batch: int) -> None:
    """Parameters, MACs, activations and output shape: whole numbers, never cut to '138,357,...'."""
    st.html(_HEADLINE_STYLE)
    # One horizontal block for the four cards (st.columns would send five).
    with st.container(key="nb_headline", horizontal=True, wrap=True):
        st.metric("Parameters", format_count(result.total_params), help=f"{result.total_params:,}",
                  border=True)  # fmt: skip
        st.metric(f"MACs (batch of {batch})", format_count(result.total_macs), help=f"{result.total_macs:,}",
                  border=True)  # fmt: skip
        st.metric("Activations (float32)", format_bytes(result.activation_bytes), border=True)
        broken = result.first_error
        st.metric(
            "Output shape",
            str(result.output_shape) if broken is None else f"✗ layer {broken.index}",
            border=True,
        )


K_DIAGRAM = "nb_diagram"
# In presentation mode: shapes in 20 px bold, layer lines in 18 px, five blocks a lane (so "MaxPool 3×3 /2"
# stays inside its box on a 1400 px screen), rows of 90 px (112 once presentation mode enlarges the figure)
# for three lines.
PRESENT_PER_LANE = 5
PRESENT_ROWS = {"row_px": 90, "max_height": None, "layers_px": 18}
DIAGRAM_CONFIG = {
    "displayModeBar": True, "displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"],
    "toImageButtonOptions": {"format": "png", "filename": "network", "scale": 2},
}  # fmt: skip


def _unit_choices(result: Summary) -> tuple[dict[str, int], str | None]:
    """The unit picker's options ({label: layer}) and its default: the deepest layer with a map."""
    ok = [row for row in result.rows if row.status == "ok"]
    if not ok:
        return {}, None
    labels = {_unit_label(row): row.index for row in ok}
    maps = [row for row in ok if len(row.output_shape or ()) > 2]
    return labels, _unit_label(maps[-1] if maps else ok[-1])


def selected_layer(result: Summary) -> int | None:
    """The layer the receptive-field view shows (or will show, once its picker is drawn), if any."""
    labels, default = _unit_choices(result)
    if default is None:
        return None
    return labels.get(st.session_state.get(K_UNIT_LAYER), labels[default])  # type: ignore[arg-type]


def select_layer(result: Summary, index: int) -> bool:
    """Make layer `index` the receptive-field view's layer, its unit back at the centre.

    Before the picker is drawn (a callback, or earlier in the run); the picker then writes it into the
    link. False for a layer that does not run (it has no units to pick).
    """
    row = result.rows[index] if 0 <= index < len(result.rows) else None
    if row is None or row.status != "ok":
        return False
    st.session_state[K_UNIT_LAYER] = _unit_label(row)
    st.session_state.pop(K_UNIT_FOR, None)
    return True


@st.cache_resource(max_entries=32, show_spinner=False)
def _diagram_spec(key: str, _picture: Diagram, selected: int | None, presenting: bool) -> dict:
    """The diagram's figure as a JSON-ready dict, cached on the network's JSON (`key`): a go.Figure would
    be rebuilt and validated on every run. Shared, not copied per rerun (presentation mode builds its own)."""
    return network_diagram_figure(_picture, selected, **(PRESENT_ROWS if presenting else {})).to_dict()


def diagram_view(result: Summary, key: str) -> None:
    """The network as a diagram, the receptive-field view's layer outlined; clicking a block selects its
    layer there (its last node: a Conv · BN · ReLU block selects the ReLU's output).

    `key` names the network (its JSON) for the cached figure."""
    presenting = is_presenting()  # larger type: fewer blocks a lane, taller rows, the diagram may scroll
    picture = diagram(result, per_lane=PRESENT_PER_LANE if presenting else 8)

    def clicked() -> None:  # runs before the next run, so the picker and the outline both follow
        event = st.session_state.get(K_DIAGRAM)
        node = clicked_node(picture, event.get("selection") if event is not None else None)
        if node is not None:
            select_layer(result, node)

    chart(
        PrebuiltFigure(_diagram_spec(key, picture, selected_layer(result), presenting)),
        key=K_DIAGRAM, config=DIAGRAM_CONFIG,
        on_select=clicked, selection_mode="points",
    )  # fmt: skip


def _unit_label(row: LayerRow) -> str:
    return f"{row.index} · {row.layer.kind} → {_shape(row)}"


# --------------------------------------------------------------------------------------------------
# Pick a unit of a layer
# --------------------------------------------------------------------------------------------------


def unit_picker(result: Summary) -> tuple[int, tuple[int, ...]] | None:
    """A layer that runs and one unit of its output: (h, w) of a 2D map, (l,) of a 1D map, (f,) of features.

    Starts at the centre of the deepest layer with a map; None when no layer runs.
    """
    labels, default_label = _unit_choices(result)
    if default_label is None:
        return None
    state = st.session_state
    by_index = {row.index: row for row in result.rows if row.status == "ok"}
    if state.get(K_UNIT_LAYER) not in labels:
        state[K_UNIT_LAYER] = default_label
    boxes = side_by_side(wrap=True)  # the layer and a box per axis of the unit, in one block
    # The options are the labels themselves: when the stack changes, so does a label, and the choice
    # starts again from the default instead of showing a stale label.
    options = list(labels)
    picked = url.at(boxes).selectbox("Layer", options, index=options.index(default_label), key=K_UNIT_LAYER)
    index = labels[picked]
    shape = tuple(by_index[index].output_shape[1:])  # type: ignore[index]
    axes = shape[1:] if len(shape) > 1 else shape
    names = ("row", "column") if len(axes) == 2 else ("position",) if len(shape) == 2 else ("feature",)
    centre = default_unit(shape)
    if state.get(K_UNIT_FOR) != (index, shape) or "nb_unit_0" not in state:
        state[K_UNIT_FOR] = (index, shape)
        for a, value in enumerate(centre):
            state[f"nb_unit_{a}"] = value
    position = []
    for a, (size, name) in enumerate(zip(axes, names, strict=False)):
        key = f"nb_unit_{a}"
        state[key] = min(max(int(state.get(key, 0)), 0), size - 1)
        label = f"unit {name} (0 to {size - 1})"
        position.append(int(url.at(boxes).number_input(label, 0, size - 1, int(centre[a]), step=1, key=key)))
    return index, tuple(position)
