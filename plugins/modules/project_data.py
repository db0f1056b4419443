#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: project_data
version_added: 0.2.0
short_description: Stage data into and out of a project's directories on its cluster, list and delete it
description:
  - O(mode=upload) stages in O(src) (an C(https://), C(http://) or C(s3://) URL) to O(path). On a cluster with
    FSx for Lustre (O(fsx_file_system_id)), a path under a data repository association (DRA) is written to the DRA's
    S3 prefix, with FSx's POSIX metadata (the owner and group of the area, mode 0660; new directories 2770), and
    FSx's automatic import brings it onto the cluster; the module waits until the head node sees the file with its
    size. Elsewhere (EFS-only clusters) the file is streamed by SFTP to a temporary name and renamed.
  - O(mode=download) stages out the file O(path) to O(dest) on the controller. Under a DRA, an export task writes it
    to S3 first (C(CreateDataRepositoryTask) C(EXPORT_TO_REPOSITORY)) and the object is read; elsewhere by SFTP.
    O(dest) is replaced only when its content differs.
  - O(mode=list) lists O(path) (a directory's entries, or one file), with O(recurse) the whole tree.
  - O(mode=delete) deletes the file or directory O(path) (a directory with content needs O(recurse)). Under a DRA,
    its S3 copy is deleted first (C(project/private) exports nothing, so the data would stay in S3), the module waits
    until FSx's import of the deletion has removed the imported files, then removes what only the cluster had.
  - Paths are relative to the project's O(area) and confined to it; the C(public) area is read only. Transfers
    return their bytes, duration and progress samples (RV(transfer)).
  - Bad input fails naming the option (RV(fields)) before any byte is written on the cluster or in S3.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  mode:
    description: The operation.
    type: str
    choices: [upload, download, list, delete]
    required: true
  area:
    description:
      - The project's directory the path is in, C(scratch) (C(<mount_dir>/scratch/<project_id>)), C(private)
        (C(<mount_dir>/project/private)) or C(public) (C(<mount_dir>/project/public), read only).
    type: str
    choices: [scratch, private, public]
    default: scratch
  path:
    description: The path in O(area), relative to it (C(.) for the area itself, with O(mode=list)).
    type: str
    required: true
  src:
    description: What to stage in, an C(https://), C(http://) or C(s3://bucket/key) URL. Required with O(mode=upload).
    type: str
  dest:
    description: The file on the controller to stage out to. Required with O(mode=download).
    type: path
  overwrite:
    description: With O(mode=upload), replace a file that exists. Without it an existing file is left (not changed).
    type: bool
    default: false
  recurse:
    description: With O(mode=list), the whole tree; with O(mode=delete), a directory with its content.
    type: bool
    default: false
  fsx_file_system_id:
    description:
      - The cluster's FSx for Lustre file system (the describe playbook's C(clusterFsxId)); paths under its DRAs move
        through S3. Empty for an EFS-only cluster.
    type: str
  wait_timeout:
    description: Seconds to wait for FSx's import of an upload or for an export task.
    type: int
    default: 600
extends_documentation_fragment:
  - obi.hpc_provisioner.head_node
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Stage in a morphology from S3
  obi.hpc_provisioner.project_data:
    vlab_id: "{{ vlab_id }}"
    project_id: "{{ project_id }}"
    cluster_name: "{{ describe.clusterName }}"
    head_node_host: "{{ describe.headNodeAddress }}"
    private_key_secret: "{{ describe.user_private_ssh_key_arn }}"
    host_key_bucket: "{{ hpc_infra_bucket }}"
    fsx_file_system_id: "{{ describe.clusterFsxId }}"
    mode: upload
    area: private
    path: inputs/cell.swc
    src: s3://example-data/morphologies/cell.swc

- name: Stage out a job's output
  obi.hpc_provisioner.project_data:
    vlab_id: "{{ vlab_id }}"
    project_id: "{{ project_id }}"
    cluster_name: "{{ describe.clusterName }}"
    head_node_host: "{{ describe.headNodeAddress }}"
    private_key_secret: "{{ describe.user_private_ssh_key_arn }}"
    host_key_bucket: "{{ hpc_infra_bucket }}"
    fsx_file_system_id: "{{ describe.clusterFsxId }}"
    mode: download
    path: runs/slurm-42.out
    dest: /tmp/slurm-42.out
"""

RETURN = r"""
path:
  description: The path on the cluster, absolute.
  returned: success
  type: str
  sample: /obi/data/scratch/PROJECT/runs/slurm-42.out
size:
  description: The file's size in bytes (upload and download).
  returned: mode=upload or mode=download
  type: int
dest:
  description: The file on the controller.
  returned: mode=download
  type: str
s3_url:
  description: The S3 object the data went through (a path under a DRA).
  returned: when the transfer went through S3
  type: str
transfer:
  description:
    - The transfer, its bytes, seconds, rate and progress samples (every tenth of a known size or every 8 MiB,
      whichever is more, and at the end).
  returned: when bytes moved
  type: dict
  sample: {bytes: 1048576, seconds: 0.21, bytes_per_second: 4993219, progress: [{bytes: 1048576, seconds: 0.21}]}
entries:
  description:
    - With O(mode=list), the entries, their path relative to the area, type (file, directory, link, other), size and
      modification time (epoch seconds).
  returned: mode=list
  type: list
  elements: dict
  sample: [{path: runs/slurm-42.out, type: file, size: 12, mtime: 1796651460.5}]
kind:
  description: With O(mode=delete), what was deleted (file, directory or other).
  returned: mode=delete and changed
  type: str
fields:
  description: On failure, the options the message is about.
  returned: failure
  type: list
  elements: str
"""

import os

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import operations
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import project_data
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import project_paths


def request_errors(params):
    errors = operations.request_errors(params)
    error = project_paths.relative_path_error(params["path"])
    if error:
        errors.append(("path", error))
    mode = params["mode"]
    if mode in ("upload", "delete") and params["area"] in project_paths.READ_ONLY_AREAS:
        errors.append(("area", f"area {params['area']} is read only: {mode} needs scratch or private"))
    if mode == "upload":
        error = project_data.source_error(params["src"])
        if error:
            errors.append(("src", error))
    if mode == "download":
        dest = params["dest"]
        if not dest or not os.path.isdir(os.path.dirname(os.path.abspath(dest))) or os.path.isdir(dest):
            errors.append(("dest", f"dest {dest!r} must name a file in a directory that exists on the controller"))
    return errors


def run(module, data):
    return getattr(data, module.params["mode"])()


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            operations.argument_spec(),
            mode=dict(type="str", choices=["upload", "download", "list", "delete"], required=True),
            area=dict(type="str", choices=list(project_paths.AREAS), default="scratch"),
            path=dict(type="str", required=True),
            src=dict(type="str"),
            dest=dict(type="path"),
            overwrite=dict(type="bool", default=False),
            recurse=dict(type="bool", default=False),
            fsx_file_system_id=dict(type="str"),
            wait_timeout=dict(type="int", default=600),
        ),
        required_if=[("mode", "upload", ["src"]), ("mode", "download", ["dest"])],
        supports_check_mode=True,
    )
    operations.fail_on_errors(module, request_errors(module.params))
    module.exit_json(**operations.run(module, run, project_data.ProjectData))


if __name__ == "__main__":
    main()
