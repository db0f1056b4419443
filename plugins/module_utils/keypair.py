# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The decisions of the vlab_keypair and vlab_keypair_info modules: pure functions, no AWS call, no boto3.

A deployment's SSH identity has two halves: the EC2 key pair (public key, used by instances) and its
private key, kept in AWS Secrets Manager or in an SSM SecureString parameter. This file holds

- the input checks, which run before any AWS call;
- the reading of a stored private key (its public key and key type), with ``cryptography``;
- the decision what to do with the halves found (``plan_present``) and the messages of the states it refuses;
- the tags, settings and results the modules compare and return.

The AWS calls (EC2 key pairs, the Secrets Manager and SSM stores) are in keypair_api.py.

The halves point at each other through tags, so that the info module can pair them for the delete
flow and for audits: the key pair carries ``obi:hpc_provisioner:secret_store`` and
``obi:hpc_provisioner:secret_name``, the secret ``obi:hpc_provisioner:key_pair``.
"""

import datetime
import importlib.util
import re

# cryptography is imported when a private key is read (inspect_private_key), not by the modules that only describe
# key pairs and their secrets (pcluster_cluster_info, vlab_keypair_info): the import costs some 30 to 60 ms.
HAS_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible.module_utils.common.text.converters import to_bytes
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import tags as tag_checks

KEY_TYPES = ("ed25519", "rsa")
SECRET_STORES = ("secretsmanager", "ssm")

TAG_PREFIX = "obi:hpc_provisioner:"
TAG_SECRET_STORE = TAG_PREFIX + "secret_store"
TAG_SECRET_NAME = TAG_PREFIX + "secret_name"
TAG_KEY_PAIR = TAG_PREFIX + "key_pair"

# Where a private key goes in SSM Parameter Store when secret_name is not given.
SSM_PATH = "/obi/hpc_provisioner/keypairs/"

NAME_MAX = names.KEY_PAIR_NAME_MAX  # EC2 key pair names
# The secret name is recorded in a tag value on the key pair, and tag values stop at 256 characters.
SECRET_NAME_MAX = 256
DESCRIPTION_MAX = {"secretsmanager": 2048, "ssm": 1024}
KMS_KEY_ID_MAX = 2048

_NAME = names.KEY_PAIR_NAME
_SECRETSMANAGER_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]+")
_SSM_NAME = re.compile(r"[A-Za-z0-9/_.-]+")
_SSM_MAX_LEVELS = 15
# Patterns are used with fullmatch: '$' would let a trailing newline through.

# Steps of a plan, also reported to the caller as `actions`.
RESTORE_SECRET = "restore_secret"
DELETE_KEY_PAIR = "delete_key_pair"
CREATE_KEY_PAIR = "create_key_pair"
IMPORT_KEY_PAIR = "import_key_pair"
CREATE_SECRET = "create_secret"
STORE_PRIVATE_KEY = "store_private_key"
DELETE_SECRET = "delete_secret"
UPDATE_KEY_PAIR_TAGS = "update_key_pair_tags"
UPDATE_SECRET_TAGS = "update_secret_tags"
UPDATE_SECRET_SETTINGS = "update_secret_settings"


# A key pair younger than this whose private key is not stored yet is taken for one that a concurrent run (a retried
# or duplicated request) is about to store: its secret is waited for instead of reported as a broken half state.
CONCURRENT_RUN_SECONDS = 120


def is_recent(moment, seconds, now=None):
    """True when the datetime ``moment`` (timezone-aware, as boto3 gives it) is less than ``seconds`` ago."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return (now - moment).total_seconds() < seconds


class HalfStateError(Exception):
    """The halves are in a state that the module does not repair on its own; the message says which option does."""

    def __init__(self, state, message):
        super().__init__(message)
        self.state = state


# --------------------------------------------------------------------------------------------------
# Input checks (no AWS call)


