#!/usr/bin/env bash
# The bundled example lab, end to end, in a private network + mount namespace:
# nothing it creates is visible to the machine, and all of it vanishes when
# the script ends. Needs root (unshare), cargo and util-linux (unshare,
# mount); the lab's connectivity is checked by `topo test` (topo's own
# probes), so no ping, socat or iproute2 is needed.
#   bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: needs root (it unshares network and mount namespaces); try: sudo bash scripts/demo.sh" >&2; exit 1; }

cargo build --release --quiet
export TOPO="${CARGO_TARGET_DIR:-target}/release/topo" LAB=topologies/example.yaml

exec unshare --mount --net --propagation private bash -euo pipefail -c '
  mkdir -p /run/netns /run/topo
  mount -t tmpfs tmpfs /run/netns
  mount -t tmpfs tmpfs /run/topo
  if [ -t 1 ]; then b=$(printf "\033[1m"); n=$(printf "\033[0m"); else b=; n=; fi
  step() { printf "\n%s\$ %s%s\n" "$b" "$*" "$n"; "$@"; }

  step "$TOPO" validate "$LAB"
  step "$TOPO" plan "$LAB"
  step "$TOPO" apply "$LAB"
  # The checks under `tests:` in topologies/example.yaml: the pings from its
  # comment, an address no one has, a TCP connection that a listener topo
  # starts in blue must see coming from red, and a pingall.
  step "$TOPO" test "$LAB"
  # Converged: nothing left to do (exit 0 with --detailed-exitcode).
  step "$TOPO" plan --detailed-exitcode "$LAB"
  step "$TOPO" destroy "$LAB"
  step ls -A /run/netns
  echo
  echo "demo complete: validate, plan, apply, test, no-op plan, destroy."
'
