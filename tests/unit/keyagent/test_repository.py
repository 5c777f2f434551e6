"""Key repositories: validation matrix, hash, atomic writes with mode 0600."""

import os
import stat

import pytest

from multisite.keyagent import repository as repo

K = [repo.new_key() for _ in range(6)]


def _keys(**indexes):
    return {str(i): k for i, k in indexes.items()}


def test_new_key_is_a_fernet_key():
    from cryptography.fernet import Fernet

    key = repo.new_key()
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"
    assert len(key) == 44 and repo.new_key() != key


@pytest.mark.parametrize("keys, reason", [
    ([], "object"),
    ({"1": K[1]}, "staged"),
    ({"0": K[0]}, "primary"),
    ({"0": K[0], "x": K[1]}, "non-negative integer"),
    ({"0": K[0], "-1": K[1]}, "non-negative integer"),
    ({"0": K[0], "01": K[1]}, "non-negative integer"),
    ({"0": K[0], "99999999999": K[1]}, "non-negative integer"),
    ({"0": K[0], "4294967296": K[1]}, "too large"),
    ({"0": K[0], "1": "c2hvcnQga2V5IG9mIDE2IGJ5dA=="}, "Fernet key"),
    ({"0": K[0], "1": K[1][:-2] + "!!"}, "base64"),
    ({"0": K[0], "1": 12}, "not a string"),
    ({"0": K[0], "1": "é" * 44}, "base64"),
    ({str(i): K[0] for i in range(300)}, "more than"),
])
def test_malformed(keys, reason):
    with pytest.raises(repo.MalformedRepository, match=reason) as info:
        repo.parse(keys)
    for key in K:  # the message never carries key bytes
        assert key not in str(info.value)


def test_parse_and_digest():
    keys = repo.parse({"0": K[0], "1": K[1], "5": K[2]})
    assert keys == {0: K[0], 1: K[1], 5: K[2]}
    same = repo.parse({"5": K[2], "0": K[0], "1": K[1]})
    assert repo.digest(keys) == repo.digest(same)
    assert repo.digest(keys) != repo.digest({0: K[0], 1: K[1], 6: K[2]})
    assert repo.digest(keys) != repo.digest({0: K[1], 1: K[0], 5: K[2]})
    shown = repo.describe(keys)
    assert shown == {"hash": repo.digest(keys), "indexes": [0, 1, 5]}


def test_write_read_modes_and_noop(tmp_path):
    path = str(tmp_path / "fernet-keys")
    keys = {0: K[0], 1: K[1]}
    assert repo.write(path, keys) is True
    assert repo.read(path) == keys
    for name in os.listdir(path):
        assert stat.S_IMODE(os.stat(os.path.join(path, name)).st_mode) == 0o600
    assert repo.write(path, keys) is False  # already there: nothing written
    assert repo.write(path, {0: K[2], 1: K[1], 2: K[0]}) is True
    assert repo.read(path) == {0: K[2], 1: K[1], 2: K[0]}
    assert repo.write(path, {0: K[3], 2: K[0], 3: K[2]}) is True
    assert sorted(os.listdir(path)) == ["0", "2", "3"]  # 1 removed, no temporary files


def test_write_refuses_malformed_and_keeps_current(tmp_path):
    path = str(tmp_path)
    repo.write(path, {0: K[0], 1: K[1]})
    with pytest.raises(repo.MalformedRepository):
        repo.write(path, {1: K[2]})
    assert repo.read(path) == {0: K[0], 1: K[1]}


def test_read_ignores_what_keystone_ignores(tmp_path):
    repo.write(str(tmp_path), {0: K[0], 1: K[1]})
    (tmp_path / "2").write_text("")  # empty: Keystone skips it
    (tmp_path / "README").write_text("x")
    (tmp_path / ".3.tmp-abcd").write_text(K[3])  # a write killed half-way
    assert repo.read(str(tmp_path)) == {0: K[0], 1: K[1]}
    repo.write(str(tmp_path), {0: K[0], 1: K[1], 4: K[4]})
    assert ".3.tmp-abcd" not in os.listdir(tmp_path)


def test_write_with_owner(tmp_path):
    owner = (os.getuid(), os.getgid())
    repo.write(str(tmp_path), {0: K[0], 1: K[1]}, owner=owner)
    st = os.stat(tmp_path / "1")
    assert (st.st_uid, st.st_gid) == owner