def name_error(name, field="name"):
    """Why ``name`` cannot name a key pair, or None."""
    if not name:
        return f"{field}: must not be empty"
    if len(name) > NAME_MAX:
        return f"{field}: must be at most {NAME_MAX} characters, got {len(name)}"
    if not _NAME.fullmatch(name):
        return (f"{field}: {name!r} has characters that are not allowed: use letters A-Z a-z, digits 0-9, "
                "'.', '_' and '-', starting with a letter or digit")
    return None


def default_secret_name(name, secret_store):
    """The secret name used when secret_name is not given: the key name, as the old provisioner did (in SSM, under SSM_PATH)."""
    return SSM_PATH + name if secret_store == "ssm" else name


def _ssm_name_error(secret_name):
    if not _SSM_NAME.fullmatch(secret_name):
        return "use letters, digits and '/', '_', '.', '-' for an SSM parameter name"
    if "/" in secret_name and not secret_name.startswith("/"):
        return "an SSM parameter name with a path must start with '/'"
    if "//" in secret_name or secret_name.endswith("/"):
        return "an SSM parameter name cannot have an empty path level"
    if secret_name.lstrip("/").lower().startswith(("aws", "ssm")):
        return "an SSM parameter name cannot start with 'aws' or 'ssm'"
    if secret_name.count("/") > _SSM_MAX_LEVELS:
        return f"an SSM parameter name can have at most {_SSM_MAX_LEVELS} path levels"
    return None


def secret_name_error(secret_name, secret_store, field="secret_name"):
    """Why ``secret_name`` cannot name the private key's secret (or parameter) in ``secret_store``, or None."""
    if not secret_name:
        return f"{field}: must not be empty"
    if len(secret_name) > SECRET_NAME_MAX:
        return (f"{field}: must be at most {SECRET_NAME_MAX} characters (it is recorded in a tag on the key pair), "
                f"got {len(secret_name)} for {secret_name!r}")
    if secret_store == "ssm":
        reason = _ssm_name_error(secret_name)
    elif not _SECRETSMANAGER_NAME.fullmatch(secret_name):
        reason = "use letters, digits and '/', '_', '+', '=', '.', '@', '-' for a Secrets Manager secret name"
    else:
        reason = None
    return f"{field}: {secret_name!r} is not allowed: {reason}" if reason else None


def tags_errors(tags, reserved_prefix=TAG_PREFIX):
    """The problems of a tags dict; the tags the module links key pairs and secrets with are its own."""
    return tag_checks.tags_errors(tags, reserved_prefix=reserved_prefix)


def _length_error(field, value, limit):
    if value is not None and not 0 < len(value) <= limit:
        return f"{field}: must have 1 to {limit} characters, got {len(value)}"
    return None


def absent_params_errors(params, field="name"):
    """The problems of the vlab_keypair parameters that state=absent uses (the names only); ``field`` names the key
    pair's name in the messages (``names[1]`` for one of several)."""
    errors = [name_error(params["name"], field)]
    if params.get("secret_name") is not None:
        errors.append(secret_name_error(params["secret_name"], params["secret_store"]))
    return [error for error in errors if error]


def present_params_errors(params, field="name"):
    """All problems of the vlab_keypair parameters, each naming its field; an empty list when they are fine."""
    store = params["secret_store"]
    errors = absent_params_errors(params, field)
    if params.get("secret_name") is None and not errors:
        # The default name can be too long for SSM (path + name); say which option shortens it.
        error = secret_name_error(default_secret_name(params["name"], store), store)
        errors.append(error and error.replace("secret_name:", f"{field}: the default secret_name", 1))
    errors.append(_length_error("description", params.get("description"), DESCRIPTION_MAX[store]))
    errors.append(_length_error("kms_key_id", params.get("kms_key_id"), KMS_KEY_ID_MAX))
    errors.extend(tags_errors(params.get("tags")))
    return [error for error in errors if error]


