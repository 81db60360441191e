"""SIGINT / SIGTERM while a link role runs: stop, keep what was received, say so."""

from __future__ import annotations

import signal
import threading

#: Exit status of a process stopped by each signal (128 + its number, as shells report it).
EXIT_STATUS = {"SIGINT": 128 + signal.SIGINT, "SIGTERM": 128 + signal.SIGTERM}


class Interrupt:
    """Context manager that turns SIGINT and SIGTERM into a flag the role's loop polls.

    Output
    ------
    :attr:`signal`: ``"SIGINT"`` or ``"SIGTERM"`` once one arrived (None before). The previous
    handlers come back on exit. Outside the main thread (where Python cannot install handlers)
    it does nothing, and :attr:`signal` stays None.
    """

    def __init__(self) -> None:
        self.signal: str | None = None
        self._old: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        self.signal = signal.Signals(signum).name

    def __enter__(self) -> "Interrupt":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


class Interrupted(Exception):
    """A role stopped by SIGINT / SIGTERM after keeping what it had.

    Parameters
    ----------
    signal_name : str
        ``SIGINT`` or ``SIGTERM``.
    line : str
        What the command has to say (its summary line).
    """

    def __init__(self, signal_name: str, line: str) -> None:
        super().__init__(line)
        self.signal = signal_name

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS[self.signal]
