#!/usr/bin/env bash
# Molecule scenarios of the collection's roles, in podman containers running systemd, without Docker and
# without a container registry. Usage:
#
#   bash scripts/molecule.sh                 # every role that has molecule/default (same as --all)
#   bash scripts/molecule.sh --all
#   bash scripts/molecule.sh slurm_accounting node_bootstrap
#   MOLECULE_COMMAND=converge bash scripts/molecule.sh slurm_accounting   # another molecule subcommand
#   bash scripts/molecule.sh --images        # only install the tools and build the images
#
# On first use (each step is skipped when already done):
#   1. apt packages podman, runc, netavark, aardvark-dns, iptables, debootstrap, openssh-client, procps (one
#      `apt-get update`);
#   2. requirements-molecule.txt (molecule, molecule-plugins[podman]) into "$VENV" (scripts/bootstrap.sh's);
#   3. base images localhost/obi-debian-bookworm-systemd and localhost/obi-ubuntu-noble-systemd, made with
#      debootstrap from the package mirrors and `podman import` (no image is ever pulled);
#   4. a containers.conf for podman on this kind of machine (runc, cgroupfs, explicit ulimits).
# Afterwards (also when a scenario fails or the script is interrupted) it removes what the scenarios left: with
# MOLECULE_COMMAND test or destroy, the scenarios' containers; then, when no podman container runs any more,
# the podman network namespaces, the /run/netns mount and the netavark/CNI iptables chains. A debootstrap
# cut short is cleaned up too. Run it again at will: the images are reused.
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), UBUNTU_MIRROR (default
# http://archive.ubuntu.com/ubuntu), MOLECULE_COMMAND (default test), REBUILD_IMAGES=1 to rebuild the images (they are
# also rebuilt when the way this script makes them has changed),
# HPC_TEST_OUTPUTS (default .build/test-outputs: each scenario's output is kept there as molecule-ROLE.log).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
UBUNTU_MIRROR="${UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}"
MOLECULE_COMMAND="${MOLECULE_COMMAND:-test}"
WORK="$REPO/.build/molecule"
OUTPUTS="${HPC_TEST_OUTPUTS:-$REPO/.build/test-outputs}"
export CONTAINERS_CONF="$WORK/containers.conf"

log() { printf '[molecule.sh] %s\n' "$*" >&2; }

# Packages, not commands, are checked: netavark (podman's network backend), aardvark-dns (its DNS) and iptables
# (netavark's firewall) come only as podman's recommends, which a machine may not install by default; ssh-keygen
# (openssh-client) makes the scenarios' key pairs on this controller; pgrep (procps) is used below.
APT_PACKAGES=(podman runc debootstrap netavark aardvark-dns iptables openssh-client procps)

ensure_apt_packages() {
    local missing=() package start=$SECONDS
    for package in "${APT_PACKAGES[@]}"; do
        [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$package" 2>/dev/null)" == "ii"* ]] || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    log "installed ${missing[*]} in $((SECONDS - start)) s"
}

ensure_molecule() {
    local stamp="$VENV/.requirements-molecule.sha256" wanted
    wanted="$(sha256sum < "$REPO/requirements-molecule.txt" | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/molecule" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return
    fi
    log "installing requirements-molecule.txt into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/requirements-molecule.txt"
    echo "$wanted" > "$stamp"
}

write_containers_conf() {
    mkdir -p "$WORK"
    cat > "$CONTAINERS_CONF.tmp" <<'EOF'
# Written by scripts/molecule.sh. root here lacks CAP_SYS_RESOURCE (hard nofile limit 20000), so the
# ulimits are explicit; crun fails on this hybrid cgroup layout, runc works.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
}

