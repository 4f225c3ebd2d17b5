"""Fill Azurite folders with many blobs in seconds: write them into Azurite's own on-disk database.

Uploading is quadratic in Azurite: every Put Blob looks the blob up with ``findOne`` on account,
container and name (``LokiBlobMetadataStore.createBlob``), LokiJS answers from its binary index on
``accountName`` alone and then scans every blob record of the account, so blob ``k`` costs ``O(k)``
(50,000 uploads took about 45 minutes on the shared 2-core machine; 200,000 would take many hours).

This writes the records instead, the way Azurite itself would have:

1. a real Azurite (blob service, disk persistence in ``location``) creates each container and takes a
   real upload of the folder's first blob, then stops (SIGTERM: it saves its LokiJS database);
2. a Node.js script loads ``__azurite_db_blob__.json`` with the LokiJS library Azurite runs on, adds the
   other blobs of each folder as copies of that first record (unique name; a fresh etag made as
   Azurite's ``newEtag`` makes one, drawn again until unique; creation and last-modified times of now;
   the same committed content: the record points at the same range of the same extent file, and
   Azurite's extent GC keeps an extent while any blob refers to it) with LokiJS's own batch ``insert``
   (which rebuilds the binary indices once; ``checkAllIndexes`` then confirms them), and saves the
   database with LokiJS's own serializer;
3. the caller starts Azurite on ``location`` (without ``--inMemoryPersistence``), which loads that
   database as after any restart and serves listing, reads, overwrites and the queue as usual.

    .venv/bin/python benchmarks/azurite_preseed.py --location /tmp/x --folder scale-5000:n5000/:5000 --verify
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "emulator"))

BLOB_DB = "__azurite_db_blob__.json"

# Runs under node with Azurite's own lokijs; argv: database path, JSON list of [container, template, names].
NODE_SCRIPT = r"""
const Loki = require(process.argv[2]);
const [dbPath, foldersPath] = process.argv.slice(3);
const folders = JSON.parse(require("fs").readFileSync(foldersPath, "utf8"));
const db = new Loki(dbPath, { persistenceMethod: "fs", autosave: false });
const etags = new Set();
function newEtag() {  // Azurite's common/utils/utils.js newEtag(), redrawn until unique in this batch
  for (;;) {
    const hex = (new Date().getTime() * Math.round(Math.random() * 30000 + 70000)).toString(16);
    const etag = '"0x' + hex.toUpperCase() + '"';
    if (!etags.has(etag)) { etags.add(etag); return etag; }
  }
}
db.loadDatabase({}, (err) => {
  if (err) throw err;
  const coll = db.getCollection("$BLOBS_COLLECTION$");
  const counts = {};
  for (const [container, template, names] of folders) {
    const first = coll.findOne({ accountName: "devstoreaccount1", containerName: container, name: template });
    if (!first) throw new Error(`no blob ${template} in ${container} to copy`);
    const model = JSON.parse(JSON.stringify(first));
    delete model.$loki;
    delete model.meta;
    const docs = [];
    for (const name of names) {
      const doc = JSON.parse(JSON.stringify(model));
      const now = new Date().toISOString();
      doc.name = name;
      doc.properties.etag = newEtag();
      doc.properties.creationTime = now;
      doc.properties.lastModified = now;
      doc.properties.accessTierChangeTime = now;
      docs.push(doc);
    }
    coll.insert(docs);  // batch insert: adaptive indices off during the batch, rebuilt once after it
    counts[container] = coll.find({ accountName: "devstoreaccount1", containerName: container }).length;
  }
  const problems = coll.checkAllIndexes();
  if (problems.length) throw new Error(`inconsistent LokiJS indices: ${problems}`);
  db.saveDatabase((saveErr) => {
    if (saveErr) throw saveErr;
    console.log(JSON.stringify({ counts, records: coll.count() }));
  });
});
"""


def start_blob_azurite(location: Path) -> tuple[subprocess.Popen, int]:
    """``azurite-blob`` with disk persistence in ``location`` on a free loopback port."""
    from airflow_batchml_emulator.stack import free_port, wait_listening

    location.mkdir(parents=True, exist_ok=True)
    port = free_port()
    args = ["--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(location)]
    args += ["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"]
    log = (location / "azurite-preseed.log").open("a")
    proc = subprocess.Popen([str(ROOT / "node_modules" / ".bin" / "azurite-blob"), *args], stdout=log, stderr=log)
    wait_listening(port, proc, "Azurite blob (preseed)")
    return proc, port


def preseed(
    location: Path, folders: dict[str, list[str]], body: bytes, content_type: str = "text/csv"
) -> dict[str, int]:
    """Give each container of ``folders`` exactly the blobs named there, each holding ``body``; returns
    the blob count per container that LokiJS reports after the insert. Azurite must not be running on
    ``location``; the containers must not exist yet."""
    from azure.storage.blob import BlobServiceClient, ContentSettings

    from airflow_batchml_emulator.stack import azurite_connection_string, stop_process

    proc, port = start_blob_azurite(location)
    try:
        client = BlobServiceClient.from_connection_string(azurite_connection_string(port))
        for container, names in folders.items():
            client.create_container(container)
            client.get_blob_client(container, names[0]).upload_blob(
                body, content_settings=ContentSettings(content_type=content_type)
            )
    finally:
        if stop_process(proc) != 0:
            raise RuntimeError(f"Azurite (preseed) did not stop cleanly; see {location}/azurite-preseed.log")
    spec = location / "preseed-folders.json"
    spec.write_text(json.dumps([[container, names[0], names[1:]] for container, names in folders.items()]))
    script = location / "preseed.js"
    script.write_text(NODE_SCRIPT)
    lokijs = ROOT / "node_modules" / "lokijs"
    done = subprocess.run(
        ["node", "--max-old-space-size=8192", str(script), str(lokijs), str(location / BLOB_DB), str(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"preseed.js failed: {done.stderr[-2000:]}")
    spec.unlink()
    return json.loads(done.stdout.strip().splitlines()[-1])["counts"]


def verify(location: Path, folders: dict[str, list[str]], body: bytes) -> None:
    """Start a real Azurite on ``location``; list, read, overwrite through the storage SDK."""
    from azure.storage.blob import BlobServiceClient

    from airflow_batchml_emulator.stack import azurite_connection_string, stop_process

    proc, port = start_blob_azurite(location)
    try:
        client = BlobServiceClient.from_connection_string(azurite_connection_string(port))
        for container, names in folders.items():
            cc = client.get_container_client(container)
            prefix = names[0].rsplit("/", 1)[0] + "/"
            started = time.perf_counter()
            listed = [(b.name, b.etag, b.size) for b in cc.list_blobs(name_starts_with=prefix)]
            took = time.perf_counter() - started
            assert sorted(n for n, _, _ in listed) == sorted(names), f"{container}: listed {len(listed)}"
            etags = {e for _, e, _ in listed}
            assert len(etags) == len(names), f"{container}: {len(etags)} distinct etags for {len(names)} blobs"
            assert all(size == len(body) for _, _, size in listed)
            middle = names[len(names) // 2]
            assert cc.download_blob(middle).readall() == body
            props = cc.get_blob_client(middle).get_blob_properties()
            cc.upload_blob(middle, b"overwritten\n", overwrite=True)
            after = cc.get_blob_client(middle).get_blob_properties()
            assert after.etag != props.etag and cc.download_blob(middle).readall() == b"overwritten\n"
            assert cc.download_blob(names[-1]).readall() == body  # the shared extent is still there
            print(
                f"{container}: listed {len(listed):,} blobs under {prefix} in {took:.1f} s, distinct etags,"
                f" read {middle} ({props.size} bytes, {props.content_settings.content_type}), overwrote it"
            )
    finally:
        stop_process(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--location", type=Path, required=True, help="an empty directory for Azurite's data")
    parser.add_argument(
        "--folder", action="append", required=True, help="container:prefix:count, e.g. scale-5000:n5000/:5000"
    )
    parser.add_argument("--verify", action="store_true", help="then start Azurite on it: list, read, overwrite")
    args = parser.parse_args()
    folders = {}
    for spec in args.folder:
        container, prefix, count = spec.split(":")
        folders[container] = [f"{prefix}blob-{i:07d}.csv" for i in range(int(count))]
    body = b"a,b\n1,2\n"
    started = time.perf_counter()
    counts = preseed(args.location, folders, body)
    print(f"preseeded {counts} in {time.perf_counter() - started:.1f} s")
    if args.verify:
        verify(args.location, folders, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
