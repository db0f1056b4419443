"""Fills for the gaps of stock moto that stop the real pcluster.lib (see shared notes, aws-emulator.md).

Each module fills one gap and exposes ``install()``; ``install_all()`` applies them once, in-process,
before the server starts. Nothing is written into site-packages.
"""

import importlib

# Module names, in the order they are installed; the comment names the gap numbers of the notes.
FILLS = (
    "fsx",  # 11, 12: data repository associations; file system Lifecycle/MountName/FileSystemTypeVersion
)

_installed = False


def install_all():
    global _installed  # pylint: disable=global-statement  # install once per process
    if _installed:
        return
    for name in FILLS:
        importlib.import_module(f"{__name__}.{name}").install()
    _installed = True
