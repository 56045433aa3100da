"""cnnviz: compute convolutions exactly as PyTorch does, and explain every number.

The public API mirrors `torch.nn.functional` names and argument order. Importing cnnviz loads numpy
(and scipy where filtering needs it), never streamlit or plotly.
"""

from cnnviz.conv.args import ConvGeometry, resolve_geometry, resolve_padding, same_padding
from cnnviz.conv.counts import (
    conv_macs,
    conv_params,
    conv_transpose_macs,
    conv_transpose_params,
    dense_equivalent_params,
    linear_macs,
    linear_params,
    pool_ops,
)
from cnnviz.conv.explain import OutputExplanation, Tap, explain_conv_output, outputs_reading_input
from cnnviz.conv.formulas import (
    Explanation,
    explain_conv_output_size,
    explain_conv_transpose_output_size,
    explain_pool_output_size,
)
from cnnviz.conv.matrix import conv_matrix
from cnnviz.conv.ops import (
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
    max_pool1d,
    max_pool2d,
    pad,
)
from cnnviz.conv.shapes import (
    conv1d_output_size,
    conv2d_output_size,
    conv_output_size,
    conv_transpose2d_output_size,
    conv_transpose_output_size,
    inputs_with_same_output,
    output_padding_to_invert,
    padding_for_output_size,
    pool2d_output_size,
    pool_output_size,
    transpose_padding_for_output_size,
    unread_cells,
)
from cnnviz.errors import ConvConfigError
from cnnviz.images.filtering import FilterResult, filter_image
from cnnviz.network import (
    Network,
    Summary,
    apply_fix,
    effective_receptive_field,
    from_json,
    from_pytorch_code,
    receptive_region,
    summarize,
    summary,
    to_json,
    to_pytorch_code,
    to_torch,
)
from cnnviz.network.presets import PRESETS, classic_cnn, preset

__all__ = [
    "FilterResult",
    "Network",
    "PRESETS",
    "Summary",
    "apply_fix",
    "classic_cnn",
    "effective_receptive_field",
    "filter_image",
    "from_json",
    "from_pytorch_code",
    "preset",
    "receptive_region",
    "summarize",
    "summary",
    "to_json",
    "to_pytorch_code",
    "to_torch",
    "ConvConfigError",
    "ConvGeometry",
    "Explanation",
    "OutputExplanation",
    "Tap",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv1d_output_size",
    "conv2d",
    "conv2d_output_size",
    "conv_macs",
    "conv_matrix",
    "conv_output_size",
    "conv_params",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose2d_output_size",
    "conv_transpose_macs",
    "conv_transpose_output_size",
    "conv_transpose_params",
    "dense_equivalent_params",
    "explain_conv_output",
    "explain_conv_output_size",
    "explain_conv_transpose_output_size",
    "explain_pool_output_size",
    "inputs_with_same_output",
    "linear_macs",
    "linear_params",
    "max_pool1d",
    "max_pool2d",
    "output_padding_to_invert",
    "outputs_reading_input",
    "pad",
    "padding_for_output_size",
    "pool2d_output_size",
    "pool_ops",
    "pool_output_size",
    "resolve_geometry",
    "resolve_padding",
    "same_padding",
    "transpose_padding_for_output_size",
    "unread_cells",
]

__version__ = "0.1.0"