# build_image NAME SUITE MIRROR DEBOOTSTRAP-SCRIPT COMPONENTS [extra debootstrap options...]
build_image() {
    local name="$1" image="localhost/$1" suite="$2" mirror="$3" script="$4" components="$5"
    shift 5
    # The image is labelled with a digest of how it is made (this function and its arguments, not the mirror): an
    # image made another way (an older version of this script, or not by it) is rebuilt, never reused.
    local recipe
    recipe="$({ declare -f build_image; printf '%s\n' "$suite" "$script" "$components" "$@"; } | sha256sum | cut -c1-16)"
    if [[ "${REBUILD_IMAGES:-0}" != 1 ]] && podman image exists "$image" \
        && [[ "$(podman image inspect --format '{{index .Labels "org.obi.image-recipe"}}' "$image" 2>/dev/null)" == "$recipe" ]]; then
        return
    fi
    local rootfs start=$SECONDS old_id
    old_id="$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)"
    rootfs="$(mktemp -d "$WORK/rootfs.XXXXXX")"
    ROOTFS_TMP="$rootfs"   # removed by on_exit if this is cut short
    log "building $image with debootstrap ($suite from $mirror)"
    debootstrap --variant=minbase --components="$components" "$@" \
        --include=python3,python3-apt,sudo,procps,iproute2,ca-certificates,systemd,systemd-sysv,dbus \
        "$suite" "$rootfs" "$mirror" "$script" >"$WORK/debootstrap-$name.log" 2>&1 \
        || { log "debootstrap failed, see $WORK/debootstrap-$name.log"; return 1; }
    # A container image: no getty, no kernel/udev units, no recommends, no apt caches.
    local unit
    for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
                systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
                systemd-remount-fs.service systemd-resolved.service; do
        ln -sfn /dev/null "$rootfs/etc/systemd/system/$unit"
    done
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
        > "$rootfs/etc/apt/apt.conf.d/90obi-no-recommends"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
    : > "$rootfs/etc/machine-id"
    tar -C "$rootfs" -c . | podman import \
        --change 'CMD ["/lib/systemd/systemd"]' --change 'STOPSIGNAL SIGRTMIN+3' \
        --change 'ENV container=podman' --change "LABEL org.obi.image-recipe=$recipe" - "$image" >/dev/null
    remove_rootfs "$rootfs"
    ROOTFS_TMP=""
    # The image it replaces, unless a container still uses it.
    [[ -z "$old_id" ]] || podman rmi "$old_id" >/dev/null 2>&1 || true
    log "built $image in $((SECONDS - start)) s"
}

# remove_rootfs DIR: a debootstrap target, with whatever debootstrap mounted in it (proc, sys, ...) when cut short.
remove_rootfs() {
    local dir="$1" mnt
    [[ -d "$dir" ]] || return 0
    awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done
    rm -rf --one-file-system "$dir"
}

# Targets left by an earlier run that was killed (unless a debootstrap is running now).
remove_stale_rootfs() {
    local dir
    pgrep -x debootstrap >/dev/null 2>&1 && return 0
    for dir in "$WORK"/rootfs.*; do
        [[ -d "$dir" ]] && remove_rootfs "$dir"
    done
    return 0
}

ensure_images() {
    remove_stale_rootfs
    build_image obi-debian-bookworm-systemd bookworm "$DEBIAN_MIRROR" /usr/share/debootstrap/scripts/bookworm main
    build_image obi-ubuntu-noble-systemd noble "$UBUNTU_MIRROR" /usr/share/debootstrap/scripts/jammy \
        main,universe --no-check-gpg
}

