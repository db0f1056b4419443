#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: fsx_dra_info
version_added: 0.1.0
short_description: The data repository associations of an FSx for Lustre file system, a vlab or a project
description:
  - Lists FSx for Lustre data repository associations (S3), each in snake_case with its lifecycle, paths, policies,
    tags and failure details.
  - Narrowed by file system (id or C(Name) tag), by association ids, by O(file_system_path) and by tags, for example
    a vlab's and a project's cost tags. Every page of AWS's answer is read.
  - Made for the delete flow (what to pass to M(obi.hpc_provisioner.fsx_dra) with
    O(obi.hpc_provisioner.fsx_dra#module:state=absent)) and for audits.
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  file_system_id:
    description:
      - Only the associations of this file system. A file system that does not exist has none.
    type: str
  file_system_name:
    description:
      - Only the associations of the Lustre file system with this C(Name) tag. The module fails when several carry it.
    type: str
  association_ids:
    description:
      - Only these associations. Ids that do not exist are left out.
    type: list
    elements: str
  file_system_path:
    description:
      - Only the association at this directory of the file system (a trailing slash makes no difference).
    type: str
  tags:
    description:
      - Only the associations that carry all these tags with these values, for example C(obp:costcenter:vlabid) and
        C(obp:costcenter:project).
      - Without any other option, the associations of every file system in the region are searched.
    type: dict
notes:
  - "IAM: C(fsx:DescribeFileSystems) (with O(file_system_name)), C(fsx:DescribeDataRepositoryAssociations)."
seealso:
  - module: obi.hpc_provisioner.fsx_dra
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The associations of a project, for the delete flow
  obi.hpc_provisioner.fsx_dra_info:
    tags:
      "obp:costcenter:vlabid": "{{ vlab_id }}"
      "obp:costcenter:project": "{{ project_id }}"
  register: project_dras

- name: Delete each of them
  obi.hpc_provisioner.fsx_dra:
    file_system_id: "{{ item.file_system_id }}"
    file_system_path: "{{ item.file_system_path }}"
    state: absent
  loop: "{{ project_dras.associations }}"
  loop_control:
    label: "{{ item.file_system_id }}:{{ item.file_system_path }}"

- name: All associations of a file system, found by its Name tag
  obi.hpc_provisioner.fsx_dra_info:
    file_system_name: "{{ vlab_id }}-lustre"
  register: fs_dras

- name: Associations that need attention
  ansible.builtin.debug:
    msg: "{{ item.file_system_path }}: {{ item.lifecycle }} {{ item.failure_details.message | default('') }}"
  loop: "{{ fs_dras.associations | rejectattr('lifecycle', 'equalto', 'AVAILABLE') }}"
"""

RETURN = r"""
associations:
  description: The associations found, sorted by file system id and file system path.
  returned: always
  type: list
  elements: dict
  contains:
    association_id:
      description: Id of the association.
      returned: always
      type: str
      sample: dra-0123456789abcdef0
    resource_arn:
      description: ARN of the association.
      returned: always
      type: str
      sample: arn:aws:fsx:us-east-1:123456789012:association/fs-0123456789abcdef0/dra-0123456789abcdef0
    file_system_id:
      description: Id of the file system.
      returned: always
      type: str
      sample: fs-0123456789abcdef0
    lifecycle:
      description: C(CREATING), C(AVAILABLE), C(UPDATING), C(MISCONFIGURED), C(FAILED) or C(DELETING).
      returned: always
      type: str
      sample: AVAILABLE
    failure_details:
      description: Why the association is C(FAILED) or C(MISCONFIGURED), as AWS says it.
      returned: when AWS gives it
      type: dict
      sample: {"message": "Amazon FSx cannot access s3://bucket/prefix/: check its bucket policy."}
    file_system_path:
      description: The linked directory of the file system.
      returned: always
      type: str
      sample: /project/public
    data_repository_path:
      description: The linked S3 path.
      returned: always
      type: str
      sample: s3://obi-public-data/
    batch_import_meta_data_on_create:
      description: Whether metadata was imported at creation.
      returned: always
      type: bool
      sample: true
    imported_file_chunk_size:
      description: Stripe size in MiB of imported files.
      returned: always
      type: int
      sample: 1024
    auto_import_policy:
      description: Events imported automatically from S3 (empty when none).
      returned: always
      type: list
      elements: str
      sample: [NEW, CHANGED, DELETED]
    auto_export_policy:
      description: Events exported automatically to S3 (empty when none).
      returned: always
      type: list
      elements: str
      sample: []
    s3:
      description: The S3 configuration as AWS returns it.
      returned: when AWS gives it
      type: dict
      sample: {"auto_import_policy": {"events": ["NEW", "CHANGED", "DELETED"]}}
    creation_time:
      description: When the association was created (ISO 8601).
      returned: always
      type: str
      sample: "2025-01-01T10:00:00+00:00"
    tags:
      description: Tags of the association.
      returned: always
      type: dict
      sample: {"obp:costcenter:vlabid": "vlab1", "obp:costcenter:project": "project1"}
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import fsx_dra as dra
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_api import FsxApi
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_api import FsxAWSError


def argument_spec():
    return dict(
        file_system_id=dict(type="str"),
        file_system_name=dict(type="str"),
        association_ids=dict(type="list", elements="str"),
        file_system_path=dict(type="str"),
        tags=dict(type="dict"),
    )


def search(api, params):
    """The associations the options select, in AWS's shape (unsorted)."""
    file_system_id = None
    if params["file_system_id"] or params["file_system_name"]:
        file_system = api.find_file_system(params["file_system_id"], params["file_system_name"])
        if file_system is None:
            return []
        file_system_id = file_system["FileSystemId"]
    if params["association_ids"]:
        found = [a for a in api.associations_by_id(params["association_ids"])
                 if file_system_id is None or a["FileSystemId"] == file_system_id]
    else:
        found = api.associations(file_system_id)
    return [a for a in found if dra.matches(a, params["file_system_path"], params["tags"])]


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True,
                              mutually_exclusive=[("file_system_id", "file_system_name")])
    errors = dra.info_params_errors(module.params)
    if errors:
        module.fail_json(msg="Invalid parameters: " + "; ".join(errors), errors=errors)
    try:
        found = search(FsxApi.from_module(module), module.params)
    except dra.DraError as error:
        module.fail_json(msg=error.message, errors=error.errors)
    except FsxAWSError as error:
        module.fail_json_aws(error.exception, msg=error.message)
    found.sort(key=lambda a: (a["FileSystemId"], dra.directory(a["FileSystemPath"])))
    module.exit_json(changed=False, associations=[dra.association_result(a) for a in found])


if __name__ == "__main__":
    main()
