# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Decision logic of the fsx_dra and fsx_dra_info modules, without any AWS call.

An FSx for Lustre data repository association (DRA) links a directory of the file system
(``file_system_path``) to an S3 prefix (``data_repository_path``). Its identity is the pair
(file system, ``file_system_path``): a file system cannot hold two associations whose paths are equal
or nest. This file holds

- the input checks, run before any AWS call, each error naming its field;
- the placement checks against the file system's other associations (nesting, one S3 prefix per
  association, AWS's limit of 8 per file system), run before any mutating call;
- the deterministic ClientRequestToken, so that a retried or concurrent create cannot make two;
- what differs between an association and the options (UpdateDataRepositoryAssociation members);
- the snake_case results and the diff views.
"""

import hashlib
import json
import re

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.names import FSX_FILE_SYSTEM_ID as _FILE_SYSTEM_ID
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import tags_errors
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import tags_match

EVENTS = ("NEW", "CHANGED", "DELETED")
# Option name -> member of the association's S3 configuration.
POLICIES = {"auto_import_policy": "AutoImportPolicy", "auto_export_policy": "AutoExportPolicy"}
MAX_ASSOCIATIONS = 8  # AWS quota per file system; ParallelCluster has the same limit in its own configuration
CHUNK_SIZE_MIN, CHUNK_SIZE_MAX = 1, 512000  # MiB, the API's range for ImportedFileChunkSize
FILE_SYSTEM_PATH_MAX = 4096
DATA_REPOSITORY_PATH_MAX = 4357

# ClientRequestToken: at most 63 characters of [A-Za-z0-9_.-]; the prefix says who made the association.
TOKEN_PREFIX = "obi-dra-"
TOKEN_HASH_CHARS = 40  # 160 bits of SHA-256: 48 characters in all

# Lifecycles (DataRepositoryLifecycle).
CREATING, AVAILABLE, UPDATING, DELETING = "CREATING", "AVAILABLE", "UPDATING", "DELETING"
FAILED, MISCONFIGURED = "FAILED", "MISCONFIGURED"
TRANSITIONAL = (CREATING, UPDATING)
UPDATABLE = (AVAILABLE, MISCONFIGURED)  # AWS refuses UpdateDataRepositoryAssociation in any other lifecycle

# What the module did, reported as `actions`.
CREATE = "create"
UPDATE = "update"
REAPPLY = "reapply_configuration"
UPDATE_TAGS = "update_tags"
DELETE = "delete"
REPLACE = "replace"
RECREATE_FAILED = "recreate_failed"

# The API's patterns and lengths (FileSystemId 11 to 21 characters, DataRepositoryAssociationId 13 to 23).
_ASSOCIATION_ID = re.compile(r"dra-[0-9a-f]{9,19}")
# S3 bucket naming rules: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
# Characters the API's path patterns refuse (and control characters, which no path should carry).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f\u0085\u2028\u2029]")


class DraError(Exception):
    """A state the module will not change (or input it will not send); the message names the field or option.

    ``association`` is the association concerned, in AWS's shape, when there is one.
    """

    def __init__(self, message, association=None, errors=None):
        super().__init__(message)
        self.message = message
        self.association = association
        self.errors = errors or [message]


# --------------------------------------------------------------------------------------------------
# Input checks (no AWS call)


def _segments_error(field, value, segments):
    if ".." in segments or "." in segments:
        return f"{field}: {value!r} must not contain '.' or '..' path segments"
    if "" in segments:
        return f"{field}: {value!r} must not contain an empty path segment ('//')"
    return None


def file_system_path_error(path):
    """Why ``path`` cannot be an association's directory in the file system, or None."""
    field = "file_system_path"
    if not path:
        return f"{field}: must not be empty"
    if len(path) > FILE_SYSTEM_PATH_MAX:
        return f"{field}: must be at most {FILE_SYSTEM_PATH_MAX} characters, got {len(path)}"
    if _FORBIDDEN.search(path):
        return f"{field}: {path!r} must not contain control characters or line breaks"
    if not path.startswith("/"):
        return f"{field}: {path!r} is not absolute: it must start with '/', for example /project/public"
    if path == "/":
        return None  # the whole file system: allowed, and then the only association it can have
    return _segments_error(field, path, path.strip("/").split("/"))


