"""cosign-compatible keys, signatures, attestations and offline verification."""

from dockyard.sign._attach import Layer, append_to_tag, attach_referrer, read_tag_layers
from dockyard.sign._dsse import (
    INTOTO_PAYLOAD_TYPE,
    PREDICATE_TYPES,
    Envelope,
    check_subject,
    make_statement,
    pae,
    predicate_type,
    sign_envelope,
)
from dockyard.sign._encrypted import ACCEPTED_SCRYPT_PARAMS, decrypt, encrypt
from dockyard.sign._keys import (
    COSIGN_PEM_TYPE,
    SIGSTORE_PEM_TYPE,
    KeyPair,
    PrivateKey,
    PublicKey,
    generate_key_pair,
    import_key_pair,
    load_private_key,
    load_public_key,
    write_key_pair,
)
from dockyard.sign._layout_names import (
    BUNDLE_ANNOTATION,
    DSSE_MEDIA_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
    artifact_type,
    attachment_tag,
    referrers_fallback_tag,
)
from dockyard.sign._payload import (
    COSIGN_SIGNATURE_TYPE,
    SimpleSigning,
    docker_reference,
    make_payload,
    parse_payload,
)
from dockyard.sign._remote import ClientRepository
from dockyard.sign._repository import LayoutRepository, Repository
from dockyard.sign._sign import Signed, attest_image, sign_image
from dockyard.sign._target import Target, open_target
from dockyard.sign._tree import Attached, Tree, tree
from dockyard.sign._verify import (
    Verified,
    VerifiedAttestation,
    find_referrers,
    signature_layers,
    verify_attestations,
    verify_image,
    verify_signature_layer,
)

__all__ = [
    "ACCEPTED_SCRYPT_PARAMS",
    "BUNDLE_ANNOTATION",
    "COSIGN_PEM_TYPE",
    "COSIGN_SIGNATURE_TYPE",
    "DSSE_MEDIA_TYPE",
    "INTOTO_PAYLOAD_TYPE",
    "PREDICATE_TYPES",
    "SIGNATURE_ANNOTATION",
    "SIGSTORE_PEM_TYPE",
    "SIMPLESIGNING_MEDIA_TYPE",
    "Attached",
    "ClientRepository",
    "Envelope",
    "KeyPair",
    "Layer",
    "LayoutRepository",
    "PrivateKey",
    "PublicKey",
    "Repository",
    "Signed",
    "SimpleSigning",
    "Target",
    "Tree",
    "Verified",
    "VerifiedAttestation",
    "append_to_tag",
    "artifact_type",
    "attach_referrer",
    "attachment_tag",
    "attest_image",
    "check_subject",
    "decrypt",
    "docker_reference",
    "encrypt",
    "find_referrers",
    "generate_key_pair",
    "import_key_pair",
    "load_private_key",
    "load_public_key",
    "make_payload",
    "make_statement",
    "open_target",
    "pae",
    "parse_payload",
    "predicate_type",
    "read_tag_layers",
    "referrers_fallback_tag",
    "sign_envelope",
    "sign_image",
    "signature_layers",
    "tree",
    "verify_attestations",
    "verify_image",
    "verify_signature_layer",
    "write_key_pair",
]
