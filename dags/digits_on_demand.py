"""On-demand scoring from the UI: DAG ``params`` that render Airflow's trigger form.

Each field has a type, a description and, where it helps, an enum, a pattern or a range: the form offers
a drop-down for the deployment, checks names and the input's form before the run starts, bounds the
numbers, and leaves the optional fields (a ``"null"`` type) blank. The scoring task reads them through
Jinja (``{{ params.x }}``); ``render_template_as_native_obj`` keeps numbers numbers and blanks ``None``.
The defaults score the demo seed's digit images on the endpoint's default deployment, so the DAG runs
untouched after ``digits_batch_scoring``; from the CLI: ``airflow dags test digits_on_demand -c '{...}'``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag

from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator


@dag(
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={
        "endpoint_name": Param(
            "digits-batch",
            type="string",
            pattern="^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$",
            description="The batch endpoint to invoke (3-32 letters, digits or hyphens).",
        ),
        "deployment_name": Param(
            None,
            type=["null", "string"],
            enum=[None, "digits-logreg", "digits-forest"],
            description="The deployment to run; blank for the endpoint's default deployment.",
        ),
        "input_path": Param(
            "azureml://datastores/workspaceblobstore/paths/digits/images/",
            type="string",
            pattern="^(azureml:|https://)",
            description="What to score: a datastore folder or file (azureml://datastores/<name>/paths/<path>), "
            "a data asset (azureml:<name>:<version>) or an https URL.",
        ),
        "output_path": Param(
            None,
            type=["null", "string"],
            description="Where predictions.csv goes (a datastore folder); blank for the job's default folder.",
        ),
        "mini_batch_size": Param(
            20, type="integer", minimum=1, maximum=1000, description="Files per run(mini_batch) call."
        ),
        "instance_count": Param(1, type="integer", minimum=1, maximum=10, description="Compute nodes the job runs on."),
    },
    tags=["azure-ml", "batch-endpoint", "on-demand"],
)
def digits_on_demand():
    AzureMLInvokeBatchEndpointOperator(
        task_id="score",
        endpoint_name="{{ params.endpoint_name }}",
        deployment_name="{{ params.deployment_name }}",
        inputs="{{ params.input_path }}",
        output_path="{{ params.output_path }}",
        overrides={
            "mini_batch_size": "{{ params.mini_batch_size }}",
            "instance_count": "{{ params.instance_count }}",
        },
        poll_interval=2,
        timeout=1800,
        # A retry attaches to the job it started; a small job can end within seconds, and Airflow 3.3 can
        # fail a deferred task whose trigger fires that soon (apache/airflow#72716).
        retries=2,
        retry_delay=timedelta(seconds=10),
    )


digits_on_demand()