def data_repository_path_error(uri):
    """Why ``uri`` cannot be an association's S3 data repository, or None."""
    field = "data_repository_path"
    if not uri or not uri.startswith("s3://"):
        return f"{field}: {uri!r} is not an S3 URI: use s3://bucket-name/prefix/"
    if len(uri) > DATA_REPOSITORY_PATH_MAX:
        return f"{field}: must be at most {DATA_REPOSITORY_PATH_MAX} characters, got {len(uri)}"
    if _FORBIDDEN.search(uri):
        return f"{field}: {uri!r} must not contain control characters or line breaks"
    bucket, _slash, prefix = uri[len("s3://"):].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IP_ADDRESS.fullmatch(bucket):
        return (f"{field}: {bucket!r} in {uri!r} is not a valid S3 bucket name: 3 to 63 characters among lowercase "
                "letters, digits, '.' and '-', starting and ending with a letter or digit")
    prefix = prefix.strip("/")
    return _segments_error(field, uri, prefix.split("/")) if prefix else None


def chunk_size_error(size):
    if size is not None and not CHUNK_SIZE_MIN <= size <= CHUNK_SIZE_MAX:
        return f"imported_file_chunk_size: must be between {CHUNK_SIZE_MIN} and {CHUNK_SIZE_MAX} (MiB), got {size}"
    return None


def file_system_id_error(file_system_id):
    if file_system_id is not None and not _FILE_SYSTEM_ID.fullmatch(file_system_id):
        return f"file_system_id: {file_system_id!r} is not a file system id (fs- and 8 to 18 hex digits)"
    return None


def association_ids_errors(association_ids):
    return [f"association_ids: {association_id!r} is not an association id (dra- and 9 to 19 hex digits)"
            for association_id in association_ids or [] if not _ASSOCIATION_ID.fullmatch(association_id)]


def policy_errors(params):
    """Duplicates in an event list (unknown events are refused by the argument spec's choices)."""
    errors = []
    for option in POLICIES:
        values = params.get(option) or []
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            errors.append(f"{option}: {', '.join(duplicates)} given more than once; allowed: {', '.join(EVENTS)}")
    return errors


def params_errors(params):
    """Every reason the fsx_dra options cannot be used, before any AWS call (empty: fine)."""
    errors = [file_system_id_error(params["file_system_id"]), file_system_path_error(params["file_system_path"]),
              chunk_size_error(params["imported_file_chunk_size"])]
    if params["data_repository_path"] is not None or params["state"] == "present":
        errors.append(data_repository_path_error(params["data_repository_path"]))
    if params["wait_timeout"] < 1:
        errors.append(f"wait_timeout: must be at least 1 (seconds), got {params['wait_timeout']}")
    errors += policy_errors(params) + tags_errors(params["tags"])
    return [error for error in errors if error]


def info_params_errors(params):
    """Every reason the fsx_dra_info options cannot be used (empty: fine)."""
    errors = [file_system_id_error(params["file_system_id"])]
    if params["file_system_path"] is not None:
        errors.append(file_system_path_error(params["file_system_path"]))
    errors += association_ids_errors(params["association_ids"]) + tags_errors(params["tags"])
    return [error for error in errors if error]


# --------------------------------------------------------------------------------------------------
# Paths and policies


def directory(path):
    """The path with exactly one trailing slash: '/a' and '/a/' are the same directory, '/ab' is not inside '/a'."""
    return path.rstrip("/") + "/"


def same_path(path, other):
    return directory(path) == directory(other)


def nesting(path, other):
    """How ``path`` relates to ``other``: 'is the same directory as', 'is inside', 'contains', or None."""
    mine, theirs = directory(path), directory(other)
    if mine == theirs:
        return "is the same directory as"
    if mine.startswith(theirs):
        return "is inside"
    if theirs.startswith(mine):
        return "contains"
    return None


def events(values):
    """An event list in AWS's order without duplicates; None (no opinion) stays None."""
    if values is None:
        return None
    return [event for event in EVENTS if event in values]


def policy_events(association, member):
    """The events of one policy of an association; a policy AWS leaves out has none."""
    return events(((association.get("S3") or {}).get(member) or {}).get("Events") or [])


