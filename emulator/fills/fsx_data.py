"""FSx for Lustre data plane: file system content on disk, S3 auto import through data repository associations,
and data repository tasks (export to S3, import from S3).

Stock moto 5.2.5 keeps no content for a file system and has no Create/Describe/CancelDataRepositoryTask (HTTP 500).
With a data directory (``python -m emulator --fsx-data-dir DIR``, or the environment variable
``EMULATOR_FSX_DATA_DIR``) each Lustre file system's content is the directory DIR/<file-system-id>/, made with the
file system (an association's FileSystemPath with the association); a test bind-mounts it into a container as the
cluster's mount directory. It stays after DeleteFileSystem.

- **Auto import**: an S3 object written (PutObject, CompleteMultipartUpload, CopyObject: all go through moto's
  ``S3Backend.put_object``) under the DataRepositoryPath of an association whose ``S3.AutoImportPolicy.Events`` has
  NEW (no file there yet) or CHANGED (a file there) is written to the association's FileSystemPath + the key
  relative to the repository prefix, within the S3 request, so a caller that polls for the file sees it once the
  write is answered. DELETED: deleting the object (DeleteObject, DeleteObjects; a delete marker counts) removes the
  file; a key ending in '/' is a directory. Files are 0644 and directories 0755, owned by the emulator's user (AWS:
  root, unless the object carries POSIX metadata, which is not read here).
- **Tasks**: EXPORT_TO_REPOSITORY copies every regular file under its Paths (relative to the file system root;
  none: the root) that lies under an association to the association's DataRepositoryPath + the relative path;
  a file under no association, or whose bucket is missing, counts as failed, and a task with a failed file, or a
  path that does not exist, ends FAILED (AWS: "there may be files the task failed to process"), else SUCCEEDED.
  IMPORT_METADATA_FROM_REPOSITORY writes every object under its Paths (s3://bucket/prefix; none: every
  association) as auto import does (new and changed; files whose objects are gone stay). Other types succeed
  having done nothing (content is never released here). A task does its work within CreateDataRepositoryTask,
  whose answer says PENDING as on AWS; describes give the outcome.
- Without a data directory nothing is kept on disk: S3 writes import nothing, and every task succeeds with counts 0.

Not emulated: POSIX metadata (uid, gid, mode, mtime from or to object metadata), symbolic links and special files
(skipped by export), auto export (an export task is how content reaches S3), completion reports (``Report`` is
stored, nothing is written), DeleteDataInFileSystem (files stay), lazy loading and release (content is always
there). emulator/README.md, "FSx for Lustre data plane", says the same for users.
"""

import copy
import datetime
import functools
import json
import logging
import operator
import os
import secrets
import tempfile
import threading
from pathlib import Path

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.fsx.models import FSxBackend, fsx_backends
from moto.fsx.responses import FSxResponse
from moto.s3.models import FakeKey, S3Backend, s3_backends
from moto.utilities.utils import get_partition

from .fsx import _LOCK, _S3_PATH, BadRequest, _directory, _graft, _page, _replayed

ENVIRONMENT_VARIABLE = "EMULATOR_FSX_DATA_DIR"
LINKED_LIFECYCLES = ("AVAILABLE", "UPDATING")  # an association moves data only once made (and while updated)
TASK_TYPES = ("EXPORT_TO_REPOSITORY", "IMPORT_METADATA_FROM_REPOSITORY", "RELEASE_DATA_FROM_FILESYSTEM",
              "AUTO_RELEASE_DATA")
ENDED_LIFECYCLES = ("SUCCEEDED", "FAILED", "CANCELED")
_STAGING = ".fsx-staging"  # under the data directory: imports are written there, then renamed into place
# Filter name -> the values of a task it compares against.
_TASK_FILTERS = {
    "file-system-id": lambda task: {task.file_system_id},
    "task-lifecycle": lambda task: {task.lifecycle},
    "data-repository-association-id": lambda task: task.association_ids,
    "file-cache-id": lambda task: set(),  # File Cache tasks cannot be created here
}
LOG = logging.getLogger(__name__)
_exporting = threading.local()  # .active: this thread writes S3 objects for an export task (no import back)


