"""The networks of the lectures, as layer stacks, and the classic CNN template as a function.

Lectures: 000 CS 462 Lecture 10 (Convolutions), 001 DL4DS Convolutional Networks (UDL ch. 10),
003 165B Convolutional Neural Networks, 004 CNN lecture: kernels to classic architectures.
`expected_params` is the published parameter count (the lecture's number where it quotes one). The
classic architectures the lectures show (AlexNet, VGG, ResNet-18, a U-Net) follow torchvision's layouts
and the U-Net paper; ResNet-18 and the U-Net are graphs (`Node`s with their shortcuts and skips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import (
    INPUT,
    AdaptiveAvgPool2d,
    Add,
    AvgPool2d,
    BatchNorm2d,
    Concat,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    Layer,
    Linear,
    MaxPool2d,
    Network,
    Node,
    ReLU,
    Shape,
    Tanh,
)
from cnnviz.network.summary_table import summarize

__all__ = [
    "Preset",
    "PRESETS",
    "preset",
    "classic_cnn",
    "lecture004_cnn",
    "vgg16",
    "vgg",
    "alexnet",
    "resnet18",
    "unet",
    "GraphBuilder",
]


@dataclass(frozen=True)
class Preset:
    """A named network from a lecture: what it is, where it comes from, and its layers."""

    name: str
    description: str
    lecture: str
    input_size: Shape
    layers: tuple[Layer | Node, ...]  # a stack's layers, or a graph's nodes
    expected_params: int | None = None

    @property
    def network(self) -> Network:
        return Network(self.layers, self.input_size)


def classic_cnn(
    n: int,
    m: int,
    k: int,
    input_size: Sequence[int] = (3, 32, 32),
    channels: Sequence[int] | int = 32,
    hidden: Sequence[int] | int = 64,
    num_classes: int = 10,
    kernel_size: int = 3,
    padding: int = 0,
    pool: Sequence[int] | int = 2,
) -> list[Layer]:
    """Lecture 004: [[Conv -> ReLU] x n -> MaxPool] x m -> Flatten -> [Linear -> ReLU] x k -> Linear.

    `channels`: out_channels of the n*m convs (one int for all); `hidden`: out_features of the k hidden
    Linear layers; `pool`: the MaxPool2d kernel (= stride) after each of the m blocks. The first Linear's
    in_features is what the conv part produces; if the conv part breaks, the summary shows where.
    """
    n, m, k = as_int(n, "n"), as_int(m, "m"), as_int(k, "k")
    if min(n, m, k) < 0:
        raise ConvConfigError(f"n, m and k count repetitions, so each is 0 or more (got {n}, {m}, {k})", "n")
    widths = [channels] * (n * m) if isinstance(channels, int) else list(channels)
    features = [hidden] * k if isinstance(hidden, int) else list(hidden)
    pools = [pool] * m if isinstance(pool, int) else list(pool)
    for name, values, want in (("channels", widths, n * m), ("hidden", features, k), ("pool", pools, m)):
        if len(values) != want:
            raise ConvConfigError(f"{name} needs {want} value(s) (got {len(values)}: {values})", name)
    c = as_int(input_size[0], "input_size")
    convs: list[Layer] = []
    for block in range(m):
        for i in range(n):
            width = widths[block * n + i]
            convs += [Conv2d(c, width, kernel_size=kernel_size, padding=padding), ReLU()]
            c = width
        convs.append(MaxPool2d(pools[block]))
    result = summarize([*convs, Flatten()], input_size)
    flat = result.output_shape[1] if result.output_shape else c
    head: list[Layer] = []
    for width in features:
        head += [Linear(flat, width), ReLU()]
        flat = width
    return [*convs, Flatten(), *head, Linear(flat, num_classes)]


def lecture004_cnn(num_classes: int = 10) -> list[Layer]:
    """Lecture 004's code: eight 3x3 convs (32, 64, 128, 256, 128, 64, 32, 16), max_pool2d(2) after the
    first pair and max_pool2d(1) after the others, then fc1(64, 32), fc2(32, 16), fc3(16, classes)."""
    return classic_cnn(
        n=2,
        m=4,
        k=2,
        input_size=(3, 32, 32),
        channels=(32, 64, 128, 256, 128, 64, 32, 16),
        hidden=(32, 16),
        num_classes=num_classes,
        pool=(2, 1, 1, 1),
    )


VGG_CONFIGS = {
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    19: (
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ),
}


def vgg16(num_classes: int = 1000) -> list[Layer]:
    """VGG-16 as torchvision builds it (configuration D, no batch norm) for 3x224x224 input."""
    return vgg(16, num_classes)


def vgg(depth: int = 16, num_classes: int = 1000) -> list[Layer]:
    """VGG-16 or VGG-19 as torchvision builds them (configurations D and E, no batch norm)."""
    config = VGG_CONFIGS[depth]
    layers: list[Layer] = []
    c = 3
    for item in config:
        if item == "M":
            layers.append(MaxPool2d(2, stride=2))
        else:
            layers += [Conv2d(c, item, kernel_size=3, padding=1), ReLU(inplace=True)]
            c = item
    return [
        *layers,
        AdaptiveAvgPool2d(7),
        Flatten(),
        Linear(512 * 7 * 7, 4096),
        ReLU(inplace=True),
        Dropout(0.5),
        Linear(4096, 4096),
        ReLU(inplace=True),
        Dropout(0.5),
        Linear(4096, num_classes),
    ]


def alexnet(num_classes: int = 1000) -> list[Layer]:
    """AlexNet in torchvision's layout (one tower, 64-192-384-256-256 channels) for 3x224x224 input."""
    return [
        Conv2d(3, 64, 11, stride=4, padding=2),
        ReLU(inplace=True),
        MaxPool2d(3, stride=2),
        Conv2d(64, 192, 5, padding=2),
        ReLU(inplace=True),
        MaxPool2d(3, stride=2),
        Conv2d(192, 384, 3, padding=1),
        ReLU(inplace=True),
        Conv2d(384, 256, 3, padding=1),
        ReLU(inplace=True),
        Conv2d(256, 256, 3, padding=1),
        ReLU(inplace=True),
        MaxPool2d(3, stride=2),
        AdaptiveAvgPool2d(6),
        Flatten(),
        Dropout(0.5),
        Linear(256 * 6 * 6, 4096),
        ReLU(inplace=True),
        Dropout(0.5),
        Linear(4096, 4096),
        ReLU(inplace=True),
        Linear(4096, num_classes),
    ]


