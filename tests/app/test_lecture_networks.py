"""The lectures' networks and counts, typed into the network builder as a person would: code pasted as the
slides print it (a model class, layer calls one per line), and the numbers the page then shows.

Each test names the lecture and slide. Where a slide's own figure does not follow from its setup, the test
asserts the value that does and says so (README, "The lectures' examples, typed in").
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.app.test_network_page import PAGE, assert_clean, import_text, metric, metric_help, summary_table

__all__ = ["PAGE"]


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    assert_clean(app)
    return app


def typed(at: AppTest, code: str, input_size: str | None = None) -> AppTest:
    """Type the input shape (when given), paste `code` into the import box and press Import."""
    if input_size is not None:
        at.text_input(key="nb_input").set_value(input_size).run()
    import_text(at, code)
    assert_clean(at)
    assert at.success and at.success[0].value.startswith("Imported"), [s.value for s in at.success]
    return at


def params(at: AppTest) -> int:
    return int(metric_help(at, "Parameters").replace(",", ""))


def shapes(at: AppTest) -> list[str]:
    return list(summary_table(at)["output shape"])


def layer_params(at: AppTest) -> list[int]:
    """The params column, layers without parameters left out."""
    return [int(v) for v in summary_table(at)["params"] if pd.notna(v) and int(v)]


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def lines(*calls: str) -> str:
    return "\n".join(calls)


# --------------------------------------------------------------------------------------------------
# Lecture 000 (CS 462): the CIFAR-10 MLP baseline, the 9-weight kernel against 784 weights
# --------------------------------------------------------------------------------------------------

MLP_LINES = lines(
    "nn.Flatten()",
    "nn.Linear(in_features=3072, out_features=512, bias=True)",
    "nn.ReLU()",
    "nn.Linear(in_features=512, out_features=120, bias=True)",
    "nn.ReLU()",
    "nn.Linear(in_features=120, out_features=84, bias=True)",
    "nn.Linear(in_features=84, out_features=10, bias=True)",
)


def test_000_mlp_baseline_typed_as_its_printed_layers_has_1645950_parameters(at: AppTest) -> None:
    """Lecture 000, "Baseline": the MLP printed as Flatten, Linear 3072 -> 512 -> 120 -> 84 -> 10."""
    typed(at, MLP_LINES, "3, 32, 32")
    assert metric_help(at, "Parameters") == "1,645,950"
    assert metric(at, "Output shape") == "(1, 10)"
    assert layer_params(at) == [1_573_376, 61_560, 10_164, 850]


@pytest.mark.parametrize(
    ("cls", "widths", "strides", "flat", "total"),
    [("ConvNet", (15, 15, 15), (2, 2, 2), 240, "19,570"),
     ("WideConvNet", (15, 30, 60), (2, 2, 2), 960, "79,030"),
     ("DeepConvNet", (15, 15, 15, 15, 15), (1, 2, 1, 2, 2), 240, "23,650")],
)  # fmt: skip
def test_000_cifar_convnets_typed_as_the_lectures_classes(
    at: AppTest, cls: str, widths: tuple[int, ...], strides: tuple[int, ...], flat: int, total: str
) -> None:
    """Lecture 000, "ConvNet", "Wider", "Deeper": the classes as the slides write them (kaiming init loop,
    a Softmax "decision"), 19,570 / 79,030 / 23,650 parameters, flattening to 240 or 960 (= 4*240)."""
    convs = ",\n            ".join(
        f"torch.nn.Conv2d(in_channels={a}, out_channels={b}, kernel_size=(3,3), padding=1, stride={s}),\n"
        "            nonlinearity()"
        for a, b, s in zip((3, *widths[:-1]), widths, strides, strict=True)
    )
    code = f'''class {cls}(torch.nn.Module):
    """A mostly faithful recreation of LeNet 5."""
    def __init__(self, nonlinearity = torch.nn.ReLU, classes=10):
        super({cls}, self).__init__()
        self.net = torch.nn.Sequential(
            # Basic ConvNet as in the 20xx years
            {convs},
            torch.nn.Flatten(),
            torch.nn.Linear({"4*240" if flat == 960 else "240"}, 60),
            torch.nn.Linear(60, classes),
        )
        self.decision = torch.nn.Softmax(dim=1)
    def forward(self, x):
        """Forward through the network."""
        y_hat = self.decision(self.net(x))
        return y_hat
'''
    typed(at, code, "3, 32, 32")
    assert metric_help(at, "Parameters") == total
    assert f"(1, {flat})" in shapes(at)
    assert f"(1, {widths[-1]}, 4, 4)" in shapes(at)
    # "The first linear layer has 960 x 60 = 57600 weights" (240 x 60 = 14400 when narrower), plus 60 biases.
    assert flat * 60 + 60 in layer_params(at)


def test_000_a_3x3_kernel_has_9_weights_and_87_fit_in_784(at: AppTest) -> None:
    """Lecture 000, "Weight Efficiency": a first-layer neuron on a 28x28 digit has 784 weights; a 3x3
    convolution 9, so 87 convolutions fit in the same count (783), and 88 do not (792)."""
    typed(at, lines("nn.Flatten()", "nn.Linear(784, 1, bias=False)"), "1, 28, 28")
    assert params(at) == 784
    typed(at, "nn.Conv2d(1, 87, 3, bias=False)", "1, 28, 28")
    assert params(at) == 783 and shapes(at) == ["(1, 87, 26, 26)"]  # 26x26 places on a 28x28 digit
    typed(at, "nn.Conv2d(1, 88, 3, bias=False)", "1, 28, 28")
    assert params(at) == 792 > 784


# --------------------------------------------------------------------------------------------------
# Lecture 001 (DL4DS): the 224x224 RGB fully connected layer, channels, MNIST-1D, AlexNet, VGG
# --------------------------------------------------------------------------------------------------


def test_001_one_hidden_layer_on_a_224x224_rgb_image_has_22_billion_weights(at: AppTest) -> None:
    """Lecture 001, "Networks for images": 224 x 224 x 3 = 150,528 inputs, and one hidden layer of that size
    has 150,528 x 150,528 weights, about 22.7 billion. (The slide writes 150,520 x 150,528: the first
    factor is the same 150,528.)"""
    typed(at, lines("nn.Flatten()", "nn.Linear(150528, 150528, bias=False)"), "3, 224, 224")
    assert shapes(at)[0] == "(1, 150528)"
    assert params(at) == 150_528 * 150_528 == 22_658_678_784


@pytest.mark.parametrize(("ci", "co", "k"), [(1, 2, 3), (2, 1, 3), (15, 15, 3)])
def test_001_channel_parameter_counts_ci_co_k_plus_co(at: AppTest, ci: int, co: int, k: int) -> None:
    """Lecture 001, "How many parameters?": C_i x C_o x K weights and C_o biases in 1D, K x K in 2D."""
    typed(at, f"nn.Conv1d({ci}, {co}, {k})", f"{ci}, 20")
    assert params(at) == ci * co * k + co == n_params(torch.nn.Conv1d(ci, co, k))
    typed(at, f"nn.Conv2d({ci}, {co}, {k})", f"{ci}, 20, 20")
    assert params(at) == ci * co * k * k + co == n_params(torch.nn.Conv2d(ci, co, k))


MNIST_1D = lines(
    "nn.Conv1d(1, 15, kernel_size=3, stride=2)",
    "nn.ReLU()",
    "nn.Conv1d(15, 15, kernel_size=3, stride=2)",
    "nn.ReLU()",
    "nn.Conv1d(15, 15, kernel_size=3, stride=2)",
    "nn.ReLU()",
    "nn.Flatten()",
    "nn.Linear(60, 10)",
)


def test_001_mnist_1d_convnet_typed_layer_by_layer_has_2050_parameters(at: AppTest) -> None:
    """Lecture 001, "Convolutional network" (MNIST-1D): the torchinfo table's shapes [15, 19], [15, 9],
    [15, 4], [60], [10] and parameters 60, 690, 690, 610 = 2,050."""
    typed(at, MNIST_1D, "1, 40")
    assert metric_help(at, "Parameters") == "2,050"
    assert layer_params(at) == [60, 690, 690, 610]
    assert [s for s in shapes(at)][::2][:3] == ["(1, 15, 19)", "(1, 15, 9)", "(1, 15, 4)"]
    assert shapes(at)[-2:] == ["(1, 60)", "(1, 10)"]
    # torchinfo's "Total mult-adds 1.07 M" is for a batch of 100 and counts each bias add too.
    at.number_input(key="nb_batch").set_value(100).run()
    assert metric_help(at, "MACs (batch of 100)") == "1,023,000"


ALEXNET = """nn.Sequential(
    nn.Conv2d(3, 96, kernel_size=11, stride=4),
    nn.ReLU(),
    nn.MaxPool2d(kernel_size=3, stride=2),
    nn.Conv2d(96, 256, kernel_size=5, padding=2),
    nn.ReLU(),
    nn.MaxPool2d(kernel_size=3, stride=2),
    nn.Conv2d(256, 384, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.Conv2d(384, 384, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.Conv2d(384, 256, kernel_size=3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(kernel_size=3, stride=2),
    nn.Flatten(),
    nn.Linear(256 * 6 * 6, 4096),
    nn.ReLU(),
    nn.Linear(4096, 4096),
    nn.ReLU(),
    nn.Linear(4096, 1000),
)"""


def test_001_alexnet_as_the_paper_draws_it_neuron_counts_and_parameters(at: AppTest) -> None:
    """Lecture 001, "AlexNet (2012)" (the paper's Figure 2 caption): 150,528 inputs, then layers of
    253,440 - 186,624 - 64,896 - 64,896 - 43,264 - 4096 - 4096 - 1000 neurons; lecture 004: "60M parameters".

    Typed with both towers' channels together (96, 256, 384, 384, 256) on a 227 x 227 input: the first
    convolution gives 96 x 55 x 55 = 290,400, not the caption's 253,440; every later count matches. The
    total is 62,378,344 (torchvision's variant with 64 and 192 channels has 61,100,840), "about 60 M"."""
    typed(at, ALEXNET, "3, 227, 227")
    convs = [s for s, layer in zip(shapes(at), summary_table(at)["layer"], strict=True) if "Conv" in layer]
    assert convs == ["(1, 96, 55, 55)", "(1, 256, 27, 27)", "(1, 384, 13, 13)", "(1, 384, 13, 13)",
                     "(1, 256, 13, 13)"]  # fmt: skip
    assert [96 * 55 * 55, 256 * 27 * 27, 384 * 13 * 13, 256 * 13 * 13] == [290_400, 186_624, 64_896, 43_264]
    assert shapes(at)[-5:] == ["(1, 4096)", "(1, 4096)", "(1, 4096)", "(1, 4096)", "(1, 1000)"]
    assert metric_help(at, "Parameters") == "62,378,344"
    assert 60e6 <= params(at) < 63e6


def vgg(config: list[int | str]) -> str:
    """VGG as the paper's table: 3x3 convolutions with padding 1, 'M' a 2x2 max pooling, then 3 FC layers."""
    out, cin = [], 3
    for v in config:
        if v == "M":
            out.append("nn.MaxPool2d(kernel_size=2, stride=2)")
        else:
            out += [f"nn.Conv2d({cin}, {v}, kernel_size=3, padding=1)", "nn.ReLU()"]
            cin = v
    out += ["nn.Flatten()", "nn.Linear(512 * 7 * 7, 4096)", "nn.ReLU()", "nn.Linear(4096, 4096)", "nn.ReLU()",
            "nn.Linear(4096, 1000)"]  # fmt: skip
    return lines(*out)


VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
VGG19 = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512,
         "M"]  # fmt: skip


@pytest.mark.parametrize(
    ("config", "total", "weighted"),
    [(VGG16, "138,357,544", 16), (VGG19, "143,667,240", 19)],
    ids=["vgg16-lecture004-138M", "vgg19-lecture001-144M"],
)
def test_vgg_typed_layer_by_layer(at: AppTest, config: list, total: str, weighted: int) -> None:
    """Lecture 001, "VGG (2015)": 19 layers with weights, "144 million parameters" (143,667,240);
    lecture 004: VGG-16, "138M parameters" (138,357,544)."""
    typed(at, vgg(config), "3, 224, 224")
    assert metric_help(at, "Parameters") == total
    assert len(layer_params(at)) == weighted
    assert "(1, 512, 7, 7)" in shapes(at)


# --------------------------------------------------------------------------------------------------
# Lecture 003 (165B): padding and stride by layer count, FLOPs, 1x1 convolution, LeNet-5
# --------------------------------------------------------------------------------------------------


def test_003_32x32_with_5x5_kernels_gives_28_then_4_after_7_layers(at: AppTest) -> None:
    """Lecture 003, "Padding": a 5 x 5 kernel takes 32 x 32 to 28 x 28, and 7 layers to 4 x 4."""
    typed(at, lines(*["nn.Conv2d(1, 1, 5)"] * 7), "1, 32, 32")
    assert shapes(at) == [f"(1, 1, {n}, {n})" for n in (28, 24, 20, 16, 12, 8, 4)]


@pytest.mark.parametrize(("layers", "side"), [(44, 48), (55, 4)])
def test_003_224_input_needs_55_layers_of_5x5_to_reach_4x4(at: AppTest, layers: int, side: int) -> None:
    """Lecture 003, "Stride": "a 224 x 224 input with a 5 x 5 kernel needs 44 layers to reduce the shape to
    4 x 4". Each layer removes 4 rows, so 44 layers leave 48 x 48 and 55 layers reach 4 x 4."""
    typed(at, lines(*["nn.Conv2d(1, 1, kernel_size=5)"] * layers), "1, 224, 224")
    assert metric(at, "Output shape") == f"(1, 1, {side}, {side})"


def test_003_flop_count_of_100_to_100_channels_5x5_on_64x64_is_about_one_giga(at: AppTest) -> None:
    """Lecture 003, "2-D Convolution Layer Summary": c_i = c_o = 100, k = 5, m = 64: O(c_i c_o k^2 m^2)
    = 1,024,000,000 multiply-accumulates, "1 GFLOP"."""
    typed(at, "nn.Conv2d(100, 100, kernel_size=5, padding=2, bias=False)", "100, 64, 64")
    assert metric(at, "Output shape") == "(1, 100, 64, 64)"
    assert metric_help(at, "MACs (batch of 1)") == "1,024,000,000"


def test_003_1x1_convolution_has_the_weights_of_a_dense_layer_per_pixel(at: AppTest) -> None:
    """Lecture 003, "1 x 1 Convolutional Layer": c_o x c_i weights, the same at every pixel."""
    typed(at, "nn.Conv2d(3, 2, kernel_size=1, bias=False)", "3, 4, 5")
    assert params(at) == 2 * 3 and shapes(at) == ["(1, 2, 4, 5)"]
    assert metric_help(at, "MACs (batch of 1)") == f"{2 * 3 * 4 * 5:,}"


LENET = """class LeNet(nn.Module):

    def __init__(self):
        super(LeNet, self).__init__()
        self.model = nn.Sequential(
            nn.Conv2d(in_channels = 1, out_channels = 6, kernel_size = 5, stride = 1,
padding = 0),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size = 2, stride = 2),
            nn.Conv2d(in_channels = 6, out_channels = 16, kernel_size = 5, stride = 1,
padding = 0),
            nn.Tanh(),
            nn.AvgPool2d(kernel_size = 2, stride = 2),
            nn.Conv2d(in_channels = 16, out_channels = 120, kernel_size = 5, stride =
1, padding = 0),
            nn.Flatten(),
            nn.Linear(120, 84),
            nn.Tanh(),
            nn.Linear(84, 10))

    def forward(self, x):
        y = self.model(x)
        return y
"""


def test_003_lenet5_pasted_as_printed_gives_the_tables_feature_maps(at: AppTest) -> None:
    """Lecture 003, "LeNet-5" and "LeNet in Pytorch" (line breaks as on the slide): 32x32x1 -> 28x28x6 ->
    14x14x6 -> 10x10x16 -> 5x5x16 -> 120 -> 84 -> 10, and 61,706 parameters."""
    typed(at, LENET, "1, 32, 32")
    assert shapes(at) == ["(1, 6, 28, 28)", "(1, 6, 28, 28)", "(1, 6, 14, 14)", "(1, 16, 10, 10)",
                          "(1, 16, 10, 10)", "(1, 16, 5, 5)", "(1, 120, 1, 1)", "(1, 120)", "(1, 84)",
                          "(1, 84)", "(1, 10)"]  # fmt: skip
    assert metric_help(at, "Parameters") == "61,706"
    assert layer_params(at) == [156, 2_416, 48_120, 10_164, 850]


# --------------------------------------------------------------------------------------------------
# Lecture 004: a dense layer on a 4x4 input, the classic template, ResNet-18
# --------------------------------------------------------------------------------------------------


def test_004_dense_layer_from_a_4x4_input_to_4_outputs_has_64_weights(at: AppTest) -> None:
    """Lecture 004, "No Parameter Sharing": 16 inputs to 4 outputs, 16 x 4 = 64 parameters; the shared
    3 x 3 kernel that gives the same four outputs has 9."""
    typed(at, lines("nn.Flatten()", "nn.Linear(16, 4, bias=False)"), "1, 4, 4")
    assert params(at) == 64
    typed(at, "nn.Conv2d(1, 1, 3, bias=False)", "1, 4, 4")
    assert params(at) == 9 and shapes(at) == ["(1, 1, 2, 2)"]


@pytest.mark.parametrize(
    ("call", "shape"),
    [("nn.Conv2d(1, 1, 3)", "(1, 1, 10, 10)"), ("nn.Conv2d(1, 1, 3, stride=2)", "(1, 1, 5, 5)"),
     ("nn.Conv2d(1, 1, 3, dilation=3)", "(1, 1, 6, 6)")],
)  # fmt: skip
def test_004_12x12_input_kernel_stride_dilation(at: AppTest, call: str, shape: str) -> None:
    """Lecture 004, "Kernel Size", "Stride", "Dilation": 12 x 12 with a 3 x 3 kernel gives 10 x 10, with
    stride 2 5 x 5, with dilation 3 6 x 6."""
    typed(at, call, "1, 12, 12")
    assert metric(at, "Output shape") == shape


def test_004_classic_cnn_class_pasted_as_written_flattens_to_64(at: AppTest) -> None:
    """Lecture 004, "The Classic (Old) CNN" (N = M = K = 2, the class and forward as on the slides):
    conv8 leaves 16 x 2 x 2 = 64 features for fc1, as its comment says."""
    from pathlib import Path

    code = (Path(__file__).resolve().parents[1] / "network" / "code" / "lecture004_cnn.txt").read_text()
    typed(at, code, "3, 32, 32")
    assert "(1, 16, 2, 2)" in shapes(at) and "(1, 64)" in shapes(at)
    assert metric_help(at, "Parameters") == "783,114"
    assert metric(at, "Output shape") == "(1, 10)"


def fields(at: AppTest) -> list[str]:
    """The receptive-field table's r column, one row per windowed layer."""
    table = next(d for d in at.dataframe if "jump" in d.value.columns).value
    return list(table["r"])


def test_000_stacked_width_3_convolutions_see_5_then_7_inputs(at: AppTest) -> None:
    """Lecture 000, "Receptive Fields": f1..f3 each see 3 inputs, a second width-3 convolution over
    [f1, f2, f3] sees x1..x5 (receptive field 5); a third, 7 (lecture 001: "influence compounds")."""
    typed(at, lines(*["nn.Conv1d(1, 1, kernel_size=3)"] * 3), "1, 9")
    assert fields(at) == ["1", "3", "5", "7"]  # the input row first: one cell sees itself
    assert shapes(at) == ["(1, 1, 7)", "(1, 1, 5)", "(1, 1, 3)"]
