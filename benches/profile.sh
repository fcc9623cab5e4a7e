#!/bin/bash
# Profiles topo at N=1000 in a private namespace (as benches/scale.py does), see docs/performance.md.
#
#   RUSTFLAGS=-Cforce-frame-pointers=yes cargo build --release --target-dir /tmp/topo-fp
#   mkdir -p /tmp/prof && unshare --mount --net --pid --fork --mount-proc --propagation private --kill-child \
#       benches/profile.sh target/release/topo /tmp/topo-fp/release/topo /tmp/prof
#
# Writes into OUT: times (wall s), *.log (TOPO_LOG=topo=debug phase timings), stat-*.txt (perf stat),
# rep-*.txt / noop-*.txt (perf report of apply / no-op plan), sys-comm.txt (system-wide, who else ran).
# Needs perf (apt-get install linux-perf); the VM has no PMU, so it samples cpu-clock.
# runs inside unshare --mount --net --pid --fork --mount-proc --propagation private
set -u
BIN=$(realpath "$1"); FP=$(realpath "$2"); OUT=$(realpath "$3")
# Safety: only as PID 1 of a fresh PID namespace, i.e. under the unshare command above.
[ "$$" = 1 ] && [ -x "$BIN" ] || { echo "usage: run under unshare as in the header; BIN must exist" >&2; exit 2; }
mount -t tmpfs tmpfs /run/netns && mount -t tmpfs tmpfs /run/topo && ip link set lo up || exit 2
cd "$(dirname "$(realpath "$0")")" && python3 -c "import scale; open('$OUT/lab.yaml','w').write(scale.topo_lab(1000, False, True))"
LAB=$OUT/lab.yaml
gone() { while [ "$(ip -o link | wc -l)" != 1 ] || [ -n "$(ls /run/netns)" ]; do sleep 0.005; done; }
export NO_COLOR=1
ts() { date +%s.%N; }
# 1. debug logs: apply from nothing, plan no-op, apply no-op, destroy
a=$(ts); TOPO_LOG=topo=debug $BIN apply $LAB >$OUT/apply.out 2>$OUT/apply.log; b=$(ts); echo "apply $(echo "$b-$a"|bc)" >> $OUT/times
a=$(ts); TOPO_LOG=topo=debug $BIN plan $LAB >$OUT/plan.out 2>$OUT/plan.log; b=$(ts); echo "plan_noop $(echo "$b-$a"|bc)" >> $OUT/times
a=$(ts); TOPO_LOG=topo=debug $BIN apply $LAB >$OUT/noop.out 2>$OUT/noop.log; b=$(ts); echo "apply_noop $(echo "$b-$a"|bc)" >> $OUT/times
perf stat -e task-clock,context-switches -o $OUT/stat-plan.txt $BIN plan $LAB >/dev/null 2>&1
a=$(ts); TOPO_LOG=topo=debug $BIN destroy $LAB >$OUT/destroy.out 2>$OUT/destroy.log; gone; b=$(ts); echo "destroy $(echo "$b-$a"|bc)" >> $OUT/times
sleep 1
# 2. perf stat of apply and destroy (release build)
perf stat -e task-clock,context-switches -o $OUT/stat-apply.txt $BIN apply $LAB >/dev/null 2>&1
perf stat -e task-clock,context-switches -o $OUT/stat-destroy.txt $BIN destroy $LAB >/dev/null 2>&1; gone
sleep 1
# 3. perf record -g of apply (frame-pointer build), system-wide too so kworkers show
if [ -x "$FP" ]; then
  perf record -e cpu-clock -F 999 -g -o $OUT/apply.data $FP apply $LAB >/dev/null 2>$OUT/record.err
  perf report -i $OUT/apply.data --no-children --sort dso --stdio > $OUT/rep-dso.txt 2>/dev/null
  perf report -i $OUT/apply.data --no-children --sort sym --stdio -g none > $OUT/rep-sym.txt 2>/dev/null
  perf report -i $OUT/apply.data --children --sort sym --stdio -g none > $OUT/rep-children.txt 2>/dev/null
  perf record -e cpu-clock -F 999 -g -o $OUT/noop.data $FP plan $LAB >/dev/null 2>>$OUT/record.err
  perf report -i $OUT/noop.data --no-children --sort dso --stdio > $OUT/noop-dso.txt 2>/dev/null
  perf report -i $OUT/noop.data --no-children --sort sym --stdio -g none > $OUT/noop-sym.txt 2>/dev/null
  perf report -i $OUT/noop.data --children --sort sym --stdio -g none > $OUT/noop-children.txt 2>/dev/null
  $FP destroy $LAB >/dev/null 2>&1; gone
  sleep 1
  perf record -a -e cpu-clock -F 999 -g -o $OUT/apply-sys.data $FP apply $LAB >/dev/null 2>>$OUT/record.err
  perf report -i $OUT/apply-sys.data --no-children --sort comm,dso --stdio -g none > $OUT/sys-comm.txt 2>/dev/null
  $FP destroy $LAB >/dev/null 2>&1; gone
fi
echo "left: $(ip -o link | wc -l) links, $(ls /run/netns | wc -l) netns, nft: $(nft list tables)" >> $OUT/times