class GraphBuilder:
    """Nodes appended one by one: `add(layer)` reads the last node, `add(layer, a, b)` reads a and b."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []

    @property
    def last(self) -> int:
        return len(self.nodes) - 1

    def add(self, layer: Layer, *inputs: int) -> int:
        self.nodes.append(Node(layer, inputs or (self.last,)))
        return self.last


def resnet18(num_classes: int = 1000) -> list[Node]:
    """ResNet-18 as torchvision builds it: a 7x7 stem, four stages of two basic blocks (3x3 conv, batch
    norm, ReLU, 3x3 conv, batch norm, add the shortcut, ReLU), a 1x1 projection where a stage halves the
    size, global average pooling and a Linear layer. 11,689,512 parameters."""
    g = GraphBuilder()
    for layer in (Conv2d(3, 64, 7, stride=2, padding=3, bias=False), BatchNorm2d(64), ReLU(inplace=True),
                  MaxPool2d(3, stride=2, padding=1)):  # fmt: skip
        g.add(layer, g.last)
    channels = 64
    for planes, stride in ((64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)):
        block_in = g.last
        g.add(Conv2d(channels, planes, 3, stride=stride, padding=1, bias=False))
        g.add(BatchNorm2d(planes))
        g.add(ReLU(inplace=True))
        g.add(Conv2d(planes, planes, 3, padding=1, bias=False))
        residual = g.add(BatchNorm2d(planes))
        shortcut = block_in
        if stride != 1 or channels != planes:
            g.add(Conv2d(channels, planes, 1, stride=stride, bias=False), block_in)
            shortcut = g.add(BatchNorm2d(planes))
        g.add(Add(), residual, shortcut)
        g.add(ReLU(inplace=True))
        channels = planes
    g.add(AdaptiveAvgPool2d(1))
    g.add(Flatten())
    g.add(Linear(512, num_classes))
    return g.nodes


def unet(in_channels: int = 1, classes: int = 2, base: int = 16, depth: int = 3) -> list[Node]:
    """A small U-Net (Ronneberger et al. 2015) with padded 3x3 convs: `depth` poolings down, as many 2x2
    transposed convs up, each concatenated with the encoder's map of the same size."""
    g = GraphBuilder()

    def double_conv(c_in: int, c_out: int, source: int) -> int:
        g.add(Conv2d(c_in, c_out, 3, padding=1), source)
        g.add(ReLU(inplace=True))
        g.add(Conv2d(c_out, c_out, 3, padding=1))
        return g.add(ReLU(inplace=True))

    skips = []
    out, c = double_conv(in_channels, base, INPUT), base
    for _ in range(depth):
        skips.append((out, c))
        g.add(MaxPool2d(2), out)
        out, c = double_conv(c, 2 * c, g.last), 2 * c
    for skip, skip_c in reversed(skips):
        up = g.add(ConvTranspose2d(c, skip_c, 2, stride=2), out)
        g.add(Concat(1), skip, up)
        out, c = double_conv(2 * skip_c, skip_c, g.last), skip_c
    g.add(Conv2d(c, classes, 1), out)
    return g.nodes


