from __future__ import annotations

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
