"""Canary secrets: credentials placed in both connections never show up where a user or an attacker can read.

A stack of its own: Azurite with a custom account whose key is a canary (``AZURITE_ACCOUNTS``), and the
emulator requiring a canary bearer token. The ``azure_ml`` connection carries that token plus canary values
in its other secret fields (client secret, certificate password); the WASB connection carries the canary
account key in its connection string and a canary SAS token in its extras. Then the example DAGs run with
``airflow dags test`` (one of them failing on purpose, so an exception message is logged), and one of them,
the data pipeline with its blob-change sensor, runs with a SAS-only WASB connection instead (an account SAS
of the canary account, whose signature is one more canary). Every place their output lands is searched for
each canary: the command's stdout/stderr, every file under
``AIRFLOW_HOME`` (task logs and the SQLite metadata DB), the ``xcom`` and ``rendered_task_instance_fields``
rows, the emulator's own log and state, and the text of errors raised through the hook.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import sqlite3
import subprocess
import sys
import time
import traceback
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests

from airflow_batchml_emulator.stack import AzuriteProcess, EmulatorProcess, free_port, stop_process
from tests.support.blob_changes import account_sas
from tests.support.foreign_host import ForeignHost
from tests.support.local_airflow import airflow_env as local_airflow_env
from tests.support.local_airflow import migrated_and_seeded

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # the first test also waits for the DAG runs

FINISHED = re.compile(r"DagRun Finished: dag_id=(\S+),.* state=(\w+)")
DATASTORE = "azureml://datastores/workspaceblobstore/paths"
API_STARTUP_TIMEOUT = 90.0
#: The data pipeline's tasks after its change sensor and the staging task that takes the sensor's records:
#: marked successful, not run (scoring is covered by the other runs), which halves that run's time.
AFTER_STAGING = "score_staged_files|publish_predictions|clean_up_staging"

TOKEN = f"canary-token-{secrets.token_hex(12)}"
CLIENT_SECRET = f"canary-client-secret-{secrets.token_hex(12)}"
CERT_PASSWORD = f"canary-cert-password-{secrets.token_hex(12)}"
SAS_TOKEN = f"sv=2024-01-01&sig=canarysas{secrets.token_hex(12)}"
ACCOUNT = "canaryaccount"
# Azurite wants a base64 key; the canary is its text, which is what a leak would show.
ACCOUNT_KEY = base64.b64encode(b"canary-account-key-" + secrets.token_bytes(24)).decode()
#: The SAS-only connection's credential: a real account SAS, signed with the canary key.
ACCOUNT_SAS = account_sas(ACCOUNT, ACCOUNT_KEY)
#: The longest run of its base64 signature that reads the same raw and percent-encoded (``+`` is ``%2B``
#: in a URL), so a leak is found in either form.
SAS_ONLY_SIGNATURE = max(re.findall(r"[A-Za-z0-9]+", parse_qs(ACCOUNT_SAS)["sig"][0]), key=len)
CANARIES = {
    "azure_ml token": TOKEN,
    "azure_ml client secret": CLIENT_SECRET,
    "azure_ml certificate password": CERT_PASSWORD,
    "wasb SAS signature": SAS_TOKEN.split("sig=")[1],
    "wasb account key": ACCOUNT_KEY,
    "SAS-only wasb signature": SAS_ONLY_SIGNATURE,
}


def leaks(text: str | bytes) -> list[str]:
    """The names of the canaries found in ``text``."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return [name for name, value in CANARIES.items() if value.encode() in data]


@pytest.fixture(scope="module")
def canary_stack(tmp_path_factory):
    """Azurite (canary account) + emulator (canary token); yields (emulator, connection env).

    The env also defines ``wasb_sas_only``: the canary account through its account SAS, with no key.
    """
    root = tmp_path_factory.mktemp("canary")
    azurite = AzuriteProcess(root / "azurite", account=(ACCOUNT, ACCOUNT_KEY))
    emulator = EmulatorProcess(root / "emulator", azurite.connection_string, token=TOKEN)
    try:
        azurite.start()
        emulator.start()
        azure_ml = emulator.connection
        azure_ml["login"], azure_ml["password"] = "canary-client-id", CLIENT_SECRET
        azure_ml["extra"] |= {"tenant_id": "canary-tenant", "client_certificate_password": CERT_PASSWORD}
        wasb = json.loads(emulator.wasb_connection_json.read_text())
        wasb["extra"]["sas_token"] = SAS_TOKEN
        assert ACCOUNT_KEY in wasb["extra"]["connection_string"] and azure_ml["extra"]["token"] == TOKEN
        endpoint = f"http://127.0.0.1:{azurite.port}/{ACCOUNT}"
        sas_only = {
            "conn_type": "wasb",
            "extra": {"connection_string": f"BlobEndpoint={endpoint};SharedAccessSignature={ACCOUNT_SAS}"},
        }
        env = {
            "AIRFLOW_CONN_AZURE_ML_DEFAULT": azure_ml,
            "AIRFLOW_CONN_WASB_DEFAULT": wasb,
            "AIRFLOW_CONN_WASB_SAS_ONLY": sas_only,
        }
        yield emulator, {key: json.dumps(value) for key, value in env.items()}
    finally:
        emulator.stop()
        azurite.stop()


