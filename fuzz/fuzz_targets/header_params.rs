#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mailport_fuzz::header_params::check(data));
