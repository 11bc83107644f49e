"""Write the benchmarks' test image: an OCI layout of 10 gzip layers of 20 MB random data.

Usage: python benchmarks/_make_layout.py DIR [BLOB_FILE]   (BLOB_FILE: also 100 MiB of random data)
"""
import gzip, hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
os.makedirs(f"{root}/blobs/sha256")
def put(data):
    h = hashlib.sha256(data).hexdigest()
    open(f"{root}/blobs/sha256/{h}", "wb").write(data)
    return {"digest": f"sha256:{h}", "size": len(data)}
layers, diff_ids = [], []
for i in range(10):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        payload = os.urandom(20_000_000)
        info = tarfile.TarInfo(f"layer{i}.bin"); info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    raw = buf.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   **put(gzip.compress(raw, compresslevel=1, mtime=0))})
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
    "layers": layers}).encode()
m = put(manifest)
json.dump({"imageLayoutVersion": "1.0.0"}, open(f"{root}/oci-layout", "w"))
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    **m, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, open(f"{root}/index.json", "w"))
if len(sys.argv) > 2:
    with open(sys.argv[2], "wb") as f:
        f.write(os.urandom(100 << 20))
