"""Seed a running emulator with the landing zone that production Terraform provides.

    python -m emulator.seed --endpoint http://127.0.0.1:PORT [--region us-east-1] [--subnets 8]
                            [--prefix obi] [--vpc-cidr 10.0.0.0/16] [--output FILE] [--site-vars FILE] [--quiet]

What the collection expects to find already made (it discovers most of it by the tag
``HPC_Goal=compute_cluster``): a private VPC with /24 compute subnets, the cluster and EFA
security groups, the EFS home file system, a ParallelCluster-made AMI, the project data, scratch
and infra-assets buckets, the Slurm accounting database (RDS MariaDB, master password in Secrets
Manager) and the DynamoDB subnet-claim table.

Every piece is looked up first (by name, and by the ``landing-zone`` tag where names are not
unique) and only made when missing, and every setting is read before it is written: a second run
makes no write call at all and returns the same document; a larger ``--subnets`` adds only the
missing subnets. Prints the ids as JSON on stdout (never the password); progress goes to stderr.
Only loopback endpoints are accepted: this must never touch a real account.
"""

import argparse
import ipaddress
import json
import logging
import os
import secrets
import socket
import string
import sys
import urllib.parse
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOG = logging.getLogger("emulator.seed")

DEFAULT_REGION = "us-east-1"
DEFAULT_SUBNETS = 8
DEFAULT_PREFIX = "obi"
DEFAULT_VPC_CIDR = "10.0.0.0/16"

# Must equal the aws-parallelcluster pin of requirements.txt: pcluster refuses a custom AMI whose
# parallelcluster:version tag names another version.
PCLUSTER_VERSION = "3.16.1"
PCLUSTER_OS = "alinux2023"
# moto's RDS needs an explicit EngineVersion for mariadb (emulator/README.md); 10.11 is the LTS line.
MARIADB_VERSION = "10.11.9"
MARIADB_PORT = 3306
SLURMDBD_USERNAME = "slurmdbd_admin"

AZ_COUNT = 4  # compute subnets go round-robin over the first AZ_COUNT zones (us-east-1a..d)
# The /16 is cut into /24s: compute subnets from the bottom, one services subnet per AZ from here up.
SERVICES_SUBNET_INDEX = 240
MAX_SUBNETS = SERVICES_SUBNET_INDEX

SEED_TAG = "landing-zone"  # value: the prefix; tells this landing zone's pieces from any other's
COMPUTE_TAGS = {"HPC_Goal": "compute_cluster"}  # what the provisioner discovers pre-made pieces by
AMI_TAGS = {  # what pcluster's CustomAmiTagValidator wants to see on an AMI of its own making
    "parallelcluster:version": PCLUSTER_VERSION,
    "parallelcluster:os": PCLUSTER_OS,
    "parallelcluster:build_status": "available",
}

# Bucket role -> (name suffix, versioned). Project data and node scripts are versioned so that an
# overwrite or a delete can be undone (pcluster also wants its CustomS3Bucket versioned); scratch
# is not: it churns and is disposable by definition.
BUCKETS = {
    "public": ("hpc-public-data", True),  # shared by all vlabs: project/public
    "private": ("hpc-private-data", True),  # the projects' own data: project/private
    "scratch": ("hpc-scratch", False),  # <vlab>/<project> prefixes, imported and exported by FSx
    "infra_assets": ("hpc-infra-assets", True),  # node scripts (OnNodeConfigured), pcluster artefacts
}


def require_loopback(endpoint):
    """Return ``endpoint`` if it is http(s) on a loopback address, else raise ValueError saying why.

    Host names other than ``localhost`` are refused without being resolved, so not even a DNS
    query leaves the machine.
    """
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint {endpoint!r} is not an http(s) URL such as http://127.0.0.1:5000")
    refusal = (f"refusing endpoint {endpoint!r}: {{}} is not a loopback address; "
               "the seed only talks to a local emulator (use http://127.0.0.1:PORT)")
    try:
        addresses = {ipaddress.ip_address(parts.hostname)}
    except ValueError:
        if parts.hostname != "localhost":
            raise ValueError(refusal.format(repr(parts.hostname))) from None
        addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in socket.getaddrinfo("localhost", None)}
    foreign = sorted(str(address) for address in addresses if not address.is_loopback)
    if foreign:
        raise ValueError(refusal.format(", ".join(foreign)))
    return endpoint