class DataRepositoryTaskNotFound(ServiceException):
    code = "DataRepositoryTaskNotFound"

    def __init__(self, task_id):
        super().__init__(f"Data repository task '{task_id}' does not exist.")


class DataRepositoryTaskEnded(ServiceException):
    code = "DataRepositoryTaskEnded"

    def __init__(self, task_id, lifecycle):
        super().__init__(f"Data repository task {task_id} has already ended ({lifecycle}) and cannot be canceled.")


def data_dir():
    """The data directory (absolute), or None when file systems keep no content."""
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    return Path(value).absolute() if value else None


def _make_directory(path):
    """One directory, 0755 whatever the umask; one that already exists is left as it is."""
    try:
        path.mkdir()
    except FileExistsError:
        return
    path.chmod(0o755)


def file_system_root(file_system_id):
    """DIR/<file-system-id>, made when missing; None without a data directory."""
    base = data_dir()
    if base is None:
        return None
    base.mkdir(parents=True, exist_ok=True)
    root = base / file_system_id
    _make_directory(root)
    return root


def _inside(root, path):
    """True when ``path``, its symbolic links resolved, is ``root`` or below it: a link planted in the file system
    (a container's user can make one) never makes the emulator write or read elsewhere on the host."""
    resolved, base = os.path.realpath(path), os.path.realpath(root)
    return resolved == base or resolved.startswith(base + os.sep)


def _components(relative):
    """The names of a relative path, or None when it has '.', '..' or an empty name (a key such as 'a//b')."""
    names = relative.split("/")
    return None if any(name in ("", ".", "..") or "\0" in name for name in names) else names


def _split_repository(repository_path):
    """(bucket, key prefix ending in '/' or empty) of 's3://bucket[/prefix]'."""
    bucket, _slash, prefix = repository_path[len("s3://"):].partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def _local_path(root, association, relative):
    """Where the key ``relative`` (to the association's repository prefix) lives in the file system, or None when
    its names cannot be a path. A trailing '/' (a directory object) is kept out of the names; '' is the
    association's directory itself."""
    stripped = relative.rstrip("/")
    names = _components(stripped) if stripped else []
    if names is None:
        return None
    return root.joinpath(*[n for n in association.file_system_path.split("/") if n], *names)


def _make_directories(root, directory):
    """``directory`` and its missing parents up to ``root``, each 0755; refused when it would leave ``root``."""
    missing = []
    while not directory.exists() and directory != root:
        missing.append(directory)
        directory = directory.parent
    if not _inside(root, directory):
        raise OSError(f"{directory} leads out of the file system")
    for path in reversed(missing):
        _make_directory(path)


def posix_metadata(key):
    """(mode, uid, gid) from the object's FSx POSIX metadata (user metadata file-permissions, an octal mode with its
    file type bits such as 0100660, file-owner and file-group), each None when absent or not a number: FSx imports a
    file with these, else as root with mode 0644."""
    metadata = {name.lower().replace("x-amz-meta-", ""): value for name, value in (key.metadata or {}).items()}

    def number(name, base=10):
        try:
            return int(metadata[name], base)
        except (KeyError, TypeError, ValueError):
            return None

    mode = number("file-permissions", 8)
    return (None if mode is None else mode & 0o7777), number("file-owner"), number("file-group")


