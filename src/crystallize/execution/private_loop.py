"""An asyncio event loop of a backend's own, run from synchronous code."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["PrivateLoop"]

T = TypeVar("T")


class PrivateLoop:
    """An event loop that runs in the calling thread whenever it waits for a
    result, so that no other thread takes part in sending and receiving.

    Where the calling thread already runs an event loop (a notebook), a
    private loop cannot run there: it then runs in a thread of its own.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._thread = threading.Thread(target=self._loop.run_forever, name="crystallize-loop", daemon=True)
        self._thread.start()

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Start ``coroutine``; it runs the next time the loop does."""
        if self._thread is None:
            self._loop.create_task(coroutine)
        else:
            self._loop.call_soon_threadsafe(self._loop.create_task, coroutine)

    def call(self, function: Callable[[], Any]) -> None:
        """Call ``function`` in the loop's thread (now, if that is this one)."""
        if self._thread is None:
            function()
        else:
            self._loop.call_soon_threadsafe(function)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run the loop until ``coroutine`` is done; its result."""
        if self._thread is None:
            return self._loop.run_until_complete(coroutine)
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        """Cancel what still runs (connection readers) and close the loop."""

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(cancel_all())
        if self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()
