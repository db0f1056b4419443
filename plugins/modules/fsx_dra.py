#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: fsx_dra
version_added: 0.1.0
short_description: FSx for Lustre data repository associations (S3), idempotent, waited for and repaired
description:
  - Creates, updates and deletes a data repository association (DRA) that links a directory of an FSx for Lustre
    file system to an S3 bucket or prefix, for example C(/project/public), C(/project/private) and C(/scratch).
  - ParallelCluster creates associations only for a file system it creates itself; with an existing or shared file
    system (C(FileSystemId) in the cluster configuration) they must be managed outside it, with this module.
  - An association is identified by its file system and O(file_system_path) (a trailing slash makes no difference).
  - "O(state=present) creates a missing association with a deterministic C(ClientRequestToken), so that a retried
    or concurrent call cannot create two. It updates the import and export policies and the chunk size of an
    existing one in place (C(UpdateDataRepositoryAssociation)), and its tags. When nothing differs it makes no
    mutating call."
  - "Repairs, with O(state=present): a C(FAILED) association (which AWS never recovers) is deleted and created
    again; a C(MISCONFIGURED) one gets its S3 configuration sent again, which is how AWS re-validates it once the
    cause (bucket policy, event notifications) is fixed; one still C(DELETING) at O(file_system_path) is waited for
    until it is gone, then created again."
  - An existing association that links O(file_system_path) to another S3 path is left alone and the module fails,
    unless O(repository_conflict=replace).
  - With O(wait=true), the module polls with backoff until the association is C(AVAILABLE) (or gone, for
    O(state=absent)) and reports how long it waited. C(FAILED) or C(MISCONFIGURED) fails the task with AWS's
    C(FailureDetails) message. When O(wait_timeout) passes first, the task fails naming the association's id and
    lifecycle; running it again picks up the same association (it never creates a second one) and goes on waiting.
  - "Checked before any AWS call: the paths (absolute, no C(.) or C(..) segments; a valid S3 URI), the chunk size,
    the policy events and the tags. Checked against the file system's other associations before any mutating call:
    no path nested in, containing or equal to another association's path, each S3 path linked once, and at most
    8 associations per file system."
author:
  - Open Brain Institute HPC team (@openbraininstitute)
