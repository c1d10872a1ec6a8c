"""Private files in a shared directory, as a table: what another local user may have planted where the msal token
cache or the device-flow state is written. The secret always ends in a new 0600 file of ours, and nothing planted
is written through or followed.

Covered elsewhere: mode 0600 and the 0700 directory (test_identity.py::test_private_files_are_written_0600).
"""

import os
import stat

import pytest

from ansible_collections.mailoauth.sophos.plugins.module_utils import identity

SECRET = '{"refresh_token": "private-4f1d"}'


def predictable_names(path):
    """Every temporary name a writer could guess in advance (the old one was <file>.<pid>.tmp)."""
    return ["%s.%d.tmp" % (path, os.getpid()), str(path) + ".tmp"]


def plant_files(path, tmp_path):
    for name in predictable_names(path):
        with open(name, "w", encoding="utf-8") as handle:
            handle.write("planted")
        os.chmod(name, 0o666)
    return None


def plant_symlinks(path, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("victim")
    for name in predictable_names(path):
        os.symlink(victim, name)
    return victim


def plant_symlink_at_the_file(path, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("victim")
    os.symlink(victim, path)
    return victim


PLANTED = {
    "temp-name-pre-created-by-another-user": plant_files,
    "temp-name-is-a-symlink": plant_symlinks,
    "file-itself-is-a-symlink": plant_symlink_at_the_file,
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_the_secret_never_goes_into_a_planted_file(case, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    path = shared / "msal_cache.json"
    planted_inodes = set()
    victim = PLANTED[case](str(path), tmp_path)
    for name in predictable_names(str(path)) + [str(path)]:
        if os.path.lexists(name) and not os.path.islink(name):
            planted_inodes.add(os.lstat(name).st_ino)

    identity.write_private_file(str(path), SECRET)

    info = os.lstat(path)
    assert stat.S_ISREG(info.st_mode), "the file is still a link"
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_ino not in planted_inodes, "the secret went into a file someone else created"
    assert path.read_text() == SECRET
    if victim is not None:
        assert victim.read_text() == "victim", "the write followed a planted symlink"
    for name in predictable_names(str(path)):
        if os.path.lexists(name) and not os.path.islink(name):
            assert open(name, encoding="utf-8").read() == "planted"
    planted = {os.path.basename(name) for name in predictable_names(str(path))}
    leftovers = sorted(set(os.listdir(shared)) - {"msal_cache.json"} - planted)
    assert not leftovers, "temporary files left behind: %s" % leftovers
