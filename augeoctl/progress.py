"""How library code reports progress without printing.

Library functions take a ``Reporter``; the CLI passes one that draws on stderr (a live
display on a terminal, plain lines otherwise), tests pass ``NullReporter`` or a
recording one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol


class Reporter(Protocol):
    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def status(self, message: str) -> None:
        """Replace the live status line of the current step (drawn only on a terminal)."""
        ...

    def step(self, name: str) -> AbstractContextManager[None]:
        """A named step; a terminal shows it with a spinner and elapsed time."""
        ...


class NullReporter:
    """Reports nothing; keeps the messages for inspection."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def info(self, message: str) -> None:
        self.messages.append(message)

    def warn(self, message: str) -> None:
        self.messages.append("warning: " + message)

    def status(self, message: str) -> None:
        pass

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.messages.append("step: " + name)
        yield
