//! The rules every manifest follows, checked the same way by the encoder
//! and the decoder, so that one refuses exactly what the other refuses.
//!
//! The checks are incremental (one page entry, then one row, at a time) so
//! that the decoder applies them in its single pass over the bytes.

use super::error::ManifestRule;
use super::header::FRAME_LEN;
use super::manifest::{PageEntry, ROW_ALIGN, RowSlot};

/// Checks the fixed fields of page entry `page` (page `page_id`, in frame
/// `frame`, with `rows` rows): its page id is above `previous_id`, the
/// previous entry's; its frame is below `frame_count`; it has rows.
pub(super) fn check_page(
    page: u32,
    page_id: u32,
    frame: u32,
    rows: u32,
    previous_id: Option<u32>,
    frame_count: u32,
) -> Result<(), ManifestRule> {
    if let Some(previous) = previous_id
        && page_id <= previous
    {
        return Err(ManifestRule::PageIdNotAscending {
            page,
            page_id,
            previous,
        });
    }
    if frame >= frame_count {
        return Err(ManifestRule::FrameOutOfRange {
            page,
            page_id,
            frame,
            frame_count,
        });
    }
    if rows == 0 {
        return Err(ManifestRule::NoRows { page, page_id });
    }
    Ok(())
}

/// Checks row `row` of page entry `page` (page `page_id`), whose previous
/// row's slot ends at `previous_end` (0 for the first row), and returns
/// where this row's slot ends.
///
/// The rules: a length of at least 1; an offset that is a multiple of
/// [`ROW_ALIGN`]; a slot inside the page; an offset at or after
/// `previous_end`, which makes rows strictly ascending and disjoint.
pub(super) fn check_row(
    page: u32,
    page_id: u32,
    row: u32,
    slot: RowSlot,
    previous_end: u32,
) -> Result<u32, ManifestRule> {
    let RowSlot { offset, len } = slot;
    if len == 0 {
        return Err(ManifestRule::EmptyRow { page, page_id, row });
    }
    if !usize::from(offset).is_multiple_of(ROW_ALIGN) {
        return Err(ManifestRule::RowMisaligned {
            page,
            page_id,
            row,
            offset,
        });
    }
    // At most 65,535 + 65,536: no overflow in usize.
    let end = usize::from(offset) + slot.slot_size();
    if end > FRAME_LEN {
        return Err(ManifestRule::RowPastPageEnd {
            page,
            page_id,
            row,
            offset,
            len,
        });
    }
    if u32::from(offset) < previous_end {
        return Err(ManifestRule::RowOverlap {
            page,
            page_id,
            row,
            offset,
            previous_end,
        });
    }
    // At most FRAME_LEN (65,536) by the check above.
    Ok(end as u32)
}

/// Checks that no two page entries are in the same frame. If some are,
/// returns the first entry (in manifest order) whose frame an earlier entry
/// is in, and the fault, which also names the first entry in that frame.
///
/// Sorts a copy of the frames (8 bytes per page): the frame count may be
/// anything up to `u32::MAX`, so a bitmap over the frames could be huge.
pub(super) fn check_frames_distinct(pages: &[PageEntry]) -> Result<(), (u32, ManifestRule)> {
    if pages.len() < 2 {
        return Ok(());
    }
    let mut frames: Vec<(u32, u32)> = pages.iter().map(|entry| entry.frame).zip(0u32..).collect();
    frames.sort_unstable();
    // In a run of equal frames, sorted by entry index, the second element is
    // the first repeat of that frame and the first element the first entry
    // in it; the first repeat overall is the smallest such second element.
    let repeat = frames
        .iter()
        .zip(frames.iter().skip(1))
        .filter(|((frame, _), (next, _))| frame == next)
        .min_by_key(|(_, (_, later))| *later);
    let Some((&(frame, earlier_page), &(_, page))) = repeat else {
        return Ok(());
    };
    let page_id = pages
        .get(page as usize)
        .map_or(0, |entry: &PageEntry| entry.page_id);
    Err((
        page,
        ManifestRule::FrameShared {
            page,
            page_id,
            frame,
            earlier_page,
        },
    ))
}
