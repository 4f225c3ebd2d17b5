"""v2 schedules: the arguments checked and turned into a JobSchedule, and a schedule read into its XCom view.

Listing, enabling, disabling and deleting (an enabled schedule is disabled first) are remote and run against the
emulator in tests/integration/emulator/test_schedules.py and tests/integration/hooks/test_azure_ml_hook.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from azure.ai.ml.entities import CronTrigger, JobSchedule, RecurrenceTrigger

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.hooks.schedules import schedule_dict


class Recorder:
    """An ``ml_client.schedules`` whose ``begin_*`` calls record their argument and finish at once.

    A stand-in for the client, not for the service: it answers with what it was sent, so a test sees exactly
    the entity the hook built; what Azure ML answers is left to the integration tests.
    """

    def __init__(self) -> None:
        self.sent: list[object] = []

    def __getattr__(self, name: str):
        def begin(entity, *args, **kwargs):
            self.sent.append(entity)
            return SimpleNamespace(result=lambda: entity)

        return begin


class Tripwire:
    """A client that fails the test when touched: the name check must come before it."""

    def __getattr__(self, name: str):
        pytest.fail(f"the client was used ({name})")


@pytest.fixture
def hook():
    hook = AzureMLHook()
    hook.__dict__["_client"] = SimpleNamespace(schedules=Recorder())
    return hook


def sent(hook) -> list[object]:
    return hook.get_client().schedules.sent


def refused_field(hook, **arguments) -> str:
    arguments = {"name": "nightly", "create_job": "azureml:j", "cron": "0 2 * * *", **arguments}
    with pytest.raises(AzureMLConfigurationError) as raised:
        hook.create_or_update_schedule(**arguments)
    assert not sent(hook), "a bad argument reached the client"
    return raised.value.field


def test_a_cron_schedule_is_built_with_its_time_zone_and_description(hook):
    answer = hook.create_or_update_schedule(
        name="nightly", create_job="azureml:score", cron="0 2 * * *", time_zone="Europe/Paris", description="d"
    )
    (schedule,) = sent(hook)
    assert (schedule.name, schedule.create_job, schedule.description) == ("nightly", "azureml:score", "d")
    assert isinstance(schedule.trigger, CronTrigger)
    assert (schedule.trigger.expression, schedule.trigger.time_zone) == ("0 2 * * *", "Europe/Paris")
    assert answer["trigger_type"] == "cron"
    assert answer["cron"] == "0 2 * * *"


def test_a_recurrence_schedule_is_built_from_frequency_and_interval(hook):
    answer = hook.create_or_update_schedule(name="quarterly", create_job="azureml:j", frequency="month", interval=3)
    (schedule,) = sent(hook)
    assert isinstance(schedule.trigger, RecurrenceTrigger)
    assert (schedule.trigger.frequency, schedule.trigger.interval, schedule.trigger.time_zone) == ("month", 3, "UTC")
    assert (answer["trigger_type"], answer["frequency"], answer["interval"]) == ("recurrence", "month", 3)


@pytest.mark.parametrize("frequency", ["Minute", "HOUR", "day"])
def test_a_recurrence_frequency_is_accepted_in_any_case(hook, frequency):
    hook.create_or_update_schedule(name="nightly", create_job="azureml:j", frequency=frequency, interval=5)
    (schedule,) = hook.get_client().schedules.sent
    assert schedule.trigger.frequency == frequency.lower()
    assert schedule.trigger._to_rest_object().frequency.lower() == frequency.lower()


def test_an_entity_is_sent_as_given(hook):
    schedule = JobSchedule(name="given", trigger=CronTrigger(expression="*/5 * * * *"), create_job="azureml:j")
    assert hook.create_or_update_schedule(schedule)["name"] == "given"
    assert sent(hook) == [schedule]


@pytest.mark.parametrize("name", [None, "", "bad name", "-leading", "x" * 256])
def test_a_bad_schedule_name_names_the_field(hook, name):
    assert refused_field(hook, name=name) == "name"


@pytest.mark.parametrize("create_job", [None, ""])
def test_a_schedule_without_a_job_names_create_job(hook, create_job):
    assert refused_field(hook, create_job=create_job) == "create_job"


@pytest.mark.parametrize(
    "trigger",
    [{"cron": None}, {"cron": ""}, {"frequency": "day", "interval": 1}],
    ids=["neither", "empty-cron", "both"],
)
def test_exactly_one_of_cron_and_frequency(hook, trigger):
    assert refused_field(hook, **trigger) == "cron"


@pytest.mark.parametrize("frequency", ["fortnight", "minutes", "daily", 7])
def test_an_unknown_frequency_lists_the_accepted_ones(hook, frequency):
    with pytest.raises(AzureMLConfigurationError, match="minute, hour, day, week, month") as raised:
        hook.create_or_update_schedule(name="n", create_job="azureml:j", frequency=frequency, interval=1)
    assert raised.value.field == "frequency"
    assert not sent(hook)


@pytest.mark.parametrize("interval", [None, 0, -1, 1.5, "5", True])
def test_the_interval_is_a_whole_number_of_at_least_one(hook, interval):
    assert refused_field(hook, cron=None, frequency="hour", interval=interval) == "interval"


@pytest.mark.parametrize("operation", ["enable_schedule", "disable_schedule", "delete_schedule"])
@pytest.mark.parametrize("name", ["", "bad name", None])
def test_a_bad_name_is_refused_before_the_client_is_built(operation, name):
    hook = AzureMLHook()
    hook.__dict__["_client"] = Tripwire()
    with pytest.raises(AzureMLConfigurationError) as raised:
        getattr(hook, operation)(name)
    assert raised.value.field == "schedule_name"


def test_a_schedule_yaml_is_loaded_and_sent(hook, tmp_path):
    path = tmp_path / "schedule.yml"
    path.write_text(
        "name: nightly-yaml\n"
        "trigger:\n  type: cron\n  expression: '0 2 * * *'\n  time_zone: UTC\n"
        "create_job: azureml:job1\n"
    )
    assert hook.create_or_update_schedule(str(path))["cron"] == "0 2 * * *"
    (schedule,) = sent(hook)
    assert (schedule.name, schedule.create_job) == ("nightly-yaml", "job1")  # the SDK loader drops azureml:


def test_a_cron_schedule_reads_as_its_xcom_view():
    # is_enabled and provisioning_state as the SDK sets them on an entity read from the service
    trigger = CronTrigger(expression="0 2 * * *")
    schedule = JobSchedule(
        name="nightly", trigger=trigger, create_job="azureml:j", is_enabled=True, provisioning_state="Succeeded"
    )
    assert schedule_dict(schedule) == {
        "name": "nightly",
        "is_enabled": True,
        "trigger_type": "cron",
        "cron": "0 2 * * *",
        "frequency": None,
        "interval": None,
        "provisioning_state": "Succeeded",
    }


def test_a_recurrence_schedule_reads_as_its_xcom_view():
    trigger = RecurrenceTrigger(frequency="week", interval=2)
    view = schedule_dict(JobSchedule(name="biweekly", trigger=trigger, create_job="azureml:j"))
    assert (view["trigger_type"], view["cron"], view["frequency"], view["interval"]) == ("recurrence", None, "week", 2)
    assert (view["is_enabled"], view["provisioning_state"]) == (False, None)


def test_a_schedule_without_a_trigger_has_no_trigger_type():
    view = schedule_dict(JobSchedule(name="s", trigger=None, create_job="azureml:j"))
    assert (view["trigger_type"], view["cron"], view["frequency"], view["interval"]) == (None, None, None, None)
