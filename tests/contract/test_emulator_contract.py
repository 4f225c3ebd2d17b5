"""The emulator against recorded Azure ML traffic: one test per operation of ``azure_ml_recordings.json``.

Each test sends the recorded request to the emulator and lists every difference in the recorded dimensions
(status, LRO header kinds, body kind, values and their case, keys, the operation's poll statuses). A normal
operation must show none; a ``pending`` one must still show some, so that fixing it forces the data to be
updated. The run ends with the match count (``conftest.py``).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

CONTRACT = json.loads(Path(__file__).with_name("azure_ml_recordings.json").read_text())
OPERATIONS = CONTRACT["operations"]
TERMINAL = ("Succeeded", "Failed", "Canceled")
WAIT_TIMEOUT = 30.0
POLL_PAUSE = 0.1
MISSING = object()
_FAMILY_PATH = r"/subscriptions/[^/]+/providers/Microsoft\.MachineLearningServices/locations/[^/]+/{family}/[^/]+"
_TYPES = {"string": str, "object": dict, "list": list, "number": (int, float), "boolean": bool}


class Session:
    """Requests to the emulator with the contract's placeholders (``{ws}``, ``{uid}``, captures) filled in."""

    def __init__(self, emulator) -> None:
        extra = emulator.connection["extra"]
        workspace = (
            f"/subscriptions/{extra['subscription_id']}/resourceGroups/{extra['resource_group']}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{extra['workspace_name']}"
        )
        self.emulator = emulator
        self.vars = {"ws": workspace, "uid": uuid.uuid4().hex[:8]}

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return re.sub(r"\{(\w+)\}", lambda match: self.vars.get(match.group(1), match.group(0)), value)
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        return value

    def request(self, method: str, url: str, **kwargs: Any):
        path = url.removeprefix(self.emulator.url)
        assert path.startswith("/"), f"{url} does not point at the emulator"
        return self.emulator.request(method, path, **kwargs)

    def send(self, step: dict[str, Any]):
        body = step.get("body")
        body = CONTRACT["bodies"][body] if isinstance(body, str) else body
        if "scoring_endpoint" in step:
            endpoint = self.request("GET", f"{self.vars['ws']}/batchEndpoints/{self.fill(step['scoring_endpoint'])}")
            url = endpoint.json()["properties"]["scoringUri"]
        else:
            url = self.fill(step["path"])
        kwargs = {"json": self.fill(body)} if body is not None else {}
        return self.request(step["method"], url, headers=self.fill(step.get("headers", {})), **kwargs)

    def set_up(self, name: str) -> None:
        for step in CONTRACT["setups"][name]:
            if "setup" in step:
                self.set_up(step["setup"])
                continue
            response = self.send(step)
            assert response.status_code < 300, f"setup {name}: {step['method']} {response.status_code} {response.text}"
            if step.get("wait"):
                status = self.poll(response.headers["Azure-AsyncOperation"])[-1][0]
                assert status == "Succeeded", f"setup {name}: the operation ended {status}"
            for var, key in step.get("capture", {}).items():
                self.vars[var] = response.json()[key]

    def poll(self, url: str) -> list[tuple[str, dict[str, Any], Any]]:
        """Every answer of an operation-status URL until a terminal status (bounded): (status, body, headers)."""
        deadline = time.monotonic() + WAIT_TIMEOUT
        seen = []
        while True:
            response = self.request("GET", url)
            body = response.json() if response.content else {}
            seen.append((body.get("status"), body, response.headers))
            if body.get("status") in TERMINAL or response.status_code >= 400:
                return seen
            assert time.monotonic() < deadline, f"{url} still {body.get('status')} after {WAIT_TIMEOUT} s"
            time.sleep(POLL_PAUSE)


def lookup(document: Any, path: str) -> Any:
    """``a.b.0.c`` or ``a.list[key=value].c`` in a JSON document, or ``MISSING``."""
    current = document
    for part in path.split("."):
        selector = re.fullmatch(r"(?P<key>[^\[]+)\[(?P<field>\w+)=(?P<value>[^\]]*)\]", part)
        key = selector.group("key") if selector else part
        if isinstance(current, list) and key.isdigit():
            current = current[int(key)] if int(key) < len(current) else MISSING
        elif isinstance(current, dict) and key in current:
            current = current[key]
        else:
            return MISSING
        if selector:
            items = current if isinstance(current, list) else []
            field, value = selector.group("field"), selector.group("value")
            current = next((item for item in items if isinstance(item, dict) and item.get(field) == value), MISSING)
        if current is MISSING:
            return MISSING
    return current


