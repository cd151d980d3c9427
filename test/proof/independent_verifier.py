#!/usr/bin/env python3
"""An independent verifier of git-prolly proofs, written from docs/FORMAT.md ("Tree nodes", "Proofs")
alone, sharing no code with src/proof/. It shows the document is enough to verify a proof, and it is
run over the known-answer vectors by test/proof/vectors.test.ts.

Usage: python3 test/proof/independent_verifier.py fixtures/vectors/proof-*.json
Prints one JSON object: {"<file>/<case>": {"valid": bool, "check": str|None, "node": int|None}, ...}
"""
import base64
import hashlib
import json
import sys


class Fail(Exception):
    def __init__(self, check, node=None):
        super().__init__(check)
        self.check = check
        self.node = node


def varint(b, o):
    value, scale = 0, 1
    for i in range(8):
        if o + i >= len(b):
            raise ValueError("truncated varint")
        x = b[o + i]
        value += (x & 0x7F) * scale
        if x & 0x80 == 0:
            if x == 0 and i > 0:
                raise ValueError("non-minimal varint")
            if value > 2**53 - 1:
                raise ValueError("varint too large")
            return value, o + i + 1
        scale *= 128
    raise ValueError("varint longer than 8 bytes")


def decode(b):
    """Node bytes -> (level, keys, payloads); payload = ('inline', bytes) | ('blob', addr, len) | (addr, count)."""
    if len(b) < 3 or b[0] != 1:
        raise ValueError("bad header")
    level = b[1]
    n, o = varint(b, 2)
    if n == 0 and level != 0:
        raise ValueError("empty internal node")
    keys, payloads = [], []
    for _ in range(n):
        kl, o = varint(b, o)
        if kl > 4096 or o + kl > len(b):
            raise ValueError("bad key")
        key = b[o : o + kl]
        o += kl
        if keys and keys[-1] >= key:
            raise ValueError("keys not increasing")
        keys.append(key)
        if level == 0:
            if o >= len(b):
                raise ValueError("truncated")
            tag = b[o]
            if tag == 0:
                vl, s = varint(b, o + 1)
                if vl > 1024 or s + vl > len(b):
                    raise ValueError("bad inline value")
                payloads.append(("inline", b[s : s + vl]))
                o = s + vl
            elif tag == 1:
                if o + 33 > len(b):
                    raise ValueError("truncated blob")
                length, nxt = varint(b, o + 33)
                if length <= 1024:
                    raise ValueError("small blob")
                payloads.append(("blob", b[o + 1 : o + 33], length))
                o = nxt
            else:
                raise ValueError("bad tag")
        else:
            if o + 32 > len(b):
                raise ValueError("truncated child")
            count, nxt = varint(b, o + 32)
            if count == 0:
                raise ValueError("zero count")
            payloads.append((b[o : o + 32], count))
            o = nxt
    if o != len(b):
        raise ValueError("trailing bytes")
    return level, keys, payloads


def unhex(s):
    if not isinstance(s, str) or len(s) % 2 or any(c not in "0123456789abcdef" for c in s):
        raise Fail("format")
    return bytes.fromhex(s)


def unb64(s, check="format"):
    """Canonical base64 only: it must re-encode to the same text."""
    try:
        b = base64.b64decode(s, validate=True) if isinstance(s, str) else None
    except ValueError:
        b = None
    if b is None or base64.b64encode(b).decode() != s:
        raise Fail(check)
    return b


def git_id(kind, content):
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(content)) + content).hexdigest()


def tree_entry(tree, name):
    o = 0
    while o < len(tree):
        sp = tree.index(b" ", o)
        nul = tree.index(b"\0", sp)
        if tree[sp + 1 : nul] == name.encode():
            return tree[o:sp].decode(), tree[nul + 1 : nul + 21].hex()
        o = nul + 21
    return None


def verify_anchor(a, claimed_root, trusted_commit):
    """Docs/FORMAT.md "Anchors": commit -> root tree -> .prolly -> datasets -> pointer -> root."""
    if not isinstance(a, dict) or a.get("type") != "git-commit":
        raise Fail("format")
    commit = a.get("commit")
    dataset = a.get("dataset")
    if not isinstance(commit, str) or len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        raise Fail("format")
    if not isinstance(dataset, str) or not dataset or "/" in dataset:
        raise Fail("format")
    if not isinstance(a.get("trees"), list) or len(a["trees"]) != 3:
        raise Fail("format")
    commit_bytes = unb64(a.get("commitObject"))
    trees = [unb64(t) for t in a["trees"]]
    pointer = unb64(a.get("pointer"))
    if git_id("commit", commit_bytes) != commit:
        raise Fail("anchor")
    if trusted_commit is not None and trusted_commit != commit:
        raise Fail("anchor")
    first = commit_bytes.split(b"\n", 1)[0]
    if not first.startswith(b"tree ") or len(first) != 45:
        raise Fail("anchor")
    expected = first[5:].decode()
    names = [".prolly", "datasets", dataset]
    for i in range(3):
        if git_id("tree", trees[i]) != expected:
            raise Fail("anchor")
        entry = tree_entry(trees[i], names[i])
        if entry is None:
            raise Fail("anchor")
        mode, expected = entry
        if (i < 2 and mode != "40000") or (i == 2 and mode not in ("100644", "100755")):
            raise Fail("anchor")
    if git_id("blob", pointer) != expected:
        raise Fail("anchor")
    lines = pointer.decode().split("\n")
    roots = [l[5:] for l in lines if l.startswith("root ")]
    if lines[0] != "prolly-dataset 1" or len(roots) != 1 or roots[0] != claimed_root.hex():
        raise Fail("anchor")


