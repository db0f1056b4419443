"""Gap 4: moto applies policy statements to requests they do not concern.

pcluster's bucket policy ("Unable to initialize s3 bucket... Forbidden" on stock moto) has
- ``Deny s3:* if Bool aws:SecureTransport == false``: moto ignores the ``Bool`` operator, so the Deny
  holds for every call; and it answers DENIED whenever a condition does not hold, whatever the Effect;
- ``Deny s3:PutObject`` on a reserved path for the CloudWatch Logs *service* principal: moto applies it
  to every caller.

On AWS a statement applies only when all of its conditions hold; a key absent from the request
context makes a condition false (except ``...IfExists`` and ``Null``). Clients reach AWS over TLS,
so the emulator reports ``aws:SecureTransport`` as true even though it listens on plain HTTP.

Written by hand: no maintained Python library evaluates IAM condition blocks. It covers the String,
Arn, Bool and Null operator families with the IfExists suffix; other operators do not hold.
"""

import fnmatch

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def _like(expected, actual):
    return fnmatch.fnmatchcase(actual, expected)  # IAM's * and ? wildcards; no [] classes in IAM patterns


# Positive operator -> matcher(expected, actual); the "Not" variants negate it.
_MATCHERS = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
    "StringLike": _like,
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnLike": _like,
    "Bool": lambda expected, actual: actual.lower() == str(expected).lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def condition_holds(operator, expectations, context):
    """One operator block, e.g. ``{"aws:SourceAccount": ["123"]}`` under ``StringEquals``."""
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    for key, expected in expectations.items():
        actual = context.get(key)
        if base == "Null":
            if (actual is None) != (str(_as_list(expected)[0]).lower() == "true"):
                return False
            continue
        if actual is None:
            if if_exists:
                continue
            return False
        matcher = _MATCHERS.get(_NEGATED.get(base, base))
        if matcher is None:
            return False
        matched = any(matcher(str(value), str(actual)) for value in _as_list(expected))
        if matched == (base in _NEGATED):
            return False
    return True


def conditions_hold(conditions, context):
    return all(condition_holds(operator, expectations, context) for operator, expectations in conditions.items())


def names_only_service_principals(principal):
    """True for ``{"Service": ...}`` (or Federated/CanonicalUser) principals: they never match an API caller."""
    return isinstance(principal, dict) and "AWS" not in principal


_stock_is_action_permitted = IAMPolicyStatement.is_action_permitted


def _is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    statement = self._statement  # pylint: disable=protected-access
    if names_only_service_principals(statement.get("Principal")):
        return PermissionResult.NEUTRAL  # callers of the emulator are never AWS services
    conditions = statement.get("Condition")
    if conditions and not conditions_hold(conditions, dict(REQUEST_CONTEXT, **(incoming_condition_values or {}))):
        return PermissionResult.NEUTRAL  # the statement does not apply
    return _stock_is_action_permitted(self, action, resource, principal, incoming_condition_values)


def _conditions_checked_above(self, incoming_condition_values):  # pylint: disable=unused-argument
    return True


def install():
    IAMPolicyStatement.is_action_permitted = _is_action_permitted
    IAMPolicyStatement._check_conditions = _conditions_checked_above  # pylint: disable=protected-access
