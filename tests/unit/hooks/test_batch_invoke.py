"""The pure parts of ``hooks/batch_invoke.py``: list items, the submission series, the retry loop, one POST.

The retry loop runs on a subclass whose remote calls are a scripted workspace (the endpoint's jobs newest
first, and what each scoring POST answers); ``_submit`` is replaced there because it is the one line that
calls ``MLClient.batch_endpoints.invoke``, and what is under test is the loop around it. The POST-once
wrapper is tested on azure-ai-ml's own ``HttpPipeline`` against a local HTTP server that counts requests,
so azure-core's real retry policy is what would resend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airflow_batchml.batch_job import BatchInput, ComponentInput, ComponentPorts, JobLiteral
from airflow_batchml.exceptions import AzureMLConfigurationError, AzureMLRemoteError
from airflow_batchml.hooks import batch_invoke
from airflow_batchml.hooks.batch_invoke import (
    MAX_RESUBMISSIONS,
    SUBMIT_ATTEMPTS,
    BatchInvokeOperations,
    ListedJob,
    OutputPlan,
    SinglePostPipeline,
    is_transient,
    keyed_output_uri,
    send_posts_once,
    series_name,
)

ENDPOINT = "scoring"
KEY = "daily-run-1"
INPUTS = {"data": "azureml://datastores/workspaceblobstore/paths/inputs/day/"}
USER_OUTPUT = "azureml://datastores/workspaceblobstore/paths/results/day/"
# A model deployment's one output: the key's folder, or the caller's output_path (found with the display name).
KEYED = OutputPlan({}, keyed=("score",))
PLACED = OutputPlan({"score": USER_OUTPUT})


def list_item(name: str, status: str, requested: str | None = None, output: str | dict | None = None) -> dict:
    """A job as the endpoint's job list returns it (the scoring request echoed, plus the status); ``output`` is
    the one output's location (sent as ``score``) or a mapping of output name -> location."""
    properties: dict = {"status": status}
    if requested is not None:
        properties["name"] = requested
    if output is not None:
        outputs = output if isinstance(output, dict) else {"score": output}
        properties["outputData"] = {key: {"jobOutputType": "UriFolder", "uri": uri} for key, uri in outputs.items()}
    return {"name": name, "properties": properties}


def listed(name: str, status: str, requested: str | None = None, output: str | dict | None = None) -> ListedJob:
    return ListedJob.from_rest(list_item(name, status, requested, output))


def remote_error(cause: Exception) -> AzureMLRemoteError:
    """What ``remote_errors`` raises for an SDK error: the domain error with the SDK's as its cause."""
    err = AzureMLRemoteError(f"Invoking batch endpoint {ENDPOINT}: {cause}")
    err.__cause__ = cause
    return err


def http_error(status: int) -> AzureMLRemoteError:
    from azure.core.exceptions import HttpResponseError

    cause = HttpResponseError(message=f"status {status}")
    cause.status_code = status
    return remote_error(cause)


def reply_lost() -> AzureMLRemoteError:
    from azure.core.exceptions import ServiceResponseError

    return remote_error(ServiceResponseError("Connection aborted: RemoteDisconnected"))


class ScriptedWorkspace(BatchInvokeOperations):
    """The mixin with its remote calls scripted: ``jobs`` (newest first) and one reply per scoring POST.

    A reply is a job name (the POST created that job, which the list then shows), an exception, or a
    ``(job name, exception)`` pair: the job was created but the reply never arrived.
    """

    def __init__(
        self, jobs: list[ListedJob] | None = None, replies: list | None = None, ports: ComponentPorts | None = None
    ) -> None:
        self.jobs = list(jobs or [])
        self.replies = list(replies or [])
        self.ports = ports
        self.posts: list[tuple[str | None, dict]] = []

    def get_batch_endpoint(self, name: str) -> dict:
        return {"name": name, "scoring_uri": f"https://{name}.example/jobs"}

    def check_token_destination(self, url: str, field: str) -> None:
        pass

    def _resolve_deployment(self, endpoint: dict, deployment_name: str | None) -> str:
        return deployment_name or "blue"

    def deployment_ports(self, endpoint_name: str, deployment_name: str) -> ComponentPorts | None:
        return self.ports

    def listed_jobs(self, endpoint_name: str, limit: int = batch_invoke.MAX_LISTED_JOBS) -> Iterator[ListedJob]:
        yield from self.jobs[:limit]

    def _submit(self, endpoint_name, deployment_name, name, outputs, **submit) -> dict:
        self.posts.append((name, dict(outputs)))
        self.submitted = submit
        reply = self.replies.pop(0)
        created, error = (
            (reply, None) if isinstance(reply, str) else reply if isinstance(reply, tuple) else (None, reply)
        )
        if created is not None:
            self.jobs.insert(0, ListedJob(created, "NotStarted", name, dict(outputs)))
        if error is not None:
            raise error
        return {"job_name": created, "status": "NotStarted"}


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    """Record the pauses between resends instead of sleeping them."""
    pauses: list[int] = []
    monkeypatch.setattr(batch_invoke, "pause_before_resubmit", pauses.append)
    return pauses


