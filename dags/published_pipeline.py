"""Published pipeline: run an SDK v1 published pipeline through its REST endpoint, as the Logic App recipe did.

``AzureMLRunPublishedPipelineOperator`` POSTs ``ExperimentName``, ``ParameterAssignments`` and
``DataPathAssignments`` to the pipeline's REST endpoint with the ``azure_ml`` connection's credential,
then waits for the run without holding a worker. The pipeline is named by one of three params (trigger
form or ``-c '{...}'``): ``published_pipeline_id`` (looked up to its REST endpoint),
``pipeline_endpoint_name`` with an optional ``pipeline_version`` (the endpoint's default version when
blank), or ``rest_endpoint``; with none of them, the Airflow Variable ``digits_pipeline_endpoint`` gives the
REST endpoint, so a scheduled copy of this DAG would read it from there. The input folder is assigned to
the pipeline's data-path parameter (``input_data``), the v1 way of pointing a published pipeline at new
data; ``parameter_assignments`` must name parameters the pipeline has (the service refuses others).

On the emulator, publish one first through its admin route: ``POST /_emulator/pipelines``
``{"endpoint": "digits-batch", "data_path_parameter": "input_data", "parameters": {"process_count_per_node":
1}}`` returns its ``Id`` and REST endpoint (``Url``).
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from airflow_batchml.operators.pipelines import AzureMLRunPublishedPipelineOperator

DATA_PATH_PARAMETER = "input_data"
# The Variable stands in only when the run names the pipeline in no other way.
REST_ENDPOINT = (
    "{{ params.rest_endpoint or ('' if params.published_pipeline_id or params.pipeline_endpoint_name"
    " else var.value.get('digits_pipeline_endpoint', '')) }}"
)


@dag(
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    params={
        "rest_endpoint": Param(
            None,
            type=["null", "string"],
            format="uri",
            description="The published pipeline's REST endpoint; blank for the Variable digits_pipeline_endpoint.",
        ),
        "published_pipeline_id": Param(
            None, type=["null", "string"], description="A published pipeline's id, instead of rest_endpoint."
        ),
        "pipeline_endpoint_name": Param(
            None, type=["null", "string"], description="A pipeline endpoint's name, instead of rest_endpoint."
        ),
        "pipeline_version": Param(
            None,
            type=["null", "string"],
            pattern="^[0-9]+$",
            description="The pipeline endpoint's version to run; blank for its default version.",
        ),
        "experiment_name": Param(
            "digits-from-airflow",
            type="string",
            pattern="^[A-Za-z0-9_-]+$",
            description="Experiment to file the run under.",
        ),
        "input_path": Param(
            "azureml://datastores/workspaceblobstore/paths/digits/images/",
            type="string",
            pattern="^azureml://datastores/[^/]+/paths/",
            description=f"The datastore folder assigned to the pipeline's data-path parameter {DATA_PATH_PARAMETER}.",
        ),
        "parameter_assignments": Param(
            {"process_count_per_node": 2},
            type="object",
            description="Pipeline parameter values (strings or numbers), by parameter name.",
        ),
    },
    tags=["azure-ml", "published-pipeline"],
)
def published_pipeline():
    AzureMLRunPublishedPipelineOperator(
        task_id="run_published_pipeline",
        rest_endpoint=REST_ENDPOINT,
        published_pipeline_id="{{ params.published_pipeline_id }}",
        pipeline_endpoint_name="{{ params.pipeline_endpoint_name }}",
        pipeline_version="{{ params.pipeline_version }}",
        experiment_name="{{ params.experiment_name }}",
        parameter_assignments="{{ params.parameter_assignments }}",
        data_path_assignments={DATA_PATH_PARAMETER: "{{ params.input_path }}"},
        poll_interval=2,
        timeout=1800,
    )


published_pipeline()
