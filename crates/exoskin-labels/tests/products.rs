//! Product checks: the example product files raise exactly the expected red flags, and each
//! flag code fires on a minimal product and stays quiet on a clean one.

use exoskin_labels::{codes, Date, Decoder, LabelError, Product, Report, Severity};

fn today() -> Option<Date> {
    exoskin_labels::date(2026, 11, 23)
}

fn check(p: &Product) -> Report {
    Decoder::embedded().unwrap().check_product(p, today())
}

fn example(name: &str) -> Report {
    let path = format!(
        "{}/../../examples/labels/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    check(&Product::from_toml_str(&text).unwrap())
}

/// Codes of flags above info level, sorted.
fn serious(r: &Report) -> Vec<&'static str> {
    let mut v: Vec<&str> = r
        .flags
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.code)
        .collect();
    v.sort();
    v
}

/// A clean product: plant EVs, paperwork in order, sold in the EU.
fn clean() -> Product {
    Product {
        name: "Grape EV Serum".into(),
        region: Some("EU".into()),
        ingredients: "Aqua, Glycerin, Grape Exosomes, Phenoxyethanol".into(),
        claims: vec!["Hydrating serum with plant extracellular vesicles".into()],
        directions: Some("Apply to clean skin.".into()),
        batch_number: Some("B-1".into()),
        expiry_date: Some("2028-01".into()),
        certifications: vec!["GMP (ISO 22716)".into()],
        ..Product::default()
    }
}

#[test]
fn examples_raise_expected_flags() {
    assert_eq!(
        serious(&example("eu_plant_serum_ok.toml")),
        Vec::<&str>::new()
    );
    assert_eq!(
        serious(&example("us_injectable_red_flags.toml")),
        [
            codes::APPROVAL_CLAIM,
            codes::DRUG_CLAIM,
            codes::HUMAN_DERIVED_STATUS_UNCLEAR,
            codes::INJECTION_OR_NEEDLE_USE,
            codes::NO_BATCH_NUMBER,
            codes::NO_EXPIRY_DATE,
            codes::NO_QUALITY_DOCUMENTATION,
        ]
    );
    assert_eq!(
        serious(&example("liposome_sold_as_exosome.toml")),
        [
            codes::LIPOSOME_AS_EXOSOME,
            codes::NO_QUALITY_DOCUMENTATION,
            codes::NO_VESICLE_INGREDIENT,
        ]
    );
    assert_eq!(
        serious(&example("plant_sold_as_human.toml")),
        [codes::PLANT_CLAIMED_AS_HUMAN_EQUIVALENT]
    );
    assert_eq!(
        serious(&example("eu_human_vegan_contradiction.toml")),
        [
            codes::CONTRADICTORY_CLAIMS,
            codes::DRUG_CLAIM,
            codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION,
            codes::INJECTION_OR_NEEDLE_USE,
            codes::PREGNANCY_NO_DATA,
        ]
    );
    assert_eq!(
        serious(&example("kr_conditioned_media.toml")),
        [
            codes::HUMAN_DERIVED_RESTRICTED_IN_REGION,
            codes::NO_VESICLE_INGREDIENT
        ]
    );
}

#[test]
fn clean_product_has_only_the_pregnancy_note() {
    let r = check(&clean());
    // Besides the EU annex notes on its preservative (information, severity info).
    let codes: Vec<&str> = r
        .flags
        .iter()
        .filter(|f| f.annex.is_none())
        .map(|f| f.code)
        .collect();
    assert_eq!(codes, [codes::PREGNANCY_NO_DATA]);
    assert_eq!(r.flags[0].severity, Severity::Info);
    let annex: Vec<&str> = r
        .flags
        .iter()
        .filter(|f| f.annex.is_some())
        .map(|f| f.code)
        .collect();
    assert_eq!(annex, [codes::EU_ANNEX_V_PRESERVATIVE]);
    assert!(r.flags.iter().all(|f| f.severity == Severity::Info));
    assert_eq!(r.evidence.len(), 1);
    assert_eq!(r.evidence[0].key, "plant");
}

