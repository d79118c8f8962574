# Step machinery for the capture plans (sourced by /init; busybox ash).
#
#   begin NAME   start step NN-NAME (NN counts from capture.step0)
#   run CMD...   run CMD, appending "+ CMD", its output and "rc=N" to the
#                step's commands.log; never aborts the plan
#   put VAL F    echo VAL > F through run (sysfs/procfs writes)
#   snap         save the current state into $OUT/NN-NAME/ (paths mirror /)
#   snap_light   only proc/vmstat, proc/meminfo and dmesg.txt
#
# The saved tree is a fake root for `vmemdiet probe --root`.

STEPNO=$STEP0
D=
LOG=/dev/null

begin() {
    D=$OUT/$(printf %02d $STEPNO)-$1
    STEPNO=$((STEPNO + 1))
    mkdir -p "$D"
    LOG=$D/commands.log
    : > "$LOG"
    T0=$(cut -d' ' -f1 /proc/uptime)
    say "step ${D##*/}"
}

run() {
    echo "+ $*" >>"$LOG"
    "$@" >>"$LOG" 2>&1
    rc=$?
    echo "rc=$rc" >>"$LOG"
    return $rc
}

put() {
    echo "+ echo $1 > $2" >>"$LOG"
    echo "$1" > "$2" 2>>"$LOG"
    rc=$?
    echo "rc=$rc" >>"$LOG"
    return $rc
}

# hp_set N FILE: set a HugeTLB pool size, retrying (drop caches, compact) up
# to 5 times until the kernel reports N.
hp_set() {
    local i=0 got
    while [ $i -lt 5 ]; do
        put "$1" "$2"
        read -r got < "$2"
        echo "  $2 = $got" >>"$LOG"
        [ "$got" = "$1" ] && return 0
        echo 3 > /proc/sys/vm/drop_caches
        echo 1 > /proc/sys/vm/compact_memory
        sleep 1
        i=$((i + 1))
    done
    return 1
}

# Copy one text file with shell builtins only (no fork: forks are slow under
# TCG). A write-only sysfs attribute reads as an error and is dropped.
cpf() {
    [ -f "$1" ] || return 0
    mkdir -p "${2%/*}"
    cpt "$1" "$2"
}
cpt() {
    local l
    { while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done < "$1"; } > "$2" 2>/dev/null
    [ -s "$2" ] || { [ -r "$1" ] && read -r l < "$1"; } 2>/dev/null || rm -f "$2"
}

# Copy a sysfs device directory: its attribute files, and sub-directories to
# DEPTH levels, never following symlinks (driver, subsystem, ...) and never
# descending into sibling devices that the bus lists on their own.
copy_dev() {
    local s=$1 t=$2 depth=$3 nodax=$4 e n
    mkdir -p "$t"
    for e in "$s"/*; do
        [ -e "$e" ] || continue
        n=${e##*/}
        if [ -L "$e" ]; then
            continue
        elif [ -d "$e" ]; then
            case $n in
                power|subsystem|driver|firmware_node|namespace*|pfn*|btt*|region*|nmem*|ndbus*|memory[0-9]*) continue ;;
                block|holders|slaves|queue|integrity|trace|mq) continue ;;
                dax[0-9]*) [ -n "$nodax" ] && continue ;;
            esac
            [ "$depth" -gt 0 ] && copy_dev "$e" "$t/$n" $((depth - 1))
        elif [ -f "$e" ]; then
            case $n in uevent|modalias|devtype|dev|driver_override) continue ;; esac
            cpt "$e" "$t/$n"
        fi
    done
}

