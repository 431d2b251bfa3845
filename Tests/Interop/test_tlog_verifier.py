"""The independent transparency-log verifier (tlog.py) checked on its own, before it is pointed at the
gateway: the certificate-transparency test vectors, every proof of small trees, tampering, C2SP checkpoints,
signed notes (signed here with the `cryptography` package) and tile paths."""
import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import tlog

LEAVES = [tlog.leaf_hash(x) for x in [
    b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43", bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70))]]

ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_vectors():
    for size in range(1, 9):
        assert tlog.root(LEAVES[:size]).hex() == ROOTS[size - 1]
    assert [h.hex() for h in tlog.consistency_proof(6, LEAVES)] == [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]
    proof = tlog.inclusion_proof(5, LEAVES)
    assert [h.hex()[:8] for h in proof] == ["bc1a0643", "ca854ea1", "d37ee418"]
    assert tlog.verify_inclusion(LEAVES[5], 5, 8, proof, bytes.fromhex(ROOTS[7]))


def test_every_proof_of_small_trees():
    leaves = [tlog.leaf_hash(b"entry %d" % i) for i in range(40)]
    roots = [tlog.root(leaves[:n]) for n in range(41)]
    stranger = tlog.leaf_hash(b"not in the log")
    for n in range(1, 41):
        for i in range(n):
            proof = tlog.inclusion_proof(i, leaves[:n])
            assert tlog.verify_inclusion(leaves[i], i, n, proof, roots[n])
            assert not tlog.verify_inclusion(stranger, i, n, proof, roots[n])
            assert not tlog.verify_inclusion(leaves[i], i, n, proof + [stranger], roots[n])
            if proof:
                assert not tlog.verify_inclusion(leaves[i], i, n, proof[:-1], roots[n])
        for m in range(1, n + 1):
            proof = tlog.consistency_proof(m, leaves[:n])
            assert tlog.verify_consistency(m, n, roots[m], roots[n], proof), (m, n)
            if m < n:
                assert not tlog.verify_consistency(m, n, roots[m - 1], roots[n], proof)
                assert not tlog.verify_consistency(m, n, roots[m], roots[n], proof[:-1] + [stranger])
                assert not tlog.verify_consistency(m, n, roots[m], roots[n], proof + [stranger])
    assert not tlog.verify_consistency(5, 4, roots[5], roots[4], [])
    assert not tlog.verify_inclusion(leaves[0], 4, 4, [], roots[4])


def test_a_rewritten_history_is_caught():
    leaves = [tlog.leaf_hash(b"entry %d" % i) for i in range(20)]
    old_root = tlog.root(leaves[:12])
    # Entry 7 changed, or 3 and 4 swapped, after the old checkpoint: no proof joins the two trees.
    for rewritten in (leaves[:7] + [tlog.leaf_hash(b"changed")] + leaves[8:],
                      leaves[:3] + [leaves[4], leaves[3]] + leaves[5:]):
        proof = tlog.consistency_proof(12, rewritten)
        assert not tlog.verify_consistency(12, 20, old_root, tlog.root(rewritten), proof)
    # One entry deleted: the new tree of 19 does not extend the old one either.
    shorter = leaves[:5] + leaves[6:]
    assert not tlog.verify_consistency(12, 19, old_root, tlog.root(shorter), tlog.consistency_proof(12, shorter))


def test_checkpoints():
    root = tlog.root(LEAVES)
    text = "takedown.example/log\n8\n%s\n" % base64.b64encode(root).decode()
    checkpoint = tlog.Checkpoint.parse(text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == ("takedown.example/log", 8, root)
    encoded = base64.b64encode(root).decode()
    for bad in ["", "o\n8\n", "o\n08\n%s\n" % encoded, "o\n-1\n%s\n" % encoded, "o\n8\nAAAA\n",
                "\n8\n%s\n" % encoded, "o\n8\n%s\n\n" % encoded, "o\n\u0668\n%s\n" % encoded]:
        with pytest.raises(ValueError):
            tlog.Checkpoint.parse(bad)


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    blob = tlog.key_id(name, public) + key.sign(text.encode())
    return text + "\n\u2014 %s %s\n" % (name, base64.b64encode(blob).decode())


def test_signed_notes():
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    name = "takedown.example/log"
    text = "takedown.example/log\n8\n%s\n" % base64.b64encode(tlog.root(LEAVES)).decode()
    note = sign_note(text, name, key)
    assert tlog.open_note(note, name, public) == text
    verifier = "%s+%s+%s" % (name, tlog.key_id(name, public).hex(), base64.b64encode(b"\x01" + public).decode())
    assert tlog.parse_verifier_key(verifier) == (name, public)
    with pytest.raises(ValueError):
        tlog.parse_verifier_key(verifier.replace(name, "other.example/log"))
    # A changed size, another key, no signature at all: refused. A witness's cosignature is ignored.
    with pytest.raises(ValueError):
        tlog.open_note(note.replace("\n8\n", "\n9\n"), name, public)
    other = Ed25519PrivateKey.generate()
    with pytest.raises(ValueError):
        tlog.open_note(note, name, other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    with pytest.raises(ValueError):
        tlog.open_note(text, name, public)
    witnessed = note + sign_note(text, "witness.example", other)[len(text) + 1:]
    assert tlog.open_note(witnessed, name, public) == text


def test_tile_paths():
    assert tlog.tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tlog.tile_path(2, 5, 8) == "tile/2/005.p/8"
    assert tlog.tile_path(1, 1000) == "tile/1/x001/000"
    data = b"".join(LEAVES)
    assert tlog.tile_hashes(data) == LEAVES
    with pytest.raises(ValueError):
        tlog.tile_hashes(data[:-1])
    assert hashlib.sha256(b"").digest() == tlog.root([])
