//! Fuzzing by property: whatever a scenario file holds, reading it never panics
//! and a refusal is one line; whatever a station is called, the text report
//! renders.
//!
//! Three sources of input, each a few hundred cases so that `cargo test` stays
//! quick:
//!
//! - raw bytes, and a "token soup" of TOML fragments (brackets, dotted keys,
//!   quotes, huge and negative numbers) that reaches the parser's corners
//!   faster than random bytes do;
//! - structured TOML: real tables built from random known and unknown keys and
//!   values of every TOML type, so that validation (not only the parser) sees
//!   strange input;
//! - reports with random station and region names, huge and odd ones included.
//!
//! Whatever is accepted is also checked against a time scale, modelled, and run
//! by the reference at time scale 0 (logical time: nothing waits), so a
//! scenario that validation accepts but the pipeline cannot handle shows up
//! here.

use proptest::prelude::*;
use rosetta_pipeline::report::{Report, StationRow};
use rosetta_pipeline::tenths::Tenths;
use rosetta_pipeline::{RunOptions, Scenario, Trace, model, reference};

/// The cases per property: enough to find the easy bugs on every run, few
/// enough for seconds.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 192,
        ..ProptestConfig::default()
    }
}

/// A refusal must be one non-empty line that names the file.
fn assert_one_line(message: &str) {
    assert!(!message.is_empty());
    assert!(
        !message.contains(['\n', '\r']),
        "more than one line: {message:?}"
    );
    assert!(message.starts_with("fuzz.toml"), "no file: {message:?}");
}

/// Reads `text` as a scenario and, if it is accepted, puts it through
/// everything a run does.
fn exercise(text: &str, time_scale: f64) {
    match Scenario::from_toml(text, "fuzz.toml") {
        Err(err) => assert_one_line(&err.to_string()),
        Ok(scenario) => {
            scenario.validate().expect("accepted means valid");
            if let Err(err) = scenario.check_time_scale(time_scale, "fuzz.toml")
            {
                assert_one_line(&err.to_string());
            }
            let ideal = model::ideal(&scenario);
            let _ = model::describe_ms(ideal.total_ms);
            let report = reference::run(
                &scenario,
                &RunOptions::with_time_scale(0.0),
                &Trace::new(),
            )
            .expect("the reference always finishes");
            let _ = report.to_string();
            let _ = report.to_json();
        }
    }
}

/// TOML fragments that make the parser and validation work hard.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "name",
        "about",
        "settings",
        "registry",
        "sources",
        "latency_ms",
        "timeout_ms",
        "concurrency",
        "workers",
        "retries",
        "lookup_ms",
        "channel_capacity",
        "fault",
        "body",
        "hang",
        "first",
        "=",
        " = ",
        "\"x\"",
        "\"\"",
        "'a'",
        "\"\"\"",
        "[settings]",
        "[[sources]]",
        "[registry]",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        "\n",
        "\r\n",
        "#",
        "\\",
        "\"a\\nb\"",
        "0",
        "1",
        "-1",
        "400",
        "3600001",
        "9223372036854775808",
        "18446744073709551615",
        "1e308",
        "nan",
        "inf",
        "true",
        "1979-05-27",
        "a.a.a.a.a.a",
        "é",
        "\u{2028}",
        "\u{1b}[2J",
    ])
}

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..60).prop_map(|tokens| tokens.concat())
}

fn time_scale() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![
        0.0,
        1e-9,
        0.01,
        0.05,
        1.0,
        1000.0,
        1e308,
        -1.0,
        f64::NAN,
        f64::INFINITY,
    ])
}

/// A TOML value of any type, biased towards the numbers and strings validation
/// cares about.
fn value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        4 => prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(400),
            Just(3_600_000),
            Just(3_600_001),
            Just(i64::MAX),
            Just(i64::MIN),
            any::<i64>(),
        ]
        .prop_map(toml::Value::Integer),
        3 => prop_oneof![
            Just("none".to_string()),
            Just("hang".to_string()),
            Just("a\nb".to_string()),
            Just("Oslo;3.5\nBergen;x\n".to_string()),
            ".{0,12}",
        ]
        .prop_map(toml::Value::String),
        1 => any::<bool>().prop_map(toml::Value::Boolean),
        1 => any::<f64>().prop_map(toml::Value::Float),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(toml::Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|map| toml::Value::Table(map.into_iter().collect())),
        ]
    })
}

/// A key: mostly the scenario format's own, sometimes one it does not know.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "name", "about", "concurrency", "workers", "timeout_ms", "retries", "lookup_ms",
            "channel_capacity", "latency_ms", "fault", "body", "Oslo",
        ])
        .prop_map(str::to_string),
        1 => "[a-z_]{1,8}",
        1 => ".{0,6}",
    ]
}

/// A number for a setting or a latency: mostly small and plausible, sometimes
/// an edge.
fn number() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        12 => (0i64..1_000).prop_map(toml::Value::Integer),
        1 => value(),
    ]
}

/// A latency: mostly well below or well above the default timeout (400 ms), so
/// that the ratio rule lets many sources through.
fn latency() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        12 => (0i64..150).prop_map(toml::Value::Integer),
        4 => (900i64..3_000).prop_map(toml::Value::Integer),
        1 => number(),
    ]
}

/// Mostly right, sometimes anything: how a learner's edited file looks.
fn mostly(
    right: impl Strategy<Value = toml::Value>,
) -> impl Strategy<Value = toml::Value> {
    prop_oneof![24 => right, 1 => value()]
}

