"""Pull an image's blobs through a mirror endpoint and check each digest (stdlib only: it
runs inside a network namespace as ``python p2p_fetch.py URL NAME REFERENCE``).

``P2P_FETCH_AUTH=user:password`` sends Basic credentials (a registry pulled from directly).
Prints one JSON object: ``{"blobs": {digest: size}, "bad": [digests that did not verify]}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import urllib.request

ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"


def get(url: str, accept: str | None = None) -> bytes:
    headers = {"Accept": accept} if accept else {}
    if auth := os.environ.get("P2P_FETCH_AUTH"):
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=600) as response:
        data: bytes = response.read()
        return data


def main(base: str, name: str, reference: str) -> dict[str, object]:
    manifest = json.loads(get(f"{base}/v2/{name}/manifests/{reference}", ACCEPT))
    blobs: dict[str, int] = {}
    bad: list[str] = []
    for d in [manifest["config"], *manifest["layers"]]:
        data = get(f"{base}/v2/{name}/blobs/{d['digest']}")
        blobs[d["digest"]] = len(data)
        if "sha256:" + hashlib.sha256(data).hexdigest() != d["digest"] or len(data) != d["size"]:
            bad.append(d["digest"])
    return {"blobs": blobs, "bad": bad}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
