"""The compute operators' own part: what is templated, how it renders, and the cluster a bare call asks for.

Size, tier and name checks are the hook's (tests/unit/operators/test_bad_input.py); creating, updating and
deleting a cluster, "already gone" included, run against the emulator in
tests/integration/operators/test_lifecycle.py.
"""

from __future__ import annotations

from airflow_batchml.operators.compute import AzureMLCreateComputeOperator, AzureMLDeleteComputeOperator

PARAMS = {"params": {"env": "prod", "size": "Standard_NC6s_v3"}}


def test_the_cluster_name_size_and_connection_are_templated():
    assert set(AzureMLCreateComputeOperator.template_fields) == {"compute_name", "size", "azure_ml_conn_id"}
    assert set(AzureMLDeleteComputeOperator.template_fields) == {"compute_name", "azure_ml_conn_id"}


def test_a_bare_cluster_is_one_dedicated_ds3_node_that_scales_to_zero_after_two_minutes():
    task = AzureMLCreateComputeOperator(task_id="compute", compute_name="batch-cluster")
    assert (
        task.size,
        task.min_instances,
        task.max_instances,
        task.idle_time_before_scale_down,
        task.tier,
        task.azure_ml_conn_id,
    ) == ("Standard_DS3_v2", 0, 1, 120, "dedicated", "azure_ml_default")


def test_the_cluster_is_created_as_asked():
    task = AzureMLCreateComputeOperator(
        task_id="compute",
        compute_name="gpu-cluster",
        size="Standard_NC6s_v3",
        min_instances=1,
        max_instances=4,
        idle_time_before_scale_down=600,
        tier="LowPriority",
    )
    assert (task.min_instances, task.max_instances, task.idle_time_before_scale_down, task.tier) == (
        1,
        4,
        600,
        "LowPriority",
    )


def test_the_cluster_name_size_and_connection_render():
    task = AzureMLCreateComputeOperator(
        task_id="compute",
        compute_name="batch-{{ params.env }}",
        size="{{ params.size }}",
        azure_ml_conn_id="aml_{{ params.env }}",
    )
    task.render_template_fields(PARAMS)
    assert (task.compute_name, task.size, task.azure_ml_conn_id) == ("batch-prod", "Standard_NC6s_v3", "aml_prod")


def test_deleting_names_the_cluster_as_rendered():
    task = AzureMLDeleteComputeOperator(task_id="drop", compute_name="batch-{{ params.env }}")
    task.render_template_fields(PARAMS)
    assert task.compute_name == "batch-prod"
