"""Operations through the REST API v2: a token from ``/auth/token``, then the on-demand DAG triggered with
``conf``; the predictions land in Azurite where the conf said."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
DAG_ID = "digits_on_demand"


def test_the_demo_dag_ran_through_the_api(digits_endpoint):
    assert digits_endpoint["files_scored"] == 450
    assert digits_endpoint["accuracy"] >= 0.9


def test_trigger_with_conf_scores_into_the_given_folder(api, stack, digits_endpoint):
    inputs = stack.copy_digits("e2e/rest-api/in", "rest", 12)
    conf = {
        "endpoint_name": "digits-batch",
        "deployment_name": "digits-logreg",
        "input_path": inputs,
        "output_path": "azureml://datastores/workspaceblobstore/paths/e2e/rest-api/out/",
        "mini_batch_size": 5,
        "instance_count": 1,
    }
    api.unpause(DAG_ID)
    run = api.trigger(DAG_ID, conf)
    assert run["conf"] == conf

    finished = api.wait_run(DAG_ID, run["dag_run_id"], timeout=180)

    assert finished["state"] == "success", api.failure_report(DAG_ID, run["dag_run_id"])
    result = api.xcom(DAG_ID, run["dag_run_id"], "score")
    assert result["output_uri"] == conf["output_path"]
    rows = stack.container.download_blob("e2e/rest-api/out/predictions.csv").readall().decode().split("\n")
    scored = sorted(line.split()[0] for line in rows if line.strip())
    assert scored == [f"rest-{index:04d}.png" for index in range(12)]
    (job,) = [job for job in stack.jobs("digits-batch") if job["name"] == result["job_name"]]
    assert job["status"] == "Completed"
    assert job["progress"]["total"] == 3  # 12 files in mini-batches of 5: the conf reached the job
    links = api.json("GET", f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances/score/links")
    assert result["job_name"] in links["extra_links"]["Azure ML job"]
