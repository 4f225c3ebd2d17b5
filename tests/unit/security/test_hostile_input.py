"""Hostile input, property-based: every argument either works or fails with a typed error naming a field.

What is generated: operator and hook arguments (inputs, overrides, names, output path, job name), deployment
YAML (random mappings over the real field names, and random text), blob names (unicode, spaces, very long,
``..``) through change detection and job naming, and globs. The connection points at a port where nothing
listens, and the hook's client is a tripwire that fails at once: reaching it means every local check
passed, so an ``AzureMLConfigurationError`` proves the check came before any remote call. Any other
exception type (a bare ``TypeError`` from deep inside the SDK, say) fails the property.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_batchml.batch_job import BatchInput, BatchJobOverrides, check_output_path
from airflow_batchml.changes import BlobEntry, BlobFolder, compile_glob, describe
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLRemoteError
from airflow_batchml.hooks.azure_ml import AzureMLHook
from airflow_batchml.hooks.deployment_spec import load_deployment
from airflow_batchml.job_names import change_job_name, deterministic_job_name, task_job_name
from airflow_batchml.names import check_name
from airflow_batchml.operators.batch_scoring import AzureMLInvokeBatchEndpointOperator
from airflow_batchml_emulator.scoring.spec import JobError
from airflow_batchml_emulator.stack import azurite_connection_string
from airflow_batchml_emulator.storage import BlobLocation, JobStorage

NOWHERE = "https://127.0.0.1:9/"
# The example budget and randomness come from the profile (tests/conftest.py: "ci" or "fuzz").
BOUNDED = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Slow examples (each builds an SDK entity) get half the profile's budget.
FEW = settings(BOUNDED, max_examples=max(1, settings.default.max_examples // 2))


class RemoteCallAttempted(AzureMLRemoteError):
    """Raised by the tripwire client: every local check passed."""


class Tripwire:
    def __getattr__(self, name):
        raise RemoteCallAttempted(f"remote call attempted: {name}")


@pytest.fixture
def offline(azure_ml_conn, monkeypatch):
    """An unreachable connection, and a hook client that trips on first use."""
    azure_ml_conn(resource_manager_url=NOWHERE, token="t0ken-value")
    monkeypatch.setattr(AzureMLHook, "get_client", lambda self: Tripwire())


# Strings a user, a template or an attacker might pass: edge characters, unicode, paths, URIs, huge.
NASTY = st.sampled_from(
    [
        "",
        " ",
        "..",
        "../x",
        "/etc/passwd",
        "a" * 300,
        "digits-batch",
        "Digits_Batch",
        "ü-endpoint",
        "name\x00null",
        "x;rm -rf /",
        "{{ params.x }}",
        "azureml://datastores/d/paths/x/",
        "azureml://datastores/d/paths/../../x/",
        "azureml:data:1",
        "azureml:data@latest",
        "azureml:",
        "https://host/c/x.csv?sig=abc",
        "http://[broken",
        "https://[::1",
        "s3://bucket/x",
        "file:///nonexistent",
        "C:\\data\\x",
    ]
)
TEXT = NASTY | st.text(max_size=40) | st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=40)
SCALARS = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | TEXT
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
OVERRIDE_KEYS = st.sampled_from(list(BatchJobOverrides.__dataclass_fields__)) | TEXT | st.integers()


@BOUNDED
@given(value=VALUES)
def test_batch_input_parses_or_names_the_field(value):
    try:
        parsed = BatchInput.parse(value, "inputs.x")
    except AzureMLConfigurationError as err:
        assert err.field.startswith("inputs.x")
        return
    assert parsed.type in ("uri_folder", "uri_file") and parsed.uri.strip()


@BOUNDED
@given(value=st.dictionaries(OVERRIDE_KEYS, SCALARS, max_size=4) | VALUES)
def test_overrides_parse_or_name_the_field(value):
    try:
        parsed = BatchJobOverrides.parse(value)
    except AzureMLConfigurationError as err:
        assert err.field == "overrides" or err.field.startswith("overrides.")
        return
    for entry in parsed.to_params_override():
        ((key, item),) = entry.items()
        assert isinstance(key, str) and isinstance(item, int | str)


@BOUNDED
@given(kind=st.sampled_from(["endpoint", "deployment", "compute", "job", "schedule"]), value=VALUES)
def test_names_are_valid_or_refused(kind, value):
    try:
        assert check_name(kind, value, "the_field") == value
    except AzureMLConfigurationError as err:
        assert err.field == "the_field"


@BOUNDED
@given(path=VALUES)
def test_output_paths_are_remote_and_stay_in_their_folder_or_are_refused(path):
    try:
        check_output_path(path)
    except AzureMLConfigurationError as err:
        assert err.field == "output_path"
        return
    assert isinstance(path, str) and path.lower().startswith(("azureml://", "https://", "http://"))
    assert ".." not in path.replace("\\", "/").split("/")


BLOB_NAMES = (
    st.text(min_size=1, max_size=80)
    | st.text(min_size=900, max_size=1100)
    | st.lists(st.sampled_from(["..", ".", " ", "a b", "ü", "日本", "x.png", "%2e", ""]), min_size=1, max_size=8).map(
        "/".join
    )
)


@BOUNDED
@given(prefix=st.text(max_size=80), name=BLOB_NAMES, etag=st.text(max_size=40), container=st.text(max_size=20))
def test_blob_names_always_give_valid_job_names(prefix, name, etag, container):
    assert check_name("job", change_job_name(prefix, container, name, etag))
    assert check_name("job", deterministic_job_name(prefix, name))
    assert check_name("job", task_job_name(prefix, name, etag, -1, [name, {"k": name}]))
    entry = BlobEntry(name=name, etag=etag or '"0x1"', last_modified=datetime(2026, 1, 1, tzinfo=UTC), size=1)
    for datastore, account in (("workspaceblobstore", None), (None, "http://127.0.0.1:10000/acct")):
        record = describe(
            "added", entry, container="c", account_url=account, datastore=datastore, job_prefix=prefix or "score"
        )
        assert check_name("job", record["job_name"])
        assert record["name"] == name and record["type"] == "uri_file"
    BlobFolder(prefix=name[:50], recursive=True).accepts(entry)


@BOUNDED
@given(name=BLOB_NAMES.filter(lambda name: not name.startswith("/")))
def test_a_change_record_is_an_input_naming_exactly_its_blob(name):
    """Both URI forms pass the operator's checks and resolve, decoded once by the emulator, to the blob itself
    (or are refused there, for a '..' segment); never to another blob that the name decodes to."""
    storage = JobStorage(azurite_connection_string(10000), {"workspaceblobstore": "c"})
    entry = BlobEntry(name=name, etag='"0x1"', last_modified=datetime(2026, 1, 1, tzinfo=UTC), size=1)
    for datastore, account in (("workspaceblobstore", None), (None, "http://127.0.0.1:10000/devstoreaccount1/")):
        record = describe("added", entry, container="c", account_url=account, datastore=datastore, job_prefix="s")
        assert BatchInput.parse(record).uri == record["uri"]
        if ".." in name.replace("\\", "/").split("/"):
            with pytest.raises(JobError):
                storage.resolve(record["uri"])
        else:
            assert storage.resolve(record["uri"]) == BlobLocation("c", name)


@BOUNDED
@given(pattern=VALUES)
def test_globs_compile_or_name_the_field(pattern):
    try:
        compiled = compile_glob(pattern)
    except AzureMLConfigurationError as err:
        assert err.field == "glob"
        return
    compiled.fullmatch("a/b.csv")


DEPLOYMENT_FIELDS = {
    "name": TEXT,
    "endpoint_name": TEXT,
    "type": st.sampled_from(["model", "pipeline", "x"]) | VALUES,
    "model": VALUES,
    "code_configuration": st.fixed_dictionaries({}, optional={"code": VALUES, "scoring_script": VALUES}) | VALUES,
    "environment": VALUES,
    "compute": VALUES,
    "resources": st.fixed_dictionaries({}, optional={"instance_count": VALUES}) | VALUES,
    "settings": st.fixed_dictionaries(
        {},
        optional={
            key: VALUES
            for key in (
                "mini_batch_size",
                "output_action",
                "output_file_name",
                "retry_settings",
                "logging_level",
                "max_concurrency_per_instance",
                "error_threshold",
                "environment_variables",
            )
        },
    )
    | VALUES,
}
DEPLOYMENTS = st.fixed_dictionaries({}, optional=DEPLOYMENT_FIELDS) | st.dictionaries(TEXT, VALUES, max_size=4)


def yaml_text(document) -> str:
    return yaml.safe_dump(document, allow_unicode=True)


@FEW
@given(text=DEPLOYMENTS.map(yaml_text) | st.text(max_size=200))
def test_deployment_yaml_loads_or_names_the_field(tmp_path, text):
    path = tmp_path / "deployment.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_deployment(path)
    except AzureMLConfigurationError as err:
        assert err.field.startswith("deployment")


def context():
    ti = SimpleNamespace(
        dag_id="d", task_id="t", run_id="r", map_index=-1, xcom_push=lambda **kw: None, xcom_pull=lambda **kw: None
    )
    return {"ti": ti}


INVOKE_FIELDS = ("inputs", "overrides", "endpoint_name", "deployment_name", "output_path", "job_name", "experiment")


@BOUNDED
@given(
    endpoint=TEXT,
    deployment=st.none() | TEXT,
    inputs=VALUES,
    overrides=st.none() | st.dictionaries(OVERRIDE_KEYS, SCALARS, max_size=3) | VALUES,
    output_path=st.none() | VALUES,
    job_name=st.none() | TEXT,
    experiment=st.none() | TEXT,
)
def test_invoke_operator_fails_typed_before_any_remote_call(
    offline, endpoint, deployment, inputs, overrides, output_path, job_name, experiment
):
    operator = AzureMLInvokeBatchEndpointOperator(
        task_id="score",
        endpoint_name=endpoint,
        deployment_name=deployment,
        inputs=inputs,
        overrides=overrides,
        output_path=output_path,
        job_name=job_name,
        experiment_name=experiment,
    )
    try:
        operator.execute(context())
    except AzureMLConfigurationError as err:
        assert err.field.startswith(INVOKE_FIELDS), err.field
    except RemoteCallAttempted:
        pass  # every argument passed its local check


@BOUNDED
@given(
    overrides=st.dictionaries(OVERRIDE_KEYS, SCALARS, max_size=3) | VALUES,
    output_path=st.none() | VALUES,
    experiment=st.none() | TEXT,
)
def test_hook_invoke_overrides_fail_typed_before_any_remote_call(offline, overrides, output_path, experiment):
    hook = AzureMLHook()
    try:
        hook.invoke_batch_endpoint(
            "digits-batch",
            {"images": "azureml://datastores/workspaceblobstore/paths/x/"},
            output_path=output_path,
            overrides=overrides,
            experiment_name=experiment,
        )
    except AzureMLConfigurationError as err:
        assert err.field.startswith(("overrides", "output_path", "experiment_name")), err.field
    except RemoteCallAttempted:
        pass