def tags_of(association):
    return boto3_tag_list_to_ansible_dict((association or {}).get("Tags") or [])


# --------------------------------------------------------------------------------------------------
# Placement (against the file system's other associations, read before any mutating call)


def find_at_path(associations, path):
    """The association whose file_system_path is ``path`` (trailing slashes aside), or None."""
    return next((a for a in associations if same_path(a["FileSystemPath"], path)), None)


def _describe(association):
    return (f"association {association['AssociationId']} ({association['FileSystemPath']} -> "
            f"{association['DataRepositoryPath']}, {association['Lifecycle']})")


def placement_errors(file_system_id, associations, path, repository, replacing=None):
    """Why an association ``path`` -> ``repository`` cannot join ``associations`` (``replacing`` excluded)."""
    others = [a for a in associations if replacing is None or a["AssociationId"] != replacing["AssociationId"]]
    errors = []
    for other in others:
        relation = nesting(path, other["FileSystemPath"])
        if relation:
            errors.append(f"file_system_path: {path} {relation} {other['FileSystemPath']}, the path of {_describe(other)} "
                          f"on {file_system_id}; the paths of a file system's associations cannot nest")
        elif same_path(repository, other["DataRepositoryPath"]):
            errors.append(f"data_repository_path: {repository} is already linked by {_describe(other)} on "
                          f"{file_system_id}; each association needs its own S3 prefix")
    if len(others) >= MAX_ASSOCIATIONS:
        paths = ", ".join(sorted(a["FileSystemPath"] for a in others))
        errors.append(f"file_system_id: {file_system_id} already has {len(others)} data repository associations "
                      f"({paths}), the most AWS allows per file system ({MAX_ASSOCIATIONS}): delete one first")
    return errors


def check_placement(file_system_id, associations, path, repository, replacing=None):
    errors = placement_errors(file_system_id, associations, path, repository, replacing)
    if errors:
        raise DraError("Cannot create the data repository association: " + "; ".join(errors), errors=errors)


def replacement(association, params):
    """REPLACE, RECREATE_FAILED or None: whether ``association`` must give way to a new one.

    A FAILED association never recovers (AWS: delete it and create another). One linking another S3 prefix is
    replaced only when the caller said so (repository_conflict=replace); the DraError says how otherwise.
    """
    if association is None:
        return None
    repository = params["data_repository_path"]
    if not same_path(association["DataRepositoryPath"], repository):
        if params["repository_conflict"] != "replace":
            raise DraError(
                f"data_repository_path: {_describe(association)} already links {params['file_system_path']} to "
                f"{association['DataRepositoryPath']}, not to {repository}. Set repository_conflict=replace to delete it "
                f"(its files stay in the file system unless delete_data_in_file_system=true) and link {repository} "
                "instead, or choose another file_system_path.", association=association)
        return REPLACE
    return RECREATE_FAILED if association["Lifecycle"] == FAILED else None


# --------------------------------------------------------------------------------------------------
# Requests


def client_request_token(request, replaces=None):
    """A ClientRequestToken that is the same for the same creation (retries, concurrent runs) and differs otherwise.

    It hashes every member sent, so AWS never sees one token with two sets of parameters
    (IncompatibleParameterError), and the id of the association being replaced, so that a re-creation with the
    same parameters after a replacement is a new request for AWS.
    """
    canonical = json.dumps({"request": request, "replaces": replaces}, sort_keys=True, separators=(",", ":"))
    return TOKEN_PREFIX + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:TOKEN_HASH_CHARS]


def _s3_members(policies):
    return {member: {"Events": list(values)} for member, values in policies.items()}


def create_request(file_system_id, params, replaces=None):
    """The CreateDataRepositoryAssociation request for the options, ClientRequestToken included."""
    request = {"FileSystemId": file_system_id, "FileSystemPath": params["file_system_path"],
               "DataRepositoryPath": params["data_repository_path"],
               "BatchImportMetaDataOnCreate": bool(params["batch_import_meta_data_on_create"])}
    if params["imported_file_chunk_size"] is not None:
        request["ImportedFileChunkSize"] = params["imported_file_chunk_size"]
    policies = {member: events(params[option]) for option, member in POLICIES.items() if params[option]}
    if policies:
        request["S3"] = _s3_members(policies)
    if params["tags"]:
        request["Tags"] = sorted(ansible_dict_to_boto3_tag_list(params["tags"]), key=lambda tag: tag["Key"])
    request["ClientRequestToken"] = client_request_token(request, replaces)
    return request


