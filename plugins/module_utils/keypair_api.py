# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AWS calls of the vlab_keypair modules: EC2 key pairs and the two stores of private keys.

The decisions are in keypair.py. Here, every call is made through a client from ``aws.client`` with
``aws_retry=True`` (the collection's one retry policy) and paginated reads through ``aws.paginate``. A failed
call raises KeypairAWSError naming what was being done and the operation, from one AWSErrorHandler per
service, whose ``_is_missing`` is that service's "not there": a lookup then returns None, a delete has
nothing left to do.
"""

from ansible.module_utils.common.text.converters import to_bytes
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair import TAG_KEY_PAIR
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair import TAG_SECRET_STORE
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair import key_pair_result
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair import key_pair_tags
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair import secret_reference
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.keypair import secret_result
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.tags import tags_match

DUPLICATE_KEY_PAIR = "InvalidKeyPair.Duplicate"


class KeypairAWSError(AnsibleAWSError):
    """An AWS call failed: "Failed to <what was being done> (<Operation>)" (amazon.aws's AWSErrorHandler wording)."""


class LostRace(Exception):
    """A concurrent run created the key pair first (InvalidKeyPair.Duplicate): read what it made and carry on."""


class _Errors(AWSErrorHandler):
    _CUSTOM_EXCEPTION = KeypairAWSError


class Ec2Errors(_Errors):
    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("InvalidKeyPair.NotFound")


class SecretsManagerErrors(_Errors):
    @classmethod
    def _is_missing(cls):
        # A lookup of a secret that is not there; a delete that a concurrent delete beat.
        return is_boto3_error_code("ResourceNotFoundException")


class SsmErrors(_Errors):
    @classmethod
    def _is_missing(cls):
        # A parameter gone between the lookup and the delete.
        return is_boto3_error_code("ParameterNotFound")


def _text_tags(tags):
    """Wanted tags as AWS holds them (text), for exact comparisons."""
    return {to_text(key): to_text(value) for key, value in (tags or {}).items()}


class KeyPairs:
    """EC2 key pairs, looked up by exact name."""

    def __init__(self, client):
        self.client = client

    @classmethod
    def from_module(cls, module):
        return cls(aws.client(module, "ec2"))

    @Ec2Errors.list_error_handler("describe key pair {name!r} (DescribeKeyPairs)")
    def find(self, name):
        found = self.client.describe_key_pairs(KeyNames=[name], IncludePublicKey=True, aws_retry=True)["KeyPairs"]
        return next((key_pair for key_pair in found if key_pair["KeyName"] == name), None)

    def search(self, names=None, tags=None):
        """Key pairs with one of ``names`` (if given) and all ``tags`` (if given); exact matches only."""
        tags = _text_tags(tags)
        filters = [{"Name": "tag:" + key, "Values": [value]} for key, value in tags.items()]
        if names:
            filters.append({"Name": "key-name", "Values": list(names)})
        if not names and not tags:
            filters.append({"Name": "tag-key", "Values": [TAG_SECRET_STORE]})
        # EC2 filter values are wildcards ('*', '?'): keep exact matches only.
        return [key_pair for key_pair in self._described(filters)
                if (not names or key_pair["KeyName"] in names) and tags_match(key_pair_tags(key_pair), tags)]

    @Ec2Errors.common_error_handler("list key pairs (DescribeKeyPairs)")
    def _described(self, filters):
        return self.client.describe_key_pairs(Filters=filters, IncludePublicKey=True, aws_retry=True)["KeyPairs"]

    @Ec2Errors.common_error_handler("create key pair {name!r} (CreateKeyPair)")
    def create(self, name, key_type, tags):
        """A new key pair; returns its private key, which EC2 hands out only here. LostRace when it exists already."""
        try:
            created = self.client.create_key_pair(KeyName=name, KeyType=key_type, TagSpecifications=_tag_spec(tags),
                                                  aws_retry=True)
        except is_boto3_error_code(DUPLICATE_KEY_PAIR) as error:
            raise LostRace(name) from error
        return created["KeyMaterial"]

    @Ec2Errors.common_error_handler("import the public key of key pair {name!r} (ImportKeyPair)")
    def import_public_key(self, name, public_key, tags):
        try:
            self.client.import_key_pair(KeyName=name, PublicKeyMaterial=to_bytes(public_key),
                                        TagSpecifications=_tag_spec(tags), aws_retry=True)
        except is_boto3_error_code(DUPLICATE_KEY_PAIR) as error:
            raise LostRace(name) from error

    @Ec2Errors.common_error_handler("delete key pair {key_pair[KeyName]!r} (DeleteKeyPair)")
    def delete(self, key_pair):
        # By name (exact): moto 5.2.5 ignores KeyPairId in DeleteKeyPair and reports success.
        self.client.delete_key_pair(KeyName=key_pair["KeyName"], aws_retry=True)

    @Ec2Errors.common_error_handler("tag key pair {key_pair[KeyName]!r} (CreateTags/DeleteTags)")
    def update_tags(self, key_pair, to_set, to_unset):
        resource = [key_pair["KeyPairId"]]
        if to_unset:
            self.client.delete_tags(Resources=resource, Tags=[{"Key": key} for key in to_unset], aws_retry=True)
        if to_set:
            self.client.create_tags(Resources=resource, Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True)


def _tag_spec(tags):
    return [{"ResourceType": "key-pair", "Tags": ansible_dict_to_boto3_tag_list(tags)}] if tags else []


def _record(store, name, arn, tags, **settings):
    """A secret as both stores describe it; deleted_date is set while Secrets Manager holds it for deletion."""
    record = {"store": store, "name": name, "arn": arn, "tags": tags, "description": None, "kms_key_id": None,
              "deleted_date": None, "secure": True}
    record.update(settings)
    return record


class _SecretStore:
    """What both stores share: a client of the store's service, and the narrowing of a loose search to exact matches."""

    store = None  # also the name of the store's AWS service

    def __init__(self, client):
        self.client = client

    @classmethod
    def from_module(cls, module):
        return cls(aws.client(module, cls.store))

    @staticmethod
    def _linked(records, tags):
        """Records linked to a key pair (tag obi:hpc_provisioner:key_pair) that carry all ``tags``."""
        tags = _text_tags(tags)
        return [record for record in records if TAG_KEY_PAIR in record["tags"] and tags_match(record["tags"], tags)]


class SecretsManagerStore(_SecretStore):
    """Private keys as Secrets Manager secrets (SecretString = the private key, as the old provisioner stored it)."""

    store = "secretsmanager"

    @SecretsManagerErrors.list_error_handler("describe secret {name!r} (DescribeSecret)")
    def find(self, name):
        secret = self.client.describe_secret(SecretId=name, aws_retry=True)
        # A name can also match a partial ARN: accept the secret with exactly this name only.
        return self._record(secret) if secret.get("Name") == name else None

    def _record(self, secret):
        return _record(self.store, secret["Name"], secret["ARN"], boto3_tag_list_to_ansible_dict(secret.get("Tags") or []),
                       description=secret.get("Description"), kms_key_id=secret.get("KmsKeyId"),
                       deleted_date=secret.get("DeletedDate"))

    @SecretsManagerErrors.common_error_handler("read secret {record[name]!r} (GetSecretValue)")
    def read(self, record):
        return self.client.get_secret_value(SecretId=record["arn"], aws_retry=True).get("SecretString")

    @SecretsManagerErrors.common_error_handler("create secret {name!r} (CreateSecret)")
    def create(self, name, value, description, kms_key_id, tags):
        params = {"Name": name, "SecretString": value, "Description": description,
                  "Tags": ansible_dict_to_boto3_tag_list(tags)}
        if kms_key_id:
            params["KmsKeyId"] = kms_key_id
        self.client.create_secret(aws_retry=True, **params)

    @SecretsManagerErrors.common_error_handler("store the private key in secret {record[name]!r} (PutSecretValue)")
    def put_value(self, record, value, description=None, kms_key_id=None):
        # Description and KMS key are settings of the secret, not of its versions: update_settings keeps them.
        del description, kms_key_id
        self.client.put_secret_value(SecretId=record["arn"], SecretString=value, aws_retry=True)

    @SecretsManagerErrors.common_error_handler("update secret {record[name]!r} (UpdateSecret)")
    def update_settings(self, record, description=None, kms_key_id=None, value=None):
        del value  # Secrets Manager changes description and KMS key without rewriting the value
        params = {key: val for key, val in (("Description", description), ("KmsKeyId", kms_key_id)) if val is not None}
        self.client.update_secret(SecretId=record["arn"], aws_retry=True, **params)

    @SecretsManagerErrors.common_error_handler("restore secret {record[name]!r} scheduled for deletion (RestoreSecret)")
    def restore(self, record):
        self.client.restore_secret(SecretId=record["arn"], aws_retry=True)

    @SecretsManagerErrors.deletion_error_handler("delete secret {record[name]!r} (DeleteSecret)")
    def delete(self, record):
        # Without recovery, so that the same name can be created again at once.
        self.client.delete_secret(SecretId=record["arn"], ForceDeleteWithoutRecovery=True, aws_retry=True)

    @SecretsManagerErrors.common_error_handler("tag secret {record[name]!r} (TagResource/UntagResource)")
    def update_tags(self, record, to_set, to_unset):
        if to_unset:
            self.client.untag_resource(SecretId=record["arn"], TagKeys=list(to_unset), aws_retry=True)
        if to_set:
            self.client.tag_resource(SecretId=record["arn"], Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True)

    def search(self, tags):
        """Secrets linked to a key pair (tag obi:hpc_provisioner:key_pair) with all ``tags``, deleted ones included."""
        return self._linked([self._record(secret) for secret in self._listed()], tags)

    @SecretsManagerErrors.common_error_handler("list secrets (ListSecrets)")
    def _listed(self):
        # Secrets Manager filters match prefixes: filter loosely there, exactly in _linked.
        return aws.paginate(self.client, "list_secrets", IncludePlannedDeletion=True,
                            Filters=[{"Key": "tag-key", "Values": [TAG_KEY_PAIR]}])["SecretList"]


class SsmStore(_SecretStore):
    """Private keys as SSM SecureString parameters (Value = the private key)."""

    store = "ssm"

    @SsmErrors.common_error_handler("describe parameter {name!r} (DescribeParameters)")
    def find(self, name):
        found = self.client.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}], aws_retry=True)["Parameters"]
        parameter = next((parameter for parameter in found if parameter["Name"] == name), None)
        return self._record(parameter) if parameter else None

    def _record(self, parameter):
        name = parameter["Name"]
        tags = boto3_tag_list_to_ansible_dict(self._tags(name))
        return _record(self.store, name, self._arn(name), tags, description=parameter.get("Description"),
                       kms_key_id=parameter.get("KeyId"), secure=parameter.get("Type") == "SecureString")

    @SsmErrors.common_error_handler("read the tags of parameter {name!r} (ListTagsForResource)")
    def _tags(self, name):
        return self.client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name, aws_retry=True)["TagList"]

    @SsmErrors.common_error_handler("describe parameter {name!r} (GetParameter)")
    def _arn(self, name):
        # Without decryption: only the ARN is wanted here.
        return self.client.get_parameter(Name=name, WithDecryption=False, aws_retry=True)["Parameter"].get("ARN")

    @SsmErrors.common_error_handler("read parameter {record[name]!r} (GetParameter)")
    def read(self, record):
        return self.client.get_parameter(Name=record["name"], WithDecryption=True, aws_retry=True)["Parameter"]["Value"]

    @SsmErrors.common_error_handler("{operation} parameter {name!r} (PutParameter)")
    def _put(self, operation, name, value, description, kms_key_id, **extra):
        params = {"Name": name, "Value": value, "Type": "SecureString", **extra}
        if description is not None:
            params["Description"] = description
        if kms_key_id:
            params["KeyId"] = kms_key_id
        self.client.put_parameter(aws_retry=True, **params)

    def create(self, name, value, description, kms_key_id, tags):
        self._put("create", name, value, description, kms_key_id, Tags=ansible_dict_to_boto3_tag_list(tags))

    def put_value(self, record, value, description=None, kms_key_id=None):
        # Overwriting a parameter resets what is not given: carry its description and KMS key over.
        self._put("store the private key in", record["name"], value, description or record["description"],
                  kms_key_id or record["kms_key_id"], Overwrite=True)

    def update_settings(self, record, description=None, kms_key_id=None, value=None):
        self.put_value(record, value, description, kms_key_id)

    def restore(self, record):
        del record  # SSM deletes parameters at once: there is never one to restore

    @SsmErrors.deletion_error_handler("delete parameter {record[name]!r} (DeleteParameter)")
    def delete(self, record):
        self.client.delete_parameter(Name=record["name"], aws_retry=True)

    @SsmErrors.common_error_handler(
        "tagging parameter {record[name]!r} (AddTagsToResource/RemoveTagsFromResource)")
    def update_tags(self, record, to_set, to_unset):
        params = {"ResourceType": "Parameter", "ResourceId": record["name"]}
        if to_unset:
            self.client.remove_tags_from_resource(TagKeys=list(to_unset), aws_retry=True, **params)
        if to_set:
            self.client.add_tags_to_resource(Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True, **params)

    def search(self, tags):
        """Parameters linked to a key pair (tag obi:hpc_provisioner:key_pair) with all ``tags``."""
        filters = [{"Key": "tag:" + key, "Values": [value]} for key, value in _text_tags(tags).items()]
        filters.append({"Key": "tag:" + TAG_KEY_PAIR})
        return self._linked([self._record(parameter) for parameter in self._described(filters)], tags)

    @SsmErrors.common_error_handler("list parameters (DescribeParameters)")
    def _described(self, filters):
        return aws.paginate(self.client, "describe_parameters", ParameterFilters=filters)["Parameters"]


