//! Unit tests for the measurement helpers in `examples/common/mod.rs`, which
//! the examples and benches share: a wrong median or a malformed JSON row
//! would silently corrupt every number they print.

#[path = "../examples/common/mod.rs"]
mod common;

use common::{
    fmt_value, json_string, median, parse_millis, parse_usize_list, percentile, rows_to_json, thread_cpu_time, Row,
    XorShift,
};
use std::time::Duration;

#[test]
fn median_of_odd_even_and_empty() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    assert_eq!(median(&[7.0]), 7.0);
    assert!(median(&[]).is_nan());
}

#[test]
fn percentile_is_nearest_rank() {
    let v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
    assert_eq!(percentile(&v, 99.0), 99.0);
    assert_eq!(percentile(&v, 50.0), 50.0);
    assert_eq!(percentile(&v, 100.0), 100.0);
    assert_eq!(percentile(&v, 0.0), 1.0);
    // Few samples: p99 of 10 values is the largest.
    let few: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&few, 99.0), 10.0);
    assert!(percentile(&[], 50.0).is_nan());
}

#[test]
fn json_rows_have_the_six_keys_and_escape_strings() {
    let r = Row::new("barrier", "hy\"brid", 8, "crossing_time", 1.5, "us");
    assert_eq!(
        r.to_json(),
        r#"{"primitive":"barrier","policy":"hy\"brid","threads":8,"metric":"crossing_time","value":1.5,"unit":"us"}"#
    );
    let nan = Row::new("gate", "std", 2, "release_p99", f64::NAN, "us");
    assert!(nan.to_json().contains(r#""value":null"#), "{}", nan.to_json());
    let all = rows_to_json(&[r, nan]);
    assert!(all.starts_with("[\n") && all.ends_with("\n]"), "{all}");
    assert_eq!(all.matches("\"primitive\"").count(), 2);
    assert_eq!(json_string("a\\b\n\u{1}"), r#""a\\b\n\u0001""#);
}

#[test]
fn flag_errors_name_the_flag_and_the_value() {
    assert_eq!(parse_usize_list("--threads", "2,4,4,8", 2, 256).unwrap(), vec![2, 4, 8]);
    let e = parse_usize_list("--threads", "2,x", 2, 256).unwrap_err().to_string();
    assert!(e.contains("--threads") && e.contains("2,x"), "{e}");
    let e = parse_usize_list("--threads", "1", 2, 256).unwrap_err().to_string();
    assert!(e.contains("--threads") && e.contains("outside"), "{e}");
    assert_eq!(parse_millis("--duration-ms", "250", 1000).unwrap(), Duration::from_millis(250));
    for bad in ["0", "-3", "1.5", "", "1001"] {
        let e = parse_millis("--duration-ms", bad, 1000).unwrap_err().to_string();
        assert!(e.contains("--duration-ms") && e.contains(&format!("{bad:?}")), "{e}");
    }
}

#[test]
fn xorshift_durations_stay_in_range_and_vary() {
    let (lo, hi) = (Duration::from_micros(200), Duration::from_millis(2));
    let mut rng = XorShift::new(7);
    let draws: Vec<Duration> = (0..1000).map(|_| rng.duration_between(lo, hi)).collect();
    assert!(draws.iter().all(|d| (lo..=hi).contains(d)));
    assert!(draws.iter().any(|d| *d < Duration::from_micros(600)));
    assert!(draws.iter().any(|d| *d > Duration::from_micros(1600)));
    assert_eq!(XorShift::new(0).duration_between(lo, lo), lo);
}

#[test]
#[cfg_attr(miri, ignore)] // clock_gettime(CLOCK_THREAD_CPUTIME_ID) is not modelled by Miri
fn thread_cpu_time_grows_with_work() {
    let before = thread_cpu_time();
    let mut x = 1u64;
    for i in 0..20_000_000u64 {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    std::hint::black_box(x);
    let after = thread_cpu_time();
    assert!(after > before, "thread CPU time did not grow: {before:?} -> {after:?}");
}

#[test]
fn table_numbers_keep_a_few_digits() {
    assert_eq!(fmt_value(0.2849), "0.28");
    assert_eq!(fmt_value(46.07), "46.1");
    assert_eq!(fmt_value(15994.4), "15994");
    assert_eq!(fmt_value(f64::NAN), "-");
}