def _credentials():
    """The caller's credentials from the environment, else fake ones.

    Never boto3's full chain: its last links ask the instance metadata service, over the network.
    """
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return {}
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


# --- the find-or-create machinery ----------------------------------------------------------------

def tag_list(tags):
    """{"k": "v"} -> [{"Key": "k", "Value": "v"}], the shape most AWS APIs take."""
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_dict(tags):
    """[{"Key": "k", "Value": "v"}] (or None) -> {"k": "v"}."""
    return {tag["Key"]: tag["Value"] for tag in tags or ()}


def _tag_specifications(resource_type, tags):
    return [{"ResourceType": resource_type, "Tags": tag_list(tags)}]


def _first(items):
    return items[0] if items else None


def lookup(call, *missing_codes):
    """What ``call()`` returns, or None when it fails with one of the "does not exist" error codes."""
    try:
        return call()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in missing_codes:
            return None
        raise


@dataclass
class LandingZone:
    """Clients bound to the emulator, the naming scheme, and the list of changes a run made."""

    endpoint: str
    region: str
    prefix: str
    changes: list = field(default_factory=list)
    _clients: dict = field(default_factory=dict)
    _session: boto3.session.Session = None

    def client(self, service):
        """A boto3 client of ``service`` bound to the emulator (one per service and run)."""
        if service not in self._clients:
            if self._session is None:  # one session: it caches the service models the clients load
                self._session = boto3.session.Session(region_name=self.region, **_credentials())
            # proxies={}: proxies named in the environment are ignored, the emulator is reached directly.
            config = Config(retries={"mode": "standard", "max_attempts": 5}, proxies={}, connect_timeout=5,
                            read_timeout=60)
            self._clients[service] = self._session.client(service, endpoint_url=self.endpoint, config=config)
        return self._clients[service]

    def name(self, suffix):
        """The name of one piece: ``<prefix>-<suffix>``."""
        return f"{self.prefix}-{suffix}"

    def tags(self, name, **extra):
        """Tags of every piece: its Name, the landing-zone marker, and any extra ones."""
        return {"Name": name, SEED_TAG: self.prefix, **extra}

    def changed(self, action, what):
        """Record and log one write, so a run says what it made (a re-run says nothing)."""
        self.changes.append(f"{action} {what}")
        LOG.info("%s %s", action, what)


def find_or_create(zone, what, find, create):
    """What ``find()`` returns, or, when that is None, what ``create()`` returns (recorded as a change)."""
    found = find()
    if found is not None:
        return found
    made = create()
    zone.changed("created", what)
    return made


def converge(zone, what, read, desired, write):
    """Call ``write()`` only when ``read()`` differs from ``desired``. Values are not logged (one is a password)."""
    if read() != desired:
        write()
        zone.changed("set", what)


def ensure_tags(zone, what, current, desired, add):
    """Call ``add(absent)`` with the desired tags that ``current`` lacks; tags set by others stay."""
    absent = {key: value for key, value in desired.items() if current.get(key) != value}
    if absent:
        add(absent)
        zone.changed("tagged", f"{what} ({', '.join(sorted(absent))})")


def ensure_ec2_tags(zone, resource, resource_id, desired):
    """EC2 flavour of ensure_tags: a resource found by CIDR or name may not carry our tags yet."""
    ensure_tags(zone, resource_id, tag_dict(resource.get("Tags")), desired,
                lambda absent: zone.client("ec2").create_tags(Resources=[resource_id], Tags=tag_list(absent)))


# --- network -------------------------------------------------------------------------------------

def ensure_vpc(zone, cidr):
    """The private VPC: no internet gateway (nodes reach AWS through VPC endpoints), DNS on."""
    ec2 = zone.client("ec2")
    name = zone.name("hpc")
    vpc = find_or_create(
        zone, f"vpc {name}",
        lambda: _first(ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]},
                                                  {"Name": f"tag:{SEED_TAG}", "Values": [zone.prefix]}])["Vpcs"]),
        lambda: ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_tag_specifications("vpc", zone.tags(name)))["Vpc"])
    vpc_id = vpc["VpcId"]
    # ParallelCluster needs both DNS attributes on (node host names, EFS mounted by DNS name).
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        key = attribute[0].upper() + attribute[1:]
        converge(zone, f"{vpc_id} {attribute}",
                 lambda a=attribute, k=key: ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=a)[k]["Value"], True,
                 lambda k=key: ec2.modify_vpc_attribute(VpcId=vpc_id, **{k: {"Value": True}}))
    return vpc