@pytest.fixture(scope="module")
def connections(canary_stack):
    """The canary connections in this process's environment for the module (the seed and hook use them)."""
    _, env = canary_stack
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield env


@pytest.fixture(scope="module")
def airflow_env(connections, tmp_path_factory):
    """A migrated AIRFLOW_HOME (SQLite) and the seeded digits data; yields the ``dags test`` environment."""
    home = tmp_path_factory.mktemp("canary-airflow-home")
    api_port = free_port()
    env = local_airflow_env(
        home,
        **connections,
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(home / "logs"),
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),
    )
    with migrated_and_seeded(env):
        land_images(2)
        yield env


def land_images(count: int) -> None:
    """Copy seeded images into the data pipeline's landing folder, for its change sensor to report."""
    from digits.storage import CONTAINER, wasb  # importable while the seeded DAG folder is on sys.path

    container = wasb().get_conn().get_container_client(CONTAINER)
    for name in (f"digit-{index:04d}.png" for index in range(count)):
        data = container.download_blob(f"digits/images/{name}").readall()
        container.upload_blob(f"digits/landing/{name}", data, overwrite=True)


@pytest.fixture(scope="module")
def api_server(airflow_env):
    """``airflow api-server`` on loopback: the execution API that executor-run tasks talk to."""
    port = airflow_env["AIRFLOW__API__PORT"]
    log = (Path(airflow_env["AIRFLOW_HOME"]) / "api-server.out").open("w")
    command = [sys.executable, "-m", "airflow", "api-server", "--host", "127.0.0.1", "--port", port]
    proc = subprocess.Popen(command, env=airflow_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + API_STARTUP_TIMEOUT
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/v2/version", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the api-server did not start"
            time.sleep(0.5)
        yield proc
    finally:
        stop_process(proc)
        log.close()


def airflow(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], env=env, capture_output=True, text=True, timeout=280, check=False
    )
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def foreign(canary_stack):
    """An https host the connection's CA bundle trusts, given as a hostile ``rest_endpoint``."""
    tls = Path(canary_stack[0].connection["extra"]["ca_bundle"]).parent
    with ForeignHost(tls / "cert.pem", tls / "key.pem") as host:
        yield host


@pytest.fixture(scope="module")
def dag_outputs(airflow_env, api_server, foreign) -> dict[str, str]:
    """Run the example DAGs (one run failing); returns each command's combined stdout/stderr.

    ``dags test`` runs tasks in-process and logs to its stdout (the deferrable path); with
    ``--use-executor`` the tasks run as in production (LocalExecutor, supervised task processes talking to
    the api-server) and write the task log files under ``AIRFLOW_HOME/logs``. The data pipeline reaches
    storage through the SAS-only connection, so its change records are built from a client whose URL
    carries the SAS. The published-pipeline run is pointed at a foreign host and must fail without
    sending it anything.
    """
    on_executor = {**airflow_env, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "False"}  # no triggerer here
    sas_only = {**airflow_env, "AIRFLOW_CONN_WASB_DEFAULT": airflow_env["AIRFLOW_CONN_WASB_SAS_ONLY"]}
    images = {"input_path": f"{DATASTORE}/digits/images/", "mini_batch_size": 50}
    missing = {"input_path": f"{DATASTORE}/no/such/folder/"}
    hostile = {"rest_endpoint": f"{foreign.url}/pipelines/v1.0/subscriptions/s/PipelineRuns/PipelineSubmit/p"}
    runs = [
        ("digits_batch_scoring", airflow_env, [], None, "success"),
        ("digits_on_demand", on_executor, ["--use-executor"], images, "success"),
        ("digits_on_demand", on_executor, ["2026-01-02", "--use-executor"], missing, "failed"),
        ("digits_data_pipeline", sas_only, ["--mark-success-pattern", AFTER_STAGING], None, "success"),
        ("published_pipeline", airflow_env, [], hostile, "failed"),
    ]
    outputs = {}
    for dag_id, env, args, conf, state in runs:
        command = ["dags", "test", dag_id, *args] + (["-c", json.dumps(conf)] if conf else [])
        _, output = airflow(env, *command)
        assert FINISHED.findall(output)[-1:] == [(dag_id, state)], output[-6000:]
        outputs[f"{dag_id} {' '.join(args)} ({state})"] = output
    return outputs


