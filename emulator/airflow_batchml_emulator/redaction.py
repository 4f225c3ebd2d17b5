"""Strip credentials out of what the emulator stores: requests, job errors and logs.

The provider masks its own texts with the same rules (``airflow_batchml.redaction``); this distribution keeps
a copy rather than depend on the provider, so that the emulator installs without Airflow.
"""

from __future__ import annotations

import re

_SECRET_KEYS = r"(?:client_secret|password|token|access_token)"
_PATTERNS = (
    (re.compile(r"(?i)\b(sig|se|skoid|sktid|skt|ske|sks|skv|sv)=([^&\s\"']+)"), r"\1=***"),
    (re.compile(r"(?i)(AccountKey|SharedAccessSignature|SharedAccessKey)=([^;\s\"']+)"), r"\1=***"),
    (re.compile(r"(?i)(Bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    # A secret field's value, quoted (kept quoted) or bare; a bare value that is itself the next secret key is
    # left to that key's own match, so "token: token='x'" loses the x.
    (
        re.compile(
            rf"(?i)([\"']?{_SECRET_KEYS}[\"']?\s*[:=]\s*)"
            rf"(?:([\"'])(?:(?!\2).)*\2|(?![\"']?{_SECRET_KEYS}[\"']?\s*[:=])[^\"'\s,}}]+)"
        ),
        r"\1\2***\2",
    ),
)


def redact(text: str) -> str:
    """Return ``text`` with SAS signatures, account keys, bearer tokens and secret fields masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
