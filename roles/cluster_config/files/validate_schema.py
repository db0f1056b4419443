#!/usr/bin/env python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Check a ParallelCluster configuration against pcluster's own schema, offline (no AWS call).

Reads {"name": ..., "config": {...}} as JSON on stdin; prints {"errors": ["Field.Path: reason", ...]}.
The same check as pcluster_library.schema_errors (the pcluster_cluster module's), with its helpers
(pcluster_common.cluster_name_error, schema_error_lines), loading only pcluster's schema: importing pcluster.lib
as a whole would double the time.
Run by the cluster_config role on the controller, with the controller's Python.
"""

import contextlib
import json
import os
import sys


def _collection_root():
    # <root>/ansible_collections/obi/hpc_provisioner/roles/cluster_config/files/validate_schema.py
    here = os.path.abspath(__file__)
    for _level in range(6):
        here = os.path.dirname(here)
    return os.path.dirname(here)


def main():
    request = json.load(sys.stdin)
    sys.path.insert(0, _collection_root())
    from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import cluster_name_error
    from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import uses_slurm_accounting
    from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import schema_error_lines

    errors = []
    name_error = cluster_name_error(request["name"], uses_slurm_accounting(request["config"]))
    if name_error:
        errors.append(name_error)
    try:
        from marshmallow import ValidationError
        from pcluster.schemas.cluster_schema import ClusterSchema
    except ImportError as error:
        json.dump({"errors": [f"aws-parallelcluster is needed on the controller: {error}"]}, sys.stdout)
        return
    try:
        with contextlib.redirect_stdout(sys.stderr):
            ClusterSchema(cluster_name=request["name"]).load(request["config"])
    except ValidationError as error:
        errors.extend(schema_error_lines(error.messages))
    json.dump({"errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