def wanted_policies(association, params):
    """Both policies as they should be: the option's events, or the association's where the option is not set."""
    return {member: events(params[option]) if params[option] is not None else policy_events(association, member)
            for option, member in POLICIES.items()}


def update_members(association, params):
    """The UpdateDataRepositoryAssociation members that bring ``association`` to the options; {} when none differ.

    Both policies are sent whenever one differs, so the result does not depend on whether AWS keeps a policy
    that an update leaves out.
    """
    members = {}
    size = params["imported_file_chunk_size"]
    if size is not None and size != association.get("ImportedFileChunkSize"):
        members["ImportedFileChunkSize"] = size
    policies = wanted_policies(association, params)
    if any(policies[member] != policy_events(association, member) for member in POLICIES.values()):
        members["S3"] = _s3_members(policies)
    return members


def reapply_members(association, params):
    """An update that re-sends the S3 configuration unchanged: how a MISCONFIGURED association is re-validated
    once its cause (bucket policy, event notifications) is fixed."""
    return {"S3": _s3_members(wanted_policies(association, params))}


def batch_import_warning(association, params):
    """BatchImportMetaDataOnCreate applies at creation only; say so when the option asks for another value."""
    wanted = params["batch_import_meta_data_on_create"]
    if wanted is None or bool(association.get("BatchImportMetaDataOnCreate")) == wanted:
        return None
    return (f"batch_import_meta_data_on_create={wanted} is not applied to the existing association "
            f"{association['AssociationId']}: AWS uses it at creation only")


def predicted_association(file_system_id, request):
    """Check mode: the association a create request would make, as far as it is known before AWS answers."""
    association = {key: value for key, value in request.items() if key != "ClientRequestToken"}
    return dict(association, FileSystemId=file_system_id)


def applied(association, members):
    """Check mode: ``association`` with an update's members applied."""
    return dict(association, **members)


def retagged(association, tags):
    return dict(association, Tags=ansible_dict_to_boto3_tag_list(tags))


# --------------------------------------------------------------------------------------------------
# Results


def association_result(association):
    """An association in snake_case, tags as a dict and both policies as event lists, or None."""
    if not association:
        return None
    result = camel_dict_to_snake_dict(association, ignore_list=["Tags"])
    result["tags"] = tags_of(association)
    for option, member in POLICIES.items():
        result[option] = policy_events(association, member)
    if hasattr(result.get("creation_time"), "isoformat"):
        result["creation_time"] = result["creation_time"].isoformat()
    return result


def diff_view(association):
    """What diff mode compares: the settings of the association, nothing that only changes with time."""
    if not association:
        return {}
    view = {"association_id": association.get("AssociationId"), "file_system_path": association["FileSystemPath"],
            "data_repository_path": association["DataRepositoryPath"],
            "imported_file_chunk_size": association.get("ImportedFileChunkSize"),
            "batch_import_meta_data_on_create": association.get("BatchImportMetaDataOnCreate"),
            "tags": tags_of(association)}
    for option, member in POLICIES.items():
        view[option] = policy_events(association, member)
    return view


def matches(association, file_system_path=None, tags=None):
    """Whether an association is at ``file_system_path`` (when given) and carries all ``tags`` (when given)."""
    if file_system_path is not None and not same_path(association["FileSystemPath"], file_system_path):
        return False
    # AWS's tags are text: the options' values are compared as text (tags: {vlab: 1} finds vlab=1).
    wanted = {to_text(key): to_text(value) for key, value in (tags or {}).items()}
    return tags_match(association.get("Tags") or [], wanted)


def failure_message(association):
    """AWS's FailureDetails message, or a stand-in when AWS gives none."""
    message = (association.get("FailureDetails") or {}).get("Message")
    return message or "AWS gave no FailureDetails; see the association in the FSx console"
