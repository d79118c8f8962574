# Plan "main": boot with the kernel's default memory_hotplug.memmap_on_memory.
# HugeTLB pools with and without HVO, namespaces of several sizes, aligns and
# map locations (kept, so later steps show them all), a kmem System RAM device
# with the per-device memmap_on_memory attribute off then on, and removal.
H2=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
H1=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages
HVO=/proc/sys/vm/hugetlb_optimize_vmemmap

begin boot
run cat /proc/cmdline
run cat $OUT/modules.log
snap

# 1 GiB pages first, while memory is least fragmented; hp_set retries after
# dropping caches and compacting (a runtime gigantic page needs a free 1 GiB).
begin hugetlb-1G-x1-hvo0
put 0 $HVO
hp_set 1 $H1
snap

begin hugetlb-1G-x1-hvo1
hp_set 0 $H1
put 1 $HVO
hp_set 1 $H1
snap

begin hugetlb-2M-x128-hvo0
hp_set 0 $H1
put 0 $HVO
hp_set 128 $H2
snap

begin hugetlb-2M-x128-hvo1
hp_set 0 $H2
put 1 $HVO
hp_set 128 $H2
snap

begin hugetlb-released
put 0 $H1
put 0 $H2
put 0 $HVO
snap

# Without the NVDIMM modules (6.19 and 7.1: not in the archive) there is no nd
# bus: the HugeTLB steps above are all this boot can capture.
if [ ! -d /sys/bus/nd/devices ]; then
    echo "no /sys/bus/nd: NVDIMM modules not loaded; namespace, kmem and GUP steps skipped" >> "$LOG"
    return 0 2>/dev/null
fi

begin labels
run ndctl list -D -R -v
run ndctl disable-region all
run ndctl init-labels all -f
run ndctl enable-region all
snap

begin devdax-dev-2M-4G
mkns -m devdax -M dev -a 2M -s 4G
DAX_DEV_2M=$(last_json chardev)
snap

begin devdax-dev-1G-4G
mkns -m devdax -M dev -a 1G -s 4G
DAX_DEV_1G=$(last_json chardev)
snap

begin devdax-dev-4K-1G
mkns -m devdax -M dev -a 4K -s 1G
DAX_DEV_4K=$(last_json chardev)
snap

begin devdax-mem-2M-1G
mkns -m devdax -M mem -a 2M -s 1G
DAX_MEM_2M=$(last_json chardev)
snap

begin devdax-mem-1G-2G
mkns -m devdax -M mem -a 1G -s 2G
DAX_MEM_1G=$(last_json chardev)
snap

begin fsdax-dev-2M-1G
mkns -m fsdax -M dev -a 2M -s 1G
FSDAX_BLK=$(last_json blockdev)
snap

begin fsdax-mem-4K-1G
mkns -m fsdax -M mem -a 4K -s 1G
snap

# kmem: a 2 GiB devdax namespace (map=mem) onlined as System RAM. The
# kernel's auto-online policy is set to offline first (daxctl refuses to race
# a kernel that auto-onlines), so daxctl onlines the blocks (ZONE_MOVABLE).
begin kmem-devdax-mem-2M-2G
mkns -m devdax -M mem -a 2M -s 2G
KD=$(last_json chardev)
echo "kmem device: $KD" >>"$LOG"
run cat /sys/devices/system/memory/auto_online_blocks
put offline /sys/devices/system/memory/auto_online_blocks
run cat /sys/bus/dax/devices/$KD/memmap_on_memory
snap

begin kmem-online-attr0
run cat /sys/module/memory_hotplug/parameters/memmap_on_memory
run cat /sys/bus/dax/devices/$KD/memmap_on_memory
run daxctl reconfigure-device --mode=system-ram $KD
run daxctl list -D -M -d $KD
snap

begin kmem-offline-attr0
run daxctl offline-memory $KD
run daxctl reconfigure-device --mode=devdax -f $KD
snap

begin kmem-online-attr1
put 1 /sys/bus/dax/devices/$KD/memmap_on_memory
run cat /sys/bus/dax/devices/$KD/memmap_on_memory
run daxctl reconfigure-device --mode=system-ram $KD
run daxctl list -D -M -d $KD
snap

begin kmem-offline-attr1
run daxctl offline-memory $KD
run daxctl reconfigure-device --mode=devdax -f $KD
snap

[ -f /capture/plans/gup.sh ] && . /capture/plans/gup.sh

begin removed
run ndctl destroy-namespace all -r all -f
snap
