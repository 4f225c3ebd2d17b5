from __future__ import annotations

import pytest

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.names import check_name


@pytest.mark.parametrize("name", ["abc", "digits-batch", "A1-b2", "a" * 32])
def test_valid_endpoint_names(name):
    assert check_name("endpoint", name) == name


@pytest.mark.parametrize("name", ["ab", "1abc", "a" * 33, "has_underscore", "ends-", "spa ce", "abc\n", "", None, 42])
def test_invalid_endpoint_names_name_the_field_and_rule(name):
    with pytest.raises(AzureMLConfigurationError) as err:
        check_name("endpoint", name, "endpoint_name")
    assert err.value.field == "endpoint_name"
    assert "3-32 characters" in str(err.value)


@pytest.mark.parametrize("name", ["cpu", "cpu-cluster", "a-very-long-cluster-name", "Gpu-2"])
def test_compute_names_are_3_to_24_characters_starting_with_a_letter(name):
    assert check_name("compute", name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 25, "1cpu", "-cpu", "cpu_cluster", "cpu.1", "cpu\n"])
def test_invalid_compute_names_name_the_rule(name):
    with pytest.raises(AzureMLConfigurationError, match="3-24 characters"):
        check_name("compute", name)


def test_job_rules():
    assert check_name("job", "dag_task_2026-01-01") == "dag_task_2026-01-01"
    with pytest.raises(AzureMLConfigurationError, match="job_name"):
        check_name("job", "../etc")
    with pytest.raises(AzureMLConfigurationError, match="job_name"):
        check_name("job", "dag_task\n")