/// One `[[sources]]` table: a name, a latency, maybe a fault and a body, maybe
/// a stray key.
fn source() -> impl Strategy<Value = toml::Table> {
    let fault = prop::sample::select(vec![
        "none",
        "first",
        "always",
        "hang",
        "sometimes",
    ])
    .prop_map(|fault| toml::Value::String(fault.to_string()));
    let body = prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec!["Oslo;3.5", "Bergen;-1.0", "Riga;99.9", "Nowhere;0.0"])
                .prop_map(str::to_string),
            1 => ".{0,12}",
        ],
        0..5,
    )
    .prop_map(|lines| toml::Value::String(lines.join("\n")));
    (
        prop::option::weighted(
            0.95,
            mostly(".{0,8}".prop_map(toml::Value::String)),
        ),
        prop::option::weighted(0.95, latency()),
        prop::option::of(mostly(fault)),
        prop::option::of(mostly(body)),
        prop::collection::btree_map(key(), value(), 0..2),
        0..10u8,
    )
        .prop_map(|(name, latency, fault, body, stray, stray_odds)| {
            let mut table = toml::Table::new();
            let fields = [
                ("name", name),
                ("latency_ms", latency),
                ("fault", fault),
                ("body", body),
            ];
            for (field, value) in fields {
                if let Some(value) = value {
                    table.insert(field.into(), value);
                }
            }
            if stray_odds == 0 {
                table.extend(stray);
            }
            table
        })
}

/// A whole scenario document: the known sections with mostly plausible
/// contents, sometimes a stray key or a value of the wrong type, so that many
/// documents pass the parser and reach validation, the model and the reference
/// run.
fn document() -> impl Strategy<Value = String> {
    let setting = prop::sample::select(vec![
        "concurrency",
        "workers",
        "timeout_ms",
        "retries",
        "lookup_ms",
        "channel_capacity",
    ])
    .prop_map(str::to_string);
    let region = mostly(
        prop::sample::select(vec!["north", "west", ""])
            .prop_map(|region| toml::Value::String(region.to_string())),
    );
    (
        prop::option::weighted(0.95, ".{1,10}"),
        prop::collection::btree_map(setting, number(), 0..6),
        prop::collection::btree_map(".{0,8}", region, 0..4),
        prop::collection::vec(source(), 0..5),
        prop::collection::btree_map(key(), value(), 0..2),
        0..10u8,
    )
        .prop_map(
            |(name, settings, registry, sources, stray, stray_odds)| {
                let mut document = toml::Table::new();
                if let Some(name) = name {
                    document.insert("name".into(), toml::Value::String(name));
                }
                let table =
                    |map: std::collections::BTreeMap<String, toml::Value>| {
                        toml::Value::Table(map.into_iter().collect())
                    };
                document.insert("settings".into(), table(settings));
                document.insert("registry".into(), table(registry));
                let sources =
                    sources.into_iter().map(toml::Value::Table).collect();
                document.insert("sources".into(), toml::Value::Array(sources));
                if stray_odds == 0 {
                    document.extend(stray);
                }
                toml::to_string(&document).unwrap_or_default()
            },
        )
}

/// A station or region name: ordinary, odd, or huge (past a format width's u16
/// limit).
fn station_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ".{0,20}",
        1 => prop::sample::select(vec!["", " ", "\t", "\n", "\u{1b}[31m", "é\u{301}", "😀"])
            .prop_map(str::to_string),
        1 => (prop::sample::select(vec!["S", "ø", "😀"]), 40usize..70_000)
            .prop_map(|(unit, count)| unit.repeat(count)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn raw_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), scale in time_scale()) {
        exercise(&String::from_utf8_lossy(&bytes), scale);
    }

    #[test]
    fn token_soup_never_panics(text in token_soup(), scale in time_scale()) {
        exercise(&text, scale);
    }

    #[test]
    fn structured_toml_never_panics(text in document(), scale in time_scale()) {
        exercise(&text, scale);
    }

    #[test]
    fn the_text_report_renders_any_station_name(
        names in prop::collection::vec((station_name(), station_name()), 0..4),
        count in any::<u64>(),
        tenths in any::<i32>(),
    ) {
        let report = Report {
            scenario: "fuzz".into(),
            sources_ok: 0,
            sources_failed: Vec::new(),
            attempts: 0,
            accepted: count,
            rejected: Vec::new(),
            lookups: 0,
            cache_hits: 0,
            partitions: vec![count],
            stations: names
                .iter()
                .map(|(station, region)| StationRow {
                    station: station.clone(),
                    region: region.clone(),
                    count,
                    min: Tenths(tenths),
                    mean: Tenths(tenths),
                    max: Tenths(tenths),
                })
                .collect(),
        };
        let text = report.to_string();
        for (station, region) in &names {
            prop_assert!(text.contains(station.as_str()));
            prop_assert!(text.contains(region.as_str()));
        }
        let _ = report.to_json();
    }
}

/// The scenarios the fuzzer found worth keeping, as plain regression cases.
#[test]
fn known_hard_inputs_give_one_line() {
    let deep = format!("name = \"x\"\n{} = 1\n", ["a"; 100].join("."));
    for text in [
        "name = \"x\"\n[[sources]]\nname = \"a\"\nlatency_ms = 1\nfault = 1\n",
        &deep,
        "name = \"x\"\nname = \"y\"\n",
        "name = \"x\"\n[settings]\ntimeout_ms = 9223372036854775808\n",
        "name = \"x\"\n[settings]\nconcurrency = 1000000000\n",
        "name = \"x\"\n[[sources]]\nname = \"a\\nb\"\nlatency_ms = 300\n",
    ] {
        let err = Scenario::from_toml(text, "fuzz.toml").unwrap_err();
        assert_one_line(&err.to_string());
    }
}
