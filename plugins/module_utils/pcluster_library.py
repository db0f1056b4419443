# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""aws-parallelcluster's Python library (pcluster.lib, 3.16) for the calls that change clusters.

pcluster is imported only here and only when a call needs it: the import costs ~0.75 s and ~75 MB, and the
environment (endpoint, region, credentials) must be exported first (pcluster_common.apply_aws_environment).
pcluster's errors become PclusterFailure with pcluster's own messages, never a traceback.
"""

import contextlib
import copy
import importlib.resources
import sys

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import PclusterFailure
from ansible_collections.obi.hpc_provisioner.plugins.module_utils.pcluster_common import schema_error_lines

NO_CHANGES = "No changes found in your cluster configuration."


def _lib():
    try:
        import pcluster.cli.model  # pylint: disable=import-error

        parse_model_with_libyaml(pcluster.cli.model)
        import pcluster.lib  # pylint: disable=import-error
    except ImportError as error:
        raise PclusterFailure(missing_required_lib("aws-parallelcluster"), exception=str(error)) from error
    return pcluster.lib


def parse_model_with_libyaml(model):
    """Make pcluster.lib's import parse its OpenAPI model (117 kB of YAML) with libyaml, not pure-Python YAML.

    ``import pcluster.lib`` builds its functions from ``pcluster.cli.model.package_spec()``, which parses the bundled
    openapi.yaml with PyYAML's pure-Python SafeLoader plus a duplicate-key check: 0.16 s of create's and update's
    import, against 0.035 s with PyYAML's C SafeLoader (same result: tests/unit compare the two). Without libyaml,
    or with a pcluster whose model loads otherwise, nothing changes.
    """
    import yaml  # pylint: disable=import-outside-toplevel  # pcluster's own dependency, loaded with it

    if not getattr(yaml, "__with_libyaml__", False) or not hasattr(model, "package_spec") or \
            getattr(model.package_spec, "parsed_with_libyaml", False):
        return
    from pcluster.api import openapi  # pylint: disable=import-error,import-outside-toplevel

    def package_spec():
        text = importlib.resources.files(openapi).joinpath("openapi.yaml").read_text(encoding="utf-8")
        return yaml.load(text, Loader=yaml.CSafeLoader)  # nosec B506  # a safe loader: the C SafeLoader

    package_spec.parsed_with_libyaml = True
    model.package_spec = package_spec


def content_of(error):
    """The response content (snake_case dict) an API error of pcluster carries."""
    content = getattr(error, "content", None)
    if content is None:
        content = getattr(error, "data", None)  # pcluster.cli.exceptions: parameter errors
    if hasattr(content, "to_dict"):
        content = content.to_dict()
    if not isinstance(content, dict):
        return {"message": str(error) or type(error).__name__}
    return camel_dict_to_snake_dict(content)


def error_message(content):
    """pcluster's message, then each validation error it lists, one a line."""
    lines = [content.get("message") or "pcluster failed without a message"]
    for error in content.get("configuration_validation_errors") or []:
        lines.append(f"{error.get('level')} {error.get('type')}: {error.get('message')}")
    for error in content.get("update_validation_errors") or []:
        lines.append(f"{error.get('parameter')} ({error.get('current_value')} -> {error.get('requested_value')}): "
                     f"{error.get('message')}")
    return "\n".join(lines)


def failure_details(content):
    """The lists of an error's content worth returning to the user (snake_case), without its message."""
    keys = ("configuration_validation_errors", "update_validation_errors", "validation_messages", "change_set")
    return {key: content[key] for key in keys if content.get(key)}


def validation_options(params):
    """The validation arguments the user set; unset ones are left out (pcluster refuses suppress_validators=None)."""
    options = {}
    if params.get("suppress_validators"):
        options["suppress_validators"] = list(params["suppress_validators"])
    if params.get("validation_failure_level"):
        options["validation_failure_level"] = params["validation_failure_level"]
    return options


def normalized(response):
    """Validation messages as {level, type, message} whichever call made them (dryrun contents add an empty id)."""
    if response.get("validation_messages"):
        keys = ("level", "type", "message")
        response["validation_messages"] = [{key: m.get(key) for key in keys} for m in response["validation_messages"]]
    return response


