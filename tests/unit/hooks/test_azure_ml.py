"""AzureMLHook against a recording stand-in for ``MLClient``: what the hook hands the SDK."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.azure_ml import AzureMLHook


class Recorder:
    """An ``ml_client.<operations>`` whose ``begin_*`` calls record their argument and finish at once."""

    def __init__(self) -> None:
        self.sent: list[object] = []

    def __getattr__(self, name: str):
        def begin(entity, *args, **kwargs):
            self.sent.append(entity)
            return SimpleNamespace(result=lambda: entity)

        return begin


@pytest.fixture
def hook():
    hook = AzureMLHook()
    hook.__dict__["_client"] = SimpleNamespace(compute=Recorder(), schedules=Recorder())
    return hook


@pytest.mark.parametrize(
    ("tier", "sdk", "wire"),
    [
        ("Dedicated", "dedicated", "Dedicated"),
        ("LowPriority", "low_priority", "LowPriority"),
        ("low_priority", "low_priority", "LowPriority"),
        ("DEDICATED", "dedicated", "Dedicated"),
    ],
)
def test_a_compute_tier_is_accepted_in_any_case_and_sent_as_the_sdk_spells_it(hook, tier, sdk, wire):
    hook.ensure_compute("cpu-cluster", tier=tier)
    (compute,) = hook.get_client().compute.sent
    assert compute.tier == sdk
    assert compute._to_rest_object().properties.properties.vm_priority == wire


@pytest.mark.parametrize("tier", ["spot", "", None, 1])
def test_an_unknown_compute_tier_names_the_field(hook, tier):
    with pytest.raises(AzureMLConfigurationError, match="dedicated, low_priority") as err:
        hook.ensure_compute("cpu-cluster", tier=tier)
    assert err.value.field == "tier"
    assert not hook.get_client().compute.sent


def test_cancel_returns_once_the_request_is_accepted_without_waiting_for_the_operation(hook):
    sent: list[tuple[str, dict]] = []

    def begin_cancel(name, **kwargs):
        sent.append((name, kwargs))
        return SimpleNamespace(result=lambda: pytest.fail("waited for the cancel operation"))

    hook.get_client().jobs = SimpleNamespace(begin_cancel=begin_cancel)
    hook.cancel_job("batchjob-1")
    assert sent == [("batchjob-1", {"polling": False})]


def test_the_hook_reads_deployment_ports_not_the_invoke_mixins_stub():
    """The mixins' bases are ordered so that the provided method, not a stub, is the one a hook calls."""
    from airflow_batchml.hooks.component_ports import ComponentPortOperations

    assert AzureMLHook.deployment_ports is ComponentPortOperations.deployment_ports
