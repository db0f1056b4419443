# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one AWS helper layer of the collection's modules: one retry policy, one retry layer, paginators.

Retry policy: ``RETRY_ATTEMPTS`` tries with jittered backoff (1 s doubling, at most 20 s between tries) on
throttling (AWSRetry's codes plus ``ThrottlingException``, DynamoDB's ``ProvisionedThroughputExceededException`` and S3's
``SlowDown``, and the bare HTTP statuses 429 and 5xx of answers without a body, such as S3's ``HeadObject``),
on AWS's transient server errors and on lost connections.

One layer per call:
- The modules' own clients (``client()``) retry with ``RETRY`` (amazon.aws's AWSRetry) and have botocore's
  retries turned off, so that its attempts do not nest inside AWSRetry's tries. A module has one client per
  service, all made from one boto3 session: amazon.aws's ``module.client()`` makes a new session for each client,
  which loads botocore's endpoint rules and service list again (5 clients: 0.63 s on new sessions, 0.30 s on one).
- aws-parallelcluster makes its own boto3 clients, which no decorator reaches: it gets the same number of
  attempts from botocore's standard retry mode, through the process environment (``SDK_RETRY_ENVIRONMENT``).

Paginated reads go through boto3's paginators with ``paginate()``, retried as a whole by the same policy.
Functions that may be given a plain boto3 client make it retry the same way with ``retrying()``.
"""

try:
    import boto3
    import botocore.config
    from botocore.exceptions import ClientError, ConnectionError as SdkConnectionError, HTTPClientError
except ImportError:  # AnsibleAWSModule reports the missing boto3/botocore
    ClientError = SdkConnectionError = HTTPClientError = type("NoBotocore", (Exception,), {})

from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper

RETRY_ATTEMPTS = 10
THROTTLING_CODES = ("ThrottlingException", "ProvisionedThroughputExceededException", "SlowDown")  # SlowDown: S3's
CONNECTION_LOST = "ConnectionLost"  # the pseudo error code of a call that got no answer
# An answer without a body (S3's HeadObject) has its HTTP status as its error code: these are throttling or transient.
TRANSIENT_HTTP_STATUSES = ("429", "500", "502", "503", "504")

# For the clients that aws-parallelcluster makes itself (pcluster_common.aws_environment exports it).
SDK_RETRY_ENVIRONMENT = {"AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": str(RETRY_ATTEMPTS)}


class HpcRetry(AWSRetry):
    """AWSRetry that also retries a call whose connection failed or timed out, as botocore's own retries would have."""

    base_class = (ClientError, SdkConnectionError, HTTPClientError)

    @staticmethod
    def status_code_from_exception(error):
        if isinstance(error, ClientError):
            return AWSRetry.status_code_from_exception(error)
        return CONNECTION_LOST

    @staticmethod
    def found(response_code, catch_extra_error_codes=None):
        transient = response_code in (CONNECTION_LOST,) + TRANSIENT_HTTP_STATUSES
        return transient or AWSRetry.found(response_code, catch_extra_error_codes)


RETRY = HpcRetry.jittered_backoff(retries=RETRY_ATTEMPTS, delay=1, max_delay=20,
                                  catch_extra_error_codes=list(THROTTLING_CODES))


def client(module, service):
    """The module's boto3 client for ``service``: calls made with ``aws_retry=True`` retry by ``RETRY``, and only by it.

    Made once per module and service, from the module's one boto3 session, with the connection options that
    amazon.aws's ``module.client()`` would use (region, endpoint_url, credentials or profile, certificates, aws_config).
    """
    made = vars(module).setdefault("_hpc_aws", {"session": None, "clients": {}})
    if service not in made["clients"]:
        made["clients"][service] = RetryingBotoClientWrapper(_new_client(module, service, made), RETRY)
    return made["clients"][service]


def _new_client(module, service, made):
    region, endpoint_url, options = get_aws_connection_info(module)
    profile = options.pop("profile_name", None)
    config = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1})
    user_config = options.pop("aws_config", None)
    if user_config is not None:
        config = user_config.merge(config)  # the collection's retry settings win
    try:
        if made["session"] is None:
            made["session"] = boto3.session.Session(profile_name=profile)
        return made["session"].client(service, region_name=region, endpoint_url=endpoint_url, config=config, **options)
    except (ValueError, botocore.exceptions.BotoCoreError) as error:
        module.fail_json_aws(error, msg=f"Cannot connect to AWS ({service})")
        raise  # not reached: fail_json_aws exits


def retrying(aws_client):
    """``aws_client`` as a client whose calls made with ``aws_retry=True`` retry by ``RETRY``.

    One made by ``client()`` is returned as it is; any other client (a plain boto3 client, as the tests give the
    subnet claim functions from their threads) is wrapped, so that functions taking either retry alike.
    """
    if isinstance(aws_client, RetryingBotoClientWrapper):
        return aws_client
    return RetryingBotoClientWrapper(aws_client, RETRY)


def paginate(aws_client, operation, **params):
    """The merged result of every page of ``operation`` (boto3's paginator), retried as a whole by ``RETRY``.

    ``aws_client`` is one made by ``client()`` (its boto3 client is used) or a plain boto3 client.
    """
    boto3_client = getattr(aws_client, "client", aws_client)
    return paginated_query_with_retries(boto3_client, operation, retry_decorator=RETRY, **params)