def _call(function, what, **kwargs):
    """Run pcluster.lib.<function>; a dryrun's success comes back as its content, any other error raises."""
    lib = _lib()
    from pcluster.api.errors import DryrunOperationException  # pylint: disable=import-error

    try:
        # pcluster and the CDK's jsii runtime talk on stderr; stdout must stay the module's JSON.
        with contextlib.redirect_stdout(sys.stderr):
            return normalized(camel_dict_to_snake_dict(getattr(lib, function)(**kwargs)))
    except DryrunOperationException as error:
        return normalized(content_of(error))
    except Exception as error:  # pylint: disable=broad-exception-caught  # pcluster raises many kinds; report them all
        content = content_of(error)
        raise PclusterFailure(f"{what}: {error_message(content)}", **failure_details(content)) from error


def schema_errors(name, config):
    """pcluster's own schema check of the configuration, offline (no AWS call): ``Field.Path: reason`` lines.

    Only pcluster's schema is imported (~0.3 s), not pcluster.lib (~0.8 s): the cluster_config role runs this check
    on the controller before any AWS write.
    """
    try:
        from marshmallow import ValidationError  # pylint: disable=import-error
        from pcluster.schemas.cluster_schema import ClusterSchema  # pylint: disable=import-error
    except ImportError as error:
        raise PclusterFailure(missing_required_lib("aws-parallelcluster"), exception=str(error)) from error

    try:
        with contextlib.redirect_stdout(sys.stderr):
            ClusterSchema(cluster_name=name).load(copy.deepcopy(config))
    except ValidationError as error:
        return schema_error_lines(error.messages)
    return []


def validate_create(name, config, region, params):
    """Create's dryrun: the validation messages (warnings too) when it would succeed; PclusterFailure otherwise."""
    content = _call("create_cluster", f"Cluster {name} failed validation", cluster_name=name,
                    cluster_configuration=config, region=region, dryrun=True, **validation_options(params))
    return content.get("validation_messages") or []


def create(name, config, region, params):
    return _call("create_cluster", f"Cluster {name} could not be created", cluster_name=name,
                 cluster_configuration=config, region=region, rollback_on_failure=params["rollback_on_failure"],
                 **validation_options(params))


def plan_update(name, config, region, params):
    """Update's dryrun: {change_set, validation_messages, update_errors}; an empty change set when nothing changes.

    update_errors are pcluster's reasons for refusing the update (a running fleet among them); they are
    returned, not raised, so that the caller can decide to stop the fleet.
    """
    from pcluster.api.errors import UpdateClusterBadRequestException  # pylint: disable=import-error

    try:
        content = _call("update_cluster", f"Cluster {name} cannot be updated", cluster_name=name,
                        cluster_configuration=config, region=region, dryrun=True,
                        force_update=params["force_update"], **validation_options(params))
    except PclusterFailure as failure:
        content = content_of(failure.__cause__)
        if NO_CHANGES in (content.get("message") or ""):
            return {"change_set": [], "validation_messages": [], "update_errors": []}
        if not isinstance(failure.__cause__, UpdateClusterBadRequestException) or not content.get("update_validation_errors"):
            raise
        return {"change_set": content.get("change_set") or [], "validation_messages": [],
                "update_errors": content["update_validation_errors"]}
    return {"change_set": content.get("change_set") or [], "validation_messages": content.get("validation_messages") or [],
            "update_errors": []}


def update(name, config, region, params):
    return _call("update_cluster", f"Cluster {name} could not be updated", cluster_name=name,
                 cluster_configuration=config, region=region, force_update=params["force_update"],
                 **validation_options(params))


def delete(name, region):
    return _call("delete_cluster", f"Cluster {name} could not be deleted", cluster_name=name, region=region)


def request_fleet_status(name, region, status):
    """Ask the head node to STOP_REQUESTED or START_REQUESTED the compute fleet (it does not wait)."""
    return _call("update_compute_fleet", f"Cluster {name}: the compute fleet could not be set to {status}",
                 cluster_name=name, status=status, region=region)
