from __future__ import annotations

import pytest

from airflow_batchml.redaction import redact


def test_sas_account_key_bearer_and_secret_fields_are_masked():
    text = (
        "GET https://a.blob.core.windows.net/c/b?sv=2021&sig=abcDEF%2B123&se=2026 failed; "
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFy==;"
        " Authorization: Bearer eyJhbGciOi.payload.sig {'client_secret': 'hunter2'} token=tok123"
    )
    masked = redact(text)
    for secret in ("abcDEF%2B123", "Zm9vYmFy==", "eyJhbGciOi.payload.sig", "hunter2", "tok123"):
        assert secret not in masked
    assert "AccountName=a" in masked


def test_the_emulator_masks_by_the_same_rules():
    """The emulator keeps its own copy (it installs without the provider); the copies must not drift."""
    from airflow_batchml import redaction
    from airflow_batchml_emulator import redaction as emulator_redaction

    assert emulator_redaction._PATTERNS == redaction._PATTERNS


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("bad token: token='abc123'", "bad token: token='***'"),
        ('password: password="hunter2"', 'password: password="***"'),
        ('{"token": "abc", "client_secret": "s3"}', '{"token": "***", "client_secret": "***"}'),
        ("access_token=abc then", "access_token=*** then"),
    ],
)
def test_secret_fields_are_masked_quoted_or_bare(text, masked):
    assert redact(text) == masked
