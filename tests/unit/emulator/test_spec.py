"""The batch job spec: defaults, validation, JSON round trip; and the job log's environment check."""

from __future__ import annotations

import json

import pytest

from airflow_batchml_emulator.scoring.joblog import (
    MAX_LINE_CHARS,
    SCRIPT_OUTPUT_LIMIT,
    TRUNCATED_NOTE,
    JobLog,
    missing_pip_packages,
)
from airflow_batchml_emulator.scoring.spec import BatchJobSpec, JobError, JobStatus


def _spec(**settings) -> BatchJobSpec:
    values = {
        "name": "job-1",
        "code_uri": "azureml://datastores/workspaceblobstore/paths/code",
        "scoring_script": "score.py",
        "inputs": [{"type": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/in"}],
        **settings,
    }
    return BatchJobSpec(**values)


def test_defaults_are_azures():
    spec = _spec()

    assert (spec.mini_batch_size, spec.max_retries, spec.timeout, spec.error_threshold) == (10, 3, 30, -1)
    assert (spec.output_action, spec.output_file_name) == ("append_row", "predictions.csv")
    assert spec.resolved_output_uri == "azureml://datastores/workspaceblobstore/paths/azureml/job-1/score/"


def test_round_trips_through_json_and_ignores_unknown_keys():
    spec = _spec(environment_variables={"A": "1"}, instance_count=2, max_concurrency_per_instance=3)

    data = json.loads(json.dumps(spec.to_dict()))
    data["from_a_newer_server"] = True

    assert BatchJobSpec.from_dict(data) == spec
    assert spec.worker_count == 6


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"name": "../escape"}, "job name"),
        ({"mini_batch_size": 0}, "mini_batch_size"),
        ({"instance_count": 0}, "instance_count"),
        ({"timeout": 0}, "timeout"),
        ({"error_threshold": -2}, "error_threshold"),
        ({"output_action": "append_rows"}, "output_action"),
        ({"logging_level": "verbose"}, "logging_level"),
        ({"inputs": [{"type": "mltable", "uri": "x"}]}, "uri_folder"),
    ],
)
def test_invalid_settings_name_the_field(settings, field):
    with pytest.raises(JobError, match=field) as raised:
        _spec(**settings)

    assert raised.value.code == "InvalidJobSpec"


def test_statuses_are_spelled_as_azure_does():
    assert {"Completed", "Failed", "Canceled"} == JobStatus.TERMINAL_STATUSES
    assert JobStatus.CANCELED == "Canceled"
    assert not JobStatus.TERMINAL_STATUSES & JobStatus.ACTIVE_STATUSES


def test_missing_pip_packages_checks_only_the_pip_section():
    conda = """
    channels: [conda-forge]
    dependencies:
      - python=3.11
      - not-a-conda-check
      - pip:
        - --extra-index-url https://example.invalid/simple
        - pandas>=2.0
        - scikit-learn[alldeps]==1.5
        - git+https://example.invalid/repo.git
        - no-such-package-here~=0.1
    """

    assert missing_pip_packages(conda) == ["no-such-package-here"]


def test_missing_pip_packages_of_an_empty_file():
    assert missing_pip_packages("") == []


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def append_log(self, job_name: str, text: str) -> None:
        self.lines.append(text)


def test_job_log_drops_lines_below_the_level_but_keeps_script_output():
    sink = _Lines()
    job_log = JobLog(sink, "job-1", "WARNING")

    job_log.info("hidden %d", 1)
    job_log.warning("shown %d", 2)
    job_log.script_output(0, "printed")

    assert len(sink.lines) == 2
    assert sink.lines[0].endswith("WARNING shown 2\n")
    assert sink.lines[1].endswith("[worker 0] printed\n")


def test_job_log_caps_script_output_and_clips_long_engine_lines_but_keeps_them():
    sink = _Lines()
    job_log = JobLog(sink, "job-1", "info")

    for _ in range(SCRIPT_OUTPUT_LIMIT // 1000 + 1):
        job_log.script_output(0, "x" * 1000)
    job_log.script_output(1, "short, but after the cap")
    job_log.error("failed: %s", "e" * MAX_LINE_CHARS)

    text = "".join(sink.lines)
    assert text.count(TRUNCATED_NOTE) == 1
    assert "after the cap" not in text
    assert len(text) - len(sink.lines[-1]) - len(sink.lines[-2]) <= SCRIPT_OUTPUT_LIMIT
    assert sink.lines[-1].endswith("[... 8 more characters of this line dropped]\n")


def test_a_failing_reporter_does_not_break_the_job_log():
    class Broken:
        def append_log(self, job_name: str, text: str) -> None:
            raise RuntimeError("store is down")

    JobLog(Broken(), "job-1", "info").error("still fine")
