"""Errors raised by the execution layer, under :class:`CrystallizeError`."""

from __future__ import annotations

from crystallize.core.exceptions import CrystallizeError

__all__ = ["BackendError", "MissingExtraError", "SharedRandomStateError", "TooManyTimeoutsError"]


class BackendError(CrystallizeError):
    """A backend cannot run the experiment (the message says why and what to do)."""


class MissingExtraError(BackendError, ImportError):
    """A backend needs an optional package that is not installed.

    Attributes:
        backend: the backend's name (``"dask"`` or ``"ray"``).
        extra: the extra that installs it (``pip install "crystallize[<extra>]"``).
    """

    def __init__(self, backend: str, package: str, extra: str) -> None:
        self.backend = backend
        self.extra = extra
        super().__init__(
            f'backend="{backend}" needs {package}, which is not installed; '
            f'install it with: pip install "crystallize[{extra}]"'
        )


class SharedRandomStateError(BackendError):
    """A run on the threads backend drew from a process-wide random generator."""


class TooManyTimeoutsError(BackendError):
    """Runs kept timing out, none finishing in between: the experiment run was stopped.

    The records so far (timeouts included) are on ``exc.records`` and, as a partial
    result, on ``exc.result``; a store keeps them for ``resume=True``.

    Attributes:
        count: the timeouts in a row that stopped it.
        timeout: the ``timeout=`` in seconds.
    """

    def __init__(self, message: str, *, count: int, timeout: float) -> None:
        super().__init__(message)
        self.count = count
        self.timeout = timeout