# Podman (netavark/CNI) can leave network namespaces and iptables chains behind when a container dies.
cleanup_podman_network() {
    local ns
    # Another user's running container keeps its network: then nothing is touched.
    podman ps -q | grep -q . && return 0
    for ns in /run/netns/netns-*; do
        [[ -e "$ns" ]] || continue
        umount "$ns" 2>/dev/null || true
        rm -f "$ns"
    done
    # netavark bind-mounts /run/netns on itself the first time; undo it once no namespace is left.
    if mountpoint -q /run/netns && [[ -z "$(ls -A /run/netns)" ]]; then
        umount /run/netns 2>/dev/null || true
    fi
    if command -v iptables >/dev/null; then
        local table chain
        for table in nat filter; do
            for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N (NETAVARK|CNI)/ {print $2}'); do
                iptables -t "$table" -F "$chain" 2>/dev/null || true
            done
            iptables -t "$table" -S 2>/dev/null | awk '/^-A (POSTROUTING|FORWARD|INPUT|PREROUTING|OUTPUT) .*(NETAVARK|CNI)/' \
                | sed 's/^-A/-D/' | while read -r rule; do
                    # xargs splits the rule as the shell would (quoted comments stay one argument)
                    printf '%s\n' "$rule" | xargs iptables -t "$table" 2>/dev/null || true
                done
            for chain in $(iptables -t "$table" -S 2>/dev/null | awk '/^-N (NETAVARK|CNI)/ {print $2}'); do
                iptables -t "$table" -X "$chain" 2>/dev/null || true
            done
        done
    fi
    return 0
}

# The containers of a scenario (its platforms), left by an interrupted `molecule test`.
remove_scenario_containers() {
    local role="$1" name
    for name in $("$VENV/bin/python" -c 'import sys, yaml
for platform in yaml.safe_load(open(sys.argv[1])).get("platforms", []):
    print(platform["name"])' "$REPO/roles/$role/molecule/default/molecule.yml" 2>/dev/null); do
        if podman container exists "$name"; then
            log "removing leftover container $name"
            podman rm -f -t 5 "$name" >/dev/null 2>&1 || true
        fi
    done
}

on_exit() {
    local rc=$? role
    [[ -n "${ROOTFS_TMP:-}" ]] && remove_rootfs "$ROOTFS_TMP"
    if [[ "$MOLECULE_COMMAND" == test || "$MOLECULE_COMMAND" == destroy ]]; then
        for role in "${roles[@]}"; do
            [[ -d "$REPO/roles/$role/molecule/default" ]] && remove_scenario_containers "$role"
        done
    fi
    command -v podman >/dev/null && cleanup_podman_network
    return "$rc"
}

roles=()
images_only=0
for arg in "$@"; do
    case "$arg" in
        --all) ;;
        --images) images_only=1 ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1' "$0"; exit 0 ;;
        *) roles+=("$arg") ;;
    esac
done
if ((${#roles[@]} == 0)); then
    for dir in "$REPO"/roles/*/molecule/default; do
        [[ -d "$dir" ]] && roles+=("$(basename "$(dirname "$(dirname "$dir")")")")
    done
fi

ROOTFS_TMP=""
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ensure_apt_packages
ensure_molecule
write_containers_conf
ensure_images
((images_only)) && exit 0

mkdir -p "$OUTPUTS"
failed=()
times=()
for role in "${roles[@]}"; do
    if [[ ! -d "$REPO/roles/$role/molecule/default" ]]; then
        log "no scenario roles/$role/molecule/default"
        failed+=("$role")
        continue
    fi
    start=$SECONDS
    log "molecule $MOLECULE_COMMAND: $role"
    # The output is kept for the secret scan of the test outputs (scripts/scan_secrets.py).
    if (cd "$REPO/roles/$role" && molecule "$MOLECULE_COMMAND" 2>&1 | tee "$OUTPUTS/molecule-$role.log"); then
        log "$role: passed in $((SECONDS - start)) s"
        times+=("$role $((SECONDS - start)) s")
    else
        log "$role: FAILED after $((SECONDS - start)) s"
        times+=("$role FAILED after $((SECONDS - start)) s")
        failed+=("$role")
    fi
done
summary=""
for entry in "${times[@]}"; do summary+="${summary:+, }$entry"; done
log "times: $summary"
if ((${#failed[@]})); then
    log "failed: ${failed[*]}"
    exit 1
fi
log "all scenarios passed: ${roles[*]}"
