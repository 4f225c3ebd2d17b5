"""Translate azure-core and azure-ai-ml errors into the plugin's exception types.

Every hook operation runs inside :func:`remote_errors`, so callers see one family of errors that names
the action and never carries a credential (the messages pass through ``redact``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from airflow_batchml.exceptions import AzureMLNotFoundError, AzureMLRemoteError


@contextlib.contextmanager
def remote_errors(action: str) -> Iterator[None]:
    """Re-raise SDK errors as AzureMLNotFoundError / AzureMLRemoteError naming ``action``."""
    from azure.ai.ml.exceptions import MlException
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        yield
    except ResourceNotFoundError as err:
        raise AzureMLNotFoundError(f"{action}: not found ({first_line(err)})") from err
    except (AzureError, MlException) as err:
        raise AzureMLRemoteError(f"{action} failed: {first_line(err)}") from err


def first_line(err: Exception) -> str:
    """The first non-empty line of an SDK error (the rest repeats it with code and details)."""
    text = str(getattr(err, "message", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__
