# GUP paths (sourced by main.sh while its devdax namespaces exist): kprobe hit
# counts of the GUP, follow_page and dev_dax fault functions around pins of
# each devdax mapping, by /usr/bin/gup-pin (fault, odirect, iouring, vmsplice,
# procvm; see gup-pin.c). Debian kernels have no CONFIG_GUP_TEST and no
# CONFIG_FUNCTION_PROFILER, hence kprobes. Output: NN-gup-*/gup/<mode>.hits
# ("function hits" for the functions hit), gup/<mode>.out, gup/probes.txt.
T=/sys/kernel/tracing
GUP_RE=' [tT] (gup_fast[a-z_]*|__gup_[a-z_]*|__get_user_pages[a-z_]*|get_user_pages[a-z_]*|pin_user_pages[a-z_]*|internal_get_user_pages_fast|follow_page_mask|follow_page_pte|follow_p[mu4]d_mask|follow_huge_p[mu]d|follow_devmap_p[mu]d|try_grab_folio[a-z_]*|try_grab_page|check_and_migrate_movable_[a-z_]*|collect_longterm_unpinnable_[a-z_]*|faultin_page|dev_dax_huge_fault|dev_dax_fault|__dev_dax_p[tmu][de]_fault|vmf_insert_(pfn|folio|mixed)[a-z_]*|insert_pfn[a-z_]*|insert_pmd|insert_pud|unpin_user_page[a-z_]*|io_pin_pages|iov_iter_extract_pages)([[:space:]]+\[[a-z_0-9]+\])?$'

gup_setup() {
    [ -x /usr/bin/gup-pin ] && [ -w $T/kprobe_events ] || return 1
    echo 0 > $T/tracing_on
    echo 64 > $T/buffer_size_kb
    GUP_FNS=$(grep -E "$GUP_RE" /proc/kallsyms | awk '{print $3}' | sort -u)
    for f in $GUP_FNS; do
        echo "p:gup/$f $f" >> $T/kprobe_events 2>/dev/null || echo "cannot probe $f" >> /tmp/gup-probes.err
    done
    echo 1 > $T/events/gup/enable
}

# gup_run NAME DAX MAPBYTES PINBYTES [SRC]
gup_run() {
    local name=$1; shift
    mkdir -p "$D/gup"
    cp $T/kprobe_profile /tmp/kp.before
    /usr/bin/gup-pin $name "$@" > "$D/gup/$name.out" 2>&1
    echo "rc=$?" >> "$D/gup/$name.out"
    cp $T/kprobe_profile /tmp/kp.after
    awk 'NR==FNR { b[$1]=$2; next } { d=$2-b[$1]; if (d>0) { sub("^gup/","",$1); print $1, d } }' \
        /tmp/kp.before /tmp/kp.after > "$D/gup/$name.hits"
}

if gup_setup; then
    GUP_OK=1
else
    GUP_OK=
    echo "gup: no /usr/bin/gup-pin or no kprobe_events; skipped" >> "$LOG"
fi
PIN=$((8 << 20))
for spec in "dev-2M:$DAX_DEV_2M:2097152" "dev-1G:$DAX_DEV_1G:1073741824" "dev-4K:$DAX_DEV_4K:2097152" \
            "mem-2M:$DAX_MEM_2M:2097152" "mem-1G:$DAX_MEM_1G:1073741824"; do
    [ -n "$GUP_OK" ] || break
    label=${spec%%:*}; rest=${spec#*:}; dax=${rest%%:*}; map=${rest#*:}
    [ -n "$dax" ] && [ -c /dev/$dax ] || continue
    [ $map -lt $PIN ] && map=$PIN
    begin gup-$label-$dax
    echo "device /dev/$dax map $map pin $PIN source ${FSDAX_BLK:-none}" >> "$LOG"
    for mode in fault odirect iouring vmsplice procvm; do
        gup_run $mode /dev/$dax $map $PIN /dev/${FSDAX_BLK:-pmem-none}
        echo "$mode: $(head -n 1 "$D/gup/$mode.out")" >> "$LOG"
    done
    echo "$GUP_FNS" > "$D/gup/probes.txt"
    cp /tmp/gup-probes.err "$D/gup/probes.err" 2>/dev/null
    snap_light
done
[ -n "$GUP_OK" ] && { echo 0 > $T/events/gup/enable; echo > $T/kprobe_events; }
