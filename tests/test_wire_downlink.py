"""The downlink's signatures: a branch applies only what the centre's key signed for it."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.signing import public_key_pem, sign
from queue_server.signatures import load_public_keys, verify
from wire import downlink


def _doc() -> dict[str, object]:
    return {
        "kind": "notice", "branch": "B001", "version": 3,
        "issued_at": "2026-12-06T08:00:00+00:00", "body": {"text": "今日 16:00 起暂停外币业务。"},
    }  # fmt: skip


def test_a_signed_document_verifies_and_any_change_to_it_does_not() -> None:
    key = Ed25519PrivateKey.generate()
    signed = sign(_doc(), key)
    verify(signed, [key.public_key()])
    for field, value in (
        ("branch", "B002"), ("version", 4), ("body", {"text": "今日 16:00 起暂停人民币业务。"}),
        ("kind", "config"),
    ):  # fmt: skip
        with pytest.raises(downlink.BadSignature, match="does not match"):
            verify({**signed, field: value}, [key.public_key()])


def test_unsigned_malformed_and_foreign_signatures_are_refused() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signed = sign(_doc(), key)
    unsigned = {k: v for k, v in signed.items() if k != "signature"}
    with pytest.raises(downlink.BadSignature, match="not signed"):
        verify(unsigned, [key.public_key()])
    with pytest.raises(downlink.BadSignature, match="not base64"):
        verify({**signed, "signature": "!!"}, [key.public_key()])
    with pytest.raises(downlink.BadSignature, match="does not know"):
        verify(signed, [other.public_key()])
    # Signed by another key that claims the right key's id
    forged = {**sign(_doc(), other), "key_id": signed["key_id"]}
    with pytest.raises(downlink.BadSignature, match="does not match"):
        verify(forged, [key.public_key()])


def test_a_key_file_may_hold_the_old_and_the_new_key() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    pem = public_key_pem(old.public_key()) + public_key_pem(new.public_key())
    keys = load_public_keys(pem)
    assert len(keys) == 2
    verify(sign(_doc(), old), keys)
    verify(sign(_doc(), new), keys)
    with pytest.raises(ValueError, match="no public key"):
        load_public_keys(b"nothing here")
