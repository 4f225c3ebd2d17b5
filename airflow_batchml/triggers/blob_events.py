"""EventGridBlobTrigger: blob changes from Event Grid events in a Storage queue, at O(changes) per poll.

A message is deleted only once Airflow holds its event: in a triggerer through Airflow's shared-stream ack
mode (``QueueProducer``), elsewhere one poll after the ``yield``. Unreadable or too-often-delivered messages
go to ``<queue>-poison``; other containers' events are counted and dropped. Why:
``docs/change-detection.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowNotFoundException
from airflow.triggers.base import BaseEventTrigger, TriggerEvent
from airflow.triggers.shared_stream import AdvanceItem, SharedStreamProducer

from airflow_batchml.blob_events import CREATED, BlobEvent, BlobEventFilter, PoisonMessageError, parse_message, record
from airflow_batchml.changes import account_endpoint
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLError
from airflow_batchml.triggers.retries import ErrorPacing

if TYPE_CHECKING:
    from azure.storage.queue import QueueMessage
    from azure.storage.queue.aio import QueueClient

    from airflow_batchml.hooks.blob_queue import BlobQueueHook

TRANSIENT_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})
MAX_PAGE = 32  # the queue service returns at most 32 messages per request


class QueueTransientError(AzureMLError):
    """The queue did not answer this time (throttling, timeout, 5xx); the next attempt may succeed."""


@dataclass
class Batch:
    """What one poll took off the queue: messages whose events a watcher wants, and counts for the log."""

    wanted: list[tuple[QueueMessage, list[BlobEvent]]] = field(default_factory=list)
    ignored: int = 0
    poisoned: int = 0


class EventGridBlobTrigger(BaseEventTrigger):
    """Emit the blobs created (or deleted) in a container, from Event Grid events in a Storage queue.

    Event payload as :class:`~airflow_batchml.triggers.blob_changes.WasbBlobChangeTrigger`'s: ``status``
    (``changes`` or ``error``), ``container``, ``prefix``, ``blobs`` (records), ``deleted`` (names),
    ``message``; plus ``queue``, and ``receipts`` with ``emit_receipts``.

    :param queue_name: The Storage queue the Event Grid subscription delivers to.
    :param container_name: The container whose events count.
    :param blob_path_begins_with: Only blobs whose name starts with this, e.g. ``"in/"``.
    :param blob_path_ends_with: Only blobs whose name ends with this, e.g. ``".csv"``.
    :param events: ``"created"`` and/or ``"deleted"``.
    :param ignore_empty_blobs: Skip zero-byte blobs (Data Factory's option of the same name).
    :param wasb_conn_id: The WASB connection of the storage account that holds the queue.
    :param poll_interval: Seconds between queue reads.
    :param batch_size: At most this many messages per poll (read 32 per request).
    :param visibility_timeout: Seconds a received message stays hidden; must exceed ``poll_interval``.
        After a triggerer restart, undeleted messages come back after this long.
    :param max_deliveries: A message received more often than this goes to ``<queue>-poison``.
    :param event_per_blob: One event per changed blob instead of one per poll.
    :param datastore: Azure ML datastore of this container; records then carry ``azureml://`` URIs.
    :param job_name_prefix: Readable start of the deterministic job names in the records.
    :param emit_receipts: Leave deletion to the receiver: events carry the messages' ids and pop
        receipts (for the sensor, which deletes them once its task has the records).
    :param retry_delay: First backoff after a transient error, in seconds.
    :param max_retry_delay: Longest backoff, and the re-check period of a permanent error.
    """

    def __init__(
        self,
        queue_name: str,
        container_name: str,
        blob_path_begins_with: str = "",
        blob_path_ends_with: str = "",
        events: Sequence[str] = (CREATED,),
        ignore_empty_blobs: bool = True,
        wasb_conn_id: str = "wasb_default",
        poll_interval: float = 10.0,
        batch_size: int = 256,
        visibility_timeout: int = 300,
        max_deliveries: int = 5,
        event_per_blob: bool = False,
        datastore: str | None = None,
        job_name_prefix: str = "blob-change",
        emit_receipts: bool = False,
        retry_delay: float = 5.0,
        max_retry_delay: float = 300.0,
    ) -> None:
        super().__init__()
        self.queue_name = queue_name
        self.container_name = container_name
        self.blob_path_begins_with = blob_path_begins_with
        self.blob_path_ends_with = blob_path_ends_with
        self.events = list(events)
        self.ignore_empty_blobs = ignore_empty_blobs
        self.wasb_conn_id = wasb_conn_id
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self.max_deliveries = max_deliveries
        self.event_per_blob = event_per_blob
        self.datastore = datastore
        self.job_name_prefix = job_name_prefix
        self.emit_receipts = emit_receipts
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.filter = BlobEventFilter(
            container_name, blob_path_begins_with, blob_path_ends_with, tuple(self.events), ignore_empty_blobs
        )
        check_arguments(self)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        names = list(inspect.signature(type(self).__init__).parameters)[1:]
        return f"{type(self).__module__}.{type(self).__qualname__}", {name: getattr(self, name) for name in names}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The loop of a trigger that does not run in ack mode: the sensor's, or any direct caller's.

        A message is deleted when the generator is resumed after its events, one poll later.
        """
        from airflow_batchml.hooks.blob_queue import BlobQueueHook

        hook = BlobQueueHook(self.wasb_conn_id)
        handed: list[tuple[str, str]] = []
        try:
            async for events, received in self.polls(hook):
                if handed:
                    await self.delete_handed(hook, handed)
                for event in events:
                    yield TriggerEvent(event)
                handed = [] if self.emit_receipts else received
        finally:
            await hook.close()

    async def polls(self, hook: BlobQueueHook) -> AsyncIterator[tuple[list[dict[str, Any]], list[tuple[str, str]]]]:
        """Forever: each poll's events and the ids and pop receipts of the messages they came from.

        Transient errors back off; a permanent one is an ``error`` event once, then a slow re-check.
        """
        errors = ErrorPacing(self.log, "Reading", self._where, self.retry_delay, self.max_retry_delay)
        while True:
            try:
                batch = await self.poll(hook)
            except QueueTransientError as err:
                await errors.transient(err)
                continue
            except AzureMLConfigurationError as err:
                if errors.permanent(err):
                    yield [self.error_event(str(err))], []
                await errors.recheck()
                continue
            errors.succeeded()
            yield self.build_events(batch, hook.blob_account_url), receipts(batch)
            await asyncio.sleep(self.poll_interval)

    def shared_stream_key(self) -> Hashable | None:
        """In the triggerer, a watcher reads in Airflow's ack mode (:class:`QueueProducer`); the sensor's
        trigger (``emit_receipts``) runs :meth:`run`, its task deletes the messages."""
        if self.emit_receipts:
            return None
        return type(self).__qualname__, json.dumps(self.serialize()[1], sort_keys=True)

    @classmethod
    def create_shared_stream_producer(cls, kwargs: dict[str, Any]) -> SharedStreamProducer:
        return QueueProducer(cls(**kwargs))

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        async for events in shared_stream:
            for event in events:
                yield TriggerEvent(event)

    async def poll(self, hook: BlobQueueHook) -> Batch:
        """Receive up to ``batch_size`` messages; poison and unwanted ones are dealt with here.

        Storage errors come back classified (configuration or transient).
        """
        try:
            queue = await hook.get_queue_client(self.queue_name)
            batch = Batch()
            messages = queue.receive_messages(
                messages_per_page=min(MAX_PAGE, self.batch_size),
                max_messages=self.batch_size,
                visibility_timeout=self.visibility_timeout,
            )
            async for message in messages:
                await self._sort(hook, queue, message, batch)
        except AzureMLError:
            raise
        except AirflowNotFoundException as err:
            raise AzureMLConfigurationError("wasb_conn_id", f"connection {self.wasb_conn_id!r} is not defined") from err
        except Exception as err:
            raise classify_queue_error(err, self.queue_name) from err
        if batch.ignored or batch.poisoned:
            self.log.info(
                "%s: %d message(s) for other containers, paths or event types ignored, %d moved to %s-poison",
                self._where(),
                batch.ignored,
                batch.poisoned,
                self.queue_name,
            )
        return batch

    def build_events(self, batch: Batch, blob_account_url: str | None) -> list[dict[str, Any]]:
        account_url = account_endpoint(blob_account_url) if blob_account_url else None
        blobs, deleted = [], []
        for _, events in batch.wanted:
            for event in events:
                if event.kind == CREATED:
                    blobs.append(
                        record(
                            event, account_url=account_url, datastore=self.datastore, job_prefix=self.job_name_prefix
                        )
                    )
                else:
                    deleted.append(event.name)
        if not blobs and not deleted:
            return []
        groups = [[blob] for blob in blobs] if self.event_per_blob and blobs else [blobs]
        events = [self._changes_event(group) for group in groups]
        events[-1]["deleted"] = deleted
        if self.emit_receipts:
            events[-1]["receipts"] = [list(receipt) for receipt in receipts(batch)]
        return events

    def error_event(self, message: str) -> dict[str, Any]:
        return {**self._changes_event([]), "status": "error", "message": message}

    def _changes_event(self, blobs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "status": "changes",
            "container": self.container_name,
            "prefix": self.blob_path_begins_with,
            "queue": self.queue_name,
            "blobs": blobs,
            "deleted": [],
            "message": f"{len(blobs)} changed blob(s) in {self._where()}",
        }

    async def _sort(self, hook: BlobQueueHook, queue: QueueClient, message: QueueMessage, batch: Batch) -> None:
        try:
            if message.dequeue_count and message.dequeue_count > self.max_deliveries:
                raise PoisonMessageError(
                    f"delivered {message.dequeue_count} times (max_deliveries {self.max_deliveries})"
                )
            events = parse_message(message.content)
        except PoisonMessageError as err:
            await move_to_poison(hook, queue, message, f"{self.queue_name}-poison", str(err), self.log)
            batch.poisoned += 1
            return
        wanted = [event for event in events if self.filter.accepts(event)]
        if wanted:
            batch.wanted.append((message, wanted))
        else:
            await queue.delete_message(message)
            batch.ignored += 1

    async def delete_handed(self, hook: BlobQueueHook, handed: list[tuple[str, str]]) -> None:
        """Delete messages whose events Airflow has; a failure only means a second delivery, so it is logged."""
        try:
            queue = await hook.get_queue_client(self.queue_name)
            for message_id, pop_receipt in handed:
                await delete_message(queue, message_id, pop_receipt, self.log)
        except Exception as err:
            self.log.warning(
                "%s: could not delete %d handed-over message(s), they will come again: %s",
                self._where(),
                len(handed),
                err,
            )

    def _where(self) -> str:
        return f"queue {self.queue_name!r} for {self.container_name}/{self.blob_path_begins_with}"


class QueueProducer(SharedStreamProducer):
    """A watcher's queue reader in the triggerer (Airflow's shared-stream ack mode).

    Each poll with events is one raw event (the trigger's event payloads); Airflow calls :meth:`advance`
    once the trigger's events from it are stored in the metadata database, and only then are the poll's
    messages deleted. Events not confirmed (the triggerer stopped, the store failed, the ack timed out)
    leave their messages in the queue: they come back after the visibility timeout.
    """

    def __init__(self, trigger: EventGridBlobTrigger) -> None:
        self.trigger = trigger
        self.hook: BlobQueueHook | None = None

    async def open_stream(self) -> AsyncIterator[tuple[list[dict[str, Any]], list[tuple[str, str]]]]:
        from airflow_batchml.hooks.blob_queue import BlobQueueHook

        self.hook = BlobQueueHook(self.trigger.wasb_conn_id)
        async for events, received in self.trigger.polls(self.hook):
            if events or received:
                yield events, received

    async def advance(self, batch: Sequence[AdvanceItem]) -> None:
        handed = [receipt for item in batch if item.outcome.is_clean for receipt in item.broker_payload]
        if handed and self.hook is not None:
            await self.trigger.delete_handed(self.hook, handed)

    async def aclose(self) -> None:
        if self.hook is not None:
            await self.hook.close()


def receipts(batch: Batch) -> list[tuple[str, str]]:
    """Id and pop receipt of each wanted message: what deleting it takes."""
    return [(message.id, message.pop_receipt) for message, _ in batch.wanted]


def check_arguments(trigger: EventGridBlobTrigger) -> None:
    """Bad arguments fail where the trigger is built (DAG parsing, sensor execution), not in the triggerer."""
    name = trigger.queue_name
    if (
        not isinstance(name, str)
        or not 3 <= len(name) <= 63
        or not name.replace("-", "").isalnum()
        or name != name.lower()
    ):
        raise AzureMLConfigurationError(
            "queue_name", f"{name!r} is not a queue name (3-63 lowercase letters, digits, '-')"
        )
    if not 1 <= trigger.batch_size <= 5000:
        raise AzureMLConfigurationError("batch_size", f"{trigger.batch_size!r} is not between 1 and 5000")
    if not trigger.poll_interval < trigger.visibility_timeout <= 7 * 24 * 3600:
        raise AzureMLConfigurationError(
            "visibility_timeout", f"{trigger.visibility_timeout!r} must exceed poll_interval and be at most 7 days"
        )
    if trigger.max_deliveries < 1:
        raise AzureMLConfigurationError("max_deliveries", f"{trigger.max_deliveries!r} must be at least 1")
    if trigger.retry_delay <= 0 or trigger.max_retry_delay < trigger.retry_delay:
        raise AzureMLConfigurationError("retry_delay", "must be > 0 and not above max_retry_delay")


async def move_to_poison(
    hook: BlobQueueHook, queue: QueueClient, message: QueueMessage, poison: str, why: str, log: Any
) -> None:
    """Copy the message verbatim to the poison queue (created on first use), then delete it here."""
    from azure.core.exceptions import ResourceExistsError

    target = await hook.get_queue_client(poison)
    with contextlib.suppress(ResourceExistsError):
        await target.create_queue()
    await target.send_message(message.content, time_to_live=-1)
    await queue.delete_message(message)
    log.warning("Moved message %s of %r to %r: %s", message.id, queue.queue_name, poison, why)


async def delete_message(queue: QueueClient, message_id: str, pop_receipt: str, log: Any) -> None:
    """Delete one received message; one already gone or received again elsewhere is only logged."""
    from azure.core.exceptions import HttpResponseError

    try:
        await queue.delete_message(message_id, pop_receipt)
    except HttpResponseError as err:
        if err.status_code not in (400, 404):
            raise
        log.warning(
            "Message %s of %r was not deleted (%s); it will be delivered again",
            message_id,
            queue.queue_name,
            err.error_code,
        )


def classify_queue_error(err: Exception, queue_name: str) -> Exception:
    """A storage error as a configuration error naming what to fix, or a transient one."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    if isinstance(err, HttpResponseError) and err.status_code is not None:
        code = getattr(err, "error_code", None) or err.reason
        if code == "QueueNotFound":
            return AzureMLConfigurationError("queue_name", f"queue {queue_name!r} does not exist")
        if err.status_code in TRANSIENT_STATUS_CODES:
            return QueueTransientError(f"the queue answered {err.status_code}: {err.reason}")
        return AzureMLConfigurationError(
            "wasb_conn_id", f"storage refused reading queue {queue_name!r} ({err.status_code} {code}); check access"
        )
    if isinstance(err, ServiceRequestError):
        # The request could not be sent at all (no such host, connection refused): a wrong endpoint, said once.
        return AzureMLConfigurationError(
            "wasb_conn_id", f"the queue endpoint of {queue_name!r} cannot be reached: {err}"
        )
    return QueueTransientError(f"{type(err).__name__}: {err}")
