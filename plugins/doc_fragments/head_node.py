# -*- coding: utf-8 -*-

# Copyright: Open Brain Institute
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The options of the job and data modules: the project, its cluster's head node and how to reach it."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  vlab_id:
    description: The virtual lab's id (a UUID fits).
    type: str
    required: true
  project_id:
    description:
      - The project's id. Jobs run under the Slurm account of this id; paths stay in this project's directories.
    type: str
    required: true
  cluster_name:
    description: The project's cluster (the describe playbook's C(clusterName)).
    type: str
    required: true
  head_node_host:
    description: The head node's address (its private IP, the describe playbook's C(headNodeAddress)).
    type: str
    required: true
  head_node_port:
    description: The head node's SSH port.
    type: int
    default: 22
  ssh_user:
    description: The user the operations run as on the cluster.
    type: str
    default: sim
  private_key_secret:
    description:
      - Where the private key of the cluster's sim key pair is kept (the create playbook's
        C(user_private_ssh_key_arn)) a Secrets Manager secret (ARN or name) or an SSM parameter (ARN, or a name that
        starts with C(/)). Read into memory for the connection, never written to a file or returned.
      - Required for SSH (the data operations, and the job operations unless they use the REST API).
    type: str
  host_key:
    description:
      - The head node's SSH host key, one OpenSSH public key line. Default the key the head node published at boot
        in O(host_key_bucket). Any other key the head node presents is refused.
    type: str
  host_key_bucket:
    description:
      - The infra bucket, where the head node publishes its host key
        (C(<node_assets_prefix>/clusters/<cluster>/host_keys/ssh_host_ed25519_key.pub)). Required for SSH unless
        O(host_key) is given.
    type: str
  node_assets_prefix:
    description: The prefix of the cluster's node assets in O(host_key_bucket).
    type: str
    default: hpc_provisioner/node
  connect_timeout:
    description: Seconds to wait for the head node's SSH answer.
    type: int
    default: 15
  mount_dir:
    description:
      - The shared mount of the cluster's project directories, under which are C(scratch/<project_id>),
        C(project/private) and C(project/public).
    type: str
    default: /obi/data
"""

    # The job modules and the health check also speak to the Slurm REST API (role slurm_rest).
    TRANSPORTS = r"""
options:
  transport:
    description:
      - C(ssh) runs Slurm's commands on the head node as O(ssh_user); C(rest) calls the cluster's Slurm REST API with
        the user's token.
    type: str
    choices: [ssh, rest]
    default: ssh
  rest_url:
    description: The Slurm REST API's URL (the describe playbook's C(slurmRestUrl)). Required with O(transport=rest).
    type: str
  rest_token:
    description: The user's access token (Keycloak) for the Slurm REST API. Required with O(transport=rest).
    type: str
  rest_api_version:
    description: The slurmrestd API version, such as C(v0.0.40); C(auto) takes the newest the API serves.
    type: str
    default: auto
"""
