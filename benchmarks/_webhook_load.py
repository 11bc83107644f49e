"""Helpers of webhooks_overhead.sh: ``receiver PORT`` answers every POST with 204 (over
HTTP/1.1 keep-alive connections) and counts what it got; ``push HOST N`` pushes N small
images (distinct manifests, one tag each) and prints pushes per second; ``count PORT`` prints
how many requests the events received stand for (an envelope holds several events; a merged
pull event counts its ``count`` pulls)."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

OCI = "application/vnd.oci.image.manifest.v1+json"


def receiver(port: int) -> None:
    count = 0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers answer

        def do_POST(self) -> None:
            nonlocal count
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:  # the requests the events stand for (merged pulls carry their count)
                events = json.loads(body).get("events", [{}])
                n = sum(int(e.get("count", 1)) for e in events)
            except (ValueError, AttributeError):
                n = 1
            with lock:
                count += n
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            body = str(count).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _blob(client: httpx.Client, name: str, data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = client.post(f"/v2/{name}/blobs/uploads/")
    r.raise_for_status()
    r = client.put(r.headers["location"], params={"digest": digest}, content=data)
    r.raise_for_status()
    return {"mediaType": "application/octet-stream", "digest": digest, "size": len(data)}


def push(host: str, n: int) -> None:
    with httpx.Client(base_url=f"http://{host}", timeout=60) as client:
        config = _blob(client, "bench/app", b'{"architecture":"amd64","os":"linux"}')
        config["mediaType"] = "application/vnd.oci.image.config.v1+json"
        layer = _blob(client, "bench/app", b"layer" * 1000)
        start = time.perf_counter()
        for i in range(n):
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI,
                    "config": config,
                    "layers": [layer],
                    "annotations": {"n": str(i)},
                }
            ).encode()
            r = client.put(
                f"/v2/bench/app/manifests/t{i}", content=manifest, headers={"content-type": OCI}
            )
            r.raise_for_status()
        print(f"{n / (time.perf_counter() - start):.0f}")


if __name__ == "__main__":
    if sys.argv[1] == "receiver":
        receiver(int(sys.argv[2]))
    elif sys.argv[1] == "push":
        push(sys.argv[2], int(sys.argv[3]))
    else:
        print(httpx.get(f"http://127.0.0.1:{sys.argv[2]}/").text)
