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
when that fits and ``p-`` plus 30 digits of SHA-256(project_id) otherwise. The job log group
``/obi/hpc/<vlab_id>/<project_id>``, the S3 prefixes ``<vlab_id>/<project_id>`` and the Slurm accounts (the ids
themselves) have room for UUIDs and keep their old form. The full ids are also in the cost tags
(``obp:costcenter:vlabid``, ``obp:costcenter:project``) of everything that takes tags.
"""

import hashlib
import re

CLUSTER_PREFIX = "pcluster-"
SIM_KEY_SUFFIX = "_sim"
# ParallelCluster's limits (pcluster.constants PCLUSTER_NAME_MAX_LENGTH[_SLURM_ACCOUNTING]), FSx storage names
# (SharedStorage[].Name) and Linux group names (useradd: 32).
CLUSTER_NAME_MAX = 60
CLUSTER_NAME_MAX_SLURM_ACCOUNTING = 40
FSX_NAME_MAX = 30
GROUP_NAME_MAX = 32
# vlab_id and project_id: lower-case letters, digits and hyphens, a letter or digit first (UUID4 strings fit).
ID_MAX = 36
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,%d}$" % (ID_MAX - 1))
ID_RULE = f"lower-case letters, digits and hyphens, a letter or digit first, at most {ID_MAX} characters (a UUID fits)"


def _digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def id_error(field, value):
    """Why ``value`` cannot be the request's ``field`` (vlab_id or project_id), or None."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        return f"{field}: {value!r} is not valid: {ID_RULE}"
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


def project_names(vlab_id, project_id, accounting="off"):
    """Every name of one project's resources, as the playbooks and roles use them."""
    cluster = cluster_name(vlab_id, project_id, accounting)
    admin_key, sim_key = key_names(cluster)
    return {
        "cluster": cluster,
        "cluster_candidates": cluster_name_candidates(vlab_id, project_id),
        "admin_key": admin_key,
        "sim_key": sim_key,
        "fsx": fsx_name(vlab_id, project_id, cluster),
        "job_log_group": f"/obi/hpc/{vlab_id}/{project_id}",
        "project_prefix": f"{vlab_id}/{project_id}",
        "project_group": project_group(project_id),
    }


def key_names(cluster):
    """The key pairs the collection makes for ``cluster``: the admin's and the sim user's."""
    return [cluster, cluster + SIM_KEY_SUFFIX]
