"""Gap 7: an ``AWS::EC2::Instance`` whose image, type, network and tags come only from its LaunchTemplate.

pcluster's head node is such an instance; stock moto reads ``Properties.ImageId`` directly and fails
(``KeyError 'ImageId'``, reported to the client as an undefined resource). On AWS the instance takes
every setting its properties leave out from the template version it names.
"""

from moto.ec2.models import ec2_backends
from moto.ec2.models.instances import Instance

from .ec2_block_devices import ebs_mappings

_stock_create = Instance.create_from_cloudformation_json.__func__


def _template_data(account_id, region_name, launch_template):
    backend = ec2_backends[account_id][region_name]
    return backend._get_template_from_args(launch_template).data  # pylint: disable=protected-access


def properties_with_template(properties, template):
    """The instance's properties, completed from the launch template data as EC2 does."""
    merged = dict(properties)
    for key in ("ImageId", "InstanceType", "KeyName", "UserData", "IamInstanceProfile"):
        if key not in merged and key in template:
            merged[key] = template[key]
    if "IamInstanceProfile" in merged and isinstance(merged["IamInstanceProfile"], dict):
        profile = merged["IamInstanceProfile"]
        merged["IamInstanceProfile"] = profile.get("Name") or profile.get("Arn", "").rsplit("/", 1)[-1]
    interfaces = template.get("NetworkInterfaces") or []
    if interfaces and "SubnetId" not in merged:
        merged["SubnetId"] = interfaces[0].get("SubnetId")
        merged.setdefault("SecurityGroups", interfaces[0].get("Groups") or [])
    if "SecurityGroups" not in merged and template.get("SecurityGroupIds"):
        merged["SecurityGroups"] = template["SecurityGroupIds"]
    merged["BlockDeviceMappings"] = ebs_mappings(merged.get("BlockDeviceMappings") or template.get("BlockDeviceMappings"))
    template_tags = [tag for spec in template.get("TagSpecifications") or []
                     if spec.get("ResourceType") == "instance" for tag in spec.get("Tags") or []]
    merged["Tags"] = template_tags + list(merged.get("Tags") or [])
    return merged


def _create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    properties = cloudformation_json.get("Properties", {})
    if "LaunchTemplate" in properties:
        template = _template_data(account_id, region_name, properties["LaunchTemplate"])
        cloudformation_json = dict(cloudformation_json, Properties=properties_with_template(properties, template))
    return _stock_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def install():
    Instance.create_from_cloudformation_json = classmethod(_create_from_cloudformation_json)