def _cifar_conv(widths: Sequence[int], strides: Sequence[int], flat: int) -> tuple[Layer, ...]:
    """Lecture 000's ConvNets: 3x3 convs with padding 1 and ReLU, then Linear(flat, 60), Linear(60, 10)."""
    layers: list[Layer] = []
    c = 3
    for width, stride in zip(widths, strides, strict=True):
        layers += [Conv2d(c, width, kernel_size=3, padding=1, stride=stride), ReLU()]
        c = width
    return (*layers, Flatten(), Linear(flat, 60), Linear(60, 10))


_L000 = "000: CS 462 Lecture 10, Convolutions"
_L001 = "001: DL4DS Convolutional Networks (Understanding Deep Learning, ch. 10)"
_L003 = "003: 165B Convolutional Neural Networks"
_L004 = "004: CNN lecture, kernels to classic architectures"

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "CIFAR-10 MLP",
            "The linear baseline: 3072 pixels through three hidden Linear layers; 1,645,950 parameters.",
            _L000,
            (3, 32, 32),
            (Flatten(), Linear(3072, 512), ReLU(), Linear(512, 120), ReLU(), Linear(120, 84), Linear(84, 10)),
            1_645_950,
        ),
        Preset(
            "ConvNet",
            "Three 3x3 stride-2 convs of 15 channels shrink 32x32 to 4x4: 100x fewer parameters than an MLP.",
            _L000,
            (3, 32, 32),
            _cifar_conv((15, 15, 15), (2, 2, 2), 240),
            19_570,
        ),
        Preset(
            "WideConvNet",
            "ConvNet with 15, 30, 60 channels: the first Linear now holds 960 x 60 weights.",
            _L000,
            (3, 32, 32),
            _cifar_conv((15, 30, 60), (2, 2, 2), 960),
            79_030,
        ),
        Preset(
            "DeepConvNet",
            "Five 3x3 convs alternating stride 1 and 2: deeper but about as small as ConvNet.",
            _L000,
            (3, 32, 32),
            _cifar_conv((15,) * 5, (1, 2, 1, 2, 2), 240),
            23_650,
        ),
        Preset(
            "Stacked 3-wide convs",
            "Three width-3 convolutions in a row: the receptive field grows 3, 5, 7.",
            _L000,
            (1, 16),
            (Conv1d(1, 1, 3), Conv1d(1, 1, 3), Conv1d(1, 1, 3)),
        ),
        Preset(
            "MNIST-1D ConvNet",
            "Three stride-2 Conv1d of 15 channels on 40 samples (lengths 19, 9, 4), then Linear(60, 10).",
            _L001,
            (1, 40),
            (
                Conv1d(1, 15, 3, stride=2),
                ReLU(),
                Conv1d(15, 15, 3, stride=2),
                ReLU(),
                Conv1d(15, 15, 3, stride=2),
                ReLU(),
                Flatten(),
                Linear(60, 10),
            ),
            2_050,
        ),
        Preset(
            "LeNet-5",
            "LeCun et al. 1998: 5x5 convs and 2x2 average pooling, feature maps 28, 14, 10, 5, 1.",
            _L003,
            (1, 32, 32),
            (
                Conv2d(1, 6, 5),
                Tanh(),
                AvgPool2d(2, stride=2),
                Conv2d(6, 16, 5),
                Tanh(),
                AvgPool2d(2, stride=2),
                Conv2d(16, 120, 5),
                Flatten(),
                Linear(120, 84),
                Tanh(),
                Linear(84, 10),
            ),
            61_706,
        ),
        Preset(
            "Classic CNN (lecture code)",
            "The [[Conv->ReLU]x2->Pool] template's code example: fc1 gets 16 x 2 x 2 = 64 features "
            "(four conv pairs, though its comment says M=2).",
            _L004,
            (3, 32, 32),
            tuple(lecture004_cnn()),
        ),
        Preset(
            "VGG-16",
            "Thirteen 3x3 convs in five blocks and three Linear layers: 138 million parameters.",
            _L004,
            (3, 224, 224),
            tuple(vgg16()),
            138_357_544,
        ),
        Preset(
            "VGG-19",
            "Sixteen 3x3 convs in five blocks and three Linear layers (configuration E): 144 million "
            "parameters.",
            _L004,
            (3, 224, 224),
            tuple(vgg(19)),
            143_667_240,
        ),
        Preset(
            "AlexNet",
            "Krizhevsky et al. 2012 as torchvision builds it: an 11x11 stride-4 conv, then 5x5 and 3x3 "
            "convs, three max pools and three Linear layers.",
            _L001,
            (3, 224, 224),
            tuple(alexnet()),
            61_100_840,
        ),
        Preset(
            "ResNet-18",
            "He et al. 2016: eight basic blocks whose shortcuts add the block's input back (1x1 "
            "projections where the size halves). The network lecture 004 trains.",
            _L004,
            (3, 224, 224),
            tuple(resnet18()),
            11_689_512,
        ),
        Preset(
            "U-Net (small)",
            "Ronneberger et al. 2015, small: three poolings down, three transposed convs up, each "
            "concatenated with the encoder's map of the same size (the skips).",
            _L001,
            (1, 64, 64),
            tuple(unet()),
        ),
        Preset(
            "ResNet-18 stem",
            "ResNet-18's first layers: 7x7 stride-2 conv, batch norm, ReLU, 3x3 stride-2 max pool (to 56x56)",
            _L004,
            (3, 224, 224),
            (
                Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
                BatchNorm2d(64),
                ReLU(inplace=True),
                MaxPool2d(3, stride=2, padding=1),
            ),
            9_536,
        ),
    )
}


def preset(name: str) -> Preset:
    """The preset called `name` (see PRESETS)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConvConfigError(f"no preset {name!r}; presets: {', '.join(PRESETS)}", "preset") from None
