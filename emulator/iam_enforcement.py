"""IAM enforcement (``python -m emulator --enforce-iam [N]``): every AWS request is checked against the caller's policies.

Built on moto's own access control (``INITIAL_NO_AUTH_ACTION_COUNT``): the first N requests are not checked, so a
test can make an administrator (CreateUser, PutUserPolicy, CreateAccessKey); after that every request must be SigV4
signed with the access key of an IAM user (or of an assumed role) of the emulator, and the action must be allowed by
that identity's policies, else AccessDenied. moto 5.2.5 checks the requests of every service that dispatches through
``BaseResponse.call_action`` (EC2, CloudFormation, DynamoDB, Secrets Manager, CloudWatch Logs, EFS, FSx, RDS, IAM,
STS, SSM, ...) and S3 through its own path.

moto knows the resource a request acts on for S3 (bucket and key ARN), IAM, STS and SQS only; for every other service
it checks against ``*``, which no ARN-scoped statement matches. This module adds the resource ARN for the requests
whose resource AWS scopes by name and that the collection's flows make (DynamoDB tables, secrets, EC2 key pairs,
CloudFormation stacks, log groups), so the policy's resource patterns are checked there too. For the requests whose
resource is still unknown (``*``), an Allow statement's Resource is not evaluated: only its actions and conditions.
"""

from urllib.parse import unquote

DEFAULT_FREE_REQUESTS = 3
UNKNOWN = "*"


def _param(response, name):
    """A top-level request parameter, whatever the protocol (query, JSON, parsed)."""
    params = getattr(response, "params", None)
    if isinstance(params, dict) and params.get(name) is not None:
        return params[name]
    querystring = getattr(response, "querystring", None) or {}
    if querystring.get(name):
        return querystring[name][0]
    body = getattr(response, "body", None)
    if isinstance(body, dict):
        return body.get(name)
    if body:
        import json  # pylint: disable=import-outside-toplevel

        try:
            value = json.loads(body)
            return value.get(name) if isinstance(value, dict) else None
        except (TypeError, ValueError):
            return None
    return None


def _arn(response, service, resource):
    return f"arn:aws:{service}:{response.region}:{response.current_account}:{resource}"


def _dynamodb(response, _action):
    table = _param(response, "TableName")
    return _arn(response, "dynamodb", f"table/{table}") if table else UNKNOWN


def _secretsmanager(response, _action):
    secret = _param(response, "SecretId") or _param(response, "Name")
    if not secret:
        return UNKNOWN
    # A secret's ARN ends in its name, a hyphen and six random characters.
    return secret if secret.startswith("arn:") else _arn(response, "secretsmanager", f"secret:{secret}-XXXXXX")


def _ec2(response, action):
    if action in ("CreateKeyPair", "ImportKeyPair", "DeleteKeyPair") and _param(response, "KeyName"):
        return _arn(response, "ec2", f"key-pair/{_param(response, 'KeyName')}")
    return UNKNOWN


def _cloudformation(response, _action):
    stack = _param(response, "StackName")
    if not stack:
        return UNKNOWN
    return stack if stack.startswith("arn:") else _arn(response, "cloudformation", f"stack/{stack}/*")


def _logs(response, _action):
    group = _param(response, "logGroupName")
    return _arn(response, "logs", f"log-group:{unquote(group)}:*") if group else UNKNOWN


# moto's names of S3 actions that are not IAM actions -> the IAM action AWS checks.
S3_IAM_ACTIONS = {"s3:HeadBucket": "s3:ListBucket", "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
                  "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
                  "s3:DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock", "s3:SelectObject": "s3:GetObject"}

RESOURCES = {"dynamodb": _dynamodb, "secretsmanager": _secretsmanager, "ec2": _ec2, "cloudformation": _cloudformation,
             "logs": _logs}


def _determine_resource(self):
    """The ARN the request acts on for the services of RESOURCES, else ``*`` (moto's default)."""
    resolve = RESOURCES.get(getattr(self, "service_name", None) or "")
    if resolve is None:
        return UNKNOWN
    try:
        return resolve(self, self._get_action())  # pylint: disable=protected-access
    except Exception:  # pylint: disable=broad-exception-caught  # an unparsable request is checked against *
        return UNKNOWN


def _create_aws_request(self):
    """The request to re-sign, as the client signed it: a GET/HEAD/DELETE without a body signs an empty payload.

    moto signs such a request with its parsed parameters as a form body, so the signature of every REST call without a
    body (EFS DescribeFileSystems, for one) would not match.
    """
    from botocore.awsrequest import AWSRequest  # pylint: disable=import-outside-toplevel

    signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    no_body = self._method in ("GET", "HEAD", "DELETE") and not self._body
    request = AWSRequest(method=self._method, url=self._path, data=b"" if no_body else (self._body or self._data),
                         headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


def enable(free_requests=DEFAULT_FREE_REQUESTS):
    """Turn enforcement on in this process; call before the server handles its first request."""
    from moto import settings  # pylint: disable=import-outside-toplevel
    from moto.core.responses import BaseResponse  # pylint: disable=import-outside-toplevel
    from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase  # pylint: disable=import-outside-toplevel

    settings.INITIAL_NO_AUTH_ACTION_COUNT = free_requests
    IAMRequestBase._create_aws_request = _create_aws_request  # pylint: disable=protected-access
    stock_check = IAMRequestBase.check_action_permitted

    def check_action_permitted(self, resource):
        self._action = S3_IAM_ACTIONS.get(self._action, self._action)  # pylint: disable=protected-access
        return stock_check(self, resource)

    IAMRequestBase.check_action_permitted = check_action_permitted
    # Services that know their resource (IAM, STS, SQS) define their own, which wins over this one.
    BaseResponse._determine_resource = _determine_resource  # pylint: disable=protected-access
    stock = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(self, action, resource=UNKNOWN, principal=None, incoming_condition_values=None):
        statement = self._statement  # pylint: disable=protected-access
        if resource == UNKNOWN and statement.get("Resource") and statement.get("Effect") == "Allow":
            self = IAMPolicyStatement(dict(statement, Resource="*"))  # resource unknown: actions and conditions only
        return stock(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted
