"""Unit tests of plugins/module_utils/pcluster_library.py: pcluster's errors and contents as the modules report them."""
# pylint: disable=missing-function-docstring  # the test names say what they check

from pcluster.api.errors import BadRequestException
from pcluster.api.errors import CreateClusterBadRequestException
from pcluster.api.errors import DryrunOperationException
from pcluster.api.models import Change
from pcluster.api.models import ConfigValidationMessage
from pcluster.api.models import CreateClusterBadRequestExceptionResponseContent
from pcluster.cli.exceptions import ParameterException

from ansible_collections.obi.hpc_provisioner.plugins.module_utils import pcluster_library as library


def test_validation_options_leave_unset_ones_out():
    assert not library.validation_options({"suppress_validators": None, "validation_failure_level": None})
    assert library.validation_options({"suppress_validators": ["type:KeyPairValidator"], "validation_failure_level": "WARNING"}) \
        == {"suppress_validators": ["type:KeyPairValidator"], "validation_failure_level": "WARNING"}


def test_content_of_pcluster_errors():
    assert library.content_of(BadRequestException("No changes found in your cluster configuration.")) == {
        "message": "Bad Request: No changes found in your cluster configuration."}
    assert library.content_of(ParameterException({"message": "Bad Request: 'x' does not match"})) == {
        "message": "Bad Request: 'x' does not match"}
    assert library.content_of(ValueError("boom")) == {"message": "boom"}


def test_dryrun_content_is_snake_case_with_plain_messages():
    error = DryrunOperationException(
        change_set=[Change(parameter="Scheduling.SlurmQueues[q].ComputeResources[c].MaxCount", current_value="4",
                           requested_value="10")],
        validation_messages=[ConfigValidationMessage(level="WARNING", type="KeyPairValidator", message="no key")])
    content = library.normalized(library.content_of(error))
    assert content["change_set"] == [{"parameter": "Scheduling.SlurmQueues[q].ComputeResources[c].MaxCount",
                                      "current_value": "4", "requested_value": "10"}]
    assert content["validation_messages"] == [{"level": "WARNING", "type": "KeyPairValidator", "message": "no key"}]


def test_error_message_lists_pclusters_reasons():
    error = CreateClusterBadRequestException(CreateClusterBadRequestExceptionResponseContent(
        message="Invalid cluster configuration.",
        configuration_validation_errors=[ConfigValidationMessage(level="ERROR", type="InstanceTypeValidator",
                                                                 message="The instance type 'x9.huge' is not supported.")]))
    content = library.content_of(error)
    assert library.error_message(content) == (
        "Invalid cluster configuration.\nERROR InstanceTypeValidator: The instance type 'x9.huge' is not supported.")
    assert list(library.failure_details(content)) == ["configuration_validation_errors"]


def test_update_errors_in_the_message():
    content = {"message": "Update failure", "update_validation_errors": [{
        "parameter": "Scheduling.SlurmQueues[q].ComputeResources[c].InstanceType", "current_value": "t3.micro",
        "requested_value": "t3.small", "message": "All compute nodes must be stopped."}]}
    assert library.error_message(content) == ("Update failure\nScheduling.SlurmQueues[q].ComputeResources[c].InstanceType "
                                              "(t3.micro -> t3.small): All compute nodes must be stopped.")


def test_schema_errors_offline():
    config = {"HeadNode": {"InstanceType": "t3.medium", "Networking": {"SubnetId": "subnet-0123456789abcdef0", "SecurityGroups": "sg-1"}},
              "Image": {"Os": "alinux2023"},
              "Scheduling": {"Scheduler": "slurm", "SlurmQueues": [{"Name": "q", "Networking": {"SubnetIds": ["subnet-0123456789abcdef0"]},
                                                                    "ComputeResources": [{"Name": "c", "InstanceType": "t3.micro",
                                                                                          "MaxCount": "ten"}]}]},
              "Bogus": 1}
    assert library.schema_errors("pcluster-v1-p1", config) == [
        "Bogus: Unknown field.",
        "HeadNode.Networking.SecurityGroups: Not a valid list.",
        "Scheduling.SlurmQueues[0].ComputeResources[0].MaxCount: Not a valid integer.",
    ]


def test_the_model_parsed_with_libyaml_is_pclusters_own():
    from pcluster.cli import model  # pylint: disable=import-outside-toplevel

    own = model.package_spec()  # pure-Python YAML with pcluster's duplicate-key check
    fake = type("Model", (), {"package_spec": staticmethod(model.package_spec)})
    library.parse_model_with_libyaml(fake)
    assert fake.package_spec is not model.package_spec and fake.package_spec.parsed_with_libyaml
    assert fake.package_spec() == own and own["paths"]
    patched = fake.package_spec
    library.parse_model_with_libyaml(fake)  # once only
    assert fake.package_spec is patched