def _write_file(root, target, data, metadata=(None, None, None)):
    """Write ``data`` as a file (mode 0644, or the object's POSIX metadata), atomically: a poller sees the whole
    file or the one before, never a part."""
    mode, uid, gid = metadata
    _make_directories(root, target.parent)
    staging = root.parent / _STAGING
    staging.mkdir(exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=staging)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            os.fchmod(stream.fileno(), 0o644 if mode is None else mode)
            if uid is not None or gid is not None:
                os.fchown(stream.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove(root, target, is_directory):
    """Remove a file, or a directory when it is empty (a directory object's delete leaves its content)."""
    if not _inside(root, target.parent):
        return
    if is_directory:
        if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
            target.rmdir()
    elif target.is_file() or target.is_symlink():
        target.unlink()


def _linked_associations(backend, file_system_id=None):
    """The backend's associations that move data (of one file system, or of all), read under the fsx fill's lock."""
    with _LOCK:  # the association registry's own lock
        associations = list(backend._associations().values())  # pylint: disable=protected-access
    return [a for a in associations if a.lifecycle in LINKED_LIFECYCLES
            and file_system_id in (None, a.file_system_id)]


def _fsx_backends(account_id):
    """The FSx backends of the account that exist (one per region used), with the fsx fill's registry."""
    regions = dict.get(fsx_backends, account_id) or {}
    return [b for b in dict.values(regions) if hasattr(b, "data_repository_associations")]


def _covering(account_id, bucket, key):
    """(association, key relative to its repository prefix) for each linked association holding s3://bucket/key."""
    for backend in _fsx_backends(account_id):
        for association in _linked_associations(backend):
            repository_bucket, prefix = _split_repository(association.data_repository_path)
            if repository_bucket == bucket and key.startswith(prefix) and key != prefix:
                yield association, key[len(prefix):]


def _import_object(root, association, relative, key, events=("NEW", "CHANGED")):
    """Write one object (``key``, a FakeKey) where the association puts it, if ``events`` has NEW or CHANGED as the
    file is missing or there. True when written."""
    target = _local_path(root, association, relative)
    if target is None:
        LOG.warning("emulator: S3 key %r cannot be a path in %s; not imported", relative, association.file_system_id)
        return False
    if ("CHANGED" if os.path.lexists(target) else "NEW") not in events:
        return False
    if relative.endswith("/"):
        _make_directories(root, target)
    else:
        _write_file(root, target, key.value, posix_metadata(key))
    return True


def _auto_events(association):
    return ((association.s3 or {}).get("AutoImportPolicy") or {}).get("Events") or []


def _on_object_written(s3_backend, bucket, key):
    """Auto import of an object just written (or made current again by a delete of a newer version)."""
    if data_dir() is None or getattr(_exporting, "active", False):
        return
    for association, relative in _covering(s3_backend.account_id, bucket, key.name):
        try:
            _import_object(file_system_root(association.file_system_id), association, relative, key,
                           _auto_events(association))
        except OSError as error:  # the S3 write stands, as on AWS, whose import failures go to the event log
            LOG.warning("emulator: auto import of s3://%s/%s failed: %s", bucket, key.name, error)


def _on_object_deleted(s3_backend, bucket, key_name):
    """Auto import of a deletion: the file goes when the association's policy has DELETED."""
    if data_dir() is None:
        return
    for association, relative in _covering(s3_backend.account_id, bucket, key_name):
        root = file_system_root(association.file_system_id)
        target = _local_path(root, association, relative)
        if target is None or "DELETED" not in _auto_events(association):
            continue
        try:
            _remove(root, target, relative.endswith("/"))
        except OSError as error:
            LOG.warning("emulator: removing %s for a deleted object failed: %s", target, error)


def _apply_posix_metadata(target, metadata):
    mode, uid, gid = metadata
    if mode is not None:
        os.chmod(target, mode)
    if uid is not None or gid is not None:
        os.chown(target, -1 if uid is None else uid, -1 if gid is None else gid)


def _on_metadata_set(key):
    """moto sets an object's user metadata after its write (the put hook has imported it already): the imported
    file, or directory for a "prefix/" object, then takes the object's POSIX metadata, as FSx's import would have."""
    metadata = posix_metadata(key)
    if data_dir() is None or metadata == (None, None, None) or not key.bucket_name:
        return
    for association, relative in _covering(key.account_id, key.bucket_name, key.name):
        target = _local_path(file_system_root(association.file_system_id), association, relative)
        if target is not None and (target.is_file() or target.is_dir()) and not target.is_symlink():
            try:
                _apply_posix_metadata(target, metadata)
            except OSError as error:
                LOG.warning("emulator: POSIX metadata of s3://%s/%s not applied: %s", key.bucket_name, key.name, error)


def _wrap_set_metadata(original):
    @functools.wraps(original)
    def set_metadata(self, metadata, *args, **kwargs):
        original(self, metadata, *args, **kwargs)
        _on_metadata_set(self)

    return set_metadata


def _wrap_put_object(original):
    @functools.wraps(original)
    def put_object(self, bucket_name, key_name, *args, **kwargs):
        key = original(self, bucket_name, key_name, *args, **kwargs)
        _on_object_written(self, bucket_name, key)
        return key

    return put_object


def _wrap_delete_object(original):
    """After a delete that did something: the object gone (or a delete marker current) is a deletion; an older
    version made current again (a version deleted) is a change."""

    @functools.wraps(original)
    def delete_object(self, bucket_name, key_name, *args, **kwargs):
        deleted, meta = original(self, bucket_name, key_name, *args, **kwargs)
        if deleted and data_dir() is not None:
            current = self.get_bucket(bucket_name).keys.get(key_name)
            if isinstance(current, FakeKey):
                _on_object_written(self, bucket_name, current)
            else:
                _on_object_deleted(self, bucket_name, key_name)
        return deleted, meta

    return delete_object


def _wrap_create_file_system(original):
    """A Lustre file system's directory is made with it, so that a test can bind-mount it at once."""

    @functools.wraps(original)
    def create_file_system(self, *args, **kwargs):
        file_system = original(self, *args, **kwargs)
        if file_system.file_system_type == "LUSTRE":
            file_system_root(file_system.file_system_id)
        return file_system

    return create_file_system


def _wrap_create_data_repository_association(original):
    """An association's file system path is a directory from its creation, as on AWS (before any import)."""

    @functools.wraps(original)
    def create_data_repository_association(self, request):
        association = original(self, request)
        root = file_system_root(association.file_system_id)
        target = _local_path(root, association, "") if root else None
        if target is not None:
            try:
                _make_directories(root, target)
            except OSError as error:
                LOG.warning("emulator: making %s for association %s failed: %s", target,
                            association.association_id, error)
        return association

    return create_data_repository_association


class DataRepositoryTask:
    """One task, done when created. Attribute names are the model's member names in snake_case (moto serialises)."""

    file_cache_id = None

    def __init__(self, backend, request):
        self.task_id = f"task-{secrets.token_hex(9)[:17]}"
        self.file_system_id = request["FileSystemId"]
        self.resource_arn = (f"arn:aws:fsx:{backend.region_name}:{backend.account_id}:task/"
                             f"{self.file_system_id}/{self.task_id}")
        self.type = request["Type"]
        self.paths = request.get("Paths") or []
        self.report = request.get("Report")
        self.capacity_to_release = request.get("CapacityToRelease")
        self.release_configuration = request.get("ReleaseConfiguration")
        self.request = request  # kept to recognise a retry carrying the same ClientRequestToken
        self.creation_time = self.start_time = _now()
        self.association_ids = set()  # the associations whose data the task moved (the filter of that name)
        self.lifecycle, self.end_time, self.status, self.failure_details = "EXECUTING", None, None, None
        self._backend = backend

    @property
    def tags(self):
        return self._backend.list_tags_for_resource(self.resource_arn) or None

    def finish(self, succeeded, failed, problems):
        """End with the counts; FAILED when any file or path failed, with the first problems as the message."""
        self.end_time = _now()
        self.status = {"TotalCount": succeeded + failed, "SucceededCount": succeeded, "FailedCount": failed,
                       "LastUpdatedTime": self.end_time}
        self.lifecycle = "FAILED" if problems else "SUCCEEDED"
        if problems:
            shown = " ".join(problems[:5]) + (f" And {len(problems) - 5} more." if len(problems) > 5 else "")
            counted = f"{failed} of {succeeded + failed} files failed to be processed. " if failed else ""
            self.failure_details = {"Message": counted + shown}

    def as_created(self):
        """The task as CreateDataRepositoryTask answers it: PENDING, no status yet (AWS starts it afterwards)."""
        created = copy.copy(self)
        created.lifecycle, created.start_time, created.end_time = "PENDING", None, None
        created.status = created.failure_details = None
        return created


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _file_system_paths(paths):
    """Export paths relative to the file system root ('/' stripped); BadRequest for an S3 path or one with '..'."""
    relative = []
    for path in paths:
        stripped = path.strip("/")
        if path.startswith("s3://") or (stripped and _components(stripped) is None):
            raise BadRequest(f"The path '{path}' is not valid. Export paths are relative to the file system's "
                             "mount point, without '.' or '..' components.")
        relative.append(stripped)
    return relative or [""]


def _repository_paths(paths):
    """Import paths as (bucket, key prefix); BadRequest for anything but s3://bucket[/prefix]."""
    for path in paths:
        if not _S3_PATH.match(path):  # the association checks' pattern
            raise BadRequest(f"The path '{path}' is not valid. Import paths are Amazon S3 paths in the format "
                             "s3://bucket-name/prefix.")
    return [_split_repository(path) for path in paths]


def _regular_files(start):
    """Every regular file at or under ``start`` (symbolic links are neither followed nor exported)."""
    if start.is_file() and not start.is_symlink():
        return [start]
    found = []
    for directory, _names, files in os.walk(start):
        paths = [Path(directory, name) for name in sorted(files)]
        found.extend(path for path in paths if path.is_file() and not path.is_symlink())
    return found


def _association_of(associations, file_system_path):
    """The association whose file system path holds ``file_system_path`` ('/a/b'), or None."""
    return next((a for a in associations if _directory(file_system_path).startswith(_directory(a.file_system_path))),
                None)


def _s3(backend):
    return s3_backends[backend.account_id][get_partition(backend.region_name)]


def _export(backend, task, root):
    """(succeeded, failed, problems) of copying the files under the task's paths to S3."""
    associations = _linked_associations(backend, task.file_system_id)
    succeeded, failed, problems = 0, 0, []
    for path in _file_system_paths(task.paths):
        start = root.joinpath(*path.split("/")) if path else root
        if not os.path.lexists(start) or not _inside(root, start):
            problems.append(f"The path '{path}' does not exist on the file system.")
            continue
        for file in _regular_files(start):
            file_system_path = "/" + file.relative_to(root).as_posix()
            association = _association_of(associations, file_system_path)
            problem = _export_file(backend, association, file, file_system_path)
            if problem is None:
                succeeded += 1
                task.association_ids.add(association.association_id)
            else:
                failed += 1
                problems.append(problem)
    return succeeded, failed, problems


def _export_file(backend, association, file, file_system_path):
    """Put one file where its association's repository keeps it; a problem message, or None when done."""
    if association is None:
        return f"{file_system_path} is not in a data repository association's file system path."
    bucket, prefix = _split_repository(association.data_repository_path)
    key = prefix + file_system_path[len(_directory(association.file_system_path)):]
    _exporting.active = True
    try:
        _s3(backend).put_object(bucket, key, file.read_bytes())
    except (ServiceException, OSError) as error:
        return f"{file_system_path} could not be exported to s3://{bucket}/{key}: {error}"
    finally:
        _exporting.active = False
    return None


def _import(backend, task, root):
    """(succeeded, failed, problems) of writing the objects under the task's S3 paths into the file system."""
    wanted = _repository_paths(task.paths)
    succeeded, failed, problems = 0, 0, []
    for association in _linked_associations(backend, task.file_system_id):
        bucket_name, prefix = _split_repository(association.data_repository_path)
        try:
            bucket = _s3(backend).get_bucket(bucket_name)
        except ServiceException as error:
            problems.append(f"{association.data_repository_path} cannot be read: {error}")
            continue
        for name in sorted(bucket.keys):
            key = bucket.keys.get(name)
            if not (isinstance(key, FakeKey) and name.startswith(prefix) and name != prefix and _wanted(
                    wanted, bucket_name, name)):
                continue
            try:
                _import_object(root, association, name[len(prefix):], key)
                succeeded += 1
                task.association_ids.add(association.association_id)
            except OSError as error:
                failed += 1
                problems.append(f"s3://{bucket_name}/{name} could not be imported: {error}")
    return succeeded, failed, problems


def _wanted(wanted, bucket_name, name):
    """True when no paths were given, or one holds s3://bucket_name/name (a prefix is a directory)."""
    return not wanted or any(bucket == bucket_name and (not prefix or name.startswith(prefix))
                             for bucket, prefix in wanted)


_WORK = {"EXPORT_TO_REPOSITORY": _export, "IMPORT_METADATA_FROM_REPOSITORY": _import}


class _BackendMethods:
    """Methods grafted onto moto's FSxBackend (``self`` is the backend of one account and region)."""

    def _data_repository_tasks(self):
        return self.__dict__.setdefault("data_repository_tasks", {})  # id -> DataRepositoryTask, in creation order

    def _data_repository_task(self, task_id):
        task = self._data_repository_tasks().get(task_id)
        if task is None:
            raise DataRepositoryTaskNotFound(task_id)
        return task

    def create_data_repository_task(self, request):
        if request.get("Type") not in TASK_TYPES:
            raise BadRequest(f"The data repository task type '{request.get('Type')}' is not valid. Valid types: "
                             f"{', '.join(TASK_TYPES)}.")
        with _LOCK:
            self._file_system_for_association(request.get("FileSystemId"))
            replayed = _replayed(self._data_repository_tasks().values(), request, "data repository task",
                                 operator.attrgetter("task_id"))
            if replayed is not None:
                return replayed.as_created()
            if request["Type"] == "EXPORT_TO_REPOSITORY":
                _file_system_paths(request.get("Paths") or [])  # refused before the task exists
            elif request["Type"] == "IMPORT_METADATA_FROM_REPOSITORY":
                _repository_paths(request.get("Paths") or [])
            task = DataRepositoryTask(self, request)
            self._data_repository_tasks()[task.task_id] = task
            if request.get("Tags"):
                self.tagger.tag_resource(task.resource_arn, request["Tags"])
        created = task.as_created()
        root = file_system_root(task.file_system_id)
        work = _WORK.get(task.type)
        task.finish(*(work(self, task, root) if work and root else (0, 0, [])))
        return created

    def describe_data_repository_tasks(self, task_ids=None, filters=None, max_results=None, next_token=None):
        """(page, NextToken) of the tasks named, or of all, narrowed by every filter."""
        with _LOCK:
            if task_ids:
                tasks = [self._data_repository_task(task_id) for task_id in task_ids]
            else:
                tasks = list(self._data_repository_tasks().values())
        for item in filters or []:
            if item.get("Name") not in _TASK_FILTERS:
                raise BadRequest(f"The filter name '{item.get('Name')}' is not supported. Supported filter names: "
                                 f"{', '.join(_TASK_FILTERS)}.")
            values, of = set(item.get("Values") or []), _TASK_FILTERS[item["Name"]]
            tasks = [task for task in tasks if values & of(task)]
        return _page(tasks, max_results, next_token, operator.attrgetter("task_id"))

    def cancel_data_repository_task(self, task_id):
        """Tasks end within their creation, so every cancel finds an ended task, as AWS answers then."""
        with _LOCK:
            task = self._data_repository_task(task_id)
        if task.lifecycle in ENDED_LIFECYCLES:
            raise DataRepositoryTaskEnded(task_id, task.lifecycle)
        task.lifecycle = "CANCELED"
        return task


class _ResponseMethods:
    """Handlers grafted onto moto's FSxResponse; moto calls the one named after the action in snake_case."""

    def create_data_repository_task(self):
        task = self.fsx_backend.create_data_repository_task(json.loads(self.body))
        return ActionResult({"DataRepositoryTask": task})

    def describe_data_repository_tasks(self):
        params = json.loads(self.body)
        tasks, next_token = self.fsx_backend.describe_data_repository_tasks(
            task_ids=params.get("TaskIds"), filters=params.get("Filters"), max_results=params.get("MaxResults"),
            next_token=params.get("NextToken"))
        return ActionResult({"DataRepositoryTasks": tasks, "NextToken": next_token})

    def cancel_data_repository_task(self):
        task = self.fsx_backend.cancel_data_repository_task(json.loads(self.body).get("TaskId"))
        return ActionResult({"TaskId": task.task_id, "Lifecycle": task.lifecycle})


def install():
    _graft(FSxBackend, _BackendMethods)
    _graft(FSxResponse, _ResponseMethods)
    FSxBackend.create_file_system = _wrap_create_file_system(FSxBackend.create_file_system)
    FSxBackend.create_data_repository_association = _wrap_create_data_repository_association(
        FSxBackend.create_data_repository_association)
    S3Backend.put_object = _wrap_put_object(S3Backend.put_object)
    FakeKey.set_metadata = _wrap_set_metadata(FakeKey.set_metadata)
    S3Backend.delete_object = _wrap_delete_object(S3Backend.delete_object)
