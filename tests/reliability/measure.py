"""Measuring one fault scenario from what the services hold, never from what the test expects.

A scenario is one logical submission (or none, for faults on ARM routes). Its jobs are the emulator's job
records (``/_emulator/jobs``) created while it ran that read its inputs; every job is counted, whatever
its requested (display) name, so a second submission under another key counts too. Inputs landed are
the blobs under its input folder in Azurite; inputs scored are the rows of the output files its completed
jobs wrote (each row starts with the input file it scored): a job that ran but wrote nothing scored nothing.

- jobs created: those jobs;
- changes lost: inputs landed that no output scored;
- duplicates: scorings of an input beyond its first (two completed jobs of one submission score every
  input twice).
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from tests.support.stack import NAMING_MODES, naming_mode

DATASTORE_PATH = "azureml://datastores/workspaceblobstore/paths/"


@dataclass(frozen=True)
class FaultOutcome:
    """One row of the matrix; ``None`` where a figure could not be measured (the scenario broke first)."""

    fault: str
    recovered: bool
    jobs_created: int | None
    changes_lost: int | None
    duplicates: int | None
    group: str | None = None  # rows of one group print as one line
    naming: str = NAMING_MODES[0]  # the naming mode of the emulator it ran on


def emulator_jobs(emulator) -> list[dict[str, Any]]:
    """Every job the emulator holds, as stored (the test-admin route; Azure has no such list)."""
    response = emulator.request("GET", "/_emulator/jobs")
    response.raise_for_status()
    return response.json()["value"]


class Scenario:
    """Measures a scenario's row on ``emulator`` (whose naming mode the row names); the scenario sets
    ``recovered`` once its task reached the outcome it defines.

    :param inputs: the blob folder (``rel/fast/``) the logical submission scores; None when it scores none
        (then every job created during the scenario counts).
    """

    def __init__(self, fault: str, emulator, wasb, container: str, inputs: str | None, group: str | None) -> None:
        self.fault, self.group, self.naming = fault, group, naming_mode(emulator)
        self.recovered = False
        self._emulator, self._wasb, self._container = emulator, wasb, container
        self._inputs = inputs
        self._before = {job["name"] for job in emulator_jobs(emulator)}
        self._outcome: FaultOutcome | None = None

    def jobs(self) -> list[dict[str, Any]]:
        """The jobs created since the scenario began that read its inputs."""
        return [
            job for job in emulator_jobs(self._emulator) if job["name"] not in self._before and self._reads_inputs(job)
        ]

    def measure(self) -> FaultOutcome:
        """Count jobs, inputs landed and inputs scored now; the row keeps these figures."""
        jobs = self.jobs()
        landed = self._landed()
        scored = Counter(name for job in jobs if job["status"] == "Completed" for name in self._scored_by(job))
        self._outcome = FaultOutcome(
            fault=self.fault,
            recovered=self.recovered,
            jobs_created=len(jobs),
            changes_lost=len(landed - set(scored)),
            duplicates=sum(count - 1 for count in scored.values()),
            group=self.group,
            naming=self.naming,
        )
        return self._outcome

    def row(self) -> FaultOutcome:
        """The measured row (measuring now if the scenario broke before it did), with ``recovered`` as set."""
        if self._outcome is None:
            try:
                self.measure()
            except Exception:  # the emulator or Azurite is down: record the row with what is unknown
                return FaultOutcome(self.fault, self.recovered, None, None, None, self.group, self.naming)
        return replace(self._outcome, recovered=self.recovered)

    def _reads_inputs(self, job: dict[str, Any]) -> bool:
        if self._inputs is None:
            return True
        return any(f"/paths/{self._inputs}" in str(item.get("uri")) for item in job["spec"].get("inputs") or [])

    def _landed(self) -> set[str]:
        if self._inputs is None:
            return set()
        container = self._wasb.get_conn().get_container_client(self._container)
        return {posixpath.basename(blob.name) for blob in container.list_blobs(name_starts_with=self._inputs)}

    def _scored_by(self, job: dict[str, Any]) -> list[str]:
        """The input files named by the rows of the job's output file (empty when it wrote none)."""
        from azure.core.exceptions import ResourceNotFoundError

        folder, file_name = job["spec"].get("output_uri") or "", job["spec"].get("output_file_name")
        if not folder.startswith(DATASTORE_PATH) or not file_name:
            return []
        blob = posixpath.join(folder.removeprefix(DATASTORE_PATH), file_name)
        try:
            text = self._wasb.read_file(self._container, blob)
        except ResourceNotFoundError:
            return []
        return [posixpath.basename(line.split(",", 1)[0]) for line in text.splitlines() if line.strip()]