# One line per memory block instead of the memoryN directories.
mem_blocks() {
    local m n pi st on vz rm nd
    for m in /sys/devices/system/memory/memory[0-9]*; do
        [ -d "$m" ] || continue
        n=${m##*/memory}
        pi=; st=; on=; vz=; rm=; nd=
        read -r pi < $m/phys_index
        read -r st < $m/state
        read -r on < $m/online
        read -r vz < $m/valid_zones
        read -r rm < $m/removable
        for nd in $m/node[0-9]*; do nd=${nd##*/node}; done
        echo "$n memory$n phys_index=$pi state=$st online=$on valid_zones=${vz// /,} removable=$rm node=$nd"
    done 2>/dev/null | sort -n | cut -d' ' -f2-
}

# The light capture of a step that changes no device (the GUP steps): vmstat,
# meminfo and dmesg only; the step's own files (gup/) are already in $D.
snap_light() {
    cpf /proc/vmstat "$D/proc/vmstat"
    cpf /proc/meminfo "$D/proc/meminfo"
    dmesg -c > "$D/dmesg.txt" 2>&1
    echo "$T0 $(cut -d' ' -f1 /proc/uptime)" | awk '{printf "step took %.1f s (guest uptime %.1f s)\n", $2-$1, $2}' >> "$LOG"
    sync
}

snap() {
    local d f n
    cpf /proc/version "$D/proc/version"
    uname -a > "$D/uname-a.txt"
    for f in vmstat meminfo zoneinfo iomem buddyinfo cmdline modules \
             sys/kernel/osrelease sys/vm/hugetlb_optimize_vmemmap \
             sys/vm/nr_hugepages sys/vm/nr_overcommit_hugepages; do
        cpf /proc/$f "$D/proc/$f"
    done
    for d in /sys/kernel/mm/hugepages/hugepages-*; do
        [ -d "$d" ] && copy_dev "$d" "$D$d" 0
    done
    for d in /sys/bus/nd/devices/*; do
        [ -e "$d" ] || continue
        n=${d##*/}
        case $n in ndbus*) copy_dev "$d" "$D/sys/bus/nd/devices/$n" 0 ;;
                   region*|nmem*) copy_dev "$d" "$D/sys/bus/nd/devices/$n" 1 nodax ;;
                   *) copy_dev "$d" "$D/sys/bus/nd/devices/$n" 3 ;; esac
    done
    for d in /sys/bus/dax/devices/*; do
        [ -e "$d" ] && copy_dev "$d" "$D/sys/bus/dax/devices/${d##*/}" 2
    done
    m=$D/sys/devices/system/memory
    mkdir -p "$m"
    for f in block_size_bytes auto_online_blocks; do
        cpf /sys/devices/system/memory/$f "$m/$f"
    done
    mem_blocks > "$m/blocks.txt"
    for d in /sys/devices/system/node/node[0-9]*; do
        [ -d "$d" ] || continue
        cpf "$d/meminfo" "$D$d/meminfo"
        cpf "$d/cpulist" "$D$d/cpulist"
    done
    for f in /sys/module/memory_hotplug/parameters/* /sys/module/hugetlb*/parameters/*; do
        [ -f "$f" ] && cpf "$f" "$D$f"
    done
    mkdir -p "$D/cmd"
    ndctl list -N -v > "$D/cmd/ndctl-list-N-v.json" 2>"$D/cmd/ndctl-list-N-v.err"
    ndctl list -R -v > "$D/cmd/ndctl-list-R-v.json" 2>"$D/cmd/ndctl-list-R-v.err"
    daxctl list > "$D/cmd/daxctl-list.json" 2>"$D/cmd/daxctl-list.err"
    daxctl list -R -D -M > "$D/cmd/daxctl-list-R-D-M.json" 2>"$D/cmd/daxctl-list-R-D-M.err"
    for f in "$D"/cmd/*.err; do [ -s "$f" ] || rm -f "$f"; done
    dmesg -c > "$D/dmesg.txt" 2>&1
    echo "$T0 $(cut -d' ' -f1 /proc/uptime)" | awk '{printf "step took %.1f s (guest uptime %.1f s)\n", $2-$1, $2}' >> "$LOG"
    sync
}

# "chardev":"dax0.3" or "blockdev":"pmem0.1" from ndctl's JSON in the step log.
last_json() {
    grep -o "\"$1\":\"[^\"]*\"" "$LOG" | tail -n 1 | cut -d'"' -f4
}

# ndctl create-namespace with the given options; the namespace name ends in $NS.
mkns() {
    run ndctl create-namespace -r region0 "$@"
    NS=$(last_json dev)
}