def value_of(v):
    if not isinstance(v, dict):
        raise Fail("format")
    if v.get("type") == "inline":
        return ("inline", unhex(v.get("hex")))
    if v.get("type") == "blob":
        address = unhex(v.get("address"))
        length = v.get("length")
        if len(address) != 32 or not isinstance(length, int) or length < 0:
            raise Fail("format")
        return ("blob", address, length)
    raise Fail("format")


def first_at_least(keys, k):
    for i, key in enumerate(keys):
        if key >= k:
            return i
    return len(keys)


def check_node(data, index, address, parent):
    """parent = (level, lower, upper, count) of the entry pointing here, or None for the root."""
    if hashlib.sha256(data).digest() != address:
        raise Fail("hash", index)
    try:
        level, keys, payloads = decode(data)
    except ValueError:
        raise Fail("decode", index)
    if parent is not None:
        plevel, lower, upper, count = parent
        if level != plevel:
            raise Fail("level", index)
        if not keys or keys[-1] != upper or (lower is not None and keys[0] <= lower):
            raise Fail("bounds", index)
        total = len(keys) if level == 0 else sum(p[1] for p in payloads)
        if total != count:
            raise Fail("count", index)
    return level, keys, payloads


def child(level, keys, payloads, i, lower):
    low = keys[i - 1] if i > 0 else lower
    return payloads[i][0], (level - 1, low, keys[i], payloads[i][1]), low


def establish_root(p, root, commit):
    """The root to check nodes against: anchor first (if any), then the trusted root."""
    claimed = unhex(p.get("root"))
    if len(claimed) != 32:
        raise Fail("format")
    if p.get("anchor") is not None:
        verify_anchor(p["anchor"], claimed, commit)
    elif commit is not None:
        raise Fail("anchor")
    if root is not None and claimed != root:
        raise Fail("root")
    return claimed


def verify_key(p, trust, path):
    k = unhex(p.get("key"))
    claimed = value_of(p.get("value")) if p["kind"] == "inclusion" else None
    if p["kind"] == "absence" and "value" in p:
        raise Fail("format")
    root = establish_root(p, *trust)
    address, parent, lower = root, None, None
    d = 0
    while True:
        level, keys, payloads = check_node(path[d], d, address, parent)
        i = first_at_least(keys, k)
        if level > 0 and i < len(keys):
            if d + 1 >= len(path):
                raise Fail("path", d)
            address, parent, lower = child(level, keys, payloads, i, lower)
            d += 1
            continue
        if d + 1 < len(path):
            raise Fail("path", d + 1)
        present = level == 0 and i < len(keys) and keys[i] == k
        if claimed is not None:
            if not present:
                raise Fail("presence", d)
            if payloads[i] != claimed:
                raise Fail("value", d)
        elif present:
            raise Fail("presence", d)
        return


def verify_range(p, trust, nodes):
    start = None if p.get("start") is None else unhex(p["start"])
    end = None if p.get("end") is None else unhex(p["end"])
    if start is not None and end is not None and start > end:
        raise Fail("format")
    claimed = [(unhex(e["key"]), value_of(e["value"])) for e in p.get("entries", [])]
    root = establish_root(p, *trust)
    found = []
    pos = [0]

    def visit(address, parent, lower, parent_index):
        index = pos[0]
        pos[0] += 1
        if index >= len(nodes):
            raise Fail("path", parent_index)
        level, keys, payloads = check_node(nodes[index], index, address, parent)
        if level == 0:
            for key, payload in zip(keys, payloads):
                if (start is None or key >= start) and (end is None or key <= end):
                    found.append((key, payload))
            return
        first = 0 if start is None else first_at_least(keys, start)
        last = len(keys) - 1 if end is None else min(first_at_least(keys, end), len(keys) - 1)
        for i in range(first, last + 1):
            addr, expectation, low = child(level, keys, payloads, i, lower)
            visit(addr, expectation, low, index)

    visit(root, None, None, None)
    if pos[0] < len(nodes):
        raise Fail("path", pos[0])
    for j in range(max(len(found), len(claimed))):
        if j >= len(found) or j >= len(claimed) or found[j][0] != claimed[j][0]:
            raise Fail("entries")
        if found[j][1] != claimed[j][1]:
            raise Fail("value")


def verify(p, root_hex, commit):
    root = bytes.fromhex(root_hex) if root_hex is not None else None
    try:
        if not isinstance(p, dict) or p.get("format") != "git-prolly-proof" or p.get("version") != 2:
            raise Fail("format")
        kind = p.get("kind")
        field = "nodes" if kind == "range" else "path"
        if kind not in ("inclusion", "absence", "range") or not isinstance(p.get(field), list) or not p[field]:
            raise Fail("format")
        node_bytes = [unb64(n) for n in p[field]]
        (verify_range if kind == "range" else verify_key)(p, (root, commit), node_bytes)
        return {"valid": True, "check": None, "node": None}
    except Fail as f:
        return {"valid": False, "check": f.check, "node": f.node}


def main():
    out = {}
    for name in sys.argv[1:]:
        with open(name) as f:
            vectors = json.load(f)
        short = name.rsplit("/", 1)[-1]
        for case in vectors["cases"]:
            out[f"{short}/{case['name']}"] = verify(case["proof"], case.get("root"), case.get("commit"))
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
