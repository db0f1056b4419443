# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The names of everything the collection makes for one project, from (vlab_id, project_id): the one rule.

The old provisioner named a cluster ``pcluster-<vlab_id>-<project_id>``. The platform's ids are UUID4 strings (36
characters each), which makes that 82 characters: over ParallelCluster's limit of 60, or 40 with Slurm accounting
(slurmdbd names its MariaDB tables after the cluster). So:

- the old name is kept whenever it fits the limit that applies, so that existing clusters keep their names;
- otherwise the cluster is ``pcluster-`` followed by the first 31 hex digits of SHA-256("<vlab_id>/<project_id>")
  (40 characters). Ids cannot hold "/", so different pairs hash different input. A short name has one hyphen and an
  old one at least two, so the two forms never meet. Two pairs sharing a digest prefix of 124 bits is not expected
  to happen, and the playbooks still refuse a name whose resources carry another pair's ids (the cost tags).

Every other name derives from the cluster name or follows the same rule within its own limit: the key pairs (and
their secrets, named like them) are ``<cluster>`` and ``<cluster>_sim``; the FSx for Lustre storage name (30
characters in pcluster) is the old ``<vlab_id[:14]>-<project_id[:15]>`` for a cluster of the old form and
``fsx-`` plus 26 digits of the digest otherwise; the project's POSIX group (32 characters) is ``p-<project_id>``
when that fits and ``p-`` plus 30 digits of SHA-256(project_id) otherwise; the cluster's Slurm accounting database
is its name with ``_`` for each hyphen. The job log group
``/obi/hpc/<vlab_id>/<project_id>``, the S3 prefixes ``<vlab_id>/<project_id>`` and the Slurm accounts (the ids
themselves) have room for UUIDs and keep their old form. The full ids are also in the cost tags
(``obp:costcenter:vlabid``, ``obp:costcenter:project``) of everything that takes tags.

