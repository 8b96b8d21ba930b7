//! How the builders reach a 4 KiB page: as 512 eight-byte words through [`PageWords`]. Host tests use
//! plain arrays; the kernel implements the trait for its own page type (volatile accesses to memory
//! the processor reads), so nothing is built in a scratch copy.

/// Words in a 4 KiB page.
pub const PAGE_WORDS: usize = 512;

/// A 4 KiB page seen as 512 little-endian u64 words.
pub trait PageWords {
    fn read_word(&self, index: usize) -> u64;
    fn write_word(&mut self, index: usize, value: u64);

    /// Sets every word to `value`.
    fn fill_words(&mut self, value: u64) {
        (0..PAGE_WORDS).for_each(|index| self.write_word(index, value));
    }
}

/// One 4 KiB page in ordinary memory: 512 eight-byte words, 4 KiB aligned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C, align(4096))]
pub struct TablePage(pub [u64; PAGE_WORDS]);

impl TablePage {
    pub const ZERO: TablePage = TablePage([0; PAGE_WORDS]);
}

impl PageWords for TablePage {
    fn read_word(&self, index: usize) -> u64 {
        self.0[index]
    }
    fn write_word(&mut self, index: usize, value: u64) {
        self.0[index] = value;
    }
}

impl PageWords for [u8; 4096] {
    fn read_word(&self, index: usize) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self[8 * index..8 * index + 8]);
        u64::from_le_bytes(word)
    }
    fn write_word(&mut self, index: usize, value: u64) {
        self[8 * index..8 * index + 8].copy_from_slice(&value.to_le_bytes());
    }
}

impl<T: PageWords + ?Sized> PageWords for &mut T {
    fn read_word(&self, index: usize) -> u64 {
        (**self).read_word(index)
    }
    fn write_word(&mut self, index: usize, value: u64) {
        (**self).write_word(index, value)
    }
}

/// Reads bit `bit` of a page seen as a 32768-bit little-endian bitmap.
pub fn page_bit(page: &impl PageWords, bit: usize) -> bool {
    page.read_word(bit / 64) & (1 << (bit % 64)) != 0
}

/// Sets bit `bit` of a page seen as a bitmap.
pub fn set_page_bit(page: &mut impl PageWords, bit: usize) {
    let word = page.read_word(bit / 64);
    page.write_word(bit / 64, word | 1 << (bit % 64));
}

/// Clears bit `bit` of a page seen as a bitmap.
pub fn clear_page_bit(page: &mut impl PageWords, bit: usize) {
    let word = page.read_word(bit / 64);
    page.write_word(bit / 64, word & !(1 << (bit % 64)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn byte_pages_are_little_endian_words() {
        let mut bytes = Box::new([0u8; 4096]);
        bytes.write_word(1, 0x0102_0304_0506_0708);
        assert_eq!(&bytes[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(bytes.read_word(1), 0x0102_0304_0506_0708);
    }

    #[test]
    fn bitmap_bits_follow_byte_order() {
        let mut bytes = Box::new([0xFFu8; 4096]);
        clear_page_bit(&mut *bytes, 9);
        assert_eq!(bytes[1], 0xFD);
        assert!(!page_bit(&*bytes, 9) && page_bit(&*bytes, 8));
        let mut table = Box::new(TablePage::ZERO);
        table.fill_words(7);
        assert_eq!(table.0[511], 7);
    }
}
