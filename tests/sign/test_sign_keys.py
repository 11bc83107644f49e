"""Keys: cosign's key vectors, the encrypted envelope, file modes, passwords."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path

import nacl.secret
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from _infra import run_dockyard
from dockyard.errors import DecryptionFailed, InvalidArgument, Unsupported
from dockyard.sign import (
    COSIGN_PEM_TYPE,
    SIGSTORE_PEM_TYPE,
    decrypt,
    generate_key_pair,
    import_key_pair,
    load_private_key,
    load_public_key,
    write_key_pair,
)
from dockyard.sign._keys import PrivateKey
from dockyard.sign._pem import decode_pem


def _envelope(block: bytes) -> dict[str, object]:
    return json.loads(decode_pem(block).data)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("name", "pem_type"),
    [
        ("keys_test-pemcosignkey.hello.key", COSIGN_PEM_TYPE),
        ("keys_test-pemsigstorekey.hello.key", SIGSTORE_PEM_TYPE),
    ],
)
def test_cosign_private_keys_decrypt_with_hello(
    cosign_vectors: Path, name: str, pem_type: str
) -> None:
    pem = (cosign_vectors / name).read_bytes()
    assert decode_pem(pem).type == pem_type
    key = load_private_key(pem, b"hello")
    assert isinstance(key.key, ec.EllipticCurvePrivateKey)
    assert key.key.curve.name == "secp256r1"
    # the key works: what it signs, its public half verifies
    assert key.public_key().verify(key.sign(b"data"), b"data")


def test_cosign_key_wrong_password_fails_the_mac(cosign_vectors: Path) -> None:
    pem = (cosign_vectors / "keys_test-pemcosignkey.hello.key").read_bytes()
    with pytest.raises(DecryptionFailed, match="wrong password"):
        load_private_key(pem, b"wrong")


def test_sec1_plaintext_is_rejected_like_cosign(cosign_vectors: Path) -> None:
    pem = (cosign_vectors / "keys_test-pemcosigneckey-sec1.hello.key").read_bytes()
    envelope = _envelope(pem)
    assert envelope["kdf"]["params"] == {"N": 65536, "r": 8, "p": 1}  # type: ignore[index]
    # the envelope opens (N=65536 is accepted) but the plaintext is SEC1, not PKCS#8
    assert decrypt(decode_pem(pem).data, b"hello").startswith(b"\x30")
    with pytest.raises(InvalidArgument, match="not PKCS#8"):
        load_private_key(pem, b"hello")


def test_cosign_ci_key_envelope_shape(cosign_vectors: Path) -> None:
    pem = (cosign_vectors / "cosign-test.key").read_bytes()
    assert decode_pem(pem).type == COSIGN_PEM_TYPE
    env = _envelope(pem)
    assert env["kdf"] == {**env["kdf"], "name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}}  # type: ignore[dict-item]
    assert len(base64.b64decode(env["kdf"]["salt"])) == 32
    assert env["cipher"]["name"] == "nacl/secretbox"  # type: ignore[index]
    assert len(base64.b64decode(env["cipher"]["nonce"])) == 24  # type: ignore[index]
    assert len(base64.b64decode(env["ciphertext"])) == 138 + 16  # type: ignore[arg-type]
    with pytest.raises(DecryptionFailed):
        load_private_key(pem, b"not-the-ci-secret")
    pub = load_public_key((cosign_vectors / "cosign-test.pub").read_bytes())
    assert isinstance(pub.key, ec.EllipticCurvePublicKey)


def test_release_pub_key_is_p256(cosign_vectors: Path) -> None:
    pub = load_public_key((cosign_vectors / "release-cosign.pub").read_bytes())
    assert isinstance(pub.key, ec.EllipticCurvePublicKey)
    assert pub.key.curve.name == "secp256r1"
    assert pub.pem == (cosign_vectors / "release-cosign.pub").read_bytes()


def _hand_made_envelope(plaintext: bytes, password: bytes, n: int) -> bytes:
    """An envelope built here with hashlib + PyNaCl, independent of dockyard's writer."""
    salt, nonce = os.urandom(32), os.urandom(24)
    key = hashlib.scrypt(password, salt=salt, n=n, r=8, p=1, dklen=32, maxmem=2**28)
    box = nacl.secret.SecretBox(key).encrypt(plaintext, nonce).ciphertext
    obj = {
        "kdf": {
            "name": "scrypt",
            "params": {"N": n, "r": 8, "p": 1},
            "salt": base64.b64encode(salt).decode(),
        },
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(box).decode(),
    }
    return json.dumps(obj).encode()


@pytest.mark.parametrize("n", [32768, 65536, 131072])
def test_scrypt_parameters_cosign_accepts(n: int) -> None:
    assert decrypt(_hand_made_envelope(b"secret", b"pw", n), b"pw") == b"secret"