def info_params_errors(params):
    """All problems of the vlab_keypair_info parameters."""
    errors = [name_error(name, field=f"names[{index}]") for index, name in enumerate(params.get("names") or [])]
    errors.extend(tags_errors(params.get("tags"), reserved_prefix=None))
    return [error for error in errors if error]


# --------------------------------------------------------------------------------------------------
# Key material (never logged, never returned by default)


def _load_private_key(data):
    from cryptography.exceptions import UnsupportedAlgorithm  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    # AWS returns ED25519 keys in the OpenSSH format and RSA keys as PKCS#1 PEM.
    for loader in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        try:
            return loader(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
    return None


def key_type_of(public_key):
    """'ed25519' or 'rsa' (as EC2 names them) for an OpenSSH public key, else its algorithm name."""
    algorithm = public_key.split(" ", 1)[0]
    return {"ssh-ed25519": "ed25519", "ssh-rsa": "rsa"}.get(algorithm, algorithm)


def inspect_private_key(private_key):
    """The public key (OpenSSH format) and key type of a private key; public_key None when it is not one."""
    key = _load_private_key(to_bytes(private_key or "")) if private_key else None
    if key is None:
        return {"public_key": None, "key_type": None}
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    public_key = to_text(key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    return {"public_key": public_key, "key_type": key_type_of(public_key)}


def same_public_key(first, second):
    """Compare algorithm and key blob only: AWS may append the key name as a comment."""
    return bool(first and second) and first.split()[:2] == second.split()[:2]


# --------------------------------------------------------------------------------------------------
# What to do with the halves found


def _messages(ctx):
    where = f"{ctx['secret_store']} secret {ctx['secret_name']!r}"
    pair = f"key pair {ctx['name']!r}"
    return {
        "key_pair_without_secret": (
            f"{pair} exists but its private key was never stored (no {where}); the private key cannot be "
            "recovered. Set recreate=true to replace the key pair with a new one and store its private key "
            "(hosts that trust the old public key must be given the new one), or state=absent to remove it."),
        "unreadable_secret": (
            f"{where} does not hold an SSH private key in OpenSSH or PEM format, so it cannot be paired with "
            f"{pair}. Set recreate=true to store a new key pair's private key in it, or choose another secret_name."),
        "insecure_parameter": (
            f"{where} is not a SecureString parameter. Set recreate=true to replace it with a SecureString "
            "holding a new key pair's private key, or choose another secret_name."),
        "key_type_mismatch": (
            f"the private key in {where} is {ctx['stored_type']} but key_type is {ctx['key_type']}. "
            f"Set key_type={ctx['stored_type']} to keep it, or recreate=true to replace {pair} and the stored key "
            f"with a new {ctx['key_type']} key pair."),
        "key_mismatch": (
            f"{pair} and the private key in {where} do not belong together (their public keys differ). "
            "Set recreate=true to replace both with a new key pair (hosts that trust the old public key must be "
            "given the new one)."),
    }


def stored_key_problem(key_pair, secret, stored, key_type):
    """Why the existing secret cannot serve as this key pair's private key, or None when it can.

    ``stored`` is the result of inspect_private_key, or None when the secret could not be read yet
    (a secret scheduled for deletion, in check mode): it is then trusted until it can be read.
    """
    if secret.get("secure") is False:
        return "insecure_parameter"
    if stored is None:
        return None
    if stored["public_key"] is None:
        return "unreadable_secret"
    if stored["key_type"] != key_type:
        return "key_type_mismatch"
    if key_pair and not same_public_key(key_pair.get("PublicKey"), stored["public_key"]):
        return "key_mismatch"
    return None


def _replace_steps(key_pair, secret):
    steps = [DELETE_KEY_PAIR] if key_pair else []
    if secret and secret.get("secure") is False:
        # A plain String parameter cannot become a SecureString in place: make a new one.
        steps.append(DELETE_SECRET)
        secret = None
    return steps + [CREATE_KEY_PAIR, STORE_PRIVATE_KEY if secret else CREATE_SECRET]


def plan_present(key_pair, secret, stored, ctx):
    """The steps that put both halves in place, in order; raises HalfStateError when that needs recreate=true.

    key_pair: the EC2 description (with PublicKey) or None; secret: the store's record or None, after
    any restore; stored: inspect_private_key of the secret's value, None when not read; ctx: name,
    key_type, secret_store, secret_name, recreate. Safe repairs happen without asking: a secret without
    its key pair gets the public key derived from it imported, so the stored key keeps working.
    """
    if secret is None:
        if key_pair is None:
            return [CREATE_KEY_PAIR, CREATE_SECRET]
        problem = "key_pair_without_secret"
    else:
        problem = stored_key_problem(key_pair, secret, stored, ctx["key_type"])
        if problem is None:
            return [] if key_pair else [IMPORT_KEY_PAIR]
    if ctx["recreate"]:
        return _replace_steps(key_pair, secret)
    stored_type = stored["key_type"] if stored else None
    raise HalfStateError(problem, _messages(dict(ctx, stored_type=stored_type))[problem])


def foreign_secret_error(secret, name):
    """A message when the secret is tagged as another key pair's (never adopt or delete it), else None."""
    owner = (secret or {}).get("tags", {}).get(TAG_KEY_PAIR)
    if owner is not None and owner != name:
        return (f"{secret['store']} secret {secret['name']!r} holds the private key of key pair {owner!r} "
                f"(tag {TAG_KEY_PAIR}), not of {name!r}: choose another secret_name")
    return None


def desired_tags(user_tags, purge_tags, link_tags):
    """The tags to converge to and whether to purge others: amazon.aws semantics (tags unset: leave them), plus
    the link tags, which are always set and never purged."""
    if user_tags is None:
        return dict(link_tags), False
    merged = {to_text(key): to_text(value) for key, value in user_tags.items()}
    merged.update(link_tags)
    return merged, bool(purge_tags)


def key_pair_link_tags(secret_store, secret_name):
    return {TAG_SECRET_STORE: secret_store, TAG_SECRET_NAME: secret_name}


def secret_link_tags(name):
    return {TAG_KEY_PAIR: name}


def apply_tag_changes(current, to_set, to_unset):
    tags = {key: value for key, value in (current or {}).items() if key not in to_unset}
    tags.update({key: to_text(value) for key, value in to_set.items()})
    return tags


def kms_key_matches(wanted, current):
    """True when ``wanted`` (id, ARN, alias or alias ARN) names the KMS key recorded as ``current``."""
    if wanted is None:
        return True
    if current is None:
        return False
    return wanted == current or current.endswith((":" + wanted, "/" + wanted)) or wanted.endswith((":" + current, "/" + current))


def secret_reference(key_pair_tags, key_name):
    """Where a key pair's private key is: from its link tags, else where the old provisioner put it."""
    store = key_pair_tags.get(TAG_SECRET_STORE)
    if store not in SECRET_STORES:
        return "secretsmanager", key_name
    return store, key_pair_tags.get(TAG_SECRET_NAME) or default_secret_name(key_name, store)


# --------------------------------------------------------------------------------------------------
# What the modules return (never a private key, never a secret's value)


def key_pair_tags(key_pair):
    return boto3_tag_list_to_ansible_dict((key_pair or {}).get("Tags") or [])


def key_pair_result(key_pair):
    """A key pair description in snake_case with tags as a dict (no key material: EC2 never returns private keys here)."""
    if not key_pair:
        return None
    result = camel_dict_to_snake_dict(key_pair, ignore_list=["Tags"])
    result["tags"] = key_pair_tags(key_pair)
    return result


def secret_result(record):
    """What the modules return about a secret: never its value."""
    if not record:
        return None
    fields = ("store", "name", "arn", "description", "kms_key_id", "deleted_date", "tags")
    return {field: record[field] for field in fields}
