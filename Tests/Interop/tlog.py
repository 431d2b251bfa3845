"""An independent verifier of the gateway's transparency log (issue 17), written from RFC 9162 and the C2SP
`tlog-checkpoint`, `signed-note` and `tlog-tiles` specifications. It shares no code with the gateway, and
it verifies proofs by a different route than the gateway's: by rebuilding the trees recursively (RFC 9162
§2.1.3 and §2.1.4), where the gateway walks the bits of the indices (§2.1.3.2 and §2.1.4.2).
"""
import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: list) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: list) -> list:
    """PATH(m, D[n]), for building test cases."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return inclusion_proof(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion_proof(index - k, leaves[k:]) + [root(leaves[:k])]


def consistency_proof(m: int, leaves: list) -> list:
    """PROOF(m, D[n]), for building test cases."""
    def sub(m, d, complete):
        if m == len(d):
            return [] if complete else [root(d)]
        k = _split(len(d))
        if m <= k:
            return sub(m, d[:k], complete) + [root(d[k:])]
        return sub(m - k, d[k:], False) + [root(d[:k])]

    return [] if m in (0, len(leaves)) else sub(m, leaves, True)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list, expected_root: bytes) -> bool:
    """Rebuilds the root from the leaf and the proof (outermost sibling last) down the tree's shape."""
    def rebuild(index, size, proof):
        if size == 1:
            if proof:
                raise ValueError("proof too long")
            return leaf
        if not proof:
            raise ValueError("proof too short")
        k = _split(size)
        if index < k:
            return node_hash(rebuild(index, k, proof[:-1]), proof[-1])
        return node_hash(proof[-1], rebuild(index - k, size - k, proof[:-1]))

    if not 0 <= index < size:
        return False
    try:
        return rebuild(index, size, list(proof)) == expected_root
    except ValueError:
        return False


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list) -> bool:
    """Rebuilds both roots from the proof down the shape of SUBPROOF (RFC 9162 §2.1.4.1)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof

    def rebuild(m, n, complete, proof):
        """(hash of the old tree's part of this subtree, hash of this subtree), proof outermost last."""
        if m == n:
            if complete:
                if proof:
                    raise ValueError("proof too long")
                return old_root, old_root
            if len(proof) != 1:
                raise ValueError("proof of the wrong length")
            return proof[0], proof[0]
        if not proof:
            raise ValueError("proof too short")
        k = _split(n)
        if m <= k:
            old, new = rebuild(m, k, complete, proof[:-1])
            return old, node_hash(new, proof[-1])
        old, new = rebuild(m - k, n - k, False, proof[:-1])
        return node_hash(proof[-1], old), node_hash(proof[-1], new)

    try:
        old, new = rebuild(old_size, new_size, True, list(proof))
    except ValueError:
        return False
    return old == old_root and new == new_root


class Checkpoint:
    """A C2SP tlog-checkpoint: origin, tree size, root hash, extension lines."""

    def __init__(self, origin: str, size: int, root_hash: bytes, extensions=()):
        self.origin, self.size, self.root_hash, self.extensions = origin, size, root_hash, list(extensions)

    @staticmethod
    def parse(text: str) -> "Checkpoint":
        if not text.endswith("\n"):
            raise ValueError("a checkpoint ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or any(line == "" for line in lines):
            raise ValueError("a checkpoint has an origin, a size and a root hash, none empty")
        size_text = lines[1]
        if not (size_text.isascii() and size_text.isdigit()) or (size_text != "0" and size_text.startswith("0")):
            raise ValueError("the size is a decimal without leading zeros")
        root_hash = base64.b64decode(lines[2], validate=True)
        if len(root_hash) != 32 or base64.b64encode(root_hash).decode() != lines[2]:
            raise ValueError("the root hash is 32 bytes of standard base64")
        return Checkpoint(lines[0], int(size_text), root_hash, lines[3:])


def key_id(name: str, public_key: bytes) -> bytes:
    """C2SP signed-note: the first four bytes of SHA-256(name || 0x0A || 0x01 || key) for Ed25519."""
    return hashlib.sha256(name.encode() + b"\n\x01" + public_key).digest()[:4]


def parse_verifier_key(text: str):
    """`<name>+<hex key id>+<base64(0x01 || key)>` → (name, 32-byte key)."""
    name, hex_id, encoded = text.split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) != 33 or raw[0] != 0x01:
        raise ValueError("not an Ed25519 verifier key")
    if key_id(name, raw[1:]).hex() != hex_id:
        raise ValueError("the key id does not match the name and key")
    return name, raw[1:]


def open_note(note: str, name: str, public_key: bytes) -> str:
    """The text of a signed note carrying a valid signature by (name, key); raises otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise ValueError("a signed note is text, a blank line, and signature lines")
    text += "\n"
    wanted = key_id(name, public_key)
    verifier = Ed25519PublicKey.from_public_bytes(public_key)
    for line in signatures[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise ValueError("a signature line starts with an em dash and a space")
        signer, _, encoded = line[2:].partition(" ")
        blob = base64.b64decode(encoded, validate=True)
        if signer != name or blob[:4] != wanted or len(blob) != 68:
            continue
        try:
            verifier.verify(blob[4:], text.encode())
            return text
        except InvalidSignature:
            continue
    raise ValueError("no valid signature by " + name)


def tile_path(level: int, index: int, width: int = 256) -> str:
    """C2SP tlog-tiles: tile/<L>/<N>[.p/<W>], N in three-digit groups, all but the last prefixed by x."""
    groups = []
    while True:
        groups.append("%03d" % (index % 1000))
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    path = "tile/%d/" % level + "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    return path + (".p/%d" % width if width < 256 else "")


def tile_hashes(data: bytes) -> list:
    if len(data) % 32:
        raise ValueError("a tile is whole 32-byte hashes")
    return [data[i:i + 32] for i in range(0, len(data), 32)]