The rules of the ids a request or a site setting names (ID_RULES: vlab and project ids, file systems, subnets,
security groups, AMIs, ARNs, key pairs) are here too, one per kind for the modules, the roles and the playbooks.
"""

import hashlib
import re

CLUSTER_PREFIX = "pcluster-"
# The cost tags of everything the collection makes that takes tags: the project's full ids.
COST_TAG_VLAB = "obp:costcenter:vlabid"
COST_TAG_PROJECT = "obp:costcenter:project"
SIM_KEY_SUFFIX = "_sim"
JOB_LOG_GROUP_PREFIX = "/obi/hpc/"
PCLUSTER_LOG_GROUP_PREFIX = "/aws/parallelcluster/"
REST_SECURITY_GROUP_SUFFIX = "-slurm-rest"
DEFAULT_NODE_ASSETS_PREFIX = "hpc_provisioner/node"
# Where the head node publishes its SSH host key at boot (under the cluster's node assets): the job and data modules
# verify the head node against it.
HOST_KEY_OBJECT = "host_keys/ssh_host_ed25519_key.pub"
# ParallelCluster's limits (pcluster.constants PCLUSTER_NAME_MAX_LENGTH[_SLURM_ACCOUNTING]), FSx storage names
# (SharedStorage[].Name) and Linux group names (useradd: 32).
CLUSTER_NAME_MAX = 60
CLUSTER_NAME_MAX_SLURM_ACCOUNTING = 40
FSX_NAME_MAX = 30
GROUP_NAME_MAX = 32

# The ids a request or a site setting names: one rule each, the pattern a whole value must match and the rule in
# words (for the messages). Each layer (modules, roles, playbooks: the filter plugin's valid_id test and id_rule
# filter) checks an id with these.
# vlab_id and project_id: lower-case letters, digits and hyphens, a letter or digit first (UUID4 strings fit).
ID_MAX = 36
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,%d}" % (ID_MAX - 1))
ID_RULE = f"lower-case letters, digits and hyphens, a letter or digit first, at most {ID_MAX} characters (a UUID fits)"
# AWS's API patterns: an FSx FileSystemId is fs- and at least 8 hex digits in 11 to 21 characters, an EFS one
# fs-[0-9a-f]{8,40}; EC2 resource ids are their prefix and 8 or (since 2018) 17 hex digits.
FSX_FILE_SYSTEM_ID = re.compile(r"fs-[0-9a-f]{8,18}")
EFS_FILE_SYSTEM_ID = re.compile(r"fs-[0-9a-f]{8,40}")
KEY_PAIR_NAME_MAX = 255  # EC2 key pair names
KEY_PAIR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,%d}" % (KEY_PAIR_NAME_MAX - 1))


def _ec2_id(prefix):
    return re.compile(prefix + r"-(?:[0-9a-f]{8}|[0-9a-f]{17})")


ID_RULES = {
    "vlab_id": (ID_PATTERN, ID_RULE),
    "project_id": (ID_PATTERN, ID_RULE),
    "fsx_file_system_id": (FSX_FILE_SYSTEM_ID, "an FSx file system id (fs- and 8 to 18 hex digits)"),
    "efs_file_system_id": (EFS_FILE_SYSTEM_ID, "an EFS file system id (fs- and 8 to 40 hex digits)"),
    "subnet_id": (_ec2_id("subnet"), "a subnet id (subnet- and 8 or 17 hex digits)"),
    "security_group_id": (_ec2_id("sg"), "a security group id (sg- and 8 or 17 hex digits)"),
    "ami_id": (_ec2_id("ami"), "an AMI id (ami- and 8 or 17 hex digits)"),
    "arn": (re.compile(r"arn:[^:\s]+:[^:\s]+:[^:\s]*:[^:\s]*:\S+"),
            "an ARN (arn:<partition>:<service>:<region>:<account>:<resource>)"),
    "key_pair_name": (KEY_PAIR_NAME, f"an EC2 key pair name: 1 to {KEY_PAIR_NAME_MAX} letters, digits, '.', '_' or '-', "
                                     "a letter or digit first"),
}


def _digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rule(kind):
    try:
        return ID_RULES[kind]
    except KeyError:
        raise ValueError(f"no id rule {kind!r}: one of {', '.join(ID_RULES)}") from None


def is_valid_id(value, kind):
    """Whether ``value`` is an id of ``kind`` (a key of ID_RULES)."""
    return isinstance(value, str) and _rule(kind)[0].fullmatch(value) is not None


def id_rule(kind):
    """What an id of ``kind`` is, in words."""
    return _rule(kind)[1]


def id_error(field, value, kind=None):
    """Why ``value`` cannot be the request's ``field`` (an id of ``kind``, by default the field's own), or None."""
    if not is_valid_id(value, kind or field):
        return f"{field}: {value!r} is not valid: {id_rule(kind or field)}"
    return None


def long_cluster_name(vlab_id, project_id):
    return f"{CLUSTER_PREFIX}{vlab_id}-{project_id}"


def short_cluster_name(vlab_id, project_id):
    return CLUSTER_PREFIX + _digest(f"{vlab_id}/{project_id}")[:CLUSTER_NAME_MAX_SLURM_ACCOUNTING - len(CLUSTER_PREFIX)]


def cluster_name_limit(accounting):
    return CLUSTER_NAME_MAX if accounting in (None, "", "off", False) else CLUSTER_NAME_MAX_SLURM_ACCOUNTING


def cluster_name(vlab_id, project_id, accounting="off"):
    """The cluster's name: the old form when it fits the limit for ``accounting`` (database, external, off)."""
    name = long_cluster_name(vlab_id, project_id)
    return name if len(name) <= cluster_name_limit(accounting) else short_cluster_name(vlab_id, project_id)


