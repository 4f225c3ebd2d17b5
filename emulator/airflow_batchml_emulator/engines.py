"""The emulator's engines behind one interface: model deployment jobs and pipeline component jobs."""

from __future__ import annotations

from airflow_batchml_emulator.engine import BatchEngine
from airflow_batchml_emulator.pipeline_runner import PipelineEngine, PipelineJobSpec
from airflow_batchml_emulator.scoring.spec import BatchJobSpec


class Engines:
    """``submit`` goes to the engine of the spec's kind; ``cancel`` and ``shutdown`` reach both."""

    def __init__(self, batch: BatchEngine, pipelines: PipelineEngine) -> None:
        self.batch = batch
        self.pipelines = pipelines

    def submit(self, spec: BatchJobSpec | PipelineJobSpec) -> None:
        if isinstance(spec, PipelineJobSpec):
            self.pipelines.submit(spec)
        else:
            self.batch.submit(spec)

    def cancel(self, job_name: str) -> None:
        self.batch.cancel(job_name)
        self.pipelines.cancel(job_name)

    def shutdown(self, timeout: float = 10.0) -> None:
        self.batch.shutdown(timeout)
        self.pipelines.shutdown(timeout)