def _availability_zones(zone):
    zones = zone.client("ec2").describe_availability_zones(
        Filters=[{"Name": "state", "Values": ["available"]}, {"Name": "zone-type", "Values": ["availability-zone"]}])
    return sorted(item["ZoneName"] for item in zones["AvailabilityZones"])[:AZ_COUNT]


def _subnet_plan(zone, vpc, count):
    """(cidr, az, tags) of every subnet the landing zone should have.

    Compute subnet i is the i-th /24 of the VPC, in zone i mod AZ_COUNT, so a larger count only
    appends. The services subnets (one per AZ, at the top of the VPC) hold the EFS mount targets,
    the database and the AMI builder: the provisioner hands out a compute subnet only when it is
    wholly unused, so nothing else may put a network interface in one.
    """
    zones = _availability_zones(zone)
    blocks = list(ipaddress.ip_network(vpc["CidrBlock"]).subnets(new_prefix=24))
    compute = [(blocks[index], zones[index % len(zones)], zone.tags(zone.name(f"compute-{index:03d}"), **COMPUTE_TAGS))
               for index in range(count)]
    services = [(blocks[SERVICES_SUBNET_INDEX + index], az, zone.tags(zone.name(f"services-{az}"), Purpose="services"))
                for index, az in enumerate(zones)]
    return compute + services


def ensure_subnets(zone, vpc, count):
    """The compute and services subnets; returns (compute, services), lists of subnet descriptions."""
    ec2 = zone.client("ec2")
    existing = {subnet["CidrBlock"]: subnet for subnet in ec2.describe_subnets(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]}
    compute, services = [], []
    for cidr, az, tags in _subnet_plan(zone, vpc, count):
        subnet = find_or_create(
            zone, f"subnet {tags['Name']} {cidr} {az}", lambda c=cidr: existing.get(str(c)),
            lambda c=cidr, a=az, t=tags: ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=str(c), AvailabilityZone=a,
                                                           TagSpecifications=_tag_specifications("subnet", t))["Subnet"])
        ensure_ec2_tags(zone, subnet, subnet["SubnetId"], tags)
        (compute if "HPC_Goal" in tags else services).append(subnet)
    beyond = sum(1 for subnet in existing.values() if "HPC_Goal" in tag_dict(subnet.get("Tags"))) - len(compute)
    if beyond > 0:
        LOG.info("%d compute subnet(s) beyond --subnets %d exist; left alone and not listed", beyond, count)
    return compute, services


def ensure_security_group(zone, vpc, suffix, description, efa=False):
    """A security group admitting all traffic from its own members; an EFA group also sends all to them."""
    ec2 = zone.client("ec2")
    name = zone.name(suffix)
    tags = zone.tags(name, **COMPUTE_TAGS)

    def create():
        group_id = ec2.create_security_group(GroupName=name, Description=description, VpcId=vpc["VpcId"],
                                             TagSpecifications=_tag_specifications("security-group", tags))["GroupId"]
        return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]

    group = find_or_create(zone, f"security group {name}", lambda: _first(ec2.describe_security_groups(Filters=[
        {"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": [name]}])["SecurityGroups"]),
        create)
    group_id = group["GroupId"]
    ensure_ec2_tags(zone, group, group_id, tags)
    rule = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group_id}]}]
    _ensure_self_rule(zone, group, "IpPermissions",
                      lambda: ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=rule))
    if efa:
        # EFA's OS-bypass traffic must be allowed both ways between the members (AWS EFA requirement).
        _ensure_self_rule(zone, group, "IpPermissionsEgress",
                          lambda: ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=rule))
    return group_id


def _ensure_self_rule(zone, group, direction, authorize):
    """Call ``authorize()`` unless the group's ``direction`` rules already reference the group for all traffic."""
    has_rule = any(permission["IpProtocol"] == "-1"
                   and any(pair.get("GroupId") == group["GroupId"] for pair in permission.get("UserIdGroupPairs", ()))
                   for permission in group.get(direction, ()))
    if not has_rule:
        authorize()
        zone.changed("authorized", f"{group['GroupId']} {direction} all traffic from/to itself")


# --- storage -------------------------------------------------------------------------------------

