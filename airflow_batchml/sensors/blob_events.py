"""EventGridBlobSensor: inside a DAG, wait for blob events that Event Grid delivered to a Storage queue.

The step form of :class:`~airflow_batchml.triggers.blob_events.EventGridBlobTrigger`, as
``WasbBlobChangeSensor`` is of the listing trigger: it returns the same records (XCom), ready as
``AzureMLInvokeBatchEndpointOperator`` inputs, with deterministic job names; names of deleted blobs (with
``events=["deleted", ...]``) go to the XCom key ``deleted_blobs``.

**No watermark to keep:** the queue is the state. A message leaves the queue only once this task holds
its records: after the poke that received it returns (poke and reschedule modes) or in
``execute_complete`` (deferrable mode, where the trigger only passes the messages' pop receipts along).
A task that fails before that deletes nothing, and the messages come back after ``visibility_timeout``
for the next try or run. If the task resumes after that timeout, the delete is refused, the messages
are delivered again and the deterministic job names turn a second scoring into an attach.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf

from airflow_batchml.blob_events import CREATED
from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.templating import unrendered
from airflow_batchml.triggers.blob_events import EventGridBlobTrigger, QueueTransientError, delete_message

if TYPE_CHECKING:
    from airflow.sdk import Context

DELETED_XCOM_KEY = "deleted_blobs"


class EventGridBlobSensor(BaseSensorOperator):
    """Succeed with the records of the blobs whose Event Grid events wait in a Storage queue.

    :param queue_name: The Storage queue the Event Grid subscription delivers to. (templated)
    :param container_name: The container whose events count. (templated)
    :param blob_path_begins_with: Only blobs whose name starts with this, e.g. ``"in/"``. (templated)
    :param blob_path_ends_with: Only blobs whose name ends with this, e.g. ``".csv"``. (templated)
    :param events: ``"created"`` and/or ``"deleted"``.
    :param ignore_empty_blobs: Skip zero-byte blobs.
    :param wasb_conn_id: The WASB connection of the storage account that holds the queue. (templated)
    :param batch_size: At most this many messages per poke.
    :param visibility_timeout: Seconds a received message stays hidden before it can be delivered again.
    :param max_deliveries: A message received more often than this goes to ``<queue>-poison``.
    :param datastore: Azure ML datastore of this container; records then carry ``azureml://`` URIs.
    :param job_name_prefix: Readable start of the records' job names; ``<dag_id>-<task_id>`` when None.
    :param deferrable: Wait in the triggerer.
    """

    template_fields: Sequence[str] = (
        "queue_name",
        "container_name",
        "blob_path_begins_with",
        "blob_path_ends_with",
        "wasb_conn_id",
        "datastore",
    )
    ui_color = "#0078d4"

    def __init__(
        self,
        *,
        queue_name: str,
        container_name: str,
        blob_path_begins_with: str = "",
        blob_path_ends_with: str = "",
        events: Sequence[str] = (CREATED,),
        ignore_empty_blobs: bool = True,
        wasb_conn_id: str = "wasb_default",
        batch_size: int = 256,
        visibility_timeout: int = 300,
        max_deliveries: int = 5,
        datastore: str | None = None,
        job_name_prefix: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.queue_name = queue_name
        self.container_name = container_name
        self.blob_path_begins_with = blob_path_begins_with
        self.blob_path_ends_with = blob_path_ends_with
        self.events = list(events)
        self.ignore_empty_blobs = ignore_empty_blobs
        self.wasb_conn_id = wasb_conn_id
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self.max_deliveries = max_deliveries
        self.datastore = datastore
        self.job_name_prefix = job_name_prefix
        self.deferrable = deferrable
        self.receipts: list[list[str]] = []
        templated = (queue_name, container_name, blob_path_begins_with, blob_path_ends_with, wasb_conn_id, datastore)
        if not any(map(unrendered, templated)):
            self.build_trigger()  # malformed filters fail at parse time, naming the argument

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            records = super().execute(context)
            self.delete_received()
            return records
        found = self.poke(context)
        if found:
            self.delete_received()
            return found.xcom_value
        self.defer(
            trigger=self.build_trigger(),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout is not None else None,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        try:
            events = asyncio.run(self._poll())
        except QueueTransientError as err:
            self.log.warning("Reading queue %s failed, will retry: %s", self.queue_name, err)
            return PokeReturnValue(False)
        if not events:
            return PokeReturnValue(False)
        self.receipts = events[-1]["receipts"]
        return PokeReturnValue(True, self._succeed(context, events))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Resume from the trigger: its event holds the records and the receipts of their messages."""
        if event.get("status") != "changes":
            raise AzureMLConfigurationError("blob event sensor", event.get("message") or f"bad event {event!r}")
        self.receipts = event.get("receipts", [])
        records = self._succeed(context, [event])
        self.delete_received()
        return records

    def build_trigger(self) -> EventGridBlobTrigger:
        """The trigger this sensor defers to (and reads through); deletion is left to this task."""
        return EventGridBlobTrigger(
            queue_name=self.queue_name,
            container_name=self.container_name,
            blob_path_begins_with=self.blob_path_begins_with,
            blob_path_ends_with=self.blob_path_ends_with,
            events=self.events,
            ignore_empty_blobs=self.ignore_empty_blobs,
            wasb_conn_id=self.wasb_conn_id,
            poll_interval=min(self.poke_interval, self.visibility_timeout / 2),
            batch_size=self.batch_size,
            visibility_timeout=self.visibility_timeout,
            max_deliveries=self.max_deliveries,
            datastore=self.datastore,
            job_name_prefix=self.job_name_prefix or f"{self.dag_id}-{self.task_id}",
            emit_receipts=True,
        )

    def delete_received(self) -> None:
        """Delete the messages whose records this task now holds."""
        if self.receipts:
            asyncio.run(self._delete(self.receipts))
            self.receipts = []

    async def _poll(self) -> list[dict[str, Any]]:
        from airflow_batchml.hooks.blob_queue import BlobQueueHook

        trigger = self.build_trigger()
        hook = BlobQueueHook(self.wasb_conn_id)
        try:
            batch = await trigger.poll(hook)
        finally:
            await hook.close()
        return trigger.build_events(batch, hook.blob_account_url)

    async def _delete(self, receipts: list[list[str]]) -> None:
        from airflow_batchml.hooks.blob_queue import BlobQueueHook

        hook = BlobQueueHook(self.wasb_conn_id)
        try:
            queue = await hook.get_queue_client(self.queue_name)
            for message_id, pop_receipt in receipts:
                await delete_message(queue, message_id, pop_receipt, self.log)
        finally:
            await hook.close()

    def _succeed(self, context: Context, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        records = [blob for event in events for blob in event["blobs"]]
        deleted = [name for event in events for name in event["deleted"]]
        if CREATED not in self.events or deleted:
            context["ti"].xcom_push(key=DELETED_XCOM_KEY, value=deleted)
        self.log.info(
            "%d changed, %d deleted blob(s) in %s from queue %s",
            len(records),
            len(deleted),
            self.container_name,
            self.queue_name,
        )
        return records
