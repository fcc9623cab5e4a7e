#!/usr/bin/env bash
# The bundled example lab, end to end, in a private network + mount namespace:
# nothing it creates is visible to the machine, and all of it vanishes when
# the script ends. Needs root (unshare), cargo, iproute2, iputils-ping, util-linux.
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: needs root (it unshares network and mount namespaces); try: sudo bash scripts/demo.sh" >&2; exit 1; }

cargo build --release --quiet
export TOPO=target/release/topo LAB=topologies/example.yaml

exec unshare --mount --net --propagation private bash -euo pipefail -c '
  mkdir -p /run/netns /run/topo
  mount -t tmpfs tmpfs /run/netns
  mount -t tmpfs tmpfs /run/topo
  ip link set lo up
  if [ -t 1 ]; then b=$(printf "\033[1m"); n=$(printf "\033[0m"); else b=; n=; fi
  step() { printf "\n%s\$ %s%s\n" "$b" "$*" "$n"; "$@"; }
  ping1() { step ip netns exec "$1" ping -c1 -W2 "$2"; }

  step "$TOPO" validate "$LAB"
  step "$TOPO" plan "$LAB"
  step "$TOPO" apply "$LAB"
  # The pings from the comment at the top of topologies/example.yaml.
  ping1 red   10.10.0.3    # red -> blue, same bridge
  ping1 red   10.10.0.1    # red -> its gateway, the host
  ping1 green 10.20.0.1    # green -> the network gateway
  ping1 blue  10.20.0.10   # blue -> green, over demo-net
  # Converged: nothing left to do (exit 0 with --detailed-exitcode).
  step "$TOPO" plan --detailed-exitcode "$LAB"
  step "$TOPO" destroy "$LAB"
  step ip netns list
  echo
  echo "demo complete: validate, plan, apply, 4 pings, no-op plan, destroy."
'
