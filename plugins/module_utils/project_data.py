# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Data in a project's directories on its cluster: stage in (upload), stage out (download), list and delete.

Two ways to the files, by where the path lies:
- under an FSx for Lustre data repository association (DRA; ``fsx_file_system_id`` given): through S3. An upload is
  written to the DRA's S3 prefix, and FSx's automatic import brings it onto the file system (the module waits until
  the head node sees it with its size); a download exports the path with a data repository task and reads the object.
  S3 moves the bytes in the region, not through the controller's SSH connection to the head node.
- otherwise (EFS-only clusters): SFTP on the head node, as the sim user. An upload goes to a temporary name beside the
  file and is renamed onto it, so that a job never sees half a file.
Every transfer reports its bytes, seconds and samples of its progress.
"""

import hashlib
import os
import posixpath
import secrets
import tempfile
import time
from urllib.parse import urlsplit

from ansible.module_utils.urls import open_url

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import project_paths
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import waiting
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_api import pages
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.slurm_cli import RequestError

SOURCE_SCHEMES = ("https", "http", "s3")
CHUNK = 1024 * 1024
SAMPLE_EVERY = 8 * CHUNK  # a progress sample every tenth of a known size or every 8 MiB, whichever is more
ENDED_TASK = ("SUCCEEDED", "FAILED", "CANCELED")


def source_error(src):
    """Why ``src`` cannot be staged in, or None."""
    parts = urlsplit(src or "")
    if parts.scheme not in SOURCE_SCHEMES:
        return f"src {src!r}: the scheme must be one of {', '.join(SOURCE_SCHEMES)}"
    if not parts.netloc or (parts.scheme == "s3" and not parts.path.strip("/")):
        return f"src {src!r} names no {'bucket and key' if parts.scheme == 's3' else 'host'}"
    return None


class Progress:
    """Bytes moved so far, with samples ({bytes, seconds}) for the result."""

    def __init__(self, total=None):
        self.total, self.bytes, self.samples = total, 0, []
        self.started = time.monotonic()
        self._next = self._step()

    def _step(self):
        return self.bytes + max(self.total // 10 if self.total else 0, SAMPLE_EVERY)

    def add(self, count):
        self.bytes += count
        if self.bytes >= self._next:
            self._sample()
            self._next = self._step()

    def sftp_callback(self, transferred, _total):
        self.add(transferred - self.bytes)

    def _sample(self):
        self.samples.append({"bytes": self.bytes, "seconds": round(time.monotonic() - self.started, 3)})

    def result(self):
        if not self.samples or self.samples[-1]["bytes"] != self.bytes:
            self._sample()
        seconds = max(time.monotonic() - self.started, 1e-6)
        return {"bytes": self.bytes, "seconds": round(seconds, 3), "bytes_per_second": int(self.bytes / seconds),
                "progress": self.samples}


class CountingReader:
    """A file-like reader that reports what passes through it."""

    def __init__(self, stream, progress):
        self.stream, self.progress = stream, progress

    def read(self, size=-1):
        data = self.stream.read(size if size and size > 0 else CHUNK)
        self.progress.add(len(data))
        return data


class ProjectData:
    """One request on the project's directories, over a connected HeadNode and the module's AWS clients."""

    def __init__(self, module, node):
        self.module, self.node, self.params = module, node, module.params
        self.area_dir = project_paths.area_dir(self.params["mount_dir"], self.params["area"], self.params["project_id"])
        self._associations = None
        self.root = None  # the area's directory resolved on the head node (by target())

    # Where the path is --------------------------------------------------------------------------------------------

    def target(self):
        """The request's path, absolute and confined to its area."""
        asked = project_paths.join(self.area_dir, self.params["path"])
        self.root, (path,) = project_paths.confine(self.node, self.area_dir, [asked])
        return path

    def stat(self, path):
        """(kind, size) of ``path`` on the head node: kind 'file', 'directory', 'other', or None when missing."""
        status, out, _err = self.node.run(["stat", "-c", "%F|%s", "--", path])
        if status != 0:
            return None, None
        kind, size = out.strip().rsplit("|", 1)
        kind = {"regular file": "file", "regular empty file": "file", "directory": "directory"}.get(kind, "other")
        return kind, int(size)

    def association(self, path):
        """(DRA, S3 bucket, key) of the Lustre DRA whose file system path holds ``path``; None without one."""
        fs_id = self.params.get("fsx_file_system_id")
        mount = self.params["mount_dir"].rstrip("/")
        if not fs_id or not project_paths.inside(mount, path):
            return None
        if self._associations is None:
            self._associations = pages(aws.client(self.module, "fsx").describe_data_repository_associations,
                                       "Associations", Filters=[{"Name": "file-system-id", "Values": [fs_id]}])
        fs_path = path[len(mount):] or "/"
        for association in sorted(self._associations, key=lambda a: -len(a["FileSystemPath"])):
            root = association["FileSystemPath"].rstrip("/") or "/"
            if association.get("Lifecycle") == "AVAILABLE" and project_paths.inside(root, fs_path):
                repository = urlsplit(association["DataRepositoryPath"])
                prefix = repository.path.strip("/")
                relative = fs_path[len(root):].strip("/")
                return association, repository.netloc, "/".join(part for part in (prefix, relative) if part)
        return None

    # Upload -------------------------------------------------------------------------------------------------------

    def _open_source(self):
        """(readable stream, size or None) of ``src``."""
        src, timeout = self.params["src"], self.params["connect_timeout"] * 4
        parts = urlsplit(src)
        if parts.scheme == "s3":
            try:
                answer = aws.client(self.module, "s3").get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"),
                                                                  aws_retry=True)
            except Exception as error:  # pylint: disable=broad-except  # any failure of the source names src
                raise RequestError("src", f"cannot read src {src}: {error}") from None
            return answer["Body"], answer.get("ContentLength")
        try:
            response = open_url(src, timeout=timeout, follow_redirects="safe")
        except Exception as error:  # pylint: disable=broad-except  # HTTPError, URLError, timeouts, TLS errors
            raise RequestError("src", f"cannot read src {src}: {error}") from None
        length = response.headers.get("Content-Length")
        return response, int(length) if length and length.isdigit() else None

    def upload(self):
        path = self.target()
        kind, size = self.stat(path)
        result = {"path": path, "changed": True}
        if kind == "directory" or kind == "other":
            raise RequestError("path", f"path {self.params['path']!r} is a {kind} on the cluster: name a file")
        if kind == "file" and not self.params["overwrite"]:
            return dict(result, changed=False, msg="the file exists (overwrite=false): left as it is", size=size)
        if self.module.check_mode:
            return result
        located = self.association(path)
        stream, total = self._open_source()
        progress = Progress(total)
        try:
            if located:
                result["s3_url"] = self._s3_put(stream, path, located, progress)
            else:
                self._sftp_put(stream, path, progress)
        finally:
            stream.close()
        if located:
            self._wait(lambda: self.stat(path), lambda found: found == ("file", progress.bytes), 5,
                       f"{path} to appear on the cluster (the DRA's automatic import)")
        return dict(result, size=progress.bytes, transfer=progress.result())

    def _s3_put(self, stream, path, located, progress):
        """Write the file into the DRA's S3 prefix with FSx's POSIX metadata, so that the import gives it (and the
        directories it needs) to the owner and group of the area, not to root. Returns its s3:// URL."""
        _association, bucket, key = located
        status, out, err = self.node.run(["stat", "-c", "%u %g", "--", self.root])
        if status != 0:
            raise RequestError("area", f"cannot read the owner of {self.root}: {err.strip()[:300]}")
        uid, gid = out.split()
        s3 = aws.client(self.module, "s3")
        owner = {"file-owner": uid, "file-group": gid}
        for directory in self._new_directories(path, key):
            s3.put_object(Bucket=bucket, Key=directory, Body=b"", aws_retry=True,
                          Metadata=dict(owner, **{"file-permissions": "042770"}))
        s3.upload_fileobj(CountingReader(stream, progress), bucket, key,
                          ExtraArgs={"Metadata": dict(owner, **{"file-permissions": "0100660"})})
        return f"s3://{bucket}/{key}"

    def _new_directories(self, path, key):
        """The directory objects ("prefix/") of the parents of ``path`` below the area that do not exist yet."""
        parents = []
        directory = posixpath.dirname(path)
        while project_paths.inside(self.root, directory) and directory != self.root:
            parents.append(directory)
            directory = posixpath.dirname(directory)
        if not parents:
            return []
        script = 'for d in "$@"; do [ -d "$d" ] || printf "%s\\n" "$d"; done'
        _status, out, _err = self.node.run(["sh", "-c", script, "sh"] + parents)
        missing = set(out.splitlines())
        depth = {parent: index + 1 for index, parent in enumerate(parents)}  # how many levels above the file
        return sorted((key.rsplit("/", depth[parent])[0] + "/" for parent in parents if parent in missing), key=len)

    def _sftp_put(self, stream, path, progress):
        status, _out, err = self.node.run(["mkdir", "-p", "--", posixpath.dirname(path)])
        if status != 0:
            raise RequestError("path", f"cannot create the directory of {path}: {err.strip()[:300]}")
        sftp = self.node.sftp()
        # A name of its own: two jobs may stage the same file at once (each AWX job in its own container).
        partial = posixpath.join(posixpath.dirname(path), f".{posixpath.basename(path)}.part-{secrets.token_hex(6)}")
        try:
            sftp.putfo(CountingReader(stream, progress), partial, confirm=False)
            sftp.posix_rename(partial, path)
        except BaseException:
            self.node.run(["rm", "-f", "--", partial])
            raise

    def _wait(self, read, settled, longest, what, current=waiting.UNREAD):
        """``read()`` until ``settled`` (the collection's polling with backoff), within wait_timeout."""
        try:
            return waiting.Deadline(self.params["wait_timeout"]).until(read, settled, what, longest, current)
        except waiting.WaitTimeout:
            raise RequestError("wait_timeout", f"waited {self.params['wait_timeout']} s for {what}") from None

    # Download -----------------------------------------------------------------------------------------------------

    def download(self):
        path = self.target()
        kind, size = self.stat(path)
        if kind != "file":
            what = "no such file on the cluster" if kind is None else f"is a {kind}, not a file"
            raise RequestError("path", f"path {self.params['path']!r}: {what}")
        dest = self.params["dest"]
        result = {"path": path, "dest": dest, "size": size, "changed": True}
        if self.module.check_mode:
            return dict(result, changed=not os.path.isfile(dest) or os.path.getsize(dest) != size)
        progress = Progress(size)
        handle, partial = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", dir=os.path.dirname(dest) or ".")
        try:
            with os.fdopen(handle, "wb") as out:
                located = self.association(path)
                if located:
                    result["s3_url"] = self._export_and_get(path, located, out, progress)
                else:
                    self.node.sftp().getfo(path, out, callback=progress.sftp_callback)
            changed = not os.path.isfile(dest) or _digest(dest) != _digest(partial)
            if changed:
                os.replace(partial, dest)
            return dict(result, changed=changed, transfer=progress.result())
        finally:
            if os.path.exists(partial):
                os.unlink(partial)

    def _export_and_get(self, path, located, out, progress):
        association, bucket, key = located
        fsx = aws.client(self.module, "fsx")
        fs_path = path[len(self.params["mount_dir"].rstrip("/")):].lstrip("/")
        task = fsx.create_data_repository_task(FileSystemId=association["FileSystemId"], Type="EXPORT_TO_REPOSITORY",
                                               Paths=[fs_path], Report={"Enabled": False},
                                               aws_retry=True)["DataRepositoryTask"]
        task = self._wait(lambda: fsx.describe_data_repository_tasks(TaskIds=[task["TaskId"]],
                                                                     aws_retry=True)["DataRepositoryTasks"][0],
                          lambda read: read["Lifecycle"] in ENDED_TASK, 10,
                          f"the export of {path} ({task['TaskId']}) to end", current=task)
        if task["Lifecycle"] != "SUCCEEDED":
            reason = (task.get("FailureDetails") or {}).get("Message", task["Lifecycle"])
            raise RequestError("path", f"the export of {path} to S3 failed ({task['TaskId']}): {reason}")
        aws.client(self.module, "s3").download_fileobj(bucket, key, out, Callback=progress.add)
        return f"s3://{bucket}/{key}"

    # List and delete ----------------------------------------------------------------------------------------------

    def list(self):
        path = self.target()
        kind, _size = self.stat(path)
        if kind is None:
            raise RequestError("path", f"path {self.params['path']!r}: no such file or directory on the cluster")
        if kind != "directory":
            depth = ["-maxdepth", "0"]
        else:
            depth = ["-mindepth", "1"] + ([] if self.params["recurse"] else ["-maxdepth", "1"])
        status, out, err = self.node.run(["find", path] + depth + ["-printf", "%y|%s|%T@|%P\\n"], timeout=300)
        if status != 0:
            raise RequestError("path", f"cannot list {path}: {err.strip()[:300]}")
        base = posixpath.relpath(path, self.root)
        entries = [_entry(line, base) for line in out.splitlines() if line.count("|") >= 3]
        return {"changed": False, "path": path, "entries": sorted(entries, key=lambda e: e["path"])}

    def delete(self):
        path = self.target()
        if path == self.root:
            raise RequestError("path", "path names the area itself: delete what is inside it")
        kind, _size = self.stat(path)
        if kind is None:
            return {"changed": False, "path": path}
        if kind == "directory" and not self.params["recurse"]:
            status, out, _err = self.node.run(["find", path, "-mindepth", "1", "-maxdepth", "1", "-print", "-quit"])
            if status == 0 and out.strip():
                raise RequestError("recurse", f"{path} is a directory that is not empty: set recurse to delete it"
                                              " with its content")
        if not self.module.check_mode:
            self._delete_repository_copy(path, kind)
            argv = ["rm", "-rf", "--one-file-system", "--", path] if kind == "directory" else ["rm", "-f", "--", path]
            status, _out, err = self.node.run(argv, timeout=600)
            if status != 0:
                raise RequestError("path", f"cannot delete {path}: {err.strip()[:300]}")
        return {"changed": True, "path": path, "kind": kind}

    def _delete_repository_copy(self, path, kind):
        """Under a DRA, the S3 copy goes first: else the project would keep the data it deleted (project/private
        exports nothing), and a change to it would bring it back. When the DRA imports deletions, FSx then removes
        the imported files (owned by root when imported without POSIX metadata): the module waits for that, then
        removes what only the cluster had."""
        located = self.association(path)
        if not located:
            return
        association, bucket, key = located
        s3 = aws.client(self.module, "s3")
        keys = [key] if kind != "directory" else [item["Key"] for item in aws.paginate(
            s3, "list_objects_v2", Bucket=bucket, Prefix=key.rstrip("/") + "/").get("Contents", [])]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]],
                                                     "Quiet": True}, aws_retry=True)
        imported = ((association.get("S3") or {}).get("AutoImportPolicy") or {}).get("Events", [])
        if keys and "DELETED" in imported:
            self._wait(lambda: self._has_files(path, kind), lambda has: not has, 5,
                       f"FSx to remove {path} (the DRA's import)")

    def _has_files(self, path, kind):
        if kind != "directory":
            return self.stat(path)[0] is not None
        status, out, _err = self.node.run(["find", path, "-type", "f", "-print", "-quit"])
        return status == 0 and bool(out.strip())


def _entry(line, base):
    kind, size, mtime, relative = line.split("|", 3)
    return {"path": posixpath.normpath(posixpath.join(base, relative)) if relative else base,
            "type": {"f": "file", "d": "directory", "l": "link"}.get(kind, "other"),
            "size": int(size), "mtime": float(mtime)}


def _digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
