"""Local scoring from the hook: a deployment's scoring script on local files, before it is deployed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class LocalScoringOperations:
    """``score_locally``; a mixin of AzureMLHook. It needs no connection: nothing leaves this machine."""

    def score_locally(
        self,
        deployment_yaml: str | Path,
        inputs: str | Path | Sequence[str | Path],
        output_dir: str | Path,
        *,
        max_workers: int | None = None,
    ) -> dict[str, Any]:
        """Run the deployment's scoring script on local files as a batch job would; return the summary.

        :param deployment_yaml: a model batch deployment YAML, in either ``az ml`` form, with a local model
            and code folder.
        :param inputs: local files or folders to score.
        :param output_dir: where the output file (``output_file_name``) is written; it must not hold one yet.
        :param max_workers: cap on worker processes (default: the machine's cores).
        :return: ``status`` (``Completed`` or ``Failed``), ``error``, counts of files and mini-batches (failed
            ones too), ``output_file``, ``rows``, ``seconds`` and ``missing_packages``. A failed job is a
            summary, not an exception; bad input raises ``AzureMLConfigurationError`` before anything runs.
        """
        from airflow_batchml import local_scoring

        summary = local_scoring.score_locally(deployment_yaml, inputs, output_dir, max_workers=max_workers)
        return summary.to_dict()
