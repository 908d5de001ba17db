"""Who may read a file: customer-level files (products, restricted pages and exports, executed
notebooks, the audit trail) are the owner's only by default (files 0600, folders 0700);
``privacy.file_mode`` and ``privacy.group`` let a team group read them. Folders are closed from the
moment they are created, so nothing is readable by others even while a run writes into them; the
runner publishes by renaming, which keeps every mode."""

from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass
from pathlib import Path

OWNER_FILE, OWNER_FOLDER = 0o600, 0o700


@dataclass(frozen=True)
class Modes:
    """The modes (and group) customer-level files and folders get."""

    file: int = OWNER_FILE
    folder: int = OWNER_FOLDER
    group: str | None = None

    @classmethod
    def of(cls, privacy) -> Modes:
        """From the params' privacy settings (``file_mode``, ``group``)."""
        return cls(privacy.file_mode_bits, privacy.folder_mode_bits, privacy.group)

    def gid(self) -> int:
        """The group's id; one sentence when the group does not exist."""
        if self.group is None:
            return -1
        try:
            return grp.getgrnam(self.group).gr_gid
        except KeyError:
            raise PermissionError(
                f"privacy.group names '{self.group}', which is not a group on this machine; name an existing "
                "group (see `getent group`) or set it to null."
            ) from None


def private_folder(path: Path, modes: Modes = Modes()) -> Path:
    """``path`` created if needed (with its parents) and closed to everyone but the owner (and the
    group): the folder's own mode, not its content's."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, modes.folder)
    if modes.group is not None:
        os.chown(path, -1, modes.gid())
    return path


def restrict_tree(root: Path, modes: Modes = Modes()) -> int:
    """Every file under ``root`` (and ``root`` itself) given the customer-level modes and group;
    returns the number of files."""
    gid = modes.gid()
    count = 0
    for folder, subfolders, files in os.walk(root):
        _apply(Path(folder), modes.folder, gid)
        for name in files:
            _apply(Path(folder) / name, modes.file, gid)
            count += 1
    return count


def open_tree(root: Path, skip: set[Path] = frozenset()) -> None:
    """Files and folders under ``root`` (except the folders in ``skip`` and what is below them) made
    readable as the user's umask allows a new file (0644 / 0755 by default): the stakeholders' part."""
    umask = current_umask()
    for folder, subfolders, files in os.walk(root):
        here = Path(folder)
        subfolders[:] = [name for name in subfolders if here / name not in skip]
        os.chmod(here, 0o777 & ~umask)
        for name in files:
            os.chmod(here / name, 0o666 & ~umask)


def _apply(path: Path, mode: int, gid: int) -> None:
    if gid != -1 and path.stat().st_gid != gid:
        os.chown(path, -1, gid)
    os.chmod(path, mode)


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back at once)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_private(path: Path, data: bytes, modes: Modes = Modes(), append: bool = False) -> Path:
    """Bytes written to a file that is created with the customer-level mode (never readable by others,
    not even for a moment)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, modes.file)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, modes.file)
    return path
