"""AzureMLHook against the emulator, through the real azure-ai-ml client and the real WASB hook.

One ordered walk-through, as the Azure ML batch tutorials do it: compute, endpoint, two deployments from
the two ``az ml`` YAML forms (local model and code folders uploaded through WASB), default, invoke with
overrides, job status, attach on a second submission, cancel, schedules, a published pipeline, deletes.
"""

from __future__ import annotations

import csv
import io

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLNotFoundError
from tests.support.workspace import DATA, DIGITS_ENDPOINT, upload_inputs, wait_for_job

pytestmark = pytest.mark.integration


def jobs_on_emulator(emulator) -> list[dict]:
    return emulator.request("GET", "/_emulator/jobs").json()["value"]


def test_resources_are_created_from_both_yaml_forms(hook, digits_deployments):
    assert digits_deployments["compute"]["name"] == "batch-cluster"
    assert digits_deployments["endpoint"]["name"] == DIGITS_ENDPOINT
    assert sorted(hook.list_batch_deployments(DIGITS_ENDPOINT)) == ["digits-forest", "digits-logreg"]
    assert hook.get_batch_endpoint(DIGITS_ENDPOINT)["default_deployment"] == "digits-logreg"


def test_creates_are_idempotent(hook, digits_deployments):
    again = hook.create_or_update_batch_deployment(str(DATA / "deployment.yml"))
    assert again["name"] == "digits-logreg"
    assert hook.ensure_compute("batch-cluster", max_instances=2)["name"] == "batch-cluster"
    # re-running the endpoint create keeps the default deployment (an ARM PUT would otherwise drop it)
    assert hook.create_or_update_batch_endpoint(yaml_path=str(DATA / "endpoint.yml"))["default_deployment"] == (
        "digits-logreg"
    )


def test_invoke_with_overrides_scores_every_file(hook, wasb, digits_deployments, container, emulator):
    folder = upload_inputs(wasb, container, "inputs/hook-run", 7)
    output = "azureml://datastores/workspaceblobstore/paths/outputs/hook-run/"
    submitted = hook.invoke_batch_endpoint(
        DIGITS_ENDPOINT,
        {"images": folder},
        output_path=output,
        overrides={"mini_batch_size": 3, "instance_count": 1, "output_file_name": "scores.csv", "max_retries": 1},
        job_name="hook-run-1",
    )
    assert submitted == {**submitted, "deployment_name": "digits-logreg", "attached": False, "output_uri": output}
    assert wait_for_job(hook, submitted["job_name"])["status"] == "Completed"
    rows = list(csv.reader(io.StringIO(wasb.read_file(container, "outputs/hook-run/scores.csv"))))
    assert len(rows) == 7
    (job,) = [j for j in jobs_on_emulator(emulator) if j["name"] == submitted["job_name"]]
    assert job["request"]["name"] == "hook-run-1"  # the requested name: the display name
    assert job["spec"]["mini_batch_size"] == 3
    assert job["spec"]["output_file_name"] == "scores.csv"


def test_second_submission_of_the_same_name_attaches(hook, wasb, digits_deployments, container, emulator):
    folder = upload_inputs(wasb, container, "inputs/attach", 1)
    first = hook.invoke_batch_endpoint(DIGITS_ENDPOINT, {"images": folder}, job_name="attach-1")
    before = len(jobs_on_emulator(emulator))
    second = hook.invoke_batch_endpoint(DIGITS_ENDPOINT, {"images": folder}, job_name="attach-1")
    assert (first["attached"], second["attached"]) == (False, True)
    assert second["job_name"] == first["job_name"] and second["output_uri"] == first["output_uri"]
    assert len(jobs_on_emulator(emulator)) == before
    wait_for_job(hook, first["job_name"])


def test_named_deployment_is_used_and_not_leaked(hook, wasb, digits_deployments, container, emulator):
    folder = upload_inputs(wasb, container, "inputs/named", 2)
    named = hook.invoke_batch_endpoint(
        DIGITS_ENDPOINT, {"images": folder}, deployment_name="digits-forest", job_name="named-1"
    )["job_name"]
    default = hook.invoke_batch_endpoint(DIGITS_ENDPOINT, {"images": folder}, job_name="default-after-named")[
        "job_name"
    ]
    by_name = {j["name"]: j for j in jobs_on_emulator(emulator)}
    assert by_name[named]["deployment"] == "digits-forest"
    assert by_name[default]["deployment"] == "digits-logreg"
    for name in (named, default):
        assert wait_for_job(hook, name)["status"] == "Completed"


def test_unknown_deployment_is_a_clear_error_before_submission(hook, digits_deployments, emulator):
    before = len(jobs_on_emulator(emulator))
    with pytest.raises(AzureMLConfigurationError, match="'nope-dep' is not a deployment of digits-batch"):
        hook.invoke_batch_endpoint(
            DIGITS_ENDPOINT, {"x": "azureml://datastores/workspaceblobstore/paths/x/"}, deployment_name="nope-dep"
        )
    assert len(jobs_on_emulator(emulator)) == before


