class WideConvNet(torch.nn.Module):
    """A mostly faithful recreation of LeNet 5."""
    def __init__(self, nonlinearity = torch.nn.ReLU, classes=10):
        super(WideConvNet, self).__init__()
        self.net = torch.nn.Sequential(
            # Basic ConvNet as in the 20xx years
            torch.nn.Conv2d(in_channels=3, out_channels=15, kernel_size=(3,3), padding=1, stride=2),
            nonlinearity(),
            torch.nn.Conv2d(in_channels=15, out_channels=30, kernel_size=(3,3), padding=1, stride=2),
            nonlinearity(),
            torch.nn.Conv2d(in_channels=30, out_channels=60, kernel_size=(3,3), padding=1, stride=2),
            nonlinearity(),
            torch.nn.Flatten(),
            torch.nn.Linear(4*240, 60),
            torch.nn.Linear(60, classes),
        )
        self.decision = torch.nn.Softmax(dim=1)
        for layer in [0, 2, 4, 7]:
            torch.nn.init.kaiming_normal_(self.net[layer].weight.data, nonlinearity="relu")

    def forward(self, x):
        """Forward through the network."""
        y_hat = self.decision(self.net(x))
        return y_hat
