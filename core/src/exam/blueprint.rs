//! The EPPP Part 1 blueprint: the eight content domains, their weights and the 71 knowledge statements.

use std::fmt;

/// One of the eight EPPP content domains, numbered 1 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Domain(u8);

struct DomainRow {
    name: &'static str,
    weight_percent: u32,
    first_kn: u8,
    last_kn: u8,
}

const DOMAINS: [DomainRow; 8] = [
    DomainRow { name: "Biological Bases of Behavior", weight_percent: 10, first_kn: 1, last_kn: 5 },
    DomainRow { name: "Cognitive-Affective Bases of Behavior", weight_percent: 13, first_kn: 6, last_kn: 13 },
    DomainRow { name: "Social and Cultural Bases of Behavior", weight_percent: 11, first_kn: 14, last_kn: 20 },
    DomainRow { name: "Growth and Lifespan Development", weight_percent: 12, first_kn: 21, last_kn: 28 },
    DomainRow { name: "Assessment and Diagnosis", weight_percent: 16, first_kn: 29, last_kn: 41 },
    DomainRow {
        name: "Treatment, Intervention, Prevention, and Supervision",
        weight_percent: 15,
        first_kn: 42,
        last_kn: 52,
    },
    DomainRow { name: "Research Methods and Statistics", weight_percent: 7, first_kn: 53, last_kn: 60 },
    DomainRow { name: "Ethical, Legal, and Professional Issues", weight_percent: 16, first_kn: 61, last_kn: 71 },
];

/// Short topic labels of KN1..KN71, in our own words, used to steer generation toward the right content.
const KN_TOPICS: [&str; 71] = [
    "neural and genetic bases of perception, cognition, personality, mood",
    "drug classes, mechanisms, desired and adverse effects",
    "major treatment trials and guidelines (drug, therapy, combined)",
    "behavioral genetics and its limits",
    "brain imaging, electrophysiology, drug monitoring, genetic screening",
    "intelligence theories",
    "learning theories",
    "memory theories",
    "motivation theories",
    "emotion theories",
    "elements of cognition",
    "how cognition and affect relate",
    "psychosocial influences on cognition and affect",
    "social cognition",
    "social interaction and relationships",
    "group and systems processes",
    "personality theories",
    "cultural and sociopolitical psychology",
    "identity, diversity, intersectionality",
    "causes and effects of oppression",
    "normal growth and development",
    "person-environment interaction in development",
    "developmental theories",
    "diverse identities and development",
    "family development and functioning",
    "life events and development",
    "risk and protective factors",
    "disorders that affect development",
    "psychometric theory and test properties",
    "assessment theories",
    "assessment methods, strengths and limits",
    "widely used instruments",
    "differential diagnosis",
    "group and organizational assessment",
    "choosing and adapting methods",
    "classification systems and diagnosis",
    "evidence-based interpretation of results",
    "epidemiology and base rates",
    "theories of psychopathology",
    "measuring outcomes",
    "technology in assessment",
    "factors in treatment decisions",
    "theories of treatment and intervention",
    "treatment techniques",
    "prevention and intervention with special populations",
    "growth-enhancing interventions",
    "consultation models",
    "vocational and career development",
    "telepsychology and technology in treatment",
    "health-care systems and economics",
    "health promotion and wellness",
    "supervision models",
    "sampling and data collection",
    "study design",
    "analytic methods",
    "interpreting statistics",
    "critical appraisal of research",
    "program evaluation",
    "community participation in research",
    "disseminating research",
    "ethical principles and codes",
    "professional standards and guidelines",
    "laws and court decisions",
    "spotting and managing ethical issues",
    "ethical decision-making models",
    "continuing professional development",
    "emerging social and ethical issues",
    "client and patient rights",
    "ethics in research",
    "ethics in supervision",
    "ethics and technology",
];

impl Domain {
    /// All eight domains in order.
    pub const ALL: [Domain; 8] =
        [Domain(1), Domain(2), Domain(3), Domain(4), Domain(5), Domain(6), Domain(7), Domain(8)];

    /// The domain numbered `number` (1..=8), if there is one.
    pub fn new(number: u8) -> Option<Self> {
        (1..=8).contains(&number).then_some(Self(number))
    }

    /// The domain's number, 1..=8.
    pub fn number(self) -> u8 {
        self.0
    }

    /// Index 0..8 for per-domain tables.
    pub fn index(self) -> usize {
        usize::from(self.0 - 1)
    }

    fn row(self) -> &'static DomainRow {
        &DOMAINS[self.index()]
    }

    /// The canonical name, e.g. `"Assessment and Diagnosis"`.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The blueprint weight in whole percent (the eight add up to 100).
    pub fn weight_percent(self) -> u32 {
        self.row().weight_percent
    }

    /// The knowledge statements of this domain, in order.
    pub fn knowledge_statements(self) -> impl Iterator<Item = Kn> {
        let row = self.row();
        (row.first_kn..=row.last_kn).map(Kn)
    }

    /// How many knowledge statements the domain has.
    pub fn kn_count(self) -> usize {
        let row = self.row();
        usize::from(row.last_kn - row.first_kn + 1)
    }

    /// The form written in exam JSON: `"Domain N: Name"`.
    pub fn label(self) -> String {
        format!("Domain {}: {}", self.0, self.name())
    }

    /// Reads `"Domain N"`, `"Domain N: any name"` or the bare canonical name (case and surrounding space
    /// ignored). In the numbered forms the number decides, whatever follows it: the old system's own labels
    /// ("Domain 3: Social Psychology & Cultural Aspects") name domain 3.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        let Some(rest) = lower.strip_prefix("domain") else {
            return Domain::ALL.into_iter().find(|d| d.name().eq_ignore_ascii_case(text));
        };
        let rest = rest.trim_start();
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let domain = Domain::new(rest[..digits_end].parse().ok()?)?;
        let tail = &rest[digits_end..];
        (tail.is_empty() || tail.starts_with(|c: char| !c.is_alphanumeric())).then_some(domain)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Domain {}: {}", self.0, self.name())
    }
}