options:
  file_system_id:
    description:
      - Id of the FSx for Lustre file system, for example C(fs-0123456789abcdef0).
      - Exactly one of O(file_system_id) and O(file_system_name) is required.
    type: str
  file_system_name:
    description:
      - Look the file system up by its C(Name) tag instead of its id. The module fails when several Lustre file
        systems carry that name.
    type: str
  file_system_path:
    description:
      - Directory of the file system that the association links, absolute, for example C(/project/public).
      - Only one association can use C(/), the whole file system.
    type: str
    required: true
  data_repository_path:
    description:
      - The S3 bucket or prefix linked to O(file_system_path), C(s3://bucket-name/prefix/).
      - Required with O(state=present). With O(state=absent), when given, the association is deleted only if it
        links this path (a guard against deleting the wrong one).
    type: str
  repository_conflict:
    description:
      - What to do when an association at O(file_system_path) links another S3 path than O(data_repository_path).
      - V(fail) leaves it alone and fails the task, naming it.
      - V(replace) deletes it (see O(delete_data_in_file_system)), waits until it is gone, then creates the new one.
    type: str
    choices: [fail, replace]
    default: fail
  batch_import_meta_data_on_create:
    description:
      - Import the metadata of the S3 objects into the file system when the association is created.
      - AWS applies it at creation only; for an existing association a different value gives a warning.
      - When not set, a new association is created with V(false), the AWS default.
    type: bool
  imported_file_chunk_size:
    description:
      - Stripe size in MiB of files imported from S3, 1 to 512000.
      - When not set, a new association gets the AWS default (1024) and an existing one keeps its size.
    type: int
  auto_import_policy:
    description:
      - Which changes in S3 are imported automatically into the file system.
      - An empty list turns automatic import off. When not set, a new association has none and an existing one keeps
        its policy.
    type: list
    elements: str
    choices: [NEW, CHANGED, DELETED]
  auto_export_policy:
    description:
      - Which changes in the file system are exported automatically to S3.
      - An empty list turns automatic export off. When not set, a new association has none and an existing one keeps
        its policy.
    type: list
    elements: str
    choices: [NEW, CHANGED, DELETED]
  delete_data_in_file_system:
    description:
      - When the module deletes an association (O(state=absent), or a replacement), also delete the files of
        O(file_system_path) from the file system. The S3 objects are never deleted.
    type: bool
    default: false
  state:
    description:
      - V(present) makes sure that the association exists, as described, and is usable.
      - V(absent) deletes it; an association that does not exist (or a file system that does not exist) is not a
        change.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait until the association is C(AVAILABLE) (V(present)) or gone (V(absent)).
      - An association that is C(DELETING) at O(file_system_path), or one being replaced, is always waited for before
        the new one is created, within O(wait_timeout).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds the module may wait in all, at least 1. A create with a batch import of a large bucket can
        take tens of minutes.
    type: int
    default: 1800
notes:
  - Check mode makes no mutating call and does not wait. Diff mode shows the association's settings and tags before
    and after.
  - "IAM: C(fsx:DescribeFileSystems), C(fsx:DescribeDataRepositoryAssociations),
    C(fsx:CreateDataRepositoryAssociation), C(fsx:UpdateDataRepositoryAssociation),
    C(fsx:DeleteDataRepositoryAssociation), C(fsx:TagResource), C(fsx:UntagResource); creating an association
    also needs the S3 and IAM permissions that AWS lists for linking a bucket (C(s3:Get*), C(s3:List*),
    C(s3:PutObject) and C(iam:CreateServiceLinkedRole) among others)."
  - Throttling is retried with jittered backoff.
  - The C(ClientRequestToken) is C(obi-dra-) and 40 hex digits of a SHA-256 of the create request (and of the id
    of the association it replaces), 48 characters in all.
seealso:
  - module: obi.hpc_provisioner.fsx_dra_info
  - name: Linking your file system to an Amazon S3 bucket
    description: The FSx for Lustre user guide on data repository associations.
    link: https://docs.aws.amazon.com/fsx/latest/LustreGuide/create-dra-linked-data-repo.html
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Public project data, shared by every vlab, read only (import, no export)
  obi.hpc_provisioner.fsx_dra:
    file_system_id: "{{ fsx_id }}"
    file_system_path: /project/public
    data_repository_path: "s3://{{ public_bucket }}/"
    batch_import_meta_data_on_create: true
    auto_import_policy: [NEW, CHANGED, DELETED]
    auto_export_policy: []
    tags:
      "obp:costcenter:vlabid": "{{ vlab_id }}"
      "obp:costcenter:project": "{{ project_id }}"
  register: public_dra

- name: The project's private prefix
  obi.hpc_provisioner.fsx_dra:
    file_system_name: "{{ vlab_id }}-lustre"
    file_system_path: /project/private
    data_repository_path: "s3://{{ private_bucket }}/{{ vlab_id }}/{{ project_id }}/"
    auto_import_policy: [NEW, CHANGED, DELETED]

- name: Scratch, imported and exported; start the create and come back for it later
  obi.hpc_provisioner.fsx_dra:
    file_system_id: "{{ fsx_id }}"
    file_system_path: /scratch
    data_repository_path: "s3://{{ scratch_bucket }}/{{ vlab_id }}/{{ project_id }}/"
    auto_import_policy: [NEW, CHANGED, DELETED]
    auto_export_policy: [NEW, CHANGED, DELETED]
    wait: false

- name: Point /project/private at another prefix (deletes the old association, keeps its files)
  obi.hpc_provisioner.fsx_dra:
    file_system_id: "{{ fsx_id }}"
    file_system_path: /project/private
    data_repository_path: "s3://{{ private_bucket }}/{{ vlab_id }}/{{ project_id }}-v2/"
    repository_conflict: replace

- name: Delete an association and wait until it is gone
  obi.hpc_provisioner.fsx_dra:
    file_system_id: "{{ fsx_id }}"
    file_system_path: /scratch
    state: absent
"""

RETURN = r"""
extends_documentation_fragment:
  - obi.hpc_provisioner.run
actions:
  description:
    - What the module did (or would do in check mode), in order. Possible items are V(create), V(update),
      V(reapply_configuration), V(update_tags), V(delete), V(replace) (delete an association that links another S3
      path, then create) and V(recreate_failed) (delete a C(FAILED) association, then create).
  sample: [create]
waited_seconds:
  description: How long the module waited for the association, in seconds (0 when it did not wait).
  returned: always
  type: float
  sample: 84.2
association:
  description:
    - The association as AWS describes it, in snake_case. V(null) with O(state=absent) once it is gone (or when there
      was none).
    - In check mode, one that would be created has only the settings of the request (no id, ARN or lifecycle).
  returned: always
  type: dict
  contains:
    association_id:
      description: Id of the association.
      returned: success
      type: str
      sample: dra-0123456789abcdef0
    resource_arn:
      description: ARN of the association (tags are set on it).
      returned: success
      type: str
      sample: arn:aws:fsx:us-east-1:123456789012:association/fs-0123456789abcdef0/dra-0123456789abcdef0
    file_system_id:
      description: Id of the file system.
      returned: success
      type: str
      sample: fs-0123456789abcdef0
    lifecycle:
      description: C(CREATING), C(AVAILABLE), C(UPDATING), C(MISCONFIGURED), C(FAILED) or C(DELETING).
      returned: success
      type: str
      sample: AVAILABLE
    failure_details:
      description: Why the association is C(FAILED) or C(MISCONFIGURED), as AWS says it.
      returned: when AWS gives it
      type: dict
      contains:
        message:
          description: AWS's message.
          returned: always
          type: str
      sample: {"message": "Amazon FSx cannot access s3://bucket/prefix/: check its bucket policy."}
    file_system_path:
      description: The linked directory of the file system.
      returned: success
      type: str
      sample: /project/private
    data_repository_path:
      description: The linked S3 path.
      returned: success
      type: str
      sample: s3://obi-private-data/vlab1/project1/
    batch_import_meta_data_on_create:
      description: Whether metadata was imported at creation.
      returned: success
      type: bool
      sample: false
    imported_file_chunk_size:
      description: Stripe size in MiB of imported files.
      returned: success
      type: int
      sample: 1024
    auto_import_policy:
      description: Events imported automatically from S3 (empty when none).
      returned: success
      type: list
      elements: str
      sample: [NEW, CHANGED, DELETED]
    auto_export_policy:
      description: Events exported automatically to S3 (empty when none).
      returned: success
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
      returned: success
      type: str
      sample: "2025-01-01T10:00:00+00:00"
    tags:
      description: Tags of the association.
      returned: success
      type: dict
      sample: {"obp:costcenter:vlabid": "vlab1"}
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import fsx_dra as dra
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_api import FsxApi
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.fsx_api import FsxAWSError
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.run import Run
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import Deadline
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import WaitTimeout

# Associations take from seconds (an update) to tens of minutes (a create importing a large bucket):
# polls back off from 1 s to this, so that a long wait costs few calls.
LONGEST_POLL_SECONDS = 30
CONVERGE = "converge"  # the step of an association that stays: its settings and tags are brought to the options


def _lifecycle(association):
    return association["Lifecycle"] if association else "gone"


def argument_spec():
    events = dict(type="list", elements="str", choices=list(dra.EVENTS))
    return dict(
        file_system_id=dict(type="str"),
        file_system_name=dict(type="str"),
        file_system_path=dict(type="str", required=True),
        data_repository_path=dict(type="str"),
        repository_conflict=dict(type="str", choices=["fail", "replace"], default="fail"),
        batch_import_meta_data_on_create=dict(type="bool"),
        imported_file_chunk_size=dict(type="int"),
        auto_import_policy=events,
        auto_export_policy=dict(events),
        delete_data_in_file_system=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )


class WaitFailed(dra.DraError):
    """A wait ended in a state the module does not go on from (timeout, FAILED, MISCONFIGURED, gone)."""


class DraRun(Run):
    """One run of the module: reads the file system's associations, decides, and (unless in check mode) acts."""

    def __init__(self, module, api, deadline):
        super().__init__(module)
        self.api = api
        self.deadline = deadline
        self.warnings = []
        self.file_system_id = None
        self.associations = []  # the file system's, read once by present()

    def _file_system_id(self, required):
        """The file system's id; None when it does not exist and ``required`` is false."""
        params = self.params
        file_system = self.api.find_file_system(params["file_system_id"], params["file_system_name"])
        if file_system is None:
            if not required:
                return None
            field = "file_system_id" if params["file_system_id"] else "file_system_name"
            raise dra.DraError(f"{field}: no FSx file system {params[field]} in this region")
        if required and file_system.get("FileSystemType") != "LUSTRE":
            raise dra.DraError(f"file_system_id: {file_system['FileSystemId']} is an {file_system.get('FileSystemType')} "
                               "file system; data repository associations need FSx for Lustre")
        return file_system["FileSystemId"]

    # ---------------------------------------------------------------------------------------- waiting

    def _subject(self, association):
        return (f"data repository association {association['AssociationId']} ({association['FileSystemId']}:"
                f"{association['FileSystemPath']} -> {association['DataRepositoryPath']})")

    def _wait(self, association, settled, goal):
        """Poll the association until ``settled``; a timeout fails naming it, its lifecycle and how to resume."""
        try:
            return self.deadline.until(lambda: self.api.association(association["AssociationId"]), settled, goal,
                                       LONGEST_POLL_SECONDS, current=association, status_of=_lifecycle)
        except WaitTimeout as timeout:
            last = timeout.last or association
            raise WaitFailed(
                f"Timed out after {self.deadline.waited:.0f} s (wait_timeout={self.params['wait_timeout']}) waiting for "
                f"{self._subject(last)} to {goal}: it is {last['Lifecycle']}. AWS goes on with it: run the task again "
                "(a larger wait_timeout helps) to pick up this association and wait for it; no second one is created.",
                association=timeout.last) from None

    def _wait_available(self, association):
        """Wait until AVAILABLE; FAILED or MISCONFIGURED (or a vanished association) fails with AWS's reason."""
        settled = self._wait(association, lambda a: a is None or a["Lifecycle"] not in dra.TRANSITIONAL, "be AVAILABLE")
        if settled is None:
            raise WaitFailed(f"{self._subject(association)} was deleted by someone else while the module waited for it")
        if settled["Lifecycle"] != dra.AVAILABLE:
            remedy = ("deletes and re-creates a FAILED association." if settled["Lifecycle"] == dra.FAILED
                      else "sends the S3 configuration again, which makes AWS check it again.")
            raise WaitFailed(f"{self._subject(settled)} is {settled['Lifecycle']}: {dra.failure_message(settled)}. "
                             f"Fix the cause (bucket, bucket policy, event notifications) and run the task again: it {remedy}",
                             association=settled)
        return settled

    def _wait_gone(self, association):
        self._wait(association, lambda a: a is None, "be deleted")

    def _settle(self, association):
        """An association that was just created or updated, waited for when asked (never in check mode)."""
        if self.params["wait"] and not self.check_mode:
            return self._wait_available(association)
        return association

    # ---------------------------------------------------------------------------------------- present

    def present(self):
        self.file_system_id = self._file_system_id(required=True)
        self.associations = self.api.associations(self.file_system_id)
        current = dra.find_at_path(self.associations, self.params["file_system_path"])
        before = dra.diff_view(current)
        if current is not None and current["Lifecycle"] == dra.DELETING:
            # Its delete must finish before anything can be created at this path.
            if not self.check_mode:
                self._wait_gone(current)
            self.associations, current = [a for a in self.associations if a is not current], None
        step = dra.replacement(current, self.params) or (dra.CREATE if current is None else CONVERGE)
        return self._result(self._step(step, current), before)

    def _delete_and_wait(self, association):
        self.api.delete(association["AssociationId"], self.params["delete_data_in_file_system"])
        self._wait_gone(association)

    def _replace(self, association):
        return self._create(association, dra.REPLACE)

    def _recreate_failed(self, association):
        return self._create(association, dra.RECREATE_FAILED)

    def _create(self, replaced=None, reason=None):
        """A new association at the path; one that is there (``replaced``) is deleted first, as the action ``reason``."""
        params = self.params
        # Checked before an association being replaced is deleted: a replacement that cannot succeed deletes nothing.
        dra.check_placement(self.file_system_id, self.associations, params["file_system_path"],
                            params["data_repository_path"], replacing=replaced)
        replaces = None
        if replaced is not None:
            self._act(reason, self._delete_and_wait, replaced)
            replaces = replaced["AssociationId"]
        request = dra.create_request(self.file_system_id, params, replaces)
        created = self._act(dra.CREATE, self.api.create, request)
        if self.check_mode:
            return dra.predicted_association(self.file_system_id, request)
        return self._settle(created)

    def _converge(self, association):
        """Bring an existing association's settings and tags to the options."""
        params = self.params
        if association["Lifecycle"] in dra.TRANSITIONAL and params["wait"] and not self.check_mode:
            association = self._wait_available(association)  # e.g. still CREATING after a run that timed out
        warning = dra.batch_import_warning(association, params)
        if warning:
            self.warnings.append(warning)
        association = self._update(association)
        return self._converge_tags(association)

    def _update(self, association):
        members, action = dra.update_members(association, self.params), dra.UPDATE
        if association["Lifecycle"] == dra.MISCONFIGURED and not members:
            members, action = dra.reapply_members(association, self.params), dra.REAPPLY
        if not members:
            return association
        if association["Lifecycle"] not in dra.UPDATABLE:
            raise dra.DraError(f"{self._subject(association)} is {association['Lifecycle']}; AWS changes its settings "
                               "only once it is AVAILABLE: run the task again with wait=true", association=association)
        updated = self._act(action, self.api.update, association["AssociationId"], members)
        if self.check_mode:
            return dra.applied(association, members)
        return self._settle(updated)

    def _converge_tags(self, association):
        if self.params["tags"] is None:
            return association
        current = dra.tags_of(association)
        to_set, to_unset = compare_aws_tags(current, self.params["tags"], purge_tags=self.params["purge_tags"])
        if not (to_set or to_unset):
            return association
        self._act(dra.UPDATE_TAGS, self.api.retag, association["ResourceARN"], to_set, to_unset)
        wanted = {key: value for key, value in current.items() if key not in to_unset}
        return dra.retagged(association, dict(wanted, **to_set))

    STEPS = {
        dra.CREATE: _create,
        dra.REPLACE: _replace,
        dra.RECREATE_FAILED: _recreate_failed,
        CONVERGE: _converge,
    }

    # ---------------------------------------------------------------------------------------- absent

    def absent(self):
        params = self.params
        file_system_id = self._file_system_id(required=False)
        current = None
        if file_system_id is not None:  # no file system, no association
            current = dra.find_at_path(self.api.associations(file_system_id), params["file_system_path"])
        before = dra.diff_view(current)
        if current is None:
            return self._result(None, before)
        repository = params["data_repository_path"]
        if repository is not None and not dra.same_path(repository, current["DataRepositoryPath"]):
            raise dra.DraError(f"data_repository_path: {self._subject(current)} does not link {repository}; it was not "
                               "deleted (leave data_repository_path out to delete it whatever it links)",
                               association=current)
        if current["Lifecycle"] != dra.DELETING:  # a delete under way is not started again, nor a change of this run
            self._act(dra.DELETE, self.api.delete, current["AssociationId"], params["delete_data_in_file_system"])
        if self.check_mode:
            return self._result(None, before)
        if params["wait"]:
            self._wait_gone(current)
            return self._result(None, before)
        return self._result(self.api.association(current["AssociationId"]), before)

    # ---------------------------------------------------------------------------------------- result

    def outcome(self):
        return dict(super().outcome(), waited_seconds=round(self.deadline.waited, 1))

    def _result(self, association, before):
        self._set_diff(before, dra.diff_view(association))
        return self.report(association=dra.association_result(association))


def main():
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True,
                              mutually_exclusive=[("file_system_id", "file_system_name")],
                              required_one_of=[("file_system_id", "file_system_name")])
    errors = dra.params_errors(module.params)
    if errors:
        module.fail_json(msg="Invalid parameters: " + "; ".join(errors), errors=errors)

    run = DraRun(module, FsxApi.from_module(module), Deadline(module.params["wait_timeout"]))
    try:
        result = run.present() if module.params["state"] == "present" else run.absent()
    except dra.DraError as error:
        module.fail_json(msg=error.message, errors=error.errors, association=dra.association_result(error.association),
                         **run.outcome())
    except FsxAWSError as error:
        module.fail_json_aws(error.exception, msg=error.message, **run.outcome())
    for warning in run.warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
