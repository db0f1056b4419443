"""Gaps 5 and 9: resource types of pcluster's templates that moto's CloudFormation does not model.

- 5: stock moto skips unknown types, so a ``Fn::GetAtt`` on them fails: "Template error: instance of
  Fn::GetAtt references undefined resource HeadNodeHealthAlarm...".
- 9: it keeps wait conditions and their handles as "null models" (None in the stack's resource map),
  so DescribeStackResources lists them without a LogicalResourceId and pcluster's update fails with
  "Invalid cluster configuration: 'LogicalResourceId'".

These resources have no effect on
what pcluster or this collection reads back, so each is recorded with its properties, a physical id
and the attributes CloudFormation documents for it (``Arn``, ``Id``, ...), and goes with its stack.
"""

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.moto_api._internal import mock_random

# Type -> (ARN pattern or None, {attribute: property it echoes, or None for the physical id}).
RECORDED_TYPES = {
    "AWS::CloudWatch::Alarm": ("arn:aws:cloudwatch:{region}:{account}:alarm:{name}", {"Arn": None}),
    "AWS::CloudWatch::CompositeAlarm": ("arn:aws:cloudwatch:{region}:{account}:alarm:{name}", {"Arn": None}),
    "AWS::Logs::MetricFilter": (None, {}),
    "AWS::EC2::SecurityGroupEgress": (None, {"Id": None}),
    "AWS::CloudFormation::CustomResource": (None, {}),
    "AWS::CloudFormation::WaitCondition": (None, {"Data": None}),
    "AWS::CloudFormation::WaitConditionHandle": (None, {}),
}
# moto finds models through CloudFormationModel.__subclasses__(), which holds weak references only.
_MODELS = []
# Properties that carry a resource's name, so that its physical id is that name as on AWS.
_NAME_PROPERTIES = ("AlarmName", "FilterName")


def _make_model(resource_type):
    arn_pattern, attributes = RECORDED_TYPES[resource_type]

    class RecordedResource(CloudFormationModel):
        """A resource that exists only as its template properties."""

        def __init__(self, logical_id, properties, account_id, region_name):
            self.properties = properties
            self.physical_resource_id = next(
                (properties[key] for key in _NAME_PROPERTIES if key in properties),
                f"{logical_id}-{mock_random.get_random_hex(12)}")
            self.arn = arn_pattern.format(region=region_name, account=account_id,
                                          name=self.physical_resource_id) if arn_pattern else None

        @staticmethod
        def cloudformation_name_type():
            return ""

        @staticmethod
        def cloudformation_type():
            return resource_type

        @classmethod
        def has_cfn_attr(cls, attr):
            # Custom resources answer whatever attributes their provider returned.
            return attr in attributes or resource_type == "AWS::CloudFormation::CustomResource"

        def get_cfn_attribute(self, attribute_name):
            if attribute_name == "Arn" and self.arn:
                return self.arn
            if attribute_name in attributes:
                source = attributes[attribute_name]
                return self.properties.get(source) if source else self.physical_resource_id
            return f"{self.physical_resource_id}-{attribute_name}"

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name,
                                            **kwargs):
            return cls(resource_name, dict(cloudformation_json.get("Properties", {})), account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                            account_id, region_name):
            original_resource.properties = dict(cloudformation_json.get("Properties", {}))
            return original_resource

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            """Nothing exists outside the stack."""

        def delete(self, account_id, region_name):
            """Nothing exists outside the stack."""

        def is_created(self):
            return True

    RecordedResource.__name__ = RecordedResource.__qualname__ = "Recorded" + resource_type.replace("::", "")
    return RecordedResource


def install():
    _MODELS.extend(_make_model(resource_type) for resource_type in RECORDED_TYPES)
    parsing.NULL_MODELS[:] = [name for name in parsing.NULL_MODELS if name not in RECORDED_TYPES]
    # moto discovers models as CloudFormationModel subclasses, behind caches filled on first use.
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