def ensure_home_efs(zone, services, security_group_id):
    """The EFS file system for homes, with one mount target per AZ (in the services subnets)."""
    efs = zone.client("efs")
    name = zone.name("home")
    tags = zone.tags(name, **COMPUTE_TAGS)
    # The creation token makes creation itself idempotent on AWS, and is what we look it up by.
    file_system = find_or_create(
        zone, f"efs {name}", lambda: _first(efs.describe_file_systems(CreationToken=name)["FileSystems"]),
        lambda: efs.create_file_system(CreationToken=name, PerformanceMode="generalPurpose", ThroughputMode="elastic",
                                       Encrypted=True, Tags=tag_list(tags)))
    fs_id = file_system["FileSystemId"]
    ensure_tags(zone, fs_id, tag_dict(file_system.get("Tags")), tags,
                lambda absent: efs.tag_resource(ResourceId=fs_id, Tags=tag_list(absent)))
    # EFS allows one mount target per AZ, so the AZ is what identifies it.
    mounted = {target["AvailabilityZoneName"]: target
               for target in efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]}
    for subnet in services:
        # The cluster group admits its members on every port, NFS (2049) included: that is what
        # pcluster's EfsIdValidator checks on the mount target of the head node's AZ.
        find_or_create(zone, f"efs mount target {fs_id} {subnet['AvailabilityZone']}",
                       lambda s=subnet: mounted.get(s["AvailabilityZone"]),
                       lambda s=subnet: efs.create_mount_target(FileSystemId=fs_id, SubnetId=s["SubnetId"],
                                                                SecurityGroups=[security_group_id]))
    return fs_id


def ensure_bucket(zone, suffix, versioned):
    """One private, encrypted, tagged bucket, versioned when asked; returns its name."""
    s3 = zone.client("s3")
    name = zone.name(suffix)
    location = {} if zone.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": zone.region}}
    find_or_create(zone, f"bucket {name}", lambda: lookup(lambda: s3.head_bucket(Bucket=name), "404", "NoSuchBucket"),
                   lambda: s3.create_bucket(Bucket=name, **location))
    # put_bucket_tagging replaces the whole set: ours are merged into what is there.
    current_tags = tag_dict(_bucket_setting(s3.get_bucket_tagging, name, "TagSet", []))
    ensure_tags(zone, f"bucket {name}", current_tags, zone.tags(name), lambda absent: s3.put_bucket_tagging(
        Bucket=name, Tagging={"TagSet": tag_list({**current_tags, **absent})}))
    block_all = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    converge(zone, f"bucket {name} public access block",
             lambda: _bucket_setting(s3.get_public_access_block, name, "PublicAccessBlockConfiguration"), block_all,
             lambda: s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block_all))
    # Compared on the default rule alone: S3 adds BucketKeyEnabled to what it reads back.
    sse = {"SSEAlgorithm": "AES256"}
    converge(zone, f"bucket {name} encryption",
             lambda: [rule.get("ApplyServerSideEncryptionByDefault") for rule in _bucket_setting(
                 s3.get_bucket_encryption, name, "ServerSideEncryptionConfiguration", {}).get("Rules", ())],
             [sse], lambda: s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                 "Rules": [{"ApplyServerSideEncryptionByDefault": sse}]}))
    if versioned:
        converge(zone, f"bucket {name} versioning", lambda: s3.get_bucket_versioning(Bucket=name).get("Status"),
                 "Enabled", lambda: s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"}))
    return name


def _bucket_setting(read, name, key, default=None):
    """One bucket setting, or ``default`` where S3 answers that it was never set."""
    answer = lookup(lambda: read(Bucket=name), "NoSuchTagSet", "NoSuchPublicAccessBlockConfiguration",
                    "ServerSideEncryptionConfigurationNotFoundError")
    return default if answer is None else answer.get(key, default)


# --- image ---------------------------------------------------------------------------------------

def ensure_ami(zone, builder_subnet_id):
    """A custom AMI that pcluster takes for one of its own builds (name pattern and parallelcluster: tags)."""
    ec2 = zone.client("ec2")
    name = f"aws-parallelcluster-{PCLUSTER_VERSION}-amzn2023-hvm-x86_64-{zone.prefix}"
    tags = zone.tags(name, **AMI_TAGS)
    image = find_or_create(
        zone, f"ami {name}",
        lambda: _first(ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])["Images"]),
        lambda: _bake_ami(zone, name, tags, builder_subnet_id))
    ensure_ec2_tags(zone, image, image["ImageId"], tags)
    return image


