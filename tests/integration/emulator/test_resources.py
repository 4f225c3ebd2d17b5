"""Computes, endpoints, deployments and assets through the real azure-ai-ml client."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from tests.support.emulator_api import COMPUTE, ENDPOINT, create_deployment, load_deployment

pytestmark = pytest.mark.integration


def test_compute_round_trip(ml_client):
    from azure.ai.ml.entities import AmlCompute

    created = ml_client.compute.begin_create_or_update(
        AmlCompute(name="tmp-cluster", size="STANDARD_DS2_V2", min_instances=0, max_instances=3)
    ).result()
    assert created.name == "tmp-cluster"
    fetched = ml_client.compute.get("tmp-cluster")
    assert fetched.max_instances == 3
    assert fetched.size == "STANDARD_DS2_V2"
    ml_client.compute.begin_delete("tmp-cluster").result()
    with pytest.raises(ResourceNotFoundError):
        ml_client.compute.get("tmp-cluster")


def test_endpoint_has_scoring_uri_and_default(ml_client, workspace, emulator):
    endpoint = ml_client.batch_endpoints.get(ENDPOINT)
    assert endpoint.scoring_uri == f"{emulator.url}/batchEndpoints/{ENDPOINT}/jobs"
    assert endpoint.defaults.deployment_name == "digits-logreg"
    assert endpoint.tags == {"team": "vision"}
    assert ENDPOINT in [item.name for item in ml_client.batch_endpoints.list()]


def test_both_yaml_forms_deployed_with_their_settings(ml_client, workspace):
    logreg = ml_client.batch_deployments.get("digits-logreg", ENDPOINT)
    forest = ml_client.batch_deployments.get("digits-forest", ENDPOINT)
    assert logreg.mini_batch_size == 10
    assert logreg.environment_variables == {"DIGITS_THRESHOLD": "0.5"}
    assert forest.mini_batch_size == 5
    assert forest.error_threshold == 10
    assert logreg.compute.endswith(f"/computes/{COMPUTE}")
    names = sorted(item.name for item in ml_client.batch_deployments.list(ENDPOINT))
    assert names == ["digits-forest", "digits-logreg"]


def test_deployment_with_unknown_compute_is_a_400(ml_client, workspace):
    deployment = load_deployment(ml_client, "deployment.yml", workspace.model_uri, workspace.code_uri)
    deployment.name = "no-compute"
    deployment.compute = "azureml:missing-cluster"
    with pytest.raises(HttpResponseError) as caught:
        create_deployment(ml_client, deployment)
    assert caught.value.status_code == 400
    assert "missing-cluster" in str(caught.value)


def test_python_entity_compute_id_is_normalised(ml_client, workspace, emulator):
    deployment = load_deployment(ml_client, "deployment.yml", workspace.model_uri, workspace.code_uri)
    deployment.name = "entity-compute"
    deployment.compute = f"azureml:{COMPUTE}"
    create_deployment(ml_client, deployment)
    path = emulator.connection["extra"]
    fetched = ml_client.batch_deployments.get("entity-compute", ENDPOINT)
    assert fetched.compute.endswith(f"/computes/{COMPUTE}") and "azureml:" not in fetched.compute
    assert path["workspace_name"] in fetched.id
    ml_client.batch_deployments.begin_delete("entity-compute", ENDPOINT).result()


def test_default_deployment_cannot_be_deleted(ml_client, workspace):
    with pytest.raises(ResourceExistsError):
        ml_client.batch_deployments.begin_delete("digits-logreg", ENDPOINT).result()


def test_model_versions_increment_and_environment_reuse(ml_client, workspace):
    # Other modules share this emulator and register the same names, so look versions up by content.
    suffix = workspace.model_uri.rstrip("/").split("/paths/")[1]
    models = [m for m in ml_client.models.list("digits-classifier-logreg") if m.path.rstrip("/").endswith(suffix)]
    assert models
    environments = list(ml_client.environments.list("batch-sklearn-py311"))
    assert all(env.image.startswith("mcr.microsoft.com/azureml/") for env in environments)


def test_an_identical_environment_reuses_its_version_and_a_changed_one_gets_the_next(ml_client):
    """The SDK re-PUTs the latest version: identical content answers 200 (reused), changed content 409, after
    which the SDK moves to ``nextVersion``. (Other modules register other definitions under shared names,
    so this uses a name of its own.)"""
    from azure.ai.ml.entities import Environment

    name = f"reuse-{uuid.uuid4().hex[:8]}"
    image = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"
    first = ml_client.environments.create_or_update(Environment(name=name, image=image))
    again = ml_client.environments.create_or_update(Environment(name=name, image=image))
    changed = ml_client.environments.create_or_update(Environment(name=name, image=image.replace("latest", "v2")))
    assert (first.version, again.version, changed.version) == ("1", "1", "2")


def test_documented_snippet_sets_the_default_deployment(ml_client, workspace):
    """Microsoft's snippet (learn.microsoft.com, how-to-use-batch-model-deployments): get the endpoint, set
    ``defaults.deployment_name``, re-create it. It relies on ``defaults`` being present on every endpoint."""
    from azure.ai.ml.entities import BatchEndpoint

    name = f"snippet-{uuid.uuid4().hex[:8]}"
    ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=name)).result()
    deployment = load_deployment(ml_client, "deployment.yml", workspace.model_uri, workspace.code_uri)
    deployment.endpoint_name = name
    create_deployment(ml_client, deployment)

    endpoint = ml_client.batch_endpoints.get(name)
    endpoint.defaults.deployment_name = deployment.name
    ml_client.batch_endpoints.begin_create_or_update(endpoint).result()

    assert ml_client.batch_endpoints.get(name).defaults.deployment_name == deployment.name