#[test]
fn each_code_fires_on_a_minimal_product() {
    let cases: Vec<(&str, Product)> = vec![
        (
            codes::NO_VESICLE_INGREDIENT,
            Product {
                ingredients: "Aqua, Glycerin, sh-Oligopeptide-1".into(),
                ..clean()
            },
        ),
        (
            codes::LIPOSOME_AS_EXOSOME,
            Product {
                ingredients: "Aqua, Nano Liposome".into(),
                ..clean()
            },
        ),
        (
            codes::PLANT_CLAIMED_AS_HUMAN_EQUIVALENT,
            Product {
                claims: vec!["Bio-identical to your own skin's exosomes".into()],
                ..clean()
            },
        ),
        (
            codes::INJECTION_OR_NEEDLE_USE,
            Product {
                directions: Some("For mesotherapy use by professionals.".into()),
                ..clean()
            },
        ),
        (
            codes::DRUG_CLAIM,
            Product {
                claims: vec!["Cures eczema".into()],
                ..clean()
            },
        ),
        (
            codes::NO_BATCH_NUMBER,
            Product {
                batch_number: None,
                ..clean()
            },
        ),
        (
            codes::NO_BATCH_NUMBER,
            Product {
                batch_number: Some("n/a".into()),
                ..clean()
            },
        ),
        (
            codes::NO_EXPIRY_DATE,
            Product {
                expiry_date: None,
                ..clean()
            },
        ),
        (
            codes::NO_EXPIRY_DATE,
            Product {
                expiry_date: Some("see box".into()),
                ..clean()
            },
        ),
        (
            codes::EXPIRED,
            Product {
                expiry_date: Some("2026-10".into()),
                ..clean()
            },
        ),
        (
            codes::NO_QUALITY_DOCUMENTATION,
            Product {
                certifications: vec![],
                ..clean()
            },
        ),
        (
            codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION,
            Product {
                ingredients: "Aqua, Platelet Exosome Filtrate".into(),
                ..clean()
            },
        ),
        (
            codes::CONTRADICTORY_CLAIMS,
            Product {
                ingredients: "Aqua, Milk Exosomes".into(),
                claims: vec!["Exosome serum, vegan formula".into()],
                ..clean()
            },
        ),
        (
            codes::CONTRADICTORY_CLAIMS,
            Product {
                claims: vec!["Fragrance free".into()],
                ingredients: "Aqua, Grape Exosomes, Parfum".into(),
                ..clean()
            },
        ),
        (
            codes::MIMETIC_AS_EXOSOME,
            Product {
                ingredients: "Aqua, Synthetic Exosomes".into(),
                claims: vec!["Exosome cream".into()],
                ..clean()
            },
        ),
        (
            codes::APPROVAL_CLAIM,
            Product {
                claims: vec!["FDA-cleared exosomes".into()],
                ..clean()
            },
        ),
        (
            codes::NO_INGREDIENT_LIST,
            Product {
                ingredients: String::new(),
                ..clean()
            },
        ),
        (
            codes::UNRECOGNISED_VESICLE_NAME,
            Product {
                ingredients: "Aqua, Snow Lotus Exosomes".into(),
                ..clean()
            },
        ),
        (
            codes::HUMAN_DERIVED_INGREDIENT,
            Product {
                ingredients: "Aqua, Platelet Exosome Filtrate".into(),
                region: None,
                ..clean()
            },
        ),
    ];
    for (code, p) in cases {
        let r = check(&p);
        let got: Vec<&str> = r.flags.iter().map(|f| f.code).collect();
        assert!(r.has_flag(code), "{code} not raised for {p:?}; got {got:?}");
        // And the clean product does not raise it.
        assert!(
            !check(&clean()).has_flag(code),
            "{code} raised on the clean product"
        );
    }
}

#[test]
fn injection_is_high_needles_medium() {
    let inj = check(&Product {
        directions: Some("Inject into the scalp".into()),
        ..clean()
    });
    let f = inj
        .flags
        .iter()
        .find(|f| f.code == codes::INJECTION_OR_NEEDLE_USE)
        .unwrap();
    assert_eq!(f.severity, Severity::High);
    let needle = check(&Product {
        directions: Some("Use with a derma roller".into()),
        ..clean()
    });
    let f = needle
        .flags
        .iter()
        .find(|f| f.code == codes::INJECTION_OR_NEEDLE_USE)
        .unwrap();
    assert_eq!(f.severity, Severity::Medium);
}

