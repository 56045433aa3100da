"""cnnviz.summary of any nn.Module against torchinfo's own published test outputs.

Each model below is rebuilt from the layers and shapes printed in one of torchinfo's test output files
(tests/test_output/*.out in its repository); the totals asserted are the ones printed there: parameters
(trainable and not), mult-adds, forward/backward pass size and parameter size. The models are traced on
the meta device, so building a ResNet-152 here allocates nothing but its parameters.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

import cnnviz
from cnnviz.errors import ConvConfigError
from cnnviz.network import Add, Concat, ReLU, Softmax, summarize
from cnnviz.network.module_summary import ModelSummary
from tests.network.test_code_import import run_file


class SingleInputNet(nn.Module):  # single_input.out
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(0.3)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


class Bottleneck(nn.Module):
    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def bottleneck_resnet(blocks: tuple[int, int, int, int]) -> nn.Module:
    """ResNet-50/101/152 in torchvision's layout (the stride on the 3x3 conv)."""
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, 2, 1)]  # fmt: skip
    inplanes = 64
    for planes, count, stride in zip((64, 128, 256, 512), blocks, (1, 2, 2, 2), strict=True):
        down = nn.Sequential(
            nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)
        )
        stage = [Bottleneck(inplanes, planes, stride, down)] + [
            Bottleneck(planes * 4, planes) for _ in range(count - 1)
        ]
        layers.append(nn.Sequential(*stage))
        inplanes = planes * 4
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))


class ConvLayerA(nn.Module):  # cnn_module_list.out
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, 1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool1d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.conv(x)))


