"""SIGINT / SIGTERM during a run: stop at once, leave no partial output, exit 130 / 143.

Why this is not just ``signal.signal(..., raise)``: HiGHS solves in C++ with the GIL released, and Pyomo
turns on highspy's user-interrupt callbacks, so the main thread runs Python code only inside those
callbacks. A Python exception raised there by a signal handler is swallowed by HiGHS as a solver error
(the run then reports "no solution (error)", exit 3); between callbacks (presolve, model loading) the
handler does not run at all until HiGHS returns.

So :func:`guard` installs two things for the duration of a command:

- a Python-level handler for SIGINT and SIGTERM. Outside the solver it raises
  :class:`~siting.core.errors.Interrupted` (the atomic output writer removes its temporary directory on the
  way out, :func:`siting.cli.main` prints one line and returns ``128 + signum``). Inside the solver or
  the model build (a frame of :func:`siting.solvers.pyomo.solve_pyomo`, of Pyomo or of highspy is on the stack;
  an exception there would be logged by Pyomo or swallowed by HiGHS) nothing of that solve is on disk
  yet, so it ends the process at once: it removes any temporary output
  directory still being written (:func:`siting.outputs.tables.live_temp_dirs`), prints the line on the
  original standard error (Pyomo redirects file descriptors 1 and 2 while it solves) and calls
  ``os._exit(128 + signum)``;
- a watchdog thread woken through :func:`signal.set_wakeup_fd` (the C-level handler writes the signal
  number there even while the main thread is inside C++). If the Python-level handler has not run within
  :data:`GRACE_S` seconds, the main thread is stuck in native code, and the watchdog ends the process the
  same way.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
from contextlib import contextmanager
from collections.abc import Iterator
from types import FrameType

from siting.core.errors import Interrupted

__all__ = ["guard", "GRACE_S"]

GRACE_S = 2.0  #: seconds the watchdog waits for the main thread to handle a signal itself
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_SOLVER_FILES = (os.sep + "highspy" + os.sep, os.sep + "pyomo" + os.sep)  # build or solve: nothing on disk


def _inside_solver(frame: FrameType | None) -> bool:
    while frame is not None:
        code = frame.f_code
        if code.co_name in ("solve_pyomo", "run_highs") or any(s in code.co_filename for s in _SOLVER_FILES):
            return True
        frame = frame.f_back
    return False


class _Guard:
    def __init__(self) -> None:
        self.handled = threading.Event()
        self.done = threading.Event()
        self.err_fd = os.dup(2)  # the terminal's stderr, even while Pyomo redirects fd 2
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.wfd, False)
        self.thread = threading.Thread(target=self._watch, name="siting-signal-watchdog", daemon=True)

    def hard_exit(self, signum: int) -> None:
        from siting.outputs.tables import live_temp_dirs

        for tmp in live_temp_dirs():
            shutil.rmtree(tmp, ignore_errors=True)
        name = signal.Signals(signum).name
        try:
            text = f"interrupted by {name} during a solve; no output of that solve was written\n"
            os.write(self.err_fd, text.encode())
        except OSError:
            pass
        os._exit(128 + signum)

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.handled.set()
        if _inside_solver(frame):
            self.hard_exit(signum)
        raise Interrupted(signum)

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self.rfd, 64)
            except OSError:
                return
            if self.done.is_set() or not data:
                return
            signums = [b for b in data if b in _SIGNALS]
            if not signums:
                continue
            if not self.handled.wait(GRACE_S) and not self.done.is_set():
                self.hard_exit(signums[0])

    def close(self) -> None:
        self.done.set()
        try:
            os.write(self.wfd, b"\0")
        except OSError:
            pass
        self.thread.join(timeout=1.0)
        for fd in (self.rfd, self.wfd, self.err_fd):
            try:
                os.close(fd)
            except OSError:
                pass


@contextmanager
def guard() -> Iterator[None]:
    """Install the SIGINT/SIGTERM handling described in the module docstring; restore the old one after.

    Does nothing outside the main thread (signal handlers can only be set there).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    g = _Guard()
    old = {s: signal.getsignal(s) for s in _SIGNALS}
    old_wakeup = signal.set_wakeup_fd(g.wfd, warn_on_full_buffer=False)
    for s in _SIGNALS:
        signal.signal(s, g.handler)
    g.thread.start()
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(old_wakeup)
        g.close()
        sys.stderr.flush()
