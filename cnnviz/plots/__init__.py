"""Plotly figure builders: pure functions from arrays to figure specs (no Streamlit).

One module a topic: `conv` (grids, the sliding window, signals, matrices), `pooling`, `transposed`,
`channels`, `network`, `training`, `photos` (pictures a click picks a pixel on), `hover_grid` (cells the
browser lights up under the pointer); `animation` holds
the play/pause buttons and scrubber every animation shares, `gif_export` draws the sliding window
as a GIF with Pillow.
"""

from cnnviz.plots.channels import (
    GROUP_COLOURS,
    cell_sum_figure,
    connections_figure,
    mixing_figure,
    planes_figure,
    weights_figure,
)
from cnnviz.plots.conv import (
    NUMBERS_MAX_CELLS,
    PrebuiltFigure,
    cell_picker_trace,
    conv1d_signals_figure,
    conv_walkthrough_figure,
    conv_walkthrough_spec,
    frame_plan,
    grids_figure,
    matrix_figure,
    picked_cell,
    signal_figure,
    subplot_layout,
    synced_images_figure,
    typed_array,
)
from cnnviz.plots.gif_export import conv_animation_gif
from cnnviz.plots.hover_grid import MAX_HOVER_READS, conv_hover_spec
from cnnviz.plots.network import (
    DIAGRAM_PNG_FONT_PX,
    diagram_png,
    diagram_svg,
    erf_figure,
    field_growth_figure,
    network_diagram_figure,
    params_figure,
    region_figure,
    region_signal_figure,
)
from cnnviz.plots.photos import (
    MAX_PICKER_POINTS,
    PhotoPanel,
    clicked_pixel,
    photo_panels_figure,
    picked_pixel,
    pixel_picker_trace,
)
from cnnviz.plots.pooling import (
    invariance_figure,
    maps_figure,
    pool1d_figure,
    pool_animation_figure,
    pool_figure,
    upsample_figure,
)
from cnnviz.plots.training import (
    accuracy_figure,
    compare_figure,
    confusion_figure,
    curves_figure,
    feature_maps_figure,
    filters_figure,
    loss_figure,
    probabilities_figure,
    samples_figure,
)
from cnnviz.plots.transposed import KIND_COLOURS, KIND_NAMES, gaps_figure, scatter_animation

__all__ = [
    "MAX_PICKER_POINTS",
    "PhotoPanel",
    "clicked_pixel",
    "photo_panels_figure",
    "picked_pixel",
    "pixel_picker_trace",
    "GROUP_COLOURS",
    "KIND_COLOURS",
    "KIND_NAMES",
    "NUMBERS_MAX_CELLS",
    "PrebuiltFigure",
    "accuracy_figure",
    "cell_picker_trace",
    "cell_sum_figure",
    "compare_figure",
    "confusion_figure",
    "connections_figure",
    "conv_animation_gif",
    "conv_walkthrough_figure",
    "conv_walkthrough_spec",
    "conv_hover_spec",
    "MAX_HOVER_READS",
    "curves_figure",
    "DIAGRAM_PNG_FONT_PX",
    "diagram_png",
    "diagram_svg",
    "erf_figure",
    "network_diagram_figure",
    "feature_maps_figure",
    "field_growth_figure",
    "filters_figure",
    "frame_plan",
    "gaps_figure",
    "grids_figure",
    "invariance_figure",
    "loss_figure",
    "maps_figure",
    "matrix_figure",
    "mixing_figure",
    "params_figure",
    "picked_cell",
    "planes_figure",
    "pool1d_figure",
    "pool_animation_figure",
    "pool_figure",
    "probabilities_figure",
    "region_figure",
    "region_signal_figure",
    "samples_figure",
    "scatter_animation",
    "signal_figure",
    "conv1d_signals_figure",
    "subplot_layout",
    "synced_images_figure",
    "typed_array",
    "upsample_figure",
    "weights_figure",
]
