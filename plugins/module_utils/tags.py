# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Checks of user-given AWS resource tags, before any AWS call, and the one tag matcher (shared by the modules).

The limits and characters are those EC2, Secrets Manager, SSM and FSx all accept: keys of 1 to 128
characters, values of at most 256, letters, digits, spaces and ``_ . : / = + - @``; the ``aws:`` prefix
is AWS's own. amazon.aws's tagging helpers convert and compare tags but do not check them.
"""

import re

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names

TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
# Used with fullmatch: '$' would let a trailing newline through.
_TAG_TEXT = re.compile(r"[\w .:/=+@-]*")


def tag_error(key, value, field="tags", reserved_prefix=None):
    """Why one tag cannot be used (a message naming ``field``), or None."""
    key, value = to_text(key), to_text(value)
    if not key or len(key) > TAG_KEY_MAX:
        return f"{field}: key {key!r} must have 1 to {TAG_KEY_MAX} characters"
    if len(value) > TAG_VALUE_MAX:
        return f"{field}: value of {key!r} must have at most {TAG_VALUE_MAX} characters"
    if key.lower().startswith("aws:"):
        return f"{field}: key {key!r} is not allowed: the prefix 'aws:' is reserved by AWS"
    if reserved_prefix and key.startswith(reserved_prefix):
        return f"{field}: key {key!r} is not allowed: the module manages the tags starting with {reserved_prefix!r}"
    if not _TAG_TEXT.fullmatch(key) or not _TAG_TEXT.fullmatch(value):
        return (f"{field}: {key!r}: {value!r} has characters that are not allowed: use letters, digits, spaces "
                "and '_', '.', ':', '/', '=', '+', '-', '@'")
    return None


def tags_errors(tags, field="tags", reserved_prefix=None):
    """The problems of a tags dict (keys and values as text), one message per bad tag."""
    errors = (tag_error(key, value, field, reserved_prefix) for key, value in (tags or {}).items())
    return [error for error in errors if error]


def tags_match(tags, wanted):
    """True when ``tags`` (a dict, or a boto3 list of Key/Value pairs) has every wanted tag's value.

    A wanted value of None is ignored, so that an optional filter left unset matches everything.
    """
    tags = _as_dict(tags)
    return all(tags.get(key) == value for key, value in (wanted or {}).items() if value is not None)


def _as_dict(tags):
    """Tags as a dict, from a dict or a boto3 list of Key/Value pairs (None: none)."""
    return boto3_tag_list_to_ansible_dict(tags) if isinstance(tags, list) else tags or {}


def owner_error(what, tags, vlab_id, project_id):
    """Why ``what`` (a resource with one of this project's names) is another project's, by its cost tags, or None.

    The naming rule gives different projects different names, so such a resource is a name collision: acting on it
    would change another project's. A resource without cost tags is taken as the project's.
    """
    tags = _as_dict(tags)
    owner_vlab, owner_project = tags.get(names.COST_TAG_VLAB, vlab_id), tags.get(names.COST_TAG_PROJECT, project_id)
    if (owner_vlab, owner_project) == (vlab_id, project_id):
        return None
    return (f"{what} belongs to vlab_id={owner_vlab}, project_id={owner_project} (its cost tags), not to this request's "
            f"vlab_id={vlab_id}, project_id={project_id}: a name collision; nothing was changed")
