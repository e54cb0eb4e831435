"""Errors that the command line turns into one-line messages and exit code 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a file, key or value that is not what was expected.

    The message must name the offending file, key or value and say what is allowed,
    because the command line prints it alone on one line.
    """


class WorkerDied(RuntimeError):
    """A worker process ended without a result (killed, out of memory): the run stops with one line and exit code 1,
    and resumes from the cache when rerun."""


EXIT_INPUT_ERROR = 2
