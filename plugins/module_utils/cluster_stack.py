# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One cluster's CloudFormation stack watched until an operation ends, and the cluster deleted through pcluster.

Shared by the modules that change clusters: pcluster_cluster (create, update, delete) and project_teardown (delete
with everything else of a project). Reads go through ClusterReader (boto3 only); only the delete imports pcluster.
"""

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_library as library
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_plan as plan
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import PclusterFailure

DELETE_ATTEMPTS = 3


def stack_status(stack):
    return stack["StackStatus"] if stack else plan.GONE


class ClusterStack:
    """The stack of cluster ``name``: ``reader`` reads it, ``deadline`` (waiting.Deadline) bounds the waits of the run,
    whose polls back off to ``longest`` seconds."""

    def __init__(self, reader, name, deadline, longest):
        self.reader = reader
        self.name = name
        self.deadline = deadline
        self.longest = longest

    def read(self):
        return self.reader.stack(self.name)

    def await_end(self, goal):
        """Poll the stack until its operation ends (pcluster_plan.wait_outcome's goals); the stack, None once gone.

        PclusterFailure with pcluster's failure reasons and the failed events unless the goal was met.
        """
        stack = {}

        def probe():
            stack.clear()
            stack.update(self.read() or {})
            return stack_status(stack) or plan.DELETED  # what CloudFormation calls a stack that is gone

        status = self.deadline.until(probe, lambda s: plan.wait_outcome(goal, s) != "pending", goal, self.longest)
        if plan.wait_outcome(goal, status) == "failed":
            raise self.failure(stack, f"Cluster {self.name}: {goal} failed, the stack is {status}")
        return stack or None

    def failure(self, stack, headline):
        """A failure carrying pcluster's failure reasons and the stack's failed events."""
        cluster = self.reader.describe(self.name, stack) if stack else None
        events = self.reader.failed_events(self.name) if stack else []
        reasons = [f"{f['failure_code']}: {f['failure_reason']}" for f in (cluster or {}).get("failures", [])]
        lines = [headline] + reasons + (["Failed stack events:"] + plan.describe_failed_events(events) if events else [])
        return PclusterFailure("\n".join(lines), cluster=cluster or {}, failed_events=events)

    def delete(self, attempts=DELETE_ATTEMPTS):
        """pcluster's delete (which also terminates the compute nodes that are not in the stack).

        pcluster reads a throttled DescribeStacks as "does not exist", so after a failure the stack is read again
        (with retries): one already being deleted, or gone, is fine; one still there is deleted again.
        """
        for attempt in range(1, attempts + 1):
            try:
                library.delete(self.name, self.reader.region)
                return
            except PclusterFailure:
                if stack_status(self.read()) in (plan.GONE, "DELETE_IN_PROGRESS", plan.DELETED):
                    return
                if attempt == attempts:
                    raise
