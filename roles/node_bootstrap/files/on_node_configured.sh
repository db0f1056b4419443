#!/usr/bin/env bash
# ParallelCluster OnNodeConfigured entry point (head and compute nodes): runs the playbook
# obi.hpc_provisioner.node on this node with ansible-playbook --connection local: the node_bootstrap role on
# every node, and on the head node the cloudwatch_logs and slurm_accounting roles when the vars enable them.
#
#   on_node_configured.sh COLLECTION_TARBALL_OR_DIR VARS_FILE [DIGEST]
#
# COLLECTION_TARBALL_OR_DIR  obi-hpc_provisioner-*.tar.gz (local path or s3:// URI, fetched with the aws CLI)
#                            or an installed collections directory
# VARS_FILE                  YAML/JSON with the cluster's node variables (local path or s3:// URI), as the
#                            cluster_config role renders them
# DIGEST                     ignored: OnNodeUpdated passes the node variables' SHA-256, so that the cluster's
#                            configuration changes when they do and pcluster update runs OnNodeUpdated
#
# ansible-core is taken from $OBI_ANSIBLE_VENV (default /opt/obi/ansible), created with pip on first use from
# the first Python >= 3.10 found ($PYTHON, python3.13 ... python3.10, ParallelCluster's own pyenv Pythons,
# python3), with the collection's dependencies (galaxy.yml: ansible.posix, ansible.mysql, amazon.aws) installed
# beside it by ansible-galaxy from Galaxy or $OBI_GALAXY_SERVER.
# Fast on re-run: nothing is reinstalled when the venv and the collection are in place, and the role only
# changes what differs.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 COLLECTION_TARBALL_OR_DIR VARS_FILE [DIGEST]" >&2
    exit 2
fi
SOURCE="$1"
VARS="$2"
VENV="${OBI_ANSIBLE_VENV:-/opt/obi/ansible}"
WORK="${OBI_BOOTSTRAP_DIR:-/opt/obi/bootstrap}"

# ansible-core >= 2.17 runs on Python >= 3.10 (Amazon Linux 2023's python3 is 3.9).
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3.10 \
                     /opt/parallelcluster/pyenv/versions/3.*/bin/python3 python3; do
        [[ -n "$candidate" ]] || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "on_node_configured: no Python >= 3.10 for ansible-core: install one or set PYTHON" >&2
    return 1
}

fetch() {
    local src="$1" dest="$2"
    if [[ "$src" == s3://* ]]; then
        aws s3 cp --only-show-errors "$src" "$dest"
    else
        cp "$src" "$dest"
    fi
}

mkdir -p "$WORK"
chmod 0700 "$WORK"
if [[ ! -x "$VENV/bin/ansible-playbook" ]]; then
    PYTHON="$(find_python)"
    "$PYTHON" -m venv "$VENV"
    # boto3: amazon.aws's modules (the head node publishes its SSH host key to S3).
    "$VENV/bin/pip" install --quiet "ansible-core>=2.17" boto3
fi
# The collection's dependencies, once (the roles' tasks name their modules: all must resolve).
missing=0
for dependency in ansible/posix ansible/mysql amazon/aws; do
    [[ -d "$VENV/collections/ansible_collections/$dependency" ]] || missing=1
done
if ((missing)); then
    "$VENV/bin/ansible-galaxy" collection install -p "$VENV/collections" ${OBI_GALAXY_SERVER:+-s "$OBI_GALAXY_SERVER"} \
        ansible.posix ansible.mysql amazon.aws
fi

if [[ -d "$SOURCE" ]]; then
    COLLECTIONS="$SOURCE"
else
    COLLECTIONS="$WORK/collections"
    fetch "$SOURCE" "$WORK/collection.tar.gz"
    if ! cmp -s "$WORK/collection.tar.gz" "$WORK/collection.installed.tar.gz" 2>/dev/null; then
        "$VENV/bin/ansible-galaxy" collection install --force --no-deps -p "$COLLECTIONS" "$WORK/collection.tar.gz"
        cp "$WORK/collection.tar.gz" "$WORK/collection.installed.tar.gz"
    fi
fi
fetch "$VARS" "$WORK/vars.yml"
chmod 0600 "$WORK/vars.yml"

ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS:$VENV/collections" ANSIBLE_GATHER_SUBSET='!all,min' \
    "$VENV/bin/ansible-playbook" -i localhost, -c local -e "@$WORK/vars.yml" obi.hpc_provisioner.node