def test_a_hostile_rest_endpoint_receives_nothing(dag_outputs, foreign):
    (output,) = [text for run, text in dag_outputs.items() if run.startswith("published_pipeline")]
    assert "rest_endpoint: host 'localhost' is not one this connection sends its token to" in output
    assert foreign.received == []


def test_command_output_carries_no_canary(dag_outputs):
    assert {name: leaks(output) for name, output in dag_outputs.items() if leaks(output)} == {}


def test_no_file_under_airflow_home_carries_a_canary(dag_outputs, airflow_env):
    home = Path(airflow_env["AIRFLOW_HOME"])
    files = [path for path in home.rglob("*") if path.is_file()]
    task_logs = [path for path in files if path.suffix == ".log" and "logs" in path.parts]
    assert len(task_logs) >= 2, "the executor runs wrote no task log files"
    logged = {str(path.relative_to(home)): path.read_text() for path in task_logs}
    failures = [name for name, text in logged.items() if "AzureMLJobError" in text]
    assert failures, f"the failed run's exception is in no task log: {sorted(logged)}"  # so it is searched too
    assert {str(path): leaks(path.read_bytes()) for path in files if leaks(path.read_bytes())} == {}


def test_xcom_and_rendered_fields_carry_no_canary(dag_outputs, airflow_env):
    with sqlite3.connect(Path(airflow_env["AIRFLOW_HOME"]) / "airflow.db") as db:
        xcoms = db.execute("SELECT dag_id, task_id, key, value FROM xcom").fetchall()
        rendered = db.execute("SELECT dag_id, task_id, rendered_fields FROM rendered_task_instance_fields").fetchall()
    assert xcoms and rendered
    sensed = [value for _, task_id, key, value in xcoms if (task_id, key) == ("wait_for_landed_files", "return_value")]
    assert "/digits/landing/digit-0000.png" in str(sensed)  # the SAS-only run's change records are searched too
    found = [row[:3] for row in xcoms + rendered if leaks(str(row[-1]))]
    assert found == []


def test_emulator_log_and_state_carry_no_canary(dag_outputs, canary_stack):
    emulator, _ = canary_stack
    state = emulator.state_dir
    # connection.json / wasb_connection.json hold the secrets by design (owner-only files, handed to Airflow).
    checked = [state / "emulator.log", state / "state.sqlite", *(state / "logs").rglob("std_log.txt")]
    assert (state / "emulator.log").read_text()  # the emulator did log
    assert leaks((state / "connection.json").read_bytes()) == ["azure_ml token"]  # the search does find one
    assert {str(path): leaks(path.read_bytes()) for path in checked if leaks(path.read_bytes())} == {}


def test_hook_errors_carry_no_canary(connections, monkeypatch):
    from airflow_batchml.exceptions import AzureMLError
    from airflow_batchml.hooks.azure_ml import AzureMLHook

    errors = []
    with pytest.raises(AzureMLError) as missing:
        AzureMLHook().get_batch_endpoint("no-such-endpoint")
    errors.append(missing.value)
    wrong = json.loads(connections["AIRFLOW_CONN_AZURE_ML_DEFAULT"])
    wrong["extra"]["token"] = f"{TOKEN}-wrong"
    monkeypatch.setenv("AIRFLOW_CONN_AZURE_ML_DEFAULT", json.dumps(wrong))
    with pytest.raises(AzureMLError) as refused:
        AzureMLHook().get_batch_endpoint("digits-batch")
    errors.append(refused.value)
    for err in errors:
        text = "".join(traceback.format_exception(err)) + repr(err)
        assert leaks(text) == [], text
