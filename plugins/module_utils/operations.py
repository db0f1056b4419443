# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the job and data modules share: their common options (doc fragment head_node), the checks of a request
before anything is read, and the way to the head node (the sim key from its secret, the published host key).

The private key is read from Secrets Manager (an ARN or a name) or SSM Parameter Store (an ARN or a path that starts
with ``/``) into memory, for the one connection, and is never returned or logged. The host key is the one the head
node published at boot in the infra bucket, or one the caller gives.
"""

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # AnsibleAWSModule reports the missing botocore
    BotoCoreError = ClientError = type("NoBotocore", (Exception,), {})

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import aws
from ansible_collections.obi.hpc_provisioner.plugins.module_utils import names
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.project_paths import PathError
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.slurm_cli import RequestError
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.slurm_rest_api import SlurmRestError
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.head_node import HeadNode
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.head_node import HeadNodeError
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.head_node import host_key
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.head_node import private_key

TRANSPORTS = ("ssh", "rest")


def argument_spec(transports=False):
    """The common options; ``transports``: also transport and the REST API's (job modules and health)."""
    spec = dict(
        vlab_id=dict(type="str", required=True),
        project_id=dict(type="str", required=True),
        cluster_name=dict(type="str", required=True),
        head_node_host=dict(type="str", required=True),
        head_node_port=dict(type="int", default=22),
        ssh_user=dict(type="str", default="sim"),
        private_key_secret=dict(type="str", no_log=False),
        host_key=dict(type="str", no_log=False),
        host_key_bucket=dict(type="str", no_log=False),
        node_assets_prefix=dict(type="str", default=names.DEFAULT_NODE_ASSETS_PREFIX),
        connect_timeout=dict(type="int", default=15),
        mount_dir=dict(type="str", default="/obi/data"),
    )
    if transports:
        spec.update(transport=dict(type="str", choices=list(TRANSPORTS), default="ssh"),
                    rest_url=dict(type="str"),
                    rest_token=dict(type="str", no_log=True),
                    rest_api_version=dict(type="str", default="auto"))
    return spec


def request_errors(params):
    """[(field, message)] of the common options, before anything is read."""
    errors = [(field, names.id_error(field, params[field])) for field in ("vlab_id", "project_id")
              if names.id_error(field, params[field])]
    if params.get("transport", "ssh") == "ssh":
        if not params.get("private_key_secret"):
            errors.append(("private_key_secret", "private_key_secret is required with transport ssh: the secret of"
                                                 " the sim key pair (create's user_private_ssh_key_arn)"))
        if not params.get("host_key") and not params.get("host_key_bucket"):
            errors.append(("host_key_bucket", "host_key or host_key_bucket is required with transport ssh: the head"
                                              " node's host key is verified, never trusted on first use"))
    else:
        for field in ("rest_url", "rest_token"):
            if not params.get(field):
                errors.append((field, f"{field} is required with transport rest"))
    if not 0 < params["head_node_port"] < 65536:
        errors.append(("head_node_port", f"head_node_port {params['head_node_port']} is not a TCP port (1-65535)"))
    return errors


def fail_on_errors(module, errors):
    """Fail naming every field in ``errors`` (nothing read or changed yet)."""
    if errors:
        module.fail_json(msg="; ".join(message for _field, message in errors),
                         fields=sorted({field for field, _message in errors}))


def _secret_text(module, reference):
    if reference.startswith("arn:aws:ssm:") or reference.startswith("/"):
        name = reference.split(":parameter", 1)[1] if reference.startswith("arn:") else reference
        try:
            return aws.client(module, "ssm").get_parameter(Name=name, WithDecryption=True,
                                                           aws_retry=True)["Parameter"]["Value"]
        except is_boto3_error_code("ParameterNotFound"):
            raise HeadNodeError("private_key_secret", f"no SSM parameter {reference}") from None
    try:
        return aws.client(module, "secretsmanager").get_secret_value(SecretId=reference, aws_retry=True)["SecretString"]
    except is_boto3_error_code("ResourceNotFoundException"):
        raise HeadNodeError("private_key_secret", f"no secret {reference} in Secrets Manager") from None


def _published_host_key(module):
    params = module.params
    key = names.cluster_resource_names(params["cluster_name"], params["node_assets_prefix"])["host_key_key"]
    try:
        body = aws.client(module, "s3").get_object(Bucket=params["host_key_bucket"], Key=key, aws_retry=True)["Body"]
        return body.read().decode("utf-8", "replace")
    except is_boto3_error_code(("NoSuchKey", "404", "NoSuchBucket")):
        raise HeadNodeError("host_key_bucket", f"the head node has not published its host key at"
                                               f" s3://{params['host_key_bucket']}/{key}: its node configuration"
                                               " (OnNodeConfigured) has not run or failed") from None


def head_node(module):
    """A HeadNode for the module's options (not connected yet)."""
    params = module.params
    published = host_key(params["host_key"] or _published_host_key(module))
    key = private_key(_secret_text(module, params["private_key_secret"]))
    return HeadNode(params["head_node_host"], params["head_node_port"], params["ssh_user"], key, published,
                    timeout=params["connect_timeout"])


# The errors that name an option (their ``field``): each ends the module with its message.
FAILURES = (HeadNodeError, PathError, RequestError, SlurmRestError)


def run(module, action, target):
    """``action(module, target(module, node))`` with ``node`` the connected HeadNode (None over REST): its result,
    or the module fails naming the option its error is about (an AWS error: amazon.aws's failure)."""
    try:
        if module.params.get("transport") == "rest":
            return action(module, target(module, None))
        with head_node(module) as node:
            return action(module, target(module, node))
    except FAILURES as error:
        module.fail_json(msg=str(error), fields=[error.field])
    except (BotoCoreError, ClientError) as error:
        module.fail_json_aws(error, msg="AWS call failed")
    return None  # not reached: fail_json exits