def _bake_ami(zone, name, tags, subnet_id):
    """Image an instance of the newest Amazon Linux 2023 x86_64 AMI, then terminate the builder.

    Not register_image: moto drops its Architecture, and pcluster matches the AMI's architecture
    against the instance types. The builder runs in a services subnet so that no compute subnet
    looks used.
    """
    ec2 = zone.client("ec2")
    candidates = ec2.describe_images(Owners=["amazon"], Filters=[
        {"Name": "name", "Values": ["al2023-ami-2023.*-x86_64"]}, {"Name": "architecture", "Values": ["x86_64"]},
        {"Name": "state", "Values": ["available"]}])["Images"]
    if not candidates:
        raise RuntimeError(f"no Amazon Linux 2023 x86_64 image in {zone.region} to bake the custom AMI from")
    base = max(candidates, key=lambda image: (image["CreationDate"], image["Name"]))
    builder_name = zone.name("ami-builder")
    builder = ec2.run_instances(ImageId=base["ImageId"], InstanceType="t3.micro", MinCount=1, MaxCount=1,
                                SubnetId=subnet_id,
                                TagSpecifications=_tag_specifications("instance", zone.tags(builder_name)),
                                )["Instances"][0]["InstanceId"]
    zone.changed("launched", f"instance {builder_name} {builder}")
    try:
        image_id = ec2.create_image(
            InstanceId=builder, Name=name, TagSpecifications=_tag_specifications("image", tags),
            Description=f"ParallelCluster {PCLUSTER_VERSION} {PCLUSTER_OS} image of {zone.prefix} "
                        f"(emulator seed, from {base['ImageId']})")["ImageId"]
    finally:
        ec2.terminate_instances(InstanceIds=[builder])
        zone.changed("terminated", f"instance {builder_name} {builder}")
    return ec2.describe_images(ImageIds=[image_id])["Images"][0]


# --- Slurm accounting database -------------------------------------------------------------------

def _new_password():
    # Letters and digits only: RDS refuses '/', '"', '@' and spaces, and slurmdbd.conf has no quoting.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _position in range(32))


def ensure_master_secret(zone, name, instance_id):
    """The secret holding the database's master credentials; returns (description, is_new).

    Made before the database, so that a run dying in between has not lost the password.
    """
    secretsmanager = zone.client("secretsmanager")
    secret = lookup(lambda: secretsmanager.describe_secret(SecretId=name), "ResourceNotFoundException")
    if secret is not None:
        ensure_tags(zone, f"secret {name}", tag_dict(secret.get("Tags")), zone.tags(name),
                    lambda absent: secretsmanager.tag_resource(SecretId=secret["ARN"], Tags=tag_list(absent)))
        return secret, False
    initial = {"username": SLURMDBD_USERNAME, "password": _new_password(), "host": "", "port": MARIADB_PORT}
    secretsmanager.create_secret(Name=name, SecretString=json.dumps(initial), Tags=tag_list(zone.tags(name)),
                                 Description=f"Master credentials of the Slurm accounting database {instance_id}")
    zone.changed("created", f"secret {name}")
    return secretsmanager.describe_secret(SecretId=name), True


