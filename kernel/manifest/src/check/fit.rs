//! The hypervisor's own range must at least hold its heap and the guest images it embeds (a
//! necessary condition: the hypervisor's code and data come on top).

use super::Ctx;
use crate::model::Model;
use crate::planner;
use crate::schema::BoardFile;
use crate::size::Bytes;

/// Reports when `[hypervisor] bytes` is smaller than the heap region plus the embedded images.
pub fn check(cx: &mut Ctx<'_>, board: &BoardFile, model: &Model) {
    let arena = bumpalo::Bump::new();
    let plan = planner::plan(&arena, model);
    let heap_bytes = plan.heap.region_bytes as u64;
    let mut paths: Vec<&std::path::Path> = Vec::new();
    let mut image_bytes = 0u64;
    for p in &model.partitions {
        if let Some(image) = p
            .image
            .as_ref()
            .filter(|_| !paths.contains(&p.image_path.as_path()))
        {
            paths.push(&p.image_path);
            image_bytes += image.bytes.len() as u64;
        }
    }
    let needed = heap_bytes.saturating_add(image_bytes);
    if needed > model.hypervisor.bytes {
        let message = format!(
            "the hypervisor's {} cannot hold its heap ({}) and the embedded images ({})",
            Bytes(model.hypervisor.bytes),
            Bytes(heap_bytes),
            Bytes(image_bytes)
        );
        let d = cx.board.error(board.hypervisor.bytes.span(), message);
        cx.push(d.found(Bytes(model.hypervisor.bytes)).accepted(format!("more than {}", Bytes(needed))).hint("enlarge [hypervisor] bytes, or give the partitions fewer CPUs or smaller images"));
    }
}