STORES = {store.store: store for store in (SecretsManagerStore, SsmStore)}


def secret_store(module, secret_store_name):
    """The store of that name (secretsmanager, ssm), with a client of the collection's retry policy."""
    return STORES[secret_store_name].from_module(module)


class KeypairInventory:
    """Key pairs and their secrets, read only (vlab_keypair_info, pcluster_cluster_info); a store's client is made
    when first needed (``aws.client``: once per module)."""

    def __init__(self, module):
        self.module = module
        self.key_pairs = KeyPairs.from_module(module)

    def store(self, name):
        return secret_store(self.module, name)

    def key_pairs_with_secrets(self, names=None, tags=None):
        """The key pairs of ``KeyPairs.search``, sorted by name, each with where its secret is (never its value)."""
        found = sorted(self.key_pairs.search(names, tags), key=lambda key_pair: key_pair["KeyName"])
        return [self.key_pair_with_secret(key_pair) for key_pair in found]

    def key_pair_with_secret(self, key_pair):
        result = key_pair_result(key_pair)
        store, secret_name = secret_reference(result["tags"], key_pair["KeyName"])
        record = self.store(store).find(secret_name)
        result["secret"] = dict(secret_result(record), exists=True) if record else \
            {"store": store, "name": secret_name, "exists": False}
        return result

    def orphan_secrets(self, store_names, names, tags, known_names):
        """Linked secrets whose key pair does not exist (checked by exact name, not only among those listed)."""
        orphans = []
        for store_name in store_names:
            for record in self.store(store_name).search(tags):
                key_name = record["tags"][TAG_KEY_PAIR]
                if (names and key_name not in names) or key_name in known_names:
                    continue
                if self.key_pairs.find(key_name) is None:
                    orphans.append(dict(secret_result(record), key_name=key_name))
        return sorted(orphans, key=lambda orphan: (orphan["store"], orphan["name"]))
