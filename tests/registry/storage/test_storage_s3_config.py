"""``storage.s3`` read as registry:2 reads it: YAML and ``REGISTRY_STORAGE_S3_*``, typed,
checked, and closed to keys it does not know."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, Unsupported
from dockyard.registry.config import from_env, from_yaml, load
from dockyard.registry.storage import S3Config, s3_config_from_section

BASE = {
    "REGISTRY_STORAGE": "s3",
    "REGISTRY_STORAGE_S3_BUCKET": "b",
    "REGISTRY_STORAGE_S3_REGION": "r",
}


def test_environment_names_the_driver_and_fills_it_in() -> None:
    config = from_env(
        {
            **BASE,
            "HOME": "/home/u",
            "REGISTRY_STORAGE_S3_ACCESSKEY": "AK",
            "REGISTRY_STORAGE_S3_SECRETKEY": "SK",
            "REGISTRY_STORAGE_S3_REGIONENDPOINT": "s3.example:8333",
            "REGISTRY_STORAGE_S3_SECURE": "false",
            "REGISTRY_STORAGE_S3_FORCEPATHSTYLE": "true",
            "REGISTRY_STORAGE_S3_ROOTDIRECTORY": "/team/registry/",
            "REGISTRY_STORAGE_S3_CHUNKSIZE": str(8 << 20),
            "REGISTRY_STORAGE_S3_MULTIPARTCOPYTHRESHOLDSIZE": str(64 << 20),
            "REGISTRY_STORAGE_S3_ENCRYPT": "true",
            "REGISTRY_STORAGE_S3_SKIPVERIFY": "true",
        }
    )
    s3 = config.storage.s3
    assert s3 is not None and config.storage.driver == "s3"
    assert (s3.bucket, s3.region, s3.accesskey, s3.secretkey) == ("b", "r", "AK", "SK")
    assert s3.endpoint_url() == "http://s3.example:8333"  # secure: false picks http
    assert s3.forcepathstyle and s3.encrypt and s3.skipverify
    assert s3.rootdirectory == "team/registry"
    assert (s3.chunksize, s3.multipartcopythresholdsize) == (8 << 20, 64 << 20)
    # the local state (SQLite, cache counters) goes to the usual data directory
    assert config.storage.rootdirectory == Path("/home/u/.local/share/dockyard/registry")
    assert "SK" not in repr(s3)  # secrets stay out of logs and tracebacks


def test_yaml_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 0.1\nstorage:\n  s3:\n    bucket: b\n    region: eu-west-1\n", encoding="utf-8"
    )
    s3 = from_yaml(path).storage.s3
    assert s3 == S3Config(bucket="b", region="eu-west-1")
    assert s3.endpoint_url() is None and s3.secure and s3.chunksize == 10 << 20


def test_redirect_is_on_unless_disabled() -> None:
    """registry:2's ``storage.redirect``: blob GETs go to presigned URLs unless disabled."""
    assert from_env(BASE).storage.redirect
    assert not from_env({**BASE, "REGISTRY_STORAGE_REDIRECT_DISABLE": "true"}).storage.redirect


def test_root_beside_s3_is_the_local_state_directory() -> None:
    """``--root`` (``storage.filesystem.rootdirectory``) beside s3 holds the local state."""
    config = load(None, BASE, {"storage.filesystem.rootdirectory": "/srv/state"})
    assert config.storage.s3 is not None
    assert config.storage.rootdirectory == Path("/srv/state")


def test_a_real_second_driver_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 0.1\nstorage:\n  s3: {bucket: b, region: r}\n  inmemory: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidArgument, match="exactly one storage driver"):
        from_yaml(path)


@pytest.mark.parametrize(
    ("extra", "error", "words"),
    [
        ({"REGISTRY_STORAGE_S3_ENCRYPTION": "true"}, InvalidArgument, "storage.s3.encryption"),
        ({"REGISTRY_STORAGE_S3_V4AUTH": "false"}, Unsupported, "v4auth"),
        ({"REGISTRY_STORAGE_S3_ACCELERATE": "true"}, Unsupported, "accelerate"),
        ({"REGISTRY_STORAGE_S3_CHUNKSIZE": "1024"}, InvalidArgument, "chunksize"),
        ({"REGISTRY_STORAGE_S3_CHUNKSIZE": "big"}, InvalidArgument, "whole number"),
        ({"REGISTRY_STORAGE_S3_SECURE": "maybe"}, InvalidArgument, "true or false"),
        ({"REGISTRY_STORAGE_S3_ACCESSKEY": "AK"}, InvalidArgument, "secretkey"),
        ({"REGISTRY_STORAGE_S3_KEYID": "k"}, InvalidArgument, "encrypt"),
        ({"REGISTRY_STORAGE_S3_STORAGECLASS": "COLD"}, InvalidArgument, "storageclass"),
        ({"REGISTRY_STORAGE_S3_ROOTDIRECTORY": "/a/../b"}, InvalidArgument, "rootdirectory"),
        ({"REGISTRY_STORAGE_S3_BUCKET": ""}, InvalidArgument, "storage.s3.bucket is required"),
    ],
)
def test_bad_settings_stop_start_up(extra: dict[str, str], error: type, words: str) -> None:
    with pytest.raises(error) as info:
        from_env({**BASE, **extra})
    assert words in str(info.value)


def test_accepted_registry2_keys_at_their_harmless_values() -> None:
    s3 = s3_config_from_section(
        {
            "bucket": "b", "region": "r", "v4auth": "true", "usedualstack": "false",
            "accelerate": "false", "loglevel": "off", "maxrequestspersecond": "350",
            "multipartcopychunksize": str(32 << 20), "multipartcopymaxconcurrency": "10",
            "storageclass": "REDUCED_REDUNDANCY", "objectacl": "bucket-owner-full-control",
            "useragent": "dockyard", "sessiontoken": "t",
        }
    )  # fmt: skip
    assert s3.multipartcopymaxconcurrency == 10 and s3.storageclass == "REDUCED_REDUNDANCY"
