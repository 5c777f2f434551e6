"""Fernet key repositories: validation, a stable hash, atomic reads and writes of a directory."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets

MAX_KEYS = 256
MAX_INDEX = 2**31 - 1
KEY_BYTES = 32


class MalformedRepository(ValueError):
    """A repository that Keystone could not use (the message never contains key bytes)."""


def new_key() -> str:
    """A fresh Fernet key, as Keystone stores it (url-safe base64 of 32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _check_key(index: int, key) -> str:
    if not isinstance(key, str):
        raise MalformedRepository(f"key {index} is not a string")
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise MalformedRepository(f"key {index} is not url-safe base64") from None
    if len(raw) != KEY_BYTES or len(key) != 44:
        raise MalformedRepository(f"key {index} is not a {KEY_BYTES}-byte Fernet key")
    return key


def parse(keys) -> dict[int, str]:
    """Validate ``{"0": key, "1": key, ...}`` and return it keyed by int; raise otherwise.

    Keystone needs a staged key (0) and at least one primary (the highest index)."""
    if not isinstance(keys, dict):
        raise MalformedRepository("keys must be an object of index -> key")
    if len(keys) > MAX_KEYS:
        raise MalformedRepository(f"more than {MAX_KEYS} keys")
    out: dict[int, str] = {}
    for name, key in keys.items():
        text = str(name)
        if not text.isdigit() or len(text) > 10 or (len(text) > 1 and text[0] == "0"):
            raise MalformedRepository(f"key index {text[:20]!r} is not a non-negative integer")
        index = int(text)
        if index > MAX_INDEX:
            raise MalformedRepository(f"key index {index} is too large")
        out[index] = _check_key(index, key)
    if 0 not in out:
        raise MalformedRepository("no staged key (index 0)")
    if len(out) < 2:
        raise MalformedRepository("no primary key (an index above 0)")
    return out


def digest(keys: dict[int, str]) -> str:
    """SHA-256 of the canonical form of a repository: equal keys at equal indexes, equal hash."""
    canonical = json.dumps({str(i): keys[i] for i in sorted(keys)}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def describe(keys: dict[int, str]) -> dict:
    """What may be shown or logged about a repository: its hash and indexes, never key bytes."""
    return {"hash": digest(keys), "indexes": sorted(keys)}


def read(path: str) -> dict[int, str]:
    """The keys of a directory as Keystone loads them (integer names, empty files ignored)."""
    keys: dict[int, str] = {}
    for name in os.listdir(path):
        if not name.isdigit():
            continue
        full = os.path.join(path, name)
        if not os.path.isfile(full):
            continue
        with open(full, encoding="ascii") as handle:
            key = handle.read()
        if key:
            keys[int(name)] = key
    return keys


def _write_file(path: str, name: str, key: str, owner: tuple[int, int] | None) -> None:
    tmp = os.path.join(path, f".{name}.tmp-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        if owner is not None:
            os.fchown(fd, *owner)
        os.write(fd, key.encode("ascii"))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.rename(tmp, os.path.join(path, name))


def write(path: str, keys: dict[int, str], *, owner: tuple[int, int] | None = None) -> bool:
    """Make the directory hold exactly ``keys``; False when it already did.

    Every file is written to a temporary name (which Keystone ignores) and renamed into
    place, highest index first, and stale files are removed last: a key present before and
    after the update is readable at every moment, for the transitions the rotation planner
    produces (indexes shifted up, a staged key promoted)."""
    parse({str(i): k for i, k in keys.items()})
    os.makedirs(path, mode=0o700, exist_ok=True)
    for name in os.listdir(path):
        if name.startswith(".") and ".tmp-" in name:
            os.unlink(os.path.join(path, name))  # left by a write that was killed
    current = read(path)
    if current == keys:
        return False
    for index in sorted(keys, reverse=True):
        if current.get(index) != keys[index]:
            _write_file(path, str(index), keys[index], owner)
    for index in sorted(set(current) - set(keys)):
        os.unlink(os.path.join(path, str(index)))
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True
