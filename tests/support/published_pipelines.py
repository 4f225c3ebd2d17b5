"""The v1 pipelines REST surface of the emulator: its path prefix, and a pipeline published on it."""

from __future__ import annotations

from tests.support.workspace import DIGITS_ENDPOINT


def v1(emulator) -> str:
    extra = emulator.connection["extra"]
    return (
        f"/pipelines/v1.0/subscriptions/{extra['subscription_id']}/resourceGroups/{extra['resource_group']}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{extra['workspace_name']}"
    )


def publish(emulator, **fields) -> dict:
    body = {"endpoint": DIGITS_ENDPOINT, "parameters": {"threshold": 0.5}, **fields}
    return emulator.request("POST", "/_emulator/pipelines", json=body).json()
