"""The one error type cnnviz raises for a configuration that cannot work."""

from __future__ import annotations

__all__ = ["ConvConfigError"]


class ConvConfigError(ValueError):
    """An impossible convolution, pooling or layer configuration.

    The message is meant for a person: it names the argument at fault and says how to fix it.
    `argument` holds that argument's name so a page can highlight the control.
    """

    def __init__(self, message: str, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument
