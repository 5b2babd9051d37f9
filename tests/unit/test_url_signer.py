"""Signed `/static` links: valid until they expire, for that key only; any signature a client sends is just wrong."""

from pydantic import SecretStr

from services.signing import UrlSigner

NOW = 1_800_000_000.0


def signed(signer: UrlSigner, key: str) -> tuple[int, str]:
    query = signer.sign("http://logoforge", key, now=NOW).split("?", 1)[1]
    expires, sig = (part.split("=", 1)[1] for part in query.split("&"))
    return int(expires), sig


def test_a_link_is_valid_for_its_key_until_it_expires():
    signer = UrlSigner(SecretStr("secret"), ttl_s=60)
    expires, sig = signed(signer, "images/job/0.png")
    assert signer.verify("images/job/0.png", expires, sig, now=NOW + 59)
    assert not signer.verify("images/job/0.png", expires, sig, now=NOW + 61)
    assert not signer.verify("images/job/1.png", expires, sig, now=NOW)
    assert not signer.verify("images/job/0.png", expires + 1, sig, now=NOW)
    assert not UrlSigner(SecretStr("other"), ttl_s=60).verify("images/job/0.png", expires, sig, now=NOW)


def test_a_signature_with_any_characters_is_refused_not_an_error():
    signer = UrlSigner(SecretStr("secret"), ttl_s=60)
    expires, _ = signed(signer, "images/job/0.png")
    for forged in ("MI𮿚§\x0b\x9c", "", "é" * 64, "0" * 10_000):
        assert not signer.verify("images/job/0.png", expires, forged, now=NOW)
