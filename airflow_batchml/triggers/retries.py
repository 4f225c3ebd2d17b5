"""How the change triggers live through errors: a transient one backs off, a permanent one is said once.

A watcher cannot fail: an ``AssetWatcher`` whose trigger ends watches nothing until the triggerer
restarts. So a transient error (throttling, 5xx, a dropped connection) is retried with exponential
backoff, logged on the first failure and every tenth; a permanent one (a missing container or queue, a
refused credential) is logged and reported as one error event, then re-checked every ``max_retry_delay``
until it is fixed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable


class ErrorPacing:
    """The failure state of one trigger loop: consecutive transient failures and the permanent error said."""

    def __init__(
        self, log: logging.Logger, action: str, where: Callable[[], str], retry_delay: float, max_retry_delay: float
    ) -> None:
        self.log, self.action, self.where = log, action, where
        self.retry_delay, self.max_retry_delay = retry_delay, max_retry_delay
        self.failures, self.reported = 0, None

    async def transient(self, err: Exception) -> None:
        """Wait before the next attempt: ``retry_delay`` doubled per failure in a row, at most ``max_retry_delay``."""
        self.failures += 1
        delay = min(self.max_retry_delay, self.retry_delay * 2 ** min(self.failures - 1, 16))
        if self.failures == 1 or self.failures % 10 == 0:
            self.log.warning(
                "%s %s failed (%d in a row), retrying in %.1fs: %s",
                self.action,
                self.where(),
                self.failures,
                delay,
                err,
            )
        await asyncio.sleep(delay)

    def permanent(self, err: Exception) -> bool:
        """Log a permanent error the first time it is seen; True when it is new (report it as an event)."""
        if str(err) == self.reported:
            return False
        self.reported = str(err)
        self.log.error(
            "%s %s failed, will re-check every %ss: %s", self.action, self.where(), self.max_retry_delay, err
        )
        return True

    async def recheck(self) -> None:
        await asyncio.sleep(self.max_retry_delay)

    def succeeded(self) -> None:
        """An attempt worked: say so if the previous ones had not, and start counting afresh."""
        if self.failures or self.reported:
            self.log.info("%s %s works again", self.action, self.where())
        self.failures, self.reported = 0, None