# -- naming the series ---------------------------------------------------------------------------------


def test_the_series_keeps_the_key_first_then_numbers_it():
    assert [series_name(KEY, attempt) for attempt in (1, 2, 3)] == [KEY, f"{KEY}-2", f"{KEY}-3"]
    assert keyed_output_uri(KEY) == f"azureml://datastores/workspaceblobstore/paths/airflow/{KEY}/"
    assert keyed_output_uri(KEY, 2) == f"azureml://datastores/workspaceblobstore/paths/airflow/{KEY}-2/"


# -- list items -------------------------------------------------------------------------------------------


def test_list_item_gives_the_service_name_the_requested_name_and_the_output():
    job = ListedJob.from_rest(list_item("batchjob-1f2e", "Running", KEY, keyed_output_uri(KEY)))
    assert job == ListedJob("batchjob-1f2e", "Running", KEY, {"score": keyed_output_uri(KEY)})


def test_list_item_gives_every_named_output():
    outputs = {"prepared": f"{keyed_output_uri(KEY)}prepared/", "scores": USER_OUTPUT}
    assert ListedJob.from_rest(list_item("batchjob-1", "Running", KEY, outputs)).outputs == outputs


@pytest.mark.parametrize(
    ("status", "expected"), [("completed", "Completed"), ("JobStatus.CANCELED", "Canceled"), (None, "NotStarted")]
)
def test_list_item_status_is_spelled_as_the_wire_spells_it(status, expected):
    assert ListedJob.from_rest(list_item("batchjob-1", status)).status == expected


def test_list_item_with_an_unknown_status_is_an_error():
    with pytest.raises(AzureMLRemoteError, match="batchjob-1 reported an unknown status 'Exploded'"):
        ListedJob.from_rest(list_item("batchjob-1", "Exploded"))


def test_list_item_reads_display_name_when_the_request_name_is_absent():
    item = {"name": "batchjob-1", "properties": {"status": "Queued", "displayName": KEY}}
    assert ListedJob.from_rest(item).display_name == KEY


@pytest.mark.parametrize(
    "properties",
    [
        {"status": "Completed"},
        {"status": "Completed", "outputData": None},
        {"status": "Completed", "outputData": {}},
        {"status": "Completed", "outputData": {"score": "azureml://not-an-object/"}},
        {"status": "Completed", "outputData": {"score": {"jobOutputType": "UriFolder"}}},
    ],
    ids=["absent", "null", "empty", "not-an-object", "no-uri"],
)
def test_list_item_without_a_readable_output_has_none(properties):
    job = ListedJob.from_rest({"name": "batchjob-1", "properties": properties})
    assert (job.name, job.outputs) == ("batchjob-1", {})


# -- which attempt of the series comes next ----------------------------------------------------------


def test_no_job_yet_is_attempt_one():
    assert ScriptedWorkspace().next_submission(ENDPOINT, KEY, KEYED) == (1, None)


@pytest.mark.parametrize("status", ["NotStarted", "Running", "Completed", "Paused"])
def test_a_live_or_completed_job_at_the_keyed_output_is_found(status):
    job = listed("batchjob-a", status, KEY, keyed_output_uri(KEY).rstrip("/"))  # trailing slash or not
    others = [listed("batchjob-b", "Running", "other", keyed_output_uri("other"))]
    assert ScriptedWorkspace([*others, job]).next_submission(ENDPOINT, KEY, KEYED) == (1, job)