/// A knowledge statement, KN1 to KN71.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kn(u8);

impl Kn {
    /// How many knowledge statements the blueprint has.
    pub const COUNT: usize = 71;

    /// KN`number`, if 1..=71.
    pub fn new(number: u8) -> Option<Self> {
        (1..=71).contains(&number).then_some(Self(number))
    }

    /// All 71 in order.
    pub fn all() -> impl Iterator<Item = Kn> {
        (1..=71).map(Kn)
    }

    /// The number, 1..=71.
    pub fn number(self) -> u8 {
        self.0
    }

    /// Index 0..71 for per-KN tables.
    pub fn index(self) -> usize {
        usize::from(self.0 - 1)
    }

    /// The domain this statement belongs to.
    pub fn domain(self) -> Domain {
        Domain::ALL
            .into_iter()
            .find(|d| (d.row().first_kn..=d.row().last_kn).contains(&self.0))
            .expect("every KN lies in a domain")
    }

    /// The short topic label that steers generation.
    pub fn topic(self) -> &'static str {
        KN_TOPICS[self.index()]
    }

    /// Reads `"KN33"` (case-insensitive, surrounding space ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let prefix = text.get(..2)?;
        if !prefix.eq_ignore_ascii_case("kn") {
            return None;
        }
        let digits = &text[2..];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Kn::new(digits.parse().ok()?)
    }
}

impl fmt::Display for Kn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KN{}", self.0)
    }
}

impl serde::Serialize for Kn {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Kn {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Kn::parse(&raw).ok_or_else(|| serde::de::Error::custom(format!("not a knowledge statement id: {raw:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_add_up_to_100_and_kns_to_71() {
        assert_eq!(Domain::ALL.iter().map(|d| d.weight_percent()).sum::<u32>(), 100);
        assert_eq!(Domain::ALL.iter().map(|d| d.kn_count()).sum::<usize>(), Kn::COUNT);
        let counts: Vec<usize> = Domain::ALL.iter().map(|d| d.kn_count()).collect();
        assert_eq!(counts, [5, 8, 7, 8, 13, 11, 8, 11]);
    }

    #[test]
    fn every_kn_maps_to_its_table_domain() {
        let expect = |kn: u8, d: u8| assert_eq!(Kn::new(kn).unwrap().domain().number(), d, "KN{kn}");
        expect(1, 1);
        expect(5, 1);
        expect(6, 2);
        expect(13, 2);
        expect(14, 3);
        expect(28, 4);
        expect(29, 5);
        expect(41, 5);
        expect(42, 6);
        expect(52, 6);
        expect(53, 7);
        expect(60, 7);
        expect(61, 8);
        expect(71, 8);
        assert_eq!(Kn::new(33).unwrap().topic(), "differential diagnosis");
    }

    #[test]
    fn domain_parses_all_three_forms() {
        let d5 = Domain::new(5).unwrap();
        assert_eq!(Domain::parse("Domain 5"), Some(d5));
        assert_eq!(Domain::parse("Domain 5: Assessment and Diagnosis"), Some(d5));
        assert_eq!(Domain::parse("  assessment and diagnosis "), Some(d5));
        assert_eq!(Domain::parse("domain 5:Assessment and Diagnosis"), Some(d5));
        assert_eq!(Domain::parse("Domain 9"), None);
        assert_eq!(Domain::parse("Domain 0: Anything"), None);
        assert_eq!(Domain::parse("Domain 53"), None);
        assert_eq!(Domain::parse("Domain 5x"), None);
        assert_eq!(Domain::parse("Domains"), None);
        assert_eq!(Domain::parse("Astrology"), None);
        assert_eq!(Domain::parse("Social Psychology & Cultural Aspects"), None, "an unnumbered old name");
    }

    #[test]
    fn the_number_decides_a_numbered_domain() {
        let d3 = Domain::new(3).unwrap();
        for text in [
            "Domain 3: Social Psychology & Cultural Aspects",
            "Domain 3: Whatever",
            "domain 3 - Social",
            "Domain 3. Social and Cultural",
            "Domain 3 Social",
            "Domain 3 (Social)",
            "DOMAIN 3:",
            "Domain3",
            "Domain 3: Research Methods and Statistics",
        ] {
            assert_eq!(Domain::parse(text), Some(d3), "{text:?}");
        }
        assert_eq!(d3.label(), "Domain 3: Social and Cultural Bases of Behavior");
    }

    #[test]
    fn kn_parses_only_valid_ids() {
        assert_eq!(Kn::parse("KN33").map(Kn::number), Some(33));
        assert_eq!(Kn::parse("kn1").map(Kn::number), Some(1));
        assert_eq!(Kn::parse("KN0"), None);
        assert_eq!(Kn::parse("KN72"), None);
        assert_eq!(Kn::parse("KN"), None);
        assert_eq!(Kn::parse("KN3a"), None);
        assert_eq!(Kn::parse("K"), None);
        assert_eq!(serde_json::to_string(&Kn::new(7).unwrap()).unwrap(), "\"KN7\"");
        assert!(serde_json::from_str::<Kn>("\"KN99\"").is_err());
    }
}