def cluster_name_candidates(vlab_id, project_id):
    """The names the cluster can have when its accounting is not known (describe, delete), in the order to try.

    One name, except when the old form has 41 to 60 characters: then it is the name of a cluster without accounting
    and the short form that of one with accounting.
    """
    name = long_cluster_name(vlab_id, project_id)
    if len(name) <= CLUSTER_NAME_MAX_SLURM_ACCOUNTING:
        return [name]
    if len(name) > CLUSTER_NAME_MAX:
        return [short_cluster_name(vlab_id, project_id)]
    return [name, short_cluster_name(vlab_id, project_id)]


def is_short_cluster_name(name):
    return name.startswith(CLUSTER_PREFIX) and "-" not in name[len(CLUSTER_PREFIX):]


def fsx_name(vlab_id, project_id, cluster):
    """The FSx for Lustre storage name of ``cluster`` (the name ``cluster_name`` gave)."""
    if not is_short_cluster_name(cluster):
        return f"{vlab_id[:14]}-{project_id[:15]}"
    return "fsx-" + _digest(f"{vlab_id}/{project_id}")[:FSX_NAME_MAX - 4]


def project_group(project_id):
    """The project's POSIX group on the nodes."""
    name = f"p-{project_id}"
    return name if len(name) <= GROUP_NAME_MAX else "p-" + _digest(project_id)[:GROUP_NAME_MAX - 2]


def job_log_group(vlab_id, project_id):
    """The CloudWatch log group of the project's Slurm job records and job output."""
    return f"{JOB_LOG_GROUP_PREFIX}{vlab_id}/{project_id}"


def database_name(cluster):
    """The cluster's Slurm accounting database: its name with every character but letters and digits as ``_``."""
    return re.sub(r"[^A-Za-z0-9]", "_", cluster)


def project_names(vlab_id, project_id, accounting="off", cluster=None):
    """Every name of one project's resources, as the playbooks and roles use them.

    ``cluster``: the cluster's name when the caller has it already (a role given it); the names that follow the
    cluster (key pairs, FSx storage, accounting database) then follow that one. Empty or None: the rule's.
    """
    cluster = cluster or cluster_name(vlab_id, project_id, accounting)
    admin_key, sim_key = key_names(cluster)
    return {
        "cluster": cluster,
        "cluster_candidates": cluster_name_candidates(vlab_id, project_id),
        "admin_key": admin_key,
        "sim_key": sim_key,
        "fsx": fsx_name(vlab_id, project_id, cluster),
        "database": database_name(cluster),
        "job_log_group": job_log_group(vlab_id, project_id),
        "project_prefix": f"{vlab_id}/{project_id}",
        "project_group": project_group(project_id),
    }


def key_names(cluster):
    """The key pairs the collection makes for ``cluster``: the admin's and the sim user's."""
    return [cluster, cluster + SIM_KEY_SUFFIX]


def cluster_resource_names(cluster, node_assets_prefix=DEFAULT_NODE_ASSETS_PREFIX):
    """What the collection makes for ``cluster`` and names after it, besides the cluster's stack: the key pairs (and
    their secrets), the head node's REST security group, the cluster's objects under the infra bucket's node assets
    prefix (its node variables, its copy of the collection and the head node's published SSH host key), and the prefix of pcluster's log groups
    (``<prefix><creation time>``, kept by pcluster's Retain policy after the cluster is gone)."""
    admin_key, sim_key = key_names(cluster)
    assets = f"{node_assets_prefix.rstrip('/')}/clusters/{cluster}/"
    return {
        "admin_key": admin_key,
        "sim_key": sim_key,
        "rest_security_group": cluster + REST_SECURITY_GROUP_SUFFIX,
        "node_vars_key": assets + "node_vars.yml",
        "collection_key": assets + "collection.tar.gz",
        "host_key_key": assets + HOST_KEY_OBJECT,
        "pcluster_log_group_prefix": f"{PCLUSTER_LOG_GROUP_PREFIX}{cluster}-",
    }