@pytest.mark.parametrize("status", ["Failed", "Canceled"])
def test_a_failed_or_cancelled_job_moves_the_series_on(status):
    failed = listed("batchjob-a", status, KEY, keyed_output_uri(KEY))
    assert ScriptedWorkspace([failed]).next_submission(ENDPOINT, KEY, KEYED) == (2, None)


def test_the_series_attaches_to_its_first_attempt_that_did_not_fail():
    second = listed("batchjob-b", "Running", f"{KEY}-2", keyed_output_uri(KEY, 2))
    first = listed("batchjob-a", "Failed", KEY, keyed_output_uri(KEY))
    assert ScriptedWorkspace([second, first]).next_submission(ENDPOINT, KEY, KEYED) == (2, second)


def test_a_keyed_output_identifies_the_job_whatever_its_display_name():
    """Azure may drop or change the display name; the keyed folder alone says whose job it is."""
    job = listed("batchjob-a", "Running", None, keyed_output_uri(KEY))
    assert ScriptedWorkspace([job]).next_submission(ENDPOINT, KEY, KEYED) == (1, job)


def test_a_users_output_path_needs_the_display_name_to_match_too():
    """Another run writing to the same folder is not this submission's job."""
    stranger = listed("batchjob-a", "Running", "someone-else", USER_OUTPUT)
    mine = listed("batchjob-b", "Completed", KEY, USER_OUTPUT)
    assert ScriptedWorkspace([stranger]).next_submission(ENDPOINT, KEY, PLACED) == (1, None)
    assert ScriptedWorkspace([stranger, mine]).next_submission(ENDPOINT, KEY, PLACED) == (1, mine)


def test_a_users_output_path_series_numbers_the_display_name():
    failed = listed("batchjob-a", "Failed", KEY, USER_OUTPUT)
    retried = listed("batchjob-b", "Queued", f"{KEY}-2", USER_OUTPUT)
    assert ScriptedWorkspace([retried, failed]).next_submission(ENDPOINT, KEY, PLACED) == (2, retried)


def test_a_series_that_failed_every_time_asks_for_a_new_key():
    failures = [
        listed(f"batchjob-{n}", "Failed", series_name(KEY, n), keyed_output_uri(KEY, n))
        for n in range(1, MAX_RESUBMISSIONS + 1)
    ]
    with pytest.raises(AzureMLConfigurationError, match=f"{KEY} failed {MAX_RESUBMISSIONS} times"):
        ScriptedWorkspace(failures).next_submission(ENDPOINT, KEY, KEYED)


# -- submitting: attach, POST once, resend only after looking again -----------------------------------


def invoke(workspace: ScriptedWorkspace, inputs: dict = INPUTS, **kwargs) -> dict:
    return workspace.invoke_batch_endpoint(ENDPOINT, inputs, **{"job_name": KEY, **kwargs})


def test_a_new_key_is_posted_once_to_its_keyed_output():
    workspace = ScriptedWorkspace(replies=["batchjob-new"])
    result = invoke(workspace)
    assert workspace.posts == [(KEY, {"score": keyed_output_uri(KEY)})]
    assert result == {
        "job_name": "batchjob-new",
        "status": "NotStarted",
        "deployment_name": "blue",
        "attached": False,
        "output_uri": keyed_output_uri(KEY),
        "outputs": {"score": keyed_output_uri(KEY)},
    }


def test_a_key_whose_job_runs_attaches_without_posting():
    workspace = ScriptedWorkspace([listed("batchjob-old", "Running", KEY, keyed_output_uri(KEY))])
    result = invoke(workspace)
    assert workspace.posts == []
    assert (result["job_name"], result["status"], result["attached"]) == ("batchjob-old", "Running", True)
    assert result["output_uri"] == keyed_output_uri(KEY)