def test_cancel_a_running_job(hook, wasb, digits_deployments, container):
    folder = upload_inputs(wasb, container, "inputs/cancel", 40)
    job = hook.invoke_batch_endpoint(
        DIGITS_ENDPOINT, {"images": folder}, job_name="cancel-1", overrides={"mini_batch_size": 1}
    )["job_name"]
    hook.cancel_job(job)
    assert wait_for_job(hook, job)["status"] in ("Canceled", "Completed")


def test_schedules_create_list_disable(hook, digits_deployments):
    created = hook.create_or_update_schedule(
        name="every-15-minutes", create_job="azureml:hook-run-1", frequency="minute", interval=15
    )
    assert created["name"] == "every-15-minutes"
    assert "every-15-minutes" in {s["name"] for s in hook.list_schedules()}
    assert hook.disable_schedule("every-15-minutes")["is_enabled"] is False
    assert "every-15-minutes" not in {s["name"] for s in hook.list_schedules()}
    assert "every-15-minutes" in {s["name"] for s in hook.list_schedules(include_disabled=True)}
    assert hook.enable_schedule("every-15-minutes")["is_enabled"] is True


def test_a_schedule_from_yaml_is_created(hook, digits_deployments, tmp_path):
    """The ``az ml schedule create --file`` form, through the real client to the emulator."""
    path = tmp_path / "schedule.yml"
    path.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/schedule.schema.json\n"
        "name: nightly-from-yaml\n"
        "trigger:\n  type: cron\n  expression: '0 2 * * *'\n  time_zone: UTC\n"
        "create_job: azureml:hook-run-1\n"
    )
    created = hook.create_or_update_schedule(str(path))
    assert (created["name"], created["cron"]) == ("nightly-from-yaml", "0 2 * * *")
    assert "nightly-from-yaml" in {s["name"] for s in hook.list_schedules()}
    hook.delete_schedule("nightly-from-yaml")


def test_published_pipeline_run(hook, wasb, digits_deployments, container, emulator):
    upload_inputs(wasb, container, "inputs/pipeline", 2)
    published = emulator.request(
        "POST",
        "/_emulator/pipelines",
        json={"endpoint": DIGITS_ENDPOINT, "data_path_parameter": "input_data", "parameters": {"threshold": 0.1}},
    ).json()
    run = hook.run_published_pipeline(
        published["Endpoint"],
        experiment_name="published-run",
        parameter_assignments={"threshold": 0.5},
        data_path_assignments={"input_data": "azureml://datastores/workspaceblobstore/paths/inputs/pipeline/"},
    )
    assert run["run_id"]
    assert wait_for_job(hook, run["run_id"])["status"] == "Completed"


def test_failed_job_reports_its_error(hook, digits_deployments, emulator):
    submitted = hook.invoke_batch_endpoint(
        DIGITS_ENDPOINT,
        {"x": "azureml://datastores/workspaceblobstore/paths/inputs/does-not-exist/"},
        job_name="fails-1",
    )
    job = wait_for_job(hook, submitted["job_name"])
    assert job["status"] == "Failed"
    assert job["error"]


def test_deletes(hook, digits_deployments):
    hook.delete_batch_deployment(DIGITS_ENDPOINT, "digits-forest")
    assert hook.list_batch_deployments(DIGITS_ENDPOINT) == ["digits-logreg"]
    with pytest.raises(AzureMLNotFoundError):
        hook.get_batch_endpoint("no-such-endpoint")


def test_datastore_reads_decode_the_uri_path_once(hook, wasb, container):
    wasb.load_string("percent", container, "reads/a%41 b.txt", overwrite=True)
    wasb.load_string("decoded twice", container, "reads/aA b.txt", overwrite=True)
    uri = "azureml://datastores/workspaceblobstore/paths/reads/a%2541%20b.txt"
    assert hook.read_datastore_file(uri) == b"percent"


def test_a_model_deployment_takes_exactly_one_input(hook, digits_deployments, emulator):
    before = len(jobs_on_emulator(emulator))
    folder = "azureml://datastores/workspaceblobstore/paths/inputs"
    with pytest.raises(AzureMLConfigurationError, match=r"inputs: digits-logreg is a model deployment, which takes"):
        hook.invoke_batch_endpoint(DIGITS_ENDPOINT, {"a": f"{folder}/a/", "b": f"{folder}/b/"}, job_name="two-inputs")
    assert len(jobs_on_emulator(emulator)) == before


def test_a_data_asset_of_another_workspace_is_refused_before_submission(hook, digits_deployments, emulator):
    before = len(jobs_on_emulator(emulator))
    other = "azureml://locations/eastus/workspaces/00000000-0000-0000-0000-000000000000/data/digits/versions/1"
    with pytest.raises(AzureMLConfigurationError, match="names a data asset of another workspace"):
        hook.invoke_batch_endpoint(DIGITS_ENDPOINT, {"images": other}, job_name="other-workspace")
    assert len(jobs_on_emulator(emulator)) == before
