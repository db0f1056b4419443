# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What one run of a module that changes things shares with the others (vlab_keypair, fsx_dra, pcluster_cluster).

- ``actions``: what the run did, or in check mode would do, in order; the run changed something when it has any.
- ``_act``: record an action and perform it, unless in check mode.
- ``diff``: Ansible's before/after of the run, returned in diff mode.
- ``STEPS`` and ``_step``: the one way these modules go from a decision to the code that carries it out. A
  module's pure plan returns step names (its outcomes); each Run maps them, once, to its methods, in ``STEPS``,
  below the methods; ``_step`` calls the method a step maps to. No name is looked up as text, so a step without
  its method is a KeyError naming the step, and what a plan can return is read in one place.
- ``outcome()`` is what the module returns whatever happens, failures included; ``report()`` is the result of a run
  that succeeded: the outcome, the run's own values and, in diff mode, the diff.
"""


class Run:
    """One module run: reads, decides, and (unless in check mode) acts, recording what it does."""

    STEPS = {}  # step name (a plan's outcome) -> the method that carries it out, called with _step's arguments

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.actions = []
        self.diff = None

    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def changed(self):
        return bool(self.actions)

    def _act(self, action, operation, *args):
        """Record an action; perform it (returning its result) unless in check mode."""
        self.actions.append(action)
        return None if self.check_mode else operation(*args)

    def _step(self, step, *args):
        """Carry out one step of a plan with the method that STEPS maps it to."""
        return self.STEPS[step](self, *args)

    def _set_diff(self, before, after):
        self.diff = {"before": before, "after": after}

    def outcome(self):
        """What the result says whatever happens, failures included."""
        return {"changed": self.changed, "actions": self.actions}

    def report(self, **values):
        """The result of a run that succeeded: the outcome, ``values`` and, in diff mode, the diff (when there is one)."""
        result = dict(self.outcome(), **values)
        if self.diff is not None and self.module._diff:  # pylint: disable=protected-access  # no public name for it
            result["diff"] = self.diff
        return result
