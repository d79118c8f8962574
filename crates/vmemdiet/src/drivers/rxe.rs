//! Soft-RoCE's user MR (`drivers/infiniband/sw/rxe/rxe_mr.c`): one page-map entry per
//! PAGE_SIZE page of the region.
//!
//! `rxe_mr_init_user` pins through `ib_umem_get`, then `rxe_mr_fill_pages_from_sgt` walks the
//! scatterlist one PAGE_SIZE page at a time (`__sg_page_iter_next`) and stores each page's
//! `struct page *` at the next index of `mr->page_list` (`xas_store`); `rxe_mr_cleanup` frees
//! the map with `xa_destroy` after `ib_umem_release`. The xarray is 6.3's (592627ccbdff,
//! "RDMA/rxe: Replace rxe_map and rxe_phys_buf by xarray"); earlier kernels (v5.10, the RFC)
//! filled preallocated arrays of `RXE_BUF_PER_MAP` buffers instead, also one store per page,
//! so the model keeps the xarray for every profile: what scales with the region is the
//! per-page walk and store. Left out: the `IB_ACCESS_FLUSH_PERSISTENT` check
//! (`is_pmem_page`, a `region_intersects` per page) that only flush-capable MRs pay.

use crate::addr::ByteSize;
use crate::arch::Geometry;
use crate::drivers::ib_umem::IbUmem;
use crate::mm::page::PagePtr;

/// `XA_CHUNK_SHIFT`: each xarray node has 64 slots.
const XA_CHUNK_SHIFT: u32 = 6;
const XA_CHUNK_SIZE: usize = 1 << XA_CHUNK_SHIFT;

/// The slot of `index` in a node `level` levels above the bottom.
fn slot_index(index: u64, level: u32) -> usize {
    let i = index.checked_shr(XA_CHUNK_SHIFT * level).unwrap_or(0) & (XA_CHUNK_SIZE as u64 - 1);
    usize::try_from(i).unwrap_or(0)
}

/// A slot of an xarray node: a child node (above the bottom level) or an entry (in it).
#[derive(Debug)]
enum XaSlot {
    Node(Box<XaNode>),
    Entry(PagePtr),
}

/// `struct xa_node`: 64 slots.
#[derive(Debug)]
struct XaNode {
    slots: [Option<XaSlot>; XA_CHUNK_SIZE],
}

impl XaNode {
    fn new() -> Box<XaNode> {
        Box::new(XaNode {
            slots: std::array::from_fn(|_| None),
        })
    }
}

/// `struct xarray` holding page pointers: a radix tree of 64-slot nodes whose height grows
/// with the largest index stored (`xas_expand`); a lone entry at index 0 sits in the head
/// without a node, as in `lib/xarray.c`.
#[derive(Debug, Default)]
pub struct XArray {
    head: Option<XaSlot>,
    /// Levels of nodes under the head: 0 when the head is empty or an entry.
    height: u32,
    /// Nodes allocated and not yet freed.
    nodes: u64,
}

impl XArray {
    /// True if `height` levels of nodes cover `index` (below `64^height`).
    fn fits(index: u64, height: u32) -> bool {
        index.checked_shr(XA_CHUNK_SHIFT * height).unwrap_or(0) == 0
    }

    /// `xa_store(xa, index, page)`: adds levels on top until `index` fits, then allocates
    /// the nodes on its path that do not exist yet.
    pub fn store(&mut self, index: u64, page: PagePtr) {
        if self.height == 0 && index == 0 && !matches!(self.head, Some(XaSlot::Node(_))) {
            self.head = Some(XaSlot::Entry(page));
            return;
        }
        while self.height == 0 || !Self::fits(index, self.height) {
            let mut top = XaNode::new();
            top.slots[0] = self.head.take();
            self.head = Some(XaSlot::Node(top));
            self.nodes += 1;
            self.height += 1;
        }
        let mut slot = &mut self.head;
        for level in (0..self.height).rev() {
            let Some(XaSlot::Node(node)) = slot else {
                unreachable!("levels above the bottom hold nodes");
            };
            let i = slot_index(index, level);
            slot = &mut node.slots[i];
            if level > 0 && slot.is_none() {
                *slot = Some(XaSlot::Node(XaNode::new()));
                self.nodes += 1;
            }
        }
        *slot = Some(XaSlot::Entry(page));
    }

    /// `xa_load(xa, index)`.
    #[must_use]
    pub fn load(&self, index: u64) -> Option<PagePtr> {
        if !Self::fits(index, self.height) {
            return None;
        }
        let mut slot = self.head.as_ref()?;
        for level in (0..self.height).rev() {
            let XaSlot::Node(node) = slot else {
                return None;
            };
            slot = node.slots[slot_index(index, level)].as_ref()?;
        }
        match slot {
            XaSlot::Entry(p) => Some(*p),
            XaSlot::Node(_) => None,
        }
    }

    /// Nodes allocated.
    #[must_use]
    pub fn nodes(&self) -> u64 {
        self.nodes
    }

    /// True if nothing is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// `xa_destroy`: empties the array, freeing every node (`xas_free_nodes` walks them);
    /// returns how many were freed.
    pub fn destroy(&mut self) -> u64 {
        fn free(node: Box<XaNode>) -> u64 {
            1 + node
                .slots
                .into_iter()
                .map(|s| match s {
                    Some(XaSlot::Node(n)) => free(n),
                    Some(XaSlot::Entry(_)) | None => 0,
                })
                .sum::<u64>()
        }
        let freed = match self.head.take() {
            Some(XaSlot::Node(n)) => free(n),
            Some(XaSlot::Entry(_)) | None => 0,
        };
        self.height = 0;
        self.nodes -= freed;
        freed
    }
}

/// `rxe_mr_fill_pages_from_sgt`: stores every PAGE_SIZE page of the scatterlist, in order,
/// at consecutive indices of `map`; returns the pages stored.
pub fn rxe_mr_fill_pages_from_sgt(g: &Geometry, umem: &IbUmem, map: &mut XArray) -> u64 {
    let p = ByteSize::new(g.page_size());
    let mut nbuf = 0;
    for e in &umem.sgt {
        // `for_each_sgtable_page`: each page of the entry.
        for i in 0..e.length / p.bytes() {
            map.store(nbuf, e.page.nth(g, i));
            nbuf += 1;
        }
    }
    nbuf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::VirtAddr;

    fn page(i: u64) -> PagePtr {
        PagePtr(VirtAddr::new(0xffff_ea00_0000_0000 + 64 * i))
    }

    #[test]
    fn xarray_nodes_grow_with_the_largest_index_and_destroy_frees_them_all() {
        let mut xa = XArray::default();
        xa.store(0, page(0));
        assert_eq!(xa.nodes(), 0, "a lone index 0 lives in the head");
        xa.store(1, page(1));
        assert_eq!(xa.nodes(), 1);
        for i in 2..512 {
            xa.store(i, page(i));
        }
        // 512 entries: 8 leaf nodes under one root.
        assert_eq!(xa.nodes(), 9);
        assert_eq!(xa.load(0), Some(page(0)));
        assert_eq!(xa.load(511), Some(page(511)));
        assert_eq!(xa.load(512), None);
        xa.store(4096, page(4096));
        // A third level: a new root, a new second-level node and a leaf.
        assert_eq!(xa.nodes(), 12);
        assert_eq!(xa.load(4096), Some(page(4096)));
        assert_eq!(xa.load(300), Some(page(300)));
        assert_eq!(xa.destroy(), 12);
        assert_eq!(xa.nodes(), 0);
        assert!(xa.is_empty());
        assert_eq!(xa.load(0), None);
    }
}