def ensure_slurm_database(zone, services, security_group_id):
    """RDS MariaDB for slurmdbd, its master credentials in Secrets Manager (never on stdout)."""
    rds, secretsmanager = zone.client("rds"), zone.client("secretsmanager")
    instance_id = zone.name("slurmdbd")
    secret, new_secret = ensure_master_secret(zone, f"{zone.prefix}/slurmdbd/master", instance_id)
    credentials = json.loads(secretsmanager.get_secret_value(SecretId=secret["ARN"])["SecretString"])
    find_or_create(
        zone, f"db subnet group {instance_id}",
        lambda: lookup(lambda: rds.describe_db_subnet_groups(DBSubnetGroupName=instance_id), "DBSubnetGroupNotFoundFault"),
        lambda: rds.create_db_subnet_group(
            DBSubnetGroupName=instance_id, DBSubnetGroupDescription=f"Slurm accounting database of {zone.prefix}",
            SubnetIds=[subnet["SubnetId"] for subnet in services], Tags=tag_list(zone.tags(instance_id))))
    found = lookup(lambda: rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0],
                   "DBInstanceNotFound", "DBInstanceNotFoundFault")
    database = find_or_create(zone, f"rds instance {instance_id}", lambda: found, lambda: rds.create_db_instance(
        DBInstanceIdentifier=instance_id, Engine="mariadb", EngineVersion=MARIADB_VERSION,
        DBInstanceClass="db.t4g.small", AllocatedStorage=20, StorageType="gp3", StorageEncrypted=True,
        MasterUsername=credentials["username"], MasterUserPassword=credentials["password"], Port=MARIADB_PORT,
        DBSubnetGroupName=instance_id, VpcSecurityGroupIds=[security_group_id], PubliclyAccessible=False,
        MultiAZ=False, BackupRetentionPeriod=7, Tags=tag_list(zone.tags(instance_id)))["DBInstance"])
    if found is not None and new_secret:
        # The database outlived its secret: the old password is lost, so make the new one true.
        rds.modify_db_instance(DBInstanceIdentifier=instance_id, MasterUserPassword=credentials["password"],
                               ApplyImmediately=True)
        zone.changed("reset", f"master password of {instance_id}")
    ensure_tags(zone, f"rds instance {instance_id}", tag_dict(database.get("TagList")), zone.tags(instance_id),
                lambda absent: rds.add_tags_to_resource(ResourceName=database["DBInstanceArn"], Tags=tag_list(absent)))
    endpoint = database["Endpoint"]
    complete = {**credentials, "host": endpoint["Address"], "port": endpoint["Port"]}
    converge(zone, f"secret {secret['Name']} host and port", lambda: credentials, complete,
             lambda: secretsmanager.put_secret_value(SecretId=secret["ARN"], SecretString=json.dumps(complete)))
    return {"endpoint": endpoint["Address"], "port": endpoint["Port"], "instance_id": instance_id,
            "engine_version": database["EngineVersion"], "master_username": credentials["username"],
            "master_password_secret_arn": secret["ARN"]}


# --- subnet claims -------------------------------------------------------------------------------

