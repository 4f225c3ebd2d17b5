"""A workspace with compute, endpoint and both example deployments, created through the real MLClient.

Local model/code folders are uploaded into Azurite by the test itself and referenced by datastore URI,
which is what the hook does (azure-ai-ml's own upload host cannot resolve to loopback here).
"""

from __future__ import annotations

import pytest

from tests.support.emulator_api import (
    COMPUTE,
    DATA,
    ENDPOINT,
    Workspace,
    create_deployment,
    load_deployment,
    upload_folder,
)
from tests.support.stack import emulator_ml_client


@pytest.fixture(scope="session")
def workspace(ml_client, azurite) -> Workspace:
    from azure.ai.ml import load_batch_endpoint
    from azure.ai.ml.entities import AmlCompute

    ml_client.compute.begin_create_or_update(
        AmlCompute(name=COMPUTE, size="STANDARD_DS3_V2", min_instances=0, max_instances=2)
    ).result()
    ml_client.batch_endpoints.begin_create_or_update(load_batch_endpoint(DATA / "endpoint.yml")).result()
    model_uri = upload_folder(azurite, DATA / "model")
    code_uri = upload_folder(azurite, DATA / "code")
    names = []
    for yaml_name in ("deployment.yml", "deployment-flat.yml"):
        deployment = load_deployment(ml_client, yaml_name, model_uri, code_uri)
        names.append(create_deployment(ml_client, deployment).name)
    endpoint = ml_client.batch_endpoints.get(ENDPOINT)
    endpoint.defaults = {"deployment_name": names[0]}
    ml_client.batch_endpoints.begin_create_or_update(endpoint).result()
    return Workspace(ENDPOINT, names, model_uri, code_uri)


@pytest.fixture(scope="module")
def sdk_client(emulator):
    """An MLClient whose own blob uploads (component code) reach Azurite through the storage proxy."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in emulator.storage_env().items():
            patch.setenv(key, value)
        yield emulator_ml_client(
            emulator, "AzureMLEmulatorPipelines", storage_endpoint=emulator.connection["extra"]["storage_endpoint"]
        )
