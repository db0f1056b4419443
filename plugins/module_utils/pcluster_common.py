# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Checks and set-up shared by the pcluster_cluster modules, all without any AWS call.

Everything here runs before the first request leaves the controller: the cluster name and the shape of
the configuration are refused locally (saying which field and why), and the process environment is
prepared for aws-parallelcluster, which reads its endpoint, region and credentials from there only.
"""

import os
import re

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names

# ParallelCluster's own limits (pcluster.constants: PCLUSTER_NAME_REGEX, PCLUSTER_NAME_MAX_LENGTH[_SLURM_ACCOUNTING]).
# The library's API pattern is ^[a-zA-Z][a-zA-Z0-9-]+$, so a name has at least two characters.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]+$")
NAME_MAX_LENGTH = names.CLUSTER_NAME_MAX
NAME_MAX_LENGTH_SLURM_ACCOUNTING = names.CLUSTER_NAME_MAX_SLURM_ACCOUNTING

# The cost tags that the provisioner puts on every cluster, and that the info module filters by (names.py's).
COST_TAG_VLAB = names.COST_TAG_VLAB
COST_TAG_PROJECT = names.COST_TAG_PROJECT


def uses_slurm_accounting(config):
    """True when the configuration sets up Slurm accounting, which shortens the allowed cluster name."""
    scheduling = config.get("Scheduling") if isinstance(config, dict) else None
    settings = scheduling.get("SlurmSettings") if isinstance(scheduling, dict) else None
    if not isinstance(settings, dict):
        return False
    return settings.get("Database") is not None or settings.get("ExternalSlurmdbd") is not None


def cluster_name_error(name, slurm_accounting=False):
    """The reason why ``name`` cannot name a cluster, or None when it can."""
    limit = NAME_MAX_LENGTH_SLURM_ACCOUNTING if slurm_accounting else NAME_MAX_LENGTH
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return (f"name: {name!r} is not a valid cluster name: it must start with a letter, contain only letters, "
                f"digits and hyphens, and have 2 to {limit} characters")
    if len(name) > limit:
        reason = " with Slurm accounting (Scheduling.SlurmSettings.Database or ExternalSlurmdbd)" if slurm_accounting else ""
        return f"name: {name!r} has {len(name)} characters; a cluster name can have at most {limit}{reason}"
    return None


def schema_error_lines(messages, path=""):
    """Flatten marshmallow's nested error messages into sorted ``Field.Path[0].Key: reason`` lines.

    pcluster's schema reports ``{'Scheduling': {'SlurmQueues': {0: {'MaxCount': ['Not a valid integer.']}}}}``
    and its API flattens that into a Python repr; a user wants the field's path and the reason.
    """
    if isinstance(messages, dict):
        lines = []
        for key, value in messages.items():
            child = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))
            lines.extend(schema_error_lines(value, child))
        return sorted(lines)
    if isinstance(messages, (list, tuple)):
        if all(isinstance(item, str) for item in messages):
            return [f"{path or 'config'}: {' '.join(messages)}"]
        return [line for item in messages for line in schema_error_lines(item, path)]
    return [f"{path or 'config'}: {messages}"]


def aws_environment(region, endpoint_url, boto_params):
    """The environment variables that point aws-parallelcluster (and any boto3 it creates) at the module's target.

    Returns ``(to_set, to_unset)``. A profile excludes the key variables: botocore prefers keys from the
    environment over a profile, so inherited keys would silently win over the profile the user asked for.
    pcluster's clients also get the collection's retry attempts (``aws.SDK_RETRY_ENVIRONMENT``): no decorator
    reaches them, so botocore's standard retry mode is their one retry layer. The modules' own clients are not
    affected (``aws.client`` turns botocore's retries off in their configuration, which wins over the environment).
    """
    # Imported here, as in apply_aws_environment: this file stays importable without amazon.aws (the filters).
    from ansible_collections.obi.hpc_provisioner.plugins.module_utils.aws import SDK_RETRY_ENVIRONMENT

    to_set = dict(SDK_RETRY_ENVIRONMENT, AWS_DEFAULT_REGION=region, AWS_REGION=region)
    to_unset = []
    if endpoint_url:
        to_set["AWS_ENDPOINT_URL"] = endpoint_url
    profile = boto_params.get("profile_name")
    if profile:
        to_set["AWS_PROFILE"] = profile
        to_unset = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"]
    else:
        keys = {"AWS_ACCESS_KEY_ID": "aws_access_key_id", "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
                "AWS_SESSION_TOKEN": "aws_session_token"}
        to_set.update({variable: boto_params[param] for variable, param in keys.items() if boto_params.get(param)})
        if boto_params.get("aws_access_key_id"):
            # Keys given explicitly: a profile from the environment must not take over, nor a stale token.
            to_unset = ["AWS_PROFILE"] + ([] if boto_params.get("aws_session_token") else ["AWS_SESSION_TOKEN"])
    verify = boto_params.get("verify")
    if isinstance(verify, str):
        to_set["AWS_CA_BUNDLE"] = verify
    return {key: value for key, value in to_set.items() if value}, to_unset


def apply_aws_environment(module):
    """Export the module's connection options for aws-parallelcluster; returns the region.

    Must run before ``pcluster`` is imported: its AWS clients are created from the environment.
    """
    # Imported here so that this file stays importable (and unit-testable) without amazon.aws's boto3 checks.
    from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info

    region, endpoint_url, boto_params = get_aws_connection_info(module)
    if not region:
        module.fail_json(msg="region: no AWS region given (set region, or AWS_REGION / AWS_DEFAULT_REGION)")
    to_set, to_unset = aws_environment(region, endpoint_url, boto_params)
    for variable in to_unset:
        os.environ.pop(variable, None)
    os.environ.update(to_set)
    return region


class PclusterFailure(Exception):
    """A failure to report with fail_json: a message for people, and snake_case details for the result."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details
