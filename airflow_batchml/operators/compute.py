"""Create or delete an AmlCompute cluster, the compute a batch deployment runs on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_batchml.operators.base import AzureMLBaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class AzureMLCreateComputeOperator(AzureMLBaseOperator):
    """Create or update an AmlCompute cluster (idempotent: an existing cluster is updated as asked).

    :param compute_name: Cluster name, 3-24 letters, digits or hyphens, starting with a letter. (templated)
    :param size: VM size, e.g. ``Standard_DS3_v2``. (templated)
    :param min_instances: Nodes kept when idle.
    :param max_instances: Most nodes the cluster scales to.
    :param idle_time_before_scale_down: Seconds of idleness before nodes are released.
    :param tier: ``dedicated`` or ``low_priority``, in any case (``Dedicated``, ``LowPriority``).
    :param azure_ml_conn_id: The ``azure_ml`` connection. (templated)
    """

    template_fields: Sequence[str] = ("compute_name", "size", "azure_ml_conn_id")

    def __init__(
        self,
        *,
        compute_name: str,
        size: str = "Standard_DS3_v2",
        min_instances: int = 0,
        max_instances: int = 1,
        idle_time_before_scale_down: int = 120,
        tier: str = "dedicated",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.compute_name = compute_name
        self.size = size
        self.min_instances = min_instances
        self.max_instances = max_instances
        self.idle_time_before_scale_down = idle_time_before_scale_down
        self.tier = tier

    def execute(self, context: Context) -> dict[str, Any]:
        return self.hook.ensure_compute(
            self.compute_name,
            size=self.size,
            min_instances=self.min_instances,
            max_instances=self.max_instances,
            idle_time_before_scale_down=self.idle_time_before_scale_down,
            tier=self.tier,
        )


class AzureMLDeleteComputeOperator(AzureMLBaseOperator):
    """Delete an AmlCompute cluster; a cluster that is already gone counts as deleted.

    :param compute_name: The cluster. (templated)
    """

    template_fields: Sequence[str] = ("compute_name", "azure_ml_conn_id")

    def __init__(self, *, compute_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.compute_name = compute_name

    def execute(self, context: Context) -> None:
        from airflow_batchml.exceptions import AzureMLNotFoundError

        try:
            self.hook.delete_compute(self.compute_name)
        except AzureMLNotFoundError:
            self.log.info("Compute %s does not exist; nothing to delete", self.compute_name)
