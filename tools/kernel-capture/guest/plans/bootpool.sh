# Plan "bootpool" (boots hvoboot0 and hvoboot1): HugeTLB pools reserved on the
# kernel command line (hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=128)
# with hugetlb_free_vmemmap=off or =on, i.e. HVO applied (or not) at boot,
# then both pools released.
H2=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
H1=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages

begin boot
run cat /proc/cmdline
run cat $OUT/modules.log
run cat $H1
run cat $H2
snap

begin pools-released
hp_set 0 $H1
hp_set 0 $H2
snap
