"""Pure change detection for a blob folder: a listing plus the saved state -> what changed, and the new state.

No I/O, so the rules that decide whether a change is lost or seen twice are tested exhaustively, and the
trigger and the sensor share them. The state is a watermark (the listing's start on the storage server's
clock, less a settle time) plus the etags of blobs at or after it. Why, and the options' costs:
``docs/change-detection.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from airflow_batchml.exceptions import AzureMLConfigurationError
from airflow_batchml.job_names import change_job_name

STATE_VERSION = 1
DEFAULT_SETTLE_SECONDS = 5.0
_BY_NAME = attrgetter("name")


@dataclass(frozen=True)
class BlobEntry:
    """One listed blob, as much as change detection needs (no SDK type)."""

    name: str
    etag: str
    last_modified: datetime
    size: int
    creation_time: datetime | None = None
    is_folder: bool = False
    content_md5: str | None = None


@dataclass(frozen=True)
class BlobFolder:
    """Which listed blobs belong to the watched folder.

    :param prefix: The folder inside the container; empty for the container root.
    :param recursive: Include blobs in sub-folders.
    :param glob: Only names (relative to the folder) matching this pattern.
    """

    prefix: str = ""
    recursive: bool = False
    glob: str | None = None
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefix", normalize_prefix(self.prefix))
        if self.glob is not None:
            object.__setattr__(self, "_pattern", compile_glob(self.glob))

    def accepts(self, entry: BlobEntry) -> bool:
        """True for a real blob of this folder: under the prefix, depth and glob allowing, not a marker."""
        if entry.is_folder or (entry.size == 0 and entry.name.endswith("/")):
            return False
        if not entry.name.startswith(self.prefix):
            return False
        relative = entry.name[len(self.prefix) :]
        if not relative or (not self.recursive and "/" in relative):
            return False
        return self._pattern is None or self._pattern.fullmatch(relative) is not None


@dataclass(frozen=True)
class ChangeSet:
    """The outcome of one poll: changed blobs, deleted names, and the state to save when it changed."""

    added: list[BlobEntry]
    modified: list[BlobEntry]
    deleted: list[str]
    state: dict[str, Any]
    state_changed: bool

    @property
    def changed(self) -> list[tuple[str, BlobEntry]]:
        """Added and modified blobs as ``(kind, entry)``, in name order."""
        pairs = [("added", e) for e in self.added] + [("modified", e) for e in self.modified]
        return sorted(pairs, key=lambda pair: pair[1].name)


def normalize_prefix(prefix: str | None) -> str:
    """``"in"`` and ``"/in/"`` both mean the folder ``"in/"``; empty means the container root."""
    cleaned = (prefix or "").strip("/")
    return f"{cleaned}/" if cleaned else ""


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate a folder-relative glob; raise a configuration error naming ``glob`` when it is malformed.

    ``fnmatch`` accepts anything (an unclosed ``[`` silently matches a literal), which would turn a typo
    into a watcher that never fires; this translator refuses such patterns instead.
    """
    if not isinstance(pattern, str) or not pattern or pattern.startswith("/"):
        raise AzureMLConfigurationError("glob", f"{pattern!r} is not a pattern relative to the folder, e.g. '*.csv'")
    parts, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            parts.append(".*")
            i += 2
            continue
        if char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end < 0:
                raise AzureMLConfigurationError("glob", f"{pattern!r} has an unclosed '[' at position {i}")
            body = pattern[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            parts.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
            continue
        parts.append({"*": "[^/]*", "?": "[^/]"}.get(char, re.escape(char)))
        i += 1
    try:
        return re.compile("".join(parts))
    except re.error as err:
        raise AzureMLConfigurationError("glob", f"{pattern!r} is not a valid pattern: {err}") from err


def initial_state(since: datetime) -> dict[str, Any]:
    """A state under which every blob version modified at or after ``since`` is a change."""
    return _state(_second(since), {})


def detect_changes(
    entries: Iterable[BlobEntry],
    state: dict[str, Any] | None,
    *,
    listed_at: datetime,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    include_existing: bool = False,
    track_deletions: bool = False,
    ignore_same_content: bool = False,
) -> ChangeSet:
    """Diff a folder listing (already filtered by :class:`BlobFolder`) against the saved state.

    :param listed_at: When the listing started, on the storage server's clock when known.
    :param settle_seconds: How far behind ``listed_at`` the watermark stays (storage clock differences).
    :param include_existing: With no saved state, report every listed blob as added; otherwise the first
        listing is only a baseline.
    :param track_deletions: Report names that disappeared (the state then keeps every name).
    :param ignore_same_content: A new version with the remembered Content-MD5 is no change (the state
        then keeps every blob's MD5).
    """
    entries = list(entries)
    check_state(state)
    options = {"names": track_deletions, "md5": ignore_same_content}
    if state is None:
        new = _next_state(entries, None, listed_at, settle_seconds, options)
        added = sorted(entries, key=_BY_NAME) if include_existing else []
        return ChangeSet(added, [], [], new, True)
    watermark = _parse_time(state["watermark"])
    known: dict[str, str] = state["etags"]
    known_md5: dict[str, str] = state.get("md5", {}) if ignore_same_content else {}
    added, modified, rewritten = [], [], False
    for entry in entries:
        if (watermark is not None and entry.last_modified < watermark) or known.get(entry.name) == entry.etag:
            continue
        if entry.content_md5 is not None and known_md5.get(entry.name) == entry.content_md5:
            rewritten = True  # the same bytes again: no change, but the new etag must be remembered
            continue
        existed = entry.name in known or (
            watermark is not None and entry.creation_time is not None and entry.creation_time < watermark
        )
        (modified if existed else added).append(entry)
    deleted = _deleted(entries, state) if track_deletions else []
    complete = all(key in state for key, wanted in options.items() if wanted)
    if not (added or modified or deleted or rewritten) and complete:
        return ChangeSet([], [], [], state, False)
    new = _next_state(entries, watermark, listed_at, settle_seconds, options)
    return ChangeSet(sorted(added, key=_BY_NAME), sorted(modified, key=_BY_NAME), deleted, new, True)


def check_state(state: Any) -> None:
    """Refuse a saved state this version cannot read, instead of silently re-baselining."""
    if state is None:
        return
    if not isinstance(state, dict) or state.get("v") != STATE_VERSION or not isinstance(state.get("etags"), dict):
        raise AzureMLConfigurationError("state", f"not a blob-change state of version {STATE_VERSION}: {state!r}")


def describe(
    kind: str, entry: BlobEntry, *, container: str, account_url: str | None, datastore: str | None, job_prefix: str
) -> dict[str, Any]:
    """The XCom / event record of one changed blob: identity, an input URI, and its deterministic job name.

    ``uri`` + ``type`` make the record a valid ``AzureMLInvokeBatchEndpointOperator`` input as is; the
    ``job_name`` (from container, name and etag) makes a second delivery of the same version attach to
    the job of the first instead of scoring the blob twice. Both URI forms percent-encode the name (``/``
    kept), as ``BlobClient.url`` does: Azure ML reads the path of an ``azureml://`` URI as a URL path
    and decodes it once, so a name like ``a%41`` or one with ``#``, ``?`` or a newline names itself.
    """
    if datastore:
        uri = f"azureml://datastores/{datastore}/paths/{quote(entry.name)}"
    elif account_url:
        uri = f"{account_url.rstrip('/')}/{container}/{quote(entry.name)}"
    else:
        uri = None
    return {
        "change": kind,
        "container": container,
        "name": entry.name,
        "etag": entry.etag,
        "size": entry.size,
        "last_modified": _format_time(entry.last_modified),
        "uri": uri,
        "type": "uri_file",
        "job_name": change_job_name(job_prefix, container, entry.name, entry.etag),
    }


def account_endpoint(url: str) -> str:
    """A storage client's URL without its query: with SAS authentication the query is the credential."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _next_state(
    entries: list[BlobEntry], watermark: datetime | None, listed_at: datetime, settle: float, options: dict[str, bool]
) -> dict[str, Any]:
    """Advance W to the settled listing start (never back) and keep the etags of blobs at or after it
    (plus every name and every MD5 when the options that need them are on)."""
    settled = _second(listed_at - timedelta(seconds=settle))
    new_mark = settled if watermark is None else max(watermark, settled)
    state = _state(new_mark, {e.name: e.etag for e in entries if e.last_modified >= new_mark})
    if options["names"]:
        state["names"] = sorted(e.name for e in entries)
    if options["md5"]:
        state["md5"] = {e.name: e.content_md5 for e in entries if e.content_md5 is not None}
    return state


def _deleted(entries: list[BlobEntry], state: dict[str, Any]) -> list[str]:
    current = {e.name for e in entries}
    return sorted(name for name in state.get("names", ()) if name not in current)


def _state(watermark: datetime | None, etags: dict[str, str]) -> dict[str, Any]:
    return {"v": STATE_VERSION, "watermark": _format_time(watermark), "etags": etags}


def _second(moment: datetime) -> datetime:
    """Truncate to the second: storage reports last-modified times at that resolution."""
    return _utc(moment).replace(microsecond=0)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _format_time(moment: datetime | None) -> str | None:
    return None if moment is None else _utc(moment).isoformat()


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else _utc(datetime.fromisoformat(text))
