"""Push load for the GC benchmark: THREADS threads each pushing small new images (a config, one
layer, a tagged manifest: 4 requests, monolithic uploads) to a registry, until SECONDS have
passed or the file STOP exists; prints one JSON line: requests, images, seconds, errors.

Usage: python _gc_push_load.py HOST:PORT THREADS (SECONDS | --until STOP) [--check]

--check: afterwards, GET every pushed manifest and HEAD its blobs (a push racing the
collector must lose nothing); the count of missing ones goes in the JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _push_blob(client: httpx.Client, repo: str, data: bytes) -> None:
    r = client.post(f"/v2/{repo}/blobs/uploads/")
    r.raise_for_status()
    location = httpx.URL(r.headers["location"]).copy_merge_params({"digest": _digest(data)})
    client.put(str(location), content=data).raise_for_status()


def main() -> None:
    args = sys.argv[1:]
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    host, threads = args[0], int(args[1])
    until: Path | None = None
    seconds = 0.0
    if args[2] == "--until":
        until = Path(args[3])
    else:
        seconds = float(args[2])
    began = time.monotonic()
    counts = {"requests": 0, "images": 0, "errors": 0}
    pushed: list[tuple[str, str, list[str]]] = []
    lock = threading.Lock()

    def done() -> bool:
        if until is not None:
            return until.exists()
        return time.monotonic() - began >= seconds

    def worker(k: int) -> None:
        with httpx.Client(base_url=f"http://{host}", timeout=60) as client:
            while not done():
                repo = f"load/w{k}"
                config = json.dumps({"os": "linux", "id": uuid.uuid4().hex}).encode()
                layer = os.urandom(512)
                manifest = json.dumps(
                    {
                        "schemaVersion": 2,
                        "mediaType": OCI_MANIFEST,
                        "config": {
                            "mediaType": "application/vnd.oci.image.config.v1+json",
                            "digest": _digest(config),
                            "size": len(config),
                        },
                        "layers": [
                            {
                                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": _digest(layer),
                                "size": len(layer),
                            }
                        ],
                    }
                ).encode()
                tag = uuid.uuid4().hex[:12]
                try:
                    _push_blob(client, repo, config)
                    _push_blob(client, repo, layer)
                    client.put(
                        f"/v2/{repo}/manifests/{tag}",
                        content=manifest,
                        headers={"content-type": OCI_MANIFEST},
                    ).raise_for_status()
                except httpx.HTTPError:
                    with lock:
                        counts["errors"] += 1
                    continue
                with lock:
                    counts["requests"] += 5
                    counts["images"] += 1
                    pushed.append((repo, tag, [_digest(config), _digest(layer)]))

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - began
    result: dict[str, object] = {
        **counts,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(counts["requests"] / elapsed, 1),
    }
    if check:
        missing = 0
        with httpx.Client(base_url=f"http://{host}", timeout=60) as client:
            for repo, tag, blobs in pushed:
                r = client.get(f"/v2/{repo}/manifests/{tag}", headers={"accept": OCI_MANIFEST})
                missing += r.status_code != 200
                missing += sum(
                    client.head(f"/v2/{repo}/blobs/{d}").status_code != 200 for d in blobs
                )
        result["missing"] = missing
    print(json.dumps(result))


if __name__ == "__main__":
    main()
