"""`with` for the local servers tests start: leaving the block closes the server.

A server names how it stops (`close`); subclassing this gives it `with` around that:

    with StandIn() as discord:
        ...  # closed here, whatever happened in the block
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class ClosesOnExit(ABC):
    @abstractmethod
    def close(self) -> None:
        """Stop serving and wait for the serving thread."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
