# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One key pair and its stored private key, made to exist or removed in one module run (vlab_keypair, and
project_teardown when it removes a project's key pairs): reads both halves, decides with keypair.plan_present, and
(unless in check mode) acts, recording what it does."""

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair as kp
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import keypair_api as api
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.run import Run
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import Deadline
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.waiting import WaitTimeout


def half_view(key_pair, secret):
    """What diff mode shows: existence, ids, type and tags; never key material."""
    pair_view = {"exists": False}
    if key_pair:
        pair_view = {"exists": True, "key_pair_id": key_pair.get("KeyPairId"), "key_type": key_pair.get("KeyType"),
                     "tags": kp.key_pair_tags(key_pair)}
    secret_view = {"exists": False}
    if secret:
        secret_view = {"exists": True, "store": secret["store"], "name": secret["name"],
                       "scheduled_for_deletion": bool(secret.get("deleted_date")), "tags": secret["tags"]}
    return {"key_pair": pair_view, "secret": secret_view}


class KeypairRun(Run):
    """One key pair's run: reads both halves, decides, and (unless in check mode) acts.

    ``params`` are vlab_keypair's options for this key pair (by default the module's own): a module that handles
    several key pairs gives each run its own name.
    """

    def __init__(self, module, key_pairs, store, params=None):
        super().__init__(module)
        self.params = module.params if params is None else params
        self.key_pairs = key_pairs
        self.store = store
        self.name = self.params["name"]
        self.secret_name = self.params["secret_name"] or kp.default_secret_name(self.name, store.store)
        self.private_key = None
        self.stored = None
        self.key_pair = None
        self.secret = None

    def _protect(self, private_key):
        """Mask the private key in everything the module returns, errors included, unless the caller asked for it."""
        self.private_key = private_key
        if private_key and not self.params["return_private_key"]:
            self.module.no_log_values.update({private_key, private_key.strip()})

    def _find_halves(self):
        self.key_pair = self.key_pairs.find(self.name)
        self.secret = self.store.find(self.secret_name)
        foreign = kp.foreign_secret_error(self.secret, self.name)
        if foreign:
            raise kp.HalfStateError("foreign_secret", foreign)

    # ---------------------------------------------------------------------------------------- absent

    def absent(self):
        self._find_halves()
        before = half_view(self.key_pair, self.secret)
        # The key pair first: interrupted here, what is left (a secret alone) is repairable by state=present.
        if self.key_pair:
            self._act(kp.DELETE_KEY_PAIR, self.key_pairs.delete, self.key_pair)
        if self.secret:
            self._act(kp.DELETE_SECRET, self.store.delete, self.secret)
        return self._result(None, None, before)

    # ---------------------------------------------------------------------------------------- present

    def present(self):
        self._find_halves()
        before = half_view(self.key_pair, self.secret)
        if self._completed_elsewhere():
            self._await_concurrent_run()
        steps = self._plan()
        self.actions.extend(steps)
        if not self.check_mode:
            try:
                self._apply(steps)
            except api.LostRace:
                # A concurrent run created the key pair between our lookup and our call (its first step, so none of
                # ours happened): use what that run makes.
                del self.actions[len(self.actions) - len(steps):]
                self._await_concurrent_run()
                steps = self._plan()
                self.actions.extend(steps)
                self._apply(steps)
        replaced = {kp.CREATE_KEY_PAIR, kp.IMPORT_KEY_PAIR} & set(steps)
        created = {kp.CREATE_SECRET} & set(steps)
        key_pair, secret = self._predicted(replaced, created) if self.check_mode else (self.key_pair, self.secret)
        key_pair, secret = self._converge_tags(key_pair, secret)
        self._converge_settings(secret, created)
        if not self.check_mode and self.actions:
            self._find_halves()
            key_pair, secret = self.key_pair, self.secret
        return self._result(key_pair, secret, before)

    def _plan(self):
        self._restore_secret()
        self._read_stored_key()
        ctx = dict(name=self.name, key_type=self.params["key_type"], secret_store=self.store.store,
                   secret_name=self.secret_name, recreate=self.params["recreate"])
        return kp.plan_present(self.key_pair, self.secret, self.stored, ctx)

    def _completed_elsewhere(self):
        """A key pair made moments ago whose private key is not stored yet: a concurrent run is storing it."""
        if self.check_mode or self.secret is not None or self.key_pair is None or self.params["recreate"]:
            return False
        created = self.key_pair.get("CreateTime")
        return created is not None and kp.is_recent(created, kp.CONCURRENT_RUN_SECONDS)

    def _await_concurrent_run(self):
        """Wait (polling with backoff) until the concurrent run has stored the private key, then read both halves."""
        deadline = Deadline(kp.CONCURRENT_RUN_SECONDS)
        try:
            deadline.until(lambda: self.store.find(self.secret_name), lambda secret: secret is not None,
                           "the concurrent run's private key", 5, status_of=bool)
        except WaitTimeout:
            pass  # the half state is then reported as it is
        self._find_halves()
        self.stored = None

    def _restore_secret(self):
        """A secret scheduled for deletion is restored (documented), then treated as any existing secret."""
        if self.secret and self.secret["deleted_date"]:
            self._act(kp.RESTORE_SECRET, self.store.restore, self.secret)
            if not self.check_mode:
                self.secret = self.store.find(self.secret_name)

    def _read_stored_key(self):
        secret = self.secret
        # In check mode a secret scheduled for deletion stays unreadable; a plain String parameter is never used.
        if secret is None or secret["deleted_date"] or not secret["secure"]:
            return
        self._protect(self.store.read(secret))
        self.stored = kp.inspect_private_key(self.private_key)

    def _wanted_tags(self, link_tags):
        return kp.desired_tags(self.params["tags"], self.params["purge_tags"], link_tags)

    def _key_pair_tags(self):
        return self._wanted_tags(kp.key_pair_link_tags(self.store.store, self.secret_name))

    def _secret_tags(self):
        return self._wanted_tags(kp.secret_link_tags(self.name))

    # The steps of plan_present, carried out in the order it gives them (STEPS, below).

    def _apply(self, steps):
        for step in steps:
            self._step(step)
        self.key_pair = self.key_pairs.find(self.name)
        self.secret = self.store.find(self.secret_name)

    def _delete_key_pair(self):
        self.key_pairs.delete(self.key_pair)
        self.key_pair = None

    def _delete_secret(self):
        self.store.delete(self.secret)
        self.secret = None

    def _create_key_pair(self):
        self._protect(self.key_pairs.create(self.name, self.params["key_type"], self._key_pair_tags()[0]))

    def _import_key_pair(self):
        self.key_pairs.import_public_key(self.name, self.stored["public_key"], self._key_pair_tags()[0])

    def _new_secret_description(self):
        return self.params["description"] or f"SSH private key of EC2 key pair {self.name}"

    def _create_secret(self):
        self._rolling_back(self.store.create, self.secret_name, self.private_key, self._new_secret_description(),
                           self.params["kms_key_id"], self._secret_tags()[0])

    def _store_private_key(self):
        self._rolling_back(self.store.put_value, self.secret, self.private_key, self.params["description"],
                           self.params["kms_key_id"])

    STEPS = {
        kp.DELETE_KEY_PAIR: _delete_key_pair,
        kp.DELETE_SECRET: _delete_secret,
        kp.CREATE_KEY_PAIR: _create_key_pair,
        kp.IMPORT_KEY_PAIR: _import_key_pair,
        kp.CREATE_SECRET: _create_secret,
        kp.STORE_PRIVATE_KEY: _store_private_key,
    }

    def _rolling_back(self, store_operation, *args):
        """Store the new private key; if that fails, delete the key pair just created, so that no key pair is
        left whose private key nobody has (the one half state that cannot be repaired)."""
        try:
            store_operation(*args)
        except api.KeypairAWSError as error:
            new_key_pair = self.key_pairs.find(self.name)
            note = "the key pair created in this run was deleted again"
            try:
                if new_key_pair:
                    self.key_pairs.delete(new_key_pair)
            except api.KeypairAWSError:
                note = ("the key pair created in this run could not be deleted and is left without its private key: "
                        "rerun with recreate=true")
            error.message = f"{error.message} ({note})"
            raise

    def _predicted(self, replaced, created):
        """Check mode: the halves as they would be after the plan (new ones with their creation tags)."""
        key_pair, secret = self.key_pair, self.secret
        if replaced or key_pair is None:
            key_pair = {"KeyName": self.name, "KeyType": self.params["key_type"],
                        "Tags": _boto3_tags(self._key_pair_tags()[0])}
        if created:
            secret = kp.secret_result({"store": self.store.store, "name": self.secret_name, "arn": None,
                                       "description": self._new_secret_description(), "kms_key_id": self.params["kms_key_id"],
                                       "deleted_date": None, "tags": self._secret_tags()[0]})
        elif secret and secret["deleted_date"]:
            secret = dict(secret, deleted_date=None)
        return key_pair, secret

    def _converge_tags(self, key_pair, secret):
        """Bring tags of existing halves to what is wanted; returns the halves with the resulting tags."""
        wanted, purge = self._key_pair_tags()
        to_set, to_unset = compare_aws_tags(kp.key_pair_tags(key_pair), wanted, purge_tags=purge)
        if to_set or to_unset:
            self._act(kp.UPDATE_KEY_PAIR_TAGS, self.key_pairs.update_tags, key_pair, to_set, to_unset)
            key_pair = dict(key_pair, Tags=_boto3_tags(kp.apply_tag_changes(kp.key_pair_tags(key_pair), to_set, to_unset)))
        wanted, purge = self._secret_tags()
        to_set, to_unset = compare_aws_tags(secret["tags"], wanted, purge_tags=purge)
        if to_set or to_unset:
            self._act(kp.UPDATE_SECRET_TAGS, self.store.update_tags, secret, to_set, to_unset)
            secret = dict(secret, tags=kp.apply_tag_changes(secret["tags"], to_set, to_unset))
        return key_pair, secret

    def _converge_settings(self, secret, created):
        """Description and KMS key of an existing secret, when given and different."""
        if created:
            return
        description, kms_key_id = self.params["description"], self.params["kms_key_id"]
        new_description = description if description is not None and description != secret["description"] else None
        new_kms_key_id = None if kp.kms_key_matches(kms_key_id, secret["kms_key_id"]) else kms_key_id
        if new_description is not None or new_kms_key_id is not None:
            self._act(kp.UPDATE_SECRET_SETTINGS, self.store.update_settings, secret, new_description, new_kms_key_id,
                      self.private_key)

    def _result(self, key_pair, secret, before):
        self._set_diff(before, half_view(key_pair, secret))
        values = dict(key_pair=kp.key_pair_result(key_pair), secret=kp.secret_result(secret))
        if self.params["return_private_key"] and self.private_key and self.params["state"] == "present":
            values["private_key"] = self.private_key
        return self.report(**values)


def _boto3_tags(tags):
    return [{"Key": key, "Value": to_text(value)} for key, value in tags.items()]
