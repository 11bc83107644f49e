"""``storage.s3``: the S3 driver's settings, read exactly as registry:2 reads its own.

Every key of registry:2's ``storage.s3`` section is known here. The ones dockyard implements
are typed and checked; the ones it accepts only at their harmless value (``v4auth: true``,
``usedualstack: false``, ``accelerate: false``) refuse any other; an unknown key stops
start-up naming the known ones — a misspelt ``encrypt`` must not store blobs in the clear.
Values come as the strings the YAML file or a ``REGISTRY_STORAGE_S3_*`` variable held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument, Unsupported

__all__ = ["MIN_PART_SIZE", "S3Config", "s3_config_from_section"]

MiB = 1 << 20
#: S3's smallest part of a multipart upload (all but the last part).
MIN_PART_SIZE = 5 * MiB
#: S3's largest part (and the largest single PUT or server-side copy).
MAX_PART_SIZE = 5 << 30

_STR_KEYS = frozenset(
    {"accesskey", "secretkey", "region", "regionendpoint", "bucket", "rootdirectory", "keyid",
     "sessiontoken", "storageclass", "objectacl", "useragent", "loglevel"}
)  # fmt: skip
_BOOL_KEYS = frozenset({"forcepathstyle", "encrypt", "secure", "skipverify", "v4auth",
                        "usedualstack", "accelerate"})  # fmt: skip
_INT_KEYS = frozenset(
    {"chunksize", "multipartcopychunksize", "multipartcopymaxconcurrency",
     "multipartcopythresholdsize", "maxrequestspersecond", "maxretries"}
)  # fmt: skip
#: boolean keys dockyard implements only at this value
_FIXED = {"v4auth": True, "usedualstack": False, "accelerate": False}
_STORAGE_CLASSES = frozenset(
    {"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
     "GLACIER_IR", "NONE"}
)  # fmt: skip
_ACLS = frozenset(
    {"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
     "bucket-owner-read", "bucket-owner-full-control"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class S3Config:
    """One bucket (and a key prefix in it) on an S3-compatible object store."""

    bucket: str
    region: str
    #: None: the SDK's default chain (environment, shared files, instance profile)
    accesskey: str | None = None
    secretkey: str | None = field(default=None, repr=False)
    sessiontoken: str | None = field(default=None, repr=False)
    #: a full URL, or a host (then ``secure`` picks https or http); None: AWS's endpoint
    regionendpoint: str | None = None
    forcepathstyle: bool = False
    secure: bool = True
    skipverify: bool = False
    #: server-side encryption (AES256, or aws:kms with ``keyid``)
    encrypt: bool = False
    keyid: str | None = None
    #: the key prefix every object goes under ("" for the bucket's root)
    rootdirectory: str = ""
    #: bytes buffered before a part of a multipart upload is sent
    chunksize: int = 10 * MiB
    #: objects at least this big are moved with a parallel multipart copy
    multipartcopythresholdsize: int = 32 * MiB
    multipartcopychunksize: int = 32 * MiB
    multipartcopymaxconcurrency: int = 100
    storageclass: str = "STANDARD"
    objectacl: str = "private"
    useragent: str | None = None
    maxretries: int = 5

    def endpoint_url(self) -> str | None:
        if not self.regionendpoint:
            return None
        if "://" in self.regionendpoint:
            return self.regionendpoint
        return f"{'https' if self.secure else 'http'}://{self.regionendpoint}"


def _bool(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise InvalidArgument(
        f"configuration key 'storage.s3.{name}' must be true or false, got {value!r}",
        hint=f"fix storage.s3.{name} or REGISTRY_STORAGE_S3_{name.upper()}",
    )


def _int(name: str, value: Any) -> int:
    text = str(value).strip()
    if not text.lstrip("-").isdigit():
        raise InvalidArgument(
            f"configuration key 'storage.s3.{name}' must be a whole number, got {value!r}",
            hint=f"fix storage.s3.{name} or REGISTRY_STORAGE_S3_{name.upper()}",
        )
    return int(text)


def _in_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise InvalidArgument(
            f"storage.s3.{name} is {value}; it must be between {low} and {high}",
            hint="S3 parts are 5 MiB to 5 GiB (as registry:2 checks)",
        )
    return value


def s3_config_from_section(section: Mapping[str, Any] | None) -> S3Config:
    """The typed settings of a ``storage.s3`` section; InvalidArgument names a wrong key."""
    if not isinstance(section, Mapping):
        raise InvalidArgument(
            "storage.s3 must be a mapping of settings",
            hint="give at least storage.s3.bucket and storage.s3.region",
        )
    known = _STR_KEYS | _BOOL_KEYS | _INT_KEYS
    values: dict[str, Any] = {}
    for raw_name, value in section.items():
        name = str(raw_name).lower()
        if name not in known:
            raise InvalidArgument(
                f"unknown key 'storage.s3.{raw_name}' (known: {', '.join(sorted(known))})",
                hint="fix or remove it: the s3 section refuses keys it does not know",
            )
        if value is None or value == "":
            continue
        if name in _BOOL_KEYS:
            values[name] = _bool(name, value)
        elif name in _INT_KEYS:
            values[name] = _int(name, value)
        elif not isinstance(value, str):
            raise InvalidArgument(f"configuration key 'storage.s3.{name}' must be a string")
        else:
            values[name] = value
    for name, wanted in _FIXED.items():
        if name in values and values.pop(name) != wanted:
            raise Unsupported(
                f"storage.s3.{name}: {str(not wanted).lower()} is not supported by dockyard",
                hint=f"remove storage.s3.{name} or set it to {str(wanted).lower()}",
            )
    values.pop("loglevel", None)  # the SDK's wire logging: dockyard logs through `log.level`
    values.pop("maxrequestspersecond", None)  # registry:2's client-side throttle; not needed
    for name in ("bucket", "region"):
        if not values.get(name):
            raise InvalidArgument(
                f"storage.s3.{name} is required",
                hint=f"set storage.s3.{name} or REGISTRY_STORAGE_S3_{name.upper()}",
            )
    if ("accesskey" in values) != ("secretkey" in values):
        raise InvalidArgument(
            "storage.s3 has only one of accesskey and secretkey",
            hint="give both, or neither to use the SDK's credential chain",
        )
    values["rootdirectory"] = values.get("rootdirectory", "").strip("/")
    if values["rootdirectory"] and any(
        p in ("", ".", "..") for p in values["rootdirectory"].split("/")
    ):
        raise InvalidArgument(
            f"storage.s3.rootdirectory {values['rootdirectory']!r} is not a plain key prefix",
            hint="use a path like /registry (no empty, '.' or '..' parts)",
        )
    config = S3Config(**values)
    _in_range("chunksize", config.chunksize, MIN_PART_SIZE, MAX_PART_SIZE)
    _in_range("multipartcopychunksize", config.multipartcopychunksize, MIN_PART_SIZE, MAX_PART_SIZE)
    _in_range("multipartcopythresholdsize", config.multipartcopythresholdsize, 0, MAX_PART_SIZE)
    if not 1 <= config.multipartcopymaxconcurrency <= 1000:
        raise InvalidArgument("storage.s3.multipartcopymaxconcurrency must be 1 to 1000")
    if config.storageclass not in _STORAGE_CLASSES:
        raise InvalidArgument(
            f"storage.s3.storageclass {config.storageclass!r} is not one of "
            f"{', '.join(sorted(_STORAGE_CLASSES))}"
        )
    if config.objectacl not in _ACLS:
        raise InvalidArgument(
            f"storage.s3.objectacl {config.objectacl!r} is not one of {', '.join(sorted(_ACLS))}"
        )
    if config.keyid and not config.encrypt:
        raise InvalidArgument(
            "storage.s3.keyid is set but encrypt is false",
            hint="set storage.s3.encrypt: true to encrypt with that KMS key",
        )
    return config