def header_problem(response, name: str, expected: str | None) -> str | None:
    value = response.headers.get(name)
    if expected is None:
        return f"{name} present ({value}), recorded absent" if value is not None else None
    if value is None:
        return f"{name} absent, recorded {expected}"
    if expected.startswith("="):
        return None if value == expected[1:] else f"{name} is {value!r}, recorded {expected[1:]!r}"
    asked, given = urlsplit(response.request.url), urlsplit(value)
    if expected == "request-url":
        same_path = given.path.lower() == asked.path.lower()
    else:
        same_path = re.fullmatch(_FAMILY_PATH.format(family=expected), given.path) is not None
    same_version = parse_qs(given.query).get("api-version") == parse_qs(asked.query).get("api-version")
    return None if same_path and same_version else f"{name} is {value}, recorded a {expected} URL with the api-version"


def body_problem(response, kind: str) -> str | None:
    content = response.content.strip()
    actual = "empty" if not content else "null" if content == b"null" else "object"
    if actual == "object" and not isinstance(response.json(), dict):
        actual = type(response.json()).__name__
    return None if actual == kind else f"body is {actual}, recorded {kind}"


def document_problems(document: Any, expect: dict[str, Any], where: str = "") -> list[str]:
    found = []
    for path, value in expect.get("values", {}).items():
        actual = lookup(document, path)
        if actual is MISSING or actual != value or type(actual) is not type(value):
            shown = "missing" if actual is MISSING else json.dumps(actual)
            found.append(f"{where}{path} is {shown}, recorded {json.dumps(value)}")
    for path in expect.get("present", []):
        if lookup(document, path) is MISSING:
            found.append(f"{where}{path} missing")
    for path, kind in expect.get("types", {}).items():
        actual = lookup(document, path)
        if not isinstance(actual, _TYPES[kind]) or (isinstance(actual, bool) and kind != "boolean"):
            found.append(f"{where}{path} is not a {kind}")
    for path, pattern in expect.get("patterns", {}).items():
        actual = lookup(document, path)
        if not isinstance(actual, str) or not re.search(pattern, actual):
            found.append(f"{where}{path} is {'missing' if actual is MISSING else actual!r}, recorded /{pattern}/")
    return found


def poll_problems(session: Session, response, poll: dict[str, Any]) -> list[str]:
    url = response.headers.get("Azure-AsyncOperation")
    if url is None:
        return ["no Azure-AsyncOperation to poll"]
    seen = session.poll(url)
    found = []
    statuses = [status for status, _, _ in seen]
    if poll["first"] and statuses[0] not in poll["first"]:
        found.append(f"first poll {statuses[0]}, recorded the operation still running ({'/'.join(poll['first'])})")
    found += [
        f"poll status {status}, recorded {poll['first']}" for status in statuses[:-1] if status not in poll["first"]
    ]
    if statuses[-1] != poll["final"]:
        found.append(f"operation ended {statuses[-1]}, recorded {poll['final']}")
    if any("Retry-After" in headers for _, _, headers in seen):
        found.append("a poll answer carries Retry-After, recorded none")
    for _, body, _ in seen:
        found += document_problems(body, {"present": poll.get("present", [])}, "poll: ")
    final = {"present": poll.get("final_present", []), "values": poll.get("final_values", {})}
    return found + document_problems(seen[-1][1], final, "final poll: ")


def differences(session: Session, entry: dict[str, Any]) -> list[str]:
    expect = session.fill(entry["expect"])
    response = session.send(entry["request"])
    found = (
        []
        if response.status_code == expect["status"]
        else [f"status {response.status_code}, recorded {expect['status']}"]
    )
    found += [
        problem
        for name, expected in expect.get("headers", {}).items()
        if (problem := header_problem(response, name, expected))
    ]
    if "body" in expect and (problem := body_problem(response, expect["body"])):
        found.append(problem)
    document = response.json() if response.content.strip() not in (b"", b"null") else None
    found += document_problems(document, expect)
    if "poll" in expect and response.status_code < 300:
        found += poll_problems(session, response, expect["poll"])
    return found


def test_every_operation_names_its_source():
    ids = [entry["id"] for entry in OPERATIONS]
    assert len(ids) == len(set(ids)), "operation ids repeat"
    for entry in OPERATIONS:
        assert entry["source"].get("recording") or entry["source"].get("spec"), entry["id"]
        assert entry.get("pending", "x").strip(), f"{entry['id']}: a pending operation needs its reason"
        assert set(entry.get("setup", [])) <= set(CONTRACT["setups"]), entry["id"]


@pytest.mark.integration
@pytest.mark.parametrize("entry", OPERATIONS, ids=[entry["id"] for entry in OPERATIONS])
def test_emulator_answers_as_recorded(entry, emulator, ledger):
    session = Session(emulator)
    for name in entry.get("setup", []):
        session.set_up(name)
    found = differences(session, entry)
    ledger[entry["id"]] = ("pending" in entry, found)
    source = entry["source"].get("recording") or entry["source"].get("spec")
    if "pending" in entry:
        assert found, f"{entry['id']} now matches {source}: remove its 'pending' ({entry['pending']})"
    else:
        assert not found, f"{entry['id']} differs from {source}:\n  " + "\n  ".join(found)
