"""WasbBlobChangeSensor: inside a DAG, wait for blobs added or modified since this task last succeeded.

Returns change records as XCom, ready as invoke inputs with deterministic job names. The watermark is the
XCom of the previous successful run of this task (a failed run pushes nothing that is read, so nothing is
skipped). Lists through the trigger's code, so poke, reschedule and deferrable modes agree. Why:
``docs/change-detection.md``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, TaskInstanceState, conf

from airflow_batchml.changes import DEFAULT_SETTLE_SECONDS, ChangeSet, compile_glob, initial_state
from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.templating import stand_in, unrendered
from airflow_batchml.triggers.blob_changes import BlobListingTransientError, WasbBlobChangeTrigger, close_hook
from airflow_batchml.triggers.blob_listing import check_source

if TYPE_CHECKING:
    from airflow.sdk import Context

STATE_XCOM_KEY = "blob_change_state"


class WasbBlobChangeSensor(BaseSensorOperator):
    """Succeed with the list of blobs added or modified in a folder since this task's last success.

    Name the folder by ``container_name`` (+ ``prefix``, ``wasb_conn_id``) or by ``datastore`` (+ ``path``,
    ``azure_ml_conn_id``), not both.

    :param container_name: The container to watch. (templated)
    :param prefix: The folder inside it; empty for the container root. (templated)
    :param wasb_conn_id: The WASB connection of the storage account (default ``wasb_default``). (templated)
    :param recursive: Include blobs in sub-folders.
    :param glob: Only blobs whose folder-relative name matches, e.g. ``"*.csv"``. (templated)
    :param include_existing: With no successful run yet, report every blob already in the folder.
    :param ignore_same_content: A blob written again with the same bytes (same Content-MD5) is no change
        (the saved state then holds every blob's MD5).
    :param settle_seconds: Storage clock tolerance (see ``airflow_batchml.changes``).
    :param datastore: Without ``container_name``: the Azure ML datastore to watch, resolved through the
        workspace. With it: the datastore of that container, so records carry ``azureml://`` URIs. (templated)
    :param path: The folder inside the datastore (datastore form); empty for its root. (templated)
    :param azure_ml_conn_id: The ``azure_ml`` connection whose workspace holds the datastore (datastore
        form; default ``azure_ml_default``). (templated)
    :param job_name_prefix: Readable start of the records' job names; ``<dag_id>-<task_id>`` when None.
    :param deferrable: Wait in the triggerer.
    """

    template_fields: Sequence[str] = (
        "container_name",
        "prefix",
        "glob",
        "wasb_conn_id",
        "datastore",
        "path",
        "azure_ml_conn_id",
    )
    ui_color = "#0078d4"

    def __init__(
        self,
        *,
        container_name: str | None = None,
        prefix: str = "",
        wasb_conn_id: str | None = None,
        recursive: bool = False,
        glob: str | None = None,
        include_existing: bool = False,
        ignore_same_content: bool = False,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        datastore: str | None = None,
        path: str | None = None,
        azure_ml_conn_id: str | None = None,
        job_name_prefix: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.container_name = container_name
        self.prefix = prefix
        self.wasb_conn_id = wasb_conn_id
        self.recursive = recursive
        self.glob = glob
        self.include_existing = include_existing
        self.ignore_same_content = ignore_same_content
        self.settle_seconds = settle_seconds
        self.datastore = datastore
        self.path = path
        self.azure_ml_conn_id = azure_ml_conn_id
        self.job_name_prefix = job_name_prefix
        self.deferrable = deferrable
        self.state: dict[str, Any] | None = None
        if glob is not None and not unrendered(glob):
            compile_glob(glob)
        # Which arguments are given decides the form; templated values are checked once rendered.
        source = (container_name, prefix, wasb_conn_id, datastore, path, azure_ml_conn_id)
        check_source(*map(stand_in, source))

    def execute(self, context: Context) -> Any:
        self.state = self.previous_state(context)
        if not self.deferrable:
            return super().execute(context)
        found = self.poke(context)
        if found:
            return found.xcom_value
        self.defer(
            trigger=self.build_trigger(self.state),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) if self.timeout is not None else None,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        try:
            changes, records = asyncio.run(self._poll())
        except BlobListingTransientError as err:
            self.log.warning("Listing %s failed, will retry: %s", self._where(), err)
            return PokeReturnValue(False)
        if not records:
            return PokeReturnValue(False)
        return PokeReturnValue(True, self._succeed(context, records, changes.state))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Resume from the trigger: its event holds the changed blobs and the state that follows them."""
        if event.get("status") != "changes":
            raise AzureMLConfigurationError("blob change sensor", event.get("message") or f"bad event {event!r}")
        return self._succeed(context, event["blobs"], event["state"])

    def previous_state(self, context: Context) -> dict[str, Any] | None:
        """The state the last successful run pushed, or where changes start counting for a first run."""
        ti = context["ti"]
        previous = ti.get_previous_ti(state=TaskInstanceState.SUCCESS, map_index=ti.map_index)
        if previous is not None:
            stored = ti.xcom_pull(
                task_ids=ti.task_id, key=STATE_XCOM_KEY, run_id=previous.run_id, map_indexes=ti.map_index
            )
            if stored:
                return stored
        if self.include_existing:
            return None
        since = ti.get_first_reschedule_date(context) if self.reschedule else None
        return initial_state(since or ti.start_date)

    def build_trigger(self, state: dict[str, Any] | None) -> WasbBlobChangeTrigger:
        """The trigger this sensor defers to (and lists through): same folder, options and state."""
        return WasbBlobChangeTrigger(
            container_name=self.container_name,
            prefix=self.prefix,
            wasb_conn_id=self.wasb_conn_id,
            recursive=self.recursive,
            glob=self.glob,
            poll_interval=self.poke_interval,
            include_existing=self.include_existing,
            ignore_same_content=self.ignore_same_content,
            settle_seconds=self.settle_seconds,
            datastore=self.datastore,
            path=self.path,
            azure_ml_conn_id=self.azure_ml_conn_id,
            job_name_prefix=self.job_name_prefix or f"{self.dag_id}-{self.task_id}",
            state=state,
            emit_state=True,
        )

    async def _poll(self) -> tuple[ChangeSet, list[dict[str, Any]]]:
        trigger = self.build_trigger(self.state)
        hook = trigger.make_hook()
        try:
            changes, account_url = await trigger.poll(hook, self.state)
        finally:
            await close_hook(hook)
        events = trigger.events(changes, account_url)
        return changes, [blob for event in events for blob in event["blobs"]]

    def _succeed(self, context: Context, records: list[dict[str, Any]], state: dict[str, Any]) -> list[Any]:
        context["ti"].xcom_push(key=STATE_XCOM_KEY, value=state)
        self.log.info("%d changed blob(s) in %s", len(records), self._where())
        return records

    def _where(self) -> str:
        if self.container_name is None:
            return f"datastore {self.datastore} path {self.path or ''}"
        return f"{self.container_name}/{self.prefix}"