def test_other_scrypt_parameters_are_refused() -> None:
    env = json.loads(_hand_made_envelope(b"secret", b"pw", 1024))
    with pytest.raises(Unsupported, match="unsupported scrypt parameters N=1024"):
        decrypt(json.dumps(env).encode(), b"pw")


def test_generated_key_pair_format() -> None:
    pair = generate_key_pair(b"pw")
    block = decode_pem(pair.private_pem)
    assert block.type == SIGSTORE_PEM_TYPE
    env = json.loads(block.data)
    assert list(env) == ["kdf", "cipher", "ciphertext"]
    assert env["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert len(base64.b64decode(env["kdf"]["salt"])) == 32
    assert len(base64.b64decode(env["cipher"]["nonce"])) == 24
    # independent decryption: scrypt + secretbox by hand, then PKCS#8 DER of a P-256 key
    key = hashlib.scrypt(
        b"pw", salt=base64.b64decode(env["kdf"]["salt"]), n=32768, r=8, p=1, dklen=32, maxmem=2**27
    )
    der = nacl.secret.SecretBox(key).decrypt(
        base64.b64decode(env["ciphertext"]), base64.b64decode(env["cipher"]["nonce"])
    )
    private = serialization.load_der_private_key(der, None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert der == private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert decode_pem(pair.public_pem).type == "PUBLIC KEY"
    public = serialization.load_pem_public_key(pair.public_pem)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    signature = private.sign(b"x", ec.ECDSA(hashes.SHA256()))
    public.verify(signature, b"x", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("keys_test-ed25519-pkcs8-unencrypted.pem", ed25519.Ed25519PrivateKey),
        ("keys_test-rsa-pkcs8-unencrypted.pem", rsa.RSAPrivateKey),
    ],
)
def test_import_pkcs8_keys(cosign_vectors: Path, name: str, kind: type) -> None:
    pair = import_key_pair((cosign_vectors / name).read_bytes(), b"pw")
    assert decode_pem(pair.private_pem).type == SIGSTORE_PEM_TYPE
    loaded = load_private_key(pair.private_pem, b"pw")
    assert isinstance(loaded.key, kind)
    assert load_public_key(pair.public_pem).pem == pair.public_pem


def test_imported_rsa_key_signs_and_verifies(cosign_vectors: Path) -> None:
    pair = import_key_pair(
        (cosign_vectors / "keys_test-rsa-pkcs8-unencrypted.pem").read_bytes(), b""
    )
    key = load_private_key(pair.private_pem, b"")
    assert load_public_key(pair.public_pem).verify(key.sign(b"payload"), b"payload")


def test_import_refuses_other_pem_types() -> None:
    pem = PrivateKey(ec.generate_private_key(ec.SECP256R1())).public_key().pem
    with pytest.raises(Unsupported, match="PEM type 'PUBLIC KEY'"):
        import_key_pair(pem, b"pw")


def test_import_refuses_small_rsa_keys() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = small.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(Unsupported, match="1024 bits"):
        import_key_pair(pem, b"pw")


def test_private_key_file_is_never_readable_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_replace = os.replace

    def spying_replace(src: str, dst: str) -> None:
        seen.append(stat.S_IMODE(os.stat(src).st_mode))  # the file as it was written
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spying_replace)
    old = os.umask(0)  # the most permissive umask must not widen the key file
    try:
        key_path, pub_path = write_key_pair(generate_key_pair(b"pw"), tmp_path / "cosign")
    finally:
        os.umask(old)
    assert seen[0] == 0o600
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pub_path.stat().st_mode) == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_cli_generate_key_pair_and_wrong_password(tmp_path: Path) -> None:
    root = tmp_path / "root"
    env = {"COSIGN_PASSWORD": "s3cret"}
    done = run_dockyard(
        "generate-key-pair", "--output-key-prefix", tmp_path / "k", root=root, env=env
    )
    assert "Private key written to" in done.stderr
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    assert load_private_key((tmp_path / "k.key").read_bytes(), b"s3cret")
    bad = run_dockyard(
        "sign",
        "--key",
        tmp_path / "k.key",
        "oci:" + str(tmp_path / "nowhere"),
        root=root,
        env={"COSIGN_PASSWORD": "wrong"},
        check=False,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert bad.stderr.startswith("Error: decrypting the private key failed: wrong password")


def test_cli_import_key_pair(cosign_vectors: Path, tmp_path: Path) -> None:
    run_dockyard(
        "import-key-pair",
        "--key",
        cosign_vectors / "keys_test-rsa-pkcs8-unencrypted.pem",
        "--output-key-prefix",
        tmp_path / "imp",
        root=tmp_path / "root",
        env={"COSIGN_PASSWORD": "x"},
    )
    assert isinstance(
        load_private_key((tmp_path / "imp.key").read_bytes(), b"x").key, rsa.RSAPrivateKey
    )
