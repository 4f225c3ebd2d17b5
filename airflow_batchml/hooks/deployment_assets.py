"""The local files a batch deployment refers to: checked before anything is sent, uploaded through WASB.

A model deployment names a model folder and a code folder; a pipeline component deployment names a code
folder per command step (in nested pipeline components too). When the ``azure_ml`` connection names a WASB
connection, each local folder is uploaded through it (see ``datastore_files``) and registered as a code
asset whose id replaces the local path, so azure-ai-ml uploads nothing itself; everything else (the
components, their anonymous environments) the SDK registers as it always does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.hooks.datastore_files import DatastoreFiles
from airflow_batchml.hooks.errors import remote_errors
from airflow_batchml.hooks.sdk_private import code_base_path, register_code, validation_error


class DeploymentAssetOperations:
    """Upload a deployment's local folders through the WASB connection; a mixin of AzureMLHook."""

    _datastore_files: DatastoreFiles | None

    def _upload_local_assets(self, deployment: Any) -> None:
        """Replace local model and code folders by datastore URIs when uploads go through WASB."""
        from azure.ai.ml.entities import Model

        if self._datastore_files is None:
            return
        base = Path(getattr(deployment, "base_path", None) or ".")
        model = deployment.model
        if isinstance(model, Model) and model.path and is_local(model.path):
            model.path = self._datastore_files.upload(base / model.path)
        code_dir = local_code_dir(deployment)
        if code_dir is not None:
            deployment.code_configuration.code = self._register_code(code_dir, f"deployment {deployment.name}")

    def _upload_step_code(self, component: Any) -> None:
        """Each command step's local code folder, uploaded and registered, replaced by the code asset's id."""
        if self._datastore_files is None:
            return
        for step, step_component, code_dir in local_step_code(component):
            step_component.code = self._register_code(code_dir, f"step {step}")

    def _register_code(self, folder: Path, owner: str) -> str:
        assert self._datastore_files is not None
        uri = self._datastore_files.upload(folder)
        with remote_errors(f"Registering the code of {owner}"):
            return register_code(self.get_client(), "code-" + uri.rstrip("/").split("/")[-2][:24], "1", uri)

    def get_client(self) -> Any:  # pragma: no cover - provided by the hook
        raise NotImplementedError


def is_local(path: str | Path) -> bool:
    text = str(path)
    return "://" not in text and not text.startswith(("azureml:", "git+"))


def local_code_dir(deployment: Any) -> Path | None:
    """The deployment's code folder when it is a local path (relative to the YAML's folder), else None."""
    code_config = getattr(deployment, "code_configuration", None)
    if not code_config or not isinstance(code_config.code, (str, Path)) or not is_local(code_config.code):
        return None
    return Path(getattr(deployment, "base_path", None) or ".") / code_config.code


def local_step_code(component: Any, prefix: str = "") -> Iterator[tuple[str, Any, Path]]:
    """``(step path, step component, local code folder)`` for each command step, nested pipelines included."""
    from azure.ai.ml.entities import CommandComponent, PipelineComponent

    for step, node in (getattr(component, "jobs", None) or {}).items():
        child = getattr(node, "component", None)
        if isinstance(child, PipelineComponent):
            yield from local_step_code(child, f"{prefix}{step}.")
        elif isinstance(child, CommandComponent) and isinstance(child.code, (str, Path)) and is_local(child.code):
            code = Path(child.code)
            yield f"{prefix}{step}", child, code if code.is_absolute() else code_base_path(child) / code


def check_scoring_script(deployment: Any) -> None:
    """A local code folder must hold the scoring script; refused before anything is uploaded or sent."""
    code_dir = local_code_dir(deployment)
    if code_dir is None:
        return
    code_config = deployment.code_configuration
    if not (code_dir / str(code_config.scoring_script)).is_file():
        raise AzureMLConfigurationError(
            "code_configuration.scoring_script",
            f"{code_config.scoring_script!r} is not a file in the code folder {str(code_dir)!r}",
        )


def check_pipeline_component(component: Any, field: str = "deployment.component") -> None:
    """An entity's local pipeline component passes the SDK's own (local) validation before anything is sent."""
    from azure.ai.ml.entities import Component

    if not isinstance(component, Component):
        return
    if error := validation_error(component):
        raise AzureMLConfigurationError(f"{field}.{error[0]}", error[1])
