"""An admin in a real browser: add an ``azure_ml`` connection through the UI's form (the fields the provider
declares), press the row's Test button and read the toast; then put a wrong token in through the edit form
and see a clear failure. The api-server runs ``AzureMLHook.test_connection()`` itself (``POST
/api/v2/connections/test``), so it reaches the emulator with nothing but the connection's ``ca_bundle``.
Screenshots of both toasts go to ``artifacts/e2e/``."""

from __future__ import annotations

import secrets
from urllib.parse import urlparse

import pytest

from tests.e2e.airflow_cluster import PASSWORD, USERNAME
from tests.support.browser import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
CONN_ID = "azure_ml_form"
FORM_FIELDS = ("subscription_id", "resource_group", "workspace_name", "token", "resource_manager_url", "ca_bundle")
TOAST = "[data-scope=toast][data-part=root]"
# Airflow 3.3.2's Test button sends ``port: Number(null)``, i.e. 0, for a connection without a port, and its
# API then refuses the test as aimed at another endpoint (apache/airflow#73298, fixed upstream after 3.3.2).
PORTLESS_REFUSAL = "The host or port to test differs from the stored connection."
# The api-server imports azure-ai-ml on its first test (13 s seen on a busy 2-core machine).
TEST_ANSWER_MS = 90_000


def test_the_test_button_passes_then_fails_on_a_wrong_token_showing_no_secret(page, airflow, api, stack):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    extra = stack.emulator.connection["extra"]
    wrong = f"wrong-{secrets.token_urlsafe(24)}"
    page.goto(f"{airflow.url}/connections")
    page.fill("input[name=username]", USERNAME)  # the simple auth manager's login page
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    try:
        add_connection(page, {name: extra[name] for name in FORM_FIELDS})
        passed = press_test(page, api)
        toast = page.locator(TOAST).filter(has_text=passed["message"])
        toast.screenshot(path=str(ARTIFACTS / "connection-test-passed.png"))

        assert passed == {
            "status": True,
            "message": f"Connected: workspace local-ws (eastus) in resource group local-rg, read at "
            f"{stack.emulator.url} with the static_token credential.",
        }
        assert toast.inner_text().startswith("Test Connection Successful")

        edit_token(page, wrong)
        failed = press_test(page, api)
        toast = page.locator(TOAST).filter(has_text=failed["message"])
        toast.screenshot(path=str(ARTIFACTS / "connection-test-failed.png"))

        assert failed == {
            "status": False,
            "message": "Authentication failed with the static_token credential: "
            "(AuthenticationFailed) A valid 'Authorization: Bearer' token is required.",
        }
        assert toast.inner_text().startswith("Test Connection Failed")
        for secret in (wrong, extra["token"]):
            assert secret not in page.content()
    finally:
        api.request("DELETE", f"/connections/{CONN_ID}")


def add_connection(tab, extra: dict[str, str]) -> None:
    """Fill the Add Connection form: id, type, and the provider's extra fields; save."""
    tab.get_by_role("button", name="Add Connection").click()
    form = tab.get_by_role("dialog")
    form.locator("input[name=connection_id]").fill(CONN_ID)
    form.get_by_role("combobox").fill("Azure Machine Learning")
    tab.get_by_role("option", name="Azure Machine Learning", exact=True).click()
    form.get_by_role("button", name="Extra Fields", exact=True).click()
    for name, value in extra.items():
        form.locator(f"#element_{name}").fill(value)
    with tab.expect_response(lambda r: r.url.endswith("/api/v2/connections") and r.request.method == "POST") as r:
        form.get_by_role("button", name="Save").click()
    assert r.value.status == 201, r.value.text()


def edit_token(tab, token: str) -> None:
    """Replace the stored token through the row's edit form (which shows it masked)."""
    tab.get_by_role("row").filter(has_text=CONN_ID).get_by_role("button", name="Edit Connection").click()
    form = tab.get_by_role("dialog")
    form.get_by_role("button", name="Extra Fields", exact=True).click()
    field = form.locator("#element_token")
    assert field.input_value() == "***"
    field.fill(token)
    saved = f"/api/v2/connections/{CONN_ID}"
    with tab.expect_response(lambda r: urlparse(r.url).path == saved and r.request.method == "PATCH") as r:
        form.get_by_role("button", name="Save").click()
    assert r.value.status == 200, r.value.text()


def press_test(tab, api) -> dict:
    """Press the row's Test button; return the api-server's answer, the text the toast shows.

    While the installed Airflow refuses a portless connection's test (see ``PORTLESS_REFUSAL``), the stored
    port is set to the 0 the button sends, through the REST API, and the button pressed again; the hook
    reads no port. An Airflow with the fix passes on the first press and never takes this path.
    """
    answer = click_test(tab)
    if answer.status == 400 and answer.json()["detail"].startswith(PORTLESS_REFUSAL):
        body = {"connection_id": CONN_ID, "conn_type": "azure_ml", "port": 0}
        api.json("PATCH", f"/connections/{CONN_ID}", params={"update_mask": "port"}, json=body)
        answer = click_test(tab)
    assert answer.status == 200, answer.text()
    return answer.json()


def click_test(tab):
    row = tab.get_by_role("row").filter(has_text=CONN_ID)
    with tab.expect_response(lambda r: r.url.endswith("/api/v2/connections/test"), timeout=TEST_ANSWER_MS) as r:
        row.get_by_role("button", name="Test Connection").click()
    return r.value
