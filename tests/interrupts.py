"""Ctrl-C at the right moment: a real SIGINT to the main thread once a condition holds (such as
"the main thread is waiting in Job.wait"), never after a fixed delay that a loaded machine
could reach too early or too late."""
from __future__ import annotations

import signal
import sys
import threading
import time


def main_thread_in(*functions) -> bool:
    """Whether the main thread is running one of `functions` now (anywhere on its stack)."""
    codes = {function.__code__ for function in functions}
    frame = sys._current_frames().get(threading.main_thread().ident)
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def when(condition, action, deadline: float = 60.0) -> threading.Thread:
    """Run `action()` in a thread as soon as `condition()` holds (nothing if it never does
    within `deadline` seconds: the test then fails on what it expected)."""

    def watch():
        end = time.monotonic() + deadline
        while not condition():
            if time.monotonic() > end:
                return
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def interrupt_main_when(condition, deadline: float = 60.0) -> threading.Thread:
    """Ctrl-C (SIGINT to the main thread, as a terminal or a kernel sends it) once `condition()`
    holds."""
    main = threading.main_thread().ident
    return when(condition, lambda: signal.pthread_kill(main, signal.SIGINT), deadline)