def ensure_claim_table(zone):
    """The DynamoDB table in which clusters claim compute subnets by conditional writes; returns its name."""
    dynamodb = zone.client("dynamodb")
    name = zone.name("hpc-subnet-claims")

    def create():
        table = dynamodb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST", Tags=tag_list(zone.tags(name)),
            AttributeDefinitions=[{"AttributeName": "subnet_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "subnet_id", "KeyType": "HASH"}])["TableDescription"]
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        return table

    table = find_or_create(zone, f"dynamodb table {name}", lambda: lookup(
        lambda: dynamodb.describe_table(TableName=name)["Table"], "ResourceNotFoundException"), create)
    ensure_tags(zone, f"dynamodb table {name}",
                tag_dict(dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags")), zone.tags(name),
                lambda absent: dynamodb.tag_resource(ResourceArn=table["TableArn"], Tags=tag_list(absent)))
    return name


# --- the whole landing zone ----------------------------------------------------------------------

def check_parameters(subnet_count, prefix, vpc_cidr):
    """Raise ValueError naming the first parameter that cannot make a landing zone."""
    if not 1 <= subnet_count <= MAX_SUBNETS:
        raise ValueError(f"subnet count must be between 1 and {MAX_SUBNETS}, got {subnet_count}")
    # The prefix starts bucket names: lower case, digits and hyphens, and short enough for 63 characters.
    if not (prefix and len(prefix) <= 30 and prefix[0].isalnum()
            and set(prefix) <= set(string.ascii_lowercase + string.digits + "-")):
        raise ValueError(f"prefix {prefix!r} must be 1-30 lower-case letters, digits or hyphens, "
                         "starting with a letter or digit")
    network = ipaddress.ip_network(vpc_cidr)
    if network.prefixlen != 16 or not network.subnet_of(ipaddress.ip_network("10.0.0.0/8")):
        raise ValueError(f"the VPC CIDR must be a 10.x.0.0/16, got {vpc_cidr}")


def seed(endpoint, region=DEFAULT_REGION, subnet_count=DEFAULT_SUBNETS, prefix=DEFAULT_PREFIX,
         vpc_cidr=DEFAULT_VPC_CIDR):
    """Make (or find) the whole landing zone in the emulator at ``endpoint``; returns the ids document."""
    require_loopback(endpoint)
    check_parameters(subnet_count, prefix, vpc_cidr)
    zone = LandingZone(endpoint, region, prefix)
    vpc = ensure_vpc(zone, vpc_cidr)
    compute, services = ensure_subnets(zone, vpc, subnet_count)
    security_group_id = ensure_security_group(
        zone, vpc, "hpc-cluster", "ParallelCluster nodes, EFS mount targets, Slurm database: all traffic between members")
    document = {
        "region": region,
        "prefix": prefix,
        "vpc_id": vpc["VpcId"],
        "vpc_cidr": vpc["CidrBlock"],
        "subnet_ids": [_subnet_entry(subnet) for subnet in compute],
        "service_subnet_ids": [_subnet_entry(subnet) for subnet in services],
        "security_group_id": security_group_id,
        "efa_security_group_id": ensure_security_group(zone, vpc, "hpc-efa", "EFA: all traffic to and from members",
                                                       efa=True),
        "efs_id": ensure_home_efs(zone, services, security_group_id),
    }
    ami = ensure_ami(zone, services[0]["SubnetId"])
    document.update({
        "ami_id": ami["ImageId"],
        "ami_name": ami["Name"],
        "buckets": {role: ensure_bucket(zone, suffix, versioned) for role, (suffix, versioned) in BUCKETS.items()},
        "rds": ensure_slurm_database(zone, services, security_group_id),
        "claim_table": ensure_claim_table(zone),
    })
    LOG.info("landing zone %s: %s", prefix, f"{len(zone.changes)} change(s)" if zone.changes else "nothing to change")
    return document


def site_settings(document):
    """The lifecycle playbooks' site settings (playbooks/vars/lifecycle.yml) for a landing zone seeded here."""
    buckets, rds = document["buckets"], document["rds"]
    return {
        "hpc_discovery_tags": {"HPC_Goal": "compute_cluster", "landing-zone": document["prefix"]},
        "hpc_claim_table": document["claim_table"], "hpc_home_efs_id": document["efs_id"],
        "hpc_public_bucket": buckets["public"], "hpc_private_bucket": buckets["private"],
        "hpc_scratch_bucket": buckets["scratch"], "hpc_infra_bucket": buckets["infra_assets"],
        "hpc_database_uri": f"{rds['endpoint']}:{rds['port']}", "hpc_database_user": rds["master_username"],
        "hpc_database_password_secret_arn": rds["master_password_secret_arn"],
    }


def _subnet_entry(subnet):
    return {"id": subnet["SubnetId"], "az": subnet["AvailabilityZone"], "cidr": subnet["CidrBlock"],
            "name": tag_dict(subnet.get("Tags")).get("Name", "")}


def parse_args(argv):
    """The command line of ``python -m emulator.seed``."""
    parser = argparse.ArgumentParser(prog="python -m emulator.seed", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--endpoint", required=True, help="the emulator's URL, on a loopback address (http://127.0.0.1:PORT)")
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--subnets", type=int, default=DEFAULT_SUBNETS, help="number of /24 compute subnets")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="prefix of every name, bucket names included")
    parser.add_argument("--vpc-cidr", default=DEFAULT_VPC_CIDR, help="the VPC's 10.x.0.0/16")
    parser.add_argument("--output", help="also write the JSON document to this file")
    parser.add_argument("--site-vars", help="also write the lifecycle playbooks' site settings (JSON) to this file")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    return parser.parse_args(argv)


def main(argv=None):
    """Seed, print the document; exit 1 with a one-line message on a refused endpoint or a failed call."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="seed: %(message)s",
                        stream=sys.stderr)
    try:
        document = seed(args.endpoint, region=args.region, subnet_count=args.subnets, prefix=args.prefix,
                        vpc_cidr=args.vpc_cidr)
    except ValueError as error:
        sys.exit(f"seed: {error}")
    except (ClientError, BotoCoreError, RuntimeError) as error:
        sys.exit(f"seed: failed against {args.endpoint}: {error}")
    text = json.dumps(document, indent=2, sort_keys=True)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as output:
            output.write(text + "\n")
    if args.site_vars:
        with open(args.site_vars, "w", encoding="utf-8") as output:
            json.dump(site_settings(document), output, indent=2, sort_keys=True)
    print(text)


if __name__ == "__main__":
    main()
