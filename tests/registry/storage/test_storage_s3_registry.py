"""The registry on S3, end to end: real ``dockyard registry serve`` processes whose blobs live in
a SeaweedFS bucket, a real skopeo pushing and pulling, a chunked upload whose requests go
to two different processes (as behind a load balancer without stickiness), and blob GETs
answered by the registry's stream or by a redirect to a presigned URL of the store.

Both processes share the bucket and a local state directory (the SQLite database), as two
replicas share the bucket and a PostgreSQL database; nothing of an upload stays in process
memory between requests.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from _infra._process import run_command
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.registry_server import RegistryProcess, free_port, start_registry
from _infra.seaweed import Seaweed, create_bucket
from dockyard.digest import Digest
from dockyard.registry.storage import S3Config, blob_key
from dockyard.registry.storage.s3 import S3Driver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo"),
]

_BUCKET = "dockyard-serve"
_ROOT = "registry"
MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class Replicas:
    first: RegistryProcess
    second: RegistryProcess
    storage: S3Driver
    #: the second replica's debug address
    debug: str


def _config_file(path: Path, seaweed: Seaweed) -> Path:
    # credentials by environment (as a Secret would give them), the rest in the file
    path.write_text(
        "version: 0.1\n"
        "storage:\n"
        "  delete: {enabled: true}\n"
        "  s3:\n"
        f"    region: {seaweed.region}\n"
        f"    regionendpoint: {seaweed.endpoint}\n"
        "    forcepathstyle: true\n"
        f"    bucket: {_BUCKET}\n"
        f"    rootdirectory: /{_ROOT}\n"
        "    chunksize: 5242880\n"
        "    multipartcopythresholdsize: 5242880\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def replicas(seaweed: Seaweed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    create_bucket(seaweed, _BUCKET)
    work = tmp_path_factory.mktemp("s3-registry")
    config = _config_file(work / "config.yml", seaweed)
    env = {
        "REGISTRY_STORAGE_S3_ACCESSKEY": seaweed.access_key,
        "REGISTRY_STORAGE_S3_SECRETKEY": seaweed.secret_key,
    }
    state = work / "state"  # `--root`: with s3, only the local state (SQLite) lives here
    debug = f"127.0.0.1:{free_port()}"  # the second's /metrics: what it asked the store
    storage = S3Driver(
        S3Config(
            bucket=_BUCKET, region=seaweed.region, accesskey=seaweed.access_key,
            secretkey=seaweed.secret_key, regionendpoint=seaweed.endpoint,
            forcepathstyle=True, rootdirectory=_ROOT,
        )
    )  # fmt: skip
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        # started side by side: each start is mostly the interpreter loading dockyard
        # the first redirects blob GETs to presigned URLs (registry:2's default), the second
        # streams them itself (`storage.redirect.disable: true`)
        first, second = pool.map(
            lambda extra: stack.enter_context(
                start_registry(state, "-c", str(config), env={**env, **extra})
            ),
            [{}, {"REGISTRY_STORAGE_REDIRECT_DISABLE": "true", "REGISTRY_HTTP_DEBUG_ADDR": debug}],
        )
        stack.callback(storage.close)
        yield Replicas(first, second, storage, debug)


def _skopeo(*args: str) -> str:
    return str(run_command(["skopeo", *args], timeout=300).stdout)


def test_skopeo_pushes_and_pulls_through_s3(replicas: Replicas, tmp_path: Path) -> None:
    big = os.urandom(6 * MiB)  # past chunksize: a multipart object, moved by part copies
    layers = [gzip_tar("small.txt", b"hello from s3\n"), gzip_tar("big.bin", big)]
    digest = oci_layout(tmp_path / "src", layers)
    remote = f"docker://{replicas.first.host}/team/app:v1"
    _skopeo("copy", "--quiet", "--dest-tls-verify=false", f"oci:{tmp_path / 'src'}:t", remote)

    # the blobs are objects in the bucket, under the root directory, at the layout's keys
    for layer in layers:
        key = blob_key(Digest.parse("sha256:" + hashlib.sha256(layer).hexdigest()))
        info = replicas.storage.stat(key)
        assert info is not None and info.size == len(layer), key
    assert sorted(replicas.storage.list("uploads")) == []  # no upload left behind
    assert not (replicas.first.root / "blobs").exists()  # nothing on the local disk

    # pulled back through the other replica: streamed from S3 by the registry, byte for byte
    other = f"docker://{replicas.second.host}/team/app:v1"
    _skopeo("copy", "--quiet", "--src-tls-verify=false", other, f"oci:{tmp_path / 'dst'}:t")
    index = json.loads((tmp_path / "dst" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest
    for layer in layers:
        hexdigest = hashlib.sha256(layer).hexdigest()
        assert (tmp_path / "dst" / "blobs" / "sha256" / hexdigest).read_bytes() == layer

    # skopeo follows the redirecting replica's 307 to the store for the config blob
    info = json.loads(_skopeo("inspect", "--tls-verify=false", remote))
    assert info["Digest"] == digest and info["Architecture"] == "amd64"


def test_a_chunked_upload_continues_on_another_replica(
    replicas: Replicas, seaweed: Seaweed
) -> None:
    """POST on one process, PATCHes alternating between both, PUT on the other: the upload's
    state is the bucket's and the database's, never a process's memory — the hash of the bytes
    so far included (a PATCH after the other replica's reads none of them back). Chunks of 3 MiB
    straddle S3's 5 MiB part minimum and the 5 MiB chunksize."""
    data = os.urandom(3 * MiB) + os.urandom(3 * MiB) + os.urandom(MiB // 2)
    chunks = [data[: 3 * MiB], data[3 * MiB : 6 * MiB], data[6 * MiB :]]
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    hosts = [replicas.first.url, replicas.second.url]
    with httpx.Client(timeout=120) as http:
        r = http.post(f"{hosts[0]}/v2/team/chunked/blobs/uploads/")
        assert r.status_code == 202, r.text
        location = r.headers["location"]
        offset = 0
        for i, chunk in enumerate(chunks):
            host = hosts[(i + 1) % 2]
            before = _store_calls(http, replicas.debug)
            r = http.patch(
                f"{host}{location}"
                if location.startswith("/")
                else location.replace(hosts[0], host),
                content=chunk,
                headers={
                    "content-type": "application/octet-stream",
                    "content-range": f"{offset}-{offset + len(chunk) - 1}",
                },
            )
            assert r.status_code == 202, r.text
            if i == 2:  # the second replica goes on from the hash the first one saved
                after = _store_calls(http, replicas.debug)
                assert after.get("Reader", 0) == before.get("Reader", 0), (before, after)
            offset += len(chunk)
            assert r.headers["range"] == f"0-{offset - 1}"
            location = r.headers["location"]
        path = location if location.startswith("/") else httpx.URL(location).raw_path.decode()
        sep = "&" if "?" in path else "?"
        r = http.put(f"{hosts[0]}{path}{sep}digest={digest}")
        assert r.status_code == 201, r.text

        streamed = http.get(f"{hosts[1]}/v2/team/chunked/blobs/{digest}")
        assert streamed.status_code == 200 and streamed.content == data
        part = http.get(
            f"{hosts[1]}/v2/team/chunked/blobs/{digest}", headers={"range": "bytes=5000000-5000099"}
        )
        assert part.status_code == 206 and part.content == data[5000000:5000100]
        # a range past the zero-copy threshold, across the object's parts: spliced from the
        # store's own connection (storage/_s3_direct.py), byte for byte
        big_part = http.get(
            f"{hosts[1]}/v2/team/chunked/blobs/{digest}",
            headers={"range": "bytes=4500000-5600000"},
        )
        assert big_part.status_code == 206 and big_part.content == data[4500000:5600001]
        assert big_part.headers["content-range"] == f"bytes 4500000-5600000/{len(data)}"
        tail = http.get(
            f"{hosts[1]}/v2/team/chunked/blobs/{digest}", headers={"range": f"bytes=-{MiB}"}
        )
        assert tail.status_code == 206 and tail.content == data[-MiB:]

        # redirected: a presigned URL of the store, which serves the bytes without credentials
        redirect = http.get(f"{hosts[0]}/v2/team/chunked/blobs/{digest}")
        assert redirect.status_code == 307
        assert redirect.headers["docker-content-digest"] == digest
        location = redirect.headers["location"]
        assert location.startswith(seaweed.endpoint) and "Signature" in location
        assert http.get(location).content == data
        assert http.head(f"{hosts[0]}/v2/team/chunked/blobs/{digest}").status_code == 200
    assert sorted(replicas.storage.list("uploads")) == []


def test_a_spliced_get_of_bytes_gone_from_the_store_is_blob_unknown(replicas: Replicas) -> None:
    """A large blob GET asks the store once: the spliced GET of the exact range is the proof
    that the bytes are there (no HEAD first). When they are gone behind the registry's back
    (its record outlived them), the answer is still 404 BLOB_UNKNOWN, before any byte of a
    body — never a 200 whose body breaks off."""
    data = os.urandom(2 * MiB)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    streams = replicas.second.url  # streams blob GETs itself (no redirect)
    with httpx.Client(timeout=120) as http:
        r = http.post(f"{streams}/v2/team/vanishing/blobs/uploads/?digest={digest}", content=data,
                      headers={"content-type": "application/octet-stream"})  # fmt: skip
        assert r.status_code == 201, r.text
        before = _store_calls(http, replicas.debug)
        whole = http.get(f"{streams}/v2/team/vanishing/blobs/{digest}")
        assert whole.status_code == 200 and whole.content == data
        after = _store_calls(http, replicas.debug)
        asked = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        assert asked == {"BodySocket": 1}, asked  # one request to the store: no Stat first
        replicas.storage.delete(blob_key(Digest.parse(digest)))
        for headers in ({}, {"range": "bytes=0-1999999"}, {"range": "bytes=10-99"}):
            gone = http.get(f"{streams}/v2/team/vanishing/blobs/{digest}", headers=headers)
            assert gone.status_code == 404, (headers, gone.status_code)
            assert gone.json()["errors"][0]["code"] == "BLOB_UNKNOWN", gone.text
        assert http.head(f"{streams}/v2/team/vanishing/blobs/{digest}").status_code == 404


def _store_calls(http: httpx.Client, debug: str) -> dict[str, float]:
    """The S3 driver's operations so far, by action (``registry_storage_action_seconds``)."""
    text = http.get(f"http://{debug}/metrics").text
    return {
        sample.labels["action"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "registry_storage_action_seconds_count"
        and sample.labels.get("driver") == "s3aws"
    }