def test_a_key_whose_job_failed_posts_the_next_of_the_series():
    workspace = ScriptedWorkspace([listed("batchjob-old", "Failed", KEY, keyed_output_uri(KEY))], ["batchjob-new"])
    result = invoke(workspace)
    assert workspace.posts == [(f"{KEY}-2", {"score": keyed_output_uri(KEY, 2)})]
    assert (result["job_name"], result["output_uri"]) == ("batchjob-new", keyed_output_uri(KEY, 2))


def test_a_lost_reply_finds_the_job_it_created_instead_of_posting_again(no_pause):
    workspace = ScriptedWorkspace(replies=[("batchjob-created", reply_lost())])
    result = invoke(workspace)
    assert workspace.posts == [(KEY, {"score": keyed_output_uri(KEY)})]  # exactly one POST
    assert (result["job_name"], result["attached"]) == ("batchjob-created", True)
    assert no_pause == [1]


def test_a_transient_refusal_is_resent_after_looking_again(no_pause):
    workspace = ScriptedWorkspace(replies=[http_error(503), "batchjob-new"])
    result = invoke(workspace)
    assert workspace.posts == [(KEY, {"score": keyed_output_uri(KEY)})] * 2  # nothing was created by the first
    assert (result["job_name"], result["attached"]) == ("batchjob-new", False)
    assert no_pause == [1]


def test_resending_stops_after_the_last_attempt(no_pause):
    workspace = ScriptedWorkspace(replies=[http_error(503)] * (SUBMIT_ATTEMPTS + 1))
    with pytest.raises(AzureMLRemoteError, match="status 503"):
        invoke(workspace)
    assert len(workspace.posts) == SUBMIT_ATTEMPTS
    assert no_pause == list(range(1, SUBMIT_ATTEMPTS))


def test_a_refusal_that_will_not_change_is_not_resent(no_pause):
    workspace = ScriptedWorkspace(replies=[http_error(400)])
    with pytest.raises(AzureMLRemoteError, match="status 400"):
        invoke(workspace)
    assert (len(workspace.posts), no_pause) == (1, [])


def test_without_a_key_nothing_could_be_found_again_so_nothing_is_resent(no_pause):
    workspace = ScriptedWorkspace(replies=[reply_lost()])
    with pytest.raises(AzureMLRemoteError, match="Connection aborted"):
        invoke(workspace, job_name=None, output_path=USER_OUTPUT)
    assert (workspace.posts, no_pause) == ([(None, {"score": USER_OUTPUT})], [])


def test_without_a_key_azure_ml_chooses_the_output():
    workspace = ScriptedWorkspace(replies=["batchjob-new"])
    result = invoke(workspace, job_name=None)
    assert (workspace.posts, result["output_uri"], result["outputs"]) == ([(None, {})], None, {})


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (http_error(429), True),
        (http_error(500), True),
        (http_error(503), True),
        (http_error(400), False),
        (http_error(409), False),
        (reply_lost(), True),
        (AzureMLRemoteError("no SDK error behind it"), False),
    ],
    ids=["429", "500", "503", "400", "409", "reply-lost", "no-cause"],
)
def test_transient_failures_are_throttling_5xx_and_lost_connections(error, transient):
    assert is_transient(error) is transient


# -- the scoring POST is sent once by the HTTP pipeline ------------------------------------------------


class CountingServer(ThreadingHTTPServer):
    """A local HTTP server counting POSTs; it answers ``status``, or drops the connection when None."""

    def __init__(self, status: int | None) -> None:
        self.status = status
        self.posts = 0
        super().__init__(("127.0.0.1", 0), CountingHandler)


class CountingHandler(BaseHTTPRequestHandler):
    server: CountingServer

    def do_POST(self) -> None:
        self.server.posts += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.status is None:
            self.close_connection = True
            self.connection.shutdown(2)  # the request arrived; its reply never will
            return
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[int | None], CountingServer]]:
    """Start counting servers on free loopback ports; all stopped at teardown."""
    servers: list[CountingServer] = []

    def start(status: int | None) -> CountingServer:
        server = CountingServer(status)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def sdk_pipeline():
    """azure-ai-ml's own request pipeline (azure-core's retry policy), without the backoff sleeps."""
    from azure.ai.ml._utils._http_utils import HttpPipeline

    return HttpPipeline(retry_backoff_factor=0, retry_backoff_max=0)


