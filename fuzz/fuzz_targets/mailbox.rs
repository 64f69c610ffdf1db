#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailport_fuzz::mailbox::check(data));
