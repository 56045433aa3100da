"""`GraphModule`: a network graph as one nn.Module (imported by `to_torch` only, as it loads torch)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cnnviz.network.layers import Add, Concat, Layer

__all__ = ["GraphModule"]


class GraphModule(nn.Module):
    """Runs `layers[i]` on the outputs of `inputs[i]` (-1: the input) for the nodes in `needed`.

    Add nodes sum their inputs and Concat nodes `torch.cat` them; the last needed node is the output.
    """

    def __init__(
        self,
        modules: Sequence[nn.Module],
        inputs: Sequence[tuple[int, ...]],
        specs: Sequence[Layer],
        needed: Sequence[int],
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(modules)
        self.inputs = [tuple(i) for i in inputs]
        self.merges = {i: spec for i, spec in enumerate(specs) if isinstance(spec, (Add, Concat))}
        self.needed = list(needed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: dict[int, torch.Tensor] = {-1: x}
        for i in self.needed:
            got = [outputs[j] for j in self.inputs[i]]
            merge = self.merges.get(i)
            if isinstance(merge, Add):
                y = got[0]
                for other in got[1:]:
                    y = y + other
            elif isinstance(merge, Concat):
                y = torch.cat(got, dim=merge.dim)
            else:
                y = self.layers[i](got[0])
            outputs[i] = y
        return outputs[self.needed[-1]] if self.needed else x