#[test]
fn plant_claims_that_stay_plant_are_not_flagged() {
    let p = Product {
        claims: vec![
            "Made with plant stem cell exosomes from rose callus".into(),
            "No human-derived ingredients".into(),
        ],
        ..clean()
    };
    assert!(!check(&p).has_flag(codes::PLANT_CLAIMED_AS_HUMAN_EQUIVALENT));
    assert!(!check(&p).has_flag(codes::CONTRADICTORY_CLAIMS));
}

#[test]
fn regions_by_code() {
    let human = |region: &str| Product {
        ingredients: "Aqua, Human Adipose Stem Cell Exosomes".into(),
        region: Some(region.into()),
        ..clean()
    };
    for (region, code) in [
        ("DE", codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION),
        ("uk", codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION),
        ("KR", codes::HUMAN_DERIVED_RESTRICTED_IN_REGION),
        ("US", codes::HUMAN_DERIVED_STATUS_UNCLEAR),
        ("BR", codes::HUMAN_DERIVED_INGREDIENT),
    ] {
        let r = check(&human(region));
        assert!(r.has_flag(code), "{region}: {:?}", r.flags);
    }
    // EU: established, high; China: uncertain, medium.
    let eu = check(&human("EU"));
    let f = eu
        .flags
        .iter()
        .find(|f| f.code == codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION)
        .unwrap();
    assert_eq!(f.severity, Severity::High);
    assert!(f.message.contains("Annex II"), "{}", f.message);
    let cn = check(&human("CN"));
    let f = cn
        .flags
        .iter()
        .find(|f| f.code == codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION)
        .unwrap();
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.message.contains("uncertain"));
}

#[test]
fn malformed_product_files_name_line_and_column() {
    let e = Product::from_toml_str("name = \"X\"\nbatch = \"1\"\n").unwrap_err();
    match e {
        LabelError::Product {
            line,
            column,
            message,
        } => {
            assert_eq!((line, column), (2, 1));
            assert!(message.contains("batch_number"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let e = Product::from_toml_str("name = \"X\"\ningredients = \"Aqua\nclaims = 3\n").unwrap_err();
    assert!(matches!(e, LabelError::Product { line: 2, .. }), "{e:?}");
    let e = Product::from_toml_str("name = \"X\"\n\nclaims = 3\n").unwrap_err();
    assert!(
        matches!(
            e,
            LabelError::Product {
                line: 3,
                column: 10,
                ..
            }
        ),
        "{e:?}"
    );
    let e = Product::from_toml_str("brand = \"X\"\n").unwrap_err();
    assert!(e.to_string().contains("name"), "{e}");
}

#[test]
fn batch_and_expiry_accept_numbers_and_dates() {
    let p = Product::from_toml_str("name = \"X\"\nbatch_number = 1234\nexpiry_date = 2027-09-30\n")
        .unwrap();
    assert_eq!(p.batch_number.as_deref(), Some("1234"));
    assert_eq!(p.expiry_date.as_deref(), Some("2027-09-30"));
    let p = Product::from_toml_str("name = \"X\"\nclaims = \"one claim\"\n").unwrap();
    assert_eq!(p.claims, ["one claim"]);
}

#[test]
fn json_has_the_issue_field_names() {
    let r = example("us_injectable_red_flags.toml");
    let v = serde_json::to_value(&r).unwrap();
    let ing = &v["ingredients"][0];
    for k in ["name", "position", "class", "source", "note"] {
        assert!(ing.get(k).is_some(), "ingredient field {k} missing: {ing}");
    }
    assert_eq!(ing["class"], "vesicle");
    assert_eq!(ing["source"], "human_msc");
    assert_eq!(ing["position"], 1);
    // Non-vesicles carry no `source`.
    assert!(v["ingredients"][1].get("source").is_none());
    let flag = &v["flags"][0];
    for k in ["code", "severity", "message"] {
        assert!(flag.get(k).is_some(), "flag field {k} missing: {flag}");
    }
    assert_eq!(flag["severity"], "high");
}
