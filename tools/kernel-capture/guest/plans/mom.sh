# Plan "mom": booted with memory_hotplug.memmap_on_memory=1. A kmem System RAM
# device with the per-device memmap_on_memory attribute off then on, for a
# map=mem and a map=dev devdax namespace, and removal.
begin boot
run cat /proc/cmdline
run cat $OUT/modules.log
snap

begin labels
run cat /sys/devices/system/memory/auto_online_blocks
put offline /sys/devices/system/memory/auto_online_blocks
run ndctl disable-region all
run ndctl init-labels all -f
run ndctl enable-region all
snap

for MAP in mem dev; do
    begin kmem-devdax-$MAP-2M-2G
    mkns -m devdax -M $MAP -a 2M -s 2G
    KD=$(last_json chardev)
    echo "kmem device: $KD" >>"$LOG"
    run cat /sys/bus/dax/devices/$KD/memmap_on_memory
    snap

    for A in 0 1; do
        begin kmem-$MAP-online-attr$A
        put $A /sys/bus/dax/devices/$KD/memmap_on_memory
        run cat /sys/module/memory_hotplug/parameters/memmap_on_memory
        run cat /sys/bus/dax/devices/$KD/memmap_on_memory
        run daxctl reconfigure-device --mode=system-ram $KD
        run daxctl list -D -M -d $KD
        snap

        begin kmem-$MAP-offline-attr$A
        run daxctl offline-memory $KD
        run daxctl reconfigure-device --mode=devdax -f $KD
        snap
    done
done

begin removed
run ndctl destroy-namespace all -r all -f
snap
