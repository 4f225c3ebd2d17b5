"""EventGridBlobTrigger as the triggerer runs a watcher: in Airflow's shared-stream ack mode, driven by
Airflow's own ``SharedStreamManager`` the way ``TriggerRunner.run_trigger`` drives it (subscribe, filter,
bind each event as it is queued for the supervisor, resume the filter at once, confirm once stored).

The runner resumes a trigger as soon as its event is queued, before the database has it; the message
must stay in the queue until the confirmation (the end-to-end proof with a killed triggerer is
``tests/e2e/test_blob_event_watcher.py``).
"""

from __future__ import annotations

import asyncio

from airflow.triggers.shared_stream import SharedStreamManager

from tests.support.blob_triggers import TIMEOUT, land, queued, trigger

TRIGGER_ID = 1
UNCONFIRMED = 1.0  # 20 polls: a trigger that deletes once resumed would have deleted by then


async def test_a_message_is_deleted_only_once_its_event_is_confirmed_stored(wasb_conn, container, queue, publisher):
    await land(container, publisher, "in/acked.csv")
    watcher = trigger(queue, container)
    key = watcher.shared_stream_key()
    manager = SharedStreamManager()
    events = watcher.filter_shared_stream(manager.subscribe(trigger_id=TRIGGER_ID, trigger=watcher, key=key))
    resumed = None
    try:
        event = (await asyncio.wait_for(anext(events), TIMEOUT)).payload
        seq = manager.bind_pending_event(trigger_id=TRIGGER_ID, key=key)  # queued for the supervisor
        resumed = asyncio.create_task(anext(events))  # the runner moves on at once
        await asyncio.sleep(UNCONFIRMED)
        assert await queued(queue) == 1  # not stored yet: the message stays
        manager.confirm_persisted([seq])
        async with asyncio.timeout(TIMEOUT):
            while await queued(queue):
                await asyncio.sleep(0.05)
    finally:
        if resumed is not None:
            resumed.cancel()
            await asyncio.gather(resumed, return_exceptions=True)
        await events.aclose()
        await manager.unsubscribe(TRIGGER_ID, key)
    assert [blob["name"] for blob in event["blobs"]] == ["in/acked.csv"]
    assert seq is not None


async def test_the_sensor_trigger_stays_out_of_ack_mode(queue, container):
    """The sensor's task deletes what it received (``emit_receipts``), so its trigger runs ``run()``."""
    assert trigger(queue, container, emit_receipts=True).shared_stream_key() is None
    assert trigger(queue, container).shared_stream_key() == trigger(queue, container).shared_stream_key()
