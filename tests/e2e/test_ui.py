"""A DAG author in a real browser: headless Chromium (Debian's package) driven by Playwright. Log in, open
the on-demand DAG, fill the trigger form rendered from its ``params``, submit, and watch the run reach
success in the UI. Screenshots of the filled form and the finished run go to ``artifacts/e2e/``."""

from __future__ import annotations

import re
import time

import pytest

from tests.e2e.airflow_cluster import PASSWORD, USERNAME
from tests.support.browser import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
DAG_ID = "digits_on_demand"
RUN_TIMEOUT = 180
RELOAD_EVERY = 20


def test_trigger_form_run_reaches_success(page, airflow, api, stack, digits_endpoint):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    inputs = stack.copy_digits("e2e/ui/in", "ui", 8)
    api.wait_dag(DAG_ID)

    page.goto(f"{airflow.url}/dags/{DAG_ID}")
    page.fill("input[name=username]", USERNAME)  # the simple auth manager's login page
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_test_id("trigger-dag-button").click()
    form = page.get_by_role("dialog")
    form.locator("#element_endpoint_name").fill("digits-batch")
    form.locator("#element_input_path").fill(inputs)
    form.get_by_label("mini_batch_size").fill("3")
    form.screenshot(path=str(ARTIFACTS / "trigger-form-filled.png"))
    with page.expect_response(lambda r: r.url.endswith(f"/dags/{DAG_ID}/dagRuns") and r.request.method == "POST") as r:
        form.get_by_test_id("trigger-dag-submit").click()
    triggered = r.value.json()

    assert r.value.ok, triggered
    assert triggered["triggered_by"] == "ui"
    assert triggered["conf"]["input_path"] == inputs
    assert triggered["conf"]["mini_batch_size"] == 3
    page.wait_for_url("**/runs/**")
    assert run_state_badge(page, RUN_TIMEOUT) == "Success"
    page.screenshot(path=str(ARTIFACTS / "run-finished.png"))
    assert api.run(DAG_ID, triggered["dag_run_id"])["state"] == "success"
    job_name = api.xcom(DAG_ID, triggered["dag_run_id"], "score")["job_name"]
    (job,) = [job for job in stack.jobs("digits-batch") if job["name"] == job_name]
    assert job["progress"] == {"done": 3, "total": 3, "failed_files": 0}  # 8 files in mini-batches of 3


def run_state_badge(page, timeout: float) -> str:
    """The run's final state as the run page shows it: a Success or Failed badge, and no Running or Queued
    badge left (the task's badge turns green before the run's). The page refreshes itself while the run is
    active; it is reloaded now and then in case it stops."""
    deadline = time.monotonic() + timeout
    finished = page.get_by_text(re.compile("^(Success|Failed)$"))
    active = page.get_by_text(re.compile("^(Running|Queued)$"))
    reload_at = time.monotonic() + RELOAD_EVERY
    while True:
        if finished.count() and finished.first.is_visible() and not active.count():
            return finished.first.inner_text()
        if time.monotonic() > deadline:
            raise TimeoutError(f"the run page showed no final state within {timeout:.0f} s")
        if time.monotonic() > reload_at:
            page.reload()
            reload_at = time.monotonic() + RELOAD_EVERY
        time.sleep(1)
