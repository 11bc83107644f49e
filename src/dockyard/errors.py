"""One error hierarchy for all of dockyard.

Every error is a :class:`DockyardError` of exactly one *category*. Domain errors subclass a
category and may carry an OCI distribution error code. Errors are mapped to the outside world in
three places only: the registry server (HTTP status + OCI JSON), the registry client (OCI JSON →
exception) and the CLI (category → exit code + one line saying what to do).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyExists",
    "BlobUnknown",
    "BlobUploadInvalid",
    "BlobUploadUnknown",
    "Conflict",
    "DecryptionFailed",
    "Denied",
    "DigestInvalid",
    "DockerfileInvalid",
    "DockyardError",
    "FailedPrecondition",
    "InvalidArgument",
    "ManifestBlobUnknown",
    "ManifestInvalid",
    "ManifestUnknown",
    "NameInvalid",
    "NameUnknown",
    "NotFound",
    "RangeNotSatisfiable",
    "RateLimited",
    "ReferenceInvalid",
    "RunFailed",
    "RuntimeMissing",
    "SizeInvalid",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "UnsafeLayer",
    "Unsupported",
    "VulnerabilityPolicyDenied",
]


class DockyardError(Exception):
    """Root of every error dockyard raises on purpose."""

    #: CLI exit code for this category (docker's CLI exits 1 for every error it reports;
    #: 125 is kept for usage errors, as docker does).
    exit_code: ClassVar[int] = 1
    #: HTTP status for this category, used by the registry server.
    http_status: ClassVar[int] = 500
    #: OCI distribution error code (``BLOB_UNKNOWN`` …), where one applies.
    oci_code: ClassVar[str] = "UNKNOWN"
    #: Whether repeating the same operation may succeed.
    retryable: bool = False

    def __init__(self, message: str, *, hint: str | None = None, detail: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class NotFound(DockyardError):
    exit_code = 1
    http_status = 404
    oci_code = "NOT_FOUND"


class AlreadyExists(DockyardError):
    exit_code = 1
    http_status = 409
    oci_code = "CONFLICT"


class InvalidArgument(DockyardError):
    exit_code = 1
    http_status = 400
    oci_code = "UNSUPPORTED"


class FailedPrecondition(DockyardError):
    exit_code = 1
    http_status = 412
    oci_code = "DENIED"


class Conflict(DockyardError):
    exit_code = 1
    http_status = 409
    oci_code = "CONFLICT"


class Unauthorized(DockyardError):
    exit_code = 1
    http_status = 401
    oci_code = "UNAUTHORIZED"


class Denied(DockyardError):
    exit_code = 1
    http_status = 403
    oci_code = "DENIED"


class Unsupported(DockyardError):
    exit_code = 1
    http_status = 415
    oci_code = "UNSUPPORTED"


class Unavailable(DockyardError):
    exit_code = 1
    http_status = 503
    oci_code = "UNAVAILABLE"
    retryable = True


class TooManyRequests(DockyardError):
    """Too many attempts from one client (e.g. failed logins): refused until ``retry_after``.

    The server answers 429 with a ``Retry-After: <retry_after>`` header. Unlike
    :class:`RateLimited` (a remote registry throttling *us*), this is dockyard refusing a client.
    """

    exit_code = 1
    http_status = 429
    oci_code = "TOOMANYREQUESTS"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        hint: str | None = None,
        detail: object = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.retry_after = max(1, int(retry_after))


# --- domain errors -------------------------------------------------------------------------


class DigestInvalid(InvalidArgument):
    """A digest string is malformed, or content does not match the digest it claims."""

    oci_code = "DIGEST_INVALID"


class SizeInvalid(InvalidArgument):
    oci_code = "SIZE_INVALID"


class NameInvalid(InvalidArgument):
    oci_code = "NAME_INVALID"


class ReferenceInvalid(InvalidArgument):
    """An image reference does not follow the reference grammar."""

    oci_code = "NAME_INVALID"


class ManifestInvalid(InvalidArgument):
    oci_code = "MANIFEST_INVALID"


class BlobUnknown(NotFound):
    oci_code = "BLOB_UNKNOWN"


class ManifestUnknown(NotFound):
    oci_code = "MANIFEST_UNKNOWN"


class UnsafeLayer(InvalidArgument):
    """A layer tar tries to write outside its root, or holds something we refuse to create."""

    oci_code = "BLOB_UPLOAD_INVALID"


class RateLimited(Unavailable):
    """A registry answered 429 Too Many Requests; ``retry_after`` is its Retry-After in seconds."""

    oci_code = "TOOMANYREQUESTS"
    http_status = 429

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        detail: object = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.retry_after = retry_after


class NameUnknown(NotFound):
    """The repository is not known to the registry."""

    oci_code = "NAME_UNKNOWN"


class BlobUploadUnknown(NotFound):
    """No upload session with this id (never started, finished, cancelled or expired)."""

    oci_code = "BLOB_UPLOAD_UNKNOWN"


class BlobUploadInvalid(InvalidArgument):
    """An upload chunk or completion request that does not fit the session."""

    oci_code = "BLOB_UPLOAD_INVALID"


class ManifestBlobUnknown(InvalidArgument):
    """A manifest references a blob (or child manifest) the repository does not have."""

    oci_code = "MANIFEST_BLOB_UNKNOWN"


class RangeNotSatisfiable(InvalidArgument):
    """A byte range outside the content, or a chunk that does not start where the upload ends."""

    http_status = 416
    oci_code = "BLOB_UPLOAD_INVALID"


class RuntimeMissing(FailedPrecondition):
    """No OCI runtime (crun or runc) to run a build step in."""


class RunFailed(FailedPrecondition):
    """A build step's command exited non-zero; carries the exit code and its last output."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        detail: object = None,
        exit_status: int = 1,
        output_tail: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.exit_status = exit_status
        self.output_tail = output_tail


class DecryptionFailed(InvalidArgument):
    """A password-protected private key does not open with the password given."""


class SignatureInvalid(Denied):
    """No signature (or attestation) verifies against the trusted key(s), with the reasons."""


class VulnerabilityPolicyDenied(Denied):
    """A registry refuses a pull: the image has findings its scan policy blocks (or no report)."""


class DockerfileInvalid(InvalidArgument):
    """A Dockerfile (or .dockerignore) cannot be parsed or does not make sense."""