def post(pipeline, server: CountingServer):
    return pipeline.post(f"http://127.0.0.1:{server.server_address[1]}/jobs", json={"properties": {}})


def test_the_sdk_pipeline_alone_resends_a_post_answered_5xx(serve):
    """The premise: azure-core's retry policy sends one scoring POST several times (several jobs)."""
    server = serve(503)
    assert post(sdk_pipeline(), server).status_code == 503
    assert server.posts > 1


def test_the_wrapped_pipeline_sends_a_post_answered_5xx_once(serve):
    server = serve(503)
    assert post(SinglePostPipeline(sdk_pipeline()), server).status_code == 503  # the hook decides about resending
    assert server.posts == 1


def test_a_lost_reply_escapes_the_sdks_resend_loop(serve):
    """azure-ai-ml's ``invoke`` resends on ServiceRequestError/ServiceResponseError (five times); the wrapper
    turns the lost reply into the domain error, which that loop does not catch."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    server = serve(None)
    with pytest.raises(ServiceResponseError):  # what the SDK's loop would catch and resend
        post(sdk_pipeline(), server)
    with pytest.raises(AzureMLRemoteError, match="was sent but its reply was lost") as raised:
        post(SinglePostPipeline(sdk_pipeline()), server)
    assert not isinstance(raised.value, (ServiceRequestError, ServiceResponseError))
    assert isinstance(raised.value.__cause__, ServiceResponseError)  # so the hook sees it as transient
    assert server.posts == 2  # one per pipeline: azure-core itself does not resend a POST whose reply was lost


def test_send_posts_once_wraps_the_batch_endpoint_pipeline_once():
    """On a real MLClient (built offline): only batch endpoint operations POST scoring requests."""
    from azure.ai.ml import MLClient

    from airflow_batchml.hooks.credentials import StaticTokenCredential

    client = MLClient(StaticTokenCredential("t"), "sub-1", "rg-1", "ws-1")
    original = client.batch_endpoints._requests_pipeline
    send_posts_once(client)
    send_posts_once(client)
    wrapped = client.batch_endpoints._requests_pipeline
    assert isinstance(wrapped, SinglePostPipeline) and wrapped._pipeline is original
    assert wrapped.get == original.get  # everything but post passes through unchanged


# -- pipeline component deployments: inputs checked against the component, outputs placed by name -----

PIPELINE_INPUTS = {"input_data": INPUTS["data"], "scale": 2.5, "label": {"type": "string", "value": "day"}}
PORTS = ComponentPorts(
    "prepare_and_score:1",
    {
        "input_data": ComponentInput("uri_folder", required=True),
        "scale": ComponentInput("number", required=True),
        "label": ComponentInput("string", required=False),
    },
    {"prepared": "uri_folder", "scores": "uri_folder"},
)


def keyed_folder(output: str, attempt: int = 1) -> str:
    return f"{keyed_output_uri(KEY, attempt)}{output}/"


def test_a_keyed_pipeline_job_puts_each_output_it_was_not_given_under_the_key():
    workspace = ScriptedWorkspace(replies=["batchjob-new"], ports=PORTS)
    result = invoke(workspace, inputs=PIPELINE_INPUTS, outputs={"scores": USER_OUTPUT})
    expected = {"scores": USER_OUTPUT, "prepared": keyed_folder("prepared")}
    assert workspace.posts == [(KEY, expected)]
    assert (result["outputs"], result["output_uri"]) == (expected, None)
    sent = workspace.submitted["inputs"]
    assert (sent["scale"], sent["label"]) == (JobLiteral(2.5, "number"), JobLiteral("day", "string"))
    assert sent["input_data"] == BatchInput(INPUTS["data"], "uri_folder")


def test_a_keyed_pipeline_job_is_found_again_by_any_keyed_output():
    """The endpoint job list echoes every named output; one keyed folder is enough to say whose job it is."""
    mine = listed("batchjob-a", "Running", None, {"prepared": keyed_folder("prepared"), "scores": USER_OUTPUT})
    other = listed("batchjob-b", "Running", KEY, {"scores": USER_OUTPUT})  # same user output, other key
    workspace = ScriptedWorkspace([other, mine], ports=PORTS)
    result = invoke(workspace, inputs=PIPELINE_INPUTS, outputs={"scores": USER_OUTPUT})
    assert workspace.posts == []
    assert (result["job_name"], result["attached"]) == ("batchjob-a", True)


def test_a_failed_pipeline_job_moves_its_keyed_folders_to_the_next_of_the_series():
    failed = listed(
        "batchjob-a", "Failed", KEY, {"prepared": keyed_folder("prepared"), "scores": keyed_folder("scores")}
    )
    workspace = ScriptedWorkspace([failed], ["batchjob-new"], ports=PORTS)
    invoke(workspace, inputs=PIPELINE_INPUTS)
    assert workspace.posts == [
        (f"{KEY}-2", {"prepared": keyed_folder("prepared", 2), "scores": keyed_folder("scores", 2)})
    ]


def test_a_pipeline_job_whose_outputs_were_all_given_is_found_with_its_display_name():
    outputs = {"prepared": USER_OUTPUT + "p/", "scores": USER_OUTPUT + "s/"}
    stranger = listed("batchjob-a", "Running", "someone-else", outputs)
    mine = listed("batchjob-b", "Running", KEY, outputs)
    plan = OutputPlan(outputs, per_output_folder=True)
    assert ScriptedWorkspace([stranger]).next_submission(ENDPOINT, KEY, plan) == (1, None)
    assert ScriptedWorkspace([stranger, mine]).next_submission(ENDPOINT, KEY, plan) == (1, mine)


@pytest.mark.parametrize(
    ("inputs", "outputs", "output_path", "field", "message"),
    [
        ({"input_data": INPUTS["data"]}, None, None, "inputs.scale", "requires it"),
        (
            {**PIPELINE_INPUTS, "scale": "azureml://datastores/d/paths/x/"},
            None,
            None,
            "inputs.scale",
            "takes type number",
        ),
        ({**PIPELINE_INPUTS, "scale": True}, None, None, "inputs.scale", "is of type boolean"),
        ({**PIPELINE_INPUTS, "label": INPUTS["data"]}, None, None, "inputs.label", "a plain string is a data URI"),
        ({**PIPELINE_INPUTS, "label": "day"}, None, None, "inputs.label", "a string literal is given as"),
        ({**PIPELINE_INPUTS, "input_data": 3}, None, None, "inputs.input_data", "not a literal"),
        ({**PIPELINE_INPUTS, "extra": 1}, None, None, "inputs.extra", "it has input_data, label, scale"),
        (PIPELINE_INPUTS, {"scored": USER_OUTPUT}, None, "outputs.scored", "it has prepared, scores"),
        (PIPELINE_INPUTS, None, USER_OUTPUT, "output_path", "name its outputs instead"),
    ],
    ids=[
        "missing",
        "data-for-literal",
        "wrong-literal",
        "plain-string",
        "plain-word",
        "literal-for-data",
        "unknown-input",
        "unknown-output",
        "output-path",
    ],
)
def test_a_pipeline_job_that_does_not_fit_its_component_is_refused_before_posting(
    inputs, outputs, output_path, field, message
):
    workspace = ScriptedWorkspace(replies=["batchjob-new"], ports=PORTS)
    with pytest.raises(AzureMLConfigurationError, match=message) as err:
        invoke(workspace, inputs=inputs, outputs=outputs, output_path=output_path)
    assert (err.value.field, workspace.posts) == (field, [])


@pytest.mark.parametrize(
    ("inputs", "outputs", "field"),
    [
        ({"data": INPUTS["data"], "scale": 3}, None, "inputs.scale"),
        ({"a": INPUTS["data"], "b": INPUTS["data"]}, None, "inputs"),
        (INPUTS, {"score": USER_OUTPUT}, "outputs"),
    ],
    ids=["literal", "two-inputs", "named-outputs"],
)
def test_a_model_deployment_keeps_its_one_input_one_output_rules(inputs, outputs, field):
    workspace = ScriptedWorkspace(replies=["batchjob-new"])
    with pytest.raises(AzureMLConfigurationError, match="model deployment") as err:
        invoke(workspace, inputs=inputs, outputs=outputs)
    assert (err.value.field, workspace.posts) == (field, [])
