# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The project's directories on its cluster, and every path a request names confined to one of them.

An area is one of the project's directories under the shared mount (``mount_dir``, the FSx for Lustre file system
or, on EFS-only clusters, the Mountpoint for S3 mounts at the same places):

- ``scratch``: ``<mount_dir>/scratch/<project_id>`` (role node_bootstrap: the project's group only);
- ``private``: ``<mount_dir>/project/private`` (the project's private S3 prefix);
- ``public``: ``<mount_dir>/project/public`` (the public bucket, read only).

A request names a path relative to an area. It is refused before anything is read when it is absolute, empty, has a
``..`` component or a NUL; then the head node resolves it (``realpath -m``: symbolic links followed, missing parts
allowed) and it is refused again when the result leaves the area's resolved directory. A symbolic link swapped in
between that check and the operation is not caught: the project's own files are all a job can change there.
"""

import posixpath

AREAS = ("scratch", "private", "public")
READ_ONLY_AREAS = ("public",)


class PathError(Exception):
    """A path the request may not use; ``field`` names the option."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def area_dir(mount_dir, area, project_id):
    """The directory of ``area`` on the cluster."""
    mount_dir = mount_dir.rstrip("/") or "/"
    if area == "scratch":
        return posixpath.join(mount_dir, "scratch", project_id)
    return posixpath.join(mount_dir, "project", area)


def relative_path_error(path, field="path"):
    """Why ``path`` may not name something inside an area, or None."""
    if path is None or path.strip() == "":
        return f"{field} is empty: give a path relative to the area (\".\" for the area itself)"
    if "\0" in path:
        return f"{field} contains a NUL character"
    if path.startswith("/"):
        return f"{field} {path!r} is absolute: give it relative to the area"
    if ".." in path.split("/"):
        return f"{field} {path!r} has a '..' component: paths stay inside the project's directories"
    return None


def join(directory, path, field="path"):
    """``directory``/``path`` normalised, after ``relative_path_error``."""
    error = relative_path_error(path, field)
    if error:
        raise PathError(field, error)
    return posixpath.normpath(posixpath.join(directory, path))


def inside(root, resolved):
    return resolved == root or resolved.startswith(root.rstrip("/") + "/")


def confine(node, directory, paths, field="path"):
    """(the resolved ``directory``, [the resolved absolute ``paths``]) (already joined to ``directory``), checked on
    the head node.

    One ``realpath`` for the area and all paths: a path whose resolution leaves the area's resolved directory (a
    symbolic link out of it) is refused naming ``field``.
    """
    status, out, err = node.run(["realpath", "-m", "--", directory] + list(paths))
    if status != 0:
        raise PathError(field, f"cannot resolve {', '.join(paths)} on the head node: {err.strip()}")
    root, *resolved = out.splitlines()
    for asked, real in zip(paths, resolved):
        if not inside(root, real):
            raise PathError(field, f"{field} {asked!r} resolves to {real!r}, outside the project's directory {root!r}"
                            " (a symbolic link out of it)")
    return root, resolved
