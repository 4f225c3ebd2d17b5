"""Which operator arguments are still to be rendered when a DAG is parsed.

Arguments are checked at parse time where they can be, so a typo fails in the DAG processor rather than in a
run; a templated value (a Jinja string, or an upstream task's output) is checked once it is rendered.
"""

from __future__ import annotations

from typing import Any

#: A valid value of every name and path argument, standing in for one rendered later.
STAND_IN = "placeholder"


def unrendered(value: Any) -> bool:
    """A Jinja string, or a reference resolved at run time (``XComArg`` and the like)."""
    if isinstance(value, str):
        return "{{" in value
    return not isinstance(value, (int, float, bool, list, tuple, dict, type(None)))


def stand_in(value: Any) -> Any:
    """``value``, or :data:`STAND_IN` when it is rendered later."""
    return STAND_IN if unrendered(value) else value