class CNNModuleList(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([ConvLayerA() for _ in range(5)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class ContainerChild(nn.Module):  # container.out: a Sequential called twice, and iterated once
    def __init__(self) -> None:
        super().__init__()
        self.sequential = nn.Sequential(nn.Linear(5, 5), nn.Linear(5, 5))
        self.linear = nn.Linear(5, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(self.sequential(x))
        for layer in self.sequential:
            out = layer(out)
        return self.sequential(self.sequential(out))


class Container(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(5, 5), ContainerChild(), nn.Linear(5, 5)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class Siamese(nn.Module):  # siamese_net.out: one tower run on two inputs
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 64, 10), nn.Conv2d(64, 128, 7)
        self.conv3, self.conv4 = nn.Conv2d(128, 128, 4), nn.Conv2d(128, 256, 4)
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.dropout, self.out = nn.Linear(256, 4096), nn.Dropout(0.5), nn.Linear(4096, 1)

    def tower(self, x: torch.Tensor) -> torch.Tensor:
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = self.pool(F.relu(conv(x)))
        return x.flatten(1)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        a, b = self.fc1(self.tower(x1)), self.fc1(self.tower(x2))
        return self.out(self.dropout(torch.abs(a - b)))


class LSTMNet(nn.Module):  # lstm.out
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 300)
        self.encoder = nn.LSTM(300, 512, num_layers=2, batch_first=True)
        self.decoder = nn.Linear(512, 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.encoder(self.embedding(x))
        return self.decoder(out).view(-1, 20)


class MixedTrainable(nn.Module):  # mixed_trainable_parameters.out
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(10))
        self.b = nn.Parameter(torch.empty(10), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w * x + self.b


def frozen_resnet18() -> nn.Module:  # frozen_layers.out: conv1, bn1, layer1 and layer2 frozen
    model = run_file("resnet18.py")
    for part in (model.conv1, model.bn1, model.layer1, model.layer2):
        for p in part.parameters():
            p.requires_grad_(False)
    return model


# (model, summary arguments, total, trainable, mult-adds, forward/backward bytes or None, params bytes)
TORCHINFO = {
    "single_input": (SingleInputNet, {"input_size": (2, 1, 28, 28)}, 21_840, 21_840, 975_200, 113_600, 87_360),
    "frozen_layers": (frozen_resnet18, {"input_size": (1, 3, 64, 64)}, 11_689_512, 11_006_440, 148_568_424,
                      None, 46_758_048),
    "cnn_module_list": (CNNModuleList, {"input_size": (1, 1, 10)}, 10, 10, 100, 400, 40),
    "container": (Container, {"input_size": (1, 5)}, 150, 150, 330, 440, 600),
    "siamese_net": (Siamese, {"input_size": [(1, 1, 88, 88), (1, 1, 88, 88)]}, 2_251_585, 2_251_585, None, None,
                    9_006_340),
    "lstm": (LSTMNet, {"input_data": torch.zeros(1, 100, dtype=torch.long)}, 3_784_580, 3_784_580, 377_864_000,
             665_600, 15_138_320),
    "groups": (lambda: nn.Conv2d(16, 32, 3, groups=4), {"input_size": (7, 16, 28, 28)}, 1_184, 1_184, 5_602_688,
               None, 4_736),
    "linear": (lambda: nn.Linear(8, 64), {"input_size": (32, 16, 8)}, 576, 576, 294_912, 262_144, 2_304),
    "mixed_trainable_parameters": (MixedTrainable, {"input_size": (10,)}, 20, 10, 0, None, 80),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(TORCHINFO))
def test_totals_equal_torchinfos_published_outputs(name: str) -> None:
    build, kwargs, total, trainable, adds, passes, param_bytes = TORCHINFO[name]
    model = build()
    result = cnnviz.summary(model, **kwargs)
    assert isinstance(result, ModelSummary)
    assert result.total_params == total == sum(p.numel() for p in model.parameters())
    assert result.trainable_params == trainable
    assert result.non_trainable_params == total - trainable
    if adds is not None:
        assert result.total_mult_adds == adds
    if passes is not None:
        assert result.forward_backward_bytes == passes
    assert result.params_bytes == param_bytes


def test_siamese_counts_each_call_and_its_weights_once() -> None:
    result = cnnviz.summary(Siamese(), [(1, 1, 88, 88), (1, 1, 88, 88)])
    assert abs(result.total_mult_adds / 1e9 - 1.06) < 0.005  # torchinfo prints "Total mult-adds (G): 1.06"
    convs = [r for r in result.modules if r.kind == "Conv2d"]
    assert len(convs) == 8 and sum(r.recursive for r in convs) == 4


@pytest.mark.slow
@pytest.mark.parametrize(("blocks", "size", "total", "adds_g"),
                         [((3, 4, 6, 3), (2, 3, 224, 224), 25_557_032, 8.18),
                          ((3, 8, 36, 3), (1, 3, 224, 224), 60_192_808, 11.51)])  # fmt: skip
def test_resnet_50_and_152_as_torchinfo_prints_them(blocks, size, total, adds_g) -> None:
    model = bottleneck_resnet(blocks)
    result = cnnviz.summary(model, size)
    assert result.total_params == total
    assert abs(result.total_mult_adds / 1e9 - adds_g) < 0.005
    assert result.network is not None and summarize(result.network).ok


def test_resnet18_at_224_has_1_81_g_mult_adds_and_a_graph() -> None:
    result = cnnviz.summary(run_file("resnet18.py"), (3, 224, 224))  # one sample: no batch axis given
    assert result.batch_size == 1 and result.output_shape == (1, 1000)
    assert result.total_params == 11_689_512 and round(result.total_mult_adds / 1e9, 2) == 1.81
    network = result.network
    assert network is not None and sum(isinstance(layer, Add) for layer in network.layers) == 8
    assert [r.output_shape for r in result.rows][-1] == (1, 1000)


def test_functional_forwards_residual_and_concatenating_skips_become_graphs() -> None:
    result = cnnviz.summary(SingleInputNet(), (1, 28, 28))
    kinds = [layer.kind for layer in result.network.layers]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "Dropout2d", "MaxPool2d", "ReLU", "Flatten",
                     "Linear", "ReLU", "Linear", "LogSoftmax"]  # fmt: skip
    unet = cnnviz.summary(run_file("unet.py", "UNet"), (1, 1, 32, 32))
    assert sum(isinstance(layer, Concat) for layer in unet.network.layers) == 2
    convnet = cnnviz.summary(run_file("lecture000_convnet.py", "ConvNet"), (1, 3, 32, 32))
    assert convnet.total_params == 19_570 and convnet.network.layers[-1] == Softmax(dim=1)
    assert convnet.network.layers.count(ReLU()) == 3


def test_what_has_no_spec_still_gets_torchinfos_table() -> None:
    result = cnnviz.summary(LSTMNet(), input_data=torch.zeros(1, 100, dtype=torch.long))
    assert result.network is None and "Embedding" in result.note
    text = str(result)
    assert "├─LSTM: 1-2" in text and "Total params: 3,784,580" in text and "No network graph" in text


def test_depth_and_columns_as_torchinfo() -> None:
    model = run_file("resnet18.py")
    shallow = str(cnnviz.summary(model, (1, 3, 64, 64), depth=1, col_names=("output_size", "num_params",
                                                                            "mult_adds")))  # fmt: skip
    assert "BasicBlock" not in shallow and "Mult-Adds" in shallow and "├─Sequential: 1-5" in shallow
    assert "147,968" in shallow  # layer1's parameters, shown whole at the depth limit
    with pytest.raises(ConvConfigError, match="col_names|column"):
        cnnviz.summary(model, (1, 3, 64, 64), col_names=("colour",))


def test_input_size_with_or_without_the_batch_axis() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 30 * 30, 2))
    assert cnnviz.summary(model, (3, 32, 32)).output_shape == (1, 2)
    assert cnnviz.summary(model, (5, 3, 32, 32)).output_shape == (5, 2)
    assert cnnviz.summary(model, (3, 32, 32), batch_size=4).output_shape == (4, 2)
    assert cnnviz.summary(model, input_data=torch.zeros(2, 3, 32, 32)).output_shape == (2, 2)
    flat = nn.Sequential(nn.Linear(784, 10))
    assert cnnviz.summary(flat, (784,)).output_shape == (1, 10)
    assert cnnviz.summary(flat, (8, 784)).output_shape == (8, 10)


def test_the_model_is_left_as_it_was() -> None:
    model = run_file("resnet18.py")
    before = model.conv1.weight.clone()
    cnnviz.summary(model, (1, 3, 32, 32))
    assert model.conv1.weight.device.type == "cpu" and torch.equal(model.conv1.weight, before)
    assert model.training and not model.conv1._forward_hooks


@pytest.mark.parametrize("model", [object(), "x", 3, None])
def test_summary_of_what_is_not_a_model_is_a_message(model) -> None:
    with pytest.raises(ConvConfigError, match="summary takes"):
        cnnviz.summary(model, (3, 32, 32))


def test_summary_of_a_preset_says_to_pass_its_network() -> None:
    with pytest.raises(ConvConfigError, match="preset"):
        cnnviz.summary(cnnviz.preset("ConvNet"), (3, 32, 32))
    assert cnnviz.summary(cnnviz.preset("ConvNet").network).total_params == 19_570


def test_a_model_that_fails_says_why() -> None:
    with pytest.raises(ConvConfigError, match="fails on an input"):
        cnnviz.summary(nn.Linear(5, 2), (3, 4))
